//! The gateway protocol with no sockets: frames in, actions out, the time
//! passed in.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::gateway::auth::PAUSE_DETAIL_CODES;
use crate::gateway::error::{CLOSED, PAYLOAD_TOO_LARGE, STOPPED, TIMEOUT};
use crate::gateway::seq::SeqObservation;
use crate::reconnect::TerminalKind;

const URL: &str = "ws://127.0.0.1:18789";

fn proto() -> GatewayProtocol {
    let mut o = ClientOptions::new(URL);
    o.credentials.token = Some("test-token-not-a-secret".into());
    GatewayProtocol::new(o).1
}

fn text(v: Value) -> InboundEvent {
    InboundEvent::Text(v.to_string().into())
}

fn challenge() -> InboundEvent {
    text(
        json!({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n-1", "ts": 1_700_000_000_000u64}}),
    )
}

fn hello_ok(id: &str, tick_ms: u64) -> InboundEvent {
    text(json!({"type": "res", "id": id, "ok": true, "payload": {
        "type": "hello-ok", "protocol": 4,
        "server": {"version": "test", "connId": "c-1"},
        "features": {"methods": ["health"], "events": ["tick"]},
        "snapshot": {"stateVersion": {"presence": 1, "health": 2}},
        "auth": {"role": "operator", "scopes": ["operator.read"]},
        "policy": {"maxPayload": 1024, "maxBufferedBytes": 4096, "tickIntervalMs": tick_ms}
    }}))
}

fn close_info(code: u16, reason: &str, by_server: bool) -> transport::CloseInfo {
    transport::CloseInfo {
        code,
        reason: reason.into(),
        was_clean: code != 1006,
        by_server,
        error: None,
        unsent: Vec::new(),
        uptime: Duration::ZERO,
    }
}

/// The frames sent, as JSON.
fn sends(out: &[Action]) -> Vec<Value> {
    out.iter()
        .filter_map(|a| match a {
            Action::Send {
                msg: Outgoing::Text(t),
                ..
            } => Some(serde_json::from_str(t).unwrap()),
            _ => None,
        })
        .collect()
}

fn events(out: &[Action]) -> Vec<GatewayEvent> {
    out.iter()
        .filter_map(|a| match a {
            Action::Emit(Event::Gateway(g)) => Some(g.clone()),
            _ => None,
        })
        .collect()
}

fn closes(out: &[Action]) -> Vec<(u16, String)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Close(c, r) => Some((*c, r.clone())),
            _ => None,
        })
        .collect()
}

fn rejects(out: &[Action]) -> Vec<(String, GatewayError)> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            GatewayEvent::Reject { id, error } => Some((id, error)),
            _ => None,
        })
        .collect()
}

/// Opens a connection and answers the challenge; returns the connect id.
fn handshake(p: &mut GatewayProtocol, t: Instant) -> String {
    let mut out = Vec::new();
    p.on_open(t, &mut out);
    p.on_message(challenge(), t, &mut out);
    let sent = sends(&out);
    assert_eq!(sent.len(), 1, "one connect frame");
    assert_eq!(sent[0]["method"], "connect");
    sent[0]["id"].as_str().unwrap().to_owned()
}

/// A ready connection with `tick_ms`.
fn ready(p: &mut GatewayProtocol, t: Instant, tick_ms: u64) -> Vec<Action> {
    let id = handshake(p, t);
    let mut out = Vec::new();
    p.on_message(hello_ok(&id, tick_ms), t, &mut out);
    assert_eq!(p.state(), ClientState::Ready);
    out
}

fn request(
    p: &mut GatewayProtocol,
    method: &str,
    timeout: Option<Duration>,
    expect_final: bool,
    t: Instant,
) -> (String, Vec<Action>) {
    let mut out = Vec::new();
    let id = p
        .request(method, None, timeout, expect_final, t, &mut out)
        .unwrap();
    (id, out)
}

