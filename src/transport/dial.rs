//! Dialing: DNS, TCP, the proxy tunnel, TLS and the HTTP upgrade, one
//! error per step, and redirects when asked.
//!
//! [`connect`] is what connections use. [`dial`] is the same dial step by
//! step, for diagnostics (`clawsock probe`): it tells an observer as each
//! step succeeds, and a failure names its step and keeps what the steps
//! before it learned.
//!
//! Per hop: the proxy rules pick a route ([`super::proxy`]); DNS resolves
//! the destination, or the proxy when there is one; the TCP connect races
//! the addresses ([`super::happy_eyeballs`]); through a proxy, TLS to an
//! `https://` proxy and a CONNECT tunnel follow ([`super::tunnel`]); then
//! TLS to a `wss://` destination and the upgrade. A redirect answer starts
//! the next hop ([`super::redirect`]). One `handshakeTimeout` covers all.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant as TokioInstant;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::error::{ConnectError, ConnectErrorKind as Kind};
use super::happy_eyeballs::{self, Attempt};
use super::options::ConnectOptions;
use super::proxy::Route;
use super::redirect;
use super::stream::Stream;
use super::tls;
use super::tunnel::{self, Link};
use super::upgrade::{io_error, upgrade_error, upgrade_request};
use super::whole_head::WholeHead;

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
    /// Every address of the TCP step and what happened to it.
    pub attempts: Vec<Attempt>,
    /// The proxy this hop goes through (shown without credentials).
    pub proxy: Option<String>,
    /// Where the proxy settings came from (`option`, `env`, `openclaw`).
    pub proxy_source: &'static str,
    /// Time spent on TLS to the proxy and the CONNECT tunnel.
    pub tunnel: Duration,
    /// Redirects followed: (status, the URL it led to).
    pub redirects: Vec<(u16, String)>,
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
    /// TLS to an `https://` proxy and the CONNECT tunnel.
    Proxy,
    /// A redirect was followed (told once per hop).
    Redirect,
    /// The TLS handshake (`wss://` only).
    Tls,
    /// The HTTP upgrade.
    Upgrade,
}

impl DialStep {
    /// A stable machine name: `url`, `dns`, `tcp`, `proxy`, `redirect`,
    /// `tls`, `upgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            DialStep::Url => "url",
            DialStep::Dns => "dns",
            DialStep::Tcp => "tcp",
            DialStep::Proxy => "proxy",
            DialStep::Redirect => "redirect",
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
            format!(
                "the URL {:?} cannot be used: {why}",
                crate::gateway::redact::url_for_message(url)
            ),
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
        let mut message = format!(
            "handshake timeout: no WebSocket upgrade from {} within {} ms (handshakeTimeout)",
            crate::gateway::redact::url_for_message(url),
            opts.handshake_timeout.as_millis()
        );
        if f.step == DialStep::Tcp {
            message.push_str(&format!(
                "; TCP: {}",
                happy_eyeballs::describe(&f.info.attempts)
            ));
        }
        ConnectError::new(Kind::Timeout, message)
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
    let mut url = url.to_string();
    let mut headers = opts.headers.clone();
    let original_host = redirect::host_key(&url);
    loop {
        let error = match hop(&url, &headers, opts, p, observe).await {
            Ok(stream) => return Ok(stream),
            Err(e) => e,
        };
        let (Some(status), Some(location)) = (error.status, error.location.as_deref()) else {
            return Err(error);
        };
        if !opts.follow_redirects {
            return Err(error);
        }
        if p.info.redirects.len() >= opts.max_redirects as usize {
            let mut e = ConnectError::new(
                Kind::HttpStatus,
                format!(
                    "too many redirects: HTTP {status} after {} redirects already followed (maxRedirects: {})",
                    p.info.redirects.len(),
                    opts.max_redirects
                ),
            );
            e.status = Some(status);
            return Err(e);
        }
        let next = redirect::resolve(&url, location).map_err(|mut e| {
            e.status = Some(status);
            e
        })?;
        if redirect::host_key(&next) != original_host {
            redirect::strip_credentials(&mut headers);
        }
        tracing::debug!(
            status,
            hop = p.info.redirects.len() + 1,
            "transport: following a redirect (URL not logged)"
        );
        p.info.redirects.push((status, next.clone()));
        p.step = DialStep::Redirect;
        observe(p.step, &p.info, None);
        url = next;
    }
}

