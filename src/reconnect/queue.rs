//! The bounded send queue used while disconnected.
//!
//! Messages sent while the connection is down wait here and are written, in
//! order, once it is back. The queue is bounded by count (`max_messages`) and
//! by total size (`max_bytes`); what happens when it is full is the
//! [`OverflowPolicy`]. Every entry is `(id, item, bytes)`: the id lets the
//! caller settle the right promise, and `bytes` is the size the caller
//! charges for the item. Nothing is ever lost silently: rejected items,
//! evicted items and [`SendQueue::drain`] hand the items back.

use std::collections::VecDeque;

/// One queued entry: `(id, item, bytes)`.
pub type Entry<T> = (u64, T, usize);

/// What to do when a new message does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Refuse the new message; the queued ones stay (the default).
    #[default]
    RejectNew,
    /// Evict the oldest messages until the new one fits.
    DropOldest,
}

/// Limits for a [`SendQueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Most messages held at once. Default 1000. 0 disables queueing.
    pub max_messages: usize,
    /// Most bytes held at once (sum of the entries' `bytes`). Default 1 MiB.
    pub max_bytes: usize,
    /// What to do when full. Default [`OverflowPolicy::RejectNew`].
    pub overflow: OverflowPolicy,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_messages: 1000,
            max_bytes: 1024 * 1024,
            overflow: OverflowPolicy::RejectNew,
        }
    }
}

/// The result of [`SendQueue::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push<T> {
    /// Queued; nothing was evicted.
    Accepted,
    /// Not queued. `item` is handed back; `reason` names the limit, its value,
    /// and what to do.
    Rejected {
        /// The item that was not queued.
        item: T,
        /// Why, in plain English.
        reason: String,
    },
    /// Queued after evicting these entries, oldest first
    /// ([`OverflowPolicy::DropOldest`]).
    AcceptedDropping(Vec<Entry<T>>),
}

/// A FIFO of messages waiting for the connection, with exact count and byte
/// accounting.
#[derive(Debug, Clone)]
pub struct SendQueue<T> {
    cfg: QueueConfig,
    items: VecDeque<Entry<T>>,
    bytes: usize,
}

impl<T> Default for SendQueue<T> {
    fn default() -> Self {
        Self::new(QueueConfig::default())
    }
}

impl<T> SendQueue<T> {
    /// An empty queue with these limits.
    pub fn new(cfg: QueueConfig) -> Self {
        Self {
            cfg,
            items: VecDeque::new(),
            bytes: 0,
        }
    }

    /// The limits.
    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Total `bytes` of the queued messages.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The oldest entry, without removing it.
    pub fn front(&self) -> Option<&Entry<T>> {
        self.items.front()
    }

    /// Queues a message at the back, within the limits (see [`Push`]).
    ///
    /// A message larger than `max_bytes` is always rejected, whatever the
    /// overflow policy, and so is every message when `max_messages` is 0.
    pub fn push(&mut self, id: u64, item: T, bytes: usize) -> Push<T> {
        let (max_n, max_b) = (self.cfg.max_messages, self.cfg.max_bytes);
        if max_n == 0 {
            return Push::Rejected {
                item,
                reason: "the send queue is disabled (max_messages is 0), so nothing can be \
                         sent while disconnected; wait for the connection to open, or set \
                         max_messages above 0"
                    .to_string(),
            };
        }
        if bytes > max_b {
            return Push::Rejected {
                item,
                reason: format!(
                    "the message is {bytes} bytes, larger than the send queue's max_bytes \
                     limit ({max_b} bytes) for sending while disconnected; split the message, \
                     raise max_bytes, or wait for the connection to open"
                ),
            };
        }
        let fits = |q: &Self| q.items.len() < max_n && q.bytes.saturating_add(bytes) <= max_b;
        match self.cfg.overflow {
            OverflowPolicy::RejectNew if !fits(self) => {
                let reason = if self.items.len() >= max_n {
                    format!(
                        "the send queue is full: {} messages are waiting for the connection \
                         (max_messages is {max_n}); wait for the connection to open, send \
                         less, or raise max_messages",
                        self.items.len()
                    )
                } else {
                    format!(
                        "the send queue is full: {} bytes are waiting for the connection and \
                         this message adds {bytes} (max_bytes is {max_b}); wait for the \
                         connection to open, send less, or raise max_bytes",
                        self.bytes
                    )
                };
                Push::Rejected { item, reason }
            }
            OverflowPolicy::RejectNew => {
                self.push_back(id, item, bytes);
                Push::Accepted
            }
            OverflowPolicy::DropOldest => {
                let mut dropped = Vec::new();
                while !fits(self) {
                    match self.pop_front() {
                        Some(e) => dropped.push(e),
                        None => break,
                    }
                }
                self.push_back(id, item, bytes);
                if dropped.is_empty() {
                    Push::Accepted
                } else {
                    Push::AcceptedDropping(dropped)
                }
            }
        }
    }

