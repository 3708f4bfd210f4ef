//! `NativeReconnectingWebSocket`: the native half of the JS
//! `ReconnectingWebSocket` class: a session whose protocol ([`AppReady`])
//! is plain WebSocket, ready on open unless JS's `ready` step says when.
//! The loop itself is [`crate::session::driver`]; this file converts values
//! and dispatches.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::batch::Batch;
use super::options::{NativeConnectOptions, header_pairs, jitter, ms};
use super::session::NativeSession;
use crate::reconnect::{
    ClosePolicy, DEFAULT_FINAL_CODES, OverflowPolicy, QueueConfig, SupervisorConfig,
};
use crate::session::{AppReady, SendOutcome, SessionConfig, Target};
use crate::transport::ConnectOptions;
use crate::transport::Outgoing;

/// Reconnect and queue settings as the JS layer passes them (all optional;
/// the JS layer has already checked them and named any bad one).
#[napi(object)]
#[derive(Default)]
pub struct NativeReconnectOptions {
    /// ms
    pub initial_delay: Option<f64>,
    /// ms
    pub max_delay: Option<f64>,
    /// >= 1
    pub factor: Option<f64>,
    /// "full" | "equal" | "none"
    pub jitter: Option<String>,
    /// absent or Infinity: unlimited
    pub max_retries: Option<f64>,
    /// ms
    pub stable_after: Option<f64>,
    /// Replaces the default final close codes.
    pub final_codes: Option<Vec<u32>>,
    /// JS decides final codes: the driver waits for `decide()` after each
    /// close by the server.
    pub ask_final: Option<bool>,
    /// JS decides which failed dials are final (`isFinalHandshakeError`):
    /// the driver waits for `decide()` after each.
    pub ask_handshake: Option<bool>,
    /// JS supplies the URL, headers and subprotocols before every attempt
    /// (functions): the driver emits `dial` and waits for `setTarget()`.
    pub ask_target: Option<bool>,
    /// JS says when each connection is ready (`markReady`); until then the
    /// queue holds and the connection does not count as opened.
    pub app_ready: Option<bool>,
    /// ms the ready step may take per connection (0: no limit; default 30000)
    pub ready_timeout: Option<f64>,
    /// 0 disables the flapping guard
    pub flap_threshold: Option<f64>,
    /// ms
    pub flap_window: Option<f64>,
    /// queue: most messages held while disconnected
    pub max_messages: Option<f64>,
    /// queue: most bytes held while disconnected
    pub max_bytes: Option<f64>,
    /// queue: "reject-new" | "drop-oldest"
    pub overflow: Option<String>,
}

fn count(v: f64) -> usize {
    if v.is_finite() {
        v.max(0.0).min(usize::MAX as f64) as usize
    } else {
        usize::MAX
    }
}

impl NativeReconnectOptions {
    /// Sets the backoff and the flapping guard of `s` (what
    /// `ReconnectingWebSocket` and `GatewayClient` share).
    pub(crate) fn apply(&self, s: &mut SupervisorConfig) -> Result<()> {
        let b = &mut s.backoff;
        if let Some(v) = self.initial_delay {
            b.initial_delay = ms(v);
        }
        if let Some(v) = self.max_delay {
            b.max_delay = ms(v);
        }
        if let Some(v) = self.factor {
            b.factor = v;
        }
        if self.jitter.is_some() {
            b.jitter = jitter(self.jitter.as_deref())?;
        }
        if let Some(v) = self.max_retries {
            b.max_retries = (v.is_finite() && v < u32::MAX as f64).then(|| v.max(0.0) as u32);
        }
        if let Some(v) = self.stable_after {
            b.stable_after = ms(v);
        }
        if let Some(v) = self.flap_threshold {
            s.flap_threshold = v.max(0.0).min(u32::MAX as f64) as u32;
        }
        if let Some(v) = self.flap_window {
            s.flap_window = ms(v);
        }
        Ok(())
    }

