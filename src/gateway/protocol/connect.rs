//! The connect steps of [`GatewayProtocol`]: the challenge, the signed
//! `connect`, hello-ok or its refusal, and what a refusal means for the next
//! attempt (a hint, the one-shot device-token retry, or a pause).

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{GatewayProtocol, PauseInfo, Phase};
use crate::gateway::auth::{
    AuthSelection, AuthSource, ConnectFailure, DeviceTokenRetryContext,
    classify_connect_error_with, device_token_to_store, select_connect_auth,
    should_clear_stored_token,
};
use crate::gateway::endpoint::is_trusted_endpoint;
use crate::gateway::error::GatewayError;
use crate::gateway::events::{ClientState, GatewayEvent, JsonText};
use crate::gateway::frames::{CHALLENGE_EVENT, ErrorShape, HelloOk, Inbound, parse_inbound};
use crate::gateway::handshake::{
    Challenge, ConnectOutcome, HandshakeError, build_connect, connect_request, parse_challenge,
    parse_connect_response,
};
use crate::gateway::options::DEVICE_TOKEN_RETRY_DELAY;
use crate::session::Action;
use crate::transport::Outgoing;

use super::route::Head;

impl GatewayProtocol {
    pub(super) fn on_challenge(&mut self, text: &str, now: Instant, out: &mut Vec<Action>) {
        let Ok(Inbound::Event(ev)) = parse_inbound(text) else {
            return;
        };
        if ev.event != CHALLENGE_EVENT {
            return;
        }
        let challenge = match parse_challenge(&ev) {
            Ok(c) => c,
            // Without a device key the ts is not signed; the nonce is enough.
            Err(HandshakeError::MissingTs | HandshakeError::InvalidTs)
                if self.identity.is_none() =>
            {
                match ev
                    .payload
                    .as_ref()
                    .and_then(|p| p.get("nonce"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                {
                    Some(n) => Challenge {
                        nonce: n.to_owned(),
                        ts: 0,
                    },
                    None => {
                        return self.local_close(1008, "connect challenge missing nonce", now, out);
                    }
                }
            }
            Err(HandshakeError::MissingNonce) => {
                return self.local_close(1008, "connect challenge missing nonce", now, out);
            }
            Err(_) => return self.local_close(1008, "connect challenge invalid ts", now, out),
        };
        let role = self.role();
        let stored = self.identity.as_ref().and_then(|id| {
            self.token_store
                .get(&self.url, id.device_id(), &role)
                .cloned()
        });
        let sel = select_connect_auth(&self.credentials, stored.as_ref(), self.device_token_retry);
        self.device_token_retry = false;
        let mut copts = self.connect.clone();
        if !self.scopes_explicit
            && let Some(s) = &sel.stored_scopes
            && !s.is_empty()
        {
            copts.scopes = s.clone();
        }
        let built =
            build_connect(&copts, &challenge, self.identity.as_ref(), &sel.auth).and_then(|p| {
                self.connects += 1;
                let id = format!("connect-{}", self.connects);
                connect_request(&id, &p).map(|(_, json)| (id, json))
            });
        match built {
            Ok((id, json)) => {
                out.push(Action::Send {
                    msg: Outgoing::Text(Utf8Bytes::from(json)),
                    tag: None,
                });
                self.connect_id = id;
                self.selection = Some(sel);
                self.phase = Phase::Hello;
                self.deadline = Some(now + self.connect_timeout);
            }
            Err(e) => {
                // A configuration problem: retrying cannot fix it.
                let shape = ErrorShape {
                    code: "INVALID_REQUEST".into(),
                    message: e.to_string(),
                    details: Some(serde_json::json!({"code": "CLIENT_CONFIG_INVALID"})),
                    retryable: Some(false),
                    retry_after_ms: None,
                };
                self.rejected = Some((shape, sel));
                self.local_close(1008, "connect failed", now, out);
            }
        }
    }

    pub(super) fn on_hello_frame(&mut self, text: &Utf8Bytes, now: Instant, out: &mut Vec<Action>) {
        let Ok(Inbound::Response(res)) = parse_inbound(text) else {
            return;
        };
        if res.id != self.connect_id {
            return;
        }
        let sel = self.selection.clone().expect("set when connect was sent");
        match parse_connect_response(res) {
            Ok(ConnectOutcome::Hello(hello)) => self.on_hello(hello, text, now, out),
            Ok(ConnectOutcome::Rejected(err)) => {
                self.rejected = Some((err, sel));
                self.phase = Phase::Rejected;
                // The gateway closes right after; close ourselves if it does not.
                self.deadline = Some(now + self.close_timeout);
            }
            Err(e) => {
                Self::error(out, "frame", e.to_string());
                self.local_close(1008, "invalid hello-ok", now, out);
            }
        }
    }

    fn on_hello(&mut self, hello: HelloOk, text: &Utf8Bytes, now: Instant, out: &mut Vec<Action>) {
        self.policy = hello.policy();
        if let Some(id) = &self.identity {
            let role = self.role();
            let prev = self
                .token_store
                .get(&self.url, id.device_id(), &role)
                .cloned();
            if let Some((role, tok)) = device_token_to_store(&hello, &role, prev.as_ref())
                && prev.as_ref() != Some(&tok)
                && let Err(e) = self.token_store.put(&self.url, id.device_id(), &role, tok)
            {
                Self::error(out, "token-store", e.to_string());
            }
        }
        self.seq.reset();
        if let Some(sv) = hello.snapshot_state_version() {
            self.seq.observe_state_version(sv);
        }
        self.retry_used = false;
        self.device_token_retry = false;
        self.hello_at = Some(now);
        self.phase = Phase::Ready;
        self.deadline = Some(now + self.watchdog_window());
        let payload = serde_json::from_str::<Head>(text)
            .ok()
            .and_then(|h| h.payload)
            .map(|p| JsonText::within(text, p.get()));
        if let Some(payload) = payload {
            Self::emit(
                out,
                GatewayEvent::Hello {
                    protocol: hello.protocol(),
                    max_payload: self.policy.max_payload,
                    tick_interval_ms: self.policy.tick_interval_ms,
                    state_version: self.seq.state_version(),
                    payload,
                },
            );
        }
        out.push(Action::Ready);
        self.set_state(ClientState::Ready, out);
        self.flush_held(out);
    }

    /// What a refused `connect` means for the next attempt: a hint, the
    /// one-shot device-token retry, or a pause (the message to stop with).
    pub(super) fn classify_rejection(
        &mut self,
        err: ErrorShape,
        sel: AuthSelection,
        hint: &mut Option<Duration>,
        out: &mut Vec<Action>,
    ) -> Option<String> {
        let role = self.role();
        let device_id = self.identity.as_ref().map(|i| i.device_id().to_owned());
        let has_stored = device_id
            .as_deref()
            .is_some_and(|d| self.token_store.get(&self.url, d, &role).is_some());
        if should_clear_stored_token(&err, sel.uses_stored_token)
            && let Some(d) = &device_id
            && let Err(e) = self.token_store.remove(&self.url, d, &role)
        {
            Self::error(out, "token-store", e.to_string());
        }
        let ctx = DeviceTokenRetryContext {
            explicit_token_sent: sel.source == AuthSource::SharedToken,
            has_stored_token: has_stored,
            retry_already_used: self.retry_used,
            endpoint_trusted: is_trusted_endpoint(&self.url, self.tls_pinned),
        };
        match classify_connect_error_with(&err, &ctx) {
            ConnectFailure::Retry { after_ms } => {
                *hint = after_ms.map(Duration::from_millis).or(*hint);
                None
            }
            ConnectFailure::RetryWithDeviceToken => {
                self.device_token_retry = true;
                self.retry_used = true;
                *hint = Some(DEVICE_TOKEN_RETRY_DELAY);
                None
            }
            ConnectFailure::Pause {
                detail_code,
                next_step,
            } => {
                let message = format!(
                    "paused: {detail_code}: {}; next step: {next_step}",
                    err.message
                );
                self.pause = Some(PauseInfo {
                    error: GatewayError::from_shape(err, Some("connect")),
                    detail_code,
                    next_step,
                });
                Some(message)
            }
        }
    }
}
