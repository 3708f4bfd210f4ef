//! Exponential backoff with jitter.
//!
//! Attempt `n` (1 = the first retry) waits a base delay of
//! `min(max_delay, initial_delay * factor^(n-1))`, then [`Jitter`] spreads it
//! so that many clients cut off at the same moment do not all come back at the
//! same moment. The result never exceeds `max_delay`.
//!
//! [`Backoff`] keeps the attempt counter. It resets only after a connection
//! that stayed open for at least `stable_after`, so a server that accepts a
//! connection and drops it at once is still backed off.
//!
//! Everything here is pure: the random number is passed in as an `f64` in
//! `[0, 1)`, and there is no clock.

use std::time::Duration;

/// How the base delay is spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Uniform in `[0, d]` ("full jitter"). Spreads clients the most.
    #[default]
    Full,
    /// `d/2` plus uniform in `[0, d/2]`: never less than half the base delay.
    Equal,
    /// No jitter: exactly `d`. Deterministic, but clients cut off together
    /// come back together.
    None,
}

/// Settings for [`Backoff`] and [`delay_for`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// Base delay before the first retry. Default 1000 ms. Must be > 0.
    pub initial_delay: Duration,
    /// Ceiling for every delay, jitter included. Default 30 000 ms.
    pub max_delay: Duration,
    /// Growth factor per attempt. Default 2.0. Must be finite and >= 1.
    pub factor: f64,
    /// How the base delay is spread. Default [`Jitter::Full`].
    pub jitter: Jitter,
    /// Retries allowed since the last stable connection; `None` (the default)
    /// means unlimited. `Some(0)` means never retry.
    pub max_retries: Option<u32>,
    /// How long a connection must stay open before the attempt counter
    /// resets. Default 5000 ms.
    pub stable_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(1000),
            max_delay: Duration::from_millis(30_000),
            factor: 2.0,
            jitter: Jitter::Full,
            max_retries: None,
            stable_after: Duration::from_millis(5000),
        }
    }
}

impl BackoffConfig {
    /// Checks the settings. The error says which setting is wrong, its value,
    /// and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if !self.factor.is_finite() {
            return Err(format!(
                "backoff factor must be a finite number, got {}",
                self.factor
            ));
        }
        if self.factor < 1.0 {
            return Err(format!(
                "backoff factor must be >= 1 (1 keeps the delay constant), got {}",
                self.factor
            ));
        }
        if self.initial_delay.is_zero() {
            return Err(
                "backoff initial_delay must be > 0 ms; 0 would retry in a tight loop".to_string(),
            );
        }
        if self.initial_delay > self.max_delay {
            return Err(format!(
                "backoff initial_delay ({} ms) must not exceed max_delay ({} ms)",
                self.initial_delay.as_millis(),
                self.max_delay.as_millis()
            ));
        }
        Ok(())
    }
}

/// The delay before retry number `attempt` (1 = the first retry), before
/// jitter: `min(max_delay, initial_delay * factor^(attempt-1))`.
///
/// Attempt 0 is treated as attempt 1. Huge attempts saturate at `max_delay`
/// without overflow.
pub fn base_delay(cfg: &BackoffConfig, attempt: u32) -> Duration {
    let exponent = f64::from(attempt.max(1) - 1);
    let initial = cfg.initial_delay.as_nanos() as f64;
    let max = cfg.max_delay.as_nanos() as f64;
    if initial == 0.0 {
        return Duration::ZERO;
    }
    let scaled = initial * cfg.factor.powf(exponent);
    // Huge attempts make `scaled` infinite; a NaN factor makes it NaN.
    if scaled.is_nan() || scaled >= max {
        return cfg.max_delay;
    }
    Duration::from_nanos(scaled.round() as u64).min(cfg.max_delay)
}

/// The delay before retry number `attempt` (1 = the first retry), jitter
/// applied with `rand` in `[0, 1)`.
///
/// `rand` outside that range is clamped into it (NaN counts as 0). The result
/// is never more than `cfg.max_delay`.
pub fn delay_for(cfg: &BackoffConfig, attempt: u32, rand: f64) -> Duration {
    let base = base_delay(cfg, attempt);
    apply_jitter(cfg.jitter, base, rand).min(cfg.max_delay)
}

/// Spreads `d` with `jitter`, using `rand` in `[0, 1)` (clamped).
pub(crate) fn apply_jitter(jitter: Jitter, d: Duration, rand: f64) -> Duration {
    let r = clamp_rand(rand);
    let nanos = d.as_nanos() as f64;
    let jittered = match jitter {
        Jitter::None => return d,
        Jitter::Full => nanos * r,
        Jitter::Equal => nanos / 2.0 + nanos / 2.0 * r,
    };
    Duration::from_nanos(jittered as u64).min(d)
}

