//! `clawsock probe`: one connection, step by step.
//!
//! The steps are those of [`crate::transport::connect`] (DNS, TCP, TLS, HTTP
//! upgrade): the probe runs the same dial ([`dial`]) and the same connection
//! actor ([`spawn_connection`]), but reports each step on its own as it
//! ends, also when a later step fails: a TLS failure still shows how long
//! DNS and TCP took, and which certificate the server presented.
//!
//! When TLS verification fails, the probe opens one more TCP connection and
//! runs a TLS handshake that records the server's certificate chain without
//! judging it, so the report can show the subject, issuer and expiry of the
//! certificate that was refused. Nothing is sent on that connection.
//!
//! Every step is reported as it ends through the `emit` callback
//! (`{type:"step"|"message"|"close", ...}`), and the whole run is returned as
//! one JSON report. Header values are never part of either (names only).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::ClientConnection;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant as TokioInstant;

use super::{ExitClass, close_next_step, explain_close_code, redact_url};
use crate::transport::dial::{DialFailure, DialStep, dial};
use crate::transport::happy_eyeballs::{Attempt, FamilyOptions};
use crate::transport::proxy::ProxyPlan;
use crate::transport::stream::Stream;
use crate::transport::{
    CloseInfo, ConnectErrorKind as Kind, ConnectInfo, ConnectOptions, InboundEvent, Inbox,
    Outgoing, TlsOptions, spawn_connection, tls,
};

/// What `clawsock probe` was asked to do.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Extra request headers. Values are sent, never reported.
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer.
    pub protocols: Vec<String>,
    /// Deadline for DNS + TCP + TLS + upgrade, and for the reply to `send`.
    pub timeout: Duration,
    /// A text message to send once open.
    pub send: Option<String>,
    /// How long to stay connected after open (after the reply to `send`).
    pub listen: Duration,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Happy Eyeballs and address family.
    pub family: FamilyOptions,
    /// The proxy decision (`--proxy`, or the environment).
    pub proxy: ProxyPlan,
    /// Follow redirects (`--follow-redirects`).
    pub follow_redirects: bool,
    /// The most redirects followed.
    pub max_redirects: u32,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            headers: Vec::new(),
            protocols: Vec::new(),
            timeout: Duration::from_secs(10),
            send: None,
            listen: Duration::ZERO,
            tls: TlsOptions {
                reject_unauthorized: true,
                ..TlsOptions::default()
            },
            family: FamilyOptions::default(),
            proxy: ProxyPlan::default(),
            follow_redirects: false,
            max_redirects: 10,
        }
    }
}

/// Receives each event as it happens.
pub type Emit = Arc<dyn Fn(Value) + Send + Sync>;

/// Longest text kept per received message in the report.
const MAX_TEXT: usize = 64 * 1024;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

struct Failure {
    kind: &'static str,
    class: ExitClass,
    step: &'static str,
    message: String,
    status: Option<u16>,
    body: Option<String>,
}

impl Failure {
    fn new(kind: Kind, step: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind: kind.as_str(),
            class: ExitClass::from_connect_error(kind),
            step,
            message: message.into(),
            status: None,
            body: None,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "class": self.class.as_str(),
            "exitCode": self.class.code(),
            "kind": self.kind,
            "step": self.step,
            "message": self.message,
            "status": self.status,
            "body": self.body,
        })
    }
}

struct Run {
    emit: Emit,
    steps: Vec<Value>,
    messages: Vec<Value>,
    started: Instant,
}

impl Run {
    fn step(&mut self, v: Value) {
        let mut event = v.clone();
        event["type"] = json!("step");
        (self.emit)(event);
        self.steps.push(v);
    }

    fn message(&mut self, mut v: Value) {
        v["atMs"] = json!(ms(self.started.elapsed()));
        let mut event = v.clone();
        event["type"] = json!("message");
        (self.emit)(event);
        self.messages.push(v);
    }
}

/// Runs the probe. Never fails: every outcome is in the report.
pub async fn probe(url: &str, opts: &ProbeOptions, emit: Emit) -> Value {
    let mut run = Run {
        emit,
        steps: Vec::new(),
        messages: Vec::new(),
        started: Instant::now(),
    };
    let shown_url = redact_url(url);
    tracing::info!(url = %shown_url, timeout_ms = opts.timeout.as_millis() as u64, "probe: start");
    let (failure, close) = match steps(url, opts, &mut run).await {
        Ok(close) => close,
        Err(f) => (Some(f), None),
    };
    let exit = match (&failure, &close) {
        (Some(f), _) => f.class,
        (None, Some(c)) => c.1,
        (None, None) => ExitClass::Ok,
    };
    if let Some(f) = &failure {
        tracing::info!(step = f.step, kind = f.kind, exit_code = f.class.code(), message = %f.message, "probe: failed");
    }
    json!({
        "url": shown_url,
        "ok": exit == ExitClass::Ok,
        "exitCode": exit.code(),
        "class": exit.as_str(),
        "steps": run.steps,
        "messages": run.messages,
        "close": close.map(|c| c.0),
        "failure": failure.map(|f| f.to_json()),
        "totalMs": ms(run.started.elapsed()),
    })
}

