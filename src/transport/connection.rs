//! The connection actor: a reader, a writer task (`writer.rs`), and a handle.
//!
//! [`start_connection`] returns the reader as a future that the caller runs
//! in its own task (the session driver does), or that [`spawn_connection`]
//! runs as a task (the CLI's probe). The stream is split in two. The reader
//! owns the receiving half and reads frames with [`FrameReader`]: it pushes
//! messages to the [`Inbox`], parks while the inbox is full or paused
//! (backpressure), asks the writer to answer pings and the server's close
//! frame, tracks pongs (and reports pings and pongs to an inbox that asks for
//! them, [`Inbox::report_control`]), and decides how the connection ended.
//! The writer (`writer.rs`) owns the sending half. Once the connection is
//! given up on (`abort()`, a close or pong timeout), the writer waits on the
//! peer no longer, so a peer that stops reading cannot hold the connection
//! open. When the server breaks the protocol, the reader lets the consumer
//! handle the messages that came before the bad frame ([`Inbox::settle`]),
//! so that answers to them are written before the close frame. A close is
//! clean ([`CloseInfo::was_clean`]) once both close frames were exchanged,
//! however TCP then ends.
//! The connection ends with a [`CloseInfo`] that says who closed it and why,
//! and hands back every message that was accepted but never written.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::ReadHalf;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::frames::{Frame, FrameReader, ReadError};
use super::inbox::{InboundEvent, Inbox};
use super::options::ConnectOptions;
use super::stream::Stream;
use super::writer::{Cmd, Commands, NoReads, writer};

/// A message to send.
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// A text frame.
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
}

impl Outgoing {
    /// Payload size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn into_message(self) -> Message {
        match self {
            Outgoing::Text(t) => Message::Text(t),
            Outgoing::Binary(b) => Message::Binary(b),
        }
    }
}

/// How a connection ended.
#[derive(Clone, Debug)]
pub struct CloseInfo {
    /// The close code (1006 when no close frame was received).
    pub code: u16,
    /// The close reason, or an explanation for 1006.
    pub reason: String,
    /// Whether the close handshake completed and TCP then closed (a TLS
    /// peer that closes without `close_notify` after it still counts as clean).
    pub was_clean: bool,
    /// Whether the server (not this client) ended the connection.
    pub by_server: bool,
    /// For abnormal closes: what went wrong (this becomes the `error` event).
    pub error: Option<String>,
    /// Messages accepted but never written, in order: `(id, message)`.
    pub unsent: Vec<(u64, Outgoing)>,
    /// How long the connection was open.
    pub uptime: Duration,
}

impl CloseInfo {
    /// The close reported when the connection task itself failed (panicked
    /// or was cancelled) instead of returning its close: 1006, with an
    /// "internal error" reason and error.
    pub fn task_failed() -> CloseInfo {
        abnormal("internal error: the connection task failed", false)
    }
}

pub(super) struct Shared {
    pub(super) cmds: Commands,
    pub(super) next_id: AtomicU64,
    pub(super) accepted: AtomicU64,
    pub(super) closing: AtomicBool,
    /// The server's close frame was read: what is still queued is not sent.
    pub(super) peer_closed: AtomicBool,
    pub(super) close_sent: Notify,
    pub(super) writer_failed: Notify,
    pub(super) writer_error: Mutex<Option<String>>,
    pub(super) abort: Notify,
    /// The connection was given up on ([`Shared::give_up`]).
    pub(super) aborted: AtomicBool,
    /// Wakes a write blocked on a peer that does not read, after `give_up`.
    pub(super) writer_abort: Notify,
    pub(super) done: Notify,
}

impl Shared {
    /// Stops the writer from waiting on the peer (abort(), or a close or
    /// pong timeout): what it has not written is handed back, a write the
    /// peer does not take is abandoned, only a close frame the socket takes
    /// at once still goes out, and no close frame is added at the end.
    pub(super) fn give_up(&self) {
        self.aborted.store(true, Ordering::Release);
        self.writer_abort.notify_one();
    }
}

/// A handle to a running connection. Cheap to clone.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

/// Why a send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefused {
    /// `close()` was called or the connection is closing.
    Closing,
}

