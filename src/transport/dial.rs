//! Dialing: DNS, TCP, TLS and the HTTP upgrade, one error per step.
//!
//! [`connect`] is what connections use. [`dial`] is the same dial step by
//! step, for diagnostics (`clawsock probe`): it tells an observer as each
//! step succeeds, and a failure names its step and keeps what the steps
//! before it learned.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::error::{ConnectError, ConnectErrorKind as Kind};
use super::options::ConnectOptions;
use super::stream::Stream;
use super::tls;

/// What a dial learned, step by step.
#[derive(Clone, Debug, Default)]
pub struct ConnectInfo {
    /// The host name from the URL (without IPv6 brackets).
    pub host: String,
    /// Addresses the host resolved to.
    pub addresses: Vec<SocketAddr>,
    /// The address the TCP connection reached.
    pub peer: Option<SocketAddr>,
    /// The address TCP connect tried last (the one that answered, failed
    /// or ran out of time).
    pub tried: Option<SocketAddr>,
    /// Time spent resolving the host.
    pub dns: Duration,
    /// Time spent in TCP connect.
    pub tcp: Duration,
    /// Time spent in the TLS handshake (zero for `ws://`).
    pub tls: Duration,
    /// Time spent in the HTTP upgrade.
    pub upgrade: Duration,
    /// TLS protocol version, e.g. `TLSv1_3`.
    pub tls_version: Option<String>,
    /// TLS cipher suite.
    pub tls_cipher: Option<String>,
    /// The ALPN protocol the server chose, if any.
    pub tls_alpn: Option<String>,
    /// The subprotocol the server selected ("" if none).
    pub protocol: String,
    /// The extensions the server accepted ("" if none).
    pub extensions: String,
    /// The HTTP status of the upgrade response.
    pub status: u16,
    /// The upgrade response's `Server` header ("" if none).
    pub server: String,
    /// The upgrade response's headers, in order (ws's `upgrade` event).
    pub headers: Vec<(String, String)>,
}

/// A response's headers as `(name, value)` pairs, in order (values that
/// are not UTF-8 are decoded lossily).
pub fn header_pairs(
    headers: &tokio_tungstenite::tungstenite::http::HeaderMap,
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_string(), v)
        })
        .collect()
}

/// The steps of a dial, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialStep {
    /// Reading the URL.
    Url,
    /// Resolving the host.
    Dns,
    /// The TCP connect.
    Tcp,
    /// The TLS handshake (`wss://` only).
    Tls,
    /// The HTTP upgrade.
    Upgrade,
}

impl DialStep {
    /// A stable machine name: `url`, `dns`, `tcp`, `tls`, `upgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            DialStep::Url => "url",
            DialStep::Dns => "dns",
            DialStep::Tcp => "tcp",
            DialStep::Tls => "tls",
            DialStep::Upgrade => "upgrade",
        }
    }
}

/// A failed [`dial`]: the failing step, why, and what was learned until
/// then (the failing step's time included).
#[derive(Debug)]
pub struct DialFailure {
    /// The step that failed.
    pub step: DialStep,
    /// Why. A timeout's message names the step that ran out of time.
    pub error: ConnectError,
    /// What the dial learned before it failed.
    pub info: ConnectInfo,
    /// For a TLS failure that rustls reported, its error.
    pub tls_error: Option<rustls::Error>,
}

/// Told as each step of a [`dial`] succeeds: the step, everything learned
/// so far, and after the TLS step the TLS session (e.g. for the peer's
/// certificates).
pub type DialObserver<'a> =
    dyn FnMut(DialStep, &ConnectInfo, Option<&rustls::ClientConnection>) + Send + 'a;

struct Target {
    secure: bool,
    host: String,
    port: u16,
}

