//! What every native client holds: its session, the wake-up handle that
//! delivers the session's events to JS, and the worker-teardown hook.

use std::sync::Arc;

use napi::CleanupEnvHook;
use napi::bindgen_prelude::*;

use super::batch::Batch;
use super::wake::{Waker, release_socket};
use crate::runtime;
use crate::session::{Protocol, Session, SessionConfig};
use crate::transport::Inbox;

type Hook<P> = CleanupEnvHook<(Session<P>, Waker, Arc<Inbox>)>;

/// A started session and its JS side.
pub struct NativeSession<P: Protocol> {
    /// The session.
    pub session: Session<P>,
    /// Its wake-up handle.
    pub waker: Waker,
    inbox: Arc<Inbox>,
    cleanup: Option<Hook<P>>,
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
        let cleanup = env.add_env_cleanup_hook(
            (session.clone(), waker.clone(), inbox.clone()),
            |(session, waker, inbox)| {
                waker.forget();
                inbox.close();
                session.abort();
            },
        )?;
        Ok(NativeSession {
            session,
            waker,
            inbox,
            cleanup: Some(cleanup),
        })
    }

    /// After the final event: no more wake-ups, the event loop is no longer
    /// held, and the teardown hook is removed.
    pub fn release(&mut self, env: &Env) -> Result<()> {
        release_socket(env, &self.waker, &self.inbox, &mut self.cleanup)
    }

    /// The inbox its events go through.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Whether [`NativeSession::release`] ran.
    pub fn released(&self) -> bool {
        self.cleanup.is_none()
    }
}
