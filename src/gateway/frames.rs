//! Frame envelopes and the `connect` shapes (protocol doc §2, §4); the
//! hello-ok payload is in [`super::hello`] (§5).
//!
//! Outbound types (`RequestFrame`, `ConnectParams` and its parts) serialize
//! only the fields the gateway's closed schemas allow, skipping unset ones.
//! Inbound types are strict about the fields they read and tolerant of extra
//! keys, since a newer gateway adds fields (anchor §2.3).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact::{clip, redact_secrets, secret_presence};

/// The wire protocol this client prefers (sent as `maxProtocol`).
pub const PROTOCOL_VERSION: u32 = 4;
/// The oldest wire protocol this client speaks (sent as `minProtocol`).
pub const MIN_PROTOCOL: u32 = 3;
/// Largest frame the gateway accepts before hello-ok (it closes 1009 above it).
pub const MAX_PREAUTH_PAYLOAD: usize = 65_536;
/// `policy.maxPayload` when hello-ok does not say (25 MiB).
pub const DEFAULT_MAX_PAYLOAD: u64 = 26_214_400;
/// `policy.maxBufferedBytes` when hello-ok does not say (50 MiB).
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 52_428_800;
/// `policy.tickIntervalMs` when hello-ok does not say.
pub const DEFAULT_TICK_INTERVAL_MS: u64 = 30_000;
/// Name of the event the gateway sends first on every socket.
pub const CHALLENGE_EVENT: &str = "connect.challenge";
/// Method name of the handshake request.
pub const CONNECT_METHOD: &str = "connect";

/// Every `client.id` the v4 gateway schema accepts (`client-info.ts`).
pub const CLIENT_IDS: [&str; 17] = [
    "webchat-ui",
    "openclaw-control-ui",
    "openclaw-browser-copilot",
    "openclaw-tui",
    "webchat",
    "cli",
    "gateway-client",
    "openclaw-macos",
    "openclaw-linux",
    "openclaw-ios",
    "openclaw-watchos",
    "openclaw-android",
    "node-host",
    "openclaw-worker",
    "test",
    "fingerprint",
    "openclaw-probe",
];

/// Every `client.mode` the v4 gateway schema accepts.
pub const CLIENT_MODES: [&str; 8] = [
    "webchat", "cli", "ui", "backend", "node", "probe", "test", "worker",
];

/// Ids and modes that pass the schema but that a v4 gateway closes at once
/// on the normal socket (they belong to its internal worker path).
const RESERVED_CLIENT_IDS: [&str; 1] = ["openclaw-worker"];
const RESERVED_CLIENT_MODES: [&str; 1] = ["worker"];

