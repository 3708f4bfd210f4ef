//! Event sequence and `stateVersion` tracking for one connection (protocol
//! doc §9, anchor §1.11).
//!
//! On v4 `seq` is per connection, starts at 1 and grows by 1; a gap means
//! events were dropped (drop-if-slow) and state should be re-fetched. On v3
//! it is a global counter, so gaps are normal there. Unlike the reference
//! client, duplicates and backward jumps are reported too, and they do not
//! move `last()` back.

use super::frames::{EventFrame, StateVersion};

/// What one `seq` value means relative to the ones seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqObservation {
    /// The first `seq` on this connection.
    First,
    /// Exactly `last + 1`.
    InOrder,
    /// Some numbers were skipped: events were missed. `last()` becomes `received`.
    Gap {
        /// `last + 1`.
        expected: u64,
        /// The `seq` that arrived.
        received: u64,
    },
    /// The same `seq` as the last one. `last()` is unchanged.
    Duplicate {
        /// The repeated number.
        seq: u64,
    },
    /// Lower than the last one. `last()` is unchanged.
    Backwards {
        /// The highest `seq` seen so far.
        last: u64,
        /// The lower `seq` that arrived.
        received: u64,
    },
}

/// Tracks `seq` and `stateVersion` on one connection. Call `reset` on every
/// new connection (the gateway restarts `seq` per connection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqTracker {
    last: Option<u64>,
    state_version: Option<StateVersion>,
}

impl SeqTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything (new connection). Seed the state version again from
    /// `HelloOk::snapshot_state_version` after hello.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The highest `seq` seen on this connection.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Classify `seq` and update `last()`.
    pub fn observe(&mut self, seq: u64) -> SeqObservation {
        let Some(last) = self.last else {
            self.last = Some(seq);
            return SeqObservation::First;
        };
        if seq == last {
            SeqObservation::Duplicate { seq }
        } else if seq < last {
            SeqObservation::Backwards {
                last,
                received: seq,
            }
        } else {
            self.last = Some(seq);
            if seq == last + 1 {
                SeqObservation::InOrder
            } else {
                SeqObservation::Gap {
                    expected: last + 1,
                    received: seq,
                }
            }
        }
    }

    /// Fold in a `stateVersion`, keeping the maximum of each counter.
    /// Returns true when either counter advanced (or it is the first one seen).
    pub fn observe_state_version(&mut self, sv: StateVersion) -> bool {
        match &mut self.state_version {
            None => {
                self.state_version = Some(sv);
                true
            }
            Some(cur) => {
                let advanced = sv.presence > cur.presence || sv.health > cur.health;
                cur.presence = cur.presence.max(sv.presence);
                cur.health = cur.health.max(sv.health);
                advanced
            }
        }
    }

    /// The highest presence and health versions seen.
    pub fn state_version(&self) -> Option<StateVersion> {
        self.state_version
    }

    /// Observe an event's `seq` (if any) and `stateVersion` (if any).
    /// Returns the `seq` observation, or `None` for events without `seq`.
    pub fn observe_event(&mut self, event: &EventFrame) -> Option<SeqObservation> {
        if let Some(sv) = event.state_version {
            self.observe_state_version(sv);
        }
        event.seq.map(|s| self.observe(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::frames::{Inbound, parse_inbound};

    #[test]
    fn classifies_sequences() {
        let mut t = SeqTracker::new();
        assert_eq!(t.last(), None);
        assert_eq!(t.observe(1), SeqObservation::First);
        assert_eq!(t.observe(2), SeqObservation::InOrder);
        assert_eq!(
            t.observe(5),
            SeqObservation::Gap {
                expected: 3,
                received: 5
            }
        );
        assert_eq!(t.last(), Some(5));
        assert_eq!(t.observe(5), SeqObservation::Duplicate { seq: 5 });
        assert_eq!(
            t.observe(3),
            SeqObservation::Backwards {
                last: 5,
                received: 3
            }
        );
        assert_eq!(t.last(), Some(5));
        assert_eq!(t.observe(6), SeqObservation::InOrder);
        t.reset();
        assert_eq!(t.last(), None);
        assert_eq!(t.observe(1), SeqObservation::First);
    }

    #[test]
    fn first_can_start_anywhere() {
        let mut t = SeqTracker::new();
        assert_eq!(t.observe(900), SeqObservation::First);
        assert_eq!(t.observe(901), SeqObservation::InOrder);
        assert_eq!(
            t.observe(u64::MAX),
            SeqObservation::Gap {
                expected: 902,
                received: u64::MAX
            }
        );
    }

    #[test]
    fn tracks_state_version_max() {
        let mut t = SeqTracker::new();
        assert_eq!(t.state_version(), None);
        assert!(t.observe_state_version(StateVersion {
            presence: 7,
            health: 21
        }));
        assert!(!t.observe_state_version(StateVersion {
            presence: 6,
            health: 21
        }));
        assert!(t.observe_state_version(StateVersion {
            presence: 6,
            health: 22
        }));
        assert_eq!(
            t.state_version(),
            Some(StateVersion {
                presence: 7,
                health: 22
            })
        );
        t.reset();
        assert_eq!(t.state_version(), None);
    }

    #[test]
    fn observes_events() {
        let mut t = SeqTracker::new();
        let frames = [
            r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}"#,
            r#"{"type":"event","event":"health","seq":1,"stateVersion":{"presence":7,"health":21}}"#,
            r#"{"type":"event","event":"tick","seq":3}"#,
        ];
        let mut out = vec![];
        for f in frames {
            let Inbound::Event(e) = parse_inbound(f).unwrap() else {
                panic!()
            };
            out.push(t.observe_event(&e));
        }
        assert_eq!(
            out,
            [
                None,
                Some(SeqObservation::First),
                Some(SeqObservation::Gap {
                    expected: 2,
                    received: 3
                })
            ]
        );
        assert_eq!(
            t.state_version(),
            Some(StateVersion {
                presence: 7,
                health: 21
            })
        );
    }
}
