//! Pure reconnect policy: no I/O, no clock, no async runtime. The session
//! driver (`crate::session`) reports every connection's end to a
//! [`Supervisor`] and follows its [`Decision`]s.
//!
//! - [`backoff`]: exponential backoff with jitter, reset only after a stable
//!   connection.
//! - [`policy`]: which close codes stop reconnecting, and what every close
//!   code means.
//! - [`flapping`]: stops a loop of connections the server closes right after
//!   opening.
//! - [`handshake`]: which failed upgrades are final, and `Retry-After`.
//! - [`queue`]: the bounded queue for messages sent while disconnected.
//! - [`supervisor`]: the state machine that combines them.
//!
//! It exists because of a kick war: two clients with the same identity kept
//! closing each other with 4001 "Replaced" and reconnecting 3 s later,
//! forever. By default 4001 is final, any such loop under another code is
//! caught by the flapping guard, and each stop comes with a message that says
//! what happened and what to do. Randomness is passed in as an `f64` in
//! `[0, 1)`, so every decision is deterministic and testable.

pub mod backoff;
pub mod flapping;
pub mod handshake;
pub mod policy;
pub mod queue;
pub mod supervisor;

pub use backoff::{Backoff, BackoffConfig, Jitter, base_delay, delay_for};
pub use flapping::{DEFAULT_FLAP_THRESHOLD, DEFAULT_FLAP_WINDOW, FlapGuard, Flapping};
pub use policy::{ClosePolicy, DEFAULT_FINAL_CODES, describe_close_code, explain_final};
pub use queue::{Entry, OverflowPolicy, Push, QueueConfig, SendQueue};
pub use supervisor::{
    CloseInfo, Decision, MIN_RETRY_AFTER, RETRY_AFTER_SPREAD, State, Stats, Supervisor,
    SupervisorConfig, Terminal, TerminalKind, hinted_delay,
};
