//! The client's request table: requests held until hello-ok, requests in
//! flight, and their deadlines. Pure (no I/O, no clock: times are passed in).
//!
//! A request is *held* from `request()` until the connection is ready, then
//! *sent*. Held requests survive a reconnect (they were never on the wire);
//! sent ones are failed when the connection closes (they are not replayed,
//! since the gateway may have run them). Every request may carry a deadline
//! that runs from the moment it was made, held or sent.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// The wire id.
    pub id: String,
    /// The method, for errors and stats.
    pub method: String,
    /// The `req` frame text; `None` once it was handed to a connection.
    pub frame: Option<String>,
    /// Keep waiting after a `status:"accepted"` response.
    pub expect_final: bool,
    /// When it times out.
    pub deadline: Option<Instant>,
    /// The timeout it was made with, in ms (for the error message).
    pub timeout_ms: Option<u64>,
}

impl PendingRequest {
    /// Whether the frame was handed to a connection.
    pub fn is_sent(&self) -> bool {
        self.frame.is_none()
    }
}

/// What a `res` frame means for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// No such request in flight (it timed out, was cancelled, or was never sent): drop the frame.
    Unknown,
    /// A provisional `accepted` answer; the request stays in flight.
    Accepted,
    /// The final answer; the request is gone from the table.
    Final(PendingRequest),
}

/// Held and in-flight requests by id, with their deadlines.
#[derive(Debug, Default)]
pub struct PendingTable {
    by_id: HashMap<String, PendingRequest>,
    held: VecDeque<String>,
    deadlines: BTreeSet<(Instant, String)>,
}

impl PendingTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of requests, held and sent.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no requests.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of held requests.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Adds a held request (its frame is set).
    pub fn hold(&mut self, req: PendingRequest) {
        if let Some(d) = req.deadline {
            self.deadlines.insert((d, req.id.clone()));
        }
        self.held.push_back(req.id.clone());
        self.by_id.insert(req.id.clone(), req);
    }

    /// Takes the held requests in the order they were made, marking them as
    /// sent. Returns `(id, method, frame)`; the caller sends each frame or
    /// fails the request with [`PendingTable::remove`].
    pub fn take_held(&mut self) -> Vec<(String, String, String)> {
        let mut out = Vec::with_capacity(self.held.len());
        for id in self.held.drain(..) {
            if let Some(r) = self.by_id.get_mut(&id)
                && let Some(frame) = r.frame.take()
            {
                out.push((id, r.method.clone(), frame));
            }
        }
        out
    }

    /// Removes a request (cancelled, failed to send, or timed out).
    pub fn remove(&mut self, id: &str) -> Option<PendingRequest> {
        let r = self.by_id.remove(id)?;
        if let Some(d) = r.deadline {
            self.deadlines.remove(&(d, r.id.clone()));
        }
        if r.frame.is_some() {
            self.held.retain(|h| h != id);
        }
        Some(r)
    }

    /// Routes a `res` for `id`. `accepted` is `ResponseFrame::is_accepted`.
    /// A held request cannot have a response: it is `Unknown`.
    pub fn route(&mut self, id: &str, accepted: bool) -> Routed {
        match self.by_id.get(id) {
            Some(r) if r.is_sent() => {
                if accepted && r.expect_final {
                    Routed::Accepted
                } else {
                    Routed::Final(self.remove(id).expect("present"))
                }
            }
            _ => Routed::Unknown,
        }
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(d, _)| *d)
    }

    /// Removes and returns every request whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<PendingRequest> {
        let mut out = Vec::new();
        while let Some((d, id)) = self.deadlines.first().cloned() {
            if d > now {
                break;
            }
            self.deadlines.remove(&(d, id.clone()));
            if let Some(r) = self.by_id.remove(&id) {
                if r.frame.is_some() {
                    self.held.retain(|h| *h != id);
                }
                out.push(r);
            }
        }
        out
    }

    /// Removes and returns the sent requests (the connection closed), in no
    /// particular order. Held requests stay.
    pub fn drain_sent(&mut self) -> Vec<PendingRequest> {
        let ids: Vec<String> = self
            .by_id
            .values()
            .filter(|r| r.is_sent())
            .map(|r| r.id.clone())
            .collect();
        ids.iter().filter_map(|id| self.remove(id)).collect()
    }

    /// Removes and returns every request.
    pub fn drain_all(&mut self) -> Vec<PendingRequest> {
        self.held.clear();
        self.deadlines.clear();
        self.by_id.drain().map(|(_, r)| r).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn req(id: &str, deadline: Option<Instant>, expect_final: bool) -> PendingRequest {
        PendingRequest {
            id: id.into(),
            method: "health".into(),
            frame: Some(format!("frame-{id}")),
            expect_final,
            deadline,
            timeout_ms: None,
        }
    }

    #[test]
    fn held_then_sent_in_order() {
        let mut t = PendingTable::new();
        t.hold(req("1", None, false));
        t.hold(req("2", None, false));
        assert_eq!(
            t.route("1", false),
            Routed::Unknown,
            "held cannot be answered"
        );
        let sent = t.take_held();
        assert_eq!(
            sent.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(sent[0].2, "frame-1");
        assert_eq!(t.held_len(), 0);
        assert!(matches!(t.route("2", false), Routed::Final(r) if r.id == "2"));
        assert!(matches!(t.route("1", false), Routed::Final(_)));
        assert_eq!(t.route("1", false), Routed::Unknown);
        assert!(t.is_empty());
    }

    #[test]
    fn two_stage_answer() {
        let mut t = PendingTable::new();
        t.hold(req("a", None, true));
        t.take_held();
        assert_eq!(t.route("a", true), Routed::Accepted);
        assert_eq!(t.len(), 1);
        assert!(matches!(t.route("a", false), Routed::Final(_)));
        // Without expect_final, an accepted answer is final.
        t.hold(req("b", None, false));
        t.take_held();
        assert!(matches!(t.route("b", true), Routed::Final(_)));
    }

    #[test]
    fn deadlines_expire_held_and_sent() {
        let now = Instant::now();
        let mut t = PendingTable::new();
        t.hold(req("late", Some(now + Duration::from_secs(10)), false));
        t.hold(req("soon", Some(now + Duration::from_millis(5)), false));
        t.hold(req("never", None, false));
        assert_eq!(t.next_deadline(), Some(now + Duration::from_millis(5)));
        assert!(t.expire(now).is_empty());
        let gone = t.expire(now + Duration::from_millis(5));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].id, "soon");
        assert_eq!(t.held_len(), 2);
        t.take_held();
        let gone = t.expire(now + Duration::from_secs(11));
        assert_eq!(gone[0].id, "late");
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn close_fails_sent_keeps_held() {
        let mut t = PendingTable::new();
        t.hold(req("1", Some(Instant::now()), false));
        t.take_held();
        t.hold(req("2", None, false));
        let failed = t.drain_sent();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, "1");
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.held_len(), 1);
        assert!(t.remove("2").is_some());
        assert_eq!(t.held_len(), 0);
        assert!(t.drain_all().is_empty());
    }
}
