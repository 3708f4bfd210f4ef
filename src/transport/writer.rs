//! The writer: the task that owns a connection's sending half.
//!
//! The handles (JS thread, reader) queue [`Cmd`]s in [`Commands`], a deque
//! behind a mutex plus a [`Notify`]; the writer takes everything queued in
//! one swap, writes it (tungstenite frames it) and flushes once per batch,
//! then reports the bytes written (`bufferedAmount`) and the last written
//! id (`sendAsync`) as an [`InboundEvent::Sent`]. Nothing is written after
//! a close frame, and no message after the server's close frame was read.
//! Once the connection is given up on ([`Shared::give_up`]), the writer
//! waits on the peer no longer. It returns every message it took and never
//! wrote, in order.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::io::{AsyncRead, Join, ReadBuf, WriteHalf};
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::connection::{Outgoing, Shared};
use super::inbox::{InboundEvent, Inbox};
use super::stream::Stream;

/// A command for the writer.
pub(super) enum Cmd {
    Send {
        id: u64,
        msg: Outgoing,
        notify: bool,
    },
    /// A ping: the keepalive's (empty) or one asked for from JS.
    Ping(Bytes),
    /// A pong: the answer to the server's ping, or one sent from JS.
    Pong(Bytes),
    Close {
        code: Option<u16>,
        reason: String,
    },
}

/// The commands from the handles (JS thread, reader) to the writer: a
/// deque behind a mutex plus a [`Notify`]. The writer takes everything
/// queued in one swap. (An unbounded mpsc channel cost ~2.3 KiB per idle
/// connection for its first block of slots; an empty deque costs nothing.)
#[derive(Default)]
pub(super) struct Commands {
    queue: Mutex<CmdQueue>,
    pub(super) ready: Notify,
}

#[derive(Default)]
struct CmdQueue {
    items: VecDeque<Cmd>,
    closed: bool,
}

/// A drained deque bigger than this is dropped rather than kept, so a burst
/// of sends does not pin its memory for the life of the connection.
const KEEP_CMD_CAPACITY: usize = 64;

impl Commands {
    /// Queues `cmd` for the writer; hands it back once the writer has ended.
    pub(super) fn push(&self, cmd: Cmd) -> Result<(), Cmd> {
        let mut q = self.queue.lock().unwrap();
        if q.closed {
            return Err(cmd);
        }
        let was_empty = q.items.is_empty();
        q.items.push_back(cmd);
        drop(q);
        // A non-empty queue already has a wake-up on its way: the writer
        // takes the whole queue when it wakes.
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Swaps everything queued into `local` (which is empty). Returns
    /// whether anything was taken.
    pub(super) fn take_all(&self, local: &mut VecDeque<Cmd>) -> bool {
        if local.capacity() > KEEP_CMD_CAPACITY {
            *local = VecDeque::new();
        }
        std::mem::swap(&mut self.queue.lock().unwrap().items, local);
        !local.is_empty()
    }

    /// Refuses further commands and returns what is still queued.
    pub(super) fn close(&self) -> VecDeque<Cmd> {
        let mut q = self.queue.lock().unwrap();
        q.closed = true;
        std::mem::take(&mut q.items)
    }
}

/// The read side of the writer's stream ([`tokio::io::join`]ed with the
/// sending half): frames are read by [`FrameReader`] from the other half, so
/// a read here is a bug and fails loudly instead of waiting forever.
pub(super) struct NoReads;

impl AsyncRead for NoReads {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::other(
            "internal error: the writer tried to read (frames are read by the reader)",
        )))
    }
}

/// What tungstenite writes frames to.
type WriteOnly = Join<NoReads, WriteHalf<Stream>>;

const WRITE_BATCH_BYTES: usize = 1 << 20;

