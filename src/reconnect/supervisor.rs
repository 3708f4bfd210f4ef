//! The reconnect supervisor: the pure state machine an async driver consults
//! after every connection event.
//!
//! The driver reports what happened ([`Supervisor::opened`],
//! [`Supervisor::closed`], [`Supervisor::connect_failed`],
//! [`Supervisor::user_close`]) and gets back a [`Decision`]: reconnect after a
//! delay, or stop for good with a [`Terminal`] that says why in plain English.
//! It does no I/O and reads no clock: times and random numbers are passed in.
//!
//! A close is decided in this order:
//! 1. `force_final`: the caller says stop (for example a gateway error that
//!    pauses reconnecting) → [`TerminalKind::Paused`].
//! 2. A final close code from the server ([`ClosePolicy`]) →
//!    [`TerminalKind::FinalCode`]. By default 4001 "Replaced" stops here, so
//!    two clients with one identity cannot kick each other off forever.
//! 3. The flapping guard ([`FlapGuard`]): too many connections in a row closed
//!    by the server right after opening, whatever the code →
//!    [`TerminalKind::Flapping`].
//! 4. Backoff: [`Decision::Reconnect`] with the next delay, or
//!    [`TerminalKind::RetriesExhausted`] when `max_retries` is used up.
//!
//! A server hint (`retry_after`) replaces the computed delay; see
//! [`hinted_delay`] for how it is bounded.

use std::fmt;
use std::time::{Duration, Instant};

use super::backoff::{Backoff, BackoffConfig, Jitter, apply_jitter, clamp_rand};
use super::flapping::{DEFAULT_FLAP_THRESHOLD, DEFAULT_FLAP_WINDOW, FlapGuard};
use super::policy::{ClosePolicy, describe_close_code, explain_final};

/// The shortest delay a server `retry_after` hint can ask for.
pub const MIN_RETRY_AFTER: Duration = Duration::from_millis(100);

/// How far past a server `retry_after` hint jitter may spread the delay, as a
/// fraction of the hint.
pub const RETRY_AFTER_SPREAD: f64 = 0.2;

/// The connection state, as reported to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The first connection attempt is in progress.
    Connecting,
    /// Connected.
    Open,
    /// The connection was lost: waiting for the retry delay, or dialing again.
    Reconnecting,
    /// Stopped for good: closed by the user or by a terminal decision.
    Closed,
}

impl State {
    /// `"connecting"`, `"open"`, `"reconnecting"` or `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Open => "open",
            State::Reconnecting => "reconnecting",
            State::Closed => "closed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the driver knows about a connection that ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (1006 if the connection dropped without a close frame).
    pub code: u16,
    /// The close reason (may be empty).
    pub reason: String,
    /// Whether the server started the close (`false`: this client did, for
    /// example on a ping timeout).
    pub by_server: bool,
    /// How long the connection was open; `None` if it never opened.
    pub uptime: Option<Duration>,
    /// A server hint for when to come back (for example the gateway's
    /// `retryAfterMs` or a shutdown's `restartExpectedMs`).
    pub retry_after: Option<Duration>,
    /// Set by the caller to stop reconnecting, with the message to show.
    pub force_final: Option<String>,
}

impl CloseInfo {
    /// A close with no hint and no forced stop.
    pub fn new(
        code: u16,
        reason: impl Into<String>,
        by_server: bool,
        uptime: Option<Duration>,
    ) -> Self {
        Self {
            code,
            reason: reason.into(),
            by_server,
            uptime,
            retry_after: None,
            force_final: None,
        }
    }

    /// Adds a server `retry_after` hint.
    pub fn with_retry_after(mut self, hint: Duration) -> Self {
        self.retry_after = Some(hint);
        self
    }

    /// Makes this close terminal, with `message` for the user.
    pub fn with_force_final(mut self, message: impl Into<String>) -> Self {
        self.force_final = Some(message.into());
        self
    }
}

/// Why reconnecting stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalKind {
    /// The server closed with a code in the [`ClosePolicy`] final set.
    FinalCode,
    /// The flapping guard fired; the close codes of the run, in order.
    Flapping {
        /// The close codes of the run, oldest first.
        codes: Vec<u16>,
    },
    /// `max_retries` reconnect attempts were used without a stable connection.
    RetriesExhausted,
    /// The caller stopped reconnecting (`force_final`); the caller's detail.
    Paused(String),
    /// This client was closed by its user ([`Supervisor::user_close`]).
    UserClosed,
    /// An upgrade was refused in a way retrying cannot fix (an HTTP status
    /// such as 401, or a rejected certificate).
    HandshakeRejected {
        /// The HTTP status, if the server answered with one.
        status: Option<u16>,
    },
}

