//! `NativeGatewayClient`: the native half of the JS `GatewayClient`. It
//! converts options and dispatches to the actor in `gateway::client`; the
//! actor's events reach JS as one array per wake-up (see `batch.rs`).

use napi::CleanupEnvHook;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;
use std::sync::Arc;

use super::batch::{Batch, Waker, release_socket};
use super::identity::NativeDeviceIdentity;
use super::options::{ms, payload_bytes, tls_options};
use crate::gateway::client::{self, ClientOptions, GatewayClientHandle, error_json};
use crate::gateway::{Credentials, DeviceTokenStore};
use crate::reconnect::Jitter;
use crate::runtime;
use crate::transport::Inbox;

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
    /// ms
    pub reconnect_initial_delay_ms: Option<f64>,
    /// ms
    pub reconnect_max_delay_ms: Option<f64>,
    /// count; absent = unlimited
    pub reconnect_max_retries: Option<f64>,
    /// 'full' | 'equal' | 'none'
    pub reconnect_jitter: Option<String>,
    /// Largest inbound frame in bytes.
    pub max_payload: Option<f64>,
    /// PEM strings.
    pub ca: Option<Vec<String>>,
    /// Default true.
    pub reject_unauthorized: Option<bool>,
    /// SNI / verification name.
    pub servername: Option<String>,
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
        if let Some(n) = self.network {
            n.apply(&mut o.transport);
        }
        let b = &mut o.supervisor.backoff;
        if let Some(t) = self.reconnect_initial_delay_ms {
            b.initial_delay = ms(t);
        }
        if let Some(t) = self.reconnect_max_delay_ms {
            b.max_delay = ms(t);
        }
        if let Some(n) = self.reconnect_max_retries {
            b.max_retries = Some(n.max(0.0).min(u32::MAX as f64) as u32);
        }
        if self.reconnect == Some(false) {
            b.max_retries = Some(0);
        }
        match self.reconnect_jitter.as_deref() {
            None | Some("full") => {}
            Some("equal") => b.jitter = Jitter::Equal,
            Some("none") => b.jitter = Jitter::None,
            Some(other) => {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("reconnect.jitter must be 'full', 'equal' or 'none', got '{other}'"),
                ));
            }
        }
        o.validate()
            .map_err(|e| Error::new(Status::InvalidArg, e))?;
        Ok(o)
    }
}

struct Shared {
    inbox: Arc<Inbox>,
    waker: Waker,
    handle: GatewayClientHandle,
}

/// The native gateway client. JS owns one per `GatewayClient`.
#[napi]
pub struct NativeGatewayClient {
    shared: Arc<Shared>,
    cleanup: Option<CleanupEnvHook<Arc<Shared>>>,
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
        let opts = options.into_core(identity)?;
        let (waker, inbox) = Waker::attached(&on_batch, &opts.transport)?;
        let handle = client::spawn(opts, inbox.clone(), runtime::handle());
        let shared = Arc::new(Shared {
            inbox,
            waker,
            handle,
        });
        let cleanup = env.add_env_cleanup_hook(shared.clone(), |s| {
            s.waker.release();
            s.inbox.close();
            s.handle.close();
        })?;
        Ok(NativeGatewayClient {
            shared,
            cleanup: Some(cleanup),
        })
    }

    /// Makes a request. `params` is JSON text (or absent); `timeoutMs`
    /// absent means no timeout. Returns `{id}`, or `{error}` when it failed
    /// at once (empty method, stopped, over `policy.maxPayload`).
    #[napi]
    pub fn request(
        &self,
        method: String,
        params: Option<String>,
        timeout_ms: Option<f64>,
        expect_final: bool,
    ) -> serde_json::Value {
        let timeout = timeout_ms.filter(|t| t.is_finite()).map(ms);
        match self
            .shared
            .handle
            .request(&method, params.as_deref(), timeout, expect_final)
        {
            Ok(id) => json!({ "id": id }),
            Err(e) => json!({ "error": error_json(&e) }),
        }
    }

    /// Forgets a request (aborted in JS). Nothing is sent to the gateway.
    #[napi]
    pub fn cancel(&self, id: String) {
        self.shared.handle.cancel(&id);
    }

    /// Closes cleanly and stops; the last event is `closed`.
    #[napi]
    pub fn close(&self) {
        self.shared.handle.close();
    }

    /// Connects again after a pause.
    #[napi]
    pub fn resume(&self) {
        self.shared.handle.resume();
    }

    /// Whether this client keeps Node's event loop alive. JS turns it off
    /// while paused (no socket is open then) and on again on `resume()`.
    #[napi]
    pub fn set_ref(&self, env: Env, on: bool) -> Result<()> {
        self.shared.waker.set_ref(&env, on)
    }

    /// Called by JS after the `closed` event: stop holding the event loop.
    #[napi]
    pub fn release(&mut self, env: Env) -> Result<()> {
        release_socket(
            &env,
            &self.shared.waker,
            &self.shared.inbox,
            &mut self.cleanup,
        )
    }
}