/// An inbound frame or a local value that does not fit the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The text is not JSON (the parser's message, which has no frame content).
    NotJson(String),
    /// The JSON is not an object.
    NotAnObject,
    /// The object has no string `type`.
    MissingType,
    /// `type` is a string other than `res` / `event`.
    UnexpectedType(String),
    /// A `res` or `event` frame with a missing or mistyped field.
    InvalidFrame {
        /// `"res"` or `"event"`.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A hello-ok payload without the required shape.
    InvalidHelloOk(String),
    /// A `client.id` outside [`CLIENT_IDS`].
    InvalidClientId(String),
    /// `openclaw-worker`: valid in the schema, but refused on this socket.
    ReservedClientId(String),
    /// A `client.mode` outside [`CLIENT_MODES`].
    InvalidClientMode(String),
    /// `worker`: valid in the schema, but refused on this socket.
    ReservedClientMode(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NotJson(e) => write!(f, "inbound frame is not valid JSON ({e})"),
            FrameError::NotAnObject => write!(f, "inbound frame is not a JSON object"),
            FrameError::MissingType => write!(
                f,
                "inbound frame has no string \"type\" field; expected \"res\" or \"event\""
            ),
            FrameError::UnexpectedType(t) => write!(
                f,
                "inbound frame has type \"{}\"; a client only receives \"res\" and \"event\" frames",
                clip(t, 48)
            ),
            FrameError::InvalidFrame { kind, reason } => {
                write!(f, "invalid \"{kind}\" frame: {reason}")
            }
            FrameError::InvalidHelloOk(r) => write!(f, "invalid hello-ok payload: {r}"),
            FrameError::InvalidClientId(id) => write!(
                f,
                "client.id '{}' is not one the gateway accepts; use one of: {}",
                clip(id, 48),
                CLIENT_IDS.join(", ")
            ),
            FrameError::ReservedClientId(id) => write!(
                f,
                "client.id '{id}' is reserved for the gateway's internal workers and a v4 gateway \
                 closes that handshake; use gateway-client, cli or test"
            ),
            FrameError::InvalidClientMode(m) => write!(
                f,
                "client.mode '{}' is not one the gateway accepts; use one of: {}",
                clip(m, 48),
                CLIENT_MODES.join(", ")
            ),
            FrameError::ReservedClientMode(m) => write!(
                f,
                "client.mode '{m}' is reserved for the gateway's internal workers and a v4 gateway \
                 closes that handshake; use backend, cli or test"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Check a `client.id` against the gateway's enum (and refuse the reserved worker id).
pub fn validate_client_id(id: &str) -> Result<(), FrameError> {
    if RESERVED_CLIENT_IDS.contains(&id) {
        Err(FrameError::ReservedClientId(id.to_owned()))
    } else if CLIENT_IDS.contains(&id) {
        Ok(())
    } else {
        Err(FrameError::InvalidClientId(id.to_owned()))
    }
}

/// Check a `client.mode` against the gateway's enum (and refuse the reserved worker mode).
pub fn validate_client_mode(mode: &str) -> Result<(), FrameError> {
    if RESERVED_CLIENT_MODES.contains(&mode) {
        Err(FrameError::ReservedClientMode(mode.to_owned()))
    } else if CLIENT_MODES.contains(&mode) {
        Ok(())
    } else {
        Err(FrameError::InvalidClientMode(mode.to_owned()))
    }
}

// ---------------------------------------------------------------- outbound

/// A client request, `{"type":"req","id","method","params"?}` (§2.1).
#[derive(Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "req", rename_all = "camelCase")]
pub struct RequestFrame {
    /// Opaque request id, echoed by the response. Must be non-empty.
    pub id: String,
    /// Method name. Must be non-empty.
    pub method: String,
    /// Parameters; omitted when `None` (handlers then see `{}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// [v4 only] W3C trace context (max 128 chars). A v3 gateway rejects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// [v4 only] Profile binding. A v3 gateway rejects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_profile_id: Option<String>,
}

impl RequestFrame {
    /// A request with no v4-only fields.
    pub fn new(id: impl Into<String>, method: impl Into<String>, params: Option<Value>) -> Self {
        RequestFrame {
            id: id.into(),
            method: method.into(),
            params,
            traceparent: None,
            expected_profile_id: None,
        }
    }

    /// The frame as JSON text, ready for a WebSocket text frame.
    pub fn to_json(&self) -> String {
        // Infallible: only strings, options and `Value`s (whose keys are strings).
        serde_json::to_string(self).expect("a RequestFrame always serializes")
    }
}

impl fmt::Debug for RequestFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestFrame")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("params", &self.params.as_ref().map(redact_secrets))
            .field("traceparent", &self.traceparent)
            .field("expected_profile_id", &self.expected_profile_id)
            .finish()
    }
}

/// `connect` params (§4). Only schema fields; `None`/empty optionals are skipped.
/// Node-only fields (`commands`, `permissions`, `pathEnv`) and v4-only
/// extras are not modelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    /// Lowest protocol the client speaks ([`MIN_PROTOCOL`]).
    pub min_protocol: u32,
    /// Highest protocol the client speaks ([`PROTOCOL_VERSION`]).
    pub max_protocol: u32,
    /// Who is connecting.
    pub client: ClientInfo,
    /// Client capabilities (e.g. `tool-events`); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// `operator` or `node`. Always sent, since it is signed.
    pub role: String,
    /// Requested scopes, in the order that was signed. Always sent
    /// (missing or empty means no scopes).
    pub scopes: Vec<String>,
    /// The signed device proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceProof>,
    /// Credentials; omitted when none is set.
    #[serde(skip_serializing_if = "auth_is_empty")]
    pub auth: Option<ConnectAuth>,
    /// Locale, e.g. `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Free-form user agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

fn auth_is_empty(auth: &Option<ConnectAuth>) -> bool {
    auth.as_ref().is_none_or(ConnectAuth::is_empty)
}

fn none_or_empty(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}

/// `connect.params.client` (§4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// One of [`CLIENT_IDS`]. Signed.
    pub id: String,
    /// Human-readable name.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub display_name: Option<String>,
    /// Client version, non-empty.
    pub version: String,
    /// Platform (`linux`, `darwin`, `win32`, …). Signed and pinned at pairing.
    pub platform: String,
    /// Device family. Signed and pinned at pairing.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub device_family: Option<String>,
    /// Hardware model identifier.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub model_identifier: Option<String>,
    /// One of [`CLIENT_MODES`]. Signed.
    pub mode: String,
    /// Stable id of this client instance.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub instance_id: Option<String>,
}

