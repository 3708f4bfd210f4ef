//! The HTTP upgrade request, and what its failures mean in words.

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use super::error::{ConnectError, ConnectErrorKind as Kind};
use super::redirect::is_redirect;
use super::tls;

/// The upgrade request: `url` with `headers` and `protocols`.
pub fn upgrade_request(
    url: &str,
    headers: &[(String, String)],
    protocols: &[String],
) -> Result<Request, ConnectError> {
    let mut request = url.into_client_request().map_err(|e| {
        ConnectError::new(
            Kind::InvalidUrl,
            format!(
                "the URL {:?} cannot be used: {e}",
                crate::gateway::redact::url_for_message(url)
            ),
        )
    })?;
    let h = request.headers_mut();
    for (name, value) in headers {
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
        h.insert(n, v);
    }
    if !protocols.is_empty() {
        let v = HeaderValue::from_str(&protocols.join(", ")).map_err(|_| {
            ConnectError::new(Kind::InvalidUrl, "a subprotocol is not a valid token")
        })?;
        h.insert("sec-websocket-protocol", v);
    }
    Ok(request)
}

/// A failed upgrade in words. A redirect keeps its `Location` in the error.
pub fn upgrade_error(e: WsError) -> ConnectError {
    match e {
        WsError::Http(resp) => {
            let status = resp.status();
            let body = resp.body().as_ref().map(|b| {
                let cut = &b[..b.len().min(200)];
                String::from_utf8_lossy(cut).into_owned()
            });
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .filter(|_| is_redirect(status.as_u16()));
            let mut message = format!(
                "unexpected HTTP {} {} in answer to the WebSocket upgrade",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if let Some(l) = &location {
                message.push_str(&format!(
                    ": a redirect to {l:?}; pass followRedirects: true to follow it"
                ));
            } else if let Some(b) = body.as_deref().filter(|b| !b.trim().is_empty()) {
                message.push_str(&format!(": {}", b.trim()));
            }
            let mut err = ConnectError::new(Kind::HttpStatus, message);
            err.status = Some(status.as_u16());
            err.body = body;
            err.location = location;
            err.headers = super::dial::header_pairs(resp.headers());
            err.retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| super::error::parse_retry_after(v, std::time::SystemTime::now()));
            err
        }
        WsError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => ConnectError::new(
            Kind::Handshake,
            format!("the server's answer is not a valid WebSocket handshake: {io}"),
        ),
        WsError::Io(io) => io_error(io, "during the HTTP upgrade"),
        WsError::Tls(t) => ConnectError::new(Kind::Tls, format!("TLS failed: {t}")),
        // The peer closed the connection before its answer was complete
        // (a server restarting or shedding load).
        WsError::Protocol(
            tokio_tungstenite::tungstenite::error::ProtocolError::HandshakeIncomplete,
        ) => ConnectError::new(
            Kind::Handshake,
            "the server closed the connection before it finished answering the WebSocket \
                 upgrade (is it restarting or overloaded?)",
        ),
        other => ConnectError::new(
            Kind::Handshake,
            format!("the server's answer is not a valid WebSocket handshake: {other}"),
        ),
    }
}

/// An I/O failure during `during`, in words (TLS failures explained).
pub fn io_error(io: std::io::Error, during: &str) -> ConnectError {
    if let Some(tls_err) = io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        let mut err = ConnectError::new(Kind::Tls, tls::explain_tls_error(tls_err));
        err.certificate_rejected = matches!(tls_err, rustls::Error::InvalidCertificate(_));
        return err;
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
