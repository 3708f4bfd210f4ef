//! The session driver: the one loop that owns a client's connection
//! lifecycle. JS reaches it through the [`Session`](super::Session) handle (`handle.rs`).
//!
//! One task on the shared runtime loops:
//!
//! 1. dial ([`transport::connect`]);
//! 2. on open: report [`Event::Open`], start the connection, and tell the
//!    protocol; when the protocol says [`Action::Ready`], the connection
//!    counts as opened and the send queue is handed to it in order;
//! 3. run until the connection ends, feeding inbound messages to the
//!    protocol if it intercepts them (otherwise the connection pushes them
//!    straight to JS), and the protocol's deadlines;
//! 4. report [`Event::Close`]; messages the connection took but never wrote
//!    go back to the FRONT of the queue; the protocol gives its
//!    [`Verdict`]; if the caller decides final codes itself, wait for
//!    [`Session::decide`](super::Session::decide);
//! 5. ask the [`Supervisor`]: report [`Event::Reconnecting`] and wait, or
//!    pause until [`Session::resume`](super::Session::resume), or stop with [`Event::Terminal`].
//!
//! Concurrency: all state sits behind one mutex. Whoever changes it (the
//! loop, or a JS call such as `send`, `close` or a gateway request) runs the
//! protocol under that lock and carries out its actions at once; the loop
//! is woken through one [`Notify`] to look again. Every wait of the loop
//! (dial, backoff, verdict, pause, open connection) also serves the
//! protocol's deadlines.
//!
//! Nothing is dropped silently: [`Session::send`](super::Session::send) reports rejected and
//! evicted ids at once, `Close` reports what a failed write took, and
//! `Terminal` hands back the rest.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::event::{ErrorEvent, Event};
use super::protocol::{Action, Protocol, Target, Verdict};
use crate::reconnect::policy::explain_final;
use crate::reconnect::queue::{QueueConfig, SendQueue};
use crate::reconnect::supervisor::{
    CloseInfo as SupClose, Decision, Supervisor, SupervisorConfig, Terminal, TerminalKind,
};
use crate::transport::{self, ConnectOptions, Connection, InboundEvent, Inbox, Outgoing};

/// Everything a session needs.
#[derive(Clone, Debug, Default)]
pub struct SessionConfig {
    /// The `ws://` or `wss://` URL.
    pub url: String,
    /// Options for every connection.
    pub connect: ConnectOptions,
    /// Backoff, final codes and the flapping guard (`max_retries: Some(0)`
    /// for a socket that never reconnects).
    pub supervisor: SupervisorConfig,
    /// Limits of the queue for messages sent while not ready.
    pub queue: QueueConfig,
    /// The caller decides which server closes are final: after each close by
    /// the server the driver waits for [`Session::decide`](super::Session::decide). The supervisor's
    /// own final-code list should then be empty.
    pub ask_final: bool,
    /// The caller decides which failed dials are final: after each, the
    /// driver waits for [`Session::decide`](super::Session::decide).
    pub ask_handshake: bool,
    /// The caller supplies the URL, headers and subprotocols before every
    /// attempt ([`Event::Dialing`], then
    /// [`Session::set_target`](super::Session::set_target)).
    pub ask_target: bool,
}

/// What the caller decides itself (see [`SessionConfig`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Asks {
    pub(super) final_close: bool,
    pub(super) handshake: bool,
    pub(super) target: bool,
    /// The session dials at most once (a `WebSocket`): its supervisor never
    /// retries and its protocol never pauses.
    pub(super) never_retries: bool,
}

impl SessionConfig {
    /// What the caller decides itself.
    pub(super) fn asks(&self, proto: &dyn Protocol) -> Asks {
        Asks {
            final_close: self.ask_final,
            handshake: self.ask_handshake,
            target: self.ask_target,
            never_retries: self.supervisor.backoff.max_retries == Some(0)
                && !self.ask_target
                && !proto.can_pause(),
        }
    }
}