/// One hop: from the URL to an upgraded stream, or an error (a redirect
/// answer is an error that carries its `Location`).
async fn hop(
    url: &str,
    headers: &[(String, String)],
    opts: &ConnectOptions,
    p: &mut Progress,
    observe: &mut DialObserver<'_>,
) -> Result<Stream, ConnectError> {
    p.step = DialStep::Url;
    let t = target(url)?;
    p.info.host = t.host.clone();
    let route = opts.proxy.route(t.secure, &t.host, t.port);
    let proxy = match route {
        Route::Blocked(why) => {
            p.step = DialStep::Proxy;
            return Err(ConnectError::new(Kind::Proxy, why));
        }
        Route::Direct => None,
        Route::Proxy(proxy) => Some(proxy),
    };
    p.info.proxy = proxy.map(|x| x.to_string());
    p.info.proxy_source = opts.proxy.source.as_str();
    let (dial_host, dial_port) = match proxy {
        Some(x) => (x.host.as_str(), x.port),
        None => (t.host.as_str(), t.port),
    };

    p.step = DialStep::Dns;
    let started = Instant::now();
    let looked_up = p
        .within(
            "the DNS lookup",
            tokio::net::lookup_host((dial_host, dial_port)),
        )
        .await;
    p.info.dns = started.elapsed();
    let of_proxy = if proxy.is_some() { "the proxy " } else { "" };
    let addrs: Vec<SocketAddr> = looked_up?
        .map_err(|e| {
            ConnectError::new(
                Kind::Dns,
                format!("DNS lookup failed for {of_proxy}{dial_host}: {e}"),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::new(
            Kind::Dns,
            format!("DNS lookup for {of_proxy}{dial_host} returned no address"),
        ));
    }
    let ordered = happy_eyeballs::order(&addrs, opts.family.family);
    p.info.addresses = addrs.clone();
    tracing::debug!(host = %dial_host, port = dial_port, addresses = ?addrs, "transport: dns resolved");
    if ordered.is_empty() {
        return Err(ConnectError::new(
            Kind::Dns,
            format!(
                "{of_proxy}{dial_host} has no IPv{} address (family: {}); it resolved to {}",
                opts.family.family,
                opts.family.family,
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    observe(p.step, &p.info, None);

    p.step = DialStep::Tcp;
    let started = Instant::now();
    let raced = happy_eyeballs::connect_any(&ordered, &opts.family, p.deadline).await;
    p.info.tcp = started.elapsed();
    let tcp = match raced {
        Ok((tcp, attempts)) => {
            p.info.attempts = attempts;
            tcp
        }
        Err(f) => {
            p.info.tried = f.last_tried();
            let what = match proxy {
                Some(_) => format!("the proxy {dial_host}:{dial_port}"),
                None => format!("{dial_host}:{dial_port}"),
            };
            let err = f.to_error(&what, proxy.is_some(), p.limit);
            p.info.attempts = f.attempts;
            return Err(err);
        }
    };
    let _ = tcp.set_nodelay(true);
    p.info.peer = tcp.peer_addr().ok();
    p.info.tried = p.info.peer;
    tracing::debug!(peer = ?p.info.peer, "transport: tcp connected");
    observe(p.step, &p.info, None);

    let link = match proxy {
        None => Link::Tcp(tcp),
        Some(proxy) => {
            p.step = DialStep::Proxy;
            let started = Instant::now();
            let what = format!("the tunnel through the proxy {proxy}");
            let tunnelled = p
                .within(&what, async {
                    let mut link = tunnel::proxy_tls(tcp, proxy, &opts.proxy.ca).await?;
                    tunnel::connect_tunnel(&mut link, proxy, &t.host, t.port).await?;
                    Ok::<_, ConnectError>(link)
                })
                .await;
            p.info.tunnel = started.elapsed();
            let link = tunnelled??;
            observe(p.step, &p.info, None);
            link
        }
    };

    let mut stream = match (t.secure, link) {
        (false, Link::Tcp(tcp)) => Stream::plain(tcp),
        (false, Link::Tls(to_proxy)) => Stream::tunnel(*to_proxy),
        (true, Link::Tcp(tcp)) => Stream::tls(server_tls(tcp, &t, opts, p, observe).await?),
        (true, Link::Tls(to_proxy)) => {
            Stream::tunnel(server_tls(*to_proxy, &t, opts, p, observe).await?)
        }
    };

    p.step = DialStep::Upgrade;
    let started = Instant::now();
    let request = upgrade_request(url, headers, &opts.protocols)?;
    tracing::trace!(
        headers = ?headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        protocols = ?opts.protocols,
        "transport: sending the upgrade request (header values not logged)"
    );
    // tungstenite does the upgrade; the connection then reads frames from
    // the stream itself (`transport::frames`), so the stream hands the
    // handshake the response's headers and nothing after them.
    let mut config = WebSocketConfig::default();
    config.write_buffer_size = 0;
    config.read_buffer_size = 0;
    // tungstenite gets the response headers whole (`upgrade`), however
    // small the pieces they arrived in.
    stream.scan_upgrade();
    let upgraded = p
        .within(
            "the HTTP upgrade (the server accepted the connection but did not answer the upgrade request)",
            tokio_tungstenite::client_async_with_config(
                request,
                WholeHead::new(stream),
                Some(config),
            ),
        )
        .await;
    p.info.upgrade = started.elapsed();
    let (ws, response) = upgraded?.map_err(upgrade_error)?;
    let stream = ws.into_inner().into_inner();
    let Some(stream) = stream.filter(|s| s.upgrade_cut()) else {
        // Cannot happen for a 101 that tungstenite accepted; refuse rather
        // than lose the bytes that followed it.
        return Err(ConnectError::new(
            Kind::Handshake,
            "internal error: the upgrade response was not recognised as a 101 by clawsock's scanner; please report this with the server's response headers",
        ));
    };
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

/// The TLS handshake with the server (`wss://`), over `io`: TCP, or TLS to
/// an `https://` proxy.
async fn server_tls<IO: AsyncRead + AsyncWrite + Unpin>(
    io: IO,
    t: &Target,
    opts: &ConnectOptions,
    p: &mut Progress,
    observe: &mut DialObserver<'_>,
) -> Result<TlsStream<IO>, ConnectError> {
    p.step = DialStep::Tls;
    let started = Instant::now();
    let config = tls::client_config(&opts.tls).map_err(|why| ConnectError::new(Kind::Tls, why))?;
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
        .within("the TLS handshake", connector.connect(server_name, io))
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
    Ok(tls_stream)
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
