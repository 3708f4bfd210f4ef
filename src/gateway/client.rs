//! The gateway client actor: one tokio task that owns the socket, the
//! handshake, the request table, `seq` tracking, the tick watchdog and
//! reconnects (protocol doc §3.4, §9, §11, §12; anchor §5).
//!
//! [`spawn`] starts it and returns a [`GatewayClientHandle`]. Everything the
//! actor has to say goes into an [`Inbox`] (for napi: one JS array per
//! wake-up), in order:
//!
//! - `Text`: a raw gateway frame, exactly as received, for JS to `JSON.parse`:
//!   the hello-ok `res` (announced by a `hello` control), every `res` that
//!   answers a request in flight, and every `event` after hello-ok.
//! - `Control` objects with a `type`:
//!   `state {state}`; `hello {id, protocol, maxPayload, tickIntervalMs, stateVersion?}`;
//!   `reject {id, error}` (a request failed locally: timeout, closed, too
//!   large, paused, stopped); `seq {kind: gap|duplicate|backwards, expected?, received, last?}`;
//!   `stateVersion {presence, health}`; `disconnected {code, reason, byServer, phase}`;
//!   `reconnecting {attempt, delayMs, code, reason}`;
//!   `paused {code, reason, detailCode, message, nextStep, error}`;
//!   `error {kind, message}` (dial failures, unreadable frames, token store
//!   problems; never fatal); `closed {code, reason, message, kind}` (the last event).
//!
//! Differences from the reference client, on purpose (anchor §5): requests
//! made before hello-ok are held and sent after it, in order; a request over
//! `policy.maxPayload` fails locally and the connection stays up; the
//! watchdog is a deadline at exactly 2 × `tickIntervalMs` after the last
//! inbound frame, never suspended; reconnects have jitter and honour
//! `retryAfterMs` and `shutdown.restartExpectedMs`; `DEVICE_AUTH_*` pauses.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::auth::{
    AuthSelection, AuthSource, ConnectFailure, Credentials, DeviceTokenRetryContext,
    classify_connect_error_with, device_token_to_store, select_connect_auth,
    should_clear_stored_token,
};
use super::endpoint::{GatewayEndpoint, is_trusted_endpoint};
use super::error::GatewayError;
use super::frames::{
    CHALLENGE_EVENT, DEFAULT_MAX_PAYLOAD, ErrorShape, HelloOk, Inbound, Policy, StateVersion,
    parse_inbound,
};
use super::handshake::{
    Challenge, ConnectOptions, ConnectOutcome, DEFAULT_ROLE, HandshakeError, build_connect,
    connect_request, parse_challenge, parse_connect_response,
};
use super::identity::DeviceIdentity;
use super::pending::{PendingRequest, PendingTable, Routed};
use super::seq::{SeqObservation, SeqTracker};
use super::token_store::DeviceTokenStore;
use crate::reconnect::{
    CloseInfo as SupCloseInfo, ClosePolicy, Decision, Supervisor, SupervisorConfig, Terminal,
};
use crate::transport::{self, Connection, InboundEvent, Inbox, Outgoing};

/// How long to wait for `connect.challenge` after the socket opens (reference: 15 s).
pub const DEFAULT_CHALLENGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for hello-ok after sending `connect` (reference: 15 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default per-request timeout (reference: 30 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Delay before the one-shot device-token retry (reference: 250 ms).
pub const DEVICE_TOKEN_RETRY_DELAY: Duration = Duration::from_millis(250);
/// Server close codes after which the gateway client stops for good. Auth
/// and pairing failures are decided by the `connect` error's detail code
/// instead (they also arrive as 1008), so 1008 is not in this list.
pub const GATEWAY_FINAL_CLOSE_CODES: [u16; 2] = [1003, 1007];
/// The close the client sends when the challenge does not come in time.
pub const CLOSE_CHALLENGE_TIMEOUT: (u16, &str) = (1008, "connect challenge timeout");
/// The close the client sends when hello-ok does not come in time.
pub const CLOSE_CONNECT_TIMEOUT: (u16, &str) = (4000, "connect timeout");
/// The close the client sends when nothing arrived for 2 × `tickIntervalMs`.
pub const CLOSE_TICK_TIMEOUT: (u16, &str) = (4000, "tick timeout");

/// The client's state, as JS sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Dialing for the first time.
    Connecting,
    /// The socket is open; waiting for the challenge or hello-ok.
    Handshaking,
    /// hello-ok received; requests are sent.
    Ready,
    /// The connection was lost; waiting to dial again, or dialing.
    Reconnecting,
    /// A connect failure that retrying cannot fix; waiting for `resume()`.
    Paused,
    /// Stopped for good.
    Closed,
}

impl ClientState {
    /// The JS name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Connecting => "connecting",
            ClientState::Handshaking => "handshaking",
            ClientState::Ready => "ready",
            ClientState::Reconnecting => "reconnecting",
            ClientState::Paused => "paused",
            ClientState::Closed => "closed",
        }
    }
}

