//! Tests of the session driver against a real tokio-tungstenite server on
//! loopback: the order and content of the events a session reports, the
//! send queue, the supervisor's decisions, `close()` and `abort()` in every
//! phase (also against a server that stops reading), and the [`Protocol`]
//! seam, through a small test protocol ([`Probe`]).
//!
//! They assert on event order, counts and codes only. Every wait is for an
//! event; [`PATIENCE`] only turns a hang into a failure.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::*;
use crate::reconnect::supervisor::State;
use crate::reconnect::{BackoffConfig, ClosePolicy, Jitter, OverflowPolicy, base_delay};
use crate::session::Plain;
use crate::session::{SendOutcome, Session};

/// How long any single wait may take before the test fails as hung.
const PATIENCE: Duration = Duration::from_secs(20);

/// Receives from `rx`, failing the test (saying `what`) if nothing comes.
async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    match tokio::time::timeout(PATIENCE, rx.recv()).await {
        Ok(Some(v)) => v,
        Ok(None) => panic!("{what}: the sender is gone"),
        Err(_) => panic!("{what}: nothing came (hung)"),
    }
}

// ---------------------------------------------------------------------------
// The server.

/// What the test server does with upgraded connection number `n` (from 1).
#[derive(Clone, Copy)]
enum Mode {
    /// Record every text message and close frame; stay open.
    Record,
    /// Close with this code (reason "bye") at once.
    Close(u16),
    /// Send this text message, then record like [`Mode::Record`].
    Greet(&'static str),
    /// Never read: what the client writes piles up in the socket buffers.
    Stall,
}

/// What the server saw on connection `n`.
#[derive(Debug, PartialEq)]
enum Seen {
    Text(usize, String),
    Close(usize, Option<u16>, String),
    /// The connection ended (after a close frame, or without one).
    End(usize),
}

struct Server {
    url: String,
    seen: mpsc::UnboundedReceiver<Seen>,
    /// Completed WebSocket upgrades.
    upgrades: Arc<AtomicUsize>,
}

impl Server {
    async fn next(&mut self) -> Seen {
        recv(&mut self.seen, "the server's next message").await
    }

    fn upgrades(&self) -> usize {
        self.upgrades.load(SeqCst)
    }
}

async fn server(modes: impl Fn(usize) -> Mode + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (tx, seen) = mpsc::unbounded_channel();
    let upgrades = Arc::new(AtomicUsize::new(0));
    let count = upgrades.clone();
    let modes = Arc::new(modes);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tx, modes, count) = (tx.clone(), modes.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let n = count.fetch_add(1, SeqCst) + 1;
                let mode = modes(n);
                match mode {
                    Mode::Close(code) => {
                        let frame = CloseFrame {
                            code: code.into(),
                            reason: "bye".into(),
                        };
                        let _ = ws.close(Some(frame)).await;
                        while ws.next().await.is_some() {}
                        return;
                    }
                    Mode::Greet(text) => {
                        let _ = ws.send(Message::text(text)).await;
                    }
                    Mode::Record => {}
                    Mode::Stall => return std::future::pending().await,
                }
                while let Some(Ok(m)) = ws.next().await {
                    let _ = match m {
                        Message::Text(t) => tx.send(Seen::Text(n, t.to_string())),
                        Message::Close(f) => tx.send(Seen::Close(
                            n,
                            f.as_ref().map(|f| u16::from(f.code)),
                            f.map(|f| f.reason.to_string()).unwrap_or_default(),
                        )),
                        _ => Ok(()),
                    };
                }
                let _ = tx.send(Seen::End(n));
            });
        }
    });
    Server {
        url,
        seen,
        upgrades,
    }
}

/// A URL nothing listens on: every dial is refused.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("ws://{}/", l.local_addr().unwrap())
}

// ---------------------------------------------------------------------------
// The consumer (what JS would be).

/// The session's inbox, read the way JS reads it: woken once per batch.
struct Events {
    inbox: Arc<Inbox>,
    woken: mpsc::UnboundedReceiver<()>,
    pending: VecDeque<InboundEvent>,
    /// The name of every event returned so far, in order.
    log: Vec<&'static str>,
    /// Text messages that reached JS.
    texts: Vec<String>,
    /// The ids of `Sent` events that reached JS.
    sent: Vec<u64>,
}