fn target(url: &str) -> Result<Target, ConnectError> {
    let bad = |why: &str| {
        ConnectError::new(
            Kind::InvalidUrl,
            format!("the URL {url:?} cannot be used: {why}"),
        )
    };
    let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        other => {
            return Err(bad(&format!(
                "the scheme must be ws or wss, not {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    let host = uri.host().ok_or_else(|| bad("it has no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    Ok(Target { secure, host, port })
}

fn io_kind(e: &std::io::Error) -> Kind {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Kind::ConnectionRefused,
        _ => Kind::Tcp,
    }
}

fn tcp_error(e: std::io::Error, addrs: &[SocketAddr], host: &str, port: u16) -> ConnectError {
    let kind = io_kind(&e);
    let tried: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let message = if kind == Kind::ConnectionRefused {
        format!(
            "connection refused by {host}:{port} ({}): nothing is listening there; is the server running?",
            tried.join(", ")
        )
    } else {
        format!("TCP connection to {host}:{port} failed: {e}")
    };
    ConnectError::new(kind, message)
}

fn upgrade_error(e: WsError) -> ConnectError {
    match e {
        WsError::Http(resp) => {
            let status = resp.status();
            let body = resp.body().as_ref().map(|b| {
                let cut = &b[..b.len().min(200)];
                String::from_utf8_lossy(cut).into_owned()
            });
            let mut message = format!(
                "unexpected HTTP {} {} in answer to the WebSocket upgrade",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if let Some(b) = body.as_deref().filter(|b| !b.trim().is_empty()) {
                message.push_str(&format!(": {}", b.trim()));
            }
            let mut err = ConnectError::new(Kind::HttpStatus, message);
            err.status = Some(status.as_u16());
            err.body = body;
            err.headers = header_pairs(resp.headers());
            err
        }
        WsError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => ConnectError::new(
            Kind::Handshake,
            format!("the server's answer is not a valid WebSocket handshake: {io}"),
        ),
        WsError::Io(io) => io_error(io, "during the HTTP upgrade"),
        WsError::Tls(t) => ConnectError::new(Kind::Tls, format!("TLS failed: {t}")),
        other => ConnectError::new(
            Kind::Handshake,
            format!("the server's answer is not a valid WebSocket handshake: {other}"),
        ),
    }
}

fn io_error(io: std::io::Error, during: &str) -> ConnectError {
    if let Some(tls_err) = io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return ConnectError::new(Kind::Tls, tls::explain_tls_error(tls_err));
    }
    let what = match io.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection without answering".to_string()
        }
        std::io::ErrorKind::ConnectionReset => "the server reset the connection".to_string(),
        _ => io.to_string(),
    };
    ConnectError::new(Kind::Tcp, format!("{what} {during}"))
}

/// Dials `url` and performs the WebSocket upgrade, within
/// `opts.handshake_timeout`.
pub async fn connect(
    url: &str,
    opts: &ConnectOptions,
) -> Result<(Stream, ConnectInfo), ConnectError> {
    // Boxed: the dial's state (DNS, TLS and upgrade futures, several KiB)
    // then lives on the heap only while dialing, instead of inside every
    // caller's future for the whole life of the connection.
    let dialed = Box::pin(dial(url, opts, &mut |_, _, _| {})).await;
    let result = dialed.map_err(|f| {
        if f.error.kind != Kind::Timeout {
            return f.error;
        }
        ConnectError::new(
            Kind::Timeout,
            format!(
                "handshake timeout: no WebSocket upgrade from {url} within {} ms (handshakeTimeout)",
                opts.handshake_timeout.as_millis()
            ),
        )
    });
    // Logs carry no URL (it may hold a token in its query) and no header values.
    match &result {
        Ok((_, info)) => tracing::debug!(
            peer = ?info.peer,
            dns_ms = info.dns.as_secs_f64() * 1e3,
            tcp_ms = info.tcp.as_secs_f64() * 1e3,
            tls_ms = info.tls.as_secs_f64() * 1e3,
            upgrade_ms = info.upgrade.as_secs_f64() * 1e3,
            tls_version = ?info.tls_version,
            protocol = %info.protocol,
            "transport: connected"
        ),
        Err(e) => {
            tracing::info!(kind = e.kind.as_str(), status = ?e.status, "transport: connect failed")
        }
    }
    result
}

/// Dials `url` step by step within `opts.handshake_timeout`, telling
/// `observe` as each step succeeds. A failure names its step and keeps what
/// was learned until then; a timeout says which step was running.
pub async fn dial(
    url: &str,
    opts: &ConnectOptions,
    observe: &mut DialObserver<'_>,
) -> Result<(Stream, ConnectInfo), DialFailure> {
    let mut p = Progress {
        step: DialStep::Url,
        info: ConnectInfo::default(),
        tls_error: None,
        deadline: TokioInstant::now() + opts.handshake_timeout,
        limit: opts.handshake_timeout,
    };
    match dial_steps(url, opts, &mut p, observe).await {
        Ok(stream) => Ok((stream, p.info)),
        Err(error) => Err(DialFailure {
            step: p.step,
            error,
            info: p.info,
            tls_error: p.tls_error,
        }),
    }
}

/// Where a dial is: the running step, what it learned, its deadline.
struct Progress {
    step: DialStep,
    info: ConnectInfo,
    tls_error: Option<rustls::Error>,
    deadline: TokioInstant,
    limit: Duration,
}

impl Progress {
    /// `fut`, or a timeout error naming `what` once the deadline passes.
    async fn within<F: Future>(&self, what: &str, fut: F) -> Result<F::Output, ConnectError> {
        tokio::time::timeout_at(self.deadline, fut)
            .await
            .map_err(|_| {
                ConnectError::new(
                    Kind::Timeout,
                    format!(
                        "timeout during {what}: no progress within {} ms",
                        self.limit.as_millis()
                    ),
                )
            })
    }
}

async fn dial_steps(
    url: &str,
    opts: &ConnectOptions,
    p: &mut Progress,
    observe: &mut DialObserver<'_>,
) -> Result<Stream, ConnectError> {
    let t = target(url)?;
    p.info.host = t.host.clone();

    p.step = DialStep::Dns;
    let started = Instant::now();
    let looked_up = p
        .within(
            "the DNS lookup",
            tokio::net::lookup_host((t.host.as_str(), t.port)),
        )
        .await;
    p.info.dns = started.elapsed();
    let addrs: Vec<SocketAddr> = looked_up?
        .map_err(|e| {
            ConnectError::new(Kind::Dns, format!("DNS lookup failed for {}: {e}", t.host))
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::new(
            Kind::Dns,
            format!("DNS lookup for {} returned no address", t.host),
        ));
    }
    p.info.addresses = addrs.clone();
    tracing::debug!(host = %t.host, port = t.port, addresses = ?addrs, "transport: dns resolved");
    observe(p.step, &p.info, None);

    p.step = DialStep::Tcp;
    let started = Instant::now();
    let mut last: Option<std::io::Error> = None;
    let mut connected = None;
    for addr in &addrs {
        p.info.tried = Some(*addr);
        let what = format!("the TCP connect to {addr}");
        let attempt = p.within(&what, TcpStream::connect(addr)).await;
        p.info.tcp = started.elapsed();
        match attempt? {
            Ok(s) => {
                connected = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(tcp) = connected else {
        let e = last.expect("at least one address was tried");
        return Err(tcp_error(e, &addrs, &t.host, t.port));
    };
    let _ = tcp.set_nodelay(true);
    p.info.peer = tcp.peer_addr().ok();
    tracing::debug!(peer = ?p.info.peer, "transport: tcp connected");
    observe(p.step, &p.info, None);

    let mut stream = if t.secure {
        p.step = DialStep::Tls;
        let started = Instant::now();
        let config =
            tls::client_config(&opts.tls).map_err(|why| ConnectError::new(Kind::Tls, why))?;
        let name = opts
            .tls
            .servername
            .clone()
            .unwrap_or_else(|| t.host.clone());
        let server_name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|_| {
            ConnectError::new(
                Kind::Tls,
                format!("{name:?} is not a valid TLS server name (tls.servername)"),
            )
        })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let handshake = p
            .within("the TLS handshake", connector.connect(server_name, tcp))
            .await;
        p.info.tls = started.elapsed();
        let tls_stream = handshake?.map_err(|e| {
            p.tls_error = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            io_error(e, "during the TLS handshake")
        })?;
        let (_, conn) = tls_stream.get_ref();
        p.info.tls_version = conn.protocol_version().map(|v| format!("{v:?}"));
        p.info.tls_cipher = conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()));
        p.info.tls_alpn = conn
            .alpn_protocol()
            .map(|a| String::from_utf8_lossy(a).into_owned());
        tracing::debug!(version = ?p.info.tls_version, cipher = ?p.info.tls_cipher, "transport: tls established");
        observe(p.step, &p.info, Some(conn));
        Stream::tls(tls_stream)
    } else {
        Stream::plain(tcp)
    };

    p.step = DialStep::Upgrade;
    let started = Instant::now();
    let request = upgrade_request(url, opts)?;
    tracing::trace!(
        headers = ?opts.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        protocols = ?opts.protocols,
        "transport: sending the upgrade request (header values not logged)"
    );
    // tungstenite does the upgrade; the connection then reads frames from
    // the stream itself (`transport::frames`), so the stream hands the
    // handshake the response's headers and nothing after them.
    let mut config = WebSocketConfig::default();
    config.write_buffer_size = 0;
    config.read_buffer_size = 0;
    stream.scan_upgrade();
    let upgraded = p
        .within(
            "the HTTP upgrade (the server accepted the connection but did not answer the upgrade request)",
            tokio_tungstenite::client_async_with_config(request, stream, Some(config)),
        )
        .await;
    p.info.upgrade = started.elapsed();
    let (ws, response) = upgraded?.map_err(upgrade_error)?;
    let stream = ws.into_inner();
    if !stream.upgrade_cut() {
        // Cannot happen for a 101 that tungstenite accepted; refuse rather
        // than lose the bytes that followed it.
        return Err(ConnectError::new(
            Kind::Handshake,
            "internal error: the upgrade response was not recognised as a 101 by clawsock's scanner; please report this with the server's response headers",
        ));
    }
    p.info.status = response.status().as_u16();
    let header = |n: &str| {
        response
            .headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    p.info.protocol = header("sec-websocket-protocol");
    p.info.extensions = header("sec-websocket-extensions");
    p.info.server = header("server");
    p.info.headers = header_pairs(response.headers());
    observe(p.step, &p.info, None);
    Ok(stream)
}

/// The upgrade request: `url` with the caller's headers and subprotocols.
fn upgrade_request(url: &str, opts: &ConnectOptions) -> Result<Request, ConnectError> {
    let mut request = url.into_client_request().map_err(|e| {
        ConnectError::new(
            Kind::InvalidUrl,
            format!("the URL {url:?} cannot be used: {e}"),
        )
    })?;
    let headers = request.headers_mut();
    for (name, value) in &opts.headers {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConnectError::new(
                Kind::InvalidUrl,
                format!("header name {name:?} is not a valid HTTP header name"),
            )
        })?;
        let v = HeaderValue::from_str(value).map_err(|_| {
            ConnectError::new(
                Kind::InvalidUrl,
                format!("the value of header {name:?} is not a valid HTTP header value"),
            )
        })?;
        headers.insert(n, v);
    }
    if !opts.protocols.is_empty() {
        let v = HeaderValue::from_str(&opts.protocols.join(", ")).map_err(|_| {
            ConnectError::new(Kind::InvalidUrl, "a subprotocol is not a valid token")
        })?;
        headers.insert("sec-websocket-protocol", v);
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_targets() {
        let t = target("wss://example.com/x").ok().unwrap();
        assert!(t.secure);
        assert_eq!(t.port, 443);
        let t = target("ws://[::1]:9000/").ok().unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.port, 9000);
        let e = target("http://x").err().unwrap();
        assert_eq!(e.kind, Kind::InvalidUrl);
        assert!(e.message.contains("ws or wss"));
    }

    #[tokio::test]
    async fn refused_is_named() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = connect(
            &format!("ws://127.0.0.1:{port}/"),
            &ConnectOptions::default(),
        )
        .await
        .err()
        .unwrap();
        assert_eq!(e.kind, Kind::ConnectionRefused, "{e}");
        assert!(e.message.contains("connection refused"), "{e}");
    }

    #[tokio::test]
    async fn dial_names_the_failing_step_and_keeps_the_earlier_ones() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let mut told = Vec::new();
        let f = dial(
            &format!("ws://127.0.0.1:{port}/"),
            &ConnectOptions::default(),
            &mut |step, _, _| told.push(step),
        )
        .await
        .err()
        .unwrap();
        assert_eq!(told, [DialStep::Dns]);
        assert_eq!(f.step, DialStep::Tcp);
        assert_eq!(f.error.kind, Kind::ConnectionRefused);
        assert_eq!(f.info.host, "127.0.0.1");
        assert_eq!(f.info.addresses.len(), 1);
        assert_eq!(f.info.tried, f.info.addresses.first().copied());
    }

    #[tokio::test]
    async fn a_timeout_names_its_step() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let opts = ConnectOptions {
            handshake_timeout: Duration::from_millis(200),
            ..ConnectOptions::default()
        };
        // Accepted by the kernel, never answered.
        let f = dial(&format!("ws://127.0.0.1:{port}/"), &opts, &mut |_, _, _| {})
            .await
            .err()
            .unwrap();
        assert_eq!(f.step, DialStep::Upgrade);
        assert_eq!(f.error.kind, Kind::Timeout);
        assert!(
            f.error
                .message
                .contains("did not answer the upgrade request"),
            "{}",
            f.error
        );
        // connect() says it in the words of its option.
        let e = connect(&format!("ws://127.0.0.1:{port}/"), &opts)
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind, Kind::Timeout);
        assert!(e.message.starts_with("handshake timeout:"), "{e}");
        drop(l);
    }
}
