//! The one Tokio runtime shared by every connection in the process.
//!
//! It is created on first use and lives for the rest of the process. Its
//! worker threads are plain native threads: they never keep Node's event loop
//! alive (only a connection's wake-up handle does, and only while it is open).

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("clawsock-rt")
        .enable_all()
        .build()
        .expect("clawsock: could not start the Tokio runtime (out of threads or memory?)")
});

/// A handle to the shared runtime.
pub fn handle() -> &'static Handle {
    RUNTIME.handle()
}
