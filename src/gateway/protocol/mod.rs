//! The OpenClaw gateway protocol as a state machine (protocol doc §3, §9,
//! §11, §12; anchor §5): no sockets, no tokio, no napi.
//!
//! [`GatewayProtocol`] plugs into the session driver
//! ([`crate::session::Protocol`]). It takes inputs (the socket opened, a
//! frame arrived, a deadline passed, the connection closed, a request from
//! JS) with the time, and answers with [`Action`]s: frames to send, closes,
//! and [`GatewayEvent`]s for JS. It owns the request table, so the two-stage
//! `accepted` rule, the held requests and every rejection live here only.
//!
//! Per connection: challenge (deadline `challenge_timeout`) → signed
//! `connect` → hello-ok (deadline `connect_timeout`) → ready: held requests
//! go out in order, the tick watchdog runs at exactly 2 × `tickIntervalMs`
//! after the last inbound frame. When it fires, the connection is reported
//! lost at that moment (`Disconnected`, requests in flight rejected), a
//! 4000 close goes out best-effort, and the socket is dropped: a peer that
//! sent nothing for that long will not answer a close frame.
//!
//! Differences from the reference client, on purpose (anchor §5): requests
//! made before hello-ok are held and sent after it, in order; a request over
//! `policy.maxPayload` fails locally and the connection stays up; reconnects
//! honour `retryAfterMs` and `shutdown.restartExpectedMs`; `DEVICE_AUTH_*`
//! pauses. The one piece of state that may touch a file is the device
//! token store (a file only when the caller gave it a path).
//!
//! - this file: the state, requests, deadlines and the lifecycle hooks;
//! - `connect`: challenge → `connect` → hello-ok or refusal → pause or retry;
//! - `route`: frames after hello-ok (answers and events).

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::auth::{AuthSelection, Credentials};
use super::error::{CONNECT_PAUSED, GatewayError};
use super::events::{ClientState, GatewayEvent};
use super::frames::{ErrorShape, Policy};
use super::handshake::{ConnectOptions, DEFAULT_ROLE};
use super::identity::DeviceIdentity;
use super::options::{
    CLOSE_CHALLENGE_TIMEOUT, CLOSE_CONNECT_TIMEOUT, CLOSE_TICK_TIMEOUT, ClientOptions,
};
use super::pending::{PendingRequest, PendingTable};
use super::seq::SeqTracker;
use super::token_store::DeviceTokenStore;
use crate::reconnect::Terminal;
use crate::session::{Action, ErrorEvent, Event, Protocol, SessionConfig, Target, Verdict};
use crate::transport::{self, InboundEvent, Outgoing};

/// Where the current connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection.
    Idle,
    /// Open; waiting for `connect.challenge`.
    Challenge,
    /// `connect` sent; waiting for hello-ok.
    Hello,
    /// `connect` was refused; waiting for the gateway to close.
    Rejected,
    /// hello-ok received.
    Ready,
    /// This client started closing.
    Closing,
}

/// Why connecting paused, kept until the session pauses.
struct PauseInfo {
    detail_code: String,
    next_step: String,
    error: GatewayError,
}

/// The gateway protocol. See the module docs.
pub struct GatewayProtocol {
    url: String,
    connect: ConnectOptions,
    scopes_explicit: bool,
    credentials: Credentials,
    identity: Option<DeviceIdentity>,
    token_store: DeviceTokenStore,
    tls_pinned: bool,
    challenge_timeout: Duration,
    connect_timeout: Duration,
    close_timeout: Duration,

    state: ClientState,
    phase: Phase,
    /// The phase's deadline (challenge, hello, watchdog, close).
    deadline: Option<Instant>,
    pending: PendingTable,
    next_request: u64,
    policy: Policy,
    seq: SeqTracker,
    /// The close this client sent on the current connection.
    local_close: Option<(u16, String)>,
    /// `Disconnected` went out already (the watchdog reports at once).
    disconnect_reported: bool,
    connect_id: String,
    selection: Option<AuthSelection>,
    rejected: Option<(ErrorShape, AuthSelection)>,
    hello_at: Option<Instant>,
    device_token_retry: bool,
    retry_used: bool,
    restart_hint: Option<u64>,
    connects: u64,
    pause: Option<PauseInfo>,
}

