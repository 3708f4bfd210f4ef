//! The inbound queue between the socket and JavaScript.
//!
//! The reader pushes events; the first push after a drain wakes the JS
//! thread once (through the `wake` callback); JS takes everything that is
//! ready in one crossing. There is no timer: a batch is exactly what arrived
//! between two wake-ups. The queue is bounded: when it holds more than the
//! high-water mark, [`Inbox::wait_for_room`] parks the reader, so the socket
//! is not read, TCP backpressure reaches the peer, and memory stays bounded.
//! The consumer can also pause reading outright ([`Inbox::pause`], ws's
//! `pause()`), and ask for the server's pings and pongs
//! ([`Inbox::report_control`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One event for JavaScript.
#[derive(Debug)]
pub enum InboundEvent {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping from the server (already answered), with its payload. Only
    /// for an inbox that asked for control frames ([`Inbox::report_control`]).
    Ping(Bytes),
    /// A pong from the server, with its payload (same condition).
    Pong(Bytes),
    /// Every message up to `id` was written; `bytes` were written since the
    /// last such event. `notify`: a message in the run asked to hear of it.
    Sent {
        /// The last message id written.
        id: u64,
        /// Payload bytes written in this run.
        bytes: u64,
        /// Whether a message in the run asked for this event.
        notify: bool,
    },
    /// A lifecycle or protocol event of the session (boxed: they are rare,
    /// and this keeps every queued message small).
    Session(Box<crate::session::Event>),
    /// A marker with no content ([`Inbox::settle`]): consumers skip it.
    Sync,
}

impl InboundEvent {
    /// What the event counts against the high-water mark in bytes.
    pub(crate) fn weight(&self) -> usize {
        match self {
            InboundEvent::Text(t) => t.len(),
            InboundEvent::Binary(b) | InboundEvent::Ping(b) | InboundEvent::Pong(b) => b.len(),
            InboundEvent::Sent { .. } | InboundEvent::Session(_) | InboundEvent::Sync => 64,
        }
    }
}

#[derive(Default)]
struct Batch {
    events: Vec<InboundEvent>,
    bytes: usize,
}

/// The bounded, batching inbound queue. See the module docs.
pub struct Inbox {
    batch: Mutex<Batch>,
    // Mirrors of the batch's size, so `is_full` (asked once per message by
    // the reader) takes no lock. Written under the lock.
    queued_bytes: AtomicUsize,
    queued_events: AtomicUsize,
    wake_pending: AtomicBool,
    // Events JS has consumed, handed back to be dropped on the reader's
    // thread (see `give_back`).
    spent: Mutex<Vec<InboundEvent>>,
    has_spent: AtomicBool,
    wake: Box<dyn Fn() -> bool + Send + Sync>,
    closed: AtomicBool,
    /// The consumer asked for pings and pongs ([`Inbox::report_control`]).
    control: AtomicBool,
    /// The consumer paused reading ([`Inbox::pause`]).
    paused: AtomicBool,
    /// Wakes a reader waiting for a frame when reading is paused.
    pause_signal: Notify,
    room: Notify,
    high_water_bytes: usize,
    high_water_messages: usize,
}

impl Inbox {
    /// A queue that calls `wake` (from any thread) when the first event of a
    /// batch arrives. `wake` returns `false` when the consumer is gone.
    pub fn new(
        wake: Box<dyn Fn() -> bool + Send + Sync>,
        high_water_bytes: usize,
        high_water_messages: usize,
    ) -> Self {
        Inbox {
            batch: Mutex::new(Batch::default()),
            queued_bytes: AtomicUsize::new(0),
            queued_events: AtomicUsize::new(0),
            wake_pending: AtomicBool::new(false),
            spent: Mutex::new(Vec::new()),
            has_spent: AtomicBool::new(false),
            wake,
            closed: AtomicBool::new(false),
            control: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            pause_signal: Notify::new(),
            room: Notify::new(),
            high_water_bytes: high_water_bytes.max(1),
            high_water_messages: high_water_messages.max(1),
        }
    }

    /// A queue for a consumer on the Tokio side: a batch's first event
    /// notifies `notify`.
    pub fn notifying(
        notify: Arc<Notify>,
        high_water_bytes: usize,
        high_water_messages: usize,
    ) -> Self {
        Self::new(
            Box::new(move || {
                notify.notify_one();
                true
            }),
            high_water_bytes,
            high_water_messages,
        )
    }

