//! Typed core events → the JS objects `lib/` reads. This is the only place
//! that knows their JS names (`type`, `wasClean`, `byServer`, …).
//!
//! | core | JS `type` | fields |
//! | --- | --- | --- |
//! | `InboundEvent::Sent` | `sent` | `id, bytes, notify` |
//! | `InboundEvent::Ping` / `Pong` | `ping` / `pong` | `data` (Buffer) |
//! | `Event::Open` | `open` | `protocol, extensions, rawHeaders` |
//! | `Event::Error` | `error` | `message, kind, status?, verdict, finalByDefault, rawHeaders?, body?` (the last two for an HTTP refusal) |
//! | `Event::Close` | `close` | `code, reason, wasClean, byServer, settledThrough, verdict` |
//! | `Event::Reconnecting` | `reconnecting` | `attempt, delay (ms), lastClose {code, reason}, fromServer, retryAfter (ms)` |
//! | `Event::Dialing` | `dial` | `attempt` |
//! | `Event::Terminal` | `terminal` | `code, reason, message, kind, unsent, codes?, status?` |
//! | `GatewayEvent::State` | `state` | `state` |
//! | `GatewayEvent::Hello` | `hello` | `protocol, maxPayload, tickIntervalMs, stateVersion, payload (JSON text)` |
//! | `GatewayEvent::Response` | `res` | `id, ok, accepted, payload?, error? (JSON text)` |
//! | `GatewayEvent::Event` | (a string) | the frame's JSON text, which JS parses whole: one `JSON.parse` costs less than setting the fields one Node-API call at a time |
//! | `GatewayEvent::Reject` | `reject` | `id, error` |
//! | `GatewayEvent::Seq` | `seq` | `kind, expected?, received, last?` |
//! | `GatewayEvent::StateVersion` | `stateVersion` | `presence, health` |
//! | `GatewayEvent::Disconnected` | `disconnected` | `code, reason, byServer, phase` |
//! | `GatewayEvent::Paused` | `paused` | `code, reason, detailCode, message, nextStep, error` |

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys};
use serde_json::json;

use crate::gateway::frames::StateVersion;
use crate::gateway::seq::SeqObservation;
use crate::gateway::{GatewayError, GatewayEvent, JsonText};
use crate::reconnect::TerminalKind;
use crate::session::Event;

/// A plain JS object under construction.
struct Obj {
    env: sys::napi_env,
    obj: sys::napi_value,
}

impl Obj {
    fn new(env: sys::napi_env, ty: &str) -> napi::Result<Obj> {
        let mut obj = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_object(env, &mut obj) })?;
        let o = Obj { env, obj };
        o.str(c"type", ty)?;
        Ok(o)
    }

    fn set(&self, key: &CStr, v: sys::napi_value) -> napi::Result<&Self> {
        check_status!(unsafe {
            sys::napi_set_named_property(self.env, self.obj, key.as_ptr(), v)
        })?;
        Ok(self)
    }

    fn str(&self, key: &CStr, s: &str) -> napi::Result<&Self> {
        let v = unsafe { String::to_napi_value(self.env, s.to_owned()) }?;
        self.set(key, v)
    }

    fn num(&self, key: &CStr, n: f64) -> napi::Result<&Self> {
        let mut v = ptr::null_mut();
        check_status!(unsafe { sys::napi_create_double(self.env, n, &mut v) })?;
        self.set(key, v)
    }

    fn opt_num(&self, key: &CStr, n: Option<f64>) -> napi::Result<&Self> {
        match n {
            Some(n) => self.num(key, n),
            None => self.set(key, unsafe { null(self.env) }?),
        }
    }

    fn bool(&self, key: &CStr, b: bool) -> napi::Result<&Self> {
        let mut v = ptr::null_mut();
        check_status!(unsafe { sys::napi_get_boolean(self.env, b, &mut v) })?;
        self.set(key, v)
    }

    fn json(&self, key: &CStr, v: serde_json::Value) -> napi::Result<&Self> {
        let v = unsafe { serde_json::Value::to_napi_value(self.env, v) }?;
        self.set(key, v)
    }

    /// A JSON part of a frame, as its text (JS parses it), if present.
    fn text(&self, key: &CStr, t: &Option<JsonText>) -> napi::Result<&Self> {
        match t {
            Some(t) => self.str(key, t.as_str()),
            None => Ok(self),
        }
    }

    fn state_version(&self, key: &CStr, sv: Option<StateVersion>) -> napi::Result<&Self> {
        match sv {
            Some(sv) => self.json(key, json!({"presence": sv.presence, "health": sv.health})),
            None => Ok(self),
        }
    }
}