impl GatewayProtocol {
    /// Splits checked options into the session's settings and the protocol.
    pub fn new(opts: ClientOptions) -> (SessionConfig, GatewayProtocol) {
        let session = SessionConfig {
            url: opts.url.clone(),
            connect: opts.transport,
            supervisor: opts.supervisor,
            ..SessionConfig::default()
        };
        let close_timeout = session.connect.close_timeout;
        let proto = GatewayProtocol {
            url: opts.url,
            connect: opts.connect,
            scopes_explicit: opts.scopes_explicit,
            credentials: opts.credentials,
            identity: opts.identity,
            token_store: opts.token_store,
            tls_pinned: opts.tls_pinned,
            challenge_timeout: opts.challenge_timeout,
            connect_timeout: opts.connect_timeout,
            close_timeout,
            state: ClientState::Connecting,
            phase: Phase::Idle,
            deadline: None,
            pending: PendingTable::new(),
            next_request: 1,
            policy: Policy::default(),
            seq: SeqTracker::new(),
            local_close: None,
            disconnect_reported: false,
            connect_id: String::new(),
            selection: None,
            rejected: None,
            hello_at: None,
            device_token_retry: false,
            retry_used: false,
            restart_hint: None,
            connects: 0,
            pause: None,
        };
        (session, proto)
    }

    /// The client's state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Requests made and not yet settled (held or in flight).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Makes a request and returns its id. `params_json` must be JSON text.
    /// Fails at once, without sending, when the method is empty, the client
    /// is stopped or paused, or the frame is over the last known
    /// `policy.maxPayload` (25 MiB before the first hello-ok). Otherwise the
    /// request is held until the connection is ready, then sent; its outcome
    /// arrives as a `Response` or a `Reject`. `timeout` runs from now.
    pub fn request(
        &mut self,
        method: &str,
        params_json: Option<&str>,
        timeout: Option<Duration>,
        expect_final: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> Result<String, Box<GatewayError>> {
        if method.is_empty() {
            return Err(Box::new(GatewayError::local(
                "INVALID_REQUEST",
                "the method name must not be empty",
            )));
        }
        match self.state {
            ClientState::Closed => {
                return Err(Box::new(GatewayError::stopped().with_method(method)));
            }
            ClientState::Paused => return Err(Box::new(self.paused_error().with_method(method))),
            _ => {}
        }
        let id = self.next_request.to_string();
        self.next_request += 1;
        let frame = request_frame_text(&id, method, params_json);
        if frame.len() as u64 > self.policy.max_payload {
            return Err(Box::new(GatewayError::payload_too_large(
                method,
                frame.len(),
                self.policy.max_payload,
            )));
        }
        self.pending.hold(PendingRequest {
            id: id.clone(),
            method: method.to_owned(),
            frame: Some(frame),
            expect_final,
            deadline: timeout.map(|t| now + t),
            timeout_ms: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        });
        if self.phase == Phase::Ready {
            self.flush_held(out);
        }
        Ok(id)
    }

    /// Forgets a request (the caller aborted it). Nothing is sent to the
    /// gateway, which has no cancel frame; a late answer is dropped.
    pub fn cancel(&mut self, id: &str) {
        self.pending.remove(id);
    }

    fn emit(out: &mut Vec<Action>, ev: GatewayEvent) {
        out.push(Action::Emit(Event::Gateway(ev)));
    }

    fn error(out: &mut Vec<Action>, kind: &'static str, message: String) {
        out.push(Action::Emit(Event::Error(ErrorEvent::new(kind, message))));
    }

    fn set_state(&mut self, s: ClientState, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            Self::emit(out, GatewayEvent::State(s));
        }
    }

    fn reject(out: &mut Vec<Action>, id: String, error: GatewayError) {
        Self::emit(out, GatewayEvent::Reject { id, error });
    }

