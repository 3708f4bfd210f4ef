//! Frames after hello-ok: answers to requests in flight (with the
//! two-stage `accepted` rule) and events (with `seq` and `stateVersion`),
//! read as an envelope whose payload stays unparsed JSON text for JS.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::GatewayProtocol;
use crate::gateway::events::{GatewayEvent, JsonText};
use crate::gateway::frames::StateVersion;
use crate::gateway::pending::Routed;
use crate::gateway::seq::SeqObservation;
use crate::session::Action;

/// The `req` frame text for already-serialized `params` (which must be JSON).
pub fn request_frame_text(id: &str, method: &str, params_json: Option<&str>) -> String {
    let id = serde_json::to_string(id).expect("a string serializes");
    let method = serde_json::to_string(method).expect("a string serializes");
    match params_json {
        Some(p) => format!(r#"{{"type":"req","id":{id},"method":{method},"params":{p}}}"#),
        None => format!(r#"{{"type":"req","id":{id},"method":{method}}}"#),
    }
}

/// The envelope of a post-hello frame: what routing needs, with the
/// payload and error left as unparsed JSON (JS parses them).
#[derive(Deserialize)]
pub(super) struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, rename = "stateVersion")]
    state_version: Option<StateVersion>,
    #[serde(default, borrow)]
    pub(super) payload: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// `payload.status` of a two-stage answer.
#[derive(Deserialize)]
struct StatusHead<'a> {
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
}

/// `payload.restartExpectedMs` of a `shutdown` event.
#[derive(Deserialize)]
struct ShutdownHead {
    #[serde(default, rename = "restartExpectedMs")]
    restart_expected_ms: Option<u64>,
}

impl GatewayProtocol {
    /// Routes a post-hello frame: answers to requests in flight and every
    /// event go to JS; `seq` and `stateVersion` are tracked.
    pub(super) fn route(&mut self, text: &Utf8Bytes, out: &mut Vec<Action>) {
        let head: Head = match serde_json::from_str(text) {
            Ok(h) => h,
            Err(e) => {
                let message = format!(
                    "unreadable frame from the gateway ({} bytes): {e}",
                    text.len()
                );
                return Self::error(out, "frame", message);
            }
        };
        let json = |raw: Option<&RawValue>| raw.map(|r| JsonText::within(text, r.get()));
        match head.kind.as_ref() {
            "res" => {
                let Some(id) = head.id.as_deref() else {
                    let message = "a res frame from the gateway has no id; ignored".to_owned();
                    return Self::error(out, "frame", message);
                };
                let ok = head.ok == Some(true);
                let accepted = ok
                    && head.payload.is_some_and(|p| {
                        serde_json::from_str::<StatusHead>(p.get())
                            .is_ok_and(|s| s.status.as_deref() == Some("accepted"))
                    });
                let accepted = match self.pending.route(id, accepted) {
                    Routed::Unknown => {
                        let message = format!(
                            "a res frame from the gateway answers id {:?}, which no request is waiting for \
                             (never sent, already answered, timed out or aborted); ignored",
                            crate::gateway::redact::clip(id, 64)
                        );
                        return Self::error(out, "frame", message);
                    }
                    Routed::Accepted => true,
                    Routed::Final(_) => false,
                };
                Self::emit(
                    out,
                    GatewayEvent::Response {
                        id: id.to_owned(),
                        ok,
                        accepted,
                        payload: json(head.payload),
                        error: json(head.error),
                    },
                );
            }
            "event" => {
                let Some(event) = head.event.filter(|e| !e.is_empty()) else {
                    let message =
                        "an event frame from the gateway has no event name; ignored".to_owned();
                    return Self::error(out, "frame", message);
                };
                if let Some(sv) = head.state_version
                    && self.seq.observe_state_version(sv)
                {
                    let cur = self.seq.state_version().unwrap_or(sv);
                    Self::emit(out, GatewayEvent::StateVersion(cur));
                }
                if let Some(s) = head.seq {
                    match self.seq.observe(s) {
                        SeqObservation::First | SeqObservation::InOrder => {}
                        other => Self::emit(out, GatewayEvent::Seq(other)),
                    }
                }
                if event == "shutdown" {
                    self.restart_hint = head
                        .payload
                        .and_then(|p| serde_json::from_str::<ShutdownHead>(p.get()).ok())
                        .and_then(|h| h.restart_expected_ms);
                }
                Self::emit(
                    out,
                    GatewayEvent::Event {
                        event: event.into_owned(),
                        seq: head.seq,
                        state_version: head.state_version,
                        payload: json(head.payload),
                        frame: JsonText::whole(text),
                    },
                );
            }
            other => {
                let message = format!(
                    "a frame of unknown type {:?} from the gateway; ignored (expected res or event)",
                    crate::gateway::redact::clip(other, 32)
                );
                Self::error(out, "frame", message);
            }
        }
    }
}