#[test]
fn challenge_timeout_closes_1008_and_reports_pre_hello() {
    let mut p = proto();
    let t = Instant::now();
    let mut out = Vec::new();
    p.on_open(t, &mut out);
    assert_eq!(p.state(), ClientState::Handshaking);
    assert_eq!(p.next_deadline(), Some(t + Duration::from_secs(15)));
    p.on_deadline(t + Duration::from_secs(14), &mut out);
    assert!(closes(&out).is_empty(), "closed before the deadline");
    p.on_deadline(t + Duration::from_secs(15), &mut out);
    assert_eq!(closes(&out), [(1008, "connect challenge timeout".into())]);
    let mut out = Vec::new();
    let v = p.on_closed(&close_info(1006, "close timeout", false), t, &mut out);
    assert_eq!((v.code, v.by_server), (1008, false));
    assert_eq!(
        events(&out),
        [GatewayEvent::Disconnected {
            code: 1008,
            reason: "connect challenge timeout".into(),
            by_server: false,
            after_hello: false,
        }]
    );
}

#[test]
fn hello_timeout_closes_4000() {
    let mut p = proto();
    let t = Instant::now();
    handshake(&mut p, t);
    assert_eq!(p.next_deadline(), Some(t + Duration::from_secs(15)));
    let mut out = Vec::new();
    p.on_deadline(t + Duration::from_secs(15), &mut out);
    assert_eq!(closes(&out), [(4000, "connect timeout".into())]);
}