impl Events {
    fn new() -> Events {
        let (tx, woken) = mpsc::unbounded_channel();
        Events {
            inbox: Arc::new(Inbox::new(
                Box::new(move || tx.send(()).is_ok()),
                1 << 20,
                1 << 10,
            )),
            woken,
            pending: VecDeque::new(),
            log: Vec::new(),
            texts: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Starts a session whose events land here.
    fn start<P: Protocol>(&self, cfg: SessionConfig, proto: P) -> Session<P> {
        let rt = tokio::runtime::Handle::current();
        Session::start(cfg, proto, self.inbox.clone(), &rt).unwrap()
    }

    /// The next session event (messages and `Sent` are recorded on the side).
    async fn next(&mut self) -> Event {
        loop {
            while let Some(item) = self.pending.pop_front() {
                match item {
                    InboundEvent::Session(ev) => {
                        self.log.push(name(&ev));
                        return *ev;
                    }
                    InboundEvent::Text(t) => self.texts.push(t.to_string()),
                    InboundEvent::Sent { id, .. } => self.sent.push(id),
                    InboundEvent::Binary(_)
                    | InboundEvent::Sync
                    | InboundEvent::Ping(_)
                    | InboundEvent::Pong(_) => {}
                }
            }
            recv(&mut self.woken, "the next session event").await;
            self.pending.extend(self.inbox.take());
        }
    }

    /// Every event up to and including `Terminal`.
    async fn until_terminal(&mut self) -> Vec<Event> {
        let mut evs = Vec::new();
        loop {
            let ev = self.next().await;
            let done = matches!(ev, Event::Terminal { .. });
            evs.push(ev);
            if done {
                return evs;
            }
        }
    }
}

fn name(ev: &Event) -> &'static str {
    match ev {
        Event::Open { .. } => "open",
        Event::Error(_) => "error",
        Event::Close { .. } => "close",
        Event::Reconnecting { .. } => "reconnecting",
        Event::Terminal { .. } => "terminal",
        Event::Dialing { .. } => "dialing",
        Event::Gateway(_) => "gateway",
    }
}

fn names(evs: &[Event]) -> Vec<&'static str> {
    evs.iter().map(name).collect()
}

/// The terminal and the handed-back ids of a `Terminal` event.
fn terminal(ev: &Event) -> (&Terminal, &[u64]) {
    match ev {
        Event::Terminal { terminal, unsent } => (terminal, unsent),
        other => panic!("expected terminal, got {other:?}"),
    }
}

/// `(code, by_server, verdict)` of a `Close` event.
fn close_of(ev: &Event) -> (u16, bool, bool) {
    match ev {
        Event::Close {
            code,
            by_server,
            verdict,
            ..
        } => (*code, *by_server, *verdict),
        other => panic!("expected close, got {other:?}"),
    }
}

fn config(url: &str) -> SessionConfig {
    SessionConfig {
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
        ..SessionConfig::default()
    }
}

/// A session that never reconnects (a `WebSocket`).
fn websocket_config(url: &str) -> SessionConfig {
    let mut cfg = config(url);
    cfg.supervisor.backoff.max_retries = Some(0);
    cfg
}

fn text(s: &str) -> Outgoing {
    Outgoing::Text(s.into())
}

/// Sends 64 MiB, far more than the socket buffers hold: against a server
/// that does not read ([`Mode::Stall`]), the writer blocks.
fn overfill<P: Protocol>(s: &Session<P>) {
    let big = Outgoing::Text("x".repeat(1 << 20).into());
    for _ in 0..64 {
        assert!(matches!(s.send(big.clone()), SendOutcome::Accepted { .. }));
    }
}

// ---------------------------------------------------------------------------
// Plain sessions (ReconnectingWebSocket).

