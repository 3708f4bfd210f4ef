//! JS options → [`ConnectOptions`]. The JS layer has already checked types
//! and named the offending option; this only converts.

use std::time::Duration;

use napi_derive::napi;

use napi::{Error, Status};

use crate::reconnect::Jitter;
use crate::transport::happy_eyeballs::FamilyOptions;
use crate::transport::proxy::{Loopback, ProxyPlan, ProxyServer, ProxySource};
use crate::transport::{ConnectOptions, TlsOptions};

/// Connection options as the JS layer passes them (all optional).
#[napi(object)]
#[derive(Default)]
pub struct NativeConnectOptions {
    /// Subprotocols to offer.
    pub protocols: Option<Vec<String>>,
    /// Header pairs `[name, value]`.
    pub headers: Option<Vec<Vec<String>>>,
    /// ms
    pub handshake_timeout: Option<f64>,
    /// bytes
    pub max_payload: Option<f64>,
    /// PEM strings
    pub ca: Option<Vec<String>>,
    /// default true
    pub reject_unauthorized: Option<bool>,
    /// SNI / verification name
    pub servername: Option<String>,
    /// ms; 0 or absent disables pings
    pub ping_interval: Option<f64>,
    /// ms
    pub pong_timeout: Option<f64>,
    /// ms
    pub close_timeout: Option<f64>,
    /// Happy Eyeballs, proxy and redirects.
    pub network: Option<NativeNetworkOptions>,
}

/// One proxy server, parsed by the JS layer (`lib/network.js`).
#[napi(object)]
#[derive(Default)]
pub struct NativeProxyServer {
    /// `https://` proxy.
    pub secure: bool,
    /// Host name or IP address (no brackets).
    pub host: String,
    /// Port.
    pub port: u32,
    /// The ready `Proxy-Authorization` value, from the URL's userinfo.
    pub authorization: Option<String>,
}

/// The proxy decision the JS layer made from the `proxy` option and the
/// environment, read on the JS thread when the connection started.
#[napi(object)]
#[derive(Default)]
pub struct NativeProxyPlan {
    /// Proxy for `ws:` destinations.
    pub ws: Option<NativeProxyServer>,
    /// Proxy for `wss:` destinations.
    pub wss: Option<NativeProxyServer>,
    /// `NO_PROXY` entries.
    pub no_proxy: Option<Vec<String>>,
    /// 'as-any' | 'direct' | 'proxy' | 'block'
    pub loopback: Option<String>,
    /// PEM CAs for an `https://` proxy.
    pub ca: Option<Vec<String>>,
    /// 'option' | 'env' | 'openclaw'
    pub source: Option<String>,
}

/// Happy Eyeballs, proxy and redirect options (checked by the JS layer).
#[napi(object)]
#[derive(Default)]
pub struct NativeNetworkOptions {
    /// default true
    pub auto_select_family: Option<bool>,
    /// ms, default 250
    pub auto_select_family_attempt_timeout: Option<f64>,
    /// 0 | 4 | 6
    pub family: Option<u32>,
    /// The proxy decision; absent: direct.
    pub proxy: Option<NativeProxyPlan>,
    /// default false
    pub follow_redirects: Option<bool>,
    /// default 10
    pub max_redirects: Option<u32>,
}

fn proxy_server(s: NativeProxyServer) -> ProxyServer {
    ProxyServer {
        secure: s.secure,
        host: s.host,
        port: s.port.min(u16::MAX as u32) as u16,
        authorization: s.authorization,
    }
}

