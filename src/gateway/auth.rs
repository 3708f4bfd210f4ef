//! Connect auth: which credentials to send, the one-shot device-token retry,
//! and what to do when `connect` fails (protocol doc §6, §7.5, §12; anchor
//! §1.6, §1.8, §1.13).
//!
//! Differences from the reference client, on purpose:
//! - `DEVICE_AUTH_*` failures pause instead of retrying forever (anchor §5.12).
//! - A malformed-connect `INVALID_REQUEST` with no detail code pauses too.
//! - An explicit `canRetryWithDeviceToken: false` from the server is respected.
//!
//! No message or `Debug` output here contains a token or a password.

use std::fmt;

use super::frames::{ConnectAuth, ErrorShape, HelloOk, MIN_PROTOCOL, PROTOCOL_VERSION};
use super::redact::{clip, secret_presence};
use super::token_store::StoredDeviceToken;

/// Detail codes after which reconnecting cannot help (the reference pause
/// set, anchor §1.8), except `AUTH_TOKEN_MISMATCH` and `PAIRING_REQUIRED`,
/// which have their own rules. All `DEVICE_AUTH_*` codes pause as well.
pub const PAUSE_DETAIL_CODES: [&str; 14] = [
    "AUTH_TOKEN_MISSING",
    "AUTH_BOOTSTRAP_TOKEN_INVALID",
    "AUTH_PASSWORD_MISSING",
    "AUTH_PASSWORD_MISMATCH",
    "AUTH_RATE_LIMITED",
    "AUTH_DEVICE_TOKEN_MISMATCH",
    "AUTH_SCOPE_MISMATCH",
    "AUTH_IDENTITY_HEADER_REQUIRED",
    "AUTH_VERIFIED_USER_REQUIRED",
    "CONTROL_UI_BUILD_MISMATCH",
    "CONTROL_UI_DEVICE_IDENTITY_REQUIRED",
    "DEVICE_IDENTITY_REQUIRED",
    "PROTOCOL_MISMATCH",
    "CLIENT_VERSION_MISMATCH",
];

/// The credentials a caller configured. `Debug` shows only which are set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The gateway's shared token.
    pub token: Option<String>,
    /// An explicit device token (wins over the stored one).
    pub device_token: Option<String>,
    /// A bootstrap (setup-code) token.
    pub bootstrap_token: Option<String>,
    /// The gateway's shared password.
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &secret_presence(&self.token))
            .field("device_token", &secret_presence(&self.device_token))
            .field("bootstrap_token", &secret_presence(&self.bootstrap_token))
            .field("password", &secret_presence(&self.password))
            .finish()
    }
}

/// Which credential leads the connect attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSource {
    /// The explicit shared token.
    SharedToken,
    /// The explicit device token.
    ExplicitDeviceToken,
    /// A device token from the token store.
    StoredDeviceToken,
    /// The bootstrap token.
    BootstrapToken,
    /// Only a password.
    Password,
    /// Nothing (device-less or auth mode none).
    None,
}

/// The result of [`select_connect_auth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSelection {
    /// What goes into `connect.params.auth` (sign `auth.signature_token()`).
    pub auth: ConnectAuth,
    /// The leading credential.
    pub source: AuthSource,
    /// Whether the stored device token was sent (then clear it on
    /// `AUTH_DEVICE_TOKEN_MISMATCH`, see [`should_clear_stored_token`]).
    pub uses_stored_token: bool,
    /// When connecting on the stored token alone: its granted scopes, to
    /// request again unless the caller set scopes explicitly.
    pub stored_scopes: Option<Vec<String>>,
}

fn non_empty(v: &Option<String>) -> Option<&String> {
    v.as_ref().filter(|s| !s.is_empty())
}