impl Connection {
    /// Queues `msg` for writing and returns its id (ids increase by one
    /// per message). With `notify`, an [`InboundEvent::Sent`] is pushed
    /// once the message (and everything before it) is written.
    pub fn send(&self, msg: Outgoing, notify: bool) -> Result<u64, SendRefused> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(SendRefused::Closing);
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        self.send_with_id(id, msg, notify)
    }

    /// Like [`Connection::send`] with an id chosen by the caller (the
    /// reconnecting client keeps its own ids across connections).
    pub fn send_with_id(&self, id: u64, msg: Outgoing, notify: bool) -> Result<u64, SendRefused> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(SendRefused::Closing);
        }
        self.shared
            .accepted
            .fetch_add(msg.len() as u64, Ordering::AcqRel);
        self.shared
            .cmds
            .push(Cmd::Send { id, msg, notify })
            .map_err(|_| SendRefused::Closing)?;
        Ok(id)
    }

    /// Starts the close handshake (`code: None` sends a close frame with no
    /// status code). Later calls do nothing.
    pub fn close(&self, code: Option<u16>, reason: String) {
        if !self.shared.closing.swap(true, Ordering::AcqRel) {
            let _ = self.shared.cmds.push(Cmd::Close { code, reason });
            // The close timeout starts now (as in ws), not once the frame is
            // written: a peer that stops reading would hold it back forever.
            self.shared.close_sent.notify_one();
        }
    }

    /// Queues a ping frame with `payload` (at most 125 bytes: the caller
    /// checks). Refused once closing.
    pub fn ping(&self, payload: Bytes) -> Result<(), SendRefused> {
        self.control(Cmd::Ping(payload))
    }

    /// Queues an unsolicited pong frame with `payload` (at most 125 bytes).
    /// Refused once closing.
    pub fn pong(&self, payload: Bytes) -> Result<(), SendRefused> {
        self.control(Cmd::Pong(payload))
    }

    fn control(&self, cmd: Cmd) -> Result<(), SendRefused> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(SendRefused::Closing);
        }
        self.shared.cmds.push(cmd).map_err(|_| SendRefused::Closing)
    }

    /// Drops the connection at once, without a close handshake.
    pub fn abort(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.abort.notify_one();
        self.shared.give_up();
    }

    /// Total bytes ever accepted by [`Connection::send`]. The writer reports
    /// written bytes through [`InboundEvent::Sent`] events, so the
    /// consumer computes `bufferedAmount` as accepted minus reported, and
    /// the value only drops when the consumer has seen the event.
    pub fn accepted_bytes(&self) -> u64 {
        self.shared.accepted.load(Ordering::Acquire)
    }
}

/// The reader and writer for an open WebSocket, as one future that ends
/// with the connection's [`CloseInfo`]. The caller runs it inside its own
/// task (each spawned task costs a 128-byte-aligned cell of its own, which
/// adds up over thousands of idle connections), or spawns it with
/// [`spawn_connection`]. A panic inside it ends it with
/// [`CloseInfo::task_failed`], as a failed task would.
pub fn start_connection(
    stream: Stream,
    opts: &ConnectOptions,
    inbox: Arc<Inbox>,
) -> (Connection, impl Future<Output = CloseInfo> + Send + use<>) {
    let shared = Arc::new(Shared {
        cmds: Commands::default(),
        next_id: AtomicU64::new(1),
        accepted: AtomicU64::new(0),
        closing: AtomicBool::new(false),
        peer_closed: AtomicBool::new(false),
        close_sent: Notify::new(),
        writer_failed: Notify::new(),
        writer_error: Mutex::new(None),
        abort: Notify::new(),
        aborted: AtomicBool::new(false),
        writer_abort: Notify::new(),
        done: Notify::new(),
    });
    let conn = Connection {
        shared: shared.clone(),
    };
    let ctx = ReaderCtx {
        shared: shared.clone(),
        inbox: inbox.clone(),
        max_payload: opts.max_payload,
        ping_interval: opts.ping_interval,
        pong_timeout: opts.pong_timeout,
        close_timeout: opts.close_timeout,
    };
    // Split here, not inside the future: a value the future captures keeps
    // its space in the future for the future's whole life.
    let (read, write) = tokio::io::split(stream);
    let run = async move {
        let opened = Instant::now();
        // The writer is a task of its own, so a send does not poll the
        // reader and an arriving message does not poll the writer.
        let writer = tokio::spawn(writer(
            tokio::io::join(NoReads, write),
            shared.clone(),
            inbox,
        ));
        let stop_writer = StopWriter(&shared);
        let mut info = reader(read, ctx).await;
        drop(stop_writer);
        info.unsent = writer.await.unwrap_or_default();
        info.uptime = opened.elapsed();
        tracing::debug!(
            code = info.code,
            reason = %info.reason,
            clean = info.was_clean,
            by_server = info.by_server,
            unsent = info.unsent.len(),
            uptime_ms = info.uptime.as_secs_f64() * 1e3,
            "transport: connection closed"
        );
        info
    };
    (conn, closing_on_panic(run))
}

