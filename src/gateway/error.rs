//! The error a gateway request resolves with: a server `ErrorShape` plus the
//! method, or a local failure (payload too large, timeout, closed socket).
//! `Display` names the method and the code; `Debug` redacts secrets in `details`.

use std::fmt;

use serde_json::Value;

use super::frames::ErrorShape;
use super::redact::redact_secrets;

/// Local error code: the serialized request exceeds `policy.maxPayload`.
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
/// Local error code: no response within the request timeout.
pub const TIMEOUT: &str = "TIMEOUT";
/// Local error code: the socket closed while the request was pending.
pub const CLOSED: &str = "CLOSED";
/// Local error code: there is no authenticated connection.
pub const NOT_CONNECTED: &str = "NOT_CONNECTED";
/// Local error code: the client was stopped.
pub const STOPPED: &str = "STOPPED";
/// Local error code: reconnecting is paused until the user acts.
pub const CONNECT_PAUSED: &str = "CONNECT_PAUSED";

/// A failed gateway request, from the server or local.
#[derive(Clone, PartialEq)]
pub struct GatewayError {
    /// Server code (`INVALID_REQUEST`, `FORBIDDEN`, …) or a local code above.
    pub code: String,
    /// Human text.
    pub message: String,
    /// Server `details` (e.g. `{code:"MISSING_SCOPE", missingScope}`), or local context.
    pub details: Option<Value>,
    /// Whether retrying can succeed.
    pub retryable: bool,
    /// How long to wait before retrying.
    pub retry_after_ms: Option<u64>,
    /// The request method, when the error belongs to one.
    pub method: Option<String>,
}

impl GatewayError {
    /// A local error with a code and message.
    pub fn local(code: &str, message: impl Into<String>) -> Self {
        GatewayError {
            code: code.to_owned(),
            message: message.into(),
            details: None,
            retryable: false,
            retry_after_ms: None,
            method: None,
        }
    }

    /// Attach the request method.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// From a server `ErrorShape` (a missing `retryable` means false).
    pub fn from_shape(shape: ErrorShape, method: Option<&str>) -> Self {
        GatewayError {
            code: shape.code,
            message: shape.message,
            details: shape.details,
            retryable: shape.retryable.unwrap_or(false),
            retry_after_ms: shape.retry_after_ms,
            method: method.map(str::to_owned),
        }
    }

    /// The request is over `policy.maxPayload`; nothing was sent.
    pub fn payload_too_large(method: &str, size: usize, max: u64) -> Self {
        Self::local(
            PAYLOAD_TOO_LARGE,
            format!(
                "request '{method}' is {size} bytes, over the gateway's policy.maxPayload of \
                 {max} bytes; send less data per request"
            ),
        )
        .with_method(method)
    }

    /// No response in time. The gateway is not told (there is no cancel frame).
    pub fn timeout(method: &str, timeout_ms: u64) -> Self {
        GatewayError {
            retryable: true,
            ..Self::local(
                TIMEOUT,
                format!("request '{method}' got no response within {timeout_ms} ms"),
            )
        }
        .with_method(method)
    }

    /// The socket closed with `close_code` and `reason` while pending.
    pub fn closed(close_code: u16, reason: &str) -> Self {
        GatewayError {
            retryable: true,
            ..Self::local(CLOSED, format!("gateway closed ({close_code}): {reason}"))
        }
    }

    /// No authenticated connection to send on.
    pub fn not_connected(method: &str) -> Self {
        GatewayError {
            retryable: true,
            ..Self::local(NOT_CONNECTED, "gateway not connected")
        }
        .with_method(method)
    }

    /// The client was stopped.
    pub fn stopped() -> Self {
        Self::local(STOPPED, "gateway client stopped")
    }

    /// Reconnecting is paused after a connect failure.
    pub fn connect_paused(detail_code: &str, next_step: &str) -> Self {
        GatewayError {
            details: Some(serde_json::json!({ "code": detail_code })),
            ..Self::local(CONNECT_PAUSED, next_step)
        }
    }

    /// `details.code`, when present.
    pub fn detail_code(&self) -> Option<&str> {
        self.details.as_ref()?.get("code")?.as_str()
    }
}

impl From<ErrorShape> for GatewayError {
    fn from(shape: ErrorShape) -> Self {
        GatewayError::from_shape(shape, None)
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.method {
            write!(f, "'{m}' failed: ")?;
        }
        write!(f, "{}", self.code)?;
        if let Some(d) = self.detail_code().filter(|d| *d != self.code) {
            write!(f, " ({d})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl fmt::Debug for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayError")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("details", &self.details.as_ref().map(redact_secrets))
            .field("retryable", &self.retryable)
            .field("retry_after_ms", &self.retry_after_ms)
            .field("method", &self.method)
            .finish()
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_includes_method_and_codes() {
        let shape = ErrorShape {
            details: Some(json!({"code":"MISSING_SCOPE","missingScope":"operator.pairing"})),
            ..ErrorShape::new("FORBIDDEN", "missing scope: operator.pairing")
        };
        let e = GatewayError::from_shape(shape, Some("device.pair.list"));
        assert_eq!(
            e.to_string(),
            "'device.pair.list' failed: FORBIDDEN (MISSING_SCOPE): missing scope: operator.pairing"
        );
        assert!(!e.retryable);
        assert_eq!(e.detail_code(), Some("MISSING_SCOPE"));
    }

    #[test]
    fn local_constructors() {
        let e = GatewayError::payload_too_large("chat.send", 30_000_000, 26_214_400);
        assert_eq!(
            e.to_string(),
            "'chat.send' failed: PAYLOAD_TOO_LARGE: request 'chat.send' is 30000000 bytes, over the \
             gateway's policy.maxPayload of 26214400 bytes; send less data per request"
        );
        let e = GatewayError::timeout("health", 30_000);
        assert_eq!(e.code, TIMEOUT);
        assert!(e.retryable && e.to_string().contains("30000 ms"));
        let e = GatewayError::closed(1009, "");
        assert_eq!(e.to_string(), "CLOSED: gateway closed (1009): ");
        assert_eq!(e.method, None);
        assert_eq!(GatewayError::not_connected("x").code, NOT_CONNECTED);
        assert_eq!(
            GatewayError::stopped().to_string(),
            "STOPPED: gateway client stopped"
        );
        let p = GatewayError::connect_paused("PAIRING_REQUIRED", "pairing required: run x");
        assert_eq!(
            p.to_string(),
            "CONNECT_PAUSED (PAIRING_REQUIRED): pairing required: run x"
        );
    }

    #[test]
    fn retry_hints_and_debug_redaction() {
        let shape = ErrorShape {
            retryable: Some(true),
            retry_after_ms: Some(1000),
            details: Some(json!({"token":"leaky"})),
            ..ErrorShape::new("UNAVAILABLE", "busy")
        };
        let e: GatewayError = shape.into();
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, Some(1000));
        assert!(!format!("{e:?}").contains("leaky"));
    }
}