/// Choose `connect.params.auth` like the reference `selectGatewayConnectAuth`:
///
/// - the device token = explicit `device_token`, else the stored token when
///   no shared token and no password is configured;
/// - `auth.token` = explicit shared token, else that device token;
/// - `auth.deviceToken` = the stored token during the one-shot retry
///   (`device_token_retry`, only with an explicit shared token), else that device token;
/// - `auth.bootstrapToken` only when neither token field is set;
/// - `auth.password` always when configured.
///
/// The signed token is then `auth.token ?? auth.deviceToken ?? auth.bootstrapToken`.
/// Pass `stored = None` when there is no device identity.
pub fn select_connect_auth(
    creds: &Credentials,
    stored: Option<&StoredDeviceToken>,
    device_token_retry: bool,
) -> AuthSelection {
    let explicit_token = non_empty(&creds.token);
    let explicit_device = non_empty(&creds.device_token);
    let password = non_empty(&creds.password);
    let stored_token = stored.map(|s| &s.token).filter(|t| !t.is_empty());

    let from_store = explicit_device.is_none()
        && explicit_token.is_none()
        && password.is_none()
        && stored_token.is_some();
    let resolved_device = explicit_device.or(if from_store { stored_token } else { None });
    let retry_token = if device_token_retry && explicit_token.is_some() {
        stored_token
    } else {
        None
    };

    let token = explicit_token.or(resolved_device).cloned();
    let device_token = retry_token.or(resolved_device).cloned();
    let bootstrap_token = if token.is_none() && device_token.is_none() {
        non_empty(&creds.bootstrap_token).cloned()
    } else {
        None
    };
    let source = if explicit_token.is_some() {
        AuthSource::SharedToken
    } else if explicit_device.is_some() {
        AuthSource::ExplicitDeviceToken
    } else if from_store {
        AuthSource::StoredDeviceToken
    } else if bootstrap_token.is_some() {
        AuthSource::BootstrapToken
    } else if password.is_some() {
        AuthSource::Password
    } else {
        AuthSource::None
    };
    AuthSelection {
        auth: ConnectAuth {
            token,
            bootstrap_token,
            device_token,
            password: password.cloned(),
        },
        source,
        uses_stored_token: from_store || retry_token.is_some(),
        stored_scopes: if from_store {
            stored.map(|s| s.scopes.clone())
        } else {
            None
        },
    }
}

/// What the client knows when deciding on the one-shot device-token retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceTokenRetryContext {
    /// The failed attempt sent an explicit shared token.
    pub explicit_token_sent: bool,
    /// A stored device token exists for this gateway, device and role.
    pub has_stored_token: bool,
    /// The retry was already used since the last hello-ok.
    pub retry_already_used: bool,
    /// [`super::endpoint::is_trusted_endpoint`] for the URL and TLS pin.
    pub endpoint_trusted: bool,
}

/// Whether to reconnect once (after ~250 ms) with the stored device token in
/// `auth.deviceToken` (anchor §1.8 `shouldRetryGatewayWithDeviceToken`):
/// `AUTH_TOKEN_MISMATCH` (or the server's retry hints) after an explicit token,
/// a stored token, the budget unused, and a trusted endpoint (loopback, or
/// `wss://` with a pinned fingerprint).
pub fn should_retry_with_device_token(err: &ErrorShape, ctx: &DeviceTokenRetryContext) -> bool {
    if !(ctx.explicit_token_sent
        && ctx.has_stored_token
        && !ctx.retry_already_used
        && ctx.endpoint_trusted)
    {
        return false;
    }
    let can_retry = err.detail_bool("canRetryWithDeviceToken");
    let hinted = can_retry == Some(true)
        || err.detail_str("recommendedNextStep") == Some("retry_with_device_token");
    hinted || (err.detail_code() == Some("AUTH_TOKEN_MISMATCH") && can_retry != Some(false))
}

/// Whether the stored device token should be deleted: the gateway rejected
/// it (`AUTH_DEVICE_TOKEN_MISMATCH`) while it was in use.
pub fn should_clear_stored_token(err: &ErrorShape, uses_stored_token: bool) -> bool {
    uses_stored_token && err.detail_code() == Some("AUTH_DEVICE_TOKEN_MISMATCH")
}

/// The device token to persist after hello-ok, with the scopes to store
/// (anchor §1.13): if the token equals the stored one, keep the stored
/// scopes; otherwise take `hello-ok.auth.scopes`. Returns `(role, token)`;
/// the role is `auth.role`, else the requested role. `None` when hello-ok
/// carries no device token.
pub fn device_token_to_store(
    hello: &HelloOk,
    requested_role: &str,
    previous: Option<&StoredDeviceToken>,
) -> Option<(String, StoredDeviceToken)> {
    let auth = hello.auth()?;
    let token = auth.device_token?;
    let role = auth
        .role
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| requested_role.to_owned());
    let scopes = match previous {
        Some(p) if p.token == token => p.scopes.clone(),
        _ => auth.scopes,
    };
    Some((
        role,
        StoredDeviceToken::new(token, scopes, auth.issued_at_ms),
    ))
}