impl NativeNetworkOptions {
    /// The family options, the proxy plan, `followRedirects`, `maxRedirects`.
    pub(crate) fn into_core(self) -> (FamilyOptions, ProxyPlan, bool, u32) {
        let mut family = FamilyOptions::default();
        if let Some(a) = self.auto_select_family {
            family.auto_select = a;
        }
        if let Some(t) = self.auto_select_family_attempt_timeout {
            family.attempt_timeout = ms(t);
        }
        family.family = self.family.unwrap_or(0).min(6) as u8;
        let proxy = self.proxy.map_or_else(ProxyPlan::default, |p| ProxyPlan {
            ws: p.ws.map(proxy_server),
            wss: p.wss.map(proxy_server),
            no_proxy: p.no_proxy.unwrap_or_default(),
            loopback: match p.loopback.as_deref() {
                Some("direct") => Loopback::Direct,
                Some("proxy") => Loopback::Proxy,
                Some("block") => Loopback::Block,
                _ => Loopback::AsAny,
            },
            ca: p.ca.unwrap_or_default(),
            source: match p.source.as_deref() {
                Some("option") => ProxySource::Option,
                Some("env") => ProxySource::Env,
                Some("openclaw") => ProxySource::Managed,
                _ => ProxySource::None,
            },
        });
        (
            family,
            proxy,
            self.follow_redirects.unwrap_or(false),
            self.max_redirects.unwrap_or(10),
        )
    }

    /// Sets these options on `o`.
    pub(crate) fn apply(self, o: &mut ConnectOptions) {
        (o.family, o.proxy, o.follow_redirects, o.max_redirects) = self.into_core();
    }
}

/// A JS millisecond count as a duration (negative: zero; capped at u32::MAX ms).
pub(crate) fn ms(v: f64) -> Duration {
    Duration::from_millis(v.max(0.0).min(u32::MAX as f64) as u64)
}

/// A JS `maxPayload` in bytes (at least 1).
pub(crate) fn payload_bytes(v: f64) -> usize {
    v.max(1.0).min(usize::MAX as f64) as usize
}

/// JS header pairs `[name, value]` as `(name, value)`; other lengths are dropped.
pub(crate) fn header_pairs(pairs: Vec<Vec<String>>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .filter(|kv| kv.len() == 2)
        .map(|mut kv| {
            let v = kv.pop().unwrap();
            (kv.pop().unwrap(), v)
        })
        .collect()
}

/// A JS `jitter` name (absent: full). `lib/options.js` has checked it; an
/// unknown name here is a bug between the two layers, reported, not guessed.
pub(crate) fn jitter(name: Option<&str>) -> napi::Result<Jitter> {
    match name {
        None | Some("full") => Ok(Jitter::Full),
        Some("equal") => Ok(Jitter::Equal),
        Some("none") => Ok(Jitter::None),
        Some(other) => Err(Error::new(
            Status::InvalidArg,
            format!("clawsock: reconnect.jitter must be 'full', 'equal' or 'none', got '{other}'"),
        )),
    }
}

/// The TLS options from their JS names (`rejectUnauthorized` defaults to true).
pub(crate) fn tls_options(
    ca: Option<Vec<String>>,
    reject_unauthorized: Option<bool>,
    servername: Option<String>,
) -> TlsOptions {
    TlsOptions {
        ca: ca.unwrap_or_default(),
        reject_unauthorized: reject_unauthorized.unwrap_or(true),
        servername,
        pin_sha256: None,
    }
}

impl NativeConnectOptions {
    /// Converts to the core options.
    pub fn into_core(self) -> ConnectOptions {
        let mut o = ConnectOptions::default();
        if let Some(p) = self.protocols {
            o.protocols = p;
        }
        if let Some(h) = self.headers {
            o.headers = header_pairs(h);
        }
        if let Some(t) = self.handshake_timeout {
            o.handshake_timeout = ms(t);
        }
        if let Some(m) = self.max_payload {
            o.max_payload = payload_bytes(m);
        }
        o.tls = tls_options(self.ca, self.reject_unauthorized, self.servername);
        o.ping_interval = self.ping_interval.filter(|v| *v > 0.0).map(ms);
        if let Some(t) = self.pong_timeout {
            o.pong_timeout = ms(t);
        }
        if let Some(t) = self.close_timeout {
            o.close_timeout = ms(t);
        }
        if let Some(n) = self.network {
            n.apply(&mut o);
        }
        o
    }
}