pub(super) async fn writer(
    io: WriteOnly,
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
) -> Vec<(u64, Outgoing)> {
    let mut config = WebSocketConfig::default();
    // Frames are written as they are fed (no write buffering) and nothing
    // is read through this half, so tungstenite's read buffer stays empty.
    config.write_buffer_size = 0;
    config.read_buffer_size = 0;
    let mut sink = WebSocketStream::from_raw_socket(io, Role::Client, Some(config)).await;
    let mut failed = false;
    // Whether a close frame was written: nothing may follow it.
    let mut close_written = false;
    // Messages not written because a close frame was (or, from the server,
    // was read) first; handed back in order.
    let mut held_back: Vec<(u64, Outgoing)> = Vec::new();
    // What the writer has taken from the queue and not yet written.
    let mut local: VecDeque<Cmd> = VecDeque::new();
    loop {
        if local.is_empty() && !shared.cmds.take_all(&mut local) {
            tokio::select! {
                biased;
                _ = shared.cmds.ready.notified() => continue,
                _ = shared.done.notified() => break,
            }
        }
        let mut batch_bytes: u64 = 0;
        let mut last_id: Option<u64> = None;
        let mut notify = false;
        let mut result: Result<(), WsError> = Ok(());
        while let Some(cmd) = local.pop_front() {
            // After give_up() only a close frame may still go out, if the
            // socket takes it at once (until_abort); messages are handed back.
            let gave_up = shared.aborted.load(Ordering::Acquire);
            match cmd {
                Cmd::Send { id, msg, .. }
                    if close_written || gave_up || shared.peer_closed.load(Ordering::Acquire) =>
                {
                    held_back.push((id, msg));
                }
                Cmd::Ping(_) | Cmd::Pong(_) | Cmd::Close { .. } if close_written => {}
                Cmd::Ping(_) | Cmd::Pong(_) if gave_up => {}
                Cmd::Send { id, msg, notify: n } => {
                    batch_bytes += msg.len() as u64;
                    result = until_abort(&shared, sink.feed(msg.into_message())).await;
                    last_id = Some(id);
                    notify |= n;
                }
                Cmd::Ping(payload) => {
                    result = until_abort(&shared, sink.feed(Message::Ping(payload))).await
                }
                Cmd::Pong(payload) => {
                    result = until_abort(&shared, sink.feed(Message::Pong(payload))).await
                }
                Cmd::Close { code, reason } => {
                    let frame = code.map(|code| CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    });
                    result = until_abort(&shared, sink.feed(Message::Close(frame))).await;
                    close_written = true;
                    shared.close_sent.notify_one();
                }
            }
            if result.is_err() || batch_bytes as usize >= WRITE_BATCH_BYTES {
                break;
            }
            if local.is_empty() {
                shared.cmds.take_all(&mut local);
            }
        }
        if result.is_ok() {
            result = until_abort(&shared, sink.flush()).await;
            // An answer may follow soon: don't let the thread fall asleep.
            crate::runtime::stay_awake();
        }
        if let Err(e) = result {
            // A send after our own close frame is not a failure worth reporting.
            if !matches!(
                e,
                WsError::Protocol(_) | WsError::AlreadyClosed | WsError::ConnectionClosed
            ) {
                *shared.writer_error.lock().unwrap() = Some(e.to_string());
            }
            failed = true;
            shared.writer_failed.notify_one();
            break;
        }
        if let Some(id) = last_id {
            inbox.push(InboundEvent::Sent {
                id,
                bytes: batch_bytes,
                notify,
            });
        }
    }
    // Hand back what was accepted but never written, in order.
    local.extend(shared.cmds.close());
    let mut unsent = held_back;
    unsent.extend(local.into_iter().filter_map(|cmd| match cmd {
        Cmd::Send { id, msg, .. } => Some((id, msg)),
        _ => None,
    }));
    // Closing the sink writes a close frame (without a code) unless one was
    // written already: not after abort(), which drops the socket as it is.
    if !failed && !shared.aborted.load(Ordering::Acquire) {
        let _ = SinkExt::close(&mut sink).await;
    }
    unsent
}

/// `write`, or [`WsError::AlreadyClosed`] if the writer was given up on
/// ([`Shared::give_up`]) before it completes: after that, only a write the
/// socket takes at once is made. A message in flight is then lost, like
/// one in a failed write.
async fn until_abort(
    shared: &Shared,
    write: impl Future<Output = Result<(), WsError>>,
) -> Result<(), WsError> {
    if shared.aborted.load(Ordering::Acquire) {
        use futures_util::FutureExt;
        return write.now_or_never().unwrap_or(Err(WsError::AlreadyClosed));
    }
    tokio::select! {
        biased;
        r = write => r,
        _ = shared.writer_abort.notified() => Err(WsError::AlreadyClosed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(id: u64) -> Cmd {
        Cmd::Send {
            id,
            msg: Outgoing::Text(format!("m{id}").into()),
            notify: false,
        }
    }

    fn ids(cmds: &VecDeque<Cmd>) -> Vec<u64> {
        cmds.iter()
            .map(|c| match c {
                Cmd::Send { id, .. } => *id,
                _ => 0,
            })
            .collect()
    }

    /// The writer takes everything queued, in order, in one swap; a push to
    /// an empty queue leaves a wake-up for a writer that is not waiting yet.
    #[test]
    fn commands_are_taken_whole_and_in_order() {
        let c = Commands::default();
        let mut local = VecDeque::new();
        assert!(!c.take_all(&mut local), "an empty queue gave commands");
        for id in 1..=3 {
            assert!(c.push(send(id)).is_ok());
        }
        // The permit stored by the first push: the wait completes at once.
        assert!(
            futures_util::FutureExt::now_or_never(c.ready.notified()).is_some(),
            "a push to an empty queue left no wake-up"
        );
        assert!(c.take_all(&mut local));
        assert_eq!(ids(&local), [1, 2, 3]);
        local.clear();
        assert!(!c.take_all(&mut local));
    }

    /// After close, a push is refused and handed back, and close returns
    /// what was still queued, in order.
    #[test]
    fn close_hands_back_the_queue_and_refuses_more() {
        let c = Commands::default();
        c.push(send(1)).ok().unwrap();
        c.push(send(2)).ok().unwrap();
        assert_eq!(ids(&c.close()), [1, 2]);
        match c.push(send(3)) {
            Err(Cmd::Send { id, .. }) => assert_eq!(id, 3),
            _ => panic!("a push after close was accepted"),
        }
        assert!(c.close().is_empty());
    }

    /// A drained deque that grew past KEEP_CMD_CAPACITY is not kept.
    #[test]
    fn a_burst_does_not_pin_its_memory() {
        let c = Commands::default();
        let mut local = VecDeque::new();
        for id in 0..1000 {
            c.push(send(id)).ok().unwrap();
        }
        assert!(c.take_all(&mut local));
        assert_eq!(local.len(), 1000);
        local.clear();
        assert!(!c.take_all(&mut local));
        assert!(
            local.capacity() <= KEEP_CMD_CAPACITY,
            "kept {} slots",
            local.capacity()
        );
        assert!(c.queue.lock().unwrap().items.capacity() <= KEEP_CMD_CAPACITY);
    }
}
