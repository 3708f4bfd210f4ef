//! The "physical limit" row: a raw tokio-tungstenite client against the same
//! server, doing what the Node drivers do, printing one JSON line.
//!
//! Usage: bench-client <scenario> <url> [n] [size]
//!   recv   url=/blast?...  n          -> {"msgs":..,"bytes":..,"secs":..}
//!   rtt    url=/echo       n size     -> {"samples_us":[p50,p99],...}
//!   send   url=/sink?n=N   n size     -> {"msgs":..,"secs":..}
//!   connect url=/hold      n          -> {"open_ms":[...]}

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn dial(url: &str) -> Ws {
    let rest = url.strip_prefix("ws://").expect("ws:// only");
    let host = rest.split('/').next().unwrap();
    let tcp = TcpStream::connect(host).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    ws
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let scenario = a[1].clone();
    let url = a[2].clone();
    let n: usize = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let size: usize = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(100);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        match scenario.as_str() {
            "recv" => {
                let mut ws = dial(&url).await;
                let t0 = Instant::now();
                ws.send(Message::Text("go".into())).await.unwrap();
                let (mut msgs, mut bytes) = (0usize, 0usize);
                while let Some(Ok(m)) = ws.next().await {
                    match m {
                        Message::Text(t) => {
                            msgs += 1;
                            bytes += t.len();
                        }
                        Message::Binary(b) => {
                            msgs += 1;
                            bytes += b.len();
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                    if msgs == n {
                        break;
                    }
                }
                let secs = t0.elapsed().as_secs_f64();
                println!("{{\"msgs\":{msgs},\"bytes\":{bytes},\"secs\":{secs}}}");
            }
            "rtt" => {
                let mut ws = dial(&url).await;
                let payload = "x".repeat(size);
                let warm = 1000;
                let mut s = Vec::with_capacity(n);
                for i in 0..n + warm {
                    let t = Instant::now();
                    ws.send(Message::Text(payload.clone().into()))
                        .await
                        .unwrap();
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(_))) => break,
                            Some(Ok(_)) => continue,
                            _ => panic!("closed"),
                        }
                    }
                    if i >= warm {
                        s.push(t.elapsed().as_secs_f64() * 1e6);
                    }
                }
                s.sort_by(|a, b| a.partial_cmp(b).unwrap());
                println!(
                    "{{\"p50\":{},\"p99\":{},\"n\":{}}}",
                    pct(&s, 0.5),
                    pct(&s, 0.99),
                    s.len()
                );
            }
            "send" => {
                let mut ws = dial(&url).await;
                let payload = "x".repeat(size);
                let t0 = Instant::now();
                for _ in 0..n {
                    ws.feed(Message::Text(payload.clone().into()))
                        .await
                        .unwrap();
                }
                ws.flush().await.unwrap();
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(_))) => break,
                        Some(Ok(_)) => continue,
                        _ => panic!("closed"),
                    }
                }
                let secs = t0.elapsed().as_secs_f64();
                println!("{{\"msgs\":{n},\"secs\":{secs}}}");
            }
            "connect" => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let mut ws = dial(&url).await;
                    v.push(t.elapsed().as_secs_f64() * 1e3);
                    ws.close(None).await.ok();
                    while let Some(Ok(_)) = ws.next().await {}
                }
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                println!(
                    "{{\"p50\":{},\"p99\":{},\"n\":{}}}",
                    pct(&v, 0.5),
                    pct(&v, 0.99),
                    v.len()
                );
            }
            other => panic!("unknown scenario {other}"),
        }
    });
}