pub(super) struct St {
    pub(super) sup: Supervisor,
    pub(super) queue: SendQueue<Outgoing>,
    pub(super) conn: Option<Connection>,
    /// The protocol said `Ready` on the current connection.
    pub(super) ready: bool,
    pub(super) next_id: u64,
    /// Bytes accepted by the connections that have ended.
    pub(super) accepted_before: u64,
    /// Highest id handed to the current connection.
    pub(super) handed_max: Option<u64>,
    /// `close()` was called: `(code, reason)`.
    pub(super) user_closed: Option<(Option<u16>, String)>,
    pub(super) terminal: Option<Box<Terminal>>,
    /// The options of the next dial; taken for good by a session that never
    /// reconnects, so they are freed once its connection is open.
    pub(super) connect: Option<Arc<ConnectOptions>>,
    /// Paused: waiting for `resume()` or `close()`.
    pub(super) paused: bool,
    /// The caller's verdict on the last close or failed dial, once given.
    pub(super) verdict: Option<bool>,
    /// What the caller supplied for the next attempt, once it did.
    pub(super) target: Option<Box<Result<Target, String>>>,
    /// The application protocol, behind a pointer so that the driver is
    /// compiled once for every protocol (`Session<P>` downcasts it back).
    pub(super) proto: Box<dyn Protocol>,
}

/// A session's shared state. Only what is read after the start is kept:
/// the supervisor and the send queue hold their own settings.
pub(super) struct Inner {
    pub(super) url: String,
    pub(super) asks: Asks,
    pub(super) inbox: Arc<Inbox>,
    pub(super) st: Mutex<St>,
    /// Something the loop waits on may have changed.
    pub(super) wake: Notify,
}

/// Sessions whose state is alive (for the leak check: `debugLiveSessions`).
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many sessions' state is alive in this process: started and not yet
/// freed (the handle, the task and every clone gone).
pub fn live_sessions() -> usize {
    LIVE.load(std::sync::atomic::Ordering::Relaxed)
}

