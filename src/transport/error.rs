//! Why a connection attempt failed, in words a user can act on.

use std::fmt;
use std::time::Duration;

/// The step at which a connection attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// The URL cannot be used.
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// Nothing accepted the TCP connection.
    ConnectionRefused,
    /// Another TCP-level failure (unreachable, reset, ...).
    Tcp,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The server answered the upgrade with a non-101 HTTP status.
    HttpStatus,
    /// The upgrade response was not a valid WebSocket handshake.
    Handshake,
    /// The whole attempt took longer than `handshakeTimeout`.
    Timeout,
    /// The proxy failed or refused the tunnel, or the proxy rules refused
    /// the destination.
    Proxy,
    /// The caller closed the socket before it opened.
    Aborted,
}

impl ConnectErrorKind {
    /// A stable machine name, e.g. for `--json` output and exit codes.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectErrorKind::InvalidUrl => "invalid-url",
            ConnectErrorKind::Dns => "dns",
            ConnectErrorKind::ConnectionRefused => "connection-refused",
            ConnectErrorKind::Tcp => "tcp",
            ConnectErrorKind::Tls => "tls",
            ConnectErrorKind::HttpStatus => "http-status",
            ConnectErrorKind::Handshake => "handshake",
            ConnectErrorKind::Timeout => "timeout",
            ConnectErrorKind::Proxy => "proxy",
            ConnectErrorKind::Aborted => "aborted",
        }
    }
}

/// A failed connection attempt: the step, and a message that says what
/// happened and what to do.
#[derive(Clone, Debug)]
pub struct ConnectError {
    /// The failing step.
    pub kind: ConnectErrorKind,
    /// A full sentence for humans.
    pub message: String,
    /// The HTTP status, for [`ConnectErrorKind::HttpStatus`].
    pub status: Option<u16>,
    /// The first bytes of the HTTP body, for [`ConnectErrorKind::HttpStatus`].
    pub body: Option<String>,
    /// The answer's `Retry-After` (seconds, or an HTTP-date turned into the
    /// time left), for [`ConnectErrorKind::HttpStatus`].
    pub retry_after: Option<Duration>,
    /// The server's TLS certificate failed verification.
    pub certificate_rejected: bool,
    /// The `Location` of a redirect answer (3xx), for
    /// [`ConnectErrorKind::HttpStatus`].
    pub location: Option<String>,
    /// The response's headers, for [`ConnectErrorKind::HttpStatus`].
    pub headers: Vec<(String, String)>,
}

impl ConnectError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ConnectErrorKind, message: impl Into<String>) -> Self {
        ConnectError {
            kind,
            message: message.into(),
            status: None,
            body: None,
            retry_after: None,
            certificate_rejected: false,
            location: None,
            headers: Vec::new(),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP-date, as the time left after `now` (zero if it has passed).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        // The obsolete forms a recipient must accept.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:47 1994", now),
            Some(Duration::from_secs(10))
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-5", "1.5", "Sun, 99 Nov 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(bad, SystemTime::now()), None, "{bad:?}");
        }
    }
}