/// Everything a client is configured with.
pub struct ClientOptions {
    /// `ws://` or `wss://` gateway URL.
    pub url: String,
    /// Who is connecting (client id, mode, role, scopes, …).
    pub connect: ConnectOptions,
    /// Whether the caller chose the scopes (otherwise a stored device token's
    /// scopes are requested when connecting on it alone).
    pub scopes_explicit: bool,
    /// Shared token, password, device or bootstrap token.
    pub credentials: Credentials,
    /// The device key, if any.
    pub identity: Option<DeviceIdentity>,
    /// Device tokens by (gateway, device, role).
    pub token_store: DeviceTokenStore,
    /// Whether the TLS certificate is pinned (for the trusted-endpoint rule).
    pub tls_pinned: bool,
    /// Socket options. No `Origin` and no proxy headers are added.
    pub transport: transport::ConnectOptions,
    /// Deadline for `connect.challenge`.
    pub challenge_timeout: Duration,
    /// Deadline for hello-ok after `connect` is sent.
    pub connect_timeout: Duration,
    /// Reconnect settings.
    pub supervisor: SupervisorConfig,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("url", &GatewayEndpoint::parse(&self.url).map(|e| e.key()))
            .field("connect", &self.connect)
            .field("credentials", &self.credentials)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Defaults for `url`: `gateway-client`/`backend`, read+write scopes, no
    /// credentials, an in-memory token store, 15 s handshake deadlines.
    pub fn new(url: impl Into<String>) -> Self {
        let transport = transport::ConnectOptions {
            handshake_timeout: DEFAULT_CHALLENGE_TIMEOUT,
            close_timeout: Duration::from_secs(2),
            ..transport::ConnectOptions::default()
        };
        ClientOptions {
            url: url.into(),
            connect: ConnectOptions::default(),
            scopes_explicit: false,
            credentials: Credentials::default(),
            identity: None,
            token_store: DeviceTokenStore::in_memory(),
            tls_pinned: false,
            transport,
            challenge_timeout: DEFAULT_CHALLENGE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            supervisor: gateway_supervisor_config(),
        }
    }

    /// Checks what can be checked before connecting: the URL, the connect
    /// options (client id and mode enums, role, version, size), the backoff.
    pub fn validate(&self) -> Result<(), String> {
        GatewayEndpoint::parse(&self.url).map_err(|e| e.to_string())?;
        let probe = Challenge {
            nonce: "probe".into(),
            ts: 0,
        };
        let auth = select_connect_auth(&self.credentials, None, false).auth;
        build_connect(&self.connect, &probe, self.identity.as_ref(), &auth)
            .map_err(|e| e.to_string())?;
        self.supervisor.validate()
    }
}

/// The supervisor settings the gateway client starts from: default backoff
/// (1 s ×2 up to 30 s, full jitter) and [`GATEWAY_FINAL_CLOSE_CODES`].
pub fn gateway_supervisor_config() -> SupervisorConfig {
    SupervisorConfig {
        close_policy: ClosePolicy::new().with_final_codes(GATEWAY_FINAL_CLOSE_CODES),
        ..SupervisorConfig::default()
    }
}

enum Cmd {
    Request(PendingRequest),
    Cancel(String),
    Close,
    Resume,
}

struct HandleShared {
    next_id: AtomicU64,
    max_payload: AtomicU64,
    stopped: AtomicBool,
}

/// A handle to a running client. Cheap to clone; the client stops when
/// [`GatewayClientHandle::close`] is called or every handle is dropped.
#[derive(Clone)]
pub struct GatewayClientHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    shared: Arc<HandleShared>,
}

