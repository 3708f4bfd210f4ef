//! The one Tokio runtime shared by every connection in the process.
//!
//! It is created on first use and lives for the rest of the process. It is
//! a current-thread runtime driven by one plain native thread,
//! `clawsock-rt`, which runs every task, the sockets and the timers (a
//! multi-thread runtime with one worker did the same work, with a second
//! scheduler's code in the binary). The thread never keeps Node's event loop
//! alive (only a connection's wake-up handle does, and only while it is
//! open). DNS lookups run on Tokio's blocking pool.
//!
//! **Staying awake after traffic.** A round trip (JS sends, the server
//! answers, JS gets the answer) wakes the Tokio thread twice: for JS's send
//! and for the server's answer. On a virtual machine, waking a thread whose
//! CPU went idle is slow (tens of microseconds: the hypervisor halts an idle
//! vCPU), and `ws`, which has no second thread, never pays it. So after the
//! Tokio thread delivers messages to JS or writes to a socket
//! ([`stay_awake`]), it keeps polling for [`AWAKE`] instead of sleeping: a
//! task that yields in a loop, so the worker polls the sockets without
//! blocking and picks up JS's commands as they come. The cost is bounded:
//! at most [`AWAKE`] of one core after each burst of traffic, nothing while
//! no traffic flows (idle connections cost no CPU), and while messages keep
//! flowing the thread is busy anyway. `CLAWSOCK_STAY_AWAKE_US=0` turns it
//! off.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::Notify;

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("clawsock: could not start the Tokio runtime (out of threads or memory?)")
});

/// The thread that drives [`RUNTIME`]: tasks spawned through [`handle`] run
/// there, and `Handle::block_on` from other threads (the CLI) relies on it
/// for IO and timers.
static DRIVER: Lazy<()> = Lazy::new(|| {
    std::thread::Builder::new()
        .name("clawsock-rt".into())
        .spawn(|| RUNTIME.block_on(std::future::pending::<()>()))
        .expect("clawsock: could not start the Tokio thread");
});

/// A handle to the shared runtime.
pub fn handle() -> &'static Handle {
    Lazy::force(&DRIVER);
    RUNTIME.handle()
}

/// How long the Tokio thread stays awake after traffic (see the module docs).
pub const AWAKE: Duration = Duration::from_micros(100);

/// The awake window, from `CLAWSOCK_STAY_AWAKE_US` if set (0: off).
static WINDOW_NS: Lazy<u64> = Lazy::new(|| {
    let default = AWAKE.as_nanos() as u64;
    match std::env::var("CLAWSOCK_STAY_AWAKE_US") {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(us) => us.saturating_mul(1000),
            Err(_) => {
                tracing::warn!(
                    value = %v,
                    "CLAWSOCK_STAY_AWAKE_US must be a whole number of microseconds (0 turns \
                     staying awake off); using the default, {} µs",
                    AWAKE.as_micros()
                );
                default
            }
        },
    }
});

/// The clock [`AWAKE_UNTIL`] counts from.
static EPOCH: Lazy<Instant> = Lazy::new(Instant::now);
/// Nanoseconds after [`EPOCH`] until which the thread stays awake.
static AWAKE_UNTIL: AtomicU64 = AtomicU64::new(0);
/// Whether the awake task is polling (else it waits on [`START`]).
static POLLING: AtomicBool = AtomicBool::new(false);
static START: Notify = Notify::const_new();
static SPAWNED: Lazy<()> = Lazy::new(|| {
    handle().spawn(stay_awake_task());
});

/// Tasks the runtime keeps for itself (the awake task, once traffic has
/// started it), for counting the connections' own tasks.
pub fn own_tasks() -> usize {
    usize::from(Lazy::get(&SPAWNED).is_some())
}

fn now_ns() -> u64 {
    EPOCH.elapsed().as_nanos() as u64
}

/// Traffic just happened: keep the Tokio thread awake for the window from
/// now. Called on the Tokio thread after a delivery to JS or a write.
pub fn stay_awake() {
    let window = *WINDOW_NS;
    if window == 0 {
        return;
    }
    Lazy::force(&SPAWNED);
    AWAKE_UNTIL.store(now_ns() + window, Ordering::Relaxed);
    if !POLLING.swap(true, Ordering::AcqRel) {
        START.notify_one();
    }
}

/// Polls without blocking while the window lasts: each `yield_now` makes
/// the worker poll the sockets and timers with a zero timeout before it
/// runs the task again, so it never sleeps in between; and each round first
/// yields the CPU to the OS scheduler (`sched_yield`), so a thread that
/// wants this CPU gets it at once.
async fn stay_awake_task() {
    loop {
        START.notified().await;
        while now_ns() < AWAKE_UNTIL.load(Ordering::Relaxed) {
            // Cede the CPU to any other thread that wants it (the JS thread,
            // the peer): polling must not cost them time on a busy machine.
            std::thread::yield_now();
            tokio::task::yield_now().await;
        }
        POLLING.store(false, Ordering::Release);
        // Traffic that came after the last check and found POLLING still
        // set did not notify: look once more before waiting.
        if now_ns() < AWAKE_UNTIL.load(Ordering::Relaxed) && !POLLING.swap(true, Ordering::AcqRel) {
            START.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After traffic the thread polls for the window, then stops: an idle
    /// process spends no CPU.
    #[test]
    fn staying_awake_ends_after_the_window() {
        stay_awake();
        assert_eq!(own_tasks(), 1);
        // Waits on the condition itself (the test times out if the task
        // never stops polling).
        while POLLING.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        assert!(now_ns() >= AWAKE_UNTIL.load(Ordering::Relaxed));
        // A new burst starts it again, and it stops again.
        stay_awake();
        assert!(POLLING.load(Ordering::Acquire) || now_ns() >= AWAKE_UNTIL.load(Ordering::Relaxed));
        while POLLING.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        assert_eq!(own_tasks(), 1);
    }
}
