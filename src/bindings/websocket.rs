//! `NativeWebSocket`: the native half of the JS `WebSocket` class.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use napi::CleanupEnvHook;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;
use tokio::sync::Notify;

use super::batch::{Batch, Waker, release_socket};
use super::options::NativeConnectOptions;
use crate::runtime;
use crate::transport::{self, ConnectOptions, Connection, InboundEvent, Inbox, Outgoing};

struct Shared {
    inbox: Arc<Inbox>,
    conn: Mutex<Option<Connection>>,
    aborted: AtomicBool,
    abort: Notify,
    waker: Waker,
}

impl Shared {
    fn push(&self, v: serde_json::Value) {
        self.inbox.push(InboundEvent::Control(v));
    }

    /// Ends the socket at once (worker teardown, or `close()` while connecting).
    fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        self.abort.notify_one();
        if let Some(c) = self.conn.lock().unwrap().as_ref() {
            c.abort();
        }
    }
}

/// The native socket. JS owns one per `WebSocket` object.
#[napi]
pub struct NativeWebSocket {
    shared: Arc<Shared>,
    cleanup: Option<CleanupEnvHook<Arc<Shared>>>,
}

fn run(url: String, opts: ConnectOptions, shared: Arc<Shared>) -> impl Future<Output = ()> {
    // The dial's state and the options live in a box that is freed once the
    // connection is open. What a future captures keeps its space for the
    // future's whole life, and this one lives as long as the connection.
    let opening = Box::pin(open(url, opts, shared.clone()));
    async move {
        let Some(conn) = opening.await else {
            return;
        };
        let close = conn.await;
        if let Some(err) = &close.error {
            shared.push(json!({"type": "error", "message": err, "kind": "connection"}));
        }
        shared.push(close.to_event());
    }
}

/// Dials; on success announces `open` and returns the connection future,
/// on failure pushes `error` and `close`.
async fn open(
    url: String,
    opts: ConnectOptions,
    shared: Arc<Shared>,
) -> Option<impl Future<Output = transport::CloseInfo> + use<>> {
    let attempt = transport::connect(&url, &opts);
    let result = tokio::select! {
        r = attempt => r,
        _ = shared.abort.notified() => Err(transport::ConnectError::new(
            transport::ConnectErrorKind::Aborted,
            "WebSocket was closed before the connection was established",
        )),
    };
    match result {
        Err(e) => {
            shared.push(json!({
                "type": "error",
                "message": e.message,
                "kind": e.kind.as_str(),
                "status": e.status,
            }));
            shared.push(json!({
                "type": "close", "code": 1006, "reason": e.message, "wasClean": false, "byServer": false,
            }));
            None
        }
        Ok((stream, info)) => {
            let (conn, run) = transport::start_connection(stream, &opts, shared.inbox.clone());
            *shared.conn.lock().unwrap() = Some(conn.clone());
            if shared.aborted.load(Ordering::Acquire) {
                conn.abort();
            }
            shared.push(json!({
                "type": "open", "protocol": info.protocol, "extensions": info.extensions,
            }));
            Some(run)
        }
    }
}

#[napi]
impl NativeWebSocket {
    /// Starts connecting at once. `onBatch` receives arrays of events.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        url: String,
        options: Option<NativeConnectOptions>,
        on_batch: Function<Batch, ()>,
    ) -> Result<Self> {
        let opts = options.unwrap_or_default().into_core();
        let (waker, inbox) = Waker::attached(&on_batch, &opts)?;
        let shared = Arc::new(Shared {
            inbox,
            conn: Mutex::new(None),
            aborted: AtomicBool::new(false),
            abort: Notify::new(),
            waker,
        });
        let cleanup = env.add_env_cleanup_hook(shared.clone(), |s| {
            s.waker.release();
            s.inbox.close();
            s.abort();
        })?;
        runtime::handle().spawn(run(url, opts, shared.clone()));
        Ok(NativeWebSocket {
            shared,
            cleanup: Some(cleanup),
        })
    }

    /// Sends on the open connection (borrowed under the lock, not cloned:
    /// this runs once per message); the message id, or -1 if closing.
    fn send(&self, msg: Outgoing, notify: bool) -> Result<f64> {
        let conn = self.shared.conn.lock().unwrap();
        let conn = conn.as_ref().ok_or_else(|| {
            Error::new(
                Status::InvalidArg,
                "InvalidStateError: the WebSocket is not open yet",
            )
        })?;
        Ok(conn.send(msg, notify).map(|id| id as f64).unwrap_or(-1.0))
    }

    /// Queues a text message; returns its id, or -1 if the socket is closing.
    #[napi]
    pub fn send_text(&self, data: String, notify: bool) -> Result<f64> {
        self.send(Outgoing::Text(data.into()), notify)
    }

    /// Queues a binary message; returns its id, or -1 if the socket is closing.
    #[napi]
    pub fn send_binary(&self, data: Uint8Array, notify: bool) -> Result<f64> {
        self.send(Outgoing::Binary(Bytes::copy_from_slice(&data)), notify)
    }

    /// Starts the close handshake, or abandons the connection attempt.
    #[napi]
    pub fn close(&self, code: Option<u32>, reason: Option<String>) {
        let conn = self.shared.conn.lock().unwrap().clone();
        match conn {
            Some(c) => c.close(code.map(|c| c as u16), reason.unwrap_or_default()),
            None => self.shared.abort(),
        }
    }

    /// Drops the connection without a close handshake (like ws's `terminate`).
    #[napi]
    pub fn terminate(&self) {
        self.shared.abort();
    }

    /// Total bytes accepted for sending (JS subtracts what `sent` events report).
    #[napi(getter)]
    pub fn accepted_bytes(&self) -> f64 {
        self.shared
            .conn
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.accepted_bytes() as f64)
            .unwrap_or(0.0)
    }

    /// Opts in to joined text runs in batches (see `batch.rs`). Call right
    /// after construction, before returning to the event loop.
    #[napi]
    pub fn join_text_runs(&self) {
        self.shared.waker.join_text_runs(true);
    }

    /// Called by JS after the close event: stop holding the event loop.
    #[napi]
    pub fn release(&mut self, env: Env) -> Result<()> {
        release_socket(
            &env,
            &self.shared.waker,
            &self.shared.inbox,
            &mut self.cleanup,
        )
    }
}