    fn push_back(&mut self, id: u64, item: T, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.items.push_back((id, item, bytes));
    }

    /// Removes and returns the oldest entry.
    pub fn pop_front(&mut self) -> Option<Entry<T>> {
        let e = self.items.pop_front()?;
        self.bytes = self.bytes.saturating_sub(e.2);
        Some(e)
    }

    /// Puts an entry back at the front, for a write that failed and must be
    /// retried first. It is always accepted, limits or not (the message was
    /// already accepted once), so the queue may be over its limits until
    /// entries are popped; later pushes see the real totals.
    pub fn push_front(&mut self, id: u64, item: T, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.items.push_front((id, item, bytes));
    }

    /// Empties the queue and hands every entry back, oldest first (on a
    /// terminal stop or a close, so the caller can fail each send).
    pub fn drain(&mut self) -> Vec<Entry<T>> {
        self.bytes = 0;
        self.items.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(
        max_messages: usize,
        max_bytes: usize,
        overflow: OverflowPolicy,
    ) -> SendQueue<&'static str> {
        SendQueue::new(QueueConfig {
            max_messages,
            max_bytes,
            overflow,
        })
    }

    #[test]
    fn defaults() {
        let c = QueueConfig::default();
        assert_eq!((c.max_messages, c.max_bytes), (1000, 1_048_576));
        assert_eq!(c.overflow, OverflowPolicy::RejectNew);
        let d: SendQueue<u8> = SendQueue::default();
        assert!(d.is_empty());
    }

    #[test]
    fn fifo_with_exact_accounting() {
        let mut s = q(10, 100, OverflowPolicy::RejectNew);
        assert_eq!(s.push(1, "a", 10), Push::Accepted);
        assert_eq!(s.push(2, "b", 20), Push::Accepted);
        assert_eq!(s.push(3, "c", 0), Push::Accepted);
        assert_eq!((s.len(), s.bytes()), (3, 30));
        assert_eq!(s.front(), Some(&(1, "a", 10)));
        assert_eq!(s.pop_front(), Some((1, "a", 10)));
        assert_eq!((s.len(), s.bytes()), (2, 20));
        s.push_front(1, "a", 10);
        assert_eq!((s.len(), s.bytes()), (3, 30));
        assert_eq!(s.drain(), vec![(1, "a", 10), (2, "b", 20), (3, "c", 0)]);
        assert_eq!((s.len(), s.bytes()), (0, 0));
        assert_eq!(s.pop_front(), None);
    }