#[tokio::test]
async fn queued_messages_flush_in_order_on_open() {
    let mut srv = server(|_| Mode::Record).await;
    let mut ev = Events::new();
    let s = ev.start(config(&srv.url), Plain);
    // The session's task has not run yet: these are queued.
    for i in 1..=3 {
        let sent = s.send(text(&format!("m{i}")));
        assert_eq!(sent, SendOutcome::Accepted { id: i });
    }
    assert_eq!(s.queued(), (3, 6));
    assert_eq!(name(&ev.next().await), "open");
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.queued(), (0, 0));
    assert_eq!(s.send(text("m4")), SendOutcome::Accepted { id: 4 });
    for i in 1..=4 {
        assert_eq!(srv.next().await, Seen::Text(1, format!("m{i}")));
    }
    s.close(Some(1000), "done".into());
    assert_eq!(srv.next().await, Seen::Close(1, Some(1000), "done".into()));
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["close", "terminal"]);
    match &evs[0] {
        Event::Close {
            code,
            by_server,
            settled_through,
            ..
        } => assert_eq!(
            (*code, *by_server, *settled_through),
            (1000, false, Some(4))
        ),
        other => panic!("{other:?}"),
    }
    let (t, unsent) = terminal(&evs[1]);
    assert_eq!(t.kind, TerminalKind::UserClosed);
    assert_eq!((t.code, t.reason.as_str()), (1000, "done"));
    assert!(unsent.is_empty(), "{unsent:?}");
    // The ids were kept: `Sent` reports them in order, up to the last one.
    assert!(ev.sent.windows(2).all(|w| w[0] < w[1]), "{:?}", ev.sent);
    assert_eq!(ev.sent.last(), Some(&4));
    assert_eq!(s.state(), State::Closed);
    assert!(matches!(
        s.send(text("late")),
        SendOutcome::Rejected { closed: true, .. }
    ));
    assert_eq!(srv.upgrades(), 1);
}

#[tokio::test]
async fn replaced_4001_is_final_and_says_why() {
    let srv = server(|_| Mode::Close(4001)).await;
    let mut ev = Events::new();
    let s = ev.start(config(&srv.url), Plain);
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["open", "close", "terminal"]);
    assert_eq!(close_of(&evs[1]), (4001, true, false));
    let (t, _) = terminal(&evs[2]);
    assert_eq!((t.kind.clone(), t.code), (TerminalKind::FinalCode, 4001));
    assert!(t.message.contains("same identity"), "{}", t.message);
    assert_eq!(s.terminal().as_ref(), Some(t));
    assert_eq!(srv.upgrades(), 1);
}