/// What to do after a failed `connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Reconnect with backoff; `after_ms` is the server's `retryAfterMs`
    /// (the reconnect policy should clamp it).
    Retry {
        /// Server-suggested delay.
        after_ms: Option<u64>,
    },
    /// Reconnect once, soon (~250 ms), sending the stored device token.
    RetryWithDeviceToken,
    /// Stop reconnecting until the user acts.
    Pause {
        /// `details.code` (or the top-level code when there is none).
        detail_code: String,
        /// A plain recommended action for the user.
        next_step: String,
    },
}

/// Classify a connect error without retry context: `AUTH_TOKEN_MISMATCH` pauses.
pub fn classify_connect_error(err: &ErrorShape) -> ConnectFailure {
    classify_connect_error_with(err, &DeviceTokenRetryContext::default())
}

/// Classify a connect error. `RetryWithDeviceToken` is returned only when
/// [`should_retry_with_device_token`] allows it.
pub fn classify_connect_error_with(
    err: &ErrorShape,
    ctx: &DeviceTokenRetryContext,
) -> ConnectFailure {
    let retry = ConnectFailure::Retry {
        after_ms: err.retry_after_ms,
    };
    let pause = |code: &str| ConnectFailure::Pause {
        detail_code: code.to_owned(),
        next_step: next_step(code, err),
    };
    let Some(code) = err.detail_code() else {
        if err.code == "UNAVAILABLE" || err.retryable == Some(true) {
            return retry;
        }
        if err.code == "INVALID_REQUEST" {
            return pause("INVALID_REQUEST");
        }
        return retry;
    };
    match code {
        "AUTH_TOKEN_MISMATCH" => {
            if should_retry_with_device_token(err, ctx) {
                ConnectFailure::RetryWithDeviceToken
            } else {
                pause(code)
            }
        }
        "PAIRING_REQUIRED" => {
            // An explicit `pauseReconnect` wins over the `recommendedNextStep`
            // hint: a gateway sends `wait_then_retry` together with
            // `pauseReconnect: true` while a manual approval is pending.
            let wait = match err.detail_bool("pauseReconnect") {
                Some(flag) => !flag,
                None => err.detail_str("recommendedNextStep") == Some("wait_then_retry"),
            };
            if wait { retry } else { pause(code) }
        }
        c if c.starts_with("DEVICE_AUTH_") || PAUSE_DETAIL_CODES.contains(&c) => pause(c),
        _ => retry,
    }
}

fn safe_id(s: &str) -> Option<&str> {
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'))
    .then_some(s)
}