/// The `req` frame text for already-serialized `params` (which must be JSON).
pub fn request_frame_text(id: &str, method: &str, params_json: Option<&str>) -> String {
    let id = serde_json::to_string(id).expect("a string serializes");
    let method = serde_json::to_string(method).expect("a string serializes");
    match params_json {
        Some(p) => format!(r#"{{"type":"req","id":{id},"method":{method},"params":{p}}}"#),
        None => format!(r#"{{"type":"req","id":{id},"method":{method}}}"#),
    }
}

impl GatewayClientHandle {
    /// Makes a request and returns its id. `params_json` must be JSON text
    /// (the JS layer passes `JSON.stringify` output). Fails at once, without
    /// sending, when the method is empty, the client is stopped, or the frame
    /// is over the last known `policy.maxPayload` (25 MiB before the first
    /// hello-ok). The outcome arrives as a `res` frame or a `reject` control.
    pub fn request(
        &self,
        method: &str,
        params_json: Option<&str>,
        timeout: Option<Duration>,
        expect_final: bool,
    ) -> Result<String, Box<GatewayError>> {
        if method.is_empty() {
            return Err(Box::new(GatewayError::local(
                "INVALID_REQUEST",
                "the method name must not be empty",
            )));
        }
        if self.shared.stopped.load(Ordering::Acquire) {
            return Err(Box::new(GatewayError::stopped().with_method(method)));
        }
        let id = self
            .shared
            .next_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let frame = request_frame_text(&id, method, params_json);
        let max = self.shared.max_payload.load(Ordering::Acquire);
        if frame.len() as u64 > max {
            return Err(Box::new(GatewayError::payload_too_large(
                method,
                frame.len(),
                max,
            )));
        }
        let req = PendingRequest {
            id: id.clone(),
            method: method.to_owned(),
            frame: Some(frame),
            expect_final,
            deadline: timeout.map(|t| Instant::now() + t),
            timeout_ms: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        self.tx
            .send(Cmd::Request(req))
            .map_err(|_| Box::new(GatewayError::stopped().with_method(method)))?;
        Ok(id)
    }

    /// Forgets a request (the caller aborted it). Nothing is sent to the
    /// gateway, which has no cancel frame; a late answer is dropped.
    pub fn cancel(&self, id: &str) {
        let _ = self.tx.send(Cmd::Cancel(id.to_owned()));
    }

    /// Closes the connection cleanly (1000) and stops; pending requests fail
    /// with `STOPPED`. The last event is `closed`.
    pub fn close(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        let _ = self.tx.send(Cmd::Close);
    }

    /// Starts connecting again after a pause. Does nothing otherwise.
    pub fn resume(&self) {
        let _ = self.tx.send(Cmd::Resume);
    }
}

/// Starts a client on `rt`. `out` receives its events (see the module docs).
/// Call [`ClientOptions::validate`] first to report option errors synchronously.
pub fn spawn(
    opts: ClientOptions,
    out: Arc<Inbox>,
    rt: &tokio::runtime::Handle,
) -> GatewayClientHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(HandleShared {
        next_id: AtomicU64::new(1),
        max_payload: AtomicU64::new(DEFAULT_MAX_PAYLOAD),
        stopped: AtomicBool::new(false),
    });
    let sup = Supervisor::new(opts.supervisor.clone())
        .unwrap_or_else(|_| Supervisor::new(gateway_supervisor_config()).expect("valid"));
    let actor = Actor {
        opts,
        out,
        rx,
        shared: shared.clone(),
        sup,
        pending: PendingTable::new(),
        policy: Policy::default(),
        seq: SeqTracker::new(),
        state: None,
        ready: false,
        device_token_retry: false,
        retry_used: false,
        restart_hint: None,
        connects: 0,
    };
    rt.spawn(actor.run());
    GatewayClientHandle { tx, shared }
}

// ------------------------------------------------------------------ frames

/// The parts of a post-hello frame the actor routes on; the payload is
/// skipped except for two fields.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, rename = "stateVersion")]
    state_version: Option<StateVersion>,
    #[serde(default)]
    payload: Option<PayloadHead>,
}

/// `payload.status` (two-stage answers) and `payload.restartExpectedMs`
/// (`shutdown`); any other payload shape reads as empty.
#[derive(Default)]
struct PayloadHead {
    status_accepted: bool,
    restart_expected_ms: Option<u64>,
}

impl<'de> Deserialize<'de> for PayloadHead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = PayloadHead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PayloadHead, A::Error> {
        let mut out = PayloadHead::default();
        while let Some(k) = m.next_key::<Cow<'de, str>>()? {
            match k.as_ref() {
                "status" => out.status_accepted = m.next_value::<Value>()? == "accepted",
                "restartExpectedMs" => out.restart_expected_ms = m.next_value::<Value>()?.as_u64(),
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<PayloadHead, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PayloadHead::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
    fn visit_unit<E>(self) -> Result<PayloadHead, E> {
        Ok(PayloadHead::default())
    }
}

/// A `GatewayError` as the JS `GatewayError` fields.
pub fn error_json(e: &GatewayError) -> Value {
    json!({
        "code": e.code,
        "message": e.message,
        "details": e.details,
        "retryable": e.retryable,
        "retryAfterMs": e.retry_after_ms,
        "method": e.method,
    })
}

// ------------------------------------------------------------------- actor

struct Live {
    conn: Connection,
    task: JoinHandle<transport::CloseInfo>,
    inbox: Arc<Inbox>,
    wake: Arc<Notify>,
}

enum Ev {
    Cmd(Option<Cmd>),
    Inbound(Vec<InboundEvent>),
    Done(transport::CloseInfo),
    Deadline,
    Expired,
    Room,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Challenge,
    Hello,
    Rejected,
    Ready,
    Closing,
}

enum Flow {
    Continue,
    Close,
    Resume,
}

/// How one connection attempt ended.
enum End {
    UserClose,
    DialFailed(String),
    Closed {
        code: u16,
        reason: String,
        by_server: bool,
        hello_at: Option<Instant>,
        rejected: Option<Box<(ErrorShape, AuthSelection)>>,
    },
}

struct Actor {
    opts: ClientOptions,
    out: Arc<Inbox>,
    rx: mpsc::UnboundedReceiver<Cmd>,
    shared: Arc<HandleShared>,
    sup: Supervisor,
    pending: PendingTable,
    policy: Policy,
    seq: SeqTracker,
    state: Option<ClientState>,
    ready: bool,
    device_token_retry: bool,
    retry_used: bool,
    restart_hint: Option<u64>,
    connects: u64,
}

fn far() -> TokioInstant {
    TokioInstant::now() + Duration::from_secs(86_400 * 365)
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<Cmd>,
    out: &Inbox,
    live: Option<&mut Live>,
    deadline: Option<Instant>,
    req_deadline: Option<Instant>,
) -> Ev {
    let d = deadline.map(TokioInstant::from_std).unwrap_or_else(far);
    let r = req_deadline.map(TokioInstant::from_std).unwrap_or_else(far);
    let out_full = out.is_full() && !out.is_closed();
    match live {
        Some(l) => tokio::select! {
            biased;
            _ = l.wake.notified(), if !out_full => Ev::Inbound(l.inbox.take()),
            _ = out.wait_for_room(), if out_full => Ev::Room,
            c = rx.recv() => Ev::Cmd(c),
            res = &mut l.task => Ev::Done(res.unwrap_or_else(|_| transport::CloseInfo::task_failed())),
            _ = tokio::time::sleep_until(d), if deadline.is_some() => Ev::Deadline,
            _ = tokio::time::sleep_until(r), if req_deadline.is_some() => Ev::Expired,
        },
        None => tokio::select! {
            biased;
            c = rx.recv() => Ev::Cmd(c),
            _ = tokio::time::sleep_until(d), if deadline.is_some() => Ev::Deadline,
            _ = tokio::time::sleep_until(r), if req_deadline.is_some() => Ev::Expired,
        },
    }
}

impl Actor {
    fn emit(&self, v: Value) {
        self.out.push(InboundEvent::Control(v));
    }

    fn set_state(&mut self, s: ClientState) {
        if self.state != Some(s) {
            self.state = Some(s);
            self.emit(json!({"type": "state", "state": s.as_str()}));
        }
    }

    fn reject(&self, id: &str, err: &GatewayError) {
        self.emit(json!({"type": "reject", "id": id, "error": error_json(err)}));
    }

    fn role(&self) -> String {
        self.opts
            .connect
            .role
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_ROLE.to_owned())
    }

    fn expire_requests(&mut self) {
        for r in self.pending.expire(Instant::now()) {
            let err = GatewayError::timeout(&r.method, r.timeout_ms.unwrap_or(0));
            self.reject(&r.id, &err);
        }
    }

    /// Sends every held request on `conn` (ready only).
    fn flush_held(&mut self, conn: &Connection) {
        for (id, method, frame) in self.pending.take_held() {
            if frame.len() as u64 > self.policy.max_payload {
                self.pending.remove(&id);
                let err =
                    GatewayError::payload_too_large(&method, frame.len(), self.policy.max_payload);
                self.reject(&id, &err);
                continue;
            }
            if conn
                .send(Outgoing::Text(Utf8Bytes::from(frame.clone())), false)
                .is_err()
                && let Some(mut r) = self.pending.remove(&id)
            {
                // The socket is closing: keep it for the next connection.
                r.frame = Some(frame);
                self.pending.hold(r);
            }
        }
    }

    fn command(&mut self, c: Option<Cmd>, conn: Option<&Connection>) -> Flow {
        match c {
            None | Some(Cmd::Close) => Flow::Close,
            Some(Cmd::Resume) => Flow::Resume,
            Some(Cmd::Cancel(id)) => {
                self.pending.remove(&id);
                Flow::Continue
            }
            Some(Cmd::Request(r)) => {
                if self.state == Some(ClientState::Paused) {
                    let err = paused_error(self.sup.terminal()).with_method(r.method.clone());
                    self.reject(&r.id, &err);
                    return Flow::Continue;
                }
                self.pending.hold(r);
                if self.ready
                    && let Some(c) = conn
                {
                    self.flush_held(c);
                }
                Flow::Continue
            }
        }
    }

    async fn run(mut self) {
        self.set_state(ClientState::Connecting);
        let last: Terminal = 'outer: loop {
            let end = self.connection().await;
            self.ready = false;
            let decision = match end {
                End::UserClose => break 'outer user_closed(),
                End::DialFailed(message) => {
                    self.emit(json!({"type": "error", "kind": "dial", "message": message}));
                    self.sup.connect_failed(message, fastrand::f64())
                }
                End::Closed {
                    code,
                    reason,
                    by_server,
                    hello_at,
                    rejected,
                } => self.after_close(code, reason, by_server, hello_at, rejected),
            };
            match decision {
                Decision::Reconnect { attempt, delay } => {
                    self.set_state(ClientState::Reconnecting);
                    self.emit(json!({
                        "type": "reconnecting",
                        "attempt": attempt,
                        "delayMs": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    }));
                    if !self.wait(Instant::now() + delay).await {
                        break 'outer user_closed();
                    }
                }
                Decision::Terminal(t) => {
                    if matches!(t.kind, crate::reconnect::TerminalKind::Paused(_)) {
                        self.set_state(ClientState::Paused);
                        for r in self.pending.drain_all() {
                            let err = paused_error(Some(&t)).with_method(r.method.clone());
                            self.reject(&r.id, &err);
                        }
                        // Wait for resume() or close().
                        loop {
                            let ev = next_event(
                                &mut self.rx,
                                &self.out,
                                None,
                                None,
                                self.pending.next_deadline(),
                            )
                            .await;
                            match ev {
                                Ev::Cmd(c) => match self.command(c, None) {
                                    Flow::Close => break 'outer user_closed(),
                                    Flow::Resume => break,
                                    Flow::Continue => {}
                                },
                                Ev::Expired => self.expire_requests(),
                                _ => {}
                            }
                        }
                        self.sup.restart();
                        self.device_token_retry = false;
                        self.retry_used = false;
                        self.set_state(ClientState::Reconnecting);
                    } else {
                        break 'outer t;
                    }
                }
            }
        };
        self.shared.stopped.store(true, Ordering::Release);
        for r in self.pending.drain_all() {
            self.reject(&r.id, &GatewayError::stopped().with_method(r.method));
        }
        self.set_state(ClientState::Closed);
        self.emit(json!({
            "type": "closed",
            "code": last.code,
            "reason": last.reason,
            "message": last.message,
            "kind": last.kind.as_str(),
        }));
    }

    /// Waits until `until` while serving commands; false when closed.
    async fn wait(&mut self, until: Instant) -> bool {
        loop {
            if self.out.is_closed() {
                return false;
            }
            let ev = next_event(
                &mut self.rx,
                &self.out,
                None,
                Some(until),
                self.pending.next_deadline(),
            )
            .await;
            match ev {
                Ev::Cmd(c) => {
                    if let Flow::Close = self.command(c, None) {
                        return false;
                    }
                }
                Ev::Expired => self.expire_requests(),
                Ev::Deadline => return true,
                _ => {}
            }
        }
    }

    fn after_close(
        &mut self,
        code: u16,
        reason: String,
        by_server: bool,
        hello_at: Option<Instant>,
        rejected: Option<Box<(ErrorShape, AuthSelection)>>,
    ) -> Decision {
        let closed = GatewayError::closed(code, &reason);
        for r in self.pending.drain_sent() {
            self.reject(&r.id, &closed.clone().with_method(r.method));
        }
        self.emit(json!({
            "type": "disconnected",
            "code": code,
            "reason": reason,
            "byServer": by_server,
            "phase": if hello_at.is_some() { "post-hello" } else { "pre-hello" },
        }));
        let mut hint = self.restart_hint.take().map(Duration::from_millis);
        let mut force_final = None;
        if let Some(rej) = rejected {
            let (err, sel) = *rej;
            let role = self.role();
            let device_id = self
                .opts
                .identity
                .as_ref()
                .map(|i| i.device_id().to_owned());
            let has_stored = device_id.as_deref().is_some_and(|d| {
                self.opts
                    .token_store
                    .get(&self.opts.url, d, &role)
                    .is_some()
            });
            if should_clear_stored_token(&err, sel.uses_stored_token)
                && let Some(d) = &device_id
                && let Err(e) = self.opts.token_store.remove(&self.opts.url, d, &role)
            {
                self.emit(
                    json!({"type": "error", "kind": "token-store", "message": e.to_string()}),
                );
            }
            let ctx = DeviceTokenRetryContext {
                explicit_token_sent: sel.source == AuthSource::SharedToken,
                has_stored_token: has_stored,
                retry_already_used: self.retry_used,
                endpoint_trusted: is_trusted_endpoint(&self.opts.url, self.opts.tls_pinned),
            };
            match classify_connect_error_with(&err, &ctx) {
                ConnectFailure::Retry { after_ms } => {
                    hint = after_ms.map(Duration::from_millis).or(hint);
                }
                ConnectFailure::RetryWithDeviceToken => {
                    self.device_token_retry = true;
                    self.retry_used = true;
                    hint = Some(DEVICE_TOKEN_RETRY_DELAY);
                }
                ConnectFailure::Pause {
                    detail_code,
                    next_step,
                } => {
                    let gerr = GatewayError::from_shape(err.clone(), Some("connect"));
                    self.emit(json!({
                        "type": "paused",
                        "code": code,
                        "reason": reason,
                        "detailCode": detail_code,
                        "message": err.message,
                        "nextStep": next_step,
                        "error": error_json(&gerr),
                    }));
                    force_final = Some(format!(
                        "paused: {detail_code}: {}; next step: {next_step}",
                        err.message
                    ));
                }
            }
        }
        let info = SupCloseInfo {
            code,
            reason,
            by_server,
            uptime: hello_at.map(|t| t.elapsed()),
            retry_after: hint,
            force_final,
        };
        self.sup.closed(info, fastrand::f64())
    }

    /// One connection: dial, handshake, ready, until it ends.
    async fn connection(&mut self) -> End {
        let url = self.opts.url.clone();
        let topts = self.opts.transport.clone();
        let dial = transport::connect(&url, &topts);
        tokio::pin!(dial);
        let stream = loop {
            let req = self
                .pending
                .next_deadline()
                .map(TokioInstant::from_std)
                .unwrap_or_else(far);
            tokio::select! {
                r = &mut dial => match r {
                    Ok((stream, _)) => break stream,
                    Err(e) => return End::DialFailed(e.message),
                },
                c = self.rx.recv() => {
                    if let Flow::Close = self.command(c, None) {
                        return End::UserClose;
                    }
                }
                _ = tokio::time::sleep_until(req) => self.expire_requests(),
            }
        };

        let wake = Arc::new(Notify::new());
        let inbox = Arc::new(Inbox::notifying(
            wake.clone(),
            topts.inbound_high_water_bytes,
            topts.inbound_high_water_messages,
        ));
        let (conn, task) = transport::spawn_connection(stream, &topts, inbox.clone());
        let mut live = Live {
            conn,
            task,
            inbox,
            wake,
        };
        self.set_state(ClientState::Handshaking);
        self.restart_hint = None;
        self.seq.reset();

        let mut cx = ConnCtx {
            phase: Phase::Challenge,
            deadline: Some(Instant::now() + self.opts.challenge_timeout),
            local_close: None,
            user_close: false,
            connect_id: String::new(),
            selection: None,
            rejected: None,
            hello_at: None,
        };
        loop {
            if self.out.is_closed() && !cx.user_close {
                self.local_close(&mut cx, &live.conn, 1000, "");
                cx.user_close = true;
            }
            let ev = next_event(
                &mut self.rx,
                &self.out,
                Some(&mut live),
                cx.deadline,
                self.pending.next_deadline(),
            )
            .await;
            match ev {
                Ev::Room => {}
                Ev::Expired => self.expire_requests(),
                Ev::Cmd(c) => {
                    let ready = cx.phase == Phase::Ready;
                    match self.command(c, ready.then_some(&live.conn)) {
                        Flow::Close => {
                            if !cx.user_close {
                                cx.user_close = true;
                                self.local_close(&mut cx, &live.conn, 1000, "");
                            }
                        }
                        Flow::Resume | Flow::Continue => {}
                    }
                }
                Ev::Inbound(items) => {
                    for item in items {
                        self.inbound(&mut cx, &live.conn, item);
                    }
                }
                Ev::Deadline => match cx.phase {
                    Phase::Challenge => {
                        let (c, r) = CLOSE_CHALLENGE_TIMEOUT;
                        self.local_close(&mut cx, &live.conn, c, r);
                    }
                    Phase::Hello => {
                        let (c, r) = CLOSE_CONNECT_TIMEOUT;
                        self.local_close(&mut cx, &live.conn, c, r);
                    }
                    Phase::Ready => {
                        let (c, r) = CLOSE_TICK_TIMEOUT;
                        self.local_close(&mut cx, &live.conn, c, r);
                    }
                    Phase::Rejected => {
                        self.local_close(&mut cx, &live.conn, 1008, "connect failed");
                    }
                    Phase::Closing => {
                        live.conn.abort();
                        cx.deadline = None;
                    }
                },
                Ev::Done(info) => {
                    for item in live.inbox.take() {
                        self.inbound(&mut cx, &live.conn, item);
                    }
                    live.inbox.close();
                    self.ready = false;
                    if cx.user_close {
                        return End::UserClose;
                    }
                    let (code, reason, by_server) = match cx.local_close.take() {
                        Some((c, r)) => (c, r, false),
                        None => (info.code, info.reason, info.by_server),
                    };
                    return End::Closed {
                        code,
                        reason,
                        by_server,
                        hello_at: cx.hello_at,
                        rejected: cx.rejected.take().map(Box::new),
                    };
                }
            }
        }
    }

    fn local_close(&mut self, cx: &mut ConnCtx, conn: &Connection, code: u16, reason: &str) {
        if cx.phase != Phase::Closing {
            cx.local_close = Some((code, reason.to_owned()));
        }
        cx.phase = Phase::Closing;
        self.ready = false;
        conn.close(Some(code), reason.to_owned());
        cx.deadline =
            Some(Instant::now() + self.opts.transport.close_timeout + Duration::from_secs(1));
    }

    fn inbound(&mut self, cx: &mut ConnCtx, conn: &Connection, item: InboundEvent) {
        let text = match item {
            InboundEvent::Text(t) => t,
            InboundEvent::Binary(b) => match Utf8Bytes::try_from(b) {
                Ok(t) => t,
                Err(_) => return,
            },
            InboundEvent::Control(_) => return,
        };
        match cx.phase {
            Phase::Ready => {
                cx.deadline = Some(Instant::now() + self.watchdog_window());
                self.route(&text);
            }
            Phase::Challenge => self.on_challenge(cx, conn, &text),
            Phase::Hello => self.on_hello_frame(cx, conn, text),
            Phase::Rejected | Phase::Closing => {}
        }
    }

    fn watchdog_window(&self) -> Duration {
        Duration::from_millis(self.policy.tick_interval_ms.saturating_mul(2))
    }

    fn on_challenge(&mut self, cx: &mut ConnCtx, conn: &Connection, text: &str) {
        let Ok(Inbound::Event(ev)) = parse_inbound(text) else {
            return;
        };
        if ev.event != CHALLENGE_EVENT {
            return;
        }
        let challenge = match parse_challenge(&ev) {
            Ok(c) => c,
            Err(HandshakeError::MissingTs | HandshakeError::InvalidTs)
                if self.opts.identity.is_none() =>
            {
                // Without a device key the ts is not signed; the nonce is enough.
                match ev
                    .payload
                    .as_ref()
                    .and_then(|p| p.get("nonce"))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                {
                    Some(n) => Challenge {
                        nonce: n.to_owned(),
                        ts: 0,
                    },
                    None => {
                        return self.local_close(cx, conn, 1008, "connect challenge missing nonce");
                    }
                }
            }
            Err(HandshakeError::MissingNonce) => {
                return self.local_close(cx, conn, 1008, "connect challenge missing nonce");
            }
            Err(_) => return self.local_close(cx, conn, 1008, "connect challenge invalid ts"),
        };
        let role = self.role();
        let stored = self.opts.identity.as_ref().and_then(|id| {
            self.opts
                .token_store
                .get(&self.opts.url, id.device_id(), &role)
                .cloned()
        });
        let sel = select_connect_auth(
            &self.opts.credentials,
            stored.as_ref(),
            self.device_token_retry,
        );
        self.device_token_retry = false;
        let mut copts = self.opts.connect.clone();
        if !self.opts.scopes_explicit
            && let Some(s) = &sel.stored_scopes
            && !s.is_empty()
        {
            copts.scopes = s.clone();
        }
        let built = build_connect(&copts, &challenge, self.opts.identity.as_ref(), &sel.auth)
            .and_then(|p| {
                self.connects += 1;
                let id = format!("connect-{}", self.connects);
                connect_request(&id, &p).map(|(_, json)| (id, json))
            });
        match built {
            Ok((id, json)) => {
                if conn
                    .send(Outgoing::Text(Utf8Bytes::from(json)), false)
                    .is_err()
                {
                    return;
                }
                cx.connect_id = id;
                cx.selection = Some(sel);
                cx.phase = Phase::Hello;
                cx.deadline = Some(Instant::now() + self.opts.connect_timeout);
            }
            Err(e) => {
                // A configuration problem: retrying cannot fix it.
                let shape = ErrorShape {
                    code: "INVALID_REQUEST".into(),
                    message: e.to_string(),
                    details: Some(json!({"code": "CLIENT_CONFIG_INVALID"})),
                    retryable: Some(false),
                    retry_after_ms: None,
                };
                cx.rejected = Some((shape, sel));
                self.local_close(cx, conn, 1008, "connect failed");
            }
        }
    }

    fn on_hello_frame(&mut self, cx: &mut ConnCtx, conn: &Connection, text: Utf8Bytes) {
        let Ok(Inbound::Response(res)) = parse_inbound(&text) else {
            return;
        };
        if res.id != cx.connect_id {
            return;
        }
        let sel = cx.selection.clone().expect("set when connect was sent");
        match parse_connect_response(res) {
            Ok(ConnectOutcome::Hello(hello)) => self.on_hello(cx, conn, hello, text),
            Ok(ConnectOutcome::Rejected(err)) => {
                cx.rejected = Some((err, sel));
                cx.phase = Phase::Rejected;
                // The gateway closes right after; close ourselves if it does not.
                cx.deadline = Some(Instant::now() + self.opts.transport.close_timeout);
            }
            Err(e) => {
                self.emit(json!({"type": "error", "kind": "frame", "message": e.to_string()}));
                self.local_close(cx, conn, 1008, "invalid hello-ok");
            }
        }
    }

    fn on_hello(&mut self, cx: &mut ConnCtx, conn: &Connection, hello: HelloOk, text: Utf8Bytes) {
        self.policy = hello.policy();
        self.shared
            .max_payload
            .store(self.policy.max_payload, Ordering::Release);
        if let Some(id) = &self.opts.identity {
            let role = self.role();
            let prev = self
                .opts
                .token_store
                .get(&self.opts.url, id.device_id(), &role)
                .cloned();
            if let Some((role, tok)) = device_token_to_store(&hello, &role, prev.as_ref())
                && prev.as_ref() != Some(&tok)
                && let Err(e) =
                    self.opts
                        .token_store
                        .put(&self.opts.url, id.device_id(), &role, tok)
            {
                self.emit(
                    json!({"type": "error", "kind": "token-store", "message": e.to_string()}),
                );
            }
        }
        self.seq.reset();
        if let Some(sv) = hello.snapshot_state_version() {
            self.seq.observe_state_version(sv);
        }
        self.retry_used = false;
        self.device_token_retry = false;
        self.sup.opened(Instant::now());
        cx.hello_at = Some(Instant::now());
        cx.phase = Phase::Ready;
        cx.deadline = Some(Instant::now() + self.watchdog_window());
        self.emit(json!({
            "type": "hello",
            "id": cx.connect_id,
            "protocol": hello.protocol(),
            "maxPayload": self.policy.max_payload,
            "tickIntervalMs": self.policy.tick_interval_ms,
            "stateVersion": self.seq.state_version(),
        }));
        self.out.push(InboundEvent::Text(text));
        self.ready = true;
        self.set_state(ClientState::Ready);
        self.flush_held(conn);
    }

    /// Routes a post-hello frame: responses to requests in flight and all
    /// events go to JS as raw text; seq and stateVersion are tracked.
    fn route(&mut self, text: &Utf8Bytes) {
        let head: Head = match serde_json::from_str(text) {
            Ok(h) => h,
            Err(e) => {
                self.emit(json!({
                    "type": "error",
                    "kind": "frame",
                    "message": format!("unreadable frame from the gateway ({} bytes): {e}", text.len()),
                }));
                return;
            }
        };
        match head.kind.as_str() {
            "res" => {
                let Some(id) = head.id.as_deref() else { return };
                let accepted = head.ok == Some(true)
                    && head.payload.as_ref().is_some_and(|p| p.status_accepted);
                match self.pending.route(id, accepted) {
                    Routed::Unknown => {}
                    Routed::Accepted | Routed::Final(_) => {
                        self.out.push(InboundEvent::Text(text.clone()));
                    }
                }
            }
            "event" => {
                if head.event.as_deref().is_none_or(str::is_empty) {
                    return;
                }
                if let Some(sv) = head.state_version
                    && self.seq.observe_state_version(sv)
                {
                    let cur = self.seq.state_version().unwrap_or(sv);
                    self.emit(json!({
                        "type": "stateVersion",
                        "presence": cur.presence,
                        "health": cur.health,
                    }));
                }
                if let Some(s) = head.seq {
                    match self.seq.observe(s) {
                        SeqObservation::Gap { expected, received } => self.emit(json!({
                            "type": "seq", "kind": "gap", "expected": expected, "received": received,
                        })),
                        SeqObservation::Duplicate { seq } => self.emit(json!({
                            "type": "seq", "kind": "duplicate", "received": seq, "last": seq,
                        })),
                        SeqObservation::Backwards { last, received } => self.emit(json!({
                            "type": "seq", "kind": "backwards", "received": received, "last": last,
                        })),
                        SeqObservation::First | SeqObservation::InOrder => {}
                    }
                }
                if head.event.as_deref() == Some("shutdown") {
                    self.restart_hint = head.payload.and_then(|p| p.restart_expected_ms);
                }
                self.out.push(InboundEvent::Text(text.clone()));
            }
            _ => {}
        }
    }
}