impl TerminalKind {
    /// `"final-code"`, `"flapping"`, `"retries-exhausted"`, `"paused"`, `"handshake-rejected"` or
    /// `"user-closed"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TerminalKind::FinalCode => "final-code",
            TerminalKind::Flapping { .. } => "flapping",
            TerminalKind::RetriesExhausted => "retries-exhausted",
            TerminalKind::Paused(_) => "paused",
            TerminalKind::UserClosed => "user-closed",
            TerminalKind::HandshakeRejected { .. } => "handshake-rejected",
        }
    }
}

/// A stop for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// The close code of the last connection (1006 after a failed connection
    /// attempt).
    pub code: u16,
    /// The close reason of the last connection (the error text after a failed
    /// connection attempt).
    pub reason: String,
    /// A plain-English explanation: what happened, why this client stopped,
    /// what to do.
    pub message: String,
    /// Why it stopped.
    pub kind: TerminalKind,
}

impl fmt::Display for Terminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Wait `delay`, then dial again. `attempt` counts from 1 since the last
    /// stable connection.
    Reconnect {
        /// The retry number since the last stable connection (1 = first).
        attempt: u32,
        /// How long to wait before dialing.
        delay: Duration,
    },
    /// Stop for good.
    Terminal(Terminal),
}

impl Decision {
    /// Whether this is a stop for good.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Decision::Terminal(_))
    }
}

/// Counters kept by the supervisor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections that opened.
    pub connects: u64,
    /// Reconnects decided ([`Decision::Reconnect`] results).
    pub reconnects: u64,
    /// Connection attempts that failed before opening.
    pub connect_failures: u64,
    /// Connections that opened and then closed.
    pub closes: u64,
}

/// Settings for a [`Supervisor`].
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisorConfig {
    /// Backoff settings.
    pub backoff: BackoffConfig,
    /// Which server close codes are final.
    pub close_policy: ClosePolicy,
    /// Quick server closes in a row that count as flapping (default 5; 0
    /// disables the guard).
    pub flap_threshold: u32,
    /// How soon after opening a server close counts as quick (default
    /// 2000 ms).
    pub flap_window: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            backoff: BackoffConfig::default(),
            close_policy: ClosePolicy::default(),
            flap_threshold: DEFAULT_FLAP_THRESHOLD,
            flap_window: DEFAULT_FLAP_WINDOW,
        }
    }
}

impl SupervisorConfig {
    /// Checks the settings (see [`BackoffConfig::validate`]).
    pub fn validate(&self) -> Result<(), String> {
        self.backoff.validate()
    }
}

/// The delay used when the server sent a `retry_after` hint.
///
/// The hint replaces the computed backoff delay, bounded and spread:
/// - it is raised to at least [`MIN_RETRY_AFTER`] (100 ms), so a hint of 0
///   cannot make a tight loop;
/// - unless jitter is [`Jitter::None`], up to [`RETRY_AFTER_SPREAD`] (20 %) of
///   the hint is added from `rand`, so clients told the same thing do not all
///   come back at the same instant; the delay is never shorter than the hint;
/// - the result never exceeds `max_delay`, the caller's hard ceiling, even if
///   the server asked for longer.
///
/// The hint still uses up a retry: it counts toward `max_retries`.
pub fn hinted_delay(cfg: &BackoffConfig, hint: Duration, rand: f64) -> Duration {
    let max = cfg.max_delay;
    let base = hint.clamp(MIN_RETRY_AFTER.min(max), max);
    if cfg.jitter == Jitter::None {
        return base;
    }
    let spread = apply_jitter(
        Jitter::Full,
        base.mul_f64(RETRY_AFTER_SPREAD),
        clamp_rand(rand),
    );
    base.saturating_add(spread).min(max)
}

/// The reconnect state machine. See the module docs for the decision order.
#[derive(Debug, Clone)]
pub struct Supervisor {
    backoff: Backoff,
    flap: FlapGuard,
    policy: ClosePolicy,
    state: State,
    opened_at: Option<Instant>,
    stopped: Option<Terminal>,
    stats: Stats,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::build(SupervisorConfig::default())
    }
}