#[test]
fn requests_are_held_until_hello_then_sent_in_order() {
    let mut p = proto();
    let t = Instant::now();
    let (a, out) = request(&mut p, "health", None, false, t);
    assert!(sends(&out).is_empty(), "sent before hello-ok");
    let (b, _) = request(&mut p, "status", None, false, t);
    let id = handshake(&mut p, t);
    let mut out = Vec::new();
    p.on_message(hello_ok(&id, 30_000), t, &mut out);
    let sent = sends(&out);
    assert_eq!(
        sent.iter()
            .map(|f| (f["id"].as_str().unwrap(), f["method"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(a.as_str(), "health"), (b.as_str(), "status")]
    );
    // hello first, then ready, then the held requests.
    let ready_at = out.iter().position(|a| matches!(a, Action::Ready)).unwrap();
    let first_send = out
        .iter()
        .position(|a| matches!(a, Action::Send { .. }))
        .unwrap();
    assert!(ready_at < first_send);
    assert!(matches!(
        events(&out)[0],
        GatewayEvent::Hello {
            protocol: 4,
            max_payload: 1024,
            ..
        }
    ));
    // Once ready, a request goes out at once.
    let (c, out) = request(&mut p, "later", None, false, t);
    assert_eq!(sends(&out)[0]["id"], c.as_str());
}

#[test]
fn a_request_refused_by_a_closing_socket_is_held_again() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let (id, mut out) = request(&mut p, "health", None, false, t);
    let Some(Action::Send { msg, tag }) = out.pop() else {
        panic!("not sent")
    };
    p.on_unsent(tag.unwrap(), msg);
    // The connection ends; the request was never on the wire: it stays.
    let mut out = Vec::new();
    p.on_closed(&close_info(1012, "restart", true), t, &mut out);
    assert!(rejects(&out).is_empty(), "a held request was failed");
    assert_eq!(p.pending_len(), 1);
    let mut out = Vec::new();
    let cid = handshake(&mut p, t);
    p.on_message(hello_ok(&cid, 30_000), t, &mut out);
    assert_eq!(sends(&out)[0]["id"], id.as_str());
}

#[test]
fn two_stage_reply_then_final_then_nothing() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let (id, _) = request(&mut p, "agent", None, true, t);
    let res = |status: &str| {
        text(
            json!({"type": "res", "id": id, "ok": true, "payload": {"status": status, "runId": "r"}}),
        )
    };
    let mut out = Vec::new();
    p.on_message(res("accepted"), t, &mut out);
    p.on_message(res("done"), t, &mut out);
    p.on_message(res("done"), t, &mut out);
    let got: Vec<(bool, bool, String)> = events(&out)
        .into_iter()
        .map(|e| match e {
            GatewayEvent::Response {
                ok,
                accepted,
                payload,
                ..
            } => (ok, accepted, payload.unwrap().as_str().to_owned()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got.len(), 2, "an answer after the final one reached JS");
    assert_eq!((got[0].0, got[0].1), (true, true));
    assert_eq!((got[1].0, got[1].1), (true, false));
    let payload: Value = serde_json::from_str(&got[1].2).unwrap();
    assert_eq!(payload, json!({"status": "done", "runId": "r"}));
    // Without expectFinal, "accepted" is the final answer.
    let (id2, _) = request(&mut p, "agent", None, false, t);
    let mut out = Vec::new();
    p.on_message(
        text(json!({"type": "res", "id": id2, "ok": true, "payload": {"status": "accepted"}})),
        t,
        &mut out,
    );
    assert!(matches!(
        &events(&out)[0],
        GatewayEvent::Response {
            accepted: false,
            ..
        }
    ));
    assert_eq!(p.pending_len(), 0);
}

#[test]
fn an_error_answer_carries_the_error_json() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let (id, _) = request(&mut p, "nope", None, false, t);
    let mut out = Vec::new();
    p.on_message(
        text(json!({"type": "res", "id": id, "ok": false, "error": {"code": "INVALID_REQUEST", "message": "unknown method"}})),
        t,
        &mut out,
    );
    match &events(&out)[0] {
        GatewayEvent::Response {
            ok: false,
            error: Some(e),
            payload: None,
            ..
        } => {
            let v: Value = serde_json::from_str(e.as_str()).unwrap();
            assert_eq!(v["code"], "INVALID_REQUEST");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn seq_gap_duplicate_and_backwards_are_reported() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let mut out = Vec::new();
    for seq in [1, 2, 4, 4, 3] {
        p.on_message(
            text(json!({"type": "event", "event": "tick", "seq": seq, "payload": {"ts": seq}})),
            t,
            &mut out,
        );
    }
    let seqs: Vec<SeqObservation> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            GatewayEvent::Seq(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        seqs,
        [
            SeqObservation::Gap {
                expected: 3,
                received: 4
            },
            SeqObservation::Duplicate { seq: 4 },
            SeqObservation::Backwards {
                last: 4,
                received: 3
            },
        ]
    );
    // Every event reaches JS, with its payload as JSON text.
    let ticks = events(&out)
        .into_iter()
        .filter(|e| matches!(e, GatewayEvent::Event { event, .. } if event == "tick"))
        .count();
    assert_eq!(ticks, 5);
}

#[test]
fn state_version_moves_only_forward() {
    let mut p = proto();
    let t = Instant::now();
    let out = ready(&mut p, t, 30_000);
    match &events(&out)[0] {
        GatewayEvent::Hello { state_version, .. } => {
            assert_eq!(state_version.map(|s| (s.presence, s.health)), Some((1, 2)))
        }
        other => panic!("{other:?}"),
    }
    let mut out = Vec::new();
    for (presence, health) in [(3, 2), (1, 1)] {
        p.on_message(
            text(json!({"type": "event", "event": "presence", "stateVersion": {"presence": presence, "health": health}})),
            t,
            &mut out,
        );
    }
    let moved: Vec<(u64, u64)> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            GatewayEvent::StateVersion(s) => Some((s.presence, s.health)),
            _ => None,
        })
        .collect();
    assert_eq!(moved, [(3, 2)]);
}

#[test]
fn tick_deadline_reports_the_loss_at_once() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 1000);
    assert_eq!(p.next_deadline(), Some(t + Duration::from_millis(2000)));
    // Any inbound frame moves the deadline.
    let mut out = Vec::new();
    let t1 = t + Duration::from_millis(1500);
    p.on_message(
        text(json!({"type": "event", "event": "tick", "seq": 1})),
        t1,
        &mut out,
    );
    assert_eq!(p.next_deadline(), Some(t1 + Duration::from_millis(2000)));
    let (id, _) = request(&mut p, "health", None, false, t1);
    let mut out = Vec::new();
    p.on_deadline(t1 + Duration::from_millis(2000), &mut out);
    assert_eq!(closes(&out), [(4000, "tick timeout".into())]);
    assert!(
        matches!(out.last(), Some(Action::Abort)),
        "the socket is not dropped"
    );
    let evs = events(&out);
    let rejected = rejects(&out);
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].0.as_str(), rejected[0].1.code.as_str()),
        (id.as_str(), CLOSED)
    );
    assert!(evs.contains(&GatewayEvent::Disconnected {
        code: 4000,
        reason: "tick timeout".into(),
        by_server: false,
        after_hello: true,
    }));
    assert_eq!(p.state(), ClientState::Reconnecting);
    // When the socket ends, nothing is reported twice.
    let mut out = Vec::new();
    let v = p.on_closed(&close_info(1006, "aborted", false), t1, &mut out);
    assert_eq!((v.code, v.reason.as_str()), (4000, "tick timeout"));
    assert!(events(&out).is_empty(), "{:?}", events(&out));
}

