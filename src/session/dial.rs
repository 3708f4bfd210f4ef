//! The dial phase of a session's loop: where the next attempt goes (the
//! session's own URL and options, or fresh ones the caller supplies), the
//! dial itself, what a failed dial means (final, or retried after the
//! backoff or the server's `Retry-After`), and the open connection handed
//! back to the loop in [`super::driver`].

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::driver::{Inner, St, Step, user_closed};
use super::event::{ErrorEvent, Event, HttpAnswer};
use crate::reconnect::handshake::{explain_final_handshake, wait_after_failure};
use crate::reconnect::supervisor::Decision;
use crate::transport::{self, ConnectOptions, Inbox};

/// A connection that opened: its future, the inbox it pushes to, and the
/// wake-up of a protocol that intercepts messages.
pub(super) type Opened<F> = (F, Arc<Inbox>, Option<Arc<Notify>>);

/// Steps 1 and 2: where to, the dial, and the open connection. Run boxed by
/// [`attempt`], so that the dial's state (the target, the options, the TLS
/// and upgrade futures) is freed once the connection is open instead of
/// taking space in every session's task for the connection's whole life.
pub(super) async fn open(
    inner: &Inner,
) -> Result<Opened<impl Future<Output = transport::CloseInfo> + Send + use<>>, Step> {
    // 1. Dial: where to (asked of the caller before every attempt, when it
    // supplies fresh credentials), then DNS, TCP, TLS and the upgrade.
    let owned = target(inner).await?;
    // The session's own options: shared with the next attempt, or (a session
    // that never reconnects) taken, so they are freed once this one is open.
    let own = {
        let mut st = inner.lock();
        if inner.asks.never_retries {
            st.connect.take()
        } else {
            st.connect.clone()
        }
    };
    let (url, opts) = match (&owned, &own) {
        (Some(t), _) => (t.0.as_str(), &t.1),
        (None, Some(o)) => (inner.url.as_str(), &**o),
        (None, None) => return Err(Step::UserClosed(None)),
    };
    let dial = Box::pin(transport::connect(url, opts));
    let Some(dialed) = inner.serve(dial, user_closed).await else {
        return Err(Step::UserClosed(None));
    };
    let (stream, info) = match dialed {
        Ok(v) => v,
        Err(e) => return Err(dial_failed(inner, e).await),
    };
    // 2. Open: announce, start the connection and tell the protocol, all
    // under the lock, so that no send overtakes the queue and no message or
    // `Sent` event precedes `Open`.
    let mut st = inner.lock();
    if st.user_closed.is_some() {
        return Err(Step::UserClosed(None));
    }
    inner.emit(Event::Open {
        protocol: info.protocol,
        extensions: info.extensions,
        headers: info.headers,
    });
    // A protocol that intercepts messages gets them through an inbox of its
    // own, which wakes this task; otherwise they go straight to JS.
    let frames = st.proto.intercepts().then(|| Arc::new(Notify::new()));
    let inbox = match &frames {
        Some(f) => Arc::new(Inbox::notifying(
            f.clone(),
            opts.inbound_high_water_bytes,
            opts.inbound_high_water_messages,
        )),
        None => inner.inbox.clone(),
    };
    let (conn, running) = transport::start_connection(stream, opts, inbox.clone());
    st.conn = Some(conn);
    st.ready = false;
    st.handed_max = None;
    let now = Instant::now();
    let mut out = Vec::new();
    st.proto.on_open(now, &mut out);
    inner.apply(&mut st, &mut out, now);
    Ok((running, inbox, frames))
}

/// The URL and options of the next attempt, when the caller supplies them
/// (`ask_target`); `None`: the session's own. A caller that fails to supply
/// them fails the attempt with its error, as it is.
async fn target(inner: &Inner) -> Result<Option<Arc<(String, ConnectOptions)>>, Step> {
    if !inner.asks.target {
        return Ok(None);
    }
    {
        let mut st = inner.lock();
        st.target = None;
        let stats = st.sup.stats();
        let attempt = stats.connects + stats.connect_failures + 1;
        inner.emit(Event::Dialing {
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        });
    }
    let stop = |st: &St| st.user_closed.is_some() || st.target.is_some();
    inner.serve(std::future::pending::<()>(), stop).await;
    let mut st = inner.lock();
    if st.user_closed.is_some() {
        return Err(Step::UserClosed(None));
    }
    match *st.target.take().expect("set: the wait ended") {
        Ok(t) => {
            let mut opts =
                ConnectOptions::clone(st.connect.as_deref().expect("kept: it reconnects"));
            if let Some(h) = &t.headers {
                opts.headers = h.clone();
            }
            if let Some(p) = &t.protocols {
                opts.protocols = p.clone();
            }
            st.proto.on_target(&t);
            Ok(Some(Arc::new((t.url, opts))))
        }
        Err(message) => {
            inner.emit(Event::Error(ErrorEvent::new("target", message.clone())));
            let d = st.sup.connect_failed(message.clone(), fastrand::f64());
            Err(Step::decided(d, 1006, message))
        }
    }
}

/// A failed dial: reported, then final (a refusal retrying cannot fix, or
/// the caller's verdict on it), or retried after the backoff or the
/// server's `Retry-After`, whichever is longer.
async fn dial_failed(inner: &Inner, e: transport::ConnectError) -> Step {
    let ask = inner.asks.handshake;
    if ask {
        inner.lock().verdict = None;
    }
    let mut final_message = explain_final_handshake(e.status, e.certificate_rejected, &e.message);
    inner.emit(Event::Error(ErrorEvent {
        message: e.message.clone(),
        kind: e.kind.as_str(),
        status: e.status,
        verdict: ask,
        final_by_default: final_message.is_some(),
        response: e.status.map(|_| HttpAnswer {
            headers: e.headers.clone(),
            body: e.body.clone(),
        }),
    }));
    if ask {
        let stop = |st: &St| st.user_closed.is_some() || st.verdict.is_some();
        inner.serve(std::future::pending::<()>(), stop).await;
        final_message = match inner.lock().verdict {
            Some(true) => final_message.or_else(|| {
                Some(format!(
                    "The connection attempt failed: {}. isFinalHandshakeError said this failure \
                     is final, so this client is not reconnecting.",
                    e.message
                ))
            }),
            _ => None,
        };
    }
    let mut st = inner.lock();
    if st.user_closed.is_some() {
        return Step::UserClosed(None);
    }
    if let Some(message) = final_message {
        let d = st
            .sup
            .handshake_rejected(e.message.clone(), e.status, message);
        return Step::decided(d, 1006, e.message);
    }
    match st.sup.connect_failed(e.message.clone(), fastrand::f64()) {
        Decision::Reconnect { attempt, delay } => {
            let (delay, server_wait) = wait_after_failure(delay, e.status, e.retry_after);
            Step::Decided {
                decision: Decision::Reconnect { attempt, delay },
                code: 1006,
                reason: e.message,
                server_wait,
            }
        }
        d => Step::decided(d, 1006, e.message),
    }
}
