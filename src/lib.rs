//! clawsock: a WebSocket client for Node.js with its own socket stack
//! (tokio, tokio-tungstenite and rustls on one shared Tokio runtime), and a
//! client for the OpenClaw gateway protocol.
//!
//! The crate is layered; each folder is one concern:
//! - [`transport`]: dialing (DNS, TCP, TLS, HTTP upgrade), the connection
//!   actor (read/write loops, ping/pong, inbound batching with backpressure),
//!   and close-code rules.
//! - [`reconnect`]: pure reconnect policy: backoff with jitter, final close
//!   codes, the flapping guard and the bounded send queue.
//! - [`session`]: the one connection lifecycle every client runs (dial,
//!   open, run, close, ask the supervisor, wait, dial again), with an
//!   application protocol plugged in as a pure state machine, and the typed
//!   events it reports to JS.
//! - [`gateway`]: the OpenClaw gateway protocol: frames, device identity,
//!   auth selection, the handshake, and the protocol state machine.
//! - `bindings`: the napi layer. It only converts values and dispatches.
//! - [`cli`]: the diagnostics behind the `clawsock` command.
//!
//! It is not a WebSocket server, and it does not implement permessage-deflate.

pub mod cli;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod reconnect;
pub mod runtime;
pub mod session;
pub mod transport;

// Not with the `fuzzing` feature: the fuzz targets are executables, which
// cannot leave Node-API symbols for Node to provide.
#[cfg(not(any(test, feature = "fuzzing")))]
mod bindings;
