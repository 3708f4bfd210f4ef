//! The hello-ok payload (protocol doc §5): its accessors, `auth`, and the
//! `policy` a client must follow.

use std::fmt;

use serde_json::Value;

use super::frames::{
    DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_PAYLOAD, DEFAULT_TICK_INTERVAL_MS, FrameError,
    StateVersion,
};
use super::redact::secret_presence;

/// The hello-ok payload (§5). The whole value is kept; accessors read the
/// parts a client needs. `Debug` is a summary that never prints the device token.
#[derive(Clone, PartialEq)]
pub struct HelloOk {
    raw: Value,
}

/// `hello-ok.auth`: what this socket was granted. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HelloAuth {
    /// How the gateway authenticated us (`token`, `device-token`, …).
    pub method: Option<String>,
    /// The granted role.
    pub role: Option<String>,
    /// The scopes this socket really has.
    pub scopes: Vec<String>,
    /// A newly issued or confirmed device token (store it).
    pub device_token: Option<String>,
    /// When the device token was issued.
    pub issued_at_ms: Option<u64>,
}

impl fmt::Debug for HelloAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelloAuth")
            .field("method", &self.method)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("device_token", &secret_presence(&self.device_token))
            .field("issued_at_ms", &self.issued_at_ms)
            .finish()
    }
}

/// `hello-ok.policy`, with the gateway's defaults for missing or zero values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Largest frame the gateway accepts after hello (bytes).
    pub max_payload: u64,
    /// Server send-buffer limit before it drops or closes a slow consumer.
    pub max_buffered_bytes: u64,
    /// Tick period; the watchdog fires after twice this much silence.
    pub tick_interval_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            tick_interval_ms: DEFAULT_TICK_INTERVAL_MS,
        }
    }
}

fn str_list(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl HelloOk {
    /// Check and wrap a `connect` response payload: an object, `type` (if
    /// present) equal to `hello-ok`, and an integer `protocol`.
    pub fn from_payload(payload: Value) -> Result<Self, FrameError> {
        let obj = payload
            .as_object()
            .ok_or_else(|| FrameError::InvalidHelloOk("not a JSON object".into()))?;
        match obj.get("type") {
            None => {}
            Some(Value::String(t)) if t == "hello-ok" => {}
            Some(_) => {
                return Err(FrameError::InvalidHelloOk(
                    "\"type\" is not \"hello-ok\"".into(),
                ));
            }
        }
        match obj.get("protocol").and_then(Value::as_u64) {
            Some(p) if p <= u64::from(u32::MAX) => {}
            _ => {
                return Err(FrameError::InvalidHelloOk(
                    "\"protocol\" is missing or not a non-negative integer".into(),
                ));
            }
        }
        Ok(HelloOk { raw: payload })
    }

    /// The whole payload.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The negotiated protocol (3 or 4).
    pub fn protocol(&self) -> u32 {
        self.raw
            .get("protocol")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0)
    }

    /// `server.version`, e.g. `2026.9.6`.
    pub fn server_version(&self) -> Option<&str> {
        self.raw.pointer("/server/version")?.as_str()
    }

    /// `server.connId`, this connection's id on the gateway.
    pub fn conn_id(&self) -> Option<&str> {
        self.raw.pointer("/server/connId")?.as_str()
    }

    /// `features.methods`.
    pub fn methods(&self) -> Vec<&str> {
        str_list(self.raw.pointer("/features/methods"))
    }

    /// `features.events`.
    pub fn events(&self) -> Vec<&str> {
        str_list(self.raw.pointer("/features/events"))
    }

    /// `features.capabilities` ([v4]).
    pub fn capabilities(&self) -> Vec<&str> {
        str_list(self.raw.pointer("/features/capabilities"))
    }

    /// Whether `features.methods` lists `method`.
    pub fn has_method(&self, method: &str) -> bool {
        self.methods().contains(&method)
    }

    /// `hello-ok.auth` (always present on v4; on v3 only with a device token).
    pub fn auth(&self) -> Option<HelloAuth> {
        let a = self.raw.get("auth")?.as_object()?;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(HelloAuth {
            method: s("method"),
            role: s("role"),
            scopes: str_list(a.get("scopes"))
                .into_iter()
                .map(str::to_owned)
                .collect(),
            device_token: s("deviceToken").filter(|t| !t.is_empty()),
            issued_at_ms: a.get("issuedAtMs").and_then(Value::as_u64),
        })
    }

    /// `hello-ok.policy`, defaulting missing or zero values.
    pub fn policy(&self) -> Policy {
        let d = Policy::default();
        let get = |k: &str, def: u64| {
            self.raw
                .get("policy")
                .and_then(|p| p.get(k))
                .and_then(Value::as_u64)
                .filter(|v| *v >= 1)
                .unwrap_or(def)
        };
        Policy {
            max_payload: get("maxPayload", d.max_payload),
            max_buffered_bytes: get("maxBufferedBytes", d.max_buffered_bytes),
            tick_interval_ms: get("tickIntervalMs", d.tick_interval_ms),
        }
    }

    /// `snapshot.stateVersion`, to seed a `SeqTracker` after hello.
    pub fn snapshot_state_version(&self) -> Option<StateVersion> {
        serde_json::from_value(self.raw.pointer("/snapshot/stateVersion")?.clone()).ok()
    }
}

impl fmt::Debug for HelloOk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelloOk")
            .field("protocol", &self.protocol())
            .field("server_version", &self.server_version())
            .field("conn_id", &self.conn_id())
            .field("methods", &self.methods().len())
            .field("events", &self.events().len())
            .field("auth", &self.auth())
            .field("policy", &self.policy())
            .finish_non_exhaustive()
    }
}