#[tokio::test]
async fn reconnects_then_flapping_stops_with_the_codes() {
    let srv = server(|n| Mode::Close(if n == 2 { 1011 } else { 1000 })).await;
    let mut ev = Events::new();
    let mut cfg = config(&srv.url);
    cfg.supervisor.flap_threshold = 3;
    // Every close here is quick, however slow the machine.
    cfg.supervisor.flap_window = Duration::from_secs(3600);
    let backoff = cfg.supervisor.backoff.clone();
    let s = ev.start(cfg, Plain);
    let evs = ev.until_terminal().await;
    assert_eq!(
        names(&evs),
        [
            "open",
            "close",
            "reconnecting",
            "open",
            "close",
            "reconnecting",
            "open",
            "close",
            "terminal"
        ]
    );
    let retries: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Reconnecting {
                attempt,
                delay,
                code,
                reason,
                ..
            } => Some((*attempt, *delay, *code, reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [
            (1, base_delay(&backoff, 1), 1000, "bye"),
            (2, base_delay(&backoff, 2), 1011, "bye")
        ]
    );
    let (t, _) = terminal(&evs[8]);
    assert_eq!(
        t.kind,
        TerminalKind::Flapping {
            codes: vec![1000, 1011, 1000]
        }
    );
    assert_eq!(s.terminal().unwrap().kind.as_str(), "flapping");
    assert_eq!(srv.upgrades(), 3);
}

#[tokio::test]
async fn close_while_waiting_to_reconnect_hands_back_the_queue() {
    let mut ev = Events::new();
    let mut cfg = config(&dead_url());
    cfg.supervisor.backoff.initial_delay = Duration::from_secs(3600);
    cfg.supervisor.backoff.max_delay = Duration::from_secs(3600);
    cfg.queue = QueueConfig {
        max_messages: 2,
        max_bytes: 100,
        overflow: OverflowPolicy::RejectNew,
    };
    let s = ev.start(cfg, Plain);
    match ev.next().await {
        Event::Error(e) => assert_eq!(e.kind, "connection-refused", "{e:?}"),
        other => panic!("{other:?}"),
    }
    match ev.next().await {
        Event::Reconnecting { attempt, code, .. } => assert_eq!((attempt, code), (1, 1006)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.send(text("a")), SendOutcome::Accepted { id: 1 });
    assert_eq!(s.send(text("b")), SendOutcome::Accepted { id: 2 });
    match s.send(text("c")) {
        SendOutcome::Rejected { reason, closed } => {
            assert!(!closed);
            assert!(reason.contains("max_messages is 2"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.queued(), (2, 2));
    s.close(Some(4000), "bye".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["terminal"]);
    let (t, unsent) = terminal(&evs[0]);
    assert_eq!(t.kind, TerminalKind::UserClosed);
    assert_eq!((t.code, t.reason.as_str()), (4000, "bye"));
    assert_eq!(unsent, [1, 2]);
    assert_eq!(s.queued(), (0, 0));
    assert_eq!(ev.log, ["error", "reconnecting", "terminal"]);
}

#[tokio::test]
async fn drop_oldest_reports_the_evicted_ids() {
    let mut ev = Events::new();
    let mut cfg = config(&dead_url());
    cfg.queue = QueueConfig {
        max_messages: 10,
        max_bytes: 4,
        overflow: OverflowPolicy::DropOldest,
    };
    let s = ev.start(cfg, Plain);
    assert_eq!(s.send(text("aa")), SendOutcome::Accepted { id: 1 });
    assert_eq!(s.send(text("bb")), SendOutcome::Accepted { id: 2 });
    match s.send(text("ccc")) {
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
    assert_eq!(s.queued(), (1, 3));
    s.close(None, String::new());
    let evs = ev.until_terminal().await;
    let (t, unsent) = terminal(evs.last().unwrap());
    assert_eq!(t.kind, TerminalKind::UserClosed);
    assert_eq!(unsent, [3]);
}

#[tokio::test]
async fn the_callers_verdict_decides_final_codes() {
    let srv = server(|_| Mode::Close(4321)).await;
    let mut ev = Events::new();
    let mut cfg = config(&srv.url);
    cfg.ask_final = true;
    cfg.supervisor.close_policy = ClosePolicy::new().with_final_codes([]);
    let s = ev.start(cfg, Plain);
    assert_eq!(name(&ev.next().await), "open");
    assert_eq!(close_of(&ev.next().await), (4321, true, true));
    s.decide(false);
    assert_eq!(name(&ev.next().await), "reconnecting");
    assert_eq!(name(&ev.next().await), "open");
    assert_eq!(close_of(&ev.next().await), (4321, true, true));
    s.decide(true);
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["terminal"]);
    let (t, _) = terminal(&evs[0]);
    assert_eq!((t.kind.clone(), t.code), (TerminalKind::FinalCode, 4321));
    assert!(t.message.contains("4321"), "{}", t.message);
    assert_eq!(srv.upgrades(), 2);
}

// ---------------------------------------------------------------------------
// Sessions that never reconnect (WebSocket).

#[tokio::test]
async fn websocket_refused_dial_is_error_then_terminal_1006() {
    let mut ev = Events::new();
    let s = ev.start(websocket_config(&dead_url()), Plain);
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["error", "terminal"]);
    match &evs[0] {
        Event::Error(e) => assert_eq!(e.kind, "connection-refused", "{e:?}"),
        other => panic!("{other:?}"),
    }
    let (t, unsent) = terminal(&evs[1]);
    assert_eq!(
        (t.code, t.kind.clone()),
        (1006, TerminalKind::RetriesExhausted)
    );
    assert!(unsent.is_empty());
    assert_eq!(s.state(), State::Closed);
}

#[tokio::test]
async fn websocket_closed_by_the_server_is_open_close_terminal() {
    let srv = server(|_| Mode::Close(1000)).await;
    let mut ev = Events::new();
    let _s = ev.start(websocket_config(&srv.url), Plain);
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["open", "close", "terminal"]);
    match &evs[1] {
        Event::Close {
            code,
            reason,
            was_clean,
            by_server,
            verdict,
            ..
        } => assert_eq!(
            (*code, reason.as_str(), *was_clean, *by_server, *verdict),
            (1000, "bye", true, true, false)
        ),
        other => panic!("{other:?}"),
    }
    let (t, _) = terminal(&evs[2]);
    assert_eq!((t.code, t.reason.as_str()), (1000, "bye"));
    assert_eq!(srv.upgrades(), 1);
}

#[tokio::test]
async fn abort_drops_the_connection_without_a_closing_handshake() {
    let mut srv = server(|_| Mode::Record).await;
    let mut ev = Events::new();
    let s = ev.start(config(&srv.url), Plain);
    assert_eq!(name(&ev.next().await), "open");
    assert_eq!(s.send(text("m1")), SendOutcome::Accepted { id: 1 });
    assert_eq!(srv.next().await, Seen::Text(1, "m1".into()));
    s.abort();
    // No close frame reached the server.
    assert_eq!(srv.next().await, Seen::End(1));
    let evs = ev.until_terminal().await;
    // The abnormal close is reported as an error first, as every 1006 is.
    assert_eq!(names(&evs), ["error", "close", "terminal"]);
    match &evs[0] {
        Event::Error(e) => assert_eq!(e.kind, "connection", "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(close_of(&evs[1]), (1006, false, false));
    let (t, unsent) = terminal(&evs[2]);
    assert_eq!((t.kind.clone(), t.code), (TerminalKind::UserClosed, 1006));
    assert!(unsent.is_empty());
    assert_eq!(s.state(), State::Closed);
    assert_eq!(srv.upgrades(), 1);
}

#[tokio::test]
async fn abort_ends_a_connection_whose_peer_stopped_reading() {
    let srv = server(|_| Mode::Stall).await;
    let mut ev = Events::new();
    let s = ev.start(config(&srv.url), Plain);
    assert_eq!(name(&ev.next().await), "open");
    overfill(&s);
    s.abort();
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["error", "close", "terminal"]);
    let (t, unsent) = terminal(&evs[2]);
    assert_eq!(t.kind, TerminalKind::UserClosed);
    // What was not written is handed back, not lost.
    assert!(!unsent.is_empty());
    assert_eq!(srv.upgrades(), 1);
}

#[tokio::test]
async fn close_then_abort_ends_a_connection_whose_peer_stopped_reading() {
    // What a protocol's watchdog does when the server hangs.
    let srv = server(|_| Mode::Stall).await;
    let mut ev = Events::new();
    let (probe, mut hooks) = Probe::new();
    let s = ev.start(websocket_config(&srv.url), probe);
    assert_eq!(hooks.next().await, Hook::Open);
    overfill(&s);
    s.with_protocol(|_, _, out| {
        out.push(Action::Close(4000, "stalled".into()));
        out.push(Action::Abort);
    });
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["open", "error", "close", "terminal"]);
    assert_eq!(close_of(&evs[2]), (1006, false, false));
    let (t, unsent) = terminal(&evs[3]);
    assert_eq!(t.kind, TerminalKind::RetriesExhausted);
    assert!(!unsent.is_empty());
    assert_eq!(hooks.next().await, Hook::Closed(1006));
}

#[tokio::test]
async fn close_then_abort_still_sends_the_close_frame() {
    let mut srv = server(|_| Mode::Record).await;
    let mut ev = Events::new();
    let (probe, mut hooks) = Probe::new();
    let s = ev.start(websocket_config(&srv.url), probe);
    assert_eq!(hooks.next().await, Hook::Open);
    s.with_protocol(|_, _, out| {
        out.push(Action::Close(4000, "stalled".into()));
        out.push(Action::Abort);
    });
    assert_eq!(
        srv.next().await,
        Seen::Close(1, Some(4000), "stalled".into())
    );
    let evs = ev.until_terminal().await;
    assert_eq!(name(evs.last().unwrap()), "terminal");
    assert_eq!(hooks.next().await, Hook::Closed(1006));
}

#[tokio::test]
async fn close_ends_a_connection_whose_peer_stopped_reading() {
    let srv = server(|_| Mode::Stall).await;
    let mut ev = Events::new();
    let mut cfg = config(&srv.url);
    cfg.connect.close_timeout = Duration::from_millis(50);
    let s = ev.start(cfg, Plain);
    assert_eq!(name(&ev.next().await), "open");
    overfill(&s);
    s.close(Some(1000), "done".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["error", "close", "terminal"]);
    assert_eq!(terminal(&evs[2]).0.kind, TerminalKind::UserClosed);
}

#[tokio::test]
async fn close_while_dialing_abandons_the_dial() {
    // Accepts TCP, reads the upgrade request, never answers it.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (tx, mut seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let _ = tx.send("accepted");
        let mut buf = [0u8; 1024];
        while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
        let _ = tx.send("eof");
    });
    let mut ev = Events::new();
    let s = ev.start(config(&url), Plain);
    assert_eq!(recv(&mut seen, "the dial").await, "accepted");
    assert_eq!(s.state(), State::Connecting);
    s.close(Some(4000), "bye".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["terminal"]);
    let (t, _) = terminal(&evs[0]);
    assert_eq!(t.kind, TerminalKind::UserClosed);
    assert_eq!((t.code, t.reason.as_str()), (4000, "bye"));
    // The dial was dropped, not left to time out.
    assert_eq!(recv(&mut seen, "the end of the dial").await, "eof");
    assert_eq!(s.state(), State::Closed);
}

// ---------------------------------------------------------------------------
// The Protocol seam.

/// What [`Probe`] was told.
#[derive(Debug, PartialEq)]
enum Hook {
    Open,
    Message(String),
    Sent(u64),
    Deadline,
    Closed(u16),
    Paused(String),
    Resumed,
    Stopped(&'static str),
}

/// A test protocol: intercepts messages and answers each text with
/// `echo:<text>`; reports every call on a channel.
struct Probe {
    hooks: mpsc::UnboundedSender<Hook>,
    /// Say `Ready` as soon as the socket opens.
    ready_on_open: bool,
    /// On the first open, set a deadline of "now"; when it passes, close
    /// with 4000 "deadline".
    deadline_on_open: bool,
    deadline: Option<Instant>,
    /// Pause (`force_final`) after every close.
    pause_on_close: bool,
}

const PAUSED: &str = "paused by the probe";

impl Probe {
    fn new() -> (Probe, Hooks) {
        let (hooks, rx) = mpsc::unbounded_channel();
        let probe = Probe {
            hooks,
            ready_on_open: true,
            deadline_on_open: false,
            deadline: None,
            pause_on_close: false,
        };
        (probe, Hooks { rx, sent: vec![] })
    }

    fn hook(&self, h: Hook) {
        let _ = self.hooks.send(h);
    }
}

impl Protocol for Probe {
    fn intercepts(&self) -> bool {
        true
    }

    fn on_open(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.hook(Hook::Open);
        if std::mem::take(&mut self.deadline_on_open) {
            self.deadline = Some(now);
        }
        if self.ready_on_open {
            out.push(Action::Ready);
        }
    }

    fn on_message(&mut self, msg: InboundEvent, _now: Instant, out: &mut Vec<Action>) {
        match msg {
            InboundEvent::Text(t) => {
                self.hook(Hook::Message(t.to_string()));
                out.push(Action::Send {
                    msg: Outgoing::Text(format!("echo:{t}").into()),
                    tag: None,
                });
            }
            InboundEvent::Sent { id, .. } => self.hook(Hook::Sent(id)),
            _ => {}
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn on_deadline(&mut self, _now: Instant, out: &mut Vec<Action>) {
        self.deadline = None;
        self.hook(Hook::Deadline);
        out.push(Action::Close(4000, "deadline".into()));
    }

    fn on_closed(
        &mut self,
        close: &transport::CloseInfo,
        _now: Instant,
        _out: &mut Vec<Action>,
    ) -> Verdict {
        self.hook(Hook::Closed(close.code));
        let mut v = Verdict::from_close(close);
        if self.pause_on_close {
            v.force_final = Some(PAUSED.into());
        }
        v
    }

    fn on_paused(&mut self, t: &Terminal, _out: &mut Vec<Action>) {
        self.hook(Hook::Paused(t.message.clone()));
    }

    fn on_resumed(&mut self, _out: &mut Vec<Action>) {
        self.hook(Hook::Resumed);
    }

    fn on_stopped(&mut self, t: &Terminal, _out: &mut Vec<Action>) {
        self.hook(Hook::Stopped(t.kind.as_str()));
    }
}

/// The test's end of [`Probe`]'s channel.
struct Hooks {
    rx: mpsc::UnboundedReceiver<Hook>,
    /// The ids of the `Sent` events the probe saw.
    sent: Vec<u64>,
}

impl Hooks {
    /// The next call other than a `Sent` (recorded on the side).
    async fn next(&mut self) -> Hook {
        loop {
            match recv(&mut self.rx, "the probe's next call").await {
                Hook::Sent(id) => self.sent.push(id),
                h => return h,
            }
        }
    }

    /// The calls already made (once the session has stopped: all of them).
    fn rest(&mut self) -> Vec<Hook> {
        let mut rest = Vec::new();
        while let Ok(h) = self.rx.try_recv() {
            match h {
                Hook::Sent(id) => self.sent.push(id),
                h => rest.push(h),
            }
        }
        rest
    }
}

#[tokio::test]
async fn the_protocol_sees_frames_and_its_sends_reach_the_server() {
    let mut srv = server(|_| Mode::Greet("ping")).await;
    let mut ev = Events::new();
    let (probe, mut hooks) = Probe::new();
    let s = ev.start(config(&srv.url), probe);
    assert_eq!(hooks.next().await, Hook::Open);
    assert_eq!(hooks.next().await, Hook::Message("ping".into()));
    assert_eq!(srv.next().await, Seen::Text(1, "echo:ping".into()));
    s.close(Some(1000), "done".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["open", "close", "terminal"]);
    assert_eq!(terminal(&evs[2]).0.kind, TerminalKind::UserClosed);
    assert_eq!(hooks.rest(), [Hook::Stopped("user-closed")]);
    // The echo (id 1) was reported written to the protocol, not to JS; the
    // greeting went to the protocol only.
    assert_eq!(hooks.sent, [1]);
    assert!(ev.sent.is_empty(), "{:?}", ev.sent);
    assert!(ev.texts.is_empty(), "{:?}", ev.texts);
}

#[tokio::test]
async fn a_passed_deadline_runs_on_deadline() {
    let mut srv = server(|_| Mode::Record).await;
    let mut ev = Events::new();
    let (mut probe, mut hooks) = Probe::new();
    probe.deadline_on_open = true;
    let _s = ev.start(websocket_config(&srv.url), probe);
    assert_eq!(
        srv.next().await,
        Seen::Close(1, Some(4000), "deadline".into())
    );
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["open", "close", "terminal"]);
    assert_eq!(close_of(&evs[1]), (4000, false, false));
    let (t, _) = terminal(&evs[2]);
    assert_eq!(
        (t.code, t.kind.clone()),
        (4000, TerminalKind::RetriesExhausted)
    );
    assert_eq!(
        hooks.rest(),
        [
            Hook::Open,
            Hook::Deadline,
            Hook::Closed(4000),
            Hook::Stopped("retries-exhausted")
        ]
    );
}

#[tokio::test]
async fn ready_flushes_the_queue_only_when_the_protocol_says_so() {
    let mut srv = server(|_| Mode::Greet("ping")).await;
    let mut ev = Events::new();
    let (mut probe, mut hooks) = Probe::new();
    probe.ready_on_open = false;
    let s = ev.start(config(&srv.url), probe);
    assert_eq!(s.send(text("queued-1")), SendOutcome::Accepted { id: 1 });
    assert_eq!(name(&ev.next().await), "open");
    assert_eq!(hooks.next().await, Hook::Open);
    assert_eq!(hooks.next().await, Hook::Message("ping".into()));
    // The echo took id 2; a send before Ready is queued, not written.
    assert_eq!(s.send(text("queued-2")), SendOutcome::Accepted { id: 3 });
    assert_eq!(s.queued(), (2, 16));
    assert_eq!(s.state(), State::Connecting);
    // The echo, written after the queue would have been, arrives first.
    assert_eq!(srv.next().await, Seen::Text(1, "echo:ping".into()));
    s.with_protocol(|_, _, out| out.push(Action::Ready));
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.queued(), (0, 0));
    assert_eq!(srv.next().await, Seen::Text(1, "queued-1".into()));
    assert_eq!(srv.next().await, Seen::Text(1, "queued-2".into()));
    s.close(Some(1000), "done".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["close", "terminal"]);
    match &evs[0] {
        Event::Close {
            settled_through, ..
        } => assert_eq!(*settled_through, Some(3)),
        other => panic!("{other:?}"),
    }
    assert!(terminal(&evs[1]).1.is_empty());
    assert_eq!(hooks.rest(), [Hook::Stopped("user-closed")]);
    assert_eq!(hooks.sent.last(), Some(&3));
}

#[tokio::test]
async fn force_final_pauses_until_resume_and_close_while_paused_is_user_closed() {
    let srv = server(|_| Mode::Close(4500)).await;
    let mut ev = Events::new();
    let (mut probe, mut hooks) = Probe::new();
    probe.pause_on_close = true;
    let s = ev.start(config(&srv.url), probe);
    for round in 1..=2 {
        assert_eq!(name(&ev.next().await), "open");
        assert_eq!(close_of(&ev.next().await), (4500, true, false));
        assert_eq!(hooks.next().await, Hook::Open);
        assert_eq!(hooks.next().await, Hook::Closed(4500));
        assert_eq!(hooks.next().await, Hook::Paused(PAUSED.into()));
        // Paused: no new dial until resume().
        assert_eq!(srv.upgrades(), round);
        if round == 1 {
            s.resume();
            assert_eq!(hooks.next().await, Hook::Resumed);
        }
    }
    let id = match s.send(text("while paused")) {
        SendOutcome::Accepted { id } => id,
        other => panic!("{other:?}"),
    };
    s.close(Some(1000), "bye".into());
    let evs = ev.until_terminal().await;
    assert_eq!(names(&evs), ["terminal"]);
    let (t, unsent) = terminal(&evs[0]);
    assert_eq!(t.kind, TerminalKind::UserClosed);
    assert_eq!((t.code, t.reason.as_str()), (1000, "bye"));
    assert_eq!(unsent, [id]);
    assert_eq!(hooks.rest(), [Hook::Stopped("user-closed")]);
    // No `Terminal` (kind paused) and no `Reconnecting` along the way.
    assert_eq!(ev.log, ["open", "close", "open", "close", "terminal"]);
    assert_eq!(srv.upgrades(), 2);
}

/// Every idle connection pays for its session's task, so the task must be the
/// connection's own future plus a little: the dial's state, the rare paths
/// (targets, failed dials) and a protocol's interception are boxed, not kept
/// inline for the connection's whole life. (Passing the connection future by
/// value into another async fn once doubled the task to 4.3 KB.)
#[tokio::test]
async fn a_plain_session_task_is_the_connection_plus_a_little() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpStream::connect(l.local_addr().unwrap())
        .await
        .unwrap();
    let inbox = Arc::new(Inbox::new(Box::new(|| true), 1, 1));
    let opts = ConnectOptions::default();
    let (_conn, running) =
        transport::start_connection(transport::stream::Stream::plain(tcp), &opts, inbox.clone());
    let inner = Arc::new(Inner::new(SessionConfig::default(), Box::new(Plain), inbox).unwrap());
    let task = run(inner);
    let (task, conn) = (
        std::mem::size_of_val(&task),
        std::mem::size_of_val(&running),
    );
    assert!(
        task <= conn + 512,
        "the session task is {task} bytes for a {conn}-byte connection future"
    );
    assert!(
        std::mem::size_of::<Inner>() <= 1024,
        "a session's shared state is {} bytes",
        std::mem::size_of::<Inner>()
    );
}
