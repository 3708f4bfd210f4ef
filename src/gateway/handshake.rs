//! Pure handshake steps (protocol doc §3, §3.4, §7.2–7.3): read the
//! challenge, build the signed `connect` params, wrap them in a request
//! frame under the pre-auth size limit, and read the `connect` response.

use std::fmt;

use serde_json::Value;

use super::frames::{
    CHALLENGE_EVENT, CONNECT_METHOD, ClientInfo, ConnectAuth, ConnectParams, DeviceProof,
    ErrorShape, EventFrame, FrameError, HelloOk, MAX_PREAUTH_PAYLOAD, MIN_PROTOCOL,
    PROTOCOL_VERSION, RequestFrame, ResponseFrame, validate_client_id, validate_client_mode,
};
use super::identity::{DeviceAuthFields, DeviceIdentity, build_payload_v3};

/// The role sent when [`ConnectOptions::role`] is `None`.
pub const DEFAULT_ROLE: &str = "operator";
/// Scopes requested by default: read and write, not admin (the reference
/// client defaults to `operator.admin`, anchor §5.13).
pub const DEFAULT_SCOPES: [&str; 2] = ["operator.read", "operator.write"];
/// Room reserved for the envelope and request id when [`build_connect`]
/// checks the size of the params alone.
const ENVELOPE_ALLOWANCE: usize = 256;

/// The `connect.challenge` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Per-socket nonce, trimmed.
    pub nonce: String,
    /// Server time in ms; used as `signedAt`.
    pub ts: u64,
}

/// A handshake step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The event is not `connect.challenge`.
    NotAChallenge(String),
    /// The challenge has no object payload.
    MissingPayload,
    /// The challenge nonce is missing, not a string, or blank.
    MissingNonce,
    /// The challenge `ts` is missing.
    MissingTs,
    /// The challenge `ts` is not a non-negative integer.
    InvalidTs,
    /// A connect option is unusable (client id/mode enum, empty version, bad role).
    InvalidOptions(String),
    /// The connect frame would exceed the gateway's 64 KiB pre-auth limit.
    TooLarge {
        /// Serialized size (bytes).
        bytes: usize,
    },
    /// The `connect` response is not a valid hello-ok.
    InvalidHello(FrameError),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::NotAChallenge(e) => write!(
                f,
                "expected the \"{CHALLENGE_EVENT}\" event, got \"{}\"",
                e.chars().take(48).collect::<String>()
            ),
            HandshakeError::MissingPayload => {
                write!(f, "connect challenge has no payload object")
            }
            HandshakeError::MissingNonce => write!(f, "connect challenge missing nonce"),
            HandshakeError::MissingTs => write!(
                f,
                "connect challenge has no ts; a device signature needs the server time"
            ),
            HandshakeError::InvalidTs => {
                write!(f, "connect challenge ts is not a non-negative integer")
            }
            HandshakeError::InvalidOptions(m) => write!(f, "invalid connect options: {m}"),
            HandshakeError::TooLarge { bytes } => write!(
                f,
                "the connect frame is {bytes} bytes, over the gateway's pre-auth limit of \
                 {MAX_PREAUTH_PAYLOAD} bytes; send fewer scopes, caps or shorter names"
            ),
            HandshakeError::InvalidHello(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<FrameError> for HandshakeError {
    fn from(e: FrameError) -> Self {
        HandshakeError::InvalidOptions(e.to_string())
    }
}

/// Read nonce and ts from a `connect.challenge` event.
pub fn parse_challenge(event: &EventFrame) -> Result<Challenge, HandshakeError> {
    if event.event != CHALLENGE_EVENT {
        return Err(HandshakeError::NotAChallenge(event.event.clone()));
    }
    let payload = event
        .payload
        .as_ref()
        .and_then(Value::as_object)
        .ok_or(HandshakeError::MissingPayload)?;
    let nonce = payload
        .get("nonce")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or(HandshakeError::MissingNonce)?;
    let ts = match payload.get("ts") {
        None | Some(Value::Null) => return Err(HandshakeError::MissingTs),
        Some(v) => v.as_u64().ok_or(HandshakeError::InvalidTs)?,
    };
    Ok(Challenge {
        nonce: nonce.to_owned(),
        ts,
    })
}

/// Who is connecting and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `client.id`, one of the gateway's ids (default `gateway-client`).
    pub client_id: String,
    /// `client.version` (default this crate's version).
    pub client_version: String,
    /// `client.platform` (default Node's name for this OS: `linux`, `darwin`, `win32`).
    /// Keep it stable per device key: it is pinned at pairing.
    pub platform: String,
    /// `client.mode` (default `backend`).
    pub mode: String,
    /// `client.deviceFamily`; pinned at pairing.
    pub device_family: Option<String>,
    /// `client.displayName`.
    pub display_name: Option<String>,
    /// `client.instanceId`.
    pub instance_id: Option<String>,
    /// `role`; `None` sends [`DEFAULT_ROLE`].
    pub role: Option<String>,
    /// `scopes`, sent and signed in this order (default [`DEFAULT_SCOPES`]).
    /// When reconnecting on a stored device token, callers that did not set
    /// scopes should use `AuthSelection::stored_scopes` instead.
    pub scopes: Vec<String>,
    /// `caps` (e.g. `tool-events`).
    pub caps: Vec<String>,
    /// `locale`.
    pub locale: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
}