    fn into_core(self, url: String, connect: ConnectOptions) -> Result<SessionConfig> {
        let mut s = SupervisorConfig::default();
        self.apply(&mut s)?;
        let ask_final = self.ask_final.unwrap_or(false);
        if ask_final {
            s.close_policy = ClosePolicy::new().with_final_codes([]);
        } else if let Some(codes) = self.final_codes {
            s.close_policy = ClosePolicy::new().with_final_codes(
                codes
                    .into_iter()
                    .filter_map(|c| u16::try_from(c).ok())
                    .collect::<Vec<_>>(),
            );
        }
        let mut q = QueueConfig::default();
        if let Some(v) = self.max_messages {
            q.max_messages = count(v);
        }
        if let Some(v) = self.max_bytes {
            q.max_bytes = count(v);
        }
        if self.overflow.as_deref() == Some("drop-oldest") {
            q.overflow = OverflowPolicy::DropOldest;
        }
        Ok(SessionConfig {
            url,
            connect,
            supervisor: s,
            queue: q,
            ask_final,
            ask_handshake: self.ask_handshake.unwrap_or(false),
            ask_target: self.ask_target.unwrap_or(false),
        })
    }
}

/// What happened to a send that was not simply taken (see `send_text`).
#[napi(object)]
pub struct NativeSendOutcome {
    /// The new message's id, or -1 when it was rejected.
    pub id: f64,
    /// Ids evicted from the queue (drop-oldest), oldest first.
    pub dropped: Vec<f64>,
    /// Why the message was rejected, or why `dropped` were evicted.
    pub reason: String,
    /// Rejected because the client is closed for good.
    pub closed: bool,
}

/// The native reconnecting client. JS owns one per `ReconnectingWebSocket`.
#[napi]
pub struct NativeReconnectingWebSocket {
    native: NativeSession<AppReady>,
    outcome: Option<NativeSendOutcome>,
}