    /// Queues `event` and wakes the consumer if no wake-up is pending.
    /// Returns `false` if the consumer is gone (the event is dropped then,
    /// because nobody can receive it).
    pub fn push(&self, event: InboundEvent) -> bool {
        self.push_with(|b| {
            b.bytes += event.weight();
            b.events.push(event);
        })
    }

    /// Queues all of `events` (leaving it empty, capacity kept) under one
    /// lock, with at most one wake-up. Same return value as [`Inbox::push`].
    pub fn push_all(&self, events: &mut Vec<InboundEvent>) -> bool {
        if events.is_empty() {
            return !self.closed.load(Ordering::Acquire);
        }
        let bytes: usize = events.iter().map(InboundEvent::weight).sum();
        let ok = self.push_with(|b| {
            b.bytes += bytes;
            b.events.append(events);
        });
        events.clear();
        ok
    }

    fn push_with(&self, add: impl FnOnce(&mut Batch)) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        if self.has_spent.load(Ordering::Relaxed) && self.has_spent.swap(false, Ordering::Acquire) {
            let spent = std::mem::take(&mut *self.spent.lock().unwrap());
            drop(spent);
        }
        {
            let mut b = self.batch.lock().unwrap();
            add(&mut b);
            self.queued_bytes.store(b.bytes, Ordering::Release);
            self.queued_events.store(b.events.len(), Ordering::Release);
        }
        if !self.wake_pending.swap(true, Ordering::AcqRel) && !(self.wake)() {
            self.closed.store(true, Ordering::Release);
            self.room.notify_waiters();
            return false;
        }
        true
    }

    /// Takes everything queued (called on the JS thread, once per wake-up).
    pub fn take(&self) -> Vec<InboundEvent> {
        self.wake_pending.store(false, Ordering::Release);
        let events = {
            let mut b = self.batch.lock().unwrap();
            b.bytes = 0;
            self.queued_bytes.store(0, Ordering::Release);
            self.queued_events.store(0, Ordering::Release);
            std::mem::take(&mut b.events)
        };
        self.room.notify_waiters();
        events
    }

    /// Hands back events the consumer is done with, so that their buffers
    /// are freed on the thread that allocated them: frees from another
    /// thread contend on the allocator's arena lock with the reader's
    /// allocations. While events are queued the reader is active, and its
    /// next [`Inbox::push`] frees them. When none are, the reader may not
    /// push again for as long as the socket stays quiet, so `events` come
    /// back, with anything handed back before, for the caller to free on the
    /// Tokio thread now (an idle socket holds nothing spent).
    pub fn give_back(&self, mut events: Vec<InboundEvent>) -> Vec<InboundEvent> {
        if self.queued_events.load(Ordering::Acquire) == 0 {
            let mut spent = self.take_spent();
            if spent.is_empty() {
                return events;
            }
            spent.append(&mut events);
            return spent;
        }
        if events.is_empty() {
            return events;
        }
        {
            let mut spent = self.spent.lock().unwrap();
            if spent.is_empty() {
                std::mem::swap(&mut *spent, &mut events);
            } else {
                spent.append(&mut events);
            }
        }
        self.has_spent.store(true, Ordering::Release);
        Vec::new()
    }

    /// What was handed back and not yet freed, if nothing is queued (see
    /// [`Inbox::give_back`]); else nothing.
    pub fn take_spent_if_quiet(&self) -> Vec<InboundEvent> {
        if self.queued_events.load(Ordering::Acquire) == 0 {
            self.take_spent()
        } else {
            Vec::new()
        }
    }

    fn take_spent(&self) -> Vec<InboundEvent> {
        if self.has_spent.load(Ordering::Relaxed) && self.has_spent.swap(false, Ordering::Acquire) {
            std::mem::take(&mut *self.spent.lock().unwrap())
        } else {
            Vec::new()
        }
    }

    /// Marks the consumer as gone; parked readers resume and later pushes
    /// are refused.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.room.notify_waiters();
    }

    /// Whether the consumer is gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Asks the reader to push the server's pings and pongs
    /// ([`InboundEvent::Ping`], [`InboundEvent::Pong`]); off by default.
    pub fn report_control(&self, on: bool) {
        self.control.store(on, Ordering::Relaxed);
    }

    /// Whether the consumer asked for pings and pongs.
    pub fn reports_control(&self) -> bool {
        self.control.load(Ordering::Relaxed)
    }

    /// Pauses (`true`) or resumes reading: while paused the queue counts as
    /// full, so the reader parks (a reader waiting for a frame is woken by
    /// [`Inbox::pause_requested`] first; a frame it was already handling is
    /// finished), the socket is not read and TCP backpressure reaches the
    /// peer. Events already queued, and those the session pushes, are still
    /// delivered.
    pub fn pause(&self, on: bool) {
        self.paused.store(on, Ordering::Release);
        if on {
            self.pause_signal.notify_one();
        } else {
            self.room.notify_waiters();
        }
    }

    /// Completes when [`Inbox::pause`] asks the reader to stop (one reader:
    /// a request made while it was not waiting is kept for its next wait).
    pub async fn pause_requested(&self) {
        self.pause_signal.notified().await
    }

    /// Whether the queue is at or over its high-water mark, or paused.
    pub fn is_full(&self) -> bool {
        self.paused.load(Ordering::Acquire)
            || self.queued_bytes.load(Ordering::Acquire) >= self.high_water_bytes
            || self.queued_events.load(Ordering::Acquire) >= self.high_water_messages
    }

    /// Waits until the consumer has handled every event pushed so far: the
    /// queue is taken, then an [`InboundEvent::Sync`] marker (which
    /// consumers skip) is pushed and taken too. A consumer takes a batch
    /// only after it has handled the one before, so whatever it did about
    /// those events (e.g. JS answering a message with a send) has happened.
    /// Returns at once if the consumer is gone.
    pub async fn settle(&self) {
        self.wait_empty().await;
        if self.push(InboundEvent::Sync) {
            self.wait_empty().await;
        }
    }

    async fn wait_empty(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.queued_events.load(Ordering::Acquire) == 0 || self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Waits until the queue is below its high-water mark (or closed).
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.is_full() || self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn counting() -> (Arc<AtomicUsize>, Inbox) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let inbox = Inbox::new(
            Box::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
                true
            }),
            10,
            3,
        );
        (wakes, inbox)
    }

    /// Spent events wait for the reader's next push only while it is
    /// active; with nothing queued they come back to be freed now, with
    /// whatever was handed back before, so a quiet socket holds none.
    #[test]
    fn spent_events_are_held_only_while_the_reader_is_active() {
        let (_, inbox) = counting();
        inbox.push(InboundEvent::Text("a".into()));
        let first = inbox.take();
        inbox.push(InboundEvent::Text("b".into()));
        // Something is queued: kept for the next push.
        assert!(inbox.give_back(first).is_empty());
        assert!(inbox.take_spent_if_quiet().is_empty());
        let second = inbox.take();
        // Nothing queued: both batches come back at once.
        let back = inbox.give_back(second);
        assert_eq!(back.len(), 2);
        assert!(inbox.take_spent_if_quiet().is_empty());

        // Kept while busy, then freed by the next push.
        inbox.push(InboundEvent::Text("c".into()));
        let third = inbox.take();
        inbox.push(InboundEvent::Text("d".into()));
        assert!(inbox.give_back(third).is_empty());
        inbox.push(InboundEvent::Text("e".into()));
        assert!(!inbox.has_spent.load(Ordering::Acquire));
        assert_eq!(inbox.take().len(), 2);
        assert!(inbox.take_spent_if_quiet().is_empty());

        // A batch freed by the consumer itself still collects what a busy
        // moment left behind once the queue is quiet.
        inbox.push(InboundEvent::Text("f".into()));
        let fourth = inbox.take();
        inbox.push(InboundEvent::Text("g".into()));
        assert!(inbox.give_back(fourth).is_empty());
        assert!(inbox.take_spent_if_quiet().is_empty());
        drop(inbox.take());
        assert_eq!(inbox.take_spent_if_quiet().len(), 1);
    }

    #[test]
    fn one_wake_per_batch() {
        let (wakes, inbox) = counting();
        inbox.push(InboundEvent::Text("a".into()));
        inbox.push(InboundEvent::Text("b".into()));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(inbox.take().len(), 2);
        inbox.push(InboundEvent::Text("c".into()));
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn push_all_is_one_batch_in_order_with_sizes() {
        let (wakes, inbox) = counting();
        let mut events = vec![
            InboundEvent::Text("ab".into()),
            InboundEvent::Binary(Bytes::from_static(b"cde")),
        ];
        assert!(inbox.push_all(&mut events));
        assert!(events.is_empty());
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert!(!inbox.is_full()); // 5 bytes of 10, 2 events of 3
        events.push(InboundEvent::Text("f".into()));
        assert!(inbox.push_all(&mut events));
        assert!(inbox.is_full()); // 3 events
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let got: Vec<String> = inbox
            .take()
            .into_iter()
            .map(|e| match e {
                InboundEvent::Text(t) => t.to_string(),
                InboundEvent::Binary(b) => String::from_utf8(b.to_vec()).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got, ["ab", "cde", "f"]);
        assert!(inbox.push_all(&mut Vec::new()));
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "an empty push does not wake"
        );
        inbox.close();
        assert!(!inbox.push_all(&mut vec![InboundEvent::Text("g".into())]));
    }

    #[test]
    fn full_by_count_and_bytes() {
        let (_, inbox) = counting();
        inbox.push(InboundEvent::Binary(Bytes::from_static(b"0123456789")));
        assert!(inbox.is_full());
        inbox.take();
        assert!(!inbox.is_full());
        for _ in 0..3 {
            inbox.push(InboundEvent::Text("x".into()));
        }
        assert!(inbox.is_full());
    }

    #[tokio::test]
    async fn reader_resumes_after_take() {
        let (_, inbox) = counting();
        let inbox = Arc::new(inbox);
        for _ in 0..3 {
            inbox.push(InboundEvent::Text("x".into()));
        }
        let i2 = inbox.clone();
        let waiter = tokio::spawn(async move { i2.wait_for_room().await });
        tokio::task::yield_now().await;
        assert_eq!(inbox.take().len(), 3);
        waiter.await.unwrap();
    }

    /// settle() returns only after the batch holding the events pushed
    /// before it was taken and a later batch (its marker) was taken too.
    #[tokio::test]
    async fn settle_waits_for_two_takes() {
        let (_, inbox) = counting();
        let inbox = Arc::new(inbox);
        inbox.push(InboundEvent::Text("m".into()));
        let settling = tokio::spawn({
            let inbox = inbox.clone();
            async move { inbox.settle().await }
        });
        // First take: the message (the consumer is now handling it).
        let first = loop {
            let got = inbox.take();
            if !got.is_empty() {
                break got;
            }
            tokio::task::yield_now().await;
        };
        assert!(matches!(first[..], [InboundEvent::Text(_)]));
        assert!(!settling.is_finished());
        // Second take: the marker, which says the first batch was handled.
        let second = loop {
            let got = inbox.take();
            if !got.is_empty() {
                break got;
            }
            tokio::task::yield_now().await;
        };
        match &second[..] {
            [InboundEvent::Sync] => {}
            other => panic!("{other:?}"),
        }
        settling.await.unwrap();
    }

    #[tokio::test]
    async fn a_paused_inbox_parks_the_reader_until_resumed() {
        let (_, inbox) = counting();
        let inbox = Arc::new(inbox);
        inbox.pause(true);
        assert!(
            inbox.is_full(),
            "an empty paused inbox lets the reader read"
        );
        // A reader that was waiting for a frame (not at is_full) hears of it.
        assert!(
            futures_util::FutureExt::now_or_never(inbox.pause_requested()).is_some(),
            "a pause made while the reader was not waiting was lost"
        );
        let i2 = inbox.clone();
        let waiter = tokio::spawn(async move { i2.wait_for_room().await });
        tokio::task::yield_now().await;
        assert!(inbox.take().is_empty());
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "a take while paused released the reader"
        );
        inbox.pause(false);
        waiter.await.unwrap();
        assert!(!inbox.is_full());
    }

    #[test]
    fn gone_consumer_refuses() {
        let inbox = Inbox::new(Box::new(|| false), 10, 10);
        assert!(!inbox.push(InboundEvent::Text("a".into())));
        assert!(inbox.is_closed());
    }
}