/// Node's `process.platform` name for the OS this was built for.
pub fn default_platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            client_id: "gateway-client".into(),
            client_version: env!("CARGO_PKG_VERSION").into(),
            platform: default_platform().into(),
            mode: "backend".into(),
            device_family: None,
            display_name: None,
            instance_id: None,
            role: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            caps: Vec::new(),
            locale: None,
            user_agent: None,
        }
    }
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// Build `connect` params for this challenge. With an identity, the v3
/// payload is signed over exactly the fields sent: client id and mode, role,
/// scopes (in order), `signedAt = challenge.ts`, the token the server will
/// pick (`auth.signature_token()`), the nonce, platform and device family.
/// Checks the client id/mode enums and that the frame fits in 64 KiB.
pub fn build_connect(
    opts: &ConnectOptions,
    challenge: &Challenge,
    identity: Option<&DeviceIdentity>,
    auth: &ConnectAuth,
) -> Result<ConnectParams, HandshakeError> {
    validate_client_id(&opts.client_id)?;
    validate_client_mode(&opts.mode)?;
    if opts.client_version.is_empty() {
        return Err(HandshakeError::InvalidOptions(
            "client.version must not be empty".into(),
        ));
    }
    if opts.platform.is_empty() {
        return Err(HandshakeError::InvalidOptions(
            "client.platform must not be empty".into(),
        ));
    }
    let role = opts.role.as_deref().unwrap_or(DEFAULT_ROLE);
    if role != "operator" && role != "node" {
        return Err(HandshakeError::InvalidOptions(format!(
            "role '{}' is not accepted by the gateway; use operator or node",
            role.chars().take(48).collect::<String>()
        )));
    }
    let client = ClientInfo {
        id: opts.client_id.clone(),
        display_name: non_empty(&opts.display_name),
        version: opts.client_version.clone(),
        platform: opts.platform.clone(),
        device_family: non_empty(&opts.device_family),
        model_identifier: None,
        mode: opts.mode.clone(),
        instance_id: non_empty(&opts.instance_id),
    };
    let device = identity.map(|id| {
        let payload = build_payload_v3(&DeviceAuthFields {
            device_id: id.device_id(),
            client_id: &client.id,
            client_mode: &client.mode,
            role,
            scopes: &opts.scopes,
            signed_at_ms: challenge.ts,
            token: auth.signature_token().unwrap_or(""),
            nonce: &challenge.nonce,
            platform: Some(&client.platform),
            device_family: client.device_family.as_deref(),
        });
        DeviceProof {
            id: id.device_id().to_owned(),
            public_key: id.public_key_b64url().to_owned(),
            signature: id.sign(&payload),
            signed_at: challenge.ts,
            nonce: challenge.nonce.clone(),
        }
    });
    let params = ConnectParams {
        min_protocol: MIN_PROTOCOL,
        max_protocol: PROTOCOL_VERSION,
        client,
        caps: opts.caps.clone(),
        role: role.to_owned(),
        scopes: opts.scopes.clone(),
        device,
        auth: (!auth.is_empty()).then(|| auth.clone()),
        locale: non_empty(&opts.locale),
        user_agent: non_empty(&opts.user_agent),
    };
    let bytes = serde_json::to_vec(&params)
        .expect("ConnectParams always serializes")
        .len()
        + ENVELOPE_ALLOWANCE;
    if bytes > MAX_PREAUTH_PAYLOAD {
        return Err(HandshakeError::TooLarge { bytes });
    }
    Ok(params)
}