impl Supervisor {
    /// A supervisor in [`State::Connecting`], or the settings error.
    pub fn new(cfg: SupervisorConfig) -> Result<Self, String> {
        cfg.validate()?;
        Ok(Self::build(cfg))
    }

    fn build(cfg: SupervisorConfig) -> Self {
        Self {
            backoff: Backoff::new(cfg.backoff),
            flap: FlapGuard::new(cfg.flap_threshold, cfg.flap_window),
            policy: cfg.close_policy,
            state: State::Connecting,
            opened_at: None,
            stopped: None,
            stats: Stats::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Retries used since the last stable connection.
    pub fn attempt(&self) -> u32 {
        self.backoff.attempt()
    }

    /// The terminal decision, once stopped for good.
    pub fn terminal(&self) -> Option<&Terminal> {
        self.stopped.as_ref()
    }

    /// Reports that a connection opened at `now`. Returns `false` if the
    /// supervisor is already closed (the user closed it during the dial): the
    /// driver should close the new connection.
    pub fn opened(&mut self, now: Instant) -> bool {
        if self.state == State::Closed {
            return false;
        }
        self.state = State::Open;
        self.opened_at = Some(now);
        self.stats.connects += 1;
        true
    }

    /// How long the current connection has been open at `now`; `None` if it
    /// is not open. Use it to fill [`CloseInfo::uptime`].
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        self.opened_at.map(|t| now.saturating_duration_since(t))
    }

    /// Reports that a connection ended (or never opened, with `uptime:
    /// None`) and decides what to do. `rand` is a random number in `[0, 1)`.
    pub fn closed(&mut self, info: CloseInfo, rand: f64) -> Decision {
        if let Some(t) = &self.stopped {
            let mut t = t.clone();
            if t.kind == TerminalKind::UserClosed {
                (t.code, t.reason) = (info.code, info.reason);
            }
            return Decision::Terminal(t);
        }
        self.opened_at = None;
        if info.uptime.is_some() {
            self.stats.closes += 1;
        }
        self.backoff.connection_ended(info.uptime);
        let flapping = info
            .uptime
            .and_then(|up| self.flap.record_close(up, info.code, info.by_server));

        if let Some(message) = info.force_final {
            return self.stop(Terminal {
                code: info.code,
                reason: info.reason,
                message: message.clone(),
                kind: TerminalKind::Paused(message),
            });
        }
        if info.by_server && self.policy.is_final(info.code) {
            return self.stop(Terminal {
                message: explain_final(info.code, &info.reason),
                code: info.code,
                reason: info.reason,
                kind: TerminalKind::FinalCode,
            });
        }
        if let Some(f) = flapping {
            return self.stop(Terminal {
                message: f.message(),
                code: info.code,
                reason: info.reason,
                kind: TerminalKind::Flapping { codes: f.codes },
            });
        }
        let last = format!(
            "The last connection closed with code {} ({}){}.",
            info.code,
            describe_close_code(info.code),
            if info.reason.is_empty() {
                String::new()
            } else {
                format!(", reason \"{}\"", info.reason)
            }
        );
        self.retry(info.code, info.reason, info.retry_after, rand, last)
    }

    /// Reports that a connection attempt failed before opening (DNS, TCP, TLS
    /// or upgrade error) and decides what to do. Such failures never count as
    /// flapping; a terminal stop here has code 1006 and the error as reason.
    pub fn connect_failed(&mut self, error: impl Into<String>, rand: f64) -> Decision {
        if let Some(t) = &self.stopped {
            return Decision::Terminal(t.clone());
        }
        let error = error.into();
        self.stats.connect_failures += 1;
        let last = format!("The last attempt failed: {error}");
        self.retry(1006, error, None, rand, last)
    }

    /// Reports a failed upgrade that retrying cannot fix: stops for good
    /// with code 1006, `error` as the reason and `message` for the user.
    pub fn handshake_rejected(
        &mut self,
        error: impl Into<String>,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Decision {
        if let Some(t) = &self.stopped {
            return Decision::Terminal(t.clone());
        }
        self.stats.connect_failures += 1;
        self.stop(Terminal {
            code: 1006,
            reason: error.into(),
            message: message.into(),
            kind: TerminalKind::HandshakeRejected { status },
        })
    }

    /// Reports that the user closed the client: no more reconnects. Later
    /// `closed` and `connect_failed` calls answer [`TerminalKind::UserClosed`].
    pub fn user_close(&mut self) {
        self.state = State::Closed;
        self.opened_at = None;
        if self.stopped.is_none() {
            self.stopped = Some(Terminal {
                code: 1000,
                reason: String::new(),
                message: "Closed by this client (close() was called); not reconnecting."
                    .to_string(),
                kind: TerminalKind::UserClosed,
            });
        }
    }

    /// Starts over after a stop: back to [`State::Connecting`] with a fresh
    /// backoff and flapping guard. The counters are kept.
    pub fn restart(&mut self) {
        self.state = State::Connecting;
        self.opened_at = None;
        self.stopped = None;
        self.backoff.reset();
        self.flap.reset();
    }

    fn retry(
        &mut self,
        code: u16,
        reason: String,
        retry_after: Option<Duration>,
        rand: f64,
        last: String,
    ) -> Decision {
        match self.backoff.next(rand) {
            Some((attempt, computed)) => {
                let delay = match retry_after {
                    Some(hint) => hinted_delay(self.backoff.config(), hint, rand),
                    None => computed,
                };
                self.state = State::Reconnecting;
                self.stats.reconnects += 1;
                Decision::Reconnect { attempt, delay }
            }
            None => {
                let cfg = self.backoff.config();
                let n = cfg.max_retries.unwrap_or(0);
                let head = if n == 0 {
                    "Not reconnecting: reconnecting is turned off (max_retries is 0).".to_string()
                } else {
                    format!(
                        "Stopped reconnecting: all {n} reconnect attempts allowed by max_retries \
                         were used without a stable connection (one that stays open for {} ms).",
                        cfg.stable_after.as_millis()
                    )
                };
                self.stop(Terminal {
                    code,
                    reason,
                    message: format!("{head} {last}"),
                    kind: TerminalKind::RetriesExhausted,
                })
            }
        }
    }

    fn stop(&mut self, t: Terminal) -> Decision {
        self.state = State::Closed;
        self.stopped = Some(t.clone());
        Decision::Terminal(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn no_jitter() -> SupervisorConfig {
        SupervisorConfig {
            backoff: BackoffConfig {
                jitter: Jitter::None,
                ..BackoffConfig::default()
            },
            ..SupervisorConfig::default()
        }
    }

    fn sup(cfg: SupervisorConfig) -> Supervisor {
        Supervisor::new(cfg).unwrap()
    }

    fn quick(code: u16) -> CloseInfo {
        CloseInfo::new(code, "", true, Some(ms(20)))
    }

    fn terminal(d: Decision) -> Terminal {
        match d {
            Decision::Terminal(t) => t,
            other => panic!("expected terminal, got {other:?}"),
        }
    }

    #[test]
    fn state_strings() {
        assert_eq!(State::Connecting.as_str(), "connecting");
        assert_eq!(State::Open.as_str(), "open");
        assert_eq!(State::Reconnecting.as_str(), "reconnecting");
        assert_eq!(State::Closed.to_string(), "closed");
    }

    #[test]
    fn rejects_invalid_config() {
        let mut cfg = SupervisorConfig::default();
        cfg.backoff.factor = 0.0;
        assert!(Supervisor::new(cfg).unwrap_err().contains("factor"));
    }

    #[test]
    fn replaced_stops_at_once_with_a_plain_message() {
        let mut s = Supervisor::default();
        let t0 = Instant::now();
        assert!(s.opened(t0));
        assert_eq!(s.state(), State::Open);
        let up = s.uptime(t0 + ms(3000));
        assert_eq!(up, Some(ms(3000)));
        let t = terminal(s.closed(CloseInfo::new(4001, "Replaced", true, up), 0.5));
        assert_eq!(t.kind, TerminalKind::FinalCode);
        assert_eq!((t.code, t.reason.as_str()), (4001, "Replaced"));
        assert!(t.message.contains("same identity") && t.message.contains("kick war"));
        assert!(t.message.contains("\"Replaced\""));
        assert_eq!(s.state(), State::Closed);
        assert_eq!(s.terminal(), Some(&t));
        // Stays stopped.
        assert_eq!(s.connect_failed("x", 0.0), Decision::Terminal(t.clone()));
        assert!(!s.opened(t0));
    }

    #[test]
    fn final_code_counts_only_from_the_server() {
        let mut s = sup(no_jitter());
        let d = s.closed(CloseInfo::new(1008, "", false, Some(ms(10_000))), 0.0);
        assert_eq!(
            d,
            Decision::Reconnect {
                attempt: 1,
                delay: ms(1000)
            }
        );
        assert_eq!(s.state(), State::Reconnecting);
    }

    #[test]
    fn kick_war_with_a_non_final_code_is_caught_by_the_flap_guard() {
        let mut cfg = no_jitter();
        cfg.close_policy = ClosePolicy::new().with_final_codes([]);
        let mut s = sup(cfg);
        for i in 1..5 {
            assert_eq!(
                s.closed(CloseInfo::new(4001, "Replaced", true, Some(ms(50))), 0.0),
                Decision::Reconnect {
                    attempt: i,
                    delay: ms(1000 << (i - 1))
                },
                "quick closes still back off"
            );
        }
        let t = terminal(s.closed(CloseInfo::new(4001, "Replaced", true, Some(ms(50))), 0.0));
        assert_eq!(
            t.kind,
            TerminalKind::Flapping {
                codes: vec![4001; 5]
            }
        );
        assert_eq!(t.kind.as_str(), "flapping");
        assert!(t.message.contains("kick war"));
        assert_eq!(s.state(), State::Closed);
    }

    #[test]
    fn server_that_drops_at_once_is_flapping() {
        let mut s = Supervisor::default();
        for _ in 0..4 {
            assert!(!s.closed(quick(1006), 0.3).is_terminal());
        }
        let t = terminal(s.closed(quick(1011), 0.3));
        assert_eq!(
            t.kind,
            TerminalKind::Flapping {
                codes: vec![1006, 1006, 1006, 1006, 1011]
            }
        );
        assert_eq!(t.code, 1011);
    }

    #[test]
    fn connect_failures_neither_count_nor_reset_flapping() {
        let mut s = sup(no_jitter());
        for _ in 0..3 {
            assert!(!s.closed(quick(1006), 0.0).is_terminal());
        }
        for _ in 0..20 {
            assert!(!s.connect_failed("connection refused", 0.0).is_terminal());
        }
        // Never-opened closes do not count either.
        assert!(
            !s.closed(CloseInfo::new(1006, "", true, None), 0.0)
                .is_terminal()
        );
        assert!(!s.closed(quick(1006), 0.0).is_terminal());
        assert!(s.closed(quick(1006), 0.0).is_terminal());
    }

    #[test]
    fn long_connection_resets_flapping_and_backoff() {
        let mut s = sup(no_jitter());
        for _ in 0..4 {
            let _ = s.closed(quick(1006), 0.0);
        }
        assert_eq!(s.attempt(), 4);
        let d = s.closed(CloseInfo::new(1006, "", true, Some(ms(60_000))), 0.0);
        assert_eq!(
            d,
            Decision::Reconnect {
                attempt: 1,
                delay: ms(1000)
            }
        );
        for _ in 0..4 {
            assert!(!s.closed(quick(1006), 0.0).is_terminal());
        }
    }

    #[test]
    fn force_final_wins_over_everything() {
        let mut s = Supervisor::default();
        let info = CloseInfo::new(4001, "Replaced", true, Some(ms(1)))
            .with_retry_after(ms(500))
            .with_force_final("pairing required: approve this device");
        let t = terminal(s.closed(info, 0.0));
        assert_eq!(
            t.kind,
            TerminalKind::Paused("pairing required: approve this device".into())
        );
        assert_eq!(t.message, "pairing required: approve this device");
        assert_eq!(t.kind.as_str(), "paused");
    }

    #[test]
    fn retries_exhausted_after_connect_failures() {
        let mut cfg = no_jitter();
        cfg.backoff.max_retries = Some(2);
        let mut s = sup(cfg);
        assert_eq!(
            s.connect_failed("ECONNREFUSED", 0.0),
            Decision::Reconnect {
                attempt: 1,
                delay: ms(1000)
            }
        );
        assert_eq!(
            s.connect_failed("ECONNREFUSED", 0.0),
            Decision::Reconnect {
                attempt: 2,
                delay: ms(2000)
            }
        );
        let t = terminal(s.connect_failed("ECONNREFUSED", 0.0));
        assert_eq!(t.kind, TerminalKind::RetriesExhausted);
        assert_eq!((t.code, t.reason.as_str()), (1006, "ECONNREFUSED"));
        assert!(
            t.message.contains("all 2 reconnect attempts") && t.message.contains("ECONNREFUSED")
        );
        assert_eq!(s.stats().connect_failures, 3);
        assert_eq!(s.stats().reconnects, 2);
    }

    #[test]
    fn retries_exhausted_after_a_close_names_the_code() {
        let mut cfg = no_jitter();
        cfg.backoff.max_retries = Some(0);
        let mut s = sup(cfg);
        let t = terminal(s.closed(CloseInfo::new(1012, "restart", true, Some(ms(60_000))), 0.0));
        assert_eq!(t.kind, TerminalKind::RetriesExhausted);
        assert!(
            t.message.contains("max_retries is 0") && t.message.contains("1012 (service restart")
        );
    }

    #[test]
    fn retry_after_replaces_the_delay_within_bounds() {
        let cfg = BackoffConfig::default();
        assert_eq!(hinted_delay(&cfg, ms(5000), 0.0), ms(5000));
        assert_eq!(hinted_delay(&cfg, ms(5000), 0.5), ms(5500));
        let hi = hinted_delay(&cfg, ms(5000), 0.999_999);
        assert!(hi > ms(5999) && hi <= ms(6000), "{hi:?}");
        assert_eq!(hinted_delay(&cfg, Duration::ZERO, 0.0), MIN_RETRY_AFTER);
        assert_eq!(hinted_delay(&cfg, ms(600_000), 0.9), ms(30_000));
        assert_eq!(hinted_delay(&cfg, ms(29_000), 0.9), ms(30_000));
        let exact = BackoffConfig {
            jitter: Jitter::None,
            ..cfg
        };
        assert_eq!(hinted_delay(&exact, ms(1234), 0.9), ms(1234));
        let tiny = BackoffConfig {
            initial_delay: ms(10),
            max_delay: ms(50),
            ..BackoffConfig::default()
        };
        assert_eq!(hinted_delay(&tiny, ms(0), 0.0), ms(50));

        let mut s = sup(no_jitter());
        let d = s.closed(
            CloseInfo::new(1012, "", true, Some(ms(10))).with_retry_after(ms(7000)),
            0.0,
        );
        assert_eq!(
            d,
            Decision::Reconnect {
                attempt: 1,
                delay: ms(7000)
            }
        );
        // The hint still uses up an attempt.
        let d = s.connect_failed("refused", 0.0);
        assert_eq!(
            d,
            Decision::Reconnect {
                attempt: 2,
                delay: ms(2000)
            }
        );
    }

    #[test]
    fn user_close_stops_and_reports_user_closed() {
        let mut s = Supervisor::default();
        assert!(s.opened(Instant::now()));
        s.user_close();
        assert_eq!(s.state(), State::Closed);
        assert_eq!(s.uptime(Instant::now()), None);
        let t = terminal(s.closed(CloseInfo::new(1000, "bye", false, Some(ms(5))), 0.0));
        assert_eq!(t.kind, TerminalKind::UserClosed);
        assert_eq!((t.code, t.reason.as_str()), (1000, "bye"));
        assert_eq!(
            terminal(s.connect_failed("x", 0.0)).kind,
            TerminalKind::UserClosed
        );
        assert!(!s.opened(Instant::now()));
    }

    #[test]
    fn restart_after_a_stop() {
        let mut s = sup(no_jitter());
        let _ = s.closed(quick(1006), 0.0);
        let _ = s.closed(CloseInfo::new(4001, "Replaced", true, Some(ms(10))), 0.0);
        assert_eq!(s.state(), State::Closed);
        s.restart();
        assert_eq!(s.state(), State::Connecting);
        assert_eq!(s.terminal(), None);
        assert_eq!(s.attempt(), 0);
        assert_eq!(
            s.closed(quick(1006), 0.0),
            Decision::Reconnect {
                attempt: 1,
                delay: ms(1000)
            }
        );
    }

    #[test]
    fn stats_count_opens_closes_and_reconnects() {
        let mut s = Supervisor::default();
        let t0 = Instant::now();
        s.opened(t0);
        let _ = s.closed(CloseInfo::new(1001, "", true, Some(ms(9000))), 0.1);
        let _ = s.connect_failed("refused", 0.1);
        s.opened(t0);
        assert_eq!(
            s.stats(),
            Stats {
                connects: 2,
                reconnects: 2,
                connect_failures: 1,
                closes: 1
            }
        );
    }
}