type Outcome = (Option<Failure>, Option<(Value, ExitClass)>);

async fn steps(url: &str, opts: &ProbeOptions, run: &mut Run) -> Result<Outcome, Failure> {
    let copts = ConnectOptions {
        protocols: opts.protocols.clone(),
        headers: opts.headers.clone(),
        handshake_timeout: opts.timeout,
        tls: opts.tls.clone(),
        family: opts.family.clone(),
        proxy: opts.proxy.clone(),
        follow_redirects: opts.follow_redirects,
        max_redirects: opts.max_redirects,
        ..ConnectOptions::default()
    };
    let deadline = TokioInstant::now() + opts.timeout;
    let header_names: Vec<&str> = opts.headers.iter().map(|(n, _)| n.as_str()).collect();
    let server_name = |info: &ConnectInfo| {
        opts.tls
            .servername
            .clone()
            .unwrap_or_else(|| info.host.clone())
    };
    let mut observe = |step: DialStep, info: &ConnectInfo, tls: Option<&ClientConnection>| {
        let v = match step {
            DialStep::Url => return,
            DialStep::Dns => {
                let shown: Vec<String> =
                    info.addresses.iter().map(|a| a.ip().to_string()).collect();
                json!({"step": "dns", "ok": true, "ms": ms(info.dns), "host": info.host, "addresses": shown, "proxy": info.proxy})
            }
            DialStep::Tcp => {
                json!({"step": "tcp", "ok": true, "ms": ms(info.tcp), "peer": info.peer.map(|p| p.to_string()), "attempts": attempts_json(&info.attempts)})
            }
            DialStep::Proxy => json!({
                "step": "proxy", "ok": true, "ms": ms(info.tunnel), "proxy": info.proxy, "source": info.proxy_source,
            }),
            DialStep::Redirect => {
                let (status, to) = info.redirects.last().cloned().unwrap_or_default();
                json!({"step": "redirect", "ok": true, "hop": info.redirects.len(), "status": status, "location": redact_url(&to)})
            }
            DialStep::Tls => {
                let certs: Vec<String> = tls
                    .and_then(|c| c.peer_certificates())
                    .map(|c| c.iter().map(b64).collect())
                    .unwrap_or_default();
                json!({
                    "step": "tls", "ok": true, "ms": ms(info.tls), "serverName": server_name(info),
                    "version": info.tls_version, "cipher": info.tls_cipher, "alpn": info.tls_alpn,
                    "verified": opts.tls.reject_unauthorized, "certificates": certs,
                })
            }
            DialStep::Upgrade => json!({
                "step": "upgrade", "ok": true, "ms": ms(info.upgrade),
                "status": info.status, "protocol": info.protocol, "extensions": info.extensions,
                "server": info.server, "headers": header_names,
            }),
        };
        run.step(v);
    };
    let failed = match dial(url, &copts, &mut observe).await {
        Ok((stream, _)) => return Ok(exchange(stream, opts, run).await),
        Err(f) => f,
    };

    // The failing step, in the CLI's words.
    let DialFailure {
        step,
        error,
        info,
        tls_error,
    } = failed;
    let timed_out = error.kind == Kind::Timeout;
    let mut message = error
        .message
        .replace(&format!("{url:?}"), &format!("{:?}", redact_url(url)))
        .replace("(tls.servername)", "(--servername)")
        .replace("pass tls.ca", "pass --ca <file>");
    if timed_out {
        message.push_str(" (--timeout)");
    }
    let v = match step {
        DialStep::Url => None,
        DialStep::Dns if timed_out => {
            Some(json!({"step": "dns", "ok": false, "ms": ms(info.dns), "host": info.host}))
        }
        DialStep::Dns => Some(
            json!({"step": "dns", "ok": false, "ms": ms(info.dns), "host": info.host, "error": message}),
        ),
        DialStep::Tcp if timed_out => Some(
            json!({"step": "tcp", "ok": false, "ms": ms(info.tcp), "tried": info.tried.map(|a| a.to_string()), "attempts": attempts_json(&info.attempts), "error": message}),
        ),
        DialStep::Tcp => Some(
            json!({"step": "tcp", "ok": false, "ms": ms(info.tcp), "attempts": attempts_json(&info.attempts), "error": message}),
        ),
        DialStep::Proxy | DialStep::Redirect => Some(json!({
            "step": step.as_str(), "ok": false, "ms": ms(info.tunnel), "proxy": info.proxy,
            "source": info.proxy_source, "status": error.status, "error": message,
        })),
        DialStep::Tls => {
            let name = server_name(&info);
            let mut certs = Vec::new();
            if matches!(tls_error, Some(rustls::Error::InvalidCertificate(_)))
                && let Some(addr) = info.peer
                && let Ok(sni) = ServerName::try_from(name.clone())
            {
                certs = peek_certificates(addr, sni, deadline).await;
            }
            let certs: Vec<String> = certs.iter().map(b64).collect();
            Some(json!({
                "step": "tls", "ok": false, "ms": ms(info.tls), "serverName": name,
                "error": message, "certificates": certs,
            }))
        }
        DialStep::Upgrade => Some(json!({
            "step": "upgrade", "ok": false, "ms": ms(info.upgrade), "status": error.status,
            "body": error.body, "error": message, "headers": header_names,
        })),
    };
    if let Some(v) = v {
        run.step(v);
    }
    let mut f = Failure::new(error.kind, step.as_str(), message);
    f.status = error.status;
    f.body = error.body;
    Err(f)
}

