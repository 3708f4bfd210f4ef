//! The napi layer: converts JS values to Rust and back, and dispatches.
//! No protocol or policy logic lives here.

mod batch;
mod cli;
mod gateway;
mod identity;
mod options;
mod reconnecting;
mod websocket;