    fn role(&self) -> String {
        self.connect
            .role
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_ROLE.to_owned())
    }

    /// What a request fails with while paused: the connect error's message,
    /// with `details.code`, `details.nextStep` and `details.serverCode`.
    fn paused_error(&self) -> GatewayError {
        let Some(p) = &self.pause else {
            return GatewayError::local(CONNECT_PAUSED, "reconnecting is paused");
        };
        let mut details = match &p.error.details {
            Some(serde_json::Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        details.insert("code".into(), p.detail_code.clone().into());
        details.insert("nextStep".into(), p.next_step.clone().into());
        details.insert("serverCode".into(), p.error.code.clone().into());
        GatewayError {
            details: Some(serde_json::Value::Object(details)),
            ..GatewayError::local(CONNECT_PAUSED, p.error.message.clone())
        }
    }

    fn watchdog_window(&self) -> Duration {
        Duration::from_millis(self.policy.tick_interval_ms.saturating_mul(2))
    }

    /// Sends every held request (ready only).
    fn flush_held(&mut self, out: &mut Vec<Action>) {
        for (id, method, frame) in self.pending.take_held() {
            if frame.len() as u64 > self.policy.max_payload {
                self.pending.remove(&id);
                let err =
                    GatewayError::payload_too_large(&method, frame.len(), self.policy.max_payload);
                Self::reject(out, id, err);
                continue;
            }
            out.push(Action::Send {
                msg: Outgoing::Text(Utf8Bytes::from(frame)),
                tag: Some(id),
            });
        }
    }

    /// Starts this client's close of the connection.
    fn local_close(&mut self, code: u16, reason: &str, now: Instant, out: &mut Vec<Action>) {
        if self.phase != Phase::Closing {
            self.local_close = Some((code, reason.to_owned()));
        }
        self.phase = Phase::Closing;
        out.push(Action::Close(code, reason.to_owned()));
        self.deadline = Some(now + self.close_timeout + Duration::from_secs(1));
    }

    /// Reports the connection lost: requests in flight fail with its close.
    fn report_disconnect(
        &mut self,
        code: u16,
        reason: &str,
        by_server: bool,
        out: &mut Vec<Action>,
    ) {
        if self.disconnect_reported {
            return;
        }
        self.disconnect_reported = true;
        let closed = GatewayError::closed(code, reason);
        for r in self.pending.drain_sent() {
            Self::reject(out, r.id, closed.clone().with_method(r.method));
        }
        Self::emit(
            out,
            GatewayEvent::Disconnected {
                code,
                reason: reason.to_owned(),
                by_server,
                after_hello: self.hello_at.is_some(),
            },
        );
    }
}

impl Protocol for GatewayProtocol {
    fn intercepts(&self) -> bool {
        true
    }

    fn can_pause(&self) -> bool {
        true
    }

    fn on_target(&mut self, target: &Target) {
        // Device tokens are keyed by the URL dialed; a fresh token is the
        // shared gateway token for this attempt.
        self.url = target.url.clone();
        if let Some(t) = target.token.clone().filter(|t| !t.is_empty()) {
            self.credentials.token = Some(t);
        }
    }

    fn on_open(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Challenge;
        self.deadline = Some(now + self.challenge_timeout);
        self.local_close = None;
        self.disconnect_reported = false;
        self.rejected = None;
        self.hello_at = None;
        self.restart_hint = None;
        self.seq.reset();
        self.set_state(ClientState::Handshaking, out);
    }

    fn on_message(&mut self, msg: InboundEvent, now: Instant, out: &mut Vec<Action>) {
        let text = match msg {
            InboundEvent::Text(t) => t,
            InboundEvent::Binary(b) => match Utf8Bytes::try_from(b) {
                Ok(t) => t,
                Err(_) => return,
            },
            InboundEvent::Sent { .. }
            | InboundEvent::Session(_)
            | InboundEvent::Sync
            | InboundEvent::Ping(_)
            | InboundEvent::Pong(_) => return,
        };
        match self.phase {
            Phase::Ready => {
                self.deadline = Some(now + self.watchdog_window());
                self.route(&text, out);
            }
            Phase::Challenge => self.on_challenge(&text, now, out),
            Phase::Hello => self.on_hello_frame(&text, now, out),
            Phase::Idle | Phase::Rejected | Phase::Closing => {}
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.deadline, self.pending.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_deadline(&mut self, now: Instant, out: &mut Vec<Action>) {
        for r in self.pending.expire(now) {
            let err = GatewayError::timeout(&r.method, r.timeout_ms.unwrap_or(0));
            Self::reject(out, r.id, err);
        }
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        match self.phase {
            Phase::Challenge => {
                let (c, r) = CLOSE_CHALLENGE_TIMEOUT;
                self.local_close(c, r, now, out);
            }
            Phase::Hello => {
                let (c, r) = CLOSE_CONNECT_TIMEOUT;
                self.local_close(c, r, now, out);
            }
            Phase::Ready => {
                // The watchdog: report the loss now, then drop the socket.
                let (c, r) = CLOSE_TICK_TIMEOUT;
                self.local_close(c, r, now, out);
                self.report_disconnect(c, r, false, out);
                self.set_state(ClientState::Reconnecting, out);
                out.push(Action::Abort);
            }
            Phase::Rejected => self.local_close(1008, "connect failed", now, out),
            Phase::Closing => out.push(Action::Abort),
            Phase::Idle => {}
        }
    }

    fn on_unsent(&mut self, tag: String, msg: Outgoing) {
        // The socket was closing: keep the request for the next connection.
        if let (Some(mut r), Outgoing::Text(frame)) = (self.pending.remove(&tag), msg) {
            r.frame = Some(frame.to_string());
            self.pending.hold(r);
        }
    }

    fn on_closed(
        &mut self,
        close: &transport::CloseInfo,
        _now: Instant,
        out: &mut Vec<Action>,
    ) -> Verdict {
        let (code, reason, by_server) = match self.local_close.take() {
            Some((c, r)) => (c, r, false),
            None => (close.code, close.reason.clone(), close.by_server),
        };
        self.report_disconnect(code, &reason, by_server, out);
        self.phase = Phase::Idle;
        self.deadline = None;
        let mut hint = self.restart_hint.take().map(Duration::from_millis);
        let force_final = match self.rejected.take() {
            Some((err, sel)) => self.classify_rejection(err, sel, &mut hint, out),
            None => None,
        };
        Verdict {
            code,
            reason,
            by_server,
            retry_after: hint,
            force_final,
        }
    }

    fn on_reconnecting(&mut self, out: &mut Vec<Action>) {
        self.set_state(ClientState::Reconnecting, out);
    }

    fn on_paused(&mut self, t: &Terminal, out: &mut Vec<Action>) {
        // Every request fails now, before JS hears of the pause (it stops
        // holding the event loop then).
        let err = self.paused_error();
        for r in self.pending.drain_all() {
            Self::reject(out, r.id, err.clone().with_method(r.method));
        }
        if let Some(p) = &self.pause {
            Self::emit(
                out,
                GatewayEvent::Paused {
                    code: t.code,
                    reason: t.reason.clone(),
                    detail_code: p.detail_code.clone(),
                    message: p.error.message.clone(),
                    next_step: p.next_step.clone(),
                    error: p.error.clone(),
                },
            );
        }
        self.set_state(ClientState::Paused, out);
    }

    fn on_resumed(&mut self, out: &mut Vec<Action>) {
        self.pause = None;
        self.device_token_retry = false;
        self.retry_used = false;
        self.set_state(ClientState::Reconnecting, out);
    }

    fn on_stopped(&mut self, _t: &Terminal, out: &mut Vec<Action>) {
        for r in self.pending.drain_all() {
            Self::reject(out, r.id, GatewayError::stopped().with_method(r.method));
        }
        self.phase = Phase::Idle;
        self.deadline = None;
        self.set_state(ClientState::Closed, out);
    }
}

mod connect;
mod route;

pub use route::request_frame_text;

#[cfg(test)]
mod tests;