    #[test]
    fn reject_new_on_count() {
        let mut s = q(2, 100, OverflowPolicy::RejectNew);
        s.push(1, "a", 1);
        s.push(2, "b", 1);
        match s.push(3, "c", 1) {
            Push::Rejected { item, reason } => {
                assert_eq!(item, "c");
                assert!(reason.contains("max_messages is 2"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((s.len(), s.bytes()), (2, 2));
    }

    #[test]
    fn reject_new_on_bytes_exact_boundary() {
        let mut s = q(10, 100, OverflowPolicy::RejectNew);
        assert_eq!(s.push(1, "a", 60), Push::Accepted);
        assert_eq!(s.push(2, "b", 40), Push::Accepted, "exactly max_bytes fits");
        match s.push(3, "c", 1) {
            Push::Rejected { reason, .. } => {
                assert!(
                    reason.contains("max_bytes is 100") && reason.contains("100 bytes"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.bytes(), 100);
    }

    #[test]
    fn oversized_item_always_rejected() {
        for policy in [OverflowPolicy::RejectNew, OverflowPolicy::DropOldest] {
            let mut s = q(10, 100, policy);
            s.push(1, "a", 50);
            match s.push(2, "big", 101) {
                Push::Rejected { item, reason } => {
                    assert_eq!(item, "big");
                    assert!(
                        reason.contains("101 bytes") && reason.contains("(100 bytes)"),
                        "{reason}"
                    );
                }
                other => panic!("{other:?}"),
            }
            assert_eq!((s.len(), s.bytes()), (1, 50), "nothing evicted");
        }
    }

    #[test]
    fn zero_max_messages_disables() {
        for policy in [OverflowPolicy::RejectNew, OverflowPolicy::DropOldest] {
            let mut s = q(0, 100, policy);
            assert!(
                matches!(s.push(1, "a", 1), Push::Rejected { reason, .. } if reason.contains("max_messages is 0"))
            );
            assert!(s.is_empty());
        }
    }

    #[test]
    fn drop_oldest_on_count() {
        let mut s = q(2, 100, OverflowPolicy::DropOldest);
        s.push(1, "a", 1);
        s.push(2, "b", 2);
        assert_eq!(s.push(3, "c", 3), Push::AcceptedDropping(vec![(1, "a", 1)]));
        assert_eq!((s.len(), s.bytes()), (2, 5));
        assert_eq!(s.drain(), vec![(2, "b", 2), (3, "c", 3)]);
    }

    #[test]
    fn drop_oldest_on_bytes_evicts_as_many_as_needed() {
        let mut s = q(10, 100, OverflowPolicy::DropOldest);
        s.push(1, "a", 30);
        s.push(2, "b", 30);
        s.push(3, "c", 30);
        assert_eq!(
            s.push(4, "d", 70),
            Push::AcceptedDropping(vec![(1, "a", 30), (2, "b", 30)])
        );
        assert_eq!((s.len(), s.bytes()), (2, 100));
        assert_eq!(s.push(5, "e", 0), Push::Accepted);
        assert_eq!(
            s.push(6, "f", 100),
            Push::AcceptedDropping(vec![(3, "c", 30), (4, "d", 70)])
        );
        // Eviction stops as soon as the new item fits: the 0-byte entry stays.
        assert_eq!((s.len(), s.bytes()), (2, 100));
        assert_eq!(s.drain(), vec![(5, "e", 0), (6, "f", 100)]);
    }

    #[test]
    fn push_front_may_exceed_limits_and_later_pushes_see_it() {
        let mut s = q(2, 100, OverflowPolicy::RejectNew);
        s.push(1, "a", 50);
        s.push(2, "b", 50);
        s.push_front(0, "retry", 10);
        assert_eq!((s.len(), s.bytes()), (3, 110));
        assert!(matches!(s.push(3, "c", 1), Push::Rejected { .. }));
        assert_eq!(s.pop_front(), Some((0, "retry", 10)));
        assert_eq!((s.len(), s.bytes()), (2, 100));

        let mut s = q(2, 100, OverflowPolicy::DropOldest);
        s.push(1, "a", 50);
        s.push(2, "b", 50);
        s.push_front(0, "retry", 10);
        assert_eq!(
            s.push(3, "c", 40),
            Push::AcceptedDropping(vec![(0, "retry", 10), (1, "a", 50)])
        );
        assert_eq!((s.len(), s.bytes()), (2, 90));
        assert_eq!(s.drain(), vec![(2, "b", 50), (3, "c", 40)]);
    }
}