#[test]
fn held_request_times_out_while_disconnected() {
    let mut p = proto();
    let t = Instant::now();
    let (id, _) = request(&mut p, "health", Some(Duration::from_millis(20)), false, t);
    assert_eq!(p.next_deadline(), Some(t + Duration::from_millis(20)));
    let mut out = Vec::new();
    p.on_deadline(t + Duration::from_millis(20), &mut out);
    let r = rejects(&out);
    assert_eq!(
        (r[0].0.as_str(), r[0].1.code.as_str()),
        (id.as_str(), TIMEOUT)
    );
    assert_eq!(r[0].1.method.as_deref(), Some("health"));
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn oversize_request_fails_locally_and_nothing_is_sent() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000); // maxPayload 1024
    let big = format!("\"{}\"", "x".repeat(2000));
    let mut out = Vec::new();
    let e = p
        .request("echo", Some(&big), None, false, t, &mut out)
        .unwrap_err();
    assert_eq!(e.code, PAYLOAD_TOO_LARGE);
    assert!(out.is_empty());
    assert_eq!(p.pending_len(), 0);
}

/// A `connect` refused with `error`: the verdict, the actions, and the protocol.
fn refused(error: Value) -> (Verdict, Vec<Action>, GatewayProtocol) {
    let mut p = proto();
    let t = Instant::now();
    request(&mut p, "health", None, false, t);
    let id = handshake(&mut p, t);
    let mut out = Vec::new();
    p.on_message(
        text(json!({"type": "res", "id": id, "ok": false, "error": error})),
        t,
        &mut out,
    );
    let v = p.on_closed(&close_info(1008, "connect failed", true), t, &mut out);
    (v, out, p)
}

#[test]
fn every_terminal_detail_code_pauses_with_a_next_step() {
    let mut codes: Vec<&str> = PAUSE_DETAIL_CODES.to_vec();
    codes.extend([
        "AUTH_TOKEN_MISMATCH",
        "PAIRING_REQUIRED",
        "DEVICE_AUTH_SIGNATURE_INVALID",
    ]);
    for code in codes {
        let (v, _, mut p) = refused(json!({
            "code": "INVALID_REQUEST", "message": "no", "details": {"code": code, "requestId": "req-1"}
        }));
        let message = v
            .force_final
            .unwrap_or_else(|| panic!("{code} did not pause"));
        assert!(message.contains(code), "{message}");
        // The session pauses: held requests fail, JS hears of it, then the state.
        let t = Terminal {
            code: v.code,
            reason: v.reason.clone(),
            message: message.clone(),
            kind: TerminalKind::Paused(message),
        };
        let mut out = Vec::new();
        p.on_paused(&t, &mut out);
        let r = rejects(&out);
        assert_eq!(r.len(), 1, "{code}");
        assert_eq!(r[0].1.code, CONNECT_PAUSED);
        assert_eq!(r[0].1.detail_code(), Some(code));
        let evs = events(&out);
        assert!(
            matches!(&evs[1], GatewayEvent::Paused { detail_code, next_step, .. } if detail_code == code && !next_step.is_empty()),
            "{code}: {evs:?}"
        );
        assert_eq!(evs[2], GatewayEvent::State(ClientState::Paused));
        // While paused, requests fail at once; after resume they are held.
        let mut out = Vec::new();
        let e = p
            .request("health", None, None, false, Instant::now(), &mut out)
            .unwrap_err();
        assert_eq!(e.code, CONNECT_PAUSED);
        p.on_resumed(&mut out);
        assert!(
            p.request("health", None, None, false, Instant::now(), &mut out)
                .is_ok()
        );
    }
}

