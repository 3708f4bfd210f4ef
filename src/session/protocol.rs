//! The seam between the session driver and an application protocol.
//!
//! A [`Protocol`] is a pure state machine: no sockets, no tokio, no napi.
//! The driver calls it at each point of the lifecycle with the time, and
//! it answers by pushing [`Action`]s, which the driver carries out in
//! order. [`Plain`] is the protocol of a plain WebSocket: messages go
//! straight to JS and the application is ready as soon as the socket is
//! open.

use std::time::{Duration, Instant};

use super::event::Event;
use crate::reconnect::Terminal;
use crate::transport::{CloseInfo, InboundEvent, Outgoing};

/// What a protocol asks the driver to do.
#[derive(Debug)]
pub enum Action {
    /// Write `msg` on the open connection. If the connection refuses it
    /// (it is closing), the driver hands `tag` back through
    /// [`Protocol::on_unsent`].
    Send {
        /// The message.
        msg: Outgoing,
        /// The protocol's name for it (a request id), if it wants it back.
        tag: Option<String>,
    },
    /// Start the closing handshake.
    Close(u16, String),
    /// Drop the connection now. After a `Close`, its close frame still goes
    /// out if the socket takes it.
    Abort,
    /// The application is ready: the connection counts as opened for the
    /// backoff and the flapping guard, and the send queue is flushed.
    Ready,
    /// Report an event to JS.
    Emit(Event),
}

/// What a protocol says about a connection that ended, for the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The close code to decide on.
    pub code: u16,
    /// The close reason to decide on.
    pub reason: String,
    /// Whether the server ended it.
    pub by_server: bool,
    /// A server hint for when to come back.
    pub retry_after: Option<Duration>,
    /// Stop reconnecting (and pause), with this message.
    pub force_final: Option<String>,
}

impl Verdict {
    /// The transport's view of the close, with no hint.
    pub fn from_close(close: &CloseInfo) -> Self {
        Verdict {
            code: close.code,
            reason: close.reason.clone(),
            by_server: close.by_server,
            retry_after: None,
            force_final: None,
        }
    }
}

/// Where one attempt goes, as the caller supplied it just before (fresh
/// credentials per attempt). `None` keeps the session's own setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The `ws://` or `wss://` URL.
    pub url: String,
    /// Replaces the request headers.
    pub headers: Option<Vec<(String, String)>>,
    /// Replaces the subprotocols.
    pub protocols: Option<Vec<String>>,
    /// A credential for the application protocol (the gateway's token).
    pub token: Option<String>,
}

/// An application protocol, driven by the session. Every method but
/// [`Protocol::intercepts`] and [`Protocol::next_deadline`] may push
/// actions to `out`.
pub trait Protocol: std::any::Any + Send {
    /// Whether inbound messages go through [`Protocol::on_message`] (true)
    /// or straight to JS (false).
    fn intercepts(&self) -> bool;

    /// Whether this protocol may pause the session (a `Verdict` with
    /// `force_final`), after which `resume()` dials again.
    fn can_pause(&self) -> bool {
        false
    }

    /// The caller supplied this attempt's target (before the dial).
    fn on_target(&mut self, _target: &Target) {}

    /// The socket opened at `now`.
    fn on_open(&mut self, now: Instant, out: &mut Vec<Action>);

    /// A message arrived (only when [`Protocol::intercepts`]).
    fn on_message(&mut self, _msg: InboundEvent, _now: Instant, _out: &mut Vec<Action>) {}

    /// The earliest time at which [`Protocol::on_deadline`] must run.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// Called once [`Protocol::next_deadline`] has passed, in every phase
    /// (dialing, open, waiting to reconnect, paused). While a connection is
    /// open, a protocol that does not intercept messages is served only if
    /// it had a deadline when the connection opened ([`Protocol::on_open`]
    /// sets it, as `AppReady` does): plain sockets keep the lighter path.
    fn on_deadline(&mut self, _now: Instant, _out: &mut Vec<Action>) {}

    /// A `Send` action was refused because the connection is closing.
    fn on_unsent(&mut self, _tag: String, _msg: Outgoing) {}

    /// The open connection ended as `close` says. Returns what the
    /// supervisor should decide on.
    fn on_closed(&mut self, close: &CloseInfo, _now: Instant, _out: &mut Vec<Action>) -> Verdict {
        Verdict::from_close(close)
    }

    /// The session will dial again after a wait.
    fn on_reconnecting(&mut self, _out: &mut Vec<Action>) {}

    /// The supervisor paused the session (a failure retrying cannot fix);
    /// it waits for `resume()` or `close()`.
    fn on_paused(&mut self, _terminal: &Terminal, _out: &mut Vec<Action>) {}

    /// `resume()` ended a pause; the session dials again.
    fn on_resumed(&mut self, _out: &mut Vec<Action>) {}

    /// The session stopped for good; the `Terminal` event follows.
    fn on_stopped(&mut self, _terminal: &Terminal, _out: &mut Vec<Action>) {}
}

/// No application protocol: messages go straight to JS, and the
/// application is ready when the socket opens.
#[derive(Debug, Default)]
pub struct Plain;

impl Protocol for Plain {
    fn intercepts(&self) -> bool {
        false
    }

    fn on_open(&mut self, _now: Instant, out: &mut Vec<Action>) {
        out.push(Action::Ready);
    }
}