/// Tells the writer to finish (after what is queued) when the reader ends,
/// or when the connection future is dropped before that.
struct StopWriter<'a>(&'a Shared);

impl Drop for StopWriter<'_> {
    fn drop(&mut self) {
        self.0.closing.store(true, Ordering::Release);
        self.0.done.notify_one();
    }
}

/// [`start_connection`] as a task of its own, for callers that poll it
/// among other events.
pub fn spawn_connection(
    stream: Stream,
    opts: &ConnectOptions,
    inbox: Arc<Inbox>,
) -> (Connection, JoinHandle<CloseInfo>) {
    let (conn, run) = start_connection(stream, opts, inbox);
    (conn, tokio::spawn(run))
}

/// `run`, ending with [`CloseInfo::task_failed`] instead of unwinding
/// through the caller's task. (A plain fn: an `async fn` would hold `run`
/// twice, as its argument and as the future it awaits.)
fn closing_on_panic(
    run: impl Future<Output = CloseInfo> + Send,
) -> impl Future<Output = CloseInfo> + Send {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(run)
        .catch_unwind()
        .map(|r| r.unwrap_or_else(|_| CloseInfo::task_failed()))
}

struct ReaderCtx {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    max_payload: usize,
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    close_timeout: Duration,
}

fn abnormal(reason: impl Into<String>, by_server: bool) -> CloseInfo {
    let reason = reason.into();
    CloseInfo {
        code: 1006,
        error: Some(reason.clone()),
        reason,
        was_clean: false,
        by_server,
        unsent: Vec::new(),
        uptime: Duration::ZERO,
    }
}

/// The end of a connection whose close frame from the server was read:
/// its code and reason; clean if TCP then closed normally.
fn after_close(code: u16, reason: String, was_clean: bool, by_server: bool) -> CloseInfo {
    CloseInfo {
        code,
        reason,
        was_clean,
        by_server,
        error: None,
        unsent: Vec::new(),
        uptime: Duration::ZERO,
    }
}

/// Whether a read failed only because the TLS peer closed TCP without a
/// `close_notify` (rustls reports that as an unexpected end of file). After
/// the server's close frame this is the end of a clean close.
fn ends_without_close_notify(e: &ReadError) -> bool {
    matches!(e, ReadError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof)
}

fn failed_with(code: u16, reason: String) -> CloseInfo {
    CloseInfo {
        code,
        error: Some(reason.clone()),
        reason,
        was_clean: false,
        by_server: false,
        unsent: Vec::new(),
        uptime: Duration::ZERO,
    }
}