unsafe fn null(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    check_status!(unsafe { sys::napi_get_null(env, &mut v) })?;
    Ok(v)
}

/// Headers as Node's `rawHeaders`: `[name, value, name, value, …]`.
fn raw_headers(headers: &[(String, String)]) -> serde_json::Value {
    json!(
        headers
            .iter()
            .flat_map(|(n, v)| [n.as_str(), v.as_str()])
            .collect::<Vec<_>>()
    )
}

/// A `GatewayError` as the fields of the JS `GatewayError`.
pub(crate) fn gateway_error(e: &GatewayError) -> serde_json::Value {
    json!({
        "code": e.code,
        "message": e.message,
        "details": e.details,
        "retryable": e.retryable,
        "retryAfterMs": e.retry_after_ms,
        "method": e.method,
    })
}

/// `InboundEvent::Sent` as JS.
pub(crate) unsafe fn sent(
    env: sys::napi_env,
    id: u64,
    bytes: u64,
    notify: bool,
) -> napi::Result<sys::napi_value> {
    let o = Obj::new(env, "sent")?;
    o.num(c"id", id as f64)?
        .num(c"bytes", bytes as f64)?
        .bool(c"notify", notify)?;
    Ok(o.obj)
}

/// `InboundEvent::Ping` / `InboundEvent::Pong` as JS: `ty` is `ping` or
/// `pong`, `data` the payload's Buffer.
pub(crate) unsafe fn control_frame(
    env: sys::napi_env,
    ty: &str,
    data: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    let o = Obj::new(env, ty)?;
    o.set(c"data", data)?;
    Ok(o.obj)
}

/// A session event as JS (by reference: the event stays with the batch,
/// which goes back to the Tokio thread to be freed, see `batch.rs`).
pub(crate) unsafe fn event(env: sys::napi_env, ev: &Event) -> napi::Result<sys::napi_value> {
    let o = match *ev {
        Event::Open {
            ref protocol,
            ref extensions,
            ref headers,
        } => {
            let o = Obj::new(env, "open")?;
            o.str(c"protocol", protocol)?
                .str(c"extensions", extensions)?
                .json(c"rawHeaders", raw_headers(headers))?;
            o
        }
        Event::Error(ref e) => {
            let o = Obj::new(env, "error")?;
            o.str(c"message", &e.message)?
                .str(c"kind", e.kind)?
                .opt_num(c"status", e.status.map(f64::from))?
                .bool(c"verdict", e.verdict)?
                .bool(c"finalByDefault", e.final_by_default)?;
            if let Some(r) = &e.response {
                o.json(c"rawHeaders", raw_headers(&r.headers))?;
                if let Some(body) = &r.body {
                    o.str(c"body", body)?;
                }
            }
            o
        }
        Event::Close {
            code,
            ref reason,
            was_clean,
            by_server,
            settled_through,
            verdict,
        } => {
            let o = Obj::new(env, "close")?;
            o.num(c"code", code.into())?
                .str(c"reason", reason)?
                .bool(c"wasClean", was_clean)?
                .bool(c"byServer", by_server)?
                .opt_num(c"settledThrough", settled_through.map(|s| s as f64))?
                .bool(c"verdict", verdict)?;
            o
        }
        Event::Reconnecting {
            attempt,
            delay,
            code,
            ref reason,
            retry_after,
        } => {
            let o = Obj::new(env, "reconnecting")?;
            o.num(c"attempt", attempt.into())?
                .num(c"delay", delay.as_secs_f64() * 1000.0)?
                .json(c"lastClose", json!({"code": code, "reason": reason}))?
                .bool(c"fromServer", retry_after.is_some())?
                .opt_num(c"retryAfter", retry_after.map(|d| d.as_secs_f64() * 1000.0))?;
            o
        }
        Event::Dialing { attempt } => {
            let o = Obj::new(env, "dial")?;
            o.num(c"attempt", attempt.into())?;
            o
        }
        Event::Terminal {
            terminal: ref t,
            ref unsent,
        } => {
            let o = Obj::new(env, "terminal")?;
            o.num(c"code", t.code.into())?
                .str(c"reason", &t.reason)?
                .str(c"message", &t.message)?
                .str(c"kind", t.kind.as_str())?
                .json(c"unsent", json!(unsent))?;
            match &t.kind {
                TerminalKind::Flapping { codes } => {
                    o.json(c"codes", json!(codes))?;
                }
                TerminalKind::HandshakeRejected { status } => {
                    o.opt_num(c"status", status.map(f64::from))?;
                }
                _ => {}
            }
            o
        }
        Event::Gateway(GatewayEvent::Event { ref frame, .. }) => {
            return unsafe { frame_text(env, frame.as_str()) };
        }
        Event::Gateway(ref g) => gateway(env, g)?,
    };
    Ok(o.obj)
}