/// Clamps a random number into `[0, 1)`; NaN becomes 0.
pub(crate) fn clamp_rand(rand: f64) -> f64 {
    if rand.is_nan() || rand < 0.0 {
        0.0
    } else if rand >= 1.0 {
        // The largest f64 below 1.
        1.0 - f64::EPSILON / 2.0
    } else {
        rand
    }
}

/// The backoff state: the number of retries since the last stable connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    cfg: BackoffConfig,
    attempt: u32,
}

impl Backoff {
    /// A fresh backoff (no retries yet). Call [`BackoffConfig::validate`]
    /// first; invalid settings are not rejected here.
    pub fn new(cfg: BackoffConfig) -> Self {
        Self { cfg, attempt: 0 }
    }

    /// The settings.
    pub fn config(&self) -> &BackoffConfig {
        &self.cfg
    }

    /// Retries used since the last stable connection (0 = none).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Takes the next retry: `Some((attempt, delay))` with `attempt` counting
    /// from 1, or `None` when `max_retries` is used up (the counter then stays
    /// where it is).
    pub fn next(&mut self, rand: f64) -> Option<(u32, Duration)> {
        if let Some(max) = self.cfg.max_retries
            && self.attempt >= max
        {
            return None;
        }
        self.attempt = self.attempt.saturating_add(1);
        Some((self.attempt, delay_for(&self.cfg, self.attempt, rand)))
    }

    /// Reports that a connection ended. `uptime` is how long it was open, or
    /// `None` if it never opened. The counter resets only when the connection
    /// stayed open for at least `stable_after`.
    pub fn connection_ended(&mut self, uptime: Option<Duration>) {
        if let Some(up) = uptime
            && up >= self.cfg.stable_after
        {
            self.attempt = 0;
        }
    }

