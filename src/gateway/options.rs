//! What a gateway client is configured with, its defaults, and the closes
//! it sends itself.

use std::fmt;
use std::time::Duration;

use super::auth::{Credentials, select_connect_auth};
use super::endpoint::GatewayEndpoint;
use super::handshake::{Challenge, ConnectOptions, build_connect};
use super::identity::DeviceIdentity;
use super::token_store::DeviceTokenStore;
use crate::reconnect::{ClosePolicy, SupervisorConfig};
use crate::transport;

/// How long to wait for `connect.challenge` after the socket opens (reference: 15 s).
pub const DEFAULT_CHALLENGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for hello-ok after sending `connect` (reference: 15 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default per-request timeout (reference: 30 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Delay before the one-shot device-token retry (reference: 250 ms).
pub const DEVICE_TOKEN_RETRY_DELAY: Duration = Duration::from_millis(250);
/// Server close codes after which the gateway client stops for good. Auth
/// and pairing failures are decided by the `connect` error's detail code
/// instead (they also arrive as 1008), so 1008 is not in this list.
pub const GATEWAY_FINAL_CLOSE_CODES: [u16; 2] = [1003, 1007];
/// The close the client sends when the challenge does not come in time.
pub const CLOSE_CHALLENGE_TIMEOUT: (u16, &str) = (1008, "connect challenge timeout");
/// The close the client sends when hello-ok does not come in time.
pub const CLOSE_CONNECT_TIMEOUT: (u16, &str) = (4000, "connect timeout");
/// The close the client sends when nothing arrived for 2 × `tickIntervalMs`.
pub const CLOSE_TICK_TIMEOUT: (u16, &str) = (4000, "tick timeout");

/// Everything a client is configured with.
pub struct ClientOptions {
    /// `ws://` or `wss://` gateway URL.
    pub url: String,
    /// Who is connecting (client id, mode, role, scopes, …).
    pub connect: ConnectOptions,
    /// Whether the caller chose the scopes (otherwise a stored device token's
    /// scopes are requested when connecting on it alone).
    pub scopes_explicit: bool,
    /// Shared token, password, device or bootstrap token.
    pub credentials: Credentials,
    /// The device key, if any.
    pub identity: Option<DeviceIdentity>,
    /// Device tokens by (gateway, device, role).
    pub token_store: DeviceTokenStore,
    /// Whether the TLS certificate is pinned (for the trusted-endpoint rule).
    pub tls_pinned: bool,
    /// Socket options. No `Origin` and no proxy headers are added.
    pub transport: transport::ConnectOptions,
    /// Deadline for `connect.challenge`.
    pub challenge_timeout: Duration,
    /// Deadline for hello-ok after `connect` is sent.
    pub connect_timeout: Duration,
    /// Reconnect settings.
    pub supervisor: SupervisorConfig,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("url", &GatewayEndpoint::parse(&self.url).map(|e| e.key()))
            .field("connect", &self.connect)
            .field("credentials", &self.credentials)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Defaults for `url`: `gateway-client`/`backend`, read+write scopes, no
    /// credentials, an in-memory token store, 15 s handshake deadlines.
    pub fn new(url: impl Into<String>) -> Self {
        let transport = transport::ConnectOptions {
            handshake_timeout: DEFAULT_CHALLENGE_TIMEOUT,
            close_timeout: Duration::from_secs(2),
            ..transport::ConnectOptions::default()
        };
        ClientOptions {
            url: url.into(),
            connect: ConnectOptions::default(),
            scopes_explicit: false,
            credentials: Credentials::default(),
            identity: None,
            token_store: DeviceTokenStore::in_memory(),
            tls_pinned: false,
            transport,
            challenge_timeout: DEFAULT_CHALLENGE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            supervisor: gateway_supervisor_config(),
        }
    }

    /// Checks what can be checked before connecting: the URL, the connect
    /// options (client id and mode enums, role, version, size), the backoff.
    pub fn validate(&self) -> Result<(), String> {
        GatewayEndpoint::parse(&self.url).map_err(|e| e.to_string())?;
        let probe = Challenge {
            nonce: "probe".into(),
            ts: 0,
        };
        let auth = select_connect_auth(&self.credentials, None, false).auth;
        build_connect(&self.connect, &probe, self.identity.as_ref(), &auth)
            .map_err(|e| e.to_string())?;
        self.supervisor.validate()
    }
}

/// The supervisor settings the gateway client starts from: default backoff
/// (1 s ×2 up to 30 s, full jitter) and [`GATEWAY_FINAL_CLOSE_CODES`].
pub fn gateway_supervisor_config() -> SupervisorConfig {
    SupervisorConfig {
        close_policy: ClosePolicy::new().with_final_codes(GATEWAY_FINAL_CLOSE_CODES),
        ..SupervisorConfig::default()
    }
}
