//! Transport: one WebSocket connection, from dialing to the final close.
//!
//! - [`options`]: what a caller can set (headers, timeouts, TLS, limits, ping).
//! - [`dial`]: DNS, TCP, proxy, TLS and the HTTP upgrade, each step with its
//!   own error ([`error::ConnectError`]) and timing ([`dial::ConnectInfo`]),
//!   following redirects ([`redirect`]) when asked.
//! - [`happy_eyeballs`]: the TCP connect to a host's addresses (RFC 8305).
//! - [`proxy`]: which proxy a destination goes through (plain data from
//!   JS); [`tunnel`]: TLS to an `https://` proxy and the CONNECT tunnel.
//! - [`upgrade`]: the upgrade request and what its failures mean.
//! - [`tls`]: the rustls configuration (webpki roots, the system store,
//!   `NODE_EXTRA_CA_CERTS`, a caller's `ca`).
//! - [`stream`]: a plain or TLS byte stream (or a tunnel through an
//!   `https://` proxy); it hands the upgrade only the 101 response's headers.
//! - [`frames`]: the receiving side of the protocol (tungstenite does the
//!   upgrade and writes frames); large payloads are read straight into
//!   buffers from [`pool`].
//! - [`whole_head`]: the upgrade response handed to tungstenite whole, however
//!   small the pieces it arrived in.
//! - [`utf8`]: text checked piece by piece (fail fast on invalid UTF-8).
//! - [`pool`]: recycled buffers for large payloads, freed when unused.
//! - [`inbox`]: the bounded inbound queue that hands messages to JS in
//!   batches, one batch per wake-up, and pauses socket reads when JS lags.
//! - [`connection`]: the connection actor (the read loop, ping/pong, the
//!   close handshake) and its handle; `writer.rs`: the task that owns the
//!   sending half.

pub mod connection;
pub mod dial;
pub mod error;
pub mod frames;
pub mod happy_eyeballs;
pub mod inbox;
pub mod options;
pub mod pool;
pub mod proxy;
pub mod redirect;
pub mod stream;
pub mod tls;
pub mod tunnel;
pub mod upgrade;
pub mod utf8;
pub mod whole_head;
mod writer;

#[cfg(test)]
mod control_tests;

pub use connection::{CloseInfo, Connection, Outgoing, spawn_connection, start_connection};
pub use dial::{ConnectInfo, connect};
pub use error::{ConnectError, ConnectErrorKind};
pub use inbox::{InboundEvent, Inbox};
pub use options::{ConnectOptions, TlsOptions};