#[napi]
impl NativeReconnectingWebSocket {
    /// Starts connecting at once. `onBatch` receives arrays of events.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        url: String,
        options: Option<NativeConnectOptions>,
        reconnect: Option<NativeReconnectOptions>,
        on_batch: Function<Batch, ()>,
    ) -> Result<Self> {
        let connect = options.unwrap_or_default().into_core();
        let reconnect = reconnect.unwrap_or_default();
        let ready_timeout = match reconnect.ready_timeout {
            Some(0.0) => None,
            Some(t) => Some(ms(t)),
            None => Some(crate::session::ready::DEFAULT_READY_TIMEOUT),
        };
        let proto = AppReady::new(reconnect.app_ready.unwrap_or(false), ready_timeout);
        let cfg = reconnect.into_core(url, connect)?;
        Ok(NativeReconnectingWebSocket {
            native: NativeSession::start(&env, cfg, proto, &on_batch)?,
            outcome: None,
        })
    }

    fn send(&mut self, msg: Outgoing) -> f64 {
        match self.native.session.send(msg) {
            SendOutcome::Accepted { id } => id as f64,
            SendOutcome::AcceptedDropping {
                id,
                dropped,
                reason,
            } => {
                self.outcome = Some(NativeSendOutcome {
                    id: id as f64,
                    dropped: dropped.into_iter().map(|d| d as f64).collect(),
                    reason,
                    closed: false,
                });
                0.0
            }
            SendOutcome::Rejected { reason, closed } => {
                self.outcome = Some(NativeSendOutcome {
                    id: -1.0,
                    dropped: Vec::new(),
                    reason,
                    closed,
                });
                0.0
            }
        }
    }

    /// Sends or queues a text message. Returns its id (> 0) when it was
    /// simply taken; 0 when something else happened: then `takeOutcome()`
    /// says what (rejected, or taken after evicting older messages).
    #[napi]
    pub fn send_text(&mut self, data: String) -> f64 {
        self.send(Outgoing::Text(data.into()))
    }

    /// Like `sendText` for binary data (copied).
    #[napi]
    pub fn send_binary(&mut self, data: Uint8Array) -> f64 {
        self.send(Outgoing::Binary(Bytes::copy_from_slice(&data)))
    }

    /// Writes a text message on the open connection now, past the queue and
    /// the ready gate (for the `ready` step's own messages). `false` when no
    /// connection is open.
    #[napi]
    pub fn send_now_text(&self, data: String) -> bool {
        self.send_now(Outgoing::Text(data.into()))
    }

    /// Like `sendNowText` for binary data (copied).
    #[napi]
    pub fn send_now_binary(&self, data: Uint8Array) -> bool {
        self.send_now(Outgoing::Binary(Bytes::copy_from_slice(&data)))
    }

    fn send_now(&self, msg: Outgoing) -> bool {
        self.native.session.send_now(msg, false).is_ok()
    }

    /// The application is ready on connection `conn` (numbered by `open`
    /// events from 1): the queue is flushed and the connection counts as
    /// opened. Ignored for a connection that has ended.
    #[napi]
    pub fn mark_ready(&self, conn: f64) {
        self.native
            .session
            .with_protocol(|p, _, out| p.mark_ready(conn as u64, out));
    }

    /// The application's ready step failed on connection `conn`: it is
    /// closed with 1011 and `reason`, and the attempt counts as failed.
    #[napi]
    pub fn ready_failed(&self, conn: f64, reason: String) {
        self.native
            .session
            .with_protocol(|p, _, out| p.ready_failed(conn as u64, &reason, out));
    }

    /// The details of the last send that returned 0.
    #[napi]
    pub fn take_outcome(&mut self) -> Option<NativeSendOutcome> {
        self.outcome.take()
    }

    /// Stops for good in any state; the `terminal` event follows.
    #[napi]
    pub fn close(&self, code: Option<u32>, reason: Option<String>) {
        self.native
            .session
            .close(code.map(|c| c as u16), reason.unwrap_or_default());
    }

    /// The next attempt's URL, headers (`[name, value]` pairs) and
    /// subprotocols, after a `dial` event (absent: the constructor's).
    #[napi]
    pub fn set_target(
        &self,
        url: String,
        headers: Option<Vec<Vec<String>>>,
        protocols: Option<Vec<String>>,
    ) {
        self.native.session.set_target(Ok(Target {
            url,
            headers: headers.map(header_pairs),
            protocols,
            token: None,
        }));
    }

    /// Fails the next attempt with `message` (the caller's function threw).
    #[napi]
    pub fn fail_target(&self, message: String) {
        self.native.session.set_target(Err(message));
    }

    /// The verdict for a `close` or `error` event with `verdict: true`.
    #[napi]
    pub fn decide(&self, is_final: bool) {
        self.native.session.decide(is_final);
    }

    /// Messages waiting in the send queue.
    #[napi(getter)]
    pub fn queued_messages(&self) -> f64 {
        self.native.session.queued().0 as f64
    }

    /// Bytes waiting in the send queue.
    #[napi(getter)]
    pub fn queued_bytes(&self) -> f64 {
        self.native.session.queued().1 as f64
    }

    /// Whether `release()` ran: the client no longer holds the event loop.
    #[napi(getter)]
    pub fn released(&self) -> bool {
        self.native.released()
    }

    /// Opts in to joined text runs in batches (see `batch.rs`). Call right
    /// after construction, before returning to the event loop.
    #[napi]
    pub fn join_text_runs(&self) {
        self.native.waker.join_text_runs(true);
    }

    /// Called by JS after the `terminal` event: stop holding the event loop.
    #[napi]
    pub fn release(&mut self, env: Env) -> Result<()> {
        self.native.release(&env)
    }
}

/// The close codes after which a `ReconnectingWebSocket` stops by default
/// (JS falls back to them when a `finalCodes` function throws).
#[napi]
pub fn default_final_codes() -> Vec<u32> {
    DEFAULT_FINAL_CODES.iter().map(|&c| u32::from(c)).collect()
}
