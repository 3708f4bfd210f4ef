//! Why a connection attempt failed, in words a user can act on.

use std::fmt;

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
