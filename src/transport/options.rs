//! Connection options. Names follow `ws` where WHATWG is silent.

use std::time::Duration;

use super::happy_eyeballs::FamilyOptions;
use super::proxy::ProxyPlan;

/// TLS settings for `wss://` URLs (the names of Node's `tls.connect`).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM certificates to trust instead of the default roots.
    pub ca: Vec<String>,
    /// `false` accepts any certificate. Never use this in production.
    pub reject_unauthorized: bool,
    /// The name to send as SNI and to verify the certificate against.
    pub servername: Option<String>,
    /// A SHA-256 pin of the server's leaf certificate (DER): when set, it
    /// replaces CA and name verification for this connection (OpenClaw's
    /// `tlsFingerprint`).
    pub pin_sha256: Option<[u8; 32]>,
}

/// Everything a caller can set for one connection.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Subprotocols offered in `Sec-WebSocket-Protocol`.
    pub protocols: Vec<String>,
    /// Extra request headers (`Authorization`, ...). No `Origin` is sent
    /// unless it is listed here.
    pub headers: Vec<(String, String)>,
    /// Deadline for DNS + TCP + TLS + HTTP upgrade.
    pub handshake_timeout: Duration,
    /// Largest inbound message, in bytes. A larger one closes with 1009.
    pub max_payload: usize,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Send a ping this often (None: never).
    pub ping_interval: Option<Duration>,
    /// Close with 1006 "pong timeout" when no pong arrives this long after a ping.
    pub pong_timeout: Duration,
    /// How long to wait for the peer's close frame after `close()` asks for
    /// ours (as in ws: also when ours cannot be written).
    pub close_timeout: Duration,
    /// Inbound queue limit in bytes before socket reads pause.
    pub inbound_high_water_bytes: usize,
    /// Inbound queue limit in messages before socket reads pause.
    pub inbound_high_water_messages: usize,
    /// Happy Eyeballs and address family (`autoSelectFamily`,
    /// `autoSelectFamilyAttemptTimeout`, `family`).
    pub family: FamilyOptions,
    /// The proxy decision, made by the JS layer (see `transport::proxy`).
    pub proxy: ProxyPlan,
    /// Follow 301/302/303/307/308 answers to the upgrade (`followRedirects`).
    pub follow_redirects: bool,
    /// The most redirects followed (`maxRedirects`).
    pub max_redirects: u32,
}

/// `ws`'s default maxPayload: 100 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 100 * 1024 * 1024;

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            protocols: Vec::new(),
            headers: Vec::new(),
            handshake_timeout: Duration::from_secs(30),
            max_payload: DEFAULT_MAX_PAYLOAD,
            tls: TlsOptions {
                reject_unauthorized: true,
                ..TlsOptions::default()
            },
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(30),
            inbound_high_water_bytes: 16 * 1024 * 1024,
            inbound_high_water_messages: 16 * 1024,
            family: FamilyOptions::default(),
            proxy: ProxyPlan::default(),
            follow_redirects: false,
            max_redirects: 10,
        }
    }
}
