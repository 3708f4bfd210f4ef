//! The async reconnect driver: the I/O half of the reconnecting WebSocket.
//!
//! It runs one task on the shared runtime that loops:
//!
//! 1. dial ([`transport::connect`]), cancellable by [`Driver::close`];
//! 2. on open: push `open`, start the connection actor, and hand it every
//!    queued message in order (ids preserved);
//! 3. wait for the connection to end; messages it accepted but never wrote
//!    ([`transport::CloseInfo::unsent`]) go back to the FRONT of the queue, so
//!    nothing is lost and nothing is sent twice;
//! 4. push `close`; if the caller decides final codes itself (a JS
//!    predicate), wait for its verdict ([`Driver::decide`]);
//! 5. ask the [`Supervisor`]: push `reconnecting` and sleep (cancellable), or
//!    stop for good with a [`Terminal`].
//!
//! Everything the caller needs to know is pushed to the [`Inbox`] as control
//! events (small JSON objects with a `type`), in order, next to the messages
//! the connection pushes:
//!
//! - `open` `{protocol, extensions}`
//! - `error` `{message, kind, status?}`: a failed attempt, or an abnormal close
//! - `close` `{code, reason, wasClean, byServer, settledThrough, verdict}`:
//!   every underlying connection that opened and ended. `settledThrough` is the
//!   highest message id this connection took that is not back in the queue:
//!   every id up to it was written (a `sent` event came first) or was lost in a
//!   failed write. `verdict: true` means the driver waits for
//!   [`Driver::decide`].
//! - `reconnecting` `{attempt, delay, lastClose: {code, reason}}` (delay in ms)
//! - `terminal` `{code, reason, message, kind, codes?, unsent}`: the last
//!   event. `unsent` lists the ids still queued, handed back to the caller.
//! - `sent` `{id}` (from the connection): every id up to `id` was written.
//!
//! The driver never drops a message silently: [`Driver::send`] reports
//! rejected and evicted ids at once, `close` reports what a failed write took,
//! and `terminal` hands back the rest.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::policy::explain_final;
use super::queue::{Push, QueueConfig, SendQueue};
use super::supervisor::{
    CloseInfo as SupClose, Decision, State, Supervisor, SupervisorConfig, Terminal, TerminalKind,
};
use crate::transport::{self, ConnectOptions, Connection, InboundEvent, Inbox, Outgoing};

/// Everything a [`Driver`] needs.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The `ws://` or `wss://` URL.
    pub url: String,
    /// Options for every connection.
    pub connect: ConnectOptions,
    /// Backoff, final codes and the flapping guard.
    pub supervisor: SupervisorConfig,
    /// Limits of the queue for messages sent while disconnected.
    pub queue: QueueConfig,
    /// The caller decides which server closes are final: after each close by
    /// the server the driver waits for [`Driver::decide`]. The supervisor's
    /// own final-code list should then be empty.
    pub ask_final: bool,
}

/// The result of [`Driver::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Taken (handed to the connection, or queued) under this id.
    Accepted {
        /// The message id; a `sent` event with an id at or above it means it
        /// was written.
        id: u64,
    },
    /// Taken under `id`, after evicting older queued messages (drop-oldest).
    AcceptedDropping {
        /// The new message's id.
        id: u64,
        /// The evicted ids, oldest first.
        dropped: Vec<u64>,
        /// Why they were evicted.
        reason: String,
    },
    /// Not taken.
    Rejected {
        /// Why, and what to do.
        reason: String,
        /// `true`: the client is closed for good (the reason is the terminal
        /// message); `false`: the queue is full.
        closed: bool,
    },
}

struct St {
    sup: Supervisor,
    queue: SendQueue<Outgoing>,
    conn: Option<Connection>,
    next_id: u64,
    /// Highest id handed to the current connection.
    handed_max: Option<u64>,
    /// `close()` was called: `(code, reason)`.
    user_closed: Option<(Option<u16>, String)>,
    terminal: Option<Terminal>,
}

struct Inner {
    cfg: DriverConfig,
    inbox: Arc<Inbox>,
    st: Mutex<St>,
    cancel: watch::Sender<bool>,
    verdict: Mutex<Option<oneshot::Sender<bool>>>,
}

impl Inner {
    fn push(&self, v: Value) {
        self.inbox.push(InboundEvent::Control(v));
    }
}

