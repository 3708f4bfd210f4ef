//! Which proxy, if any, a destination goes through.
//!
//! The JS layer reads the environment (on the JS thread, when a connection
//! starts) and the `proxy` option, and hands the result down as a
//! [`ProxyPlan`]: plain data. The plan is applied per destination
//! ([`ProxyPlan::route`]), so a redirect to another host is routed anew.
//!
//! The rules (README "Proxies"):
//! - managed (OpenClaw's `OPENCLAW_PROXY_ACTIVE=1`): every destination goes
//!   through the managed proxy, except loopback destinations, which follow
//!   `OPENCLAW_PROXY_LOOPBACK_MODE` exactly as OpenClaw does: `gateway-only`
//!   (default) direct, `proxy` through the proxy, `block` refused before a
//!   socket is opened. `NO_PROXY` does not override the managed policy.
//!   "Loopback" is OpenClaw's definition: the host `localhost` (trailing dots
//!   ignored) or a literal loopback IP address;
//! - environment (`NODE_USE_ENV_PROXY=1` or `proxy: 'env'`): the `ws:` or
//!   `wss:` proxy unless `NO_PROXY` matches the destination;
//! - an explicit proxy URL: every destination through it.
//!
//! A proxy's credentials are kept as the ready `Proxy-Authorization` value
//! and are never part of a `Display` or `Debug` form, so they cannot reach a
//! log line or an error message.

use std::fmt;
use std::net::IpAddr;

/// How loopback destinations go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Loopback {
    /// Like any other destination (the proxy, unless `NO_PROXY` says not).
    #[default]
    AsAny,
    /// Direct (OpenClaw `gateway-only`).
    Direct,
    /// Through the proxy (OpenClaw `proxy`).
    Proxy,
    /// Refused (OpenClaw `block`).
    Block,
}

/// One proxy server.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyServer {
    /// `https://` proxy: TLS to the proxy itself.
    pub secure: bool,
    /// Host name or IP address (no brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The `Proxy-Authorization` value (`Basic ...`), from the URL's
    /// userinfo. Never shown.
    pub authorization: Option<String>,
}

impl fmt::Display for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ProxyServer({self}{})",
            if self.authorization.is_some() {
                ", with credentials"
            } else {
                ""
            }
        )
    }
}

/// Where the proxy settings came from (for messages and the probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProxySource {
    /// No proxy.
    #[default]
    None,
    /// The `proxy` option (or `--proxy`).
    Option,
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (`NODE_USE_ENV_PROXY=1` or `proxy: 'env'`).
    Env,
    /// OpenClaw's managed proxy (`OPENCLAW_PROXY_ACTIVE=1`).
    Managed,
}

impl ProxySource {
    /// A stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxySource::None => "none",
            ProxySource::Option => "option",
            ProxySource::Env => "env",
            ProxySource::Managed => "openclaw",
        }
    }
}

/// The proxy decision for a connection, as plain data (module docs).
#[derive(Clone, Debug, Default)]
pub struct ProxyPlan {
    /// The proxy for `ws:` destinations.
    pub ws: Option<ProxyServer>,
    /// The proxy for `wss:` destinations.
    pub wss: Option<ProxyServer>,
    /// `NO_PROXY` entries (environment mode only).
    pub no_proxy: Vec<String>,
    /// How loopback destinations go.
    pub loopback: Loopback,
    /// PEM CAs that verify an `https://` proxy (`OPENCLAW_PROXY_CA_FILE`,
    /// `proxy.ca`); empty: the default roots.
    pub ca: Vec<String>,
    /// Where the settings came from.
    pub source: ProxySource,
}

/// How one destination is reached.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Straight to the destination.
    Direct,
    /// Through this proxy.
    Proxy(&'a ProxyServer),
    /// Refused, with why.
    Blocked(String),
}

impl ProxyPlan {
    /// The route to `host:port` (`secure`: a `wss:` destination).
    pub fn route(&self, secure: bool, host: &str, port: u16) -> Route<'_> {
        let proxy = if secure { &self.wss } else { &self.ws };
        if is_loopback(host) {
            match self.loopback {
                Loopback::Direct => return Route::Direct,
                Loopback::Block => {
                    return Route::Blocked(format!(
                        "the connection to {host} was refused before it started: OpenClaw's managed proxy is active with OPENCLAW_PROXY_LOOPBACK_MODE=block, which blocks loopback destinations. To allow local traffic, run `openclaw config set proxy.loopbackMode gateway-only` (or `proxy`) and restart the gateway"
                    ));
                }
                Loopback::Proxy => {
                    return proxy.as_ref().map_or(Route::Direct, Route::Proxy);
                }
                Loopback::AsAny => {}
            }
        }
        if no_proxy_matches(&self.no_proxy, host, port) {
            return Route::Direct;
        }
        proxy.as_ref().map_or(Route::Direct, Route::Proxy)
    }
}

