//! The session: one connection lifecycle for every client.
//!
//! A session dials, opens, runs, closes, asks the reconnect
//! [`Supervisor`](crate::reconnect::Supervisor) what to do, waits, and dials
//! again, in one loop ([`driver`]). `WebSocket` is a session whose
//! supervisor never retries (with [`Plain`]), `ReconnectingWebSocket` a
//! session with [`AppReady`] (plain WebSocket, ready on open unless its
//! `ready` step says when), and `GatewayClient` a session with the
//! OpenClaw gateway protocol plugged in
//! ([`GatewayProtocol`](crate::gateway::GatewayProtocol)). An application
//! protocol is a pure state machine behind the [`Protocol`] trait: it takes
//! inputs (messages, the time, lifecycle points) and returns [`Action`]s;
//! the driver does the I/O.
//!
//! Everything a session reports to JS is an [`Event`] ([`event`]), pushed to
//! the session's inbox in order, next to the messages the connection
//! pushes. Events become JS values only in `src/bindings`.
//!
//! - [`event`]: the typed events from the core to JS.
//! - [`protocol`]: the [`Protocol`] trait, its [`Action`]s, and [`Plain`].
//! - [`driver`]: the loop; `dial.rs`: its dial phase (targets, failed
//!   dials, the open connection).
//! - [`handle`]: the [`Session`] handle JS calls into.
//! - [`ready`]: [`AppReady`], a plain socket whose application says when it
//!   is ready.

mod dial;
pub mod driver;
pub mod event;
pub mod handle;
pub mod protocol;
pub mod ready;

pub use driver::{SessionConfig, live_sessions};
pub use event::{ErrorEvent, Event, HttpAnswer};
pub use handle::{NotSent, SendOutcome, Session};
pub use protocol::{Action, Plain, Protocol, Target, Verdict};
pub use ready::AppReady;
