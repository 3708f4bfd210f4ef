//! The typed events a session reports to JS, in order, through its inbox.
//!
//! They are data: no JS names and no JSON here. `src/bindings/events.rs`
//! turns each into the JS object the `lib/` classes read.

use std::time::Duration;

use crate::gateway::GatewayEvent;
use crate::reconnect::Terminal;

/// A failure worth telling the user about. It never ends a session by
/// itself: a `Close` or `Terminal` event says how things ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEvent {
    /// What went wrong, why, and what to do.
    pub message: String,
    /// A stable classification (`connection-refused`, `dns`, `tls`,
    /// `http-status`, `timeout`, `connection`, `frame`, `token-store`, …).
    pub kind: &'static str,
    /// The HTTP status, when the upgrade was answered with one.
    pub status: Option<u16>,
    /// The driver waits for the caller's verdict: is this failure final?
    pub verdict: bool,
    /// A failed upgrade that stops reconnecting unless the caller decides
    /// otherwise (see [`crate::reconnect::handshake`]).
    pub final_by_default: bool,
    /// That answer's headers, in order, and the first bytes of its body.
    pub response: Option<HttpAnswer>,
}

/// What the server answered an HTTP request with (the upgrade's 101, or a
/// refusal), for ws's `upgrade` and `unexpected-response` events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAnswer {
    /// The headers, in order, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The first bytes of the body (refusals only).
    pub body: Option<String>,
}

impl ErrorEvent {
    /// An error of `kind` with `message` and no status.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        ErrorEvent {
            message: message.into(),
            kind,
            status: None,
            verdict: false,
            final_by_default: false,
            response: None,
        }
    }
}

/// One event from a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The WebSocket handshake completed.
    Open {
        /// The subprotocol the server chose (may be empty).
        protocol: String,
        /// The extensions the server chose (may be empty).
        extensions: String,
        /// The 101 response's headers, in order.
        headers: Vec<(String, String)>,
    },
    /// A failed attempt, or an abnormal close.
    Error(ErrorEvent),
    /// A connection that opened has ended.
    Close {
        /// The close code (1006 when no close frame arrived).
        code: u16,
        /// The close reason, or what went wrong for 1006.
        reason: String,
        /// Whether the closing handshake completed.
        was_clean: bool,
        /// Whether the server ended the connection.
        by_server: bool,
        /// The highest message id this connection took that is not back in
        /// the send queue (every id up to it was written, or lost in a
        /// failed write); `None` if it took none.
        settled_through: Option<u64>,
        /// The driver waits for the caller's verdict on this close
        /// ([`Session::decide`](super::Session::decide)).
        verdict: bool,
    },
    /// The session will dial again after `delay`.
    Reconnecting {
        /// The retry number since the last stable connection (1 = first).
        attempt: u32,
        /// How long until the next attempt.
        delay: Duration,
        /// The close code behind the retry (1006 for a failed attempt).
        code: u16,
        /// The close reason, or the attempt's error.
        reason: String,
        /// The server's `Retry-After`, when it set `delay`.
        retry_after: Option<Duration>,
    },
    /// The next attempt waits for the caller's target
    /// ([`Session::set_target`](super::Session::set_target)).
    Dialing {
        /// The attempt's number (1 = the first).
        attempt: u32,
    },
    /// The session stopped for good; always the last event.
    Terminal {
        /// Why.
        terminal: Terminal,
        /// The ids still queued, handed back to the caller.
        unsent: Vec<u64>,
    },
    /// An event of the gateway protocol.
    Gateway(GatewayEvent),
}
