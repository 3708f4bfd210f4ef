//! `NativeGatewayClient`: the native half of the JS `GatewayClient`: a
//! session with the gateway protocol plugged in. It converts options and
//! dispatches; events reach JS as one array per wake-up (see `batch.rs`).

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::batch::Batch;
use super::events::gateway_error;
use super::identity::NativeDeviceIdentity;
use super::options::{header_pairs, ms, payload_bytes, tls_options};
use super::reconnecting::NativeReconnectOptions;
use super::session::NativeSession;
use crate::gateway::{ClientOptions, Credentials, DeviceTokenStore, GatewayProtocol};
use crate::session::Target;

/// Gateway client options as the JS layer passes them (checked and
/// defaulted there; absent means the Rust default).
#[napi(object)]
#[derive(Default)]
pub struct NativeGatewayOptions {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Shared gateway token.
    pub token: Option<String>,
    /// Shared gateway password.
    pub password: Option<String>,
    /// Bootstrap (setup-code) token.
    pub bootstrap_token: Option<String>,
    /// Explicit device token.
    pub device_token: Option<String>,
    /// `client.id`.
    pub client_name: Option<String>,
    /// `client.mode`.
    pub mode: Option<String>,
    /// `client.version`.
    pub client_version: Option<String>,
    /// `client.platform`.
    pub platform: Option<String>,
    /// `client.deviceFamily`.
    pub device_family: Option<String>,
    /// `client.displayName`.
    pub display_name: Option<String>,
    /// `client.instanceId`.
    pub instance_id: Option<String>,
    /// `role`.
    pub role: Option<String>,
    /// `scopes` (explicit when set).
    pub scopes: Option<Vec<String>>,
    /// `caps`.
    pub caps: Option<Vec<String>>,
    /// `locale`.
    pub locale: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// Device token file; absent = in memory.
    pub token_store_path: Option<String>,
    /// ms
    pub connect_challenge_timeout_ms: Option<f64>,
    /// ms
    pub connect_timeout_ms: Option<f64>,
    /// ms, DNS + TCP + TLS + upgrade
    pub handshake_timeout_ms: Option<f64>,
    /// false: never reconnect
    pub reconnect: Option<bool>,
    /// Backoff and flapping settings, as `ReconnectingWebSocket` takes them
    /// (and `askHandshake`, `askTarget`).
    pub reconnect_options: Option<NativeReconnectOptions>,
    /// Largest inbound frame in bytes.
    pub max_payload: Option<f64>,
    /// PEM strings.
    pub ca: Option<Vec<String>>,
    /// Default true.
    pub reject_unauthorized: Option<bool>,
    /// SNI / verification name.
    pub servername: Option<String>,
    /// SHA-256 of the leaf certificate, 64 lowercase hex digits (JS has
    /// normalized OpenClaw's spellings): replaces CA verification.
    pub tls_fingerprint: Option<String>,
    /// Extra upgrade headers (`[name, value]` pairs, `Origin` included).
    pub headers: Option<Vec<Vec<String>>>,
    /// Happy Eyeballs, proxy and redirects.
    pub network: Option<super::options::NativeNetworkOptions>,
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

impl NativeGatewayOptions {
    fn into_core(self, identity: Option<&NativeDeviceIdentity>) -> Result<ClientOptions> {
        let mut o = ClientOptions::new(self.url);
        o.credentials = Credentials {
            token: non_empty(self.token),
            device_token: non_empty(self.device_token),
            bootstrap_token: non_empty(self.bootstrap_token),
            password: non_empty(self.password),
        };
        let c = &mut o.connect;
        set(&mut c.client_id, self.client_name);
        set(&mut c.mode, self.mode);
        set(&mut c.client_version, self.client_version);
        set(&mut c.platform, self.platform);
        c.device_family = non_empty(self.device_family);
        c.display_name = non_empty(self.display_name);
        c.instance_id = non_empty(self.instance_id);
        c.role = non_empty(self.role);
        c.locale = non_empty(self.locale);
        c.user_agent = non_empty(self.user_agent);
        set(&mut c.caps, self.caps);
        if let Some(s) = self.scopes {
            c.scopes = s;
            o.scopes_explicit = true;
        }
        o.identity = identity.map(|i| i.inner.clone());
        if let Some(p) = self.token_store_path {
            o.token_store = DeviceTokenStore::open(p)
                .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        }
        if let Some(t) = self.connect_challenge_timeout_ms {
            o.challenge_timeout = ms(t);
        }
        if let Some(t) = self.connect_timeout_ms {
            o.connect_timeout = ms(t);
        }
        if let Some(t) = self.handshake_timeout_ms {
            o.transport.handshake_timeout = ms(t);
        }
        if let Some(m) = self.max_payload {
            o.transport.max_payload = payload_bytes(m);
        }
        o.transport.tls = tls_options(self.ca, self.reject_unauthorized, self.servername);
        if let Some(hex) = &self.tls_fingerprint {
            o.transport.tls.pin_sha256 = Some(pin_from_hex(hex)?);
            o.tls_pinned = true;
        }
        if let Some(h) = self.headers {
            o.transport.headers = header_pairs(h);
        }
        if let Some(n) = self.network {
            n.apply(&mut o.transport);
        }
        if let Some(r) = &self.reconnect_options {
            r.apply(&mut o.supervisor)?;
        }
        if self.reconnect == Some(false) {
            o.supervisor.backoff.max_retries = Some(0);
        }
        o.validate()
            .map_err(|e| Error::new(Status::InvalidArg, e))?;
        Ok(o)
    }
}

/// 64 hex digits as the 32 bytes of a SHA-256 pin.
fn pin_from_hex(hex: &str) -> Result<[u8; 32]> {
    let bad = || {
        Error::new(
            Status::InvalidArg,
            "clawsock: tlsFingerprint must be 64 hex digits (a SHA-256)".to_string(),
        )
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut pin = [0u8; 32];
    for (i, b) in pin.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(pin)
}

/// The native gateway client. JS owns one per `GatewayClient`.
#[napi]
pub struct NativeGatewayClient {
    native: NativeSession<GatewayProtocol>,
}

#[napi]
impl NativeGatewayClient {
    /// Validates the options (throws on a bad URL, client id, mode, role,
    /// backoff or token store) and starts connecting.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: NativeGatewayOptions,
        identity: Option<&NativeDeviceIdentity>,
        on_batch: Function<Batch, ()>,
    ) -> Result<Self> {
        let asks = options
            .reconnect_options
            .as_ref()
            .map(|r| (r.ask_handshake == Some(true), r.ask_target == Some(true)))
            .unwrap_or_default();
        let opts = options.into_core(identity)?;
        let (mut cfg, proto) = GatewayProtocol::new(opts);
        (cfg.ask_handshake, cfg.ask_target) = asks;
        Ok(NativeGatewayClient {
            native: NativeSession::start(&env, cfg, proto, &on_batch)?,
        })
    }

    /// Makes a request. `params` is JSON text (or absent); `timeoutMs`
    /// absent means no timeout. Returns the request id; throws the
    /// `GatewayError` fields (as JSON in the message) when it failed at once
    /// (empty method, stopped, paused, over `policy.maxPayload`).
    #[napi]
    pub fn request(
        &self,
        method: String,
        params: Option<String>,
        timeout_ms: Option<f64>,
        expect_final: bool,
    ) -> NativeRequest {
        let timeout = timeout_ms.filter(|t| t.is_finite()).map(ms);
        let r = self.native.session.with_protocol(|p, now, out| {
            p.request(&method, params.as_deref(), timeout, expect_final, now, out)
        });
        match r {
            Ok(id) => NativeRequest {
                id: Some(id),
                error: None,
            },
            Err(e) => NativeRequest {
                id: None,
                error: Some(gateway_error(&e)),
            },
        }
    }

    /// Forgets a request (aborted in JS). Nothing is sent to the gateway.
    #[napi]
    pub fn cancel(&self, id: String) {
        self.native.session.with_protocol(|p, _, _| p.cancel(&id));
    }

    /// Closes cleanly (1000) and stops; the last event is `terminal`.
    #[napi]
    pub fn close(&self) {
        self.native.session.close(Some(1000), String::new());
    }

    /// The next attempt's URL and token, after a `dial` event.
    #[napi]
    pub fn set_target(&self, url: String, token: Option<String>) {
        self.native.session.set_target(Ok(Target {
            url,
            token,
            ..Target::default()
        }));
    }

    /// Fails the next attempt with `message` (the caller's function threw).
    #[napi]
    pub fn fail_target(&self, message: String) {
        self.native.session.set_target(Err(message));
    }

    /// The verdict for an `error` event with `verdict: true`.
    #[napi]
    pub fn decide(&self, is_final: bool) {
        self.native.session.decide(is_final);
    }

    /// Connects again after a pause.
    #[napi]
    pub fn resume(&self) {
        self.native.session.resume();
    }

    /// Whether this client keeps Node's event loop alive. JS turns it off
    /// while paused (no socket is open then) and on again on `resume()`.
    #[napi]
    pub fn set_ref(&self, env: Env, on: bool) -> Result<()> {
        self.native.waker.set_ref(&env, on)
    }

    /// Called by JS after the `terminal` event: stop holding the event loop.
    #[napi]
    pub fn release(&mut self, env: Env) -> Result<()> {
        self.native.release(&env)
    }
}

/// The outcome of `request()`: an id, or the error it failed with at once.
#[napi(object)]
pub struct NativeRequest {
    /// The request id.
    pub id: Option<String>,
    /// The `GatewayError` fields.
    pub error: Option<serde_json::Value>,
}
