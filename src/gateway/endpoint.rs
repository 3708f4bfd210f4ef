//! Gateway URLs: parsing, the normalized key used by the token store, and
//! the "trusted endpoint" rule for the one-shot device-token retry
//! (anchor §1.8: loopback host, or `wss://` with a pinned TLS fingerprint).
//!
//! Error messages never echo the URL, because it may carry userinfo.

use std::fmt;
use std::net::IpAddr;

/// A parsed gateway URL, reduced to what identifies the gateway: scheme,
/// host and port. Path, query, fragment and userinfo are dropped (the
/// gateway answers on any path, protocol doc §1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayEndpoint {
    /// `true` for `wss://` (and `https://`), `false` for `ws://` (and `http://`).
    pub secure: bool,
    /// The host, lowercased, without brackets for IPv6 and without a trailing dot.
    pub host: String,
    /// The port, with the scheme default (80 / 443) filled in.
    pub port: u16,
}

/// Why a gateway URL could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid gateway URL: {}", self.0)
    }
}

impl std::error::Error for EndpointError {}

impl GatewayEndpoint {
    /// Parse `ws://`, `wss://` (or `http://`, `https://`) URLs.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| EndpointError("expected ws://host:port or wss://host:port".into()))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            _ => {
                return Err(EndpointError(
                    "the scheme must be ws:// or wss:// (http:// and https:// are mapped to them)"
                        .into(),
                ));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| EndpointError("unclosed '[' in an IPv6 host".into()))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| EndpointError("unexpected text after ']'".into()))?,
                ),
            };
            (host, port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Err(EndpointError("the host is empty".into()));
        }
        let port =
            match port {
                None | Some("") => {
                    if secure {
                        443
                    } else {
                        80
                    }
                }
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    EndpointError("the port must be a number from 1 to 65535".into())
                })?,
            };
        Ok(GatewayEndpoint { secure, host, port })
    }

    /// The normalized key: `ws://host:port` or `wss://host:port`, IPv6 in brackets.
    pub fn key(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Whether the host is loopback: `localhost` (or `*.localhost`),
    /// 127.0.0.0/8, `::1`, or an IPv4-mapped loopback address.
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" || self.host.ends_with(".localhost") {
            return true;
        }
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => v4.is_loopback(),
            Ok(IpAddr::V6(v6)) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Err(_) => false,
        }
    }
}

/// The token-store key for `url` (see [`GatewayEndpoint::key`]).
pub fn normalize_gateway_url(url: &str) -> Result<String, EndpointError> {
    GatewayEndpoint::parse(url).map(|e| e.key())
}

/// Whether the endpoint may receive the stored device token in the one-shot
/// retry after `AUTH_TOKEN_MISMATCH`: a loopback host, or `wss://` with a
/// pinned TLS certificate fingerprint. Unparseable URLs are never trusted.
pub fn is_trusted_endpoint(url: &str, tls_pinned: bool) -> bool {
    match GatewayEndpoint::parse(url) {
        Ok(e) => e.is_loopback() || (e.secure && tls_pinned),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_urls() {
        assert_eq!(
            normalize_gateway_url("ws://127.0.0.1:18789").unwrap(),
            "ws://127.0.0.1:18789"
        );
        assert_eq!(
            normalize_gateway_url("WS://LocalHost.:18789/some/path?x=1#f").unwrap(),
            "ws://localhost:18789"
        );
        assert_eq!(
            normalize_gateway_url("wss://user:pw@Gateway.Example").unwrap(),
            "wss://gateway.example:443"
        );
        assert_eq!(
            normalize_gateway_url("ws://[::1]:18789/").unwrap(),
            "ws://[::1]:18789"
        );
        assert_eq!(normalize_gateway_url("http://h").unwrap(), "ws://h:80");
    }

    #[test]
    fn rejects_bad_urls_without_echoing_them() {
        for bad in [
            "127.0.0.1:18789",
            "ftp://h",
            "ws://:80",
            "ws://h:99999",
            "ws://[::1",
            "ws://user:hunter2@h:x",
        ] {
            let err = GatewayEndpoint::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid gateway URL"), "{err}");
            assert!(!err.contains("hunter2"));
        }
    }

    #[test]
    fn loopback_and_trust() {
        for url in [
            "ws://127.0.0.1:1",
            "ws://127.8.9.1",
            "ws://localhost",
            "ws://[::1]:2",
            "ws://[::ffff:127.0.0.1]",
        ] {
            assert!(is_trusted_endpoint(url, false), "{url}");
        }
        assert!(!is_trusted_endpoint("ws://192.168.1.2:18789", false));
        assert!(!is_trusted_endpoint("ws://192.168.1.2:18789", true));
        assert!(!is_trusted_endpoint("wss://gw.example", false));
        assert!(is_trusted_endpoint("wss://gw.example", true));
        assert!(!is_trusted_endpoint("not a url", true));
    }
}
