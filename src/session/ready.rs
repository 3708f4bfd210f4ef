//! [`AppReady`]: a plain WebSocket whose application says when it is ready
//! (`ReconnectingWebSocket`'s `ready` option).
//!
//! Messages go straight to JS, as with [`Plain`](super::Plain). Without a
//! gate it is [`Plain`](super::Plain): ready on open. With one, the socket
//! opening is only transport-open: the driver flushes the send queue and
//! counts the connection as opened (backoff, flapping) only when JS calls
//! [`AppReady::mark_ready`] for that connection, and
//! [`AppReady::ready_failed`] closes it with [`READY_FAILED`] instead, so the
//! attempt counts as failed and the backoff keeps growing.
//!
//! Connections are numbered by their `open` events (1 for the first): JS
//! counts the same events, so a late answer for a connection that has
//! already ended is ignored, never applied to the next one.

use std::time::Instant;

use super::protocol::{Action, Protocol, Verdict};
use crate::transport::CloseInfo;

/// The close code sent when the application's ready step fails (RFC 6455
/// 1011: the endpoint hit a condition that kept it from going on).
pub const READY_FAILED: u16 = 1011;

/// See the module docs.
#[derive(Debug, Default)]
pub struct AppReady {
    gated: bool,
    /// Number of the current (or last) connection.
    opened: u64,
    /// The current connection is open and not yet ready.
    waiting: bool,
}

impl AppReady {
    /// `gated`: JS says when each connection is ready.
    pub fn new(gated: bool) -> Self {
        AppReady {
            gated,
            ..AppReady::default()
        }
    }

    /// The application is ready on connection `conn`.
    pub fn mark_ready(&mut self, conn: u64, out: &mut Vec<Action>) {
        if self.waiting && conn == self.opened {
            self.waiting = false;
            out.push(Action::Ready);
        }
    }

    /// The application's ready step failed on connection `conn`: close it
    /// with [`READY_FAILED`] and `why` (cut to fit a close frame).
    pub fn ready_failed(&mut self, conn: u64, why: &str, out: &mut Vec<Action>) {
        if self.waiting && conn == self.opened {
            self.waiting = false;
            out.push(Action::Close(READY_FAILED, close_reason(why)));
        }
    }
}

/// `why` cut to the 123 bytes a close reason may hold, on a char boundary.
fn close_reason(why: &str) -> String {
    let mut end = why.len().min(123);
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    why[..end].to_string()
}

impl Protocol for AppReady {
    fn intercepts(&self) -> bool {
        false
    }

    fn on_open(&mut self, _now: Instant, out: &mut Vec<Action>) {
        self.opened += 1;
        if self.gated {
            self.waiting = true;
        } else {
            out.push(Action::Ready);
        }
    }

    fn on_closed(&mut self, close: &CloseInfo, _now: Instant, _out: &mut Vec<Action>) -> Verdict {
        self.waiting = false;
        Verdict::from_close(close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(p: &mut AppReady) -> Vec<Action> {
        let mut out = Vec::new();
        p.on_open(Instant::now(), &mut out);
        out
    }

    #[test]
    fn ungated_is_ready_on_open() {
        let mut p = AppReady::new(false);
        assert!(matches!(opened(&mut p)[..], [Action::Ready]));
    }

    #[test]
    fn gated_waits_for_mark_ready_of_that_connection() {
        let mut p = AppReady::new(true);
        assert!(opened(&mut p).is_empty());
        let mut out = Vec::new();
        p.mark_ready(2, &mut out);
        assert!(out.is_empty(), "a later connection's answer is ignored");
        p.mark_ready(1, &mut out);
        assert!(matches!(out[..], [Action::Ready]));
        p.mark_ready(1, &mut out);
        assert_eq!(out.len(), 1, "ready once per connection");
    }

    #[test]
    fn a_late_answer_is_not_applied_to_the_next_connection() {
        let mut p = AppReady::new(true);
        opened(&mut p);
        let close = CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
            by_server: true,
            error: None,
            unsent: Vec::new(),
            uptime: std::time::Duration::ZERO,
        };
        p.on_closed(&close, Instant::now(), &mut Vec::new());
        opened(&mut p);
        let mut out = Vec::new();
        p.mark_ready(1, &mut out);
        p.ready_failed(1, "late", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn failure_closes_with_a_reason_that_fits() {
        let mut p = AppReady::new(true);
        opened(&mut p);
        let mut out = Vec::new();
        p.ready_failed(1, &"é".repeat(100), &mut out);
        match &out[..] {
            [Action::Close(code, reason)] => {
                assert_eq!(*code, READY_FAILED);
                assert!(reason.len() <= 123 && reason.chars().all(|c| c == 'é'));
            }
            other => panic!("{other:?}"),
        }
    }
}