/// A running reconnecting client. Cheap to clone; see the module docs.
#[derive(Clone)]
pub struct Driver {
    inner: Arc<Inner>,
}

impl Driver {
    /// Checks the settings and starts the driver task on `rt`. Events go to
    /// `inbox`.
    pub fn start(
        cfg: DriverConfig,
        inbox: Arc<Inbox>,
        rt: &tokio::runtime::Handle,
    ) -> Result<Driver, String> {
        let sup = Supervisor::new(cfg.supervisor.clone())?;
        let queue = SendQueue::new(cfg.queue);
        let (cancel, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            cfg,
            inbox,
            st: Mutex::new(St {
                sup,
                queue,
                conn: None,
                next_id: 1,
                handed_max: None,
                user_closed: None,
                terminal: None,
            }),
            cancel,
            verdict: Mutex::new(None),
        });
        rt.spawn(run(inner.clone()));
        Ok(Driver { inner })
    }

    /// Sends `msg` now if connected, else queues it within the limits. Never
    /// blocks. See [`SendOutcome`].
    pub fn send(&self, msg: Outgoing) -> SendOutcome {
        let mut st = self.inner.st.lock().unwrap();
        if st.user_closed.is_some() || st.terminal.is_some() {
            let reason = match &st.terminal {
                Some(t) => t.message.clone(),
                None => "the client is closed (close() was called); the message was not sent"
                    .to_string(),
            };
            return SendOutcome::Rejected {
                reason,
                closed: true,
            };
        }
        let id = st.next_id;
        st.next_id += 1;
        if let Some(conn) = st.conn.clone()
            && conn.send_with_id(id, msg.clone(), true).is_ok()
        {
            st.handed_max = Some(id);
            return SendOutcome::Accepted { id };
        }
        let bytes = msg.len();
        match st.queue.push(id, msg, bytes) {
            Push::Accepted => SendOutcome::Accepted { id },
            Push::Rejected { reason, .. } => {
                tracing::info!(
                    id,
                    bytes,
                    "reconnect: send queue full, message rejected (reject-new)"
                );
                SendOutcome::Rejected {
                    reason,
                    closed: false,
                }
            }
            Push::AcceptedDropping(dropped) => {
                tracing::info!(
                    id,
                    dropped = dropped.len(),
                    "reconnect: send queue full, oldest messages dropped (drop-oldest)"
                );
                let c = st.queue.config();
                SendOutcome::AcceptedDropping {
                    id,
                    dropped: dropped.into_iter().map(|e| e.0).collect(),
                    reason: format!(
                        "dropped to make room for a newer message: the send queue was full \
                         (max_messages is {}, max_bytes is {}) and its overflow policy is \
                         drop-oldest; send less while disconnected, or raise the limits",
                        c.max_messages, c.max_bytes
                    ),
                }
            }
        }
    }

    /// Stops for good, in any state: closes the open connection with `code`
    /// and `reason` (a close handshake), or abandons the dial, the wait for a
    /// verdict, or the wait before the next attempt. The `terminal` event
    /// (kind `user-closed`) follows. Later calls do nothing.
    pub fn close(&self, code: Option<u16>, reason: String) {
        let mut st = self.inner.st.lock().unwrap();
        if st.user_closed.is_some() || st.terminal.is_some() {
            return;
        }
        st.user_closed = Some((code, reason.clone()));
        st.sup.user_close();
        if let Some(conn) = &st.conn {
            conn.close(code, reason);
        }
        drop(st);
        self.inner.cancel.send_replace(true);
    }

    /// Like [`Driver::close`] but drops an open connection without a close
    /// handshake (process or worker teardown).
    pub fn abort(&self) {
        self.close(Some(1001), String::new());
        if let Some(conn) = &self.inner.st.lock().unwrap().conn {
            conn.abort();
        }
    }

    /// The caller's verdict on the last close (`verdict: true` events):
    /// `true` stops for good with kind `final-code`.
    pub fn decide(&self, is_final: bool) {
        if let Some(tx) = self.inner.verdict.lock().unwrap().take() {
            let _ = tx.send(is_final);
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        let st = self.inner.st.lock().unwrap();
        if st.user_closed.is_some() {
            State::Closed
        } else {
            st.sup.state()
        }
    }

    /// `(messages, bytes)` waiting in the send queue.
    pub fn queued(&self) -> (usize, usize) {
        let st = self.inner.st.lock().unwrap();
        (st.queue.len(), st.queue.bytes())
    }

    /// The terminal decision, once stopped.
    pub fn terminal(&self) -> Option<Terminal> {
        self.inner.st.lock().unwrap().terminal.clone()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn terminal_event(t: &Terminal, unsent: &[u64]) -> Value {
    let mut v = json!({
        "type": "terminal",
        "code": t.code,
        "reason": t.reason,
        "message": t.message,
        "kind": t.kind.as_str(),
        "unsent": unsent,
    });
    if let TerminalKind::Flapping { codes } = &t.kind {
        v["codes"] = json!(codes);
    }
    v
}

/// Waits until `close()` is called.
async fn cancelled(inner: &Inner) {
    let mut rx = inner.cancel.subscribe();
    let _ = rx.wait_for(|c| *c).await;
}

const USER_CLOSED: &str = "Closed by this client (close() was called); not reconnecting.";

/// Ends the driver: records `t`, hands back the queue, pushes `terminal`.
fn finish(inner: &Inner, t: Terminal) {
    let mut st = inner.st.lock().unwrap();
    st.conn = None;
    let unsent: Vec<u64> = st.queue.drain().into_iter().map(|e| e.0).collect();
    tracing::info!(
        code = t.code,
        kind = ?t.kind,
        unsent = unsent.len(),
        "reconnect: stopped for good: {}",
        t.message
    );
    st.terminal = Some(t.clone());
    inner.push(terminal_event(&t, &unsent));
}

/// Ends the driver after `close()`. `conn_close` is how the connection that
/// was open ended; without one, the code and reason passed to `close()`.
fn finish_user(inner: &Inner, conn_close: Option<(u16, String)>) {
    let (code, reason) = conn_close.unwrap_or_else(|| {
        let st = inner.st.lock().unwrap();
        match &st.user_closed {
            Some((code, reason)) => (code.unwrap_or(1000), reason.clone()),
            None => (1000, String::new()),
        }
    });
    finish(
        inner,
        Terminal {
            code,
            reason,
            message: USER_CLOSED.to_string(),
            kind: TerminalKind::UserClosed,
        },
    );
}

/// What one pass of the loop ended with.
enum Step {
    /// `close()` was called; the close of the connection that was open, if any.
    UserClosed(Option<(u16, String)>),
    /// The supervisor's decision, and the close code and reason behind it.
    Decided(Decision, u16, String),
}

/// One connection attempt, from the dial to the supervisor's decision.
async fn attempt(inner: &Inner) -> Step {
    let opts = &inner.cfg.connect;
    if inner.st.lock().unwrap().user_closed.is_some() {
        return Step::UserClosed(None);
    }
    // 1. Dial.
    let dialed = tokio::select! {
        r = transport::connect(&inner.cfg.url, opts) => r,
        _ = cancelled(inner) => return Step::UserClosed(None),
    };
    let (stream, info) = match dialed {
        Ok(v) => v,
        Err(e) => {
            inner.push(json!({
                "type": "error",
                "message": e.message,
                "kind": e.kind.as_str(),
                "status": e.status,
            }));
            let mut st = inner.st.lock().unwrap();
            if st.user_closed.is_some() {
                return Step::UserClosed(None);
            }
            let d = st.sup.connect_failed(e.message.clone(), fastrand::f64());
            return Step::Decided(d, 1006, e.message);
        }
    };
    // 2. Open: announce, start the actor and flush the queue, all under the
    // lock, so that no send overtakes the queue and no message or `sent`
    // event precedes `open`.
    let running = {
        let mut st = inner.st.lock().unwrap();
        if st.user_closed.is_some() || !st.sup.opened(Instant::now()) {
            return Step::UserClosed(None);
        }
        inner.push(json!({
            "type": "open",
            "protocol": info.protocol,
            "extensions": info.extensions,
        }));
        let (conn, running) = transport::start_connection(stream, opts, inner.inbox.clone());
        st.handed_max = None;
        while let Some((id, msg, bytes)) = st.queue.pop_front() {
            if conn.send_with_id(id, msg.clone(), true).is_err() {
                st.queue.push_front(id, msg, bytes);
                break;
            }
            st.handed_max = Some(id);
        }
        st.conn = Some(conn);
        running
    };
    // 3. Run until it ends (close() and abort() act on the connection).
    let close = running.await;
    let ask = {
        let mut st = inner.st.lock().unwrap();
        st.conn = None;
        // Unsent messages are the tail of what this connection took.
        let settled = match close.unsent.first() {
            Some((first, _)) => st.handed_max.map(|_| first.saturating_sub(1)),
            None => st.handed_max,
        };
        for (id, msg) in close.unsent.iter().rev() {
            st.queue.push_front(*id, msg.clone(), msg.len());
        }
        let ask = inner.cfg.ask_final && close.by_server && st.user_closed.is_none();
        if let Some(err) = &close.error {
            inner.push(json!({"type": "error", "message": err, "kind": "connection"}));
        }
        let mut ev = close.to_event();
        ev["settledThrough"] = json!(settled);
        ev["verdict"] = json!(ask);
        inner.push(ev);
        if st.user_closed.is_some() {
            return Step::UserClosed(Some((close.code, close.reason)));
        }
        ask
    };
    // 4. The caller's verdict, if it decides which closes are final.
    let mut info = SupClose::new(
        close.code,
        close.reason.clone(),
        close.by_server,
        Some(close.uptime),
    );
    let mut made_final = false;
    if ask {
        let (tx, rx) = oneshot::channel();
        *inner.verdict.lock().unwrap() = Some(tx);
        let verdict = tokio::select! {
            v = rx => v.unwrap_or(false),
            _ = cancelled(inner) => return Step::UserClosed(Some((close.code, close.reason))),
        };
        if verdict {
            made_final = true;
            info = info.with_force_final(explain_final(close.code, &close.reason));
        }
    }
    let mut st = inner.st.lock().unwrap();
    if st.user_closed.is_some() {
        return Step::UserClosed(Some((close.code, close.reason)));
    }
    let d = match st.sup.closed(info, fastrand::f64()) {
        Decision::Terminal(mut t) if made_final => {
            t.kind = TerminalKind::FinalCode;
            Decision::Terminal(t)
        }
        d => d,
    };
    Step::Decided(d, close.code, close.reason)
}

async fn run(inner: Arc<Inner>) {
    loop {
        match attempt(&inner).await {
            Step::UserClosed(c) => return finish_user(&inner, c),
            Step::Decided(Decision::Terminal(t), _, _) => return finish(&inner, t),
            Step::Decided(Decision::Reconnect { attempt, delay }, code, reason) => {
                tracing::debug!(
                    attempt,
                    delay_ms = ms(delay),
                    code,
                    "reconnect: waiting before the next attempt"
                );
                inner.push(json!({
                    "type": "reconnecting",
                    "attempt": attempt,
                    "delay": ms(delay),
                    "lastClose": {"code": code, "reason": reason},
                }));
                // 5. Wait, unless close() comes first.
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancelled(&inner) => return finish_user(&inner, None),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::{BackoffConfig, ClosePolicy, Jitter, OverflowPolicy};
    use futures_util::StreamExt;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    /// What the test server does with connection number `n` (from 1).
    #[derive(Clone, Copy)]
    enum Mode {
        /// Record every text message, keep the connection open.
        Record,
        /// Close with this code at once.
        Close(u16),
    }

    struct Server {
        url: String,
        received: mpsc::UnboundedReceiver<(usize, String)>,
        accepted: Arc<std::sync::atomic::AtomicUsize>,
    }

    async fn server(modes: impl Fn(usize) -> Mode + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let (tx, received) = mpsc::unbounded_channel();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let modes = Arc::new(modes);
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let (tx, modes) = (tx.clone(), modes.clone());
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    match modes(n) {
                        Mode::Close(code) => {
                            let _ = ws
                                .close(Some(CloseFrame {
                                    code: code.into(),
                                    reason: "bye".into(),
                                }))
                                .await;
                            while ws.next().await.is_some() {}
                        }
                        Mode::Record => {
                            while let Some(Ok(m)) = ws.next().await {
                                if let Message::Text(t) = m {
                                    let _ = tx.send((n, t.to_string()));
                                }
                            }
                        }
                    }
                });
            }
        });
        Server {
            url,
            received,
            accepted,
        }
    }

    struct Events {
        inbox: Arc<Inbox>,
        woken: mpsc::UnboundedReceiver<()>,
        pending: std::collections::VecDeque<Value>,
    }

    impl Events {
        fn new() -> Events {
            let (tx, woken) = mpsc::unbounded_channel();
            let inbox = Arc::new(Inbox::new(
                Box::new(move || tx.send(()).is_ok()),
                1 << 20,
                1 << 10,
            ));
            Events {
                inbox,
                woken,
                pending: Default::default(),
            }
        }

        /// Starts a driver whose events land here.
        fn start(&self, cfg: DriverConfig) -> Driver {
            Driver::start(cfg, self.inbox.clone(), &tokio::runtime::Handle::current()).unwrap()
        }

        /// The next control event that is not `sent`.
        async fn next(&mut self) -> Value {
            loop {
                while let Some(v) = self.pending.pop_front() {
                    if v["type"] != "sent" {
                        return v;
                    }
                }
                self.woken.recv().await.unwrap();
                for ev in self.inbox.take() {
                    if let InboundEvent::Control(v) = ev {
                        self.pending.push_back(v);
                    }
                }
            }
        }

        async fn until(&mut self, ty: &str) -> Value {
            loop {
                let v = self.next().await;
                if v["type"] == ty {
                    return v;
                }
            }
        }
    }

    fn config(url: &str) -> DriverConfig {
        DriverConfig {
            url: url.to_string(),
            connect: ConnectOptions::default(),
            supervisor: SupervisorConfig {
                backoff: BackoffConfig {
                    initial_delay: Duration::from_millis(10),
                    max_delay: Duration::from_millis(40),
                    jitter: Jitter::None,
                    ..BackoffConfig::default()
                },
                ..SupervisorConfig::default()
            },
            queue: QueueConfig::default(),
            ask_final: false,
        }
    }

    fn text(s: &str) -> Outgoing {
        Outgoing::Text(s.into())
    }

    #[tokio::test]
    async fn queued_messages_flush_in_order_on_open() {
        let mut srv = server(|_| Mode::Record).await;
        let mut ev = Events::new();
        let d = ev.start(config(&srv.url));
        for i in 1..=3 {
            assert_eq!(
                d.send(text(&format!("m{i}"))),
                SendOutcome::Accepted { id: i }
            );
        }
        assert_eq!(ev.next().await["type"], "open");
        assert_eq!(d.state(), State::Open);
        assert_eq!(d.send(text("m4")), SendOutcome::Accepted { id: 4 });
        for i in 1..=4 {
            assert_eq!(srv.received.recv().await.unwrap(), (1, format!("m{i}")));
        }
        d.close(Some(1000), "done".into());
        let close = ev.until("close").await;
        assert_eq!(close["byServer"], false);
        assert_eq!(close["settledThrough"], 4);
        let t = ev.until("terminal").await;
        assert_eq!(t["kind"], "user-closed");
        assert_eq!(t["unsent"], json!([]));
        assert_eq!(d.state(), State::Closed);
        assert!(matches!(
            d.send(text("late")),
            SendOutcome::Rejected { closed: true, .. }
        ));
    }

    #[tokio::test]
    async fn replaced_is_final_and_says_why() {
        let srv = server(|_| Mode::Close(4001)).await;
        let mut ev = Events::new();
        let d = ev.start(config(&srv.url));
        d.send(text("queued later")); // sent on open; the server ignores it
        assert_eq!(ev.next().await["type"], "open");
        let close = ev.next().await;
        assert_eq!(
            (close["code"].as_u64(), close["byServer"].as_bool()),
            (Some(4001), Some(true))
        );
        let t = ev.next().await;
        assert_eq!(t["type"], "terminal");
        assert_eq!(t["kind"], "final-code");
        assert!(t["message"].as_str().unwrap().contains("same identity"));
        assert_eq!(srv.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn reconnects_then_flapping_stops_with_codes() {
        let srv = server(|n| Mode::Close(if n == 2 { 1011 } else { 1000 })).await;
        let mut ev = Events::new();
        let mut cfg = config(&srv.url);
        cfg.supervisor.flap_threshold = 3;
        let d = ev.start(cfg);
        for attempt in 1..=2u64 {
            assert_eq!(ev.next().await["type"], "open");
            assert_eq!(ev.next().await["type"], "close");
            let r = ev.next().await;
            assert_eq!(r["type"], "reconnecting");
            assert_eq!(r["attempt"].as_u64(), Some(attempt));
            let delay = r["delay"].as_f64().unwrap();
            assert!((10.0..=40.0).contains(&delay), "{delay}");
            assert!(r["lastClose"]["code"].is_u64());
        }
        assert_eq!(ev.next().await["type"], "open");
        assert_eq!(ev.next().await["type"], "close");
        let t = ev.next().await;
        assert_eq!(t["kind"], "flapping");
        assert_eq!(t["codes"], json!([1000, 1011, 1000]));
        assert_eq!(d.terminal().unwrap().kind.as_str(), "flapping");
    }

    #[tokio::test]
    async fn close_while_waiting_to_reconnect_hands_back_the_queue() {
        // Nothing listens: every attempt fails with "connection refused".
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut ev = Events::new();
        let mut cfg = config(&format!("ws://127.0.0.1:{port}/"));
        cfg.supervisor.backoff.initial_delay = Duration::from_secs(3600);
        cfg.supervisor.backoff.max_delay = Duration::from_secs(3600);
        cfg.queue = QueueConfig {
            max_messages: 2,
            max_bytes: 100,
            overflow: OverflowPolicy::RejectNew,
        };
        let d = ev.start(cfg);
        assert_eq!(ev.next().await["kind"], "connection-refused");
        let r = ev.next().await;
        assert_eq!(
            (r["type"].as_str(), r["attempt"].as_u64()),
            (Some("reconnecting"), Some(1))
        );
        assert_eq!(r["lastClose"]["code"], 1006);
        assert_eq!(d.state(), State::Reconnecting);
        assert_eq!(d.send(text("a")), SendOutcome::Accepted { id: 1 });
        assert_eq!(d.send(text("b")), SendOutcome::Accepted { id: 2 });
        match d.send(text("c")) {
            SendOutcome::Rejected { reason, closed } => {
                assert!(!closed);
                assert!(reason.contains("max_messages is 2"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.queued(), (2, 2));
        d.close(Some(4000), "bye".into());
        let t = ev.next().await;
        assert_eq!(t["type"], "terminal");
        assert_eq!(t["kind"], "user-closed");
        assert_eq!(
            (t["code"].as_u64(), t["reason"].as_str()),
            (Some(4000), Some("bye"))
        );
        assert_eq!(t["unsent"], json!([1, 2]));
        assert_eq!(d.queued(), (0, 0));
    }

    #[tokio::test]
    async fn drop_oldest_reports_evicted_ids() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ev = Events::new();
        let mut cfg = config(&format!("ws://127.0.0.1:{port}/"));
        cfg.queue = QueueConfig {
            max_messages: 10,
            max_bytes: 4,
            overflow: OverflowPolicy::DropOldest,
        };
        let d = ev.start(cfg);
        assert_eq!(d.send(text("aa")), SendOutcome::Accepted { id: 1 });
        assert_eq!(d.send(text("bb")), SendOutcome::Accepted { id: 2 });
        match d.send(text("ccc")) {
            SendOutcome::AcceptedDropping {
                id,
                dropped,
                reason,
            } => {
                assert_eq!((id, dropped), (3, vec![1, 2]));
                assert!(reason.contains("drop-oldest"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        d.close(None, String::new());
    }

    #[tokio::test]
    async fn verdict_decides_final_codes() {
        let srv = server(|_| Mode::Close(4321)).await;
        let mut ev = Events::new();
        let mut cfg = config(&srv.url);
        cfg.ask_final = true;
        cfg.supervisor.close_policy = ClosePolicy::new().with_final_codes([]);
        let d = ev.start(cfg);
        assert_eq!(ev.next().await["type"], "open");
        let close = ev.next().await;
        assert_eq!(close["verdict"], true);
        d.decide(false);
        assert_eq!(ev.next().await["type"], "reconnecting");
        assert_eq!(ev.next().await["type"], "open");
        assert_eq!(ev.next().await["verdict"], true);
        d.decide(true);
        let t = ev.next().await;
        assert_eq!(
            (t["kind"].as_str(), t["code"].as_u64()),
            (Some("final-code"), Some(4321))
        );
        assert!(t["message"].as_str().unwrap().contains("4321"));
    }
}
