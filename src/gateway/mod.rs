//! The OpenClaw gateway protocol, as pure logic: no sockets, no tokio, no
//! napi. The session driver (`crate::session`) does the I/O.
//!
//! Section numbers refer to `openclaw-gateway-protocol.md`; "anchor" to
//! `gateway-client-anchor.md` (the reference Node client).
//!
//! | File | Concern | Protocol |
//! | --- | --- | --- |
//! | [`frames`] | `req`/`res`/`event` envelopes, `ErrorShape`, `connect` params, constants and the client id/mode enums | §2, §4 |
//! | [`hello`] | the hello-ok payload: server, features, auth, `policy` | §5 |
//! | [`identity`] | Ed25519 device key, device id, v2/v3 signed payloads, key file | §7.1–7.4 |
//! | [`auth`] | which credentials to send, the one-shot device-token retry, retry-or-pause after a failed connect | §6, §7.5, §12; anchor §1.6, §1.8, §1.13 |
//! | [`token_store`] | device tokens keyed by (gateway URL, deviceId, role) | §7.5; anchor §1.13, §5.4 |
//! | [`seq`] | `seq` gaps, duplicates, backward jumps; `stateVersion` | §9; anchor §1.11 |
//! | [`handshake`] | challenge parsing, signed `connect` params, the 64 KiB pre-auth check, the `connect` response | §3, §7.2–7.3 |
//! | [`error`] | `GatewayError`, what a request resolves with | §2.2, §11 |
//! | [`endpoint`] | gateway URL normalization and the trusted-endpoint rule | §1; anchor §1.8–1.9 |
//! | [`redact`] | secret redaction for `Debug` | — |
//! | [`pending`] | the client's request table: held, in flight, deadlines | §3 step 5, §10 |
//! | [`options`] | what a client is configured with; its defaults and own closes | anchor §1 |
//! | [`events`] | what the protocol reports to JS | — |
//! | [`protocol`] | the state machine: challenge, connect, hello-ok, requests, seq, watchdog, pause | §3.4, §9, §11, §12 |
//!
//! [`GatewayProtocol`] drives these in order: `parse_inbound` →
//! `parse_challenge` → `select_connect_auth` → `build_connect` →
//! `connect_request` → `parse_connect_response` → on hello:
//! `device_token_to_store`, `Policy`, `SeqTracker`; on rejection:
//! `classify_connect_error_with`.

#![deny(missing_docs)]

pub mod auth;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod frames;
pub mod handshake;
pub mod hello;
pub mod identity;
pub mod options;
pub mod pending;
pub mod protocol;
pub mod redact;
mod secure_file;
pub mod seq;
pub mod token_store;

pub use auth::{
    AuthSelection, AuthSource, ConnectFailure, Credentials, DeviceTokenRetryContext,
    classify_connect_error, classify_connect_error_with, device_token_to_store,
    select_connect_auth, should_clear_stored_token, should_retry_with_device_token,
};
pub use endpoint::{EndpointError, GatewayEndpoint, is_trusted_endpoint, normalize_gateway_url};
pub use error::GatewayError;
pub use events::{ClientState, GatewayEvent, JsonText};
pub use frames::{
    CLIENT_IDS, CLIENT_MODES, ClientInfo, ConnectAuth, ConnectParams, DeviceProof, ErrorShape,
    EventFrame, FrameError, HelloAuth, HelloOk, Inbound, MAX_PREAUTH_PAYLOAD, MIN_PROTOCOL,
    PROTOCOL_VERSION, Policy, RequestFrame, ResponseFrame, StateVersion, parse_inbound,
    validate_client_id, validate_client_mode,
};
pub use handshake::{
    Challenge, ConnectOptions, ConnectOutcome, HandshakeError, build_connect, connect_request,
    parse_challenge, parse_connect_response,
};
pub use identity::{
    DeviceAuthFields, DeviceIdentity, IdentityError, build_payload_v2, build_payload_v3,
};
pub use options::ClientOptions;
pub use protocol::GatewayProtocol;
pub use seq::{SeqObservation, SeqTracker};
pub use token_store::{DeviceTokenStore, StoredDeviceToken, TokenStoreError};