    /// Resets the counter unconditionally (for example on a fresh start).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALMOST_ONE: f64 = 1.0 - f64::EPSILON;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn cfg(jitter: Jitter) -> BackoffConfig {
        BackoffConfig {
            jitter,
            ..BackoffConfig::default()
        }
    }

    #[test]
    fn defaults() {
        let c = BackoffConfig::default();
        assert_eq!(c.initial_delay, ms(1000));
        assert_eq!(c.max_delay, ms(30_000));
        assert_eq!(c.factor, 2.0);
        assert_eq!(c.jitter, Jitter::Full);
        assert_eq!(c.max_retries, None);
        assert_eq!(c.stable_after, ms(5000));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn validate_rejects_bad_settings_with_clear_messages() {
        let bad = |f: fn(&mut BackoffConfig)| {
            let mut c = BackoffConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.factor = 0.5).contains(">= 1"));
        assert!(bad(|c| c.factor = f64::NAN).contains("finite"));
        assert!(bad(|c| c.factor = f64::INFINITY).contains("finite"));
        assert!(bad(|c| c.initial_delay = Duration::ZERO).contains("> 0"));
        let e = bad(|c| c.initial_delay = ms(40_000));
        assert!(e.contains("40000 ms") && e.contains("30000 ms"), "{e}");
        let mut ok = BackoffConfig::default();
        ok.factor = 1.0;
        ok.initial_delay = ok.max_delay;
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn base_doubles_then_caps() {
        let c = cfg(Jitter::None);
        let got: Vec<u64> = (1..=8)
            .map(|a| base_delay(&c, a).as_millis() as u64)
            .collect();
        assert_eq!(
            got,
            [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(base_delay(&c, 0), ms(1000));
    }

    #[test]
    fn base_is_monotone_and_never_overflows() {
        for factor in [1.0, 1.5, 2.0, 10.0, 1e300] {
            let c = BackoffConfig {
                factor,
                ..cfg(Jitter::None)
            };
            let mut prev = Duration::ZERO;
            for a in (1..200).chain([1000, 65_536, u32::MAX - 1, u32::MAX]) {
                let d = base_delay(&c, a);
                assert!(d >= prev, "factor {factor} attempt {a}");
                assert!(d <= c.max_delay);
                prev = d;
            }
            assert_eq!(
                base_delay(&c, u32::MAX),
                if factor == 1.0 { ms(1000) } else { ms(30_000) }
            );
        }
    }

    #[test]
    fn fractional_delays_are_exact_enough() {
        let c = BackoffConfig {
            initial_delay: ms(100),
            factor: 1.5,
            ..cfg(Jitter::None)
        };
        assert_eq!(base_delay(&c, 1), ms(100));
        assert_eq!(base_delay(&c, 2), ms(150));
        assert_eq!(base_delay(&c, 3), ms(225));
    }

    #[test]
    fn jitter_none_is_exact() {
        let c = cfg(Jitter::None);
        assert_eq!(delay_for(&c, 3, 0.0), ms(4000));
        assert_eq!(delay_for(&c, 3, ALMOST_ONE), ms(4000));
    }

    #[test]
    fn jitter_full_range() {
        let c = cfg(Jitter::Full);
        assert_eq!(delay_for(&c, 3, 0.0), Duration::ZERO);
        assert_eq!(delay_for(&c, 3, 0.5), ms(2000));
        let hi = delay_for(&c, 3, ALMOST_ONE);
        assert!(hi <= ms(4000) && hi > ms(3999), "{hi:?}");
    }

    #[test]
    fn jitter_equal_range() {
        let c = cfg(Jitter::Equal);
        assert_eq!(delay_for(&c, 3, 0.0), ms(2000));
        assert_eq!(delay_for(&c, 3, 0.5), ms(3000));
        let hi = delay_for(&c, 3, ALMOST_ONE);
        assert!(hi <= ms(4000) && hi > ms(3999), "{hi:?}");
    }

    #[test]
    fn jitter_never_exceeds_max_even_with_bad_rand() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::None] {
            let c = cfg(jitter);
            for rand in [
                0.0,
                0.3,
                ALMOST_ONE,
                1.0,
                7.0,
                -1.0,
                f64::NAN,
                f64::INFINITY,
            ] {
                for a in [1, 5, 6, 100, u32::MAX] {
                    assert!(delay_for(&c, a, rand) <= c.max_delay);
                }
            }
        }
        // Out-of-range rand is clamped, not trusted.
        let c = cfg(Jitter::Full);
        assert_eq!(delay_for(&c, 1, -3.0), Duration::ZERO);
        assert_eq!(delay_for(&c, 1, f64::NAN), Duration::ZERO);
        assert!(delay_for(&c, 1, 5.0) <= ms(1000));
    }

    #[test]
    fn next_counts_attempts_and_stops_at_max_retries() {
        let mut b = Backoff::new(BackoffConfig {
            max_retries: Some(3),
            ..cfg(Jitter::None)
        });
        assert_eq!(b.next(0.0), Some((1, ms(1000))));
        assert_eq!(b.next(0.0), Some((2, ms(2000))));
        assert_eq!(b.next(0.0), Some((3, ms(4000))));
        assert_eq!(b.next(0.0), None);
        assert_eq!(b.next(0.0), None);
        assert_eq!(b.attempt(), 3);
    }

    #[test]
    fn max_retries_zero_never_retries() {
        let mut b = Backoff::new(BackoffConfig {
            max_retries: Some(0),
            ..BackoffConfig::default()
        });
        assert_eq!(b.next(0.5), None);
    }

    #[test]
    fn unlimited_retries_saturate_at_max() {
        let mut b = Backoff::new(cfg(Jitter::None));
        let mut last = None;
        for _ in 0..100 {
            last = b.next(0.0);
        }
        assert_eq!(last, Some((100, ms(30_000))));
    }

    #[test]
    fn counter_resets_only_after_a_stable_connection() {
        let mut b = Backoff::new(cfg(Jitter::None));
        b.next(0.0);
        b.next(0.0);
        // Never opened: no reset.
        b.connection_ended(None);
        assert_eq!(b.attempt(), 2);
        // Accepted and dropped at once: no reset, keeps backing off.
        b.connection_ended(Some(ms(50)));
        assert_eq!(b.attempt(), 2);
        b.connection_ended(Some(ms(4999)));
        assert_eq!(b.next(0.0), Some((3, ms(4000))));
        // Stable for exactly stable_after: reset.
        b.connection_ended(Some(ms(5000)));
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next(0.0), Some((1, ms(1000))));
        b.reset();
        assert_eq!(b.attempt(), 0);
    }

    #[test]
    fn reset_restores_retries_after_exhaustion() {
        let mut b = Backoff::new(BackoffConfig {
            max_retries: Some(1),
            ..cfg(Jitter::None)
        });
        assert!(b.next(0.0).is_some());
        assert!(b.next(0.0).is_none());
        b.connection_ended(Some(ms(60_000)));
        assert_eq!(b.next(0.0), Some((1, ms(1000))));
    }
}
