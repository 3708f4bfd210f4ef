//! JS options → [`ConnectOptions`]. The JS layer has already checked types
//! and named the offending option; this only converts.

use std::time::Duration;

use napi_derive::napi;

use napi::{Error, Status};

use crate::reconnect::Jitter;
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
        o
    }
}
