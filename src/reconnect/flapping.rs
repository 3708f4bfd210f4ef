//! The flapping guard: stops a reconnect loop in which every connection opens
//! and is closed by the server almost at once.
//!
//! That pattern is either a kick war (two clients with the same identity
//! replacing each other, whatever close code the server uses) or a broken
//! server that accepts connections and drops them. Backoff alone would retry
//! it forever; [`FlapGuard`] ends it after `threshold` such connections in a
//! row.
//!
//! What counts: a connection that opened and was closed by the server within
//! `window` of opening. What resets the run: a connection that stayed up
//! longer, or a close this client started. Attempts that never opened neither
//! count nor reset: a server that is down is the backoff's business.

use std::time::Duration;

use super::policy::describe_close_code;

/// Default number of quick server closes in a row that counts as flapping.
pub const DEFAULT_FLAP_THRESHOLD: u32 = 5;
/// Default window after opening in which a server close counts as quick.
pub const DEFAULT_FLAP_WINDOW: Duration = Duration::from_millis(2000);

/// Detects a run of connections that the server closes right after opening.
#[derive(Debug, Clone)]
pub struct FlapGuard {
    threshold: u32,
    window: Duration,
    run: Vec<u16>,
}

impl Default for FlapGuard {
    fn default() -> Self {
        Self::new(DEFAULT_FLAP_THRESHOLD, DEFAULT_FLAP_WINDOW)
    }
}

impl FlapGuard {
    /// A guard that fires after `threshold` quick server closes in a row, a
    /// close being quick when it comes within `window` of opening (inclusive).
    /// A `threshold` of 0 disables the guard.
    pub fn new(threshold: u32, window: Duration) -> Self {
        Self {
            threshold,
            window,
            run: Vec::new(),
        }
    }

    /// The threshold (0 = disabled).
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The window after opening in which a server close counts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Close codes of the current run of quick server closes, oldest first.
    pub fn run(&self) -> &[u16] {
        &self.run
    }

    /// Records the close of a connection that had opened and stayed open for
    /// `uptime`. Returns [`Flapping`] when this close completes a run of
    /// `threshold`; the run then starts over.
    ///
    /// Do not call this for attempts that never opened.
    pub fn record_close(
        &mut self,
        uptime: Duration,
        code: u16,
        by_server: bool,
    ) -> Option<Flapping> {
        if self.threshold == 0 || !by_server || uptime > self.window {
            self.run.clear();
            return None;
        }
        self.run.push(code);
        if self.run.len() >= self.threshold as usize {
            return Some(Flapping {
                codes: std::mem::take(&mut self.run),
                window: self.window,
            });
        }
        None
    }

    /// Forgets the current run (for a fresh start).
    pub fn reset(&mut self) {
        self.run.clear();
    }
}

/// A detected flapping run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flapping {
    /// The close codes of the run, in order.
    pub codes: Vec<u16>,
    /// The window each connection was closed within.
    pub window: Duration,
}

impl Flapping {
    /// A plain-English explanation: what happened, the likely causes, and
    /// what to do.
    pub fn message(&self) -> String {
        let list = self
            .codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mut distinct = self.codes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let meanings = distinct
            .iter()
            .map(|c| format!("{c} = {}", describe_close_code(*c)))
            .collect::<Vec<_>>()
            .join("; ");
        format!(
            "Stopped reconnecting: the server closed the connection {n} times in a row, each \
             time within {w} ms of it opening (close codes: {list}; {meanings}). This is a kick \
             war, where another client with the same identity and this one keep replacing each \
             other, or a broken server that accepts connections and drops them at once. Stop any \
             other client using this identity (or give this one its own), and check the server \
             log.",
            n = self.codes.len(),
            w = self.window.as_millis(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn fires_on_the_threshold_with_codes_in_order() {
        let mut g = FlapGuard::default();
        assert_eq!((g.threshold(), g.window()), (5, ms(2000)));
        for code in [4001, 1006, 4001, 1000] {
            assert_eq!(g.record_close(ms(10), code, true), None);
        }
        assert_eq!(g.run(), &[4001, 1006, 4001, 1000]);
        let f = g.record_close(ms(2000), 4001, true).expect("flapping");
        assert_eq!(f.codes, vec![4001, 1006, 4001, 1000, 4001]);
        assert!(g.run().is_empty(), "run starts over after firing");
    }

    #[test]
    fn long_connection_resets_the_run() {
        let mut g = FlapGuard::new(3, ms(2000));
        g.record_close(ms(10), 4001, true);
        g.record_close(ms(10), 4001, true);
        assert_eq!(g.record_close(ms(2001), 4001, true), None);
        assert!(g.run().is_empty());
        g.record_close(ms(10), 4001, true);
        g.record_close(ms(10), 4001, true);
        assert!(g.record_close(ms(10), 4001, true).is_some());
    }

    #[test]
    fn our_own_close_resets_the_run() {
        let mut g = FlapGuard::new(2, ms(2000));
        g.record_close(ms(10), 4001, true);
        assert_eq!(g.record_close(ms(10), 1000, false), None);
        assert!(g.run().is_empty());
        assert_eq!(g.record_close(ms(10), 4001, true), None);
        assert!(g.record_close(ms(10), 4001, true).is_some());
    }

    #[test]
    fn zero_threshold_disables() {
        let mut g = FlapGuard::new(0, ms(2000));
        for _ in 0..100 {
            assert_eq!(g.record_close(ms(0), 4001, true), None);
        }
    }

    #[test]
    fn threshold_one_fires_immediately() {
        let mut g = FlapGuard::new(1, ms(2000));
        assert_eq!(g.record_close(ms(0), 1006, true).unwrap().codes, vec![1006]);
    }

    #[test]
    fn message_names_the_causes_and_lists_codes() {
        let f = Flapping {
            codes: vec![4001, 4001, 1006],
            window: ms(2000),
        };
        let m = f.message();
        for needle in [
            "3 times",
            "2000 ms",
            "4001, 4001, 1006",
            "kick war",
            "broken server",
            "same identity",
            "1006 = no close frame",
        ] {
            assert!(m.contains(needle), "missing {needle:?} in {m}");
        }
    }
}