/// Whether `host` is loopback as OpenClaw defines it: `localhost` (trailing
/// dots ignored, any case) or a literal loopback IP address.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let h = h.trim_end_matches('.').to_ascii_lowercase();
    if h == "localhost" {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// Whether a `NO_PROXY` list matches `host:port`, as curl reads it:
/// `*` matches everything; `name` and `.name` (or `*.name`) match the name
/// and every name under it; an IP address matches itself, and `a.b.c.d/n`
/// (or an IPv6 prefix) matches addresses in the range; an entry with
/// `:port` matches that port only.
pub fn no_proxy_matches(entries: &[String], host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    entries.iter().any(|raw| {
        let e = raw.trim().to_ascii_lowercase();
        if e.is_empty() {
            return false;
        }
        if e == "*" {
            return true;
        }
        let (name, want_port) = split_port(&e);
        if want_port.is_some_and(|p| p != port) {
            return false;
        }
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if let Some((net, bits)) = name.split_once('/') {
            return match (host_ip, net.parse::<IpAddr>(), bits.parse::<u8>()) {
                (Some(ip), Ok(net), Ok(bits)) => in_prefix(ip, net, bits),
                _ => false,
            };
        }
        if let (Some(ip), Ok(entry_ip)) = (host_ip, name.parse::<IpAddr>()) {
            return ip == entry_ip;
        }
        let suffix = name
            .trim_start_matches('*')
            .trim_start_matches('.')
            .trim_end_matches('.');
        !suffix.is_empty()
            && (host == suffix
                || host
                    .strip_suffix(suffix)
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

/// `name:port` → (`name`, port). A bare IPv6 address has no port.
fn split_port(e: &str) -> (&str, Option<u16>) {
    if let Some(rest) = e.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
        return (e, None);
    }
    if e.matches(':').count() == 1
        && let Some((name, p)) = e.rsplit_once(':')
        && let Ok(p) = p.parse()
    {
        return (name, Some(p));
    }
    (e, None)
}

fn in_prefix(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn no_proxy_as_curl_reads_it() {
        let l = list("example.com,.internal,*.corp,10.0.0.0/8,::1,[fe80::1]:8080,host:9000");
        assert!(no_proxy_matches(&l, "example.com", 80));
        assert!(no_proxy_matches(&l, "a.example.com", 80));
        assert!(!no_proxy_matches(&l, "badexample.com", 80));
        assert!(no_proxy_matches(&l, "x.internal", 80));
        assert!(no_proxy_matches(&l, "internal", 80));
        assert!(no_proxy_matches(&l, "a.b.corp", 80));
        assert!(no_proxy_matches(&l, "10.1.2.3", 80));
        assert!(!no_proxy_matches(&l, "11.1.2.3", 80));
        assert!(no_proxy_matches(&l, "[::1]", 80));
        assert!(no_proxy_matches(&l, "fe80::1", 8080));
        assert!(!no_proxy_matches(&l, "fe80::1", 8081));
        assert!(no_proxy_matches(&l, "host", 9000));
        assert!(!no_proxy_matches(&l, "host", 9001));
        assert!(no_proxy_matches(&list("*"), "anything", 1));
        assert!(!no_proxy_matches(&list(""), "anything", 1));
        // OpenClaw's gateway-only list.
        let oc = list("127.0.0.1,localhost,localhost.,::1,[::1],127.0.0.0/8");
        assert!(no_proxy_matches(&oc, "127.0.0.2", 1));
        assert!(no_proxy_matches(&oc, "localhost.", 1));
    }

    #[test]
    fn loopback_is_openclaws_definition() {
        for h in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["localhost.example", "10.0.0.1", "::2", "he-both"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn routes_follow_the_mode_and_never_show_credentials() {
        let p = ProxyServer {
            secure: false,
            host: "127.0.0.1".into(),
            port: 3128,
            authorization: Some("Basic dTpzZWNyZXQ=".into()),
        };
        let mut plan = ProxyPlan {
            ws: Some(p.clone()),
            wss: Some(p.clone()),
            loopback: Loopback::Direct,
            source: ProxySource::Managed,
            ..ProxyPlan::default()
        };
        assert_eq!(plan.route(false, "localhost", 1), Route::Direct);
        assert_eq!(plan.route(true, "example.com", 443), Route::Proxy(&p));
        plan.loopback = Loopback::Proxy;
        assert_eq!(plan.route(false, "127.0.0.1", 1), Route::Proxy(&p));
        plan.loopback = Loopback::Block;
        assert!(matches!(plan.route(false, "::1", 1), Route::Blocked(m) if m.contains("block")));
        assert_eq!(plan.route(false, "example.com", 1), Route::Proxy(&p));
        assert_eq!(p.to_string(), "http://127.0.0.1:3128");
        assert!(!format!("{plan:?}").contains("dTpzZWNyZXQ"));
    }
}