/// The frame text a session event crosses as, if it is a gateway event
/// (which JS receives as that string, see the module docs): what the event
/// keeps allocated besides its box.
pub(crate) fn frame_of(ev: &Event) -> Option<&str> {
    match ev {
        Event::Gateway(GatewayEvent::Event { frame, .. }) => Some(frame.as_str()),
        _ => None,
    }
}

/// A frame's JSON text as a JS string (Latin-1 when ASCII: a plain copy).
unsafe fn frame_text(env: sys::napi_env, text: &str) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    let (p, len) = (text.as_ptr().cast(), text.len() as isize);
    check_status!(unsafe {
        if text.is_ascii() {
            sys::napi_create_string_latin1(env, p, len, &mut v)
        } else {
            sys::napi_create_string_utf8(env, p, len, &mut v)
        }
    })?;
    Ok(v)
}

fn gateway(env: sys::napi_env, ev: &GatewayEvent) -> napi::Result<Obj> {
    let o = match *ev {
        GatewayEvent::State(s) => {
            let o = Obj::new(env, "state")?;
            o.str(c"state", s.as_str())?;
            o
        }
        GatewayEvent::Hello {
            protocol,
            max_payload,
            tick_interval_ms,
            state_version,
            ref payload,
        } => {
            let o = Obj::new(env, "hello")?;
            o.num(c"protocol", protocol.into())?
                .num(c"maxPayload", max_payload as f64)?
                .num(c"tickIntervalMs", tick_interval_ms as f64)?
                .state_version(c"stateVersion", state_version)?
                .str(c"payload", payload.as_str())?;
            o
        }
        GatewayEvent::Response {
            ref id,
            ok,
            accepted,
            ref payload,
            ref error,
        } => {
            let o = Obj::new(env, "res")?;
            o.str(c"id", id)?
                .bool(c"ok", ok)?
                .bool(c"accepted", accepted)?
                .text(c"payload", payload)?
                .text(c"error", error)?;
            o
        }
        GatewayEvent::Event { .. } => {
            unreachable!("an event crosses as its frame's text (see `event`)")
        }
        GatewayEvent::Reject { ref id, ref error } => {
            let o = Obj::new(env, "reject")?;
            o.str(c"id", id)?.json(c"error", gateway_error(error))?;
            o
        }
        GatewayEvent::Seq(s) => {
            let o = Obj::new(env, "seq")?;
            match s {
                SeqObservation::Gap { expected, received } => {
                    o.str(c"kind", "gap")?
                        .num(c"expected", expected as f64)?
                        .num(c"received", received as f64)?;
                }
                SeqObservation::Duplicate { seq } => {
                    o.str(c"kind", "duplicate")?
                        .num(c"received", seq as f64)?
                        .num(c"last", seq as f64)?;
                }
                SeqObservation::Backwards { last, received } => {
                    o.str(c"kind", "backwards")?
                        .num(c"received", received as f64)?
                        .num(c"last", last as f64)?;
                }
                SeqObservation::First | SeqObservation::InOrder => {}
            }
            o
        }
        GatewayEvent::StateVersion(sv) => {
            let o = Obj::new(env, "stateVersion")?;
            o.num(c"presence", sv.presence as f64)?
                .num(c"health", sv.health as f64)?;
            o
        }
        GatewayEvent::Disconnected {
            code,
            ref reason,
            by_server,
            after_hello,
        } => {
            let o = Obj::new(env, "disconnected")?;
            o.num(c"code", code.into())?
                .str(c"reason", reason)?
                .bool(c"byServer", by_server)?
                .str(
                    c"phase",
                    if after_hello {
                        "post-hello"
                    } else {
                        "pre-hello"
                    },
                )?;
            o
        }
        GatewayEvent::Paused {
            code,
            ref reason,
            ref detail_code,
            ref message,
            ref next_step,
            ref error,
        } => {
            let o = Obj::new(env, "paused")?;
            o.num(c"code", code.into())?
                .str(c"reason", reason)?
                .str(c"detailCode", detail_code)?
                .str(c"message", message)?
                .str(c"nextStep", next_step)?
                .json(c"error", gateway_error(error))?;
            o
        }
    };
    Ok(o)
}
