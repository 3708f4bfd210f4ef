//! The napi layer: converts JS values to Rust and back, and dispatches to
//! the session core. No protocol, policy or lifecycle logic lives here.
//!
//! - `websocket`, `reconnecting`, `gateway`: the three native client
//!   classes, each a session ([`crate::session`]) with its settings.
//! - `session`: what the three share (start, teardown hook, release).
//! - `options`: JS option objects → core settings (checked in `lib/options.js`).
//! - `wake`, `batch`, `events`: the crossing into JS: one wake-up per JS
//!   thread for all its sockets, one array per socket and wake-up, and the
//!   one place where core events get their JS names.
//! - `identity`, `cli`: `DeviceIdentity` and the CLI's native helpers.
//! - `debug`: the runtime's live task count, for the soak command.

mod batch;
mod cli;
mod debug;
mod events;
mod gateway;
mod identity;
mod options;
mod reconnecting;
mod session;
mod wake;
mod websocket;