#[test]
fn retryable_failures_do_not_pause_and_retry_after_ms_shapes_the_delay() {
    let (v, _, _) = refused(json!({
        "code": "UNAVAILABLE", "message": "gateway starting", "retryable": true, "retryAfterMs": 1500
    }));
    assert_eq!(v.force_final, None);
    assert_eq!(v.retry_after, Some(Duration::from_millis(1500)));
    // PAIRING_REQUIRED with wait_then_retry is not a pause either.
    let (v, _, _) = refused(json!({
        "code": "NOT_PAIRED", "message": "wait", "details": {"code": "PAIRING_REQUIRED", "recommendedNextStep": "wait_then_retry"}
    }));
    assert_eq!(v.force_final, None);
}

#[test]
fn shutdown_restart_expected_ms_shapes_the_next_delay() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let mut out = Vec::new();
    p.on_message(
        text(json!({"type": "event", "event": "shutdown", "payload": {"reason": "restart", "restartExpectedMs": 2500}})),
        t,
        &mut out,
    );
    let v = p.on_closed(&close_info(1012, "service restart", true), t, &mut out);
    assert_eq!(v.retry_after, Some(Duration::from_millis(2500)));
    // The hint is for that close only.
    ready(&mut p, t, 30_000);
    let v = p.on_closed(&close_info(1012, "service restart", true), t, &mut out);
    assert_eq!(v.retry_after, None);
}

#[test]
fn a_closed_connection_fails_requests_in_flight_and_keeps_held_ones() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let (sent, _) = request(&mut p, "health", None, false, t);
    let mut out = Vec::new();
    p.on_closed(&close_info(1011, "boom", true), t, &mut out);
    let r = rejects(&out);
    assert_eq!(
        (r[0].0.as_str(), r[0].1.code.as_str()),
        (sent.as_str(), CLOSED)
    );
    let (_held, out) = request(&mut p, "later", None, false, t);
    assert!(sends(&out).is_empty());
    assert_eq!(p.pending_len(), 1);
}

#[test]
fn stop_fails_everything_and_later_requests_fail_at_once() {
    let mut p = proto();
    let t = Instant::now();
    request(&mut p, "health", None, false, t);
    let stop = Terminal {
        code: 1000,
        reason: String::new(),
        message: "closed".into(),
        kind: TerminalKind::UserClosed,
    };
    let mut out = Vec::new();
    p.on_stopped(&stop, &mut out);
    assert_eq!(rejects(&out)[0].1.code, STOPPED);
    assert_eq!(p.state(), ClientState::Closed);
    let e = p
        .request("health", None, None, false, t, &mut out)
        .unwrap_err();
    assert_eq!(e.code, STOPPED);
}

#[test]
fn unreadable_frames_are_reported_not_fatal() {
    let mut p = proto();
    let t = Instant::now();
    ready(&mut p, t, 30_000);
    let mut out = Vec::new();
    p.on_message(InboundEvent::Text("{not json".into()), t, &mut out);
    p.on_message(
        text(json!({"type": "res", "id": "never-sent", "ok": true})),
        t,
        &mut out,
    );
    p.on_message(text(json!({"type": "mystery"})), t, &mut out);
    let errors: Vec<(&'static str, String)> = out
        .iter()
        .filter_map(|a| match a {
            Action::Emit(Event::Error(e)) => Some((e.kind, e.message.clone())),
            _ => None,
        })
        .collect();
    // Each one reported (issue #17: nothing vanishes silently), none fatal.
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().all(|(k, _)| *k == "frame"));
    assert!(
        errors[1]
            .1
            .contains("\"never-sent\", which no request is waiting for")
    );
    assert!(errors[2].1.contains("unknown type \"mystery\""));
    assert!(closes(&out).is_empty());
    assert_eq!(p.state(), ClientState::Ready);
}

#[test]
fn request_text_shape() {
    assert_eq!(
        request_frame_text("7", "health", None),
        r#"{"type":"req","id":"7","method":"health"}"#
    );
    let t = request_frame_text("8", "a\"b", Some(r#"{"x":[1,2]}"#));
    let v: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(
        v,
        json!({"type":"req","id":"8","method":"a\"b","params":{"x":[1,2]}})
    );
}

#[test]
fn options_validate() {
    let mut o = ClientOptions::new(URL);
    assert!(o.validate().is_ok());
    o.connect.client_id = "ios-node".into();
    assert!(o.validate().unwrap_err().contains("client.id"));
    let o = ClientOptions::new("ftp://x");
    assert!(o.validate().is_err());
    assert!(!format!("{o:?}").contains("ftp"));
}
