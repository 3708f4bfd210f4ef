//! Pings and pongs through a real connection on loopback (a tokio-tungstenite
//! server): the server's ping is answered and, for an inbox that asked,
//! reported with its payload; a ping from this side carries its payload and
//! its pong is reported; an unsolicited pong reaches the server; an inbox
//! that did not ask hears of none of them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{ConnectOptions, InboundEvent, Inbox, connect, start_connection};

/// Takes inbox events until `want` matches one; returns the ping/pong
/// events seen on the way (payloads, tagged).
async fn until(
    inbox: &Inbox,
    notify: &Notify,
    want: impl Fn(&InboundEvent) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        for ev in inbox.take() {
            let done = want(&ev);
            match &ev {
                InboundEvent::Ping(b) => seen.push(format!("ping:{}", String::from_utf8_lossy(b))),
                InboundEvent::Pong(b) => seen.push(format!("pong:{}", String::from_utf8_lossy(b))),
                _ => {}
            }
            if done {
                return seen;
            }
        }
        tokio::time::timeout(Duration::from_secs(10), notify.notified())
            .await
            .expect("the inbox got nothing for 10 s");
    }
}

/// A tokio-tungstenite server on loopback that accepts one connection,
/// sends a ping with "srv" and runs `then` on it; and a client connection
/// to it whose events go to an inbox (reporting pings and pongs if
/// `report`), with the connection's future spawned.
async fn pair<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
    report: bool,
    then: impl FnOnce(WebSocketStream<TcpStream>) -> F + Send + 'static,
) -> (
    tokio::task::JoinHandle<T>,
    super::Connection,
    Arc<Inbox>,
    Arc<Notify>,
    tokio::task::JoinHandle<super::CloseInfo>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        ws.send(Message::Ping(Bytes::from_static(b"srv")))
            .await
            .unwrap();
        then(ws).await
    });
    let opts = ConnectOptions::default();
    let (stream, _) = connect(&format!("ws://127.0.0.1:{port}/"), &opts)
        .await
        .unwrap();
    let notify = Arc::new(Notify::new());
    let inbox = Arc::new(Inbox::notifying(notify.clone(), 1 << 20, 1024));
    inbox.report_control(report);
    let (conn, running) = start_connection(stream, &opts, inbox.clone());
    (server, conn, inbox, notify, tokio::spawn(running))
}

#[tokio::test]
async fn pings_and_pongs_both_ways_with_payloads() {
    let (server, conn, inbox, notify, running) = pair(true, |mut ws| async move {
        let mut got = Vec::new();
        // The answer to our ping, the client's ping (answered by
        // tungstenite), its unsolicited pong, then a text to end on.
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Pong(p) => got.push(format!("pong:{}", String::from_utf8_lossy(&p))),
                Message::Ping(p) => got.push(format!("ping:{}", String::from_utf8_lossy(&p))),
                Message::Text(t) if t.as_str() == "end" => {
                    ws.send(Message::Text("bye".into())).await.unwrap();
                    break;
                }
                _ => {}
            }
        }
        got
    })
    .await;
    let seen = until(&inbox, &notify, |e| matches!(e, InboundEvent::Ping(_))).await;
    assert_eq!(seen, ["ping:srv"]);
    conn.ping(Bytes::from_static(b"cli")).unwrap();
    let seen = until(&inbox, &notify, |e| matches!(e, InboundEvent::Pong(_))).await;
    assert_eq!(seen, ["pong:cli"]);
    conn.pong(Bytes::from_static(b"own")).unwrap();
    conn.send(super::Outgoing::Text("end".into()), false)
        .unwrap();
    let bye = |e: &InboundEvent| matches!(e, InboundEvent::Text(t) if t.as_str() == "bye");
    until(&inbox, &notify, bye).await;
    assert_eq!(server.await.unwrap(), ["pong:srv", "ping:cli", "pong:own"]);
    conn.close(Some(1000), String::new());
    running.await.unwrap();
    assert!(
        conn.ping(Bytes::new()).is_err(),
        "a ping after close was taken"
    );
}

#[tokio::test]
async fn an_inbox_that_did_not_ask_hears_of_no_ping() {
    let (server, conn, inbox, notify, running) = pair(false, |mut ws| async move {
        ws.send(Message::Text("after".into())).await.unwrap();
        // The pong still comes: auto-pong does not depend on reporting.
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Pong(p) = msg {
                return p;
            }
        }
        Bytes::new()
    })
    .await;
    let seen = until(&inbox, &notify, |e| matches!(e, InboundEvent::Text(_))).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(&server.await.unwrap()[..], b"srv");
    conn.abort();
    running.await.unwrap();
}