/// Wrap params in the `connect` request frame, returning the frame and its
/// JSON text, checked against the 64 KiB pre-auth limit.
pub fn connect_request(
    id: &str,
    params: &ConnectParams,
) -> Result<(RequestFrame, String), HandshakeError> {
    let params = serde_json::to_value(params).expect("ConnectParams always serializes");
    let frame = RequestFrame::new(id, CONNECT_METHOD, Some(params));
    let json = frame.to_json();
    if json.len() > MAX_PREAUTH_PAYLOAD {
        return Err(HandshakeError::TooLarge { bytes: json.len() });
    }
    Ok((frame, json))
}

/// The outcome of the `connect` response.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectOutcome {
    /// hello-ok: the connection is ready.
    Hello(HelloOk),
    /// The gateway refused; classify with `auth::classify_connect_error_with`.
    Rejected(ErrorShape),
}

/// Read the response to `connect`: hello-ok, a rejection, or a malformed hello.
pub fn parse_connect_response(resp: ResponseFrame) -> Result<ConnectOutcome, HandshakeError> {
    match resp.into_result() {
        Ok(payload) => HelloOk::from_payload(payload)
            .map(ConnectOutcome::Hello)
            .map_err(HandshakeError::InvalidHello),
        Err(e) => Ok(ConnectOutcome::Rejected(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::frames::{Inbound, parse_inbound};
    use crate::gateway::identity::tests::{
        VECTOR_DEVICE_ID, VECTOR_NONCE, VECTOR_PUBLIC_KEY, VECTOR_SEED, VECTOR_SIGNATURE, VECTOR_TS,
    };
    use crate::gateway::identity::verify_signature;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn event(text: &str) -> EventFrame {
        match parse_inbound(text).unwrap() {
            Inbound::Event(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_live_challenge() {
        let c = parse_challenge(&event(
            r#"{"type":"event","event":"connect.challenge","payload":{"nonce":" e1931aaa-a5d2-4071-85ba-912e81a6ff5f ","ts":1795392991877,"capabilities":["model-catalog-snapshot"]}}"#,
        ))
        .unwrap();
        assert_eq!(c.nonce, "e1931aaa-a5d2-4071-85ba-912e81a6ff5f");
        assert_eq!(c.ts, 1795392991877);
    }

    #[test]
    fn challenge_errors_are_clear() {
        let cases = [
            (
                r#"{"type":"event","event":"tick","payload":{}}"#,
                "expected the \"connect.challenge\" event, got \"tick\"",
            ),
            (
                r#"{"type":"event","event":"connect.challenge"}"#,
                "no payload",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"  ","ts":1}}"#,
                "missing nonce",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":5,"ts":1}}"#,
                "missing nonce",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n"}}"#,
                "has no ts",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":-1}}"#,
                "not a non-negative integer",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1.5}}"#,
                "not a non-negative integer",
            ),
            (
                r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":"1"}}"#,
                "not a non-negative integer",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_challenge(&event(text)).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    fn vector_opts() -> ConnectOptions {
        ConnectOptions {
            client_id: "gateway-client".into(),
            client_version: "0.1.0".into(),
            platform: "linux".into(),
            mode: "backend".into(),
            ..ConnectOptions::default()
        }
    }

    fn vector_challenge() -> Challenge {
        Challenge {
            nonce: VECTOR_NONCE.into(),
            ts: VECTOR_TS,
        }
    }

    fn token_auth() -> ConnectAuth {
        ConnectAuth {
            token: Some("secret-token".into()),
            ..ConnectAuth::default()
        }
    }

    #[test]
    fn built_params_reproduce_vector_signature() {
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        let p = build_connect(
            &vector_opts(),
            &vector_challenge(),
            Some(&id),
            &token_auth(),
        )
        .unwrap();
        let d = p.device.as_ref().unwrap();
        assert_eq!(d.id, VECTOR_DEVICE_ID);
        assert_eq!(d.public_key, VECTOR_PUBLIC_KEY);
        assert_eq!(d.signature, VECTOR_SIGNATURE);
        assert_eq!(d.signed_at, VECTOR_TS);
        assert_eq!(d.nonce, VECTOR_NONCE);
        assert_eq!((p.min_protocol, p.max_protocol), (3, 4));
        assert_eq!(p.role, "operator");

        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!({"minProtocol":3,"maxProtocol":4,
                "client":{"id":"gateway-client","version":"0.1.0","platform":"linux","mode":"backend"},
                "role":"operator","scopes":["operator.read","operator.write"],
                "auth":{"token":"secret-token"},
                "device":{"id":VECTOR_DEVICE_ID,"publicKey":VECTOR_PUBLIC_KEY,
                          "signature":VECTOR_SIGNATURE,"signedAt":VECTOR_TS,"nonce":VECTOR_NONCE}})
        );
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    fn subset(v: &Value, allowed: &[&str]) {
        let allowed: BTreeSet<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
        let extra: Vec<_> = keys(v).difference(&allowed).cloned().collect();
        assert!(extra.is_empty(), "unknown keys {extra:?}");
    }

    #[test]
    fn full_connect_frame_has_no_unknown_keys() {
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        let opts = ConnectOptions {
            device_family: Some("Desktop".into()),
            display_name: Some("My box".into()),
            instance_id: Some("inst-1".into()),
            role: Some("operator".into()),
            caps: vec!["tool-events".into()],
            locale: Some("en-US".into()),
            user_agent: Some("clawsock/0.1".into()),
            ..vector_opts()
        };
        let auth = ConnectAuth {
            token: Some("t".into()),
            bootstrap_token: Some("b".into()),
            device_token: Some("d".into()),
            password: Some("p".into()),
        };
        let p = build_connect(&opts, &vector_challenge(), Some(&id), &auth).unwrap();
        let (_, json) = connect_request("c1", &p).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            keys(&v),
            ["id", "method", "params", "type"].map(String::from).into()
        );
        assert_eq!(v["type"], "req");
        assert_eq!(v["method"], "connect");
        let params = &v["params"];
        subset(
            params,
            &[
                "minProtocol",
                "maxProtocol",
                "client",
                "caps",
                "commands",
                "permissions",
                "pathEnv",
                "role",
                "scopes",
                "device",
                "auth",
                "locale",
                "userAgent",
            ],
        );
        subset(
            &params["client"],
            &[
                "id",
                "displayName",
                "version",
                "platform",
                "deviceFamily",
                "modelIdentifier",
                "mode",
                "instanceId",
            ],
        );
        assert_eq!(
            keys(&params["device"]),
            ["id", "nonce", "publicKey", "signature", "signedAt"]
                .map(String::from)
                .into()
        );
        subset(
            &params["auth"],
            &["token", "bootstrapToken", "deviceToken", "password"],
        );
        assert_eq!(keys(&params["client"]).len(), 7);
        assert_eq!(params["locale"], "en-US");
        // The signature covers the normalized device family and the token the server picks.
        let d = p.device.unwrap();
        let payload = format!(
            "v3|{VECTOR_DEVICE_ID}|gateway-client|backend|operator|operator.read,operator.write|{VECTOR_TS}|t|{VECTOR_NONCE}|linux|desktop"
        );
        assert!(verify_signature(&d.public_key, &payload, &d.signature));
    }

    #[test]
    fn signs_device_token_when_no_shared_token() {
        let id = DeviceIdentity::from_seed(VECTOR_SEED);
        let auth = ConnectAuth {
            device_token: Some("dev".into()),
            password: Some("pw".into()),
            ..ConnectAuth::default()
        };
        let opts = ConnectOptions {
            scopes: vec![],
            ..vector_opts()
        };
        let p = build_connect(&opts, &vector_challenge(), Some(&id), &auth).unwrap();
        let d = p.device.unwrap();
        let payload = format!(
            "v3|{VECTOR_DEVICE_ID}|gateway-client|backend|operator||{VECTOR_TS}|dev|{VECTOR_NONCE}|linux|"
        );
        assert!(verify_signature(&d.public_key, &payload, &d.signature));
        assert_eq!(serde_json::to_value(&p.scopes).unwrap(), json!([]));
    }

    #[test]
    fn deviceless_connect_omits_device_and_empty_auth() {
        let p = build_connect(
            &vector_opts(),
            &vector_challenge(),
            None,
            &ConnectAuth::default(),
        )
        .unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert!(v.get("device").is_none() && v.get("auth").is_none() && v.get("caps").is_none());
    }

    #[test]
    fn rejects_bad_options_and_oversize() {
        let c = vector_challenge();
        let a = ConnectAuth::default();
        let bad_id = ConnectOptions {
            client_id: "ios-node".into(),
            ..vector_opts()
        };
        let e = build_connect(&bad_id, &c, None, &a)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("client.id 'ios-node' is not one the gateway accepts"),
            "{e}"
        );
        let bad_mode = ConnectOptions {
            mode: "operator".into(),
            ..vector_opts()
        };
        assert!(build_connect(&bad_mode, &c, None, &a).is_err());
        let bad_role = ConnectOptions {
            role: Some("admin".into()),
            ..vector_opts()
        };
        let e = build_connect(&bad_role, &c, None, &a)
            .unwrap_err()
            .to_string();
        assert!(e.contains("role 'admin'"), "{e}");
        let no_version = ConnectOptions {
            client_version: String::new(),
            ..vector_opts()
        };
        assert!(build_connect(&no_version, &c, None, &a).is_err());
        let huge = ConnectOptions {
            caps: vec!["x".repeat(70_000)],
            ..vector_opts()
        };
        assert!(matches!(
            build_connect(&huge, &c, None, &a),
            Err(HandshakeError::TooLarge { .. })
        ));
        let e = HandshakeError::TooLarge { bytes: 70_000 }.to_string();
        assert!(e.contains("65536"), "{e}");
    }

    #[test]
    fn connect_response_outcomes() {
        let ok = ResponseFrame {
            id: "c".into(),
            ok: true,
            payload: Some(json!({"type":"hello-ok","protocol":4})),
            error: None,
        };
        assert!(
            matches!(parse_connect_response(ok), Ok(ConnectOutcome::Hello(h)) if h.protocol() == 4)
        );
        let rejected = ResponseFrame {
            id: "c".into(),
            ok: false,
            payload: None,
            error: Some(ErrorShape::new("NOT_PAIRED", "device identity required")),
        };
        assert!(
            matches!(parse_connect_response(rejected), Ok(ConnectOutcome::Rejected(e)) if e.code == "NOT_PAIRED")
        );
        let bad = ResponseFrame {
            id: "c".into(),
            ok: true,
            payload: None,
            error: None,
        };
        assert!(matches!(
            parse_connect_response(bad),
            Err(HandshakeError::InvalidHello(_))
        ));
    }
}