/// `connect.params.device`: the signed proof (§7). All five fields are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProof {
    /// Lowercase hex SHA-256 of the raw public key.
    pub id: String,
    /// Raw 32-byte Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// Ed25519 signature of the v3 payload, base64url without padding.
    pub signature: String,
    /// Milliseconds since the epoch; the challenge `ts`.
    pub signed_at: u64,
    /// The challenge nonce.
    pub nonce: String,
}

/// `connect.params.auth` (§4). Empty strings are never sent: the server uses
/// `??`, so a present `""` would win over a real device token in the
/// signature. `Debug` shows only which fields are set.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    /// The gateway's shared token (`gateway.auth.token`).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub token: Option<String>,
    /// A bootstrap (setup-code) token.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub bootstrap_token: Option<String>,
    /// A per-device token from an earlier hello-ok.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub device_token: Option<String>,
    /// The gateway's shared password. Never signed.
    #[serde(skip_serializing_if = "none_or_empty")]
    pub password: Option<String>,
}

impl ConnectAuth {
    /// True when no field would be serialized.
    pub fn is_empty(&self) -> bool {
        none_or_empty(&self.token)
            && none_or_empty(&self.bootstrap_token)
            && none_or_empty(&self.device_token)
            && none_or_empty(&self.password)
    }

    /// The token the server puts into the signed payload, computed over the
    /// fields actually serialized: `token ?? deviceToken ?? bootstrapToken`.
    pub fn signature_token(&self) -> Option<&str> {
        [&self.token, &self.device_token, &self.bootstrap_token]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .find(|v| !v.is_empty())
    }
}

impl fmt::Debug for ConnectAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectAuth")
            .field("token", &secret_presence(&self.token))
            .field("bootstrap_token", &secret_presence(&self.bootstrap_token))
            .field("device_token", &secret_presence(&self.device_token))
            .field("password", &secret_presence(&self.password))
            .finish()
    }
}

// ----------------------------------------------------------------- inbound

/// `ErrorShape` (§2.2) from a `res` error.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    /// Top-level code (`INVALID_REQUEST`, `NOT_PAIRED`, `UNAVAILABLE`, …).
    pub code: String,
    /// Human text; don't parse it.
    #[serde(default)]
    pub message: String,
    /// Usually an object whose `code` is the machine detail code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether the server says a retry can succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorShape {
    /// An error with only a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorShape {
            code: code.into(),
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
        }
    }

    /// `details.code`, the machine detail code (e.g. `AUTH_TOKEN_MISMATCH`).
    pub fn detail_code(&self) -> Option<&str> {
        self.detail_str("code")
    }

    /// A string field of `details`.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.as_ref()?.get(key)?.as_str()
    }

    /// A boolean field of `details`.
    pub fn detail_bool(&self, key: &str) -> Option<bool> {
        self.details.as_ref()?.get(key)?.as_bool()
    }

    /// A non-negative integer field of `details`.
    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.details.as_ref()?.get(key)?.as_u64()
    }
}

impl fmt::Debug for ErrorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorShape")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("details", &self.details.as_ref().map(redact_secrets))
            .field("retryable", &self.retryable)
            .field("retry_after_ms", &self.retry_after_ms)
            .finish()
    }
}

/// `stateVersion` on presence/health events and in the hello-ok snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateVersion {
    /// Presence counter.
    pub presence: u64,
    /// Health counter.
    pub health: u64,
}

