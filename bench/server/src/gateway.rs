//! `/gateway`: just enough of the OpenClaw gateway protocol (v4) to stream
//! events at a client as fast as it can read them, so the client, not the
//! peer, is what the gateway event-stream row measures.
//!
//! On open: the `connect.challenge` event (nonce, ts). The first `connect`
//! request is accepted without checking credentials (a bench peer, not an
//! auth test) and answered with a hello-ok that names the methods below, the
//! protocol the client asked for (its `maxProtocol`, at most 4) and a 30 s
//! tick interval. After hello, requests:
//!
//! - `bench.stream {n, size}`: answered `{ok:true, payload:{n}}`, then `n`
//!   `chat` event frames of `size` bytes of JSON each (default 300), with a
//!   `seq` that continues per connection (1, 2, ... across streams), so the
//!   client's seq checks see a gapless stream. The frames are formatted into
//!   one buffer and written straight to the socket, up to 256 KiB per write
//!   (as `/blast` does): the peer spends its time in the kernel's copy.
//! - anything else (`health`, ...): answered `{ok:true, payload:{}}`.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

const METHODS: [&str; 2] = ["health", "bench.stream"];
const CHUNK: usize = 256 << 10;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn hello_ok(protocol: u64) -> Value {
    json!({
        "type": "hello-ok",
        "protocol": protocol,
        "server": { "version": "bench", "connId": "bench" },
        "features": { "methods": METHODS, "events": ["tick", "chat"], "capabilities": [] },
        "snapshot": {
            "presence": [], "health": { "ok": true },
            "stateVersion": { "presence": 1, "health": 1 }, "uptimeMs": 0, "authMode": "token"
        },
        "auth": { "method": "token", "role": "operator", "scopes": ["operator.read", "operator.write"] },
        "policy": { "maxPayload": 26_214_400, "maxBufferedBytes": 52_428_800, "tickIntervalMs": 30_000 }
    })
}

fn res(id: &Value, payload: Value) -> Message {
    Message::Text(
        json!({ "type": "res", "id": id, "ok": true, "payload": payload })
            .to_string()
            .into(),
    )
}

/// Appends one unmasked FIN text frame holding a chat event of `size` bytes
/// (or the smallest such event, when `size` is below that).
fn push_event(out: &mut Vec<u8>, seq: u64, size: usize) {
    let head = format!(
        "{{\"type\":\"event\",\"event\":\"chat\",\"payload\":{{\"runId\":\"bench-run\",\
         \"sessionKey\":\"agent:main:main\",\"seq\":{seq},\"state\":\"delta\",\"message\":\
         {{\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\""
    );
    let tail = format!("\"}}],\"timestamp\":1764300000000}}}},\"seq\":{seq}}}");
    let pad = size.saturating_sub(head.len() + tail.len());
    let len = head.len() + pad + tail.len();
    out.push(0x81);
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(head.as_bytes());
    out.extend((0..pad).map(|i| b'a' + (i % 26) as u8));
    out.extend_from_slice(tail.as_bytes());
}

/// Serves one `/gateway` connection until the client goes away.
pub async fn serve<S>(ws: &mut WebSocketStream<S>) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let nonce = format!("bench-{}", now_ms());
    let challenge = json!({
        "type": "event", "event": "connect.challenge",
        "payload": { "nonce": nonce, "ts": now_ms(), "capabilities": [] }
    });
    ws.send(Message::Text(challenge.to_string().into())).await?;
    let mut helloed = false;
    let mut seq = 0u64;
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg? else { continue };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if frame["type"] != "req" {
            continue;
        }
        let id = &frame["id"];
        let params = &frame["params"];
        match frame["method"].as_str() {
            Some("connect") if !helloed => {
                let protocol = params["maxProtocol"].as_u64().unwrap_or(4).min(4);
                ws.send(res(id, hello_ok(protocol))).await?;
                helloed = true;
            }
            Some("bench.stream") if helloed => {
                let n = params["n"].as_u64().unwrap_or(1000);
                let size = params["size"].as_u64().unwrap_or(300) as usize;
                ws.send(res(id, json!({ "n": n }))).await?;
                let mut buf = Vec::with_capacity(CHUNK + 2 * size + 512);
                for _ in 0..n {
                    seq += 1;
                    push_event(&mut buf, seq, size);
                    if buf.len() >= CHUNK {
                        ws.get_mut().write_all(&buf).await?;
                        buf.clear();
                    }
                }
                ws.get_mut().write_all(&buf).await?;
                ws.get_mut().flush().await?;
            }
            _ => ws.send(res(id, json!({}))).await?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_frames_have_the_asked_size_and_parse() {
        for (seq, size) in [(1, 300), (123_456, 300), (7, 10)] {
            let mut out = Vec::new();
            push_event(&mut out, seq, size);
            let (hdr, body) = if out[1] == 126 {
                (4, &out[4..])
            } else {
                (2, &out[2..])
            };
            assert_eq!(out.len() - hdr, body.len());
            if size >= 300 {
                assert_eq!(body.len(), size);
            }
            let v: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["seq"], seq);
            assert_eq!(v["payload"]["seq"], seq);
        }
    }
}
