//! The HTTP CONNECT tunnel through a proxy ([`super::proxy`]).
//!
//! For an `https://` proxy the connection to the proxy is TLS first,
//! verified against `OPENCLAW_PROXY_CA_FILE` / `proxy.ca` when set (else the
//! default roots). Then `CONNECT host:port` asks for the tunnel, with
//! `Proxy-Authorization` when the proxy URL had credentials. Any 2xx opens
//! it; any other answer is an error that names the proxy (never its
//! credentials) and its status. The response is read byte by byte up to the
//! end of its headers, so nothing that follows it is lost.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::error::{ConnectError, ConnectErrorKind as Kind};
use super::options::TlsOptions;
use super::proxy::ProxyServer;
use super::tls;

/// Longest CONNECT response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// What a WebSocket runs on, before TLS to the server: TCP (to the server
/// or to an `http://` proxy), or TLS to an `https://` proxy.
pub enum Link {
    /// TCP.
    Tcp(TcpStream),
    /// TLS to an `https://` proxy.
    Tls(Box<TlsStream<TcpStream>>),
}

/// TLS to an `https://` proxy (verified against `ca`, or the default roots).
pub async fn proxy_tls(
    tcp: TcpStream,
    proxy: &ProxyServer,
    ca: &[String],
) -> Result<Link, ConnectError> {
    if !proxy.secure {
        return Ok(Link::Tcp(tcp));
    }
    let opts = TlsOptions {
        ca: ca.to_vec(),
        reject_unauthorized: true,
        servername: None,
        pin_sha256: None,
    };
    let config = tls::client_config(&opts).map_err(|why| {
        ConnectError::new(
            Kind::Proxy,
            format!("the proxy's CA (OPENCLAW_PROXY_CA_FILE or proxy.ca) cannot be used: {why}"),
        )
    })?;
    let name = rustls::pki_types::ServerName::try_from(proxy.host.clone()).map_err(|_| {
        ConnectError::new(
            Kind::Proxy,
            format!(
                "{:?} is not a valid TLS server name for the proxy",
                proxy.host
            ),
        )
    })?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let why = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .map(tls::explain_tls_error)
                .unwrap_or_else(|| e.to_string());
            ConnectError::new(
                Kind::Proxy,
                format!(
                    "TLS to the proxy {proxy} failed: {why} (to trust the proxy's private CA, set OPENCLAW_PROXY_CA_FILE or pass proxy.ca)"
                ),
            )
        })?;
    Ok(Link::Tls(Box::new(stream)))
}

/// Asks `proxy` (already connected as `link`) for a tunnel to `host:port`.
/// Returns the proxy's status on success.
pub async fn connect_tunnel(
    link: &mut Link,
    proxy: &ProxyServer,
    host: &str,
    port: u16,
) -> Result<u16, ConnectError> {
    match link {
        Link::Tcp(tcp) => ask(tcp, proxy, host, port).await,
        Link::Tls(tls) => ask(tls.as_mut(), proxy, host, port).await,
    }
}

async fn ask<IO: AsyncRead + AsyncWrite + Unpin>(
    io: &mut IO,
    proxy: &ProxyServer,
    host: &str,
    port: u16,
) -> Result<u16, ConnectError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let lost = |e: std::io::Error| {
        ConnectError::new(
            Kind::Proxy,
            format!("the proxy {proxy} closed the connection during CONNECT {authority}: {e}"),
        )
    };
    io.write_all(request.as_bytes()).await.map_err(lost)?;
    io.flush().await.map_err(lost)?;
    tracing::debug!(proxy = %proxy, credentials = proxy.authorization.is_some(), "transport: CONNECT sent");

    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(ConnectError::new(
                Kind::Proxy,
                format!(
                    "the proxy {proxy} answered CONNECT with more than {MAX_HEAD} bytes of headers"
                ),
            ));
        }
        let n = io.read(&mut byte).await.map_err(lost)?;
        if n == 0 {
            return Err(ConnectError::new(
                Kind::Proxy,
                format!(
                    "the proxy {proxy} closed the connection without answering CONNECT {authority}"
                ),
            ));
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status: Option<u16> = parts.next().and_then(|s| s.parse().ok());
    let reason = parts.next().unwrap_or("").trim();
    let Some(status) = status.filter(|_| version.starts_with("HTTP/1.")) else {
        return Err(ConnectError::new(
            Kind::Proxy,
            format!("the proxy {proxy} did not answer CONNECT with HTTP (is it a proxy?)"),
        ));
    };
    tracing::debug!(proxy = %proxy, status, "transport: CONNECT answered");
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let advice = match status {
        407 if proxy.authorization.is_some() => {
            "the proxy did not accept the credentials in the proxy URL; check the user name and password"
        }
        407 => {
            "the proxy wants credentials: put them in the proxy URL, http://user:password@host:port"
        }
        403 => "the proxy's policy does not allow this destination",
        502..=504 => "the proxy could not reach the destination",
        _ => "the proxy did not open the tunnel",
    };
    let mut err = ConnectError::new(
        Kind::Proxy,
        format!(
            "the proxy {proxy} refused CONNECT {authority}: HTTP {status}{}{reason}: {advice}",
            if reason.is_empty() { "" } else { " " }
        ),
    );
    err.status = Some(status);
    Err(err)
}