/// The TCP step's addresses and what happened to each.
fn attempts_json(attempts: &[Attempt]) -> Value {
    attempts
        .iter()
        .map(|a| json!({"address": a.addr.to_string(), "outcome": a.outcome.to_string()}))
        .collect()
}

async fn exchange(stream: Stream, opts: &ProbeOptions, run: &mut Run) -> Outcome {
    let notify = Arc::new(Notify::new());
    let inbox = Arc::new(Inbox::notifying(
        notify.clone(),
        16 * 1024 * 1024,
        16 * 1024,
    ));
    let copts = ConnectOptions {
        close_timeout: opts.timeout,
        ..ConnectOptions::default()
    };
    let (conn, mut task) = spawn_connection(stream, &copts, inbox.clone());
    let opened = Instant::now();

    if let Some(text) = &opts.send {
        let _ = conn.send(Outgoing::Text(text.clone().into()), false);
        run.message(
            json!({"direction": "sent", "kind": "text", "bytes": text.len(), "data": text}),
        );
    }
    let mut waiting_reply = opts.send.is_some();
    let reply_deadline = TokioInstant::now() + opts.timeout;
    let mut listen_until = TokioInstant::now() + opts.listen;
    let mut no_reply = false;
    let mut closed: Option<CloseInfo> = None;

    loop {
        let got = drain(&inbox, run);
        if waiting_reply && got > 0 {
            waiting_reply = false;
            listen_until = TokioInstant::now() + opts.listen;
        }
        let until = if waiting_reply {
            reply_deadline
        } else {
            listen_until
        };
        if !waiting_reply && TokioInstant::now() >= listen_until {
            break;
        }
        tokio::select! {
            _ = notify.notified() => {}
            r = &mut task => {
                closed = Some(r.unwrap_or_else(|_| CloseInfo::task_failed()));
                drain(&inbox, run);
                break;
            }
            _ = tokio::time::sleep_until(until) => {
                if waiting_reply {
                    no_reply = true;
                    break;
                }
            }
        }
    }
    let we_closed = closed.is_none();
    let info = match closed {
        Some(c) => c,
        None => {
            conn.close(Some(1000), "clawsock probe done".into());
            let c = (&mut task)
                .await
                .unwrap_or_else(|_| CloseInfo::task_failed());
            drain(&inbox, run);
            c
        }
    };
    inbox.close();
    // Our close frame carries 1000; any other code means the server closed
    // on its own (its close frame crossed ours).
    let by_client = we_closed && !info.by_server && info.code == 1000;
    let e = explain_close_code(info.code);
    tracing::info!(code = info.code, reason = %info.reason, by_server = !by_client, clean = info.was_clean, "probe: closed");
    let class = ExitClass::from_close(info.code, by_client, info.was_clean);
    let close = serde_json::to_value(CloseReport {
        code: info.code,
        reason: &info.reason,
        was_clean: info.was_clean,
        by_server: !by_client,
        initiated_by: if by_client { "client" } else { "server" },
        open_ms: ms(opened.elapsed()),
        meaning: e.meaning,
        category: e.category,
        openclaw: if by_client { None } else { e.openclaw },
        next_step: if by_client {
            None
        } else {
            close_next_step(info.code)
        },
        error: info.error.as_deref(),
    })
    .expect("a close report serializes");
    let mut event = close.clone();
    event["type"] = json!("close");
    (run.emit)(event);

    let failure = if no_reply {
        Some(Failure {
            kind: "no-reply",
            class: ExitClass::Timeout,
            step: "reply",
            message: format!(
                "no reply to the sent message within {} ms (--timeout)",
                opts.timeout.as_millis()
            ),
            status: None,
            body: None,
        })
    } else if class != ExitClass::Ok {
        let mut message = format!("the connection closed with {}: {}", info.code, e.meaning);
        if info.code == 1006 {
            if let Some(err) = &info.error {
                message.push_str(&format!(" ({err})"));
            }
        } else if !info.reason.is_empty() {
            message.push_str(&format!(" (reason: \"{}\")", info.reason));
        }
        if let Some(step) = e.next_step {
            message.push_str(&format!(". Next step: {step}"));
        }
        Some(Failure {
            kind: "closed",
            class,
            step: "open",
            message,
            status: None,
            body: None,
        })
    } else {
        None
    };
    (failure, Some((close, class)))
}