impl Drop for Inner {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub(super) const USER_CLOSED: &str =
    "Closed by this client (close() was called); not reconnecting.";

impl Inner {
    /// A session's state before its first dial, or the settings' error.
    pub(super) fn new(
        cfg: SessionConfig,
        proto: Box<dyn Protocol>,
        inbox: Arc<Inbox>,
    ) -> Result<Self, String> {
        let asks = cfg.asks(&*proto);
        let sup = Supervisor::new(cfg.supervisor)?;
        LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Inner {
            url: cfg.url,
            asks,
            inbox,
            st: Mutex::new(St {
                sup,
                queue: SendQueue::new(cfg.queue),
                conn: None,
                ready: false,
                next_id: 1,
                accepted_before: 0,
                handed_max: None,
                user_closed: None,
                terminal: None,
                paused: false,
                verdict: None,
                target: None,
                connect: Some(Arc::new(cfg.connect)),
                proto,
            }),
            wake: Notify::new(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap()
    }

    pub(super) fn emit(&self, ev: Event) {
        self.inbox.push(InboundEvent::Session(Box::new(ev)));
    }

    /// Carries out `actions` (in order) under the lock.
    pub(super) fn apply(&self, st: &mut St, actions: &mut Vec<Action>, now: Instant) {
        let mut held = Vec::new();
        self.apply_holding(st, actions, now, &mut held);
        self.inbox.push_all(&mut held);
    }

    /// [`Inner::apply`], except that emitted events are held in `held` for
    /// the caller to push with the next ones in one go (one lock and at most
    /// one wake-up of JS for a whole read of frames, not one per event).
    /// Held events are pushed before any other action, so the order of
    /// everything JS sees stays the order of the actions.
    pub(super) fn apply_holding(
        &self,
        st: &mut St,
        actions: &mut Vec<Action>,
        now: Instant,
        held: &mut Vec<InboundEvent>,
    ) {
        for action in actions.drain(..) {
            match action {
                Action::Emit(ev) => held.push(InboundEvent::Session(Box::new(ev))),
                other => {
                    self.inbox.push_all(held);
                    self.act(st, other, now);
                }
            }
        }
    }

    /// Carries out one action other than an emit, under the lock.
    fn act(&self, st: &mut St, action: Action, now: Instant) {
        match action {
            Action::Emit(ev) => self.emit(ev),
            Action::Send { msg, tag } => {
                let id = st.next_id;
                st.next_id += 1;
                let back = tag.as_ref().map(|_| msg.clone());
                let ok = st
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.send_with_id(id, msg, false).is_ok());
                if !ok && let (Some(tag), Some(msg)) = (tag, back) {
                    st.proto.on_unsent(tag, msg);
                }
            }
            Action::Close(code, reason) => {
                if let Some(c) = &st.conn {
                    c.close(Some(code), reason);
                }
            }
            Action::Abort => {
                if let Some(c) = &st.conn {
                    c.abort();
                }
            }
            Action::Ready => {
                if st.ready || !st.sup.opened(now) {
                    return;
                }
                st.ready = true;
                let Some(conn) = st.conn.clone() else {
                    return;
                };
                while let Some((id, msg, bytes)) = st.queue.pop_front() {
                    if conn.send_with_id(id, msg.clone(), true).is_err() {
                        st.queue.push_front(id, msg, bytes);
                        break;
                    }
                    st.handed_max = Some(id);
                }
            }
        }
    }

    /// Runs `f` on the protocol under the lock, carries out its actions,
    /// and wakes the loop if the protocol's next deadline moved earlier.
    pub(super) fn with_protocol<R>(
        &self,
        f: impl FnOnce(&mut dyn Protocol, Instant, &mut Vec<Action>) -> R,
    ) -> R {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut st = self.lock();
        let before = st.proto.next_deadline();
        let r = f(&mut *st.proto, now, &mut out);
        self.apply(&mut st, &mut out, now);
        let after = st.proto.next_deadline();
        drop(st);
        if after.is_some_and(|a| before.is_none_or(|b| a < b)) {
            self.wake.notify_one();
        }
        r
    }

    /// Runs the protocol's deadline if it has passed.
    fn deadline_passed(&self) {
        let now = Instant::now();
        let mut st = self.lock();
        if st.proto.next_deadline().is_some_and(|d| d <= now) {
            let mut out = Vec::new();
            st.proto.on_deadline(now, &mut out);
            self.apply(&mut st, &mut out, now);
        }
    }

    /// Waits for `fut` while serving the protocol's deadlines. Returns
    /// `None` as soon as `stop` holds (checked on every wake-up).
    pub(super) async fn serve<F: Future>(
        &self,
        fut: F,
        stop: impl Fn(&St) -> bool,
    ) -> Option<F::Output> {
        tokio::pin!(fut);
        loop {
            let deadline = {
                let st = self.lock();
                if stop(&st) {
                    return None;
                }
                st.proto.next_deadline()
            };
            let at = deadline.map(tokio::time::Instant::from_std);
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                r = &mut fut => return Some(r),
                _ = tokio::time::sleep_until(at.unwrap_or_else(far)), if at.is_some() => {
                    self.deadline_passed();
                }
            }
        }
    }
}

fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

pub(super) fn user_closed(st: &St) -> bool {
    st.user_closed.is_some()
}

/// What one pass of the loop ended with.
pub(super) enum Step {
    /// `close()` was called; the close of the connection that was open, if any.
    UserClosed(Option<(u16, String)>),
    /// The supervisor's decision, and the close code and reason behind it.
    Decided {
        decision: Decision,
        code: u16,
        reason: String,
        /// The server's `Retry-After`, when it set the wait.
        server_wait: Option<Duration>,
    },
}

impl Step {
    pub(super) fn decided(decision: Decision, code: u16, reason: String) -> Step {
        Step::Decided {
            decision,
            code,
            reason,
            server_wait: None,
        }
    }
}

/// Ends the session: records `t`, hands back the queue, reports `Terminal`.
fn finish(inner: &Inner, t: Terminal) {
    let mut st = inner.lock();
    st.conn = None;
    st.ready = false;
    let unsent: Vec<u64> = st.queue.drain().into_iter().map(|e| e.0).collect();
    // A socket that never reconnects ends this way every time: not news.
    if t.kind == TerminalKind::UserClosed || inner.asks.never_retries {
        tracing::debug!(code = t.code, kind = t.kind.as_str(), "session: ended");
    } else {
        tracing::info!(
            code = t.code,
            kind = t.kind.as_str(),
            unsent = unsent.len(),
            "reconnect: stopped for good: {}",
            t.message
        );
    }
    let mut out = Vec::new();
    st.proto.on_stopped(&t, &mut out);
    inner.apply(&mut st, &mut out, Instant::now());
    st.terminal = Some(Box::new(t.clone()));
    inner.emit(Event::Terminal {
        terminal: t,
        unsent,
    });
}

/// Ends the session after `close()`. `conn_close` is how the connection
/// that was open ended; without one, the code and reason passed to `close()`.
fn finish_user(inner: &Inner, conn_close: Option<(u16, String)>) {
    let (code, reason) = conn_close.unwrap_or_else(|| match &inner.lock().user_closed {
        Some((code, reason)) => (code.unwrap_or(1000), reason.clone()),
        None => (1000, String::new()),
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

/// One connection attempt, from the dial to the supervisor's decision.
async fn attempt(inner: &Inner) -> Step {
    let (running, inbox, frames) = match Box::pin(super::dial::open(inner)).await {
        Ok(opened) => opened,
        Err(step) => return step,
    };
    // 3. Run until it ends (close() and abort() act on the connection).
    // The intercepting path is boxed: passed by value, `running` would
    // otherwise take its space twice in every session's task, including the
    // plain sockets that never take this path (about 2 KiB per connection).
    // A protocol that does not intercept but set a deadline on open (a
    // ready step with a timeout) has it served while the connection runs
    // (see `Protocol::on_deadline`); boxed for the same reason.
    let timed = frames.is_none() && inner.lock().proto.next_deadline().is_some();
    let close = match &frames {
        Some(f) => Box::pin(run_intercepted(inner, running, &inbox, f)).await,
        None if timed => Box::pin(inner.serve(running, |_| false))
            .await
            .expect("serve only stops early when told to"),
        None => running.await,
    };
    // 4. Report the close; unsent messages go back to the queue.
    let (ask, verdict) = {
        let mut st = inner.lock();
        let now = Instant::now();
        let mut out = Vec::new();
        if frames.is_some() {
            for item in inbox.take() {
                st.proto.on_message(item, now, &mut out);
            }
            inbox.close();
        }
        if let Some(conn) = st.conn.take() {
            st.accepted_before += conn.accepted_bytes();
        }
        st.ready = false;
        // Unsent messages are the tail of what this connection took.
        let settled = match close.unsent.first() {
            Some((first, _)) => st.handed_max.map(|_| first.saturating_sub(1)),
            None => st.handed_max,
        };
        for (id, msg) in close.unsent.iter().rev() {
            st.queue.push_front(*id, msg.clone(), msg.len());
        }
        let ask = inner.asks.final_close && close.by_server && st.user_closed.is_none();
        if let Some(err) = &close.error {
            inner.emit(Event::Error(ErrorEvent::new("connection", err.clone())));
        }
        inner.emit(Event::Close {
            code: close.code,
            reason: close.reason.clone(),
            was_clean: close.was_clean,
            by_server: close.by_server,
            settled_through: settled,
            verdict: ask,
        });
        // After close() the protocol hears of the end as a stop
        // (`on_stopped`), not as a lost connection.
        if st.user_closed.is_some() {
            inner.apply(&mut st, &mut out, now);
            return Step::UserClosed(Some((close.code, close.reason)));
        }
        let verdict = st.proto.on_closed(&close, now, &mut out);
        inner.apply(&mut st, &mut out, now);
        st.verdict = None;
        (ask, verdict)
    };
    // 5. The caller's verdict, if it decides which closes are final.
    let now = Instant::now();
    let mut info = SupClose {
        code: verdict.code,
        reason: verdict.reason.clone(),
        by_server: verdict.by_server,
        uptime: None,
        retry_after: verdict.retry_after,
        force_final: verdict.force_final,
    };
    let mut made_final = false;
    if ask {
        let decided = inner
            .serve(std::future::pending::<()>(), |st| {
                st.user_closed.is_some() || st.verdict.is_some()
            })
            .await;
        debug_assert!(decided.is_none());
        let st = inner.lock();
        if st.user_closed.is_some() {
            return Step::UserClosed(Some((close.code, close.reason)));
        }
        if st.verdict == Some(true) {
            made_final = true;
            info = info.with_force_final(explain_final(close.code, &close.reason));
        }
    }
    let mut st = inner.lock();
    if st.user_closed.is_some() {
        return Step::UserClosed(Some((close.code, close.reason)));
    }
    info.uptime = st.sup.uptime(now);
    let Verdict { code, reason, .. } = verdict;
    let d = match st.sup.closed(info, fastrand::f64()) {
        Decision::Terminal(mut t) if made_final => {
            t.kind = TerminalKind::FinalCode;
            Decision::Terminal(t)
        }
        d => d,
    };
    Step::decided(d, code, reason)
}

/// The open phase of a protocol that intercepts messages: feeds them to it
/// (while JS keeps up) and serves its deadlines, until the connection ends.
async fn run_intercepted(
    inner: &Inner,
    running: impl Future<Output = transport::CloseInfo>,
    inbox: &Inbox,
    frames: &Notify,
) -> transport::CloseInfo {
    tokio::pin!(running);
    // Boxed: a Sleep is 112 bytes, and this future's space is reserved in
    // every session's task (also those that never get here).
    let mut timer = Box::pin(tokio::time::sleep_until(far()));
    loop {
        let deadline = inner.lock().proto.next_deadline();
        if let Some(d) = deadline {
            timer.as_mut().reset(tokio::time::Instant::from_std(d));
        }
        let js_full = inner.inbox.is_full() && !inner.inbox.is_closed();
        tokio::select! {
            biased;
            _ = frames.notified(), if !js_full => {
                let items = inbox.take();
                let now = Instant::now();
                let (mut out, mut held) = (Vec::new(), Vec::new());
                let mut st = inner.lock();
                for item in items {
                    st.proto.on_message(item, now, &mut out);
                    inner.apply_holding(&mut st, &mut out, now, &mut held);
                }
                inner.inbox.push_all(&mut held);
            }
            _ = inner.inbox.wait_for_room(), if js_full => {}
            close = &mut running => return close,
            _ = inner.wake.notified() => {}
            _ = &mut timer, if deadline.is_some() => inner.deadline_passed(),
        }
    }
}

/// Waits while paused, serving deadlines, until [`Session::resume`](super::Session::resume) (which
/// restarts the supervisor and tells the protocol) or `close()`. Returns
/// `false` if `close()` came first.
async fn pause(inner: &Inner, t: &Terminal) -> bool {
    {
        let mut st = inner.lock();
        st.paused = true;
        let mut out = Vec::new();
        st.proto.on_paused(t, &mut out);
        inner.apply(&mut st, &mut out, Instant::now());
    }
    tracing::info!(code = t.code, "session: paused: {}", t.message);
    inner
        .serve(std::future::pending::<()>(), |st| {
            st.user_closed.is_some() || !st.paused
        })
        .await;
    inner.lock().user_closed.is_none()
}

pub(super) async fn run(inner: Arc<Inner>) {
    loop {
        match attempt(&inner).await {
            Step::UserClosed(c) => return finish_user(&inner, c),
            Step::Decided {
                decision: Decision::Terminal(t),
                ..
            } => {
                if matches!(t.kind, TerminalKind::Paused(_)) {
                    if pause(&inner, &t).await {
                        continue;
                    }
                    return finish_user(&inner, None);
                }
                return finish(&inner, t);
            }
            Step::Decided {
                decision: Decision::Reconnect { attempt, delay },
                code,
                reason,
                server_wait,
            } => {
                tracing::debug!(
                    attempt,
                    delay_ms = delay.as_secs_f64() * 1e3,
                    code,
                    "reconnect: waiting before the next attempt"
                );
                {
                    let mut st = inner.lock();
                    let mut out = Vec::new();
                    st.proto.on_reconnecting(&mut out);
                    inner.apply(&mut st, &mut out, Instant::now());
                    inner.emit(Event::Reconnecting {
                        attempt,
                        delay,
                        code,
                        reason,
                        retry_after: server_wait,
                    });
                }
                // 5. Wait, unless close() comes first.
                let wait = tokio::time::sleep(delay);
                if inner.serve(wait, user_closed).await.is_none() {
                    return finish_user(&inner, None);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
