//! What every native client holds: its session, the wake-up handle that
//! delivers the session's events to JS, and the worker-teardown hook.
//!
//! The teardown hook is a Node-API environment cleanup hook of our own, not
//! napi-rs's `add_env_cleanup_hook`: removing one of those never frees the
//! data it holds, which here is the session itself, so every socket leaked
//! its session state (~1 KiB) once closed.

use std::ffi::c_void;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::batch::Batch;
use super::wake::Waker;
use crate::runtime;
use crate::session::{Protocol, Session, SessionConfig};
use crate::transport::Inbox;

/// A started session and its JS side.
pub struct NativeSession<P: Protocol> {
    /// The session.
    pub session: Session<P>,
    /// Its wake-up handle.
    pub waker: Waker,
    inbox: Arc<Inbox>,
    teardown: Option<Teardown>,
}

impl<P: Protocol> NativeSession<P> {
    /// Starts `proto` on the shared runtime; its events go to `on_batch`.
    /// If the environment is torn down (worker termination) first, the
    /// session is aborted.
    pub fn start(
        env: &Env,
        cfg: SessionConfig,
        proto: P,
        on_batch: &Function<Batch, ()>,
    ) -> Result<Self> {
        let (waker, inbox) = Waker::attached(env, on_batch, &cfg.connect)?;
        let session = Session::start(cfg, proto, inbox.clone(), runtime::handle())
            .map_err(|e| Error::new(Status::InvalidArg, format!("clawsock: {e}")))?;
        let (s, w, i) = (session.clone(), waker.clone(), inbox.clone());
        let teardown = Teardown::add(
            env,
            // Abort first: with the inbox closed first, the reader could
            // see its consumer gone and end the connection with a close
            // frame before the abort dropped it.
            Box::new(move || {
                s.abort();
                w.forget();
                i.close();
            }),
        )?;
        Ok(NativeSession {
            session,
            waker,
            inbox,
            teardown: Some(teardown),
        })
    }

    /// After the final event: no more wake-ups, the event loop is no longer
    /// held, the inbox refuses further events, and the teardown hook (with
    /// the references it holds) is removed.
    pub fn release(&mut self, env: &Env) -> Result<()> {
        self.waker.release(env);
        self.inbox.close();
        match self.teardown.take() {
            Some(t) => t.remove(env),
            None => Ok(()),
        }
    }

    /// The inbox its events go through.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Whether [`NativeSession::release`] ran.
    pub fn released(&self) -> bool {
        self.teardown.is_none()
    }
}

/// What runs at environment teardown.
type Hook = Box<dyn FnOnce()>;

/// A registered environment cleanup hook that owns its closure: removing it
/// frees the closure and what it holds.
struct Teardown(*mut Hook);

impl Teardown {
    fn add(env: &Env, hook: Hook) -> Result<Teardown> {
        let data = Box::into_raw(Box::new(hook));
        let status = unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(run), data.cast()) };
        if status != sys::Status::napi_ok {
            // SAFETY: not registered, so still ours.
            drop(unsafe { Box::from_raw(data) });
            check_status!(status)?;
        }
        Ok(Teardown(data))
    }

    /// Unregisters the hook and frees it, without running it (JS thread).
    fn remove(self, env: &Env) -> Result<()> {
        let status =
            unsafe { sys::napi_remove_env_cleanup_hook(env.raw(), Some(run), self.0.cast()) };
        // SAFETY: unregistered (Node reports no error for a hook it did not
        // find), so `run` will not see it.
        drop(unsafe { Box::from_raw(self.0) });
        check_status!(status)
    }
}

/// The cleanup hook: runs and frees the closure (environment teardown).
unsafe extern "C" fn run(data: *mut c_void) {
    // SAFETY: the box made in `Teardown::add`; Node calls a hook once and
    // only while it is registered.
    let hook = unsafe { Box::from_raw(data.cast::<Hook>()) };
    hook();
}
