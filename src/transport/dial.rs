//! Dialing: DNS, TCP, TLS and the HTTP upgrade, one error per step.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::error::{ConnectError, ConnectErrorKind as Kind};
use super::options::ConnectOptions;
use super::stream::Stream;
use super::tls;

/// What a successful dial learned, step by step.
#[derive(Clone, Debug, Default)]
pub struct ConnectInfo {
    /// Addresses the host resolved to.
    pub addresses: Vec<SocketAddr>,
    /// The address the TCP connection reached.
    pub peer: Option<SocketAddr>,
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
    /// The subprotocol the server selected ("" if none).
    pub protocol: String,
    /// The extensions the server accepted ("" if none).
    pub extensions: String,
    /// The HTTP status of the upgrade response.
    pub status: u16,
}

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

async fn dial_tcp(addrs: &[SocketAddr], host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    let mut last: Option<std::io::Error> = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("at least one address was tried");
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
    Err(ConnectError::new(kind, message))
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
            err
        }
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
) -> Result<(WebSocketStream<Stream>, ConnectInfo), ConnectError> {
    let deadline = opts.handshake_timeout;
    let result = match tokio::time::timeout(deadline, connect_steps(url, opts)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::new(
            Kind::Timeout,
            format!(
                "handshake timeout: no WebSocket upgrade from {url} within {} ms (handshakeTimeout)",
                deadline.as_millis()
            ),
        )),
    };
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

async fn connect_steps(
    url: &str,
    opts: &ConnectOptions,
) -> Result<(WebSocketStream<Stream>, ConnectInfo), ConnectError> {
    let t = target(url)?;
    let mut info = ConnectInfo::default();

    let started = Instant::now();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((t.host.as_str(), t.port))
        .await
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
    info.dns = started.elapsed();
    info.addresses = addrs.clone();
    tracing::debug!(host = %t.host, port = t.port, addresses = ?addrs, "transport: dns resolved");

    let started = Instant::now();
    let tcp = dial_tcp(&addrs, &t.host, t.port).await?;
    let _ = tcp.set_nodelay(true);
    info.peer = tcp.peer_addr().ok();
    info.tcp = started.elapsed();
    tracing::debug!(peer = ?info.peer, "transport: tcp connected");

    let stream = if t.secure {
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
        let tls_stream = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| io_error(e, "during the TLS handshake"))?;
        let (_, conn) = tls_stream.get_ref();
        info.tls_version = conn.protocol_version().map(|v| format!("{v:?}"));
        info.tls_cipher = conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()));
        info.tls = started.elapsed();
        tracing::debug!(version = ?info.tls_version, cipher = ?info.tls_cipher, "transport: tls established");
        Stream::Tls(Box::new(tls_stream))
    } else {
        Stream::Plain(tcp)
    };

    let started = Instant::now();
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

    tracing::trace!(
        headers = ?opts.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        protocols = ?opts.protocols,
        "transport: sending the upgrade request (header values not logged)"
    );
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(opts.max_payload);
    config.max_frame_size = Some(opts.max_payload);
    config.write_buffer_size = 0;
    // 16 KiB instead of 128 KiB: tungstenite zero-fills the whole buffer per
    // connection. 16 KiB keeps idle memory at ws's level while large messages
    // still read faster than ws (bench/: 128 KiB: 146 KiB/conn; 16 KiB: 35 KiB).
    config.read_buffer_size = 16 * 1024;
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(upgrade_error)?;
    info.upgrade = started.elapsed();
    info.status = response.status().as_u16();
    let header = |n: &str| {
        response
            .headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    info.protocol = header("sec-websocket-protocol");
    info.extensions = header("sec-websocket-extensions");
    Ok((ws, info))
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
}