/// Moves received messages from the inbox into the report; returns how many.
fn drain(inbox: &Inbox, run: &mut Run) -> usize {
    let mut n = 0;
    for ev in inbox.take() {
        match ev {
            InboundEvent::Text(t) => {
                n += 1;
                let s: &str = t.as_ref();
                let (data, truncated) = if s.len() > MAX_TEXT {
                    let mut end = MAX_TEXT;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    (&s[..end], true)
                } else {
                    (s, false)
                };
                run.message(json!({
                    "direction": "received", "kind": "text", "bytes": s.len(),
                    "data": data, "truncated": truncated,
                }));
            }
            InboundEvent::Binary(b) => {
                n += 1;
                let head = &b[..b.len().min(64)];
                run.message(json!({
                    "direction": "received", "kind": "binary", "bytes": b.len(),
                    "hex": head.iter().map(|x| format!("{x:02x}")).collect::<String>(),
                    "truncated": b.len() > 64,
                }));
            }
            InboundEvent::Sent { .. }
            | InboundEvent::Session(_)
            | InboundEvent::Sync
            | InboundEvent::Ping(_)
            | InboundEvent::Pong(_) => {}
        }
    }
    n
}

/// How the probed connection closed, as `--json` reports it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CloseReport<'a> {
    code: u16,
    reason: &'a str,
    was_clean: bool,
    by_server: bool,
    initiated_by: &'static str,
    open_ms: f64,
    meaning: &'static str,
    category: &'static str,
    openclaw: Option<&'static str>,
    next_step: Option<&'static str>,
    error: Option<&'a str>,
}

fn b64(c: &CertificateDer<'_>) -> String {
    base64::engine::general_purpose::STANDARD.encode(c.as_ref())
}

/// The certificate chain `addr` presents for `name`, read by a second
/// handshake that does not judge it. Empty if that handshake fails too.
async fn peek_certificates(
    addr: SocketAddr,
    name: ServerName<'static>,
    deadline: TokioInstant,
) -> Vec<CertificateDer<'static>> {
    let (config, recorder) = tls::recording_config();
    let connector = tokio_rustls::TlsConnector::from(config);
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.ok()?;
        connector.connect(name, tcp).await.ok()
    };
    let _ = tokio::time::timeout_at(deadline, attempt).await;
    let seen = recorder.seen();
    tracing::debug!(
        certificates = seen.len(),
        "probe: read the refused certificate chain"
    );
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Emit {
        Arc::new(|_| {})
    }

    #[tokio::test]
    async fn refused_is_tcp_with_dns_timing() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let r = probe(
            &format!("ws://127.0.0.1:{port}/"),
            &ProbeOptions::default(),
            quiet(),
        )
        .await;
        assert_eq!(r["exitCode"], 4, "{r}");
        assert_eq!(r["failure"]["kind"], "connection-refused");
        assert_eq!(r["steps"][0]["step"], "dns");
        assert_eq!(r["steps"][0]["ok"], true);
        assert_eq!(r["steps"][1]["ok"], false);
    }

    #[tokio::test]
    async fn bad_url_is_usage_and_redacted() {
        let r = probe("http://h/?token=abc", &ProbeOptions::default(), quiet()).await;
        assert_eq!(r["exitCode"], 2);
        assert!(!r.to_string().contains("abc"), "{r}");
    }

    #[tokio::test]
    async fn silent_server_times_out_in_the_upgrade() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            // never answer; keep the socket until the test ends
            std::future::pending::<()>().await;
            drop(s);
        });
        let opts = ProbeOptions {
            timeout: Duration::from_millis(300),
            ..ProbeOptions::default()
        };
        let r = probe(&format!("ws://127.0.0.1:{port}/"), &opts, quiet()).await;
        hold.abort();
        assert_eq!(r["exitCode"], 7, "{r}");
        assert_eq!(r["failure"]["step"], "upgrade");
    }
}
