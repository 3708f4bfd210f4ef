//! `clawsock probe`: one connection, step by step.
//!
//! The steps are those of [`crate::transport::connect`] (DNS, TCP, TLS, HTTP
//! upgrade) with the same TLS configuration ([`tls::client_config`]), the
//! same byte stream and the same connection actor
//! ([`spawn_connection`]), but each step is timed and reported on its own,
//! also when a later step fails: a TLS failure still shows how long DNS and
//! TCP took, and which certificate the server presented.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{ExitClass, close_next_step, explain_close_code, redact_url};
use crate::transport::stream::Stream;
use crate::transport::{
    CloseInfo, ConnectErrorKind as Kind, ConnectOptions, InboundEvent, Inbox, Outgoing, TlsOptions,
    spawn_connection, tls,
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

struct Target {
    secure: bool,
    host: String,
    port: u16,
}

fn target(url: &str) -> Result<Target, Failure> {
    let bad = |why: String| {
        Failure::new(
            Kind::InvalidUrl,
            "url",
            format!("the URL {:?} cannot be used: {why}", redact_url(url)),
        )
    };
    let uri: Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        other => {
            return Err(bad(format!(
                "the scheme must be ws or wss, not {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    let host = uri.host().ok_or_else(|| bad("it has no host".into()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    Ok(Target { secure, host, port })
}

fn timeout_failure(step: &'static str, what: &str, timeout: Duration) -> Failure {
    Failure::new(
        Kind::Timeout,
        step,
        format!(
            "timeout during {what}: no progress within {} ms (--timeout)",
            timeout.as_millis()
        ),
    )
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
    let t = target(url)?;
    let deadline = TokioInstant::now() + opts.timeout;
    let within = |fut| tokio::time::timeout_at(deadline, fut);

    // DNS
    let started = Instant::now();
    let addrs: Vec<SocketAddr> = match within(tokio::net::lookup_host((t.host.as_str(), t.port)))
        .await
    {
        Err(_) => {
            run.step(
                json!({"step": "dns", "ok": false, "ms": ms(started.elapsed()), "host": t.host}),
            );
            return Err(timeout_failure("dns", "the DNS lookup", opts.timeout));
        }
        Ok(Err(e)) => {
            let message = format!("DNS lookup failed for {}: {e}", t.host);
            run.step(json!({"step": "dns", "ok": false, "ms": ms(started.elapsed()), "host": t.host, "error": message}));
            return Err(Failure::new(Kind::Dns, "dns", message));
        }
        Ok(Ok(a)) => a.collect(),
    };
    if addrs.is_empty() {
        let message = format!("DNS lookup for {} returned no address", t.host);
        run.step(json!({"step": "dns", "ok": false, "ms": ms(started.elapsed()), "host": t.host, "error": message}));
        return Err(Failure::new(Kind::Dns, "dns", message));
    }
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    tracing::debug!(host = %t.host, addresses = ?shown, "probe: dns resolved");
    run.step(json!({"step": "dns", "ok": true, "ms": ms(started.elapsed()), "host": t.host, "addresses": shown}));

    // TCP
    let started = Instant::now();
    let tcp = {
        let mut last: Option<std::io::Error> = None;
        let mut got = None;
        for addr in &addrs {
            match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
                Err(_) => {
                    run.step(json!({"step": "tcp", "ok": false, "ms": ms(started.elapsed()), "tried": addr.to_string()}));
                    return Err(timeout_failure(
                        "tcp",
                        &format!("the TCP connect to {addr}"),
                        opts.timeout,
                    ));
                }
                Ok(Ok(s)) => {
                    got = Some(s);
                    break;
                }
                Ok(Err(e)) => last = Some(e),
            }
        }
        match got {
            Some(s) => s,
            None => {
                let e = last.expect("at least one address was tried");
                let tried: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                let (kind, message) = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    (
                        Kind::ConnectionRefused,
                        format!(
                            "connection refused by {}:{} ({}): nothing is listening there; is the server running?",
                            t.host,
                            t.port,
                            tried.join(", ")
                        ),
                    )
                } else {
                    (
                        Kind::Tcp,
                        format!("TCP connection to {}:{} failed: {e}", t.host, t.port),
                    )
                };
                run.step(json!({"step": "tcp", "ok": false, "ms": ms(started.elapsed()), "error": message}));
                return Err(Failure::new(kind, "tcp", message));
            }
        }
    };
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().ok();
    tracing::debug!(peer = ?peer, "probe: tcp connected");
    run.step(json!({"step": "tcp", "ok": true, "ms": ms(started.elapsed()), "peer": peer.map(|p| p.to_string())}));

    // TLS
    let stream = if t.secure {
        let started = Instant::now();
        let name = opts
            .tls
            .servername
            .clone()
            .unwrap_or_else(|| t.host.clone());
        let fail = |run: &mut Run, f: Failure, certs: Vec<String>| {
            run.step(json!({
                "step": "tls", "ok": false, "ms": ms(started.elapsed()), "serverName": name,
                "error": f.message, "certificates": certs,
            }));
            Err(f)
        };
        let config = match tls::client_config(&opts.tls) {
            Ok(c) => c,
            Err(why) => return fail(run, Failure::new(Kind::Tls, "tls", why), vec![]),
        };
        let server_name = match ServerName::try_from(name.clone()) {
            Ok(n) => n,
            Err(_) => {
                let f = Failure::new(
                    Kind::Tls,
                    "tls",
                    format!("{name:?} is not a valid TLS server name (--servername)"),
                );
                return fail(run, f, vec![]);
            }
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        match tokio::time::timeout_at(deadline, connector.connect(server_name.clone(), tcp)).await {
            Err(_) => {
                let f = timeout_failure("tls", "the TLS handshake", opts.timeout);
                return fail(run, f, vec![]);
            }
            Ok(Err(e)) => {
                let rustls_err = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .cloned();
                let message = match &rustls_err {
                    // The CLI's name for the API's `tls.ca`.
                    Some(r) => tls::explain_tls_error(r).replace("pass tls.ca", "pass --ca <file>"),
                    None => format!("TLS handshake failed: {e}"),
                };
                let mut certs = Vec::new();
                if matches!(rustls_err, Some(rustls::Error::InvalidCertificate(_)))
                    && let Some(addr) = peer
                {
                    certs = peek_certificates(addr, server_name, deadline).await;
                }
                let f = Failure::new(Kind::Tls, "tls", message);
                return fail(run, f, certs.iter().map(b64).collect());
            }
            Ok(Ok(s)) => {
                let (_, conn) = s.get_ref();
                let version = conn.protocol_version().map(|v| format!("{v:?}"));
                let cipher = conn
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()));
                let certs: Vec<String> = conn
                    .peer_certificates()
                    .map(|c| c.iter().map(b64).collect())
                    .unwrap_or_default();
                let alpn = conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                tracing::debug!(version = ?version, cipher = ?cipher, "probe: tls established");
                run.step(json!({
                    "step": "tls", "ok": true, "ms": ms(started.elapsed()), "serverName": name,
                    "version": version, "cipher": cipher, "alpn": alpn,
                    "verified": opts.tls.reject_unauthorized, "certificates": certs,
                }));
                Stream::Tls(Box::new(s))
            }
        }
    } else {
        Stream::Plain(tcp)
    };

    // HTTP upgrade
    let started = Instant::now();
    let header_names: Vec<&str> = opts.headers.iter().map(|(n, _)| n.as_str()).collect();
    let upgrade_fail = |run: &mut Run, f: Failure| {
        run.step(json!({
            "step": "upgrade", "ok": false, "ms": ms(started.elapsed()), "status": f.status,
            "body": f.body, "error": f.message, "headers": header_names,
        }));
        Err(f)
    };
    let mut request = match url.into_client_request() {
        Ok(r) => r,
        Err(e) => {
            let f = Failure::new(
                Kind::InvalidUrl,
                "upgrade",
                format!("the URL {:?} cannot be used: {e}", redact_url(url)),
            );
            return upgrade_fail(run, f);
        }
    };
    for (name, value) in &opts.headers {
        let Ok(n) = HeaderName::from_bytes(name.as_bytes()) else {
            let f = Failure::new(
                Kind::InvalidUrl,
                "upgrade",
                format!("header name {name:?} is not a valid HTTP header name"),
            );
            return upgrade_fail(run, f);
        };
        let Ok(v) = HeaderValue::from_str(value) else {
            let f = Failure::new(
                Kind::InvalidUrl,
                "upgrade",
                format!("the value of header {name:?} is not a valid HTTP header value"),
            );
            return upgrade_fail(run, f);
        };
        request.headers_mut().append(n, v);
    }
    if !opts.protocols.is_empty() {
        match HeaderValue::from_str(&opts.protocols.join(", ")) {
            Ok(v) => {
                request.headers_mut().insert("sec-websocket-protocol", v);
            }
            Err(_) => {
                let f = Failure::new(
                    Kind::InvalidUrl,
                    "upgrade",
                    "a subprotocol is not a valid token",
                );
                return upgrade_fail(run, f);
            }
        }
    }
    tracing::debug!(headers = ?header_names, "probe: sending upgrade request (header values not logged)");
    let mut config = WebSocketConfig::default();
    config.write_buffer_size = 0;
    let upgrade = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    let (ws, response) = match tokio::time::timeout_at(deadline, upgrade).await {
        Err(_) => {
            let f = timeout_failure(
                "upgrade",
                "the HTTP upgrade (the server accepted the connection but did not answer the upgrade request)",
                opts.timeout,
            );
            return upgrade_fail(run, f);
        }
        Ok(Err(e)) => return upgrade_fail(run, upgrade_failure(e)),
        Ok(Ok(r)) => r,
    };
    let header = |n: &str| {
        response
            .headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let protocol = header("sec-websocket-protocol");
    let extensions = header("sec-websocket-extensions");
    let server = header("server");
    tracing::debug!(status = response.status().as_u16(), protocol = %protocol, "probe: upgraded");
    run.step(json!({
        "step": "upgrade", "ok": true, "ms": ms(started.elapsed()),
        "status": response.status().as_u16(), "protocol": protocol, "extensions": extensions,
        "server": server, "headers": header_names,
    }));

    Ok(exchange(ws, opts, run).await)
}

async fn exchange(
    ws: tokio_tungstenite::WebSocketStream<Stream>,
    opts: &ProbeOptions,
    run: &mut Run,
) -> Outcome {
    let notify = Arc::new(Notify::new());
    let wake = notify.clone();
    let inbox = Arc::new(Inbox::new(
        Box::new(move || {
            wake.notify_one();
            true
        }),
        16 * 1024 * 1024,
        16 * 1024,
    ));
    let copts = ConnectOptions {
        close_timeout: opts.timeout,
        ..ConnectOptions::default()
    };
    let (conn, mut task) = spawn_connection(ws, &copts, inbox.clone());
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
                closed = Some(r.unwrap_or_else(|_| internal_close()));
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
            let c = (&mut task).await.unwrap_or_else(|_| internal_close());
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
    let close = json!({
        "code": info.code,
        "reason": info.reason,
        "wasClean": info.was_clean,
        "byServer": !by_client,
        "initiatedBy": if by_client { "client" } else { "server" },
        "openMs": ms(opened.elapsed()),
        "meaning": e.meaning,
        "category": e.category,
        "openclaw": if by_client { None } else { e.openclaw },
        "nextStep": if by_client { None } else { close_next_step(info.code) },
        "error": info.error,
    });
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

fn internal_close() -> CloseInfo {
    CloseInfo {
        code: 1006,
        reason: "internal error: the connection task failed".into(),
        was_clean: false,
        by_server: false,
        error: Some("internal error: the connection task failed".into()),
        unsent: Vec::new(),
        uptime: Duration::ZERO,
    }
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
            InboundEvent::Control(_) => {}
        }
    }
    n
}

fn upgrade_failure(e: WsError) -> Failure {
    match e {
        WsError::Http(resp) => {
            let status = resp.status();
            let body = resp.body().as_ref().map(|b| {
                let cut = &b[..b.len().min(200)];
                String::from_utf8_lossy(cut).into_owned()
            });
            let mut message = format!(
                "the server answered the WebSocket upgrade with HTTP {} {} instead of 101",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if let Some(b) = body.as_deref().filter(|b| !b.trim().is_empty()) {
                message.push_str(&format!(": {}", b.trim()));
            }
            let mut f = Failure::new(Kind::HttpStatus, "upgrade", message);
            f.status = Some(status.as_u16());
            f.body = body;
            f
        }
        WsError::Io(io) => {
            let what = match io.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    "the server closed the connection without answering the upgrade request"
                        .to_string()
                }
                std::io::ErrorKind::ConnectionReset => {
                    "the server reset the connection instead of answering the upgrade request"
                        .to_string()
                }
                _ => format!("the connection failed during the HTTP upgrade: {io}"),
            };
            Failure::new(Kind::Tcp, "upgrade", what)
        }
        WsError::Tls(t) => Failure::new(Kind::Tls, "upgrade", format!("TLS failed: {t}")),
        other => Failure::new(
            Kind::Handshake,
            "upgrade",
            format!("the server's answer is not a valid WebSocket handshake: {other}"),
        ),
    }
}

fn b64(c: &CertificateDer<'_>) -> String {
    base64::engine::general_purpose::STANDARD.encode(c.as_ref())
}

/// A verifier that accepts anything and remembers the chain it was shown.
#[derive(Debug)]
struct Recorder {
    provider: Arc<rustls::crypto::CryptoProvider>,
    seen: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen.lock().unwrap();
        seen.push(end_entity.clone().into_owned());
        seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The certificate chain `addr` presents for `name`, read by a second
/// handshake that does not judge it. Empty if that handshake fails too.
async fn peek_certificates(
    addr: SocketAddr,
    name: ServerName<'static>,
    deadline: TokioInstant,
) -> Vec<CertificateDer<'static>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        provider: provider.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let Ok(builder) =
        rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
    else {
        return Vec::new();
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.ok()?;
        connector.connect(name, tcp).await.ok()
    };
    let _ = tokio::time::timeout_at(deadline, attempt).await;
    let seen = recorder.seen.lock().unwrap().clone();
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