/// Truncates `s` to at most 123 bytes (the close-frame reason limit) at a
/// character boundary.
pub fn clamp_reason(s: &str) -> String {
    if s.len() <= 123 {
        return s.to_string();
    }
    let mut end = 123;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The reader's fast path hands messages to the inbox in groups of at most
/// this many messages...
const FAST_GROUP_EVENTS: usize = 64;
/// ...or this many payload bytes.
const FAST_GROUP_BYTES: usize = 64 * 1024;

type Read = ReadHalf<Stream>;
type Item = Result<Option<Frame>, ReadError>;

async fn reader(mut io: Read, ctx: ReaderCtx) -> CloseInfo {
    let mut frames = FrameReader::new(ctx.max_payload);
    let far = Duration::from_secs(86400 * 365);
    // One clock read for the "no deadline" placeholder, not two per message.
    let far_at = tokio::time::Instant::now() + far;
    // An item taken by the fast path below that it does not handle itself.
    let mut stashed: Option<Item> = None;
    let mut received_close: Option<(u16, String)> = None;
    let mut initiated_by_us = false;
    // Our close frame was written: with the server's close frame read, the
    // closing handshake is complete, and the close is clean however TCP ends.
    let mut close_written = false;
    let mut close_deadline: Option<tokio::time::Instant> = None;
    let mut ping_deadline: Option<tokio::time::Instant> =
        ctx.ping_interval.map(|i| tokio::time::Instant::now() + i);
    let mut awaiting_pong = false;
    // The fast path's current group of messages (capacity reused).
    let mut group: Vec<InboundEvent> = Vec::new();

    loop {
        if ctx.inbox.is_full() {
            tokio::select! {
                _ = ctx.inbox.wait_for_room() => {}
                _ = ctx.shared.abort.notified() => return abnormal("aborted: the socket was closed without a close handshake", false),
            }
            continue;
        }
        // Fast path: hand over every message that is already decoded or
        // buffered without building the select! below (3 Notified + 2 Sleep
        // futures per message). Anything else goes through the select.
        if stashed.is_none() && received_close.is_none() {
            // Handed to the inbox in groups (one lock, one wake-up check per
            // group). A group is small enough that the inbox's high-water
            // mark is overshot by at most FAST_GROUP_BYTES plus one message.
            let mut n = 0;
            let mut group_bytes = 0;
            while n < 1024 && !ctx.inbox.is_full() {
                let event = match futures_util::FutureExt::now_or_never(frames.next(&mut io)) {
                    Some(Ok(Some(Frame::Text(t)))) => InboundEvent::Text(t),
                    Some(Ok(Some(Frame::Binary(b)))) => InboundEvent::Binary(b),
                    Some(other) => {
                        stashed = Some(other);
                        break;
                    }
                    None => break,
                };
                group_bytes += event.weight();
                group.push(event);
                n += 1;
                if group.len() >= FAST_GROUP_EVENTS || group_bytes >= FAST_GROUP_BYTES {
                    ctx.inbox.push_all(&mut group);
                    group_bytes = 0;
                }
            }
            ctx.inbox.push_all(&mut group);
            if ctx.inbox.is_full() && stashed.is_none() {
                continue;
            }
        }
        // One timer for both deadlines (a Sleep is 112 bytes of every
        // connection's future): the close deadline wins when it is due.
        let timer_at = match (close_deadline, ping_deadline) {
            (Some(c), Some(p)) => c.min(p),
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => far_at,
        };
        tokio::select! {
            biased;
            _ = ctx.shared.abort.notified() => {
                return abnormal("aborted: the socket was closed without a close handshake", false);
            }
            _ = ctx.shared.writer_failed.notified() => {
                let why = ctx.shared.writer_error.lock().unwrap().clone();
                if let Some((code, reason)) = received_close.take() {
                    return after_close(code, reason, false, true);
                }
                if let Some(why) = why {
                    return abnormal(format!("the connection failed while writing: {why}"), true);
                }
            }
            _ = ctx.shared.close_sent.notified() => {
                close_written = true;
                if received_close.is_none() {
                    initiated_by_us = true;
                }
                if close_deadline.is_none() {
                    close_deadline = Some(tokio::time::Instant::now() + ctx.close_timeout);
                }
            }
            // Paused by the consumer: back to the top of the loop, which parks.
            _ = ctx.inbox.pause_requested() => {}
            _ = tokio::time::sleep_until(timer_at), if close_deadline.is_some() || ping_deadline.is_some() => {
                if close_deadline.is_some_and(|d| d <= timer_at) {
                    ctx.shared.give_up();
                    if let Some((code, reason)) = received_close.take() {
                        return after_close(code, reason, close_written, !initiated_by_us);
                    }
                    return abnormal(format!(
                        "close timeout: the server did not answer the close frame within {} ms",
                        ctx.close_timeout.as_millis()
                    ), false);
                }
                if awaiting_pong {
                    ctx.shared.give_up();
                    return abnormal("pong timeout", true);
                }
                if ctx.shared.cmds.push(Cmd::Ping(Bytes::new())).is_err() {
                    ping_deadline = None;
                    continue;
                }
                awaiting_pong = true;
                ping_deadline = Some(tokio::time::Instant::now() + ctx.pong_timeout);
            }
            item = async { match stashed.take() { Some(i) => i, None => frames.next(&mut io).await } } => match item {
                Ok(Some(Frame::Text(t))) => {
                    if received_close.is_none() {
                        ctx.inbox.push(InboundEvent::Text(t));
                    }
                }
                Ok(Some(Frame::Binary(b))) => {
                    if received_close.is_none() {
                        ctx.inbox.push(InboundEvent::Binary(b));
                    }
                }
                Ok(Some(Frame::Pong(payload))) => {
                    if awaiting_pong {
                        awaiting_pong = false;
                        ping_deadline = ctx.ping_interval.map(|i| tokio::time::Instant::now() + i);
                    }
                    if received_close.is_none() && ctx.inbox.reports_control() {
                        ctx.inbox.push(InboundEvent::Pong(payload));
                    }
                }
                Ok(Some(Frame::Ping(payload))) => {
                    if received_close.is_none() {
                        // Answered before JS hears of it (auto-pong stays on).
                        let _ = ctx.shared.cmds.push(Cmd::Pong(payload.clone()));
                        if ctx.inbox.reports_control() {
                            ctx.inbox.push(InboundEvent::Ping(payload));
                        }
                    }
                }
                Ok(Some(Frame::Close(frame))) => {
                    let (code, reason) = frame.unwrap_or((1005, String::new()));
                    ctx.shared.closing.store(true, Ordering::Release);
                    ctx.shared.peer_closed.store(true, Ordering::Release);
                    // The answer echoes the server's code (the writer sends
                    // nothing if our own close frame went first).
                    let _ = ctx.shared.cmds.push(Cmd::Close {
                        code: (code != 1005).then_some(code),
                        reason: reason.clone(),
                    });
                    received_close = Some((code, reason));
                    if close_deadline.is_none() {
                        close_deadline = Some(tokio::time::Instant::now() + ctx.close_timeout);
                    }
                }
                Ok(None) => {
                    return match received_close.take() {
                        Some((code, reason)) => after_close(code, reason, true, !initiated_by_us),
                        None => abnormal("the server closed the TCP connection without a close frame", true),
                    };
                }
                Err(e) => {
                    if let Some((code, reason)) = received_close.take() {
                        if ends_without_close_notify(&e) {
                            // RFC 6455 §7.1.4: the closing handshake is what
                            // makes a close clean. Many servers close TCP after
                            // it without a TLS close_notify; nothing is lost.
                            tracing::debug!(code, "transport: TLS peer closed without close_notify after the closing handshake (clean close)");
                            return after_close(code, reason, true, !initiated_by_us);
                        }
                        // The server's close frame came first, then the
                        // connection failed (uvicorn before 0.52.1 resets
                        // TCP after it): keep its code.
                        return after_close(code, reason, close_written, !initiated_by_us);
                    }
                    let code = match e {
                        ReadError::TooBig { .. } => 1009,
                        ReadError::InvalidUtf8 => 1007,
                        ReadError::Protocol(_) => 1002,
                        ReadError::EndedMidFrame | ReadError::Io(_) => return abnormal(e.to_string(), true),
                    };
                    // JS handles the messages that came before the bad frame
                    // first, so that what it sends in answer goes out before
                    // the close frame (Autobahn 3.2, 4.1.3, 5.15); a consumer
                    // that stopped taking events is waited for no longer
                    // than the close timeout.
                    tokio::select! {
                        biased;
                        _ = ctx.shared.abort.notified() => {
                            return abnormal("aborted: the socket was closed without a close handshake", false);
                        }
                        _ = ctx.inbox.settle() => {}
                        _ = tokio::time::sleep(ctx.close_timeout) => {}
                    }
                    let reason = e.to_string();
                    let _ = ctx.shared.cmds.push(Cmd::Close { code: Some(code), reason: clamp_reason(&reason) });
                    return failed_with(code, reason);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// After the server's close frame, only a TLS end without close_notify
    /// (rustls: UnexpectedEof) counts as the end of a clean close; a reset
    /// or another failure does not.
    #[test]
    fn only_a_missing_close_notify_ends_a_close_cleanly() {
        let io = |kind| ReadError::Io(io::Error::new(kind, "x"));
        assert!(ends_without_close_notify(&io(io::ErrorKind::UnexpectedEof)));
        assert!(!ends_without_close_notify(&io(
            io::ErrorKind::ConnectionReset
        )));
        assert!(!ends_without_close_notify(&io(io::ErrorKind::BrokenPipe)));
        assert!(!ends_without_close_notify(&ReadError::EndedMidFrame));
        assert!(!ends_without_close_notify(&ReadError::InvalidUtf8));
    }
}