/// The recommended action for a paused connect failure.
fn next_step(code: &str, err: &ErrorShape) -> String {
    match code {
        "AUTH_TOKEN_MISSING" => "the gateway requires a token: pass the gateway token \
            (gateway.auth.token on the gateway host, or OPENCLAW_GATEWAY_TOKEN)"
            .into(),
        "AUTH_TOKEN_MISMATCH" => "the gateway token is wrong: check the token you pass \
            (gateway.auth.token on the gateway host)"
            .into(),
        "AUTH_BOOTSTRAP_TOKEN_INVALID" => "the bootstrap (setup) token is invalid or expired: \
            create a new setup code on the gateway host"
            .into(),
        "AUTH_PASSWORD_MISSING" => "the gateway requires a password: pass the gateway password \
            (gateway.auth.password on the gateway host, or OPENCLAW_GATEWAY_PASSWORD)"
            .into(),
        "AUTH_PASSWORD_MISMATCH" => "the gateway password is wrong: check the password you pass \
            (gateway.auth.password on the gateway host)"
            .into(),
        "AUTH_RATE_LIMITED" => {
            let wait = err
                .retry_after_ms
                .map(|ms| format!(" (the gateway asks to wait {ms} ms)"))
                .unwrap_or_default();
            format!(
                "too many failed auth attempts{wait}: fix the credentials, wait, then reconnect"
            )
        }
        "AUTH_DEVICE_TOKEN_MISMATCH" => "the stored device token was rejected (rotated or \
            revoked): remove it from the token store and connect with the gateway token to pair again"
            .into(),
        "AUTH_SCOPE_MISMATCH" => "this device was not approved for the requested scopes: request \
            fewer scopes, or approve the scope upgrade on the gateway host \
            (`openclaw devices list`, then `openclaw devices approve <requestId>`)"
            .into(),
        "AUTH_IDENTITY_HEADER_REQUIRED" => "the gateway runs in trusted-proxy mode and expects an \
            identity header from its proxy: connect through that proxy, or change gateway.auth.mode"
            .into(),
        "AUTH_VERIFIED_USER_REQUIRED" => "the gateway only accepts verified users (e.g. through \
            Tailscale Serve): connect through that path, or change gateway.auth.mode"
            .into(),
        "CONTROL_UI_BUILD_MISMATCH" => "the gateway refused a Control UI client.id: use client.id \
            gateway-client, cli or test"
            .into(),
        "CONTROL_UI_DEVICE_IDENTITY_REQUIRED" | "DEVICE_IDENTITY_REQUIRED" => "the gateway requires \
            a device identity: enable the device key (DeviceIdentity::load_or_create), or on loopback \
            use client.id gateway-client with mode backend"
            .into(),
        "PAIRING_REQUIRED" => {
            let reason = err
                .detail_str("reason")
                .and_then(safe_id)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            match err.detail_str("requestId").and_then(safe_id) {
                Some(id) => format!(
                    "pairing required{reason}: run `openclaw devices approve {id}` on the gateway host, then reconnect"
                ),
                None => format!(
                    "pairing required{reason}: run `openclaw devices list` and `openclaw devices approve --latest` \
                     on the gateway host, then reconnect"
                ),
            }
        }
        "PROTOCOL_MISMATCH" => {
            let expected = err
                .detail_u64("expectedProtocol")
                .map(|p| format!("protocol {p}"))
                .unwrap_or_else(|| "a different protocol".into());
            format!(
                "no common protocol: the gateway expects {expected} and this client speaks \
                 {MIN_PROTOCOL} to {PROTOCOL_VERSION}; upgrade the older side"
            )
        }
        "CLIENT_VERSION_MISMATCH" => "the gateway does not accept this client version: \
            upgrade clawsock (or the gateway)"
            .into(),
        "DEVICE_AUTH_SIGNATURE_EXPIRED" => "the device signature is outside the gateway's \
            ±120 s window: check the clocks; the client signs with the challenge ts, so this \
            points to a client bug"
            .into(),
        "DEVICE_AUTH_DEVICE_ID_MISMATCH" => "device.id is not the SHA-256 of device.publicKey: \
            the device key file is inconsistent; delete it to create a new identity (needs pairing again)"
            .into(),
        "DEVICE_AUTH_PUBLIC_KEY_INVALID" => "the gateway cannot read device.publicKey: \
            the device key file is corrupt; delete it to create a new identity (needs pairing again)"
            .into(),
        c if c.starts_with("DEVICE_AUTH_") => format!(
            "the gateway rejected the device proof ({c}): this is a client bug or a gateway \
             version it does not support; reconnecting will not help, report it"
        ),
        "INVALID_REQUEST" => format!(
            "the gateway rejected the connect request ({}): this is a client bug or a version \
             mismatch; upgrade clawsock or the gateway",
            clip(&err.message, 160)
        ),
        other => format!("the gateway refused the connection ({other}); see the gateway logs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(t: &str) -> StoredDeviceToken {
        StoredDeviceToken::new(t, vec!["operator.admin".into()], None)
    }

    fn creds(
        token: Option<&str>,
        dt: Option<&str>,
        bt: Option<&str>,
        pw: Option<&str>,
    ) -> Credentials {
        Credentials {
            token: token.map(Into::into),
            device_token: dt.map(Into::into),
            bootstrap_token: bt.map(Into::into),
            password: pw.map(Into::into),
        }
    }

    fn err(code: &str, details: serde_json::Value) -> ErrorShape {
        ErrorShape {
            details: Some(details),
            ..ErrorShape::new(code, "x")
        }
    }

    #[test]
    fn shared_token_wins_and_stored_token_is_not_sent() {
        let s = stored("STORED");
        let sel = select_connect_auth(
            &creds(Some("SHARED"), None, Some("BOOT"), Some("PW")),
            Some(&s),
            false,
        );
        assert_eq!(sel.source, AuthSource::SharedToken);
        assert_eq!(sel.auth.token.as_deref(), Some("SHARED"));
        assert_eq!(sel.auth.device_token, None);
        assert_eq!(sel.auth.bootstrap_token, None);
        assert_eq!(sel.auth.password.as_deref(), Some("PW"));
        assert_eq!(sel.auth.signature_token(), Some("SHARED"));
        assert!(!sel.uses_stored_token);
        assert_eq!(sel.stored_scopes, None);
    }

    #[test]
    fn explicit_device_token_beats_stored() {
        let s = stored("STORED");
        let sel = select_connect_auth(&creds(None, Some("DT"), None, None), Some(&s), false);
        assert_eq!(sel.source, AuthSource::ExplicitDeviceToken);
        assert_eq!(sel.auth.token.as_deref(), Some("DT"));
        assert_eq!(sel.auth.device_token.as_deref(), Some("DT"));
        assert!(!sel.uses_stored_token);
    }

    #[test]
    fn stored_token_alone_goes_in_both_fields_with_its_scopes() {
        let s = stored("STORED");
        let sel = select_connect_auth(&creds(None, None, Some("BOOT"), None), Some(&s), false);
        assert_eq!(sel.source, AuthSource::StoredDeviceToken);
        assert_eq!(sel.auth.token.as_deref(), Some("STORED"));
        assert_eq!(sel.auth.device_token.as_deref(), Some("STORED"));
        assert_eq!(sel.auth.bootstrap_token, None);
        assert!(sel.uses_stored_token);
        assert_eq!(
            sel.stored_scopes.as_deref(),
            Some(&["operator.admin".to_owned()][..])
        );
    }

    #[test]
    fn password_suppresses_stored_token_but_is_forwarded() {
        let s = stored("STORED");
        let sel = select_connect_auth(&creds(None, None, None, Some("PW")), Some(&s), false);
        assert_eq!(sel.source, AuthSource::Password);
        assert_eq!(sel.auth.token, None);
        assert_eq!(sel.auth.password.as_deref(), Some("PW"));
        assert_eq!(sel.auth.signature_token(), None);
    }

    #[test]
    fn bootstrap_only_when_nothing_else() {
        let sel = select_connect_auth(&creds(Some(""), None, Some("BOOT"), None), None, false);
        assert_eq!(sel.source, AuthSource::BootstrapToken);
        assert_eq!(sel.auth.token, None);
        assert_eq!(sel.auth.bootstrap_token.as_deref(), Some("BOOT"));
        assert_eq!(sel.auth.signature_token(), Some("BOOT"));
        let none = select_connect_auth(&Credentials::default(), None, false);
        assert_eq!(none.source, AuthSource::None);
        assert!(none.auth.is_empty());
    }

    #[test]
    fn retry_sends_stored_token_as_device_token() {
        let s = stored("STORED");
        let sel = select_connect_auth(&creds(Some("SHARED"), None, None, None), Some(&s), true);
        assert_eq!(sel.auth.token.as_deref(), Some("SHARED"));
        assert_eq!(sel.auth.device_token.as_deref(), Some("STORED"));
        assert_eq!(sel.auth.signature_token(), Some("SHARED"));
        assert!(sel.uses_stored_token);
        // Without an explicit token the retry flag changes nothing.
        let sel = select_connect_auth(&creds(None, None, None, None), None, true);
        assert!(sel.auth.is_empty());
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let s = stored("STORED-SECRET");
        let c = creds(
            Some("SHARED-SECRET"),
            None,
            Some("BOOT-SECRET"),
            Some("PW-SECRET"),
        );
        let sel = select_connect_auth(&c, Some(&s), true);
        let all = format!("{c:?} {sel:?} {s:?}");
        for secret in ["STORED-SECRET", "SHARED-SECRET", "BOOT-SECRET", "PW-SECRET"] {
            assert!(!all.contains(secret), "{all}");
        }
    }

    fn trusted() -> DeviceTokenRetryContext {
        DeviceTokenRetryContext {
            explicit_token_sent: true,
            has_stored_token: true,
            retry_already_used: false,
            endpoint_trusted: true,
        }
    }

    #[test]
    fn device_token_retry_rule() {
        let mismatch = err(
            "INVALID_REQUEST",
            json!({"code":"AUTH_TOKEN_MISMATCH","canRetryWithDeviceToken":true}),
        );
        assert_eq!(
            classify_connect_error_with(&mismatch, &trusted()),
            ConnectFailure::RetryWithDeviceToken
        );
        // Each missing precondition turns it into a pause.
        for ctx in [
            DeviceTokenRetryContext {
                endpoint_trusted: false,
                ..trusted()
            },
            DeviceTokenRetryContext {
                retry_already_used: true,
                ..trusted()
            },
            DeviceTokenRetryContext {
                has_stored_token: false,
                ..trusted()
            },
            DeviceTokenRetryContext {
                explicit_token_sent: false,
                ..trusted()
            },
        ] {
            assert!(
                matches!(
                    classify_connect_error_with(&mismatch, &ctx),
                    ConnectFailure::Pause { .. }
                ),
                "{ctx:?}"
            );
        }
        // The server's explicit "no" is respected (the live wrong-token answer).
        let live = err(
            "INVALID_REQUEST",
            json!({"code":"AUTH_TOKEN_MISMATCH","authReason":"token_mismatch",
            "canRetryWithDeviceToken":false,"recommendedNextStep":"update_auth_credentials"}),
        );
        let ConnectFailure::Pause {
            detail_code,
            next_step,
        } = classify_connect_error_with(&live, &trusted())
        else {
            panic!()
        };
        assert_eq!(detail_code, "AUTH_TOKEN_MISMATCH");
        assert_eq!(
            next_step,
            "the gateway token is wrong: check the token you pass (gateway.auth.token on the gateway host)"
        );
        let hinted = err(
            "INVALID_REQUEST",
            json!({"code":"AUTH_TOKEN_MISMATCH","recommendedNextStep":"retry_with_device_token"}),
        );
        assert!(should_retry_with_device_token(&hinted, &trusted()));
        let bare = err("INVALID_REQUEST", json!({"code":"AUTH_TOKEN_MISMATCH"}));
        assert!(should_retry_with_device_token(&bare, &trusted()));
        assert!(matches!(
            classify_connect_error(&bare),
            ConnectFailure::Pause { .. }
        ));
    }

    #[test]
    fn pause_set_and_device_auth_codes() {
        for code in PAUSE_DETAIL_CODES {
            let f = classify_connect_error(&err("INVALID_REQUEST", json!({"code": code})));
            assert!(
                matches!(&f, ConnectFailure::Pause { detail_code, .. } if detail_code == code),
                "{code}"
            );
        }
        for code in [
            "DEVICE_AUTH_INVALID",
            "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            "DEVICE_AUTH_SIGNATURE_EXPIRED",
            "DEVICE_AUTH_NONCE_REQUIRED",
            "DEVICE_AUTH_NONCE_MISMATCH",
            "DEVICE_AUTH_SIGNATURE_INVALID",
            "DEVICE_AUTH_PUBLIC_KEY_INVALID",
        ] {
            let f = classify_connect_error(&err("INVALID_REQUEST", json!({"code": code})));
            let ConnectFailure::Pause {
                detail_code,
                next_step,
            } = f
            else {
                panic!("{code}")
            };
            assert_eq!(detail_code, code);
            assert!(!next_step.is_empty());
        }
    }

    #[test]
    fn retryable_and_unknown_codes_retry() {
        let startup = ErrorShape {
            retryable: Some(true),
            retry_after_ms: Some(500),
            details: Some(json!({"reason":"startup-sidecars"})),
            ..ErrorShape::new("UNAVAILABLE", "gateway starting")
        };
        assert_eq!(
            classify_connect_error(&startup),
            ConnectFailure::Retry {
                after_ms: Some(500)
            }
        );
        let plain = ErrorShape::new("UNAVAILABLE", "busy");
        assert_eq!(
            classify_connect_error(&plain),
            ConnectFailure::Retry { after_ms: None }
        );
        for code in [
            "AUTH_REQUIRED",
            "AUTH_UNAUTHORIZED",
            "AUTH_TOKEN_NOT_CONFIGURED",
        ] {
            assert_eq!(
                classify_connect_error(&err("INVALID_REQUEST", json!({"code": code}))),
                ConnectFailure::Retry { after_ms: None },
                "{code}"
            );
        }
        let malformed = ErrorShape::new(
            "INVALID_REQUEST",
            "invalid connect params: at root: unexpected property 'bogus'",
        );
        let ConnectFailure::Pause {
            detail_code,
            next_step,
        } = classify_connect_error(&malformed)
        else {
            panic!()
        };
        assert_eq!(detail_code, "INVALID_REQUEST");
        assert!(next_step.contains("unexpected property 'bogus'"));
    }

    #[test]
    fn pairing_required_messages_and_wait() {
        let e = ErrorShape {
            details: Some(
                json!({"code":"PAIRING_REQUIRED","requestId":"req-123","reason":"scope-upgrade"}),
            ),
            ..ErrorShape::new("NOT_PAIRED", "pairing required: scope upgrade")
        };
        assert_eq!(
            classify_connect_error(&e),
            ConnectFailure::Pause {
                detail_code: "PAIRING_REQUIRED".into(),
                next_step: "pairing required (scope-upgrade): run `openclaw devices approve req-123` on the gateway host, then reconnect".into()
            }
        );
        let no_id = err(
            "NOT_PAIRED",
            json!({"code":"PAIRING_REQUIRED","requestId":"bad id; rm -rf"}),
        );
        let ConnectFailure::Pause { next_step, .. } = classify_connect_error(&no_id) else {
            panic!()
        };
        assert!(
            next_step.contains("approve --latest") && !next_step.contains("rm -rf"),
            "{next_step}"
        );
        let wait = ErrorShape {
            retry_after_ms: Some(2000),
            ..err(
                "NOT_PAIRED",
                json!({"code":"PAIRING_REQUIRED","recommendedNextStep":"wait_then_retry","pauseReconnect":false}),
            )
        };
        assert_eq!(
            classify_connect_error(&wait),
            ConnectFailure::Retry {
                after_ms: Some(2000)
            }
        );
        // The hint alone waits; an explicit pauseReconnect wins either way.
        let hint_only = err(
            "NOT_PAIRED",
            json!({"code":"PAIRING_REQUIRED","recommendedNextStep":"wait_then_retry"}),
        );
        assert!(matches!(
            classify_connect_error(&hint_only),
            ConnectFailure::Retry { .. }
        ));
        let explicit_pause = err(
            "NOT_PAIRED",
            json!({"code":"PAIRING_REQUIRED","requestId":"r1",
                "recommendedNextStep":"wait_then_retry","pauseReconnect":true}),
        );
        assert!(matches!(
            classify_connect_error(&explicit_pause),
            ConnectFailure::Pause { detail_code, next_step }
                if detail_code == "PAIRING_REQUIRED" && next_step.contains("approve r1")
        ));
    }

    #[test]
    fn protocol_mismatch_message() {
        let e = err(
            "INVALID_REQUEST",
            json!({"code":"PROTOCOL_MISMATCH","expectedProtocol":5}),
        );
        let ConnectFailure::Pause { next_step, .. } = classify_connect_error(&e) else {
            panic!()
        };
        assert!(
            next_step.contains("expects protocol 5") && next_step.contains("3 to 4"),
            "{next_step}"
        );
    }

    #[test]
    fn clear_stored_token_rule() {
        let e = err(
            "INVALID_REQUEST",
            json!({"code":"AUTH_DEVICE_TOKEN_MISMATCH"}),
        );
        assert!(should_clear_stored_token(&e, true));
        assert!(!should_clear_stored_token(&e, false));
        assert!(!should_clear_stored_token(
            &err("X", json!({"code":"AUTH_TOKEN_MISMATCH"})),
            true
        ));
    }

    #[test]
    fn device_token_store_scopes_rule() {
        let hello = HelloOk::from_payload(json!({"protocol":4,"auth":{"role":"operator",
            "scopes":["operator.read"],"deviceToken":"NEW","issuedAtMs":9}}))
        .unwrap();
        let (role, t) = device_token_to_store(&hello, "node", None).unwrap();
        assert_eq!(role, "operator");
        assert_eq!(
            (t.token.as_str(), t.scopes.clone(), t.issued_at_ms),
            ("NEW", vec!["operator.read".to_owned()], Some(9))
        );
        // Same token as stored: keep the stored (wider) scopes.
        let prev = StoredDeviceToken::new("NEW", vec!["operator.admin".into()], Some(1));
        let (_, t) = device_token_to_store(&hello, "operator", Some(&prev)).unwrap();
        assert_eq!(t.scopes, ["operator.admin"]);
        // A different token: take the granted scopes.
        let prev = StoredDeviceToken::new("OLD", vec!["operator.admin".into()], Some(1));
        let (_, t) = device_token_to_store(&hello, "operator", Some(&prev)).unwrap();
        assert_eq!(t.scopes, ["operator.read"]);
        let none =
            HelloOk::from_payload(json!({"protocol":4,"auth":{"role":"operator","scopes":[]}}))
                .unwrap();
        assert!(device_token_to_store(&none, "operator", None).is_none());
    }
}