/// A response, `{"type":"res","id","ok","payload"?,"error"?}` (§2.2).
#[derive(Clone, PartialEq, Deserialize)]
pub struct ResponseFrame {
    /// The request id (`"invalid"` when the request had no usable id).
    pub id: String,
    /// Success flag.
    pub ok: bool,
    /// The result; `None` when absent or `null`.
    #[serde(default)]
    pub payload: Option<Value>,
    /// The error when `ok` is false.
    #[serde(default)]
    pub error: Option<ErrorShape>,
}

impl ResponseFrame {
    /// A provisional `status:"accepted"` answer of a two-phase method
    /// (`agent`): the final `res` with the same id follows.
    pub fn is_accepted(&self) -> bool {
        self.ok
            && self
                .payload
                .as_ref()
                .and_then(|p| p.get("status"))
                .and_then(Value::as_str)
                == Some("accepted")
    }

    /// The payload (`null` when absent) or the error. An `ok:false` frame
    /// without an error becomes `UNAVAILABLE`.
    pub fn into_result(self) -> Result<Value, ErrorShape> {
        if self.ok {
            Ok(self.payload.unwrap_or(Value::Null))
        } else {
            Err(self.error.unwrap_or_else(|| {
                ErrorShape::new(
                    "UNAVAILABLE",
                    "the gateway answered ok:false without an error",
                )
            }))
        }
    }
}

impl fmt::Debug for ResponseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFrame")
            .field("id", &self.id)
            .field("ok", &self.ok)
            .field("payload", &self.payload.as_ref().map(redact_secrets))
            .field("error", &self.error)
            .finish()
    }
}

/// An event, `{"type":"event","event","payload"?,"seq"?,"stateVersion"?}` (§2.3).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFrame {
    /// Event name, non-empty.
    pub event: String,
    /// Event payload.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Per-connection sequence number (v4) or global counter (v3); see `seq.rs`.
    #[serde(default)]
    pub seq: Option<u64>,
    /// Counters on presence/health broadcasts.
    #[serde(default)]
    pub state_version: Option<StateVersion>,
    /// [v4] The profile the event was routed to.
    #[serde(default)]
    pub recipient_profile_id: Option<String>,
}

impl fmt::Debug for EventFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventFrame")
            .field("event", &self.event)
            .field("payload", &self.payload.as_ref().map(redact_secrets))
            .field("seq", &self.seq)
            .field("state_version", &self.state_version)
            .field("recipient_profile_id", &self.recipient_profile_id)
            .finish()
    }
}

/// A frame the gateway can send.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// `type:"res"`.
    Response(ResponseFrame),
    /// `type:"event"`.
    Event(EventFrame),
}

/// Parse one inbound text frame.
pub fn parse_inbound(text: &str) -> Result<Inbound, FrameError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    parse_inbound_value(value)
}

/// Parse an already-decoded inbound frame.
pub fn parse_inbound_value(value: Value) -> Result<Inbound, FrameError> {
    let kind = match &value {
        Value::Object(map) => match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(FrameError::MissingType),
        },
        _ => return Err(FrameError::NotAnObject),
    };
    match kind.as_str() {
        "res" => {
            let frame: ResponseFrame =
                serde_json::from_value(value).map_err(|e| FrameError::InvalidFrame {
                    kind: "res",
                    reason: e.to_string(),
                })?;
            if !frame.ok && frame.error.is_none() {
                return Err(FrameError::InvalidFrame {
                    kind: "res",
                    reason: "ok is false but there is no error".into(),
                });
            }
            Ok(Inbound::Response(frame))
        }
        "event" => {
            let frame: EventFrame =
                serde_json::from_value(value).map_err(|e| FrameError::InvalidFrame {
                    kind: "event",
                    reason: e.to_string(),
                })?;
            if frame.event.is_empty() {
                return Err(FrameError::InvalidFrame {
                    kind: "event",
                    reason: "the event name is empty".into(),
                });
            }
            Ok(Inbound::Event(frame))
        }
        _ => Err(FrameError::UnexpectedType(kind)),
    }
}