struct ConnCtx {
    phase: Phase,
    deadline: Option<Instant>,
    local_close: Option<(u16, String)>,
    user_close: bool,
    connect_id: String,
    selection: Option<AuthSelection>,
    rejected: Option<(ErrorShape, AuthSelection)>,
    hello_at: Option<Instant>,
}

fn user_closed() -> Terminal {
    Terminal {
        code: 1000,
        reason: String::new(),
        message: "Closed by this client (close() was called).".into(),
        kind: crate::reconnect::TerminalKind::UserClosed,
    }
}

fn paused_error(t: Option<&Terminal>) -> GatewayError {
    let message = t
        .map(|t| t.message.clone())
        .unwrap_or_else(|| "reconnecting is paused".into());
    GatewayError::local(super::error::CONNECT_PAUSED, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_shape() {
        assert_eq!(
            request_frame_text("7", "health", None),
            r#"{"type":"req","id":"7","method":"health"}"#
        );
        let t = request_frame_text("8", "a\"b", Some(r#"{"x":[1,2]}"#));
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            json!({"type":"req","id":"8","method":"a\"b","params":{"x":[1,2]}})
        );
    }

    #[test]
    fn head_reads_routing_fields_only() {
        let h: Head = serde_json::from_str(
            r#"{"type":"res","id":"3","ok":true,"payload":{"big":[1,2,{"a":"b"}],"status":"accepted","runId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(h.kind, "res");
        assert_eq!(h.id.as_deref(), Some("3"));
        assert!(h.payload.unwrap().status_accepted);
        let h: Head = serde_json::from_str(
            r#"{"type":"event","event":"shutdown","payload":{"reason":"x","restartExpectedMs":1500},"seq":4,"stateVersion":{"presence":2,"health":3}}"#,
        )
        .unwrap();
        assert_eq!(h.seq, Some(4));
        assert_eq!(h.payload.unwrap().restart_expected_ms, Some(1500));
        assert_eq!(h.state_version.unwrap().health, 3);
        for payload in ["null", "[1,[2]]", "\"s\"", "5", "-1.5", "true"] {
            let h: Head = serde_json::from_str(&format!(
                r#"{{"type":"res","id":"1","ok":true,"payload":{payload}}}"#
            ))
            .unwrap();
            assert!(!h.payload.unwrap_or_default().status_accepted);
        }
    }

    #[test]
    fn options_validate() {
        let mut o = ClientOptions::new("ws://127.0.0.1:18789");
        assert!(o.validate().is_ok());
        o.connect.client_id = "ios-node".into();
        assert!(o.validate().unwrap_err().contains("client.id"));
        let o = ClientOptions::new("ftp://x");
        assert!(o.validate().is_err());
        assert!(!format!("{o:?}").contains("ftp"));
    }

    fn inbox() -> (Arc<Inbox>, Arc<Notify>) {
        let n = Arc::new(Notify::new());
        (Arc::new(Inbox::notifying(n.clone(), 1 << 20, 1 << 16)), n)
    }

    async fn next_control(
        inbox: &Inbox,
        wake: &Notify,
        seen: &mut std::collections::VecDeque<Value>,
        ty: &str,
    ) -> Value {
        loop {
            while let Some(v) = seen.pop_front() {
                if v["type"] == ty {
                    return v;
                }
            }
            for ev in inbox.take() {
                if let InboundEvent::Control(v) = ev {
                    seen.push_back(v);
                }
            }
            if seen.is_empty() {
                wake.notified().await;
            }
        }
    }

    #[tokio::test]
    async fn oversize_is_local_and_close_rejects_held() {
        let (out, wake) = inbox();
        let mut seen = std::collections::VecDeque::new();
        // Nothing listens on port 9: the client keeps retrying; requests are held.
        let mut o = ClientOptions::new("ws://127.0.0.1:9");
        o.transport.handshake_timeout = Duration::from_millis(500);
        let h = spawn(o, out.clone(), &tokio::runtime::Handle::current());
        let big = format!("\"{}\"", "x".repeat(DEFAULT_MAX_PAYLOAD as usize));
        let e = h.request("echo", Some(&big), None, false).unwrap_err();
        assert_eq!(e.code, super::super::error::PAYLOAD_TOO_LARGE);
        let id = h.request("health", None, None, false).unwrap();
        h.close();
        let rej = next_control(&out, &wake, &mut seen, "reject").await;
        assert_eq!(rej["id"], id.as_str());
        assert_eq!(rej["error"]["code"], "STOPPED");
        let closed = next_control(&out, &wake, &mut seen, "closed").await;
        assert_eq!(closed["kind"], "user-closed");
        assert!(h.request("health", None, None, false).is_err());
    }

    #[tokio::test]
    async fn held_request_times_out() {
        let (out, wake) = inbox();
        let mut seen = std::collections::VecDeque::new();
        let mut o = ClientOptions::new("ws://127.0.0.1:9");
        o.transport.handshake_timeout = Duration::from_millis(500);
        let h = spawn(o, out.clone(), &tokio::runtime::Handle::current());
        let id = h
            .request("health", None, Some(Duration::from_millis(20)), false)
            .unwrap();
        let rej = next_control(&out, &wake, &mut seen, "reject").await;
        assert_eq!(rej["id"], id.as_str());
        assert_eq!(rej["error"]["code"], "TIMEOUT");
        assert_eq!(rej["error"]["method"], "health");
        h.close();
        next_control(&out, &wake, &mut seen, "closed").await;
    }
}
