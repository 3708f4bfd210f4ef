//! `NativeWebSocket`: the native half of the JS `WebSocket` class: a
//! session with no application protocol that never reconnects.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::batch::Batch;
use super::options::NativeConnectOptions;
use super::session::NativeSession;
use crate::reconnect::{BackoffConfig, ClosePolicy, SupervisorConfig};
use crate::session::NotSent;
use crate::session::{Plain, SessionConfig};
use crate::transport::Outgoing;

/// The native socket. JS owns one per `WebSocket` object.
#[napi]
pub struct NativeWebSocket {
    native: NativeSession<Plain>,
}

/// The settings of a socket that never reconnects.
pub(crate) fn no_reconnect() -> SupervisorConfig {
    SupervisorConfig {
        backoff: BackoffConfig {
            max_retries: Some(0),
            ..BackoffConfig::default()
        },
        close_policy: ClosePolicy::new().with_final_codes([]),
        flap_threshold: 0,
        ..SupervisorConfig::default()
    }
}

#[napi]
impl NativeWebSocket {
    /// Starts connecting at once. `onBatch` receives arrays of events.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        url: String,
        options: Option<NativeConnectOptions>,
        on_batch: Function<Batch, ()>,
    ) -> Result<Self> {
        let cfg = SessionConfig {
            url,
            connect: options.unwrap_or_default().into_core(),
            supervisor: no_reconnect(),
            ..SessionConfig::default()
        };
        Ok(NativeWebSocket {
            native: NativeSession::start(&env, cfg, Plain, &on_batch)?,
        })
    }

    /// Sends on the open connection; the message id, or -1 if closing.
    fn send(&self, msg: Outgoing, notify: bool) -> Result<f64> {
        match self.native.session.send_now(msg, notify) {
            Ok(id) => Ok(id as f64),
            Err(NotSent::Closing) => Ok(-1.0),
            Err(NotSent::NotOpen) => Err(Error::new(
                Status::InvalidArg,
                "InvalidStateError: the WebSocket is not open yet",
            )),
        }
    }

    /// Queues a text message; returns its id, or -1 if the socket is closing.
    #[napi]
    pub fn send_text(&self, data: String, notify: bool) -> Result<f64> {
        self.send(Outgoing::Text(data.into()), notify)
    }

    /// Queues a binary message; returns its id, or -1 if the socket is closing.
    #[napi]
    pub fn send_binary(&self, data: Uint8Array, notify: bool) -> Result<f64> {
        self.send(Outgoing::Binary(Bytes::copy_from_slice(&data)), notify)
    }

    /// Sends a ping (`pong: false`) or an unsolicited pong with `data`
    /// (at most 125 bytes); `false` if the socket is closing.
    #[napi]
    pub fn send_control(&self, pong: bool, data: Option<Uint8Array>) -> Result<bool> {
        let payload = data.map_or_else(Bytes::new, |d| Bytes::copy_from_slice(&d));
        if payload.len() > 125 {
            return Err(Error::new(
                Status::InvalidArg,
                format!(
                    "RangeError: the data of a ping or pong is at most 125 bytes (RFC 6455 5.5); this one is {}",
                    payload.len()
                ),
            ));
        }
        match self.native.session.send_control(pong, payload) {
            Ok(()) => Ok(true),
            Err(NotSent::Closing) => Ok(false),
            Err(NotSent::NotOpen) => Err(Error::new(
                Status::InvalidArg,
                "InvalidStateError: the WebSocket is not open yet",
            )),
        }
    }

    /// Opts in to `ping` and `pong` events in batches (ws's events). Call
    /// right after construction.
    #[napi]
    pub fn report_control_frames(&self) {
        self.native.inbox().report_control(true);
    }

    /// Pauses (`true`) or resumes reading from the socket (ws's `pause()`):
    /// while paused no further message is read, and TCP backpressure
    /// reaches the server.
    #[napi]
    pub fn pause_reading(&self, on: bool) {
        self.native.inbox().pause(on);
    }

    /// Starts the close handshake, or abandons the connection attempt.
    #[napi]
    pub fn close(&self, code: Option<u32>, reason: Option<String>) {
        self.native
            .session
            .close(code.map(|c| c as u16), reason.unwrap_or_default());
    }

    /// Drops the connection without a close handshake (like ws's `terminate`).
    #[napi]
    pub fn terminate(&self) {
        self.native.session.abort();
    }

    /// Total bytes accepted for sending (JS subtracts what `sent` events report).
    #[napi(getter)]
    pub fn accepted_bytes(&self) -> f64 {
        self.native.session.accepted_bytes() as f64
    }

    /// Opts in to joined text runs in batches (see `batch.rs`). Call right
    /// after construction, before returning to the event loop.
    #[napi]
    pub fn join_text_runs(&self) {
        self.native.waker.join_text_runs(true);
    }

    /// Called by JS after the final event: stop holding the event loop.
    #[napi]
    pub fn release(&mut self, env: Env) -> Result<()> {
        self.native.release(&env)
    }
}
