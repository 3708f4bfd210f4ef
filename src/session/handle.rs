//! [`Session`]: the handle JS calls into (through `src/bindings`). Every
//! call takes the session's lock, acts at once (a send goes straight to the
//! open connection's writer), and wakes the loop in [`super::driver`] when
//! it has something to look at.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::driver::{Inner, run};
use super::protocol::{Action, Protocol, Target};
use crate::reconnect::queue::Push;
use crate::reconnect::supervisor::{State, Terminal};
use crate::transport::{Connection, Inbox, Outgoing};

pub use super::driver::SessionConfig;

/// The result of [`Session::send`].
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
        /// `true`: the session is closed for good (the reason is the
        /// terminal message); `false`: the queue is full.
        closed: bool,
    },
}

/// Why [`Session::send_now`] did not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// No connection has opened yet.
    NotOpen,
    /// The connection is closing or closed.
    Closing,
}

/// A running session. Cheap to clone; see the module docs. `P` is its
/// protocol's type: the driver holds it as a `dyn Protocol` (one copy of
/// the driver's code for every protocol), and [`Session::with_protocol`]
/// gives it back as a `P`.
pub struct Session<P> {
    inner: Arc<Inner>,
    proto: PhantomData<fn() -> P>,
}

impl<P> Clone for Session<P> {
    fn clone(&self) -> Self {
        Session {
            inner: self.inner.clone(),
            proto: PhantomData,
        }
    }
}

impl<P: Protocol> Session<P> {
    /// Checks the settings and starts the session's task on `rt`. Events go
    /// to `inbox`.
    pub fn start(
        cfg: SessionConfig,
        proto: P,
        inbox: Arc<Inbox>,
        rt: &tokio::runtime::Handle,
    ) -> Result<Session<P>, String> {
        let inner = Arc::new(Inner::new(cfg, Box::new(proto), inbox)?);
        rt.spawn(run(inner.clone()));
        Ok(Session {
            inner,
            proto: PhantomData,
        })
    }

    /// Sends `msg` now if the application is ready, else queues it within
    /// the limits. Never blocks. See [`SendOutcome`].
    pub fn send(&self, msg: Outgoing) -> SendOutcome {
        let mut st = self.inner.lock();
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
        if st.ready
            && let Some(conn) = &st.conn
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

    /// Sends `msg` on the open connection, without queueing (the WHATWG
    /// `send`). With `notify`, a `Sent` event reports when it was written.
    pub fn send_now(&self, msg: Outgoing, notify: bool) -> Result<u64, NotSent> {
        // Borrowed under the lock, not cloned: this runs once per message.
        let mut st = self.inner.lock();
        let id = st.next_id;
        match &st.conn {
            Some(conn) => conn
                .send_with_id(id, msg, notify)
                .map_err(|_| NotSent::Closing)?,
            None if st.sup.stats().connects == 0 => return Err(NotSent::NotOpen),
            None => return Err(NotSent::Closing),
        };
        st.next_id += 1;
        Ok(id)
    }

    /// Sends a ping (or, with `pong`, an unsolicited pong) carrying
    /// `payload` (at most 125 bytes: the caller checks) on the open
    /// connection (ws's `ping()` / `pong()`).
    pub fn send_control(&self, pong: bool, payload: Bytes) -> Result<(), NotSent> {
        let st = self.inner.lock();
        let conn = match &st.conn {
            Some(conn) => conn,
            None if st.sup.stats().connects == 0 => return Err(NotSent::NotOpen),
            None => return Err(NotSent::Closing),
        };
        let sent = if pong {
            conn.pong(payload)
        } else {
            conn.ping(payload)
        };
        sent.map_err(|_| NotSent::Closing)
    }

    /// Total bytes ever accepted by this session's connections (the
    /// consumer subtracts what `Sent` events report).
    pub fn accepted_bytes(&self) -> u64 {
        let st = self.inner.lock();
        st.accepted_before + st.conn.as_ref().map_or(0, Connection::accepted_bytes)
    }

    /// Stops for good, in any state: closes the open connection with `code`
    /// and `reason` (a closing handshake), or abandons the dial, the wait for
    /// a verdict, a pause, or the wait before the next attempt. The
    /// `Terminal` event (kind `user-closed`) follows. Later calls do nothing.
    pub fn close(&self, code: Option<u16>, reason: String) {
        let mut st = self.inner.lock();
        if st.user_closed.is_some() || st.terminal.is_some() {
            return;
        }
        st.user_closed = Some((code, reason.clone()));
        st.sup.user_close();
        if let Some(conn) = &st.conn {
            conn.close(code, reason);
        }
        drop(st);
        self.inner.wake.notify_one();
    }

    /// Like [`Session::close`], but drops an open connection without a
    /// closing handshake (ws's `terminate()`, process or worker teardown).
    pub fn abort(&self) {
        let mut st = self.inner.lock();
        if st.user_closed.is_none() && st.terminal.is_none() {
            st.user_closed = Some((Some(1006), String::new()));
            st.sup.user_close();
        }
        if let Some(conn) = &st.conn {
            conn.abort();
        }
        drop(st);
        self.inner.wake.notify_one();
    }

    /// The caller's verdict on the last close (`verdict: true` events):
    /// `true` stops for good with kind `final-code`.
    pub fn decide(&self, is_final: bool) {
        self.inner.lock().verdict = Some(is_final);
        self.inner.wake.notify_one();
    }

    /// Ends a pause: the session dials again (a request made right after
    /// this is held, not refused). Does nothing otherwise.
    pub fn resume(&self) {
        let mut st = self.inner.lock();
        if !st.paused || st.user_closed.is_some() {
            return;
        }
        st.paused = false;
        st.sup.restart();
        let mut out = Vec::new();
        st.proto.on_resumed(&mut out);
        self.inner.apply(&mut st, &mut out, Instant::now());
        drop(st);
        self.inner.wake.notify_one();
    }

    /// What the next attempt dials (after [`Event::Dialing`]); an `Err` fails
    /// that attempt with the caller's own message.
    ///
    /// [`Event::Dialing`]: super::Event::Dialing
    pub fn set_target(&self, target: Result<Target, String>) {
        self.inner.lock().target = Some(Box::new(target));
        self.inner.wake.notify_one();
    }

    /// The current state.
    pub fn state(&self) -> State {
        let st = self.inner.lock();
        if st.user_closed.is_some() {
            State::Closed
        } else {
            st.sup.state()
        }
    }

    /// `(messages, bytes)` waiting in the send queue.
    pub fn queued(&self) -> (usize, usize) {
        let st = self.inner.lock();
        (st.queue.len(), st.queue.bytes())
    }

    /// The terminal decision, once stopped.
    pub fn terminal(&self) -> Option<Terminal> {
        self.inner.lock().terminal.as_deref().cloned()
    }

    /// Runs `f` on the protocol (a command from JS, such as a gateway
    /// request) and carries out the actions it returns.
    pub fn with_protocol<R>(&self, f: impl FnOnce(&mut P, Instant, &mut Vec<Action>) -> R) -> R {
        self.inner.with_protocol(|proto, now, out| {
            let proto: &mut dyn Any = proto;
            let proto = proto
                .downcast_mut::<P>()
                .expect("a session's protocol is the type it was started with");
            f(proto, now, out)
        })
    }
}