pub use super::hello::{HelloAuth, HelloOk, Policy};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_frame_shape() {
        let f = RequestFrame::new("r1", "health", None);
        assert_eq!(f.to_json(), r#"{"type":"req","id":"r1","method":"health"}"#);
        let mut f = RequestFrame::new("r2", "status", Some(json!({"probe": true})));
        f.traceparent = Some("00-abc-def-01".into());
        f.expected_profile_id = Some("p".into());
        let v: Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type":"req","id":"r2","method":"status","params":{"probe":true},
                   "traceparent":"00-abc-def-01","expectedProfileId":"p"})
        );
    }

    #[test]
    fn request_debug_redacts_params() {
        let f = RequestFrame::new("c", "connect", Some(json!({"auth": {"token": "s3cr3t"}})));
        assert!(!format!("{f:?}").contains("s3cr3t"));
    }

    #[test]
    fn parses_response_and_error() {
        let ok = parse_inbound(r#"{"type":"res","id":"r1","ok":true,"payload":{"a":1}}"#).unwrap();
        match ok {
            Inbound::Response(r) => {
                assert!(r.ok);
                assert_eq!(r.clone().into_result().unwrap(), json!({"a":1}));
            }
            other => panic!("{other:?}"),
        }
        let null = parse_inbound(r#"{"type":"res","id":"r","ok":true,"payload":null}"#).unwrap();
        let Inbound::Response(r) = null else { panic!() };
        assert_eq!(r.into_result().unwrap(), Value::Null);

        let err = parse_inbound(
            r#"{"type":"res","id":"x","ok":false,"error":{"code":"INVALID_REQUEST","message":"device signature invalid","details":{"code":"DEVICE_AUTH_SIGNATURE_INVALID","reason":"device-signature"},"retryable":false,"retryAfterMs":5}}"#,
        )
        .unwrap();
        let Inbound::Response(r) = err else { panic!() };
        let e = r.into_result().unwrap_err();
        assert_eq!(e.code, "INVALID_REQUEST");
        assert_eq!(e.detail_code(), Some("DEVICE_AUTH_SIGNATURE_INVALID"));
        assert_eq!(e.detail_str("reason"), Some("device-signature"));
        assert_eq!(e.retryable, Some(false));
        assert_eq!(e.retry_after_ms, Some(5));
    }

    #[test]
    fn accepted_two_phase() {
        let Inbound::Response(r) =
            parse_inbound(r#"{"type":"res","id":"a","ok":true,"payload":{"status":"accepted"}}"#)
                .unwrap()
        else {
            panic!()
        };
        assert!(r.is_accepted());
    }

    #[test]
    fn parses_events() {
        let e = parse_inbound(
            r#"{"type":"event","event":"health","payload":{},"seq":4,"stateVersion":{"presence":7,"health":22},"extra":1}"#,
        )
        .unwrap();
        let Inbound::Event(e) = e else { panic!() };
        assert_eq!(e.event, "health");
        assert_eq!(e.seq, Some(4));
        assert_eq!(
            e.state_version,
            Some(StateVersion {
                presence: 7,
                health: 22
            })
        );

        let c = parse_inbound(
            r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}"#,
        )
        .unwrap();
        let Inbound::Event(c) = c else { panic!() };
        assert_eq!(c.seq, None);
    }

    #[test]
    fn clear_errors_for_bad_frames() {
        let cases = [
            ("nope", "not valid JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"id":"x"}"#, "no string \"type\""),
            (r#"{"type":"req","id":"x","method":"m"}"#, "type \"req\""),
            (
                r#"{"type":"res","ok":true}"#,
                "invalid \"res\" frame: missing field `id`",
            ),
            (
                r#"{"type":"res","id":"x","ok":false}"#,
                "ok is false but there is no error",
            ),
            (
                r#"{"type":"event","event":"t","seq":-1}"#,
                "invalid \"event\" frame",
            ),
            (r#"{"type":"event","event":""}"#, "event name is empty"),
        ];
        for (text, expected) in cases {
            let err = parse_inbound(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn client_id_and_mode_validation() {
        assert!(validate_client_id("gateway-client").is_ok());
        assert!(validate_client_id("test").is_ok());
        let e = validate_client_id("foo").unwrap_err().to_string();
        assert!(
            e.starts_with("client.id 'foo' is not one the gateway accepts; use one of: webchat-ui")
        );
        assert!(validate_client_id("ios-node").is_err());
        assert!(matches!(
            validate_client_id("openclaw-worker"),
            Err(FrameError::ReservedClientId(_))
        ));
        assert!(validate_client_mode("backend").is_ok());
        let e = validate_client_mode("operator").unwrap_err().to_string();
        assert!(e.contains("client.mode 'operator'"), "{e}");
        assert!(matches!(
            validate_client_mode("worker"),
            Err(FrameError::ReservedClientMode(_))
        ));
    }

    #[test]
    fn connect_auth_skips_empty_and_redacts() {
        let auth = ConnectAuth {
            token: Some(String::new()),
            device_token: Some("dev-tok".into()),
            password: Some("pw-secret".into()),
            bootstrap_token: None,
        };
        assert_eq!(
            serde_json::to_value(&auth).unwrap(),
            json!({"deviceToken":"dev-tok","password":"pw-secret"})
        );
        assert_eq!(auth.signature_token(), Some("dev-tok"));
        let dbg = format!("{auth:?}");
        assert!(
            !dbg.contains("dev-tok") && !dbg.contains("pw-secret"),
            "{dbg}"
        );
        assert!(ConnectAuth::default().is_empty());
        assert!(
            ConnectAuth {
                token: Some(String::new()),
                ..Default::default()
            }
            .is_empty()
        );
    }

    fn hello() -> Value {
        json!({"type":"hello-ok","protocol":4,
            "server":{"version":"2026.9.6","connId":"c-1","bootId":"b"},
            "features":{"methods":["health","status"],"events":["tick"],"capabilities":["x"]},
            "snapshot":{"stateVersion":{"presence":1,"health":2},"uptimeMs":5},
            "auth":{"method":"token","role":"operator","scopes":["operator.read"],
                    "deviceToken":"boIJ-secret","issuedAtMs":1795392994851u64},
            "policy":{"maxPayload":1000,"maxBufferedBytes":2000,"tickIntervalMs":15000},
            "controlUiLinkReaders":[]})
    }

    #[test]
    fn hello_ok_accessors() {
        let h = HelloOk::from_payload(hello()).unwrap();
        assert_eq!(h.protocol(), 4);
        assert_eq!(h.server_version(), Some("2026.9.6"));
        assert_eq!(h.conn_id(), Some("c-1"));
        assert_eq!(h.methods(), ["health", "status"]);
        assert_eq!(h.events(), ["tick"]);
        assert_eq!(h.capabilities(), ["x"]);
        assert!(h.has_method("status") && !h.has_method("chat.send"));
        let a = h.auth().unwrap();
        assert_eq!(a.role.as_deref(), Some("operator"));
        assert_eq!(a.scopes, ["operator.read"]);
        assert_eq!(a.device_token.as_deref(), Some("boIJ-secret"));
        assert_eq!(a.issued_at_ms, Some(1795392994851));
        assert_eq!(
            h.policy(),
            Policy {
                max_payload: 1000,
                max_buffered_bytes: 2000,
                tick_interval_ms: 15000
            }
        );
        assert_eq!(
            h.snapshot_state_version(),
            Some(StateVersion {
                presence: 1,
                health: 2
            })
        );
        let dbg = format!("{h:?}");
        assert!(!dbg.contains("boIJ-secret"), "{dbg}");
    }

    #[test]
    fn hello_ok_defaults_and_errors() {
        let h = HelloOk::from_payload(json!({"protocol":3,"policy":{"maxPayload":0}})).unwrap();
        assert_eq!(h.policy(), Policy::default());
        assert_eq!(h.policy().max_payload, 26_214_400);
        assert_eq!(h.policy().tick_interval_ms, 30_000);
        assert!(h.auth().is_none());
        assert!(HelloOk::from_payload(json!([])).is_err());
        assert!(HelloOk::from_payload(json!({"type":"nope","protocol":4})).is_err());
        let e = HelloOk::from_payload(json!({"type":"hello-ok"})).unwrap_err();
        assert!(e.to_string().contains("protocol"), "{e}");
    }

    #[test]
    fn response_debug_redacts_device_token() {
        let Inbound::Response(r) = parse_inbound_value(json!({
            "type":"res","id":"c","ok":true,"payload": hello()
        }))
        .unwrap() else {
            panic!()
        };
        assert!(!format!("{r:?}").contains("boIJ-secret"));
    }
}
