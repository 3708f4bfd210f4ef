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
//!
//! A ready step that never answers does not hold the connection forever:
//! after the timeout (`readyTimeout`, 30 s unless set; none if 0) the
//! protocol reports an error of kind [`READY_TIMEOUT`] and closes the
//! connection with [`READY_FAILED`], as if the step had failed. An answer
//! that comes later is ignored.

use std::time::{Duration, Instant};

use super::event::{ErrorEvent, Event};
use super::protocol::{Action, Protocol, Verdict};
use crate::transport::CloseInfo;

/// The close code sent when the application's ready step fails (RFC 6455
/// 1011: the endpoint hit a condition that kept it from going on).
pub const READY_FAILED: u16 = 1011;

/// The error kind reported when the ready step ran out of time.
pub const READY_TIMEOUT: &str = "ready-timeout";

/// How long a ready step may take unless the caller says otherwise.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// See the module docs.
#[derive(Debug, Default)]
pub struct AppReady {
    gated: bool,
    /// How long a connection may wait for its ready step (`None`: forever).
    timeout: Option<Duration>,
    /// Number of the current (or last) connection.
    opened: u64,
    /// The current connection is open and not yet ready: until when it may
    /// wait (`None` without a timeout).
    waiting: Option<Option<Instant>>,
}

impl AppReady {
    /// `gated`: JS says when each connection is ready, within `timeout`
    /// (`None`: no limit).
    pub fn new(gated: bool, timeout: Option<Duration>) -> Self {
        AppReady {
            gated,
            timeout,
            ..AppReady::default()
        }
    }

    /// The application is ready on connection `conn`.
    pub fn mark_ready(&mut self, conn: u64, out: &mut Vec<Action>) {
        if self.waiting.is_some() && conn == self.opened {
            self.waiting = None;
            out.push(Action::Ready);
        }
    }

    /// The application's ready step failed on connection `conn`: close it
    /// with [`READY_FAILED`] and `why` (cut to fit a close frame).
    pub fn ready_failed(&mut self, conn: u64, why: &str, out: &mut Vec<Action>) {
        if self.waiting.is_some() && conn == self.opened {
            self.waiting = None;
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

    fn on_open(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.opened += 1;
        if self.gated {
            self.waiting = Some(self.timeout.map(|t| now + t));
        } else {
            out.push(Action::Ready);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.waiting.flatten()
    }

    fn on_deadline(&mut self, now: Instant, out: &mut Vec<Action>) {
        let (Some(Some(at)), Some(limit)) = (self.waiting, self.timeout) else {
            return;
        };
        if now < at {
            return;
        }
        self.waiting = None;
        let ms = limit.as_millis();
        out.push(Action::Emit(Event::Error(ErrorEvent::new(
            READY_TIMEOUT,
            format!(
                "clawsock: the ready function did not finish within {ms} ms (readyTimeout); this \
                 connection is closed with 1011 and the attempt counts as failed. Make the ready \
                 step resolve or reject, or raise readyTimeout (0: no limit)"
            ),
        ))));
        out.push(Action::Close(
            READY_FAILED,
            format!("ready timed out after {ms} ms"),
        ));
    }

    fn on_closed(&mut self, close: &CloseInfo, _now: Instant, _out: &mut Vec<Action>) -> Verdict {
        self.waiting = None;
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
        let mut p = AppReady::new(false, None);
        assert!(matches!(opened(&mut p)[..], [Action::Ready]));
    }

    #[test]
    fn gated_waits_for_mark_ready_of_that_connection() {
        let mut p = AppReady::new(true, None);
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
        let mut p = AppReady::new(true, None);
        opened(&mut p);
        p.on_closed(&closed(), Instant::now(), &mut Vec::new());
        opened(&mut p);
        assert_late_answers_ignored(&mut p, 1);
    }

    #[test]
    fn a_ready_step_that_never_answers_times_out() {
        let limit = Duration::from_millis(250);
        let mut p = AppReady::new(true, Some(limit));
        let t0 = Instant::now();
        let mut out = Vec::new();
        p.on_open(t0, &mut out);
        assert!(out.is_empty());
        assert_eq!(p.next_deadline(), Some(t0 + limit));
        // Early: nothing happens.
        p.on_deadline(t0 + limit / 2, &mut out);
        assert!(out.is_empty());
        p.on_deadline(t0 + limit, &mut out);
        match &out[..] {
            [Action::Emit(Event::Error(e)), Action::Close(code, reason)] => {
                assert_eq!(e.kind, READY_TIMEOUT);
                assert!(e.message.contains("250 ms") && e.message.contains("readyTimeout"));
                assert_eq!(*code, READY_FAILED);
                assert_eq!(reason, "ready timed out after 250 ms");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.next_deadline(), None);
        assert_late_answers_ignored(&mut p, 1);
    }

    /// Neither answer of connection `conn`'s ready step does anything.
    fn assert_late_answers_ignored(p: &mut AppReady, conn: u64) {
        let mut out = Vec::new();
        p.mark_ready(conn, &mut out);
        p.ready_failed(conn, "late", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn an_answer_in_time_ends_the_wait_and_each_connection_gets_its_own() {
        let limit = Duration::from_secs(30);
        let mut p = AppReady::new(true, Some(limit));
        let t0 = Instant::now();
        let mut out = Vec::new();
        p.on_open(t0, &mut out);
        p.mark_ready(1, &mut out);
        assert!(matches!(out[..], [Action::Ready]));
        assert_eq!(p.next_deadline(), None, "no deadline once ready");
        p.on_closed(&closed(), t0, &mut out);
        let t1 = t0 + Duration::from_secs(5);
        p.on_open(t1, &mut out);
        assert_eq!(p.next_deadline(), Some(t1 + limit));
        p.on_closed(&closed(), t1, &mut out);
        assert_eq!(p.next_deadline(), None, "no deadline once closed");
        // Without a timeout there is never a deadline.
        let mut q = AppReady::new(true, None);
        q.on_open(t0, &mut out);
        assert_eq!(q.next_deadline(), None);
    }

    fn closed() -> CloseInfo {
        CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
            by_server: true,
            error: None,
            unsent: Vec::new(),
            uptime: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn failure_closes_with_a_reason_that_fits() {
        let mut p = AppReady::new(true, None);
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
