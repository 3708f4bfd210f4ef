//! Benchmark peer. One process, one or two listeners (ws:// and wss://); the
//! request path picks the mode:
//!
//! - `/echo`: echo every text/binary message back
//! - `/blast?n=N&size=S&type=text|binary`: wait for one message ("go"), send
//!   N messages of S bytes, then close 1000. The frames are encoded once and
//!   written straight to the socket, up to 256 KiB per write, so the server
//!   spends its CPU on little more than the kernel's copy.
//! - `/sink?n=N`: read N messages, then send the text "done"
//! - `/hold`: do nothing until the client closes
//! - `/gateway`: an OpenClaw gateway that streams events on request (see
//!   `gateway.rs`)
//!
//! Holding 10,000+ connections takes file descriptors: at start the soft
//! RLIMIT_NOFILE is raised to 65,536 where allowed (root may raise the hard
//! limit too), else to the hard limit; a failed accept (EMFILE) waits 1 ms
//! instead of spinning.
//!
//! Usage: bench-server [--port P] [--tls-port Q --cert server.pem --key server.key]
//! Prints one line `READY <port> <tls-port|0>` when listening.

use std::sync::Arc;
use std::time::Duration;

mod gateway;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn query(q: &str, key: &str) -> Option<usize> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.parse().ok()).flatten()
    })
}

/// A JSON text of exactly `size` bytes (when size >= 16): {"seq":0,"d":"xxx"}
fn text_payload(size: usize) -> String {
    let head = "{\"seq\":0,\"d\":\"";
    let tail = "\"}";
    if size < head.len() + tail.len() {
        return "x".repeat(size);
    }
    let pad = size - head.len() - tail.len();
    let mut s = String::with_capacity(size);
    s.push_str(head);
    for i in 0..pad {
        s.push((b'a' + (i % 26) as u8) as char);
    }
    s.push_str(tail);
    s
}

/// One unmasked server frame (FIN set), encoded by tungstenite.
fn encode_frame(opcode: OpCode, payload: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    Frame::message(payload, opcode, true)
        .format(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

fn config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.max_message_size = Some(256 << 20);
    c.max_frame_size = Some(256 << 20);
    c
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn handle<S>(stream: S) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut target = String::new();
    let cb = |req: &Request, resp: Response| {
        target = req.uri().to_string();
        Ok(resp)
    };
    let mut ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, cb, Some(config())).await?;
    let (path, q) = target.split_once('?').unwrap_or((target.as_str(), ""));
    match path {
        "/echo" => {
            while let Some(msg) = ws.next().await {
                // Other frames: keep reading; tungstenite answers the close
                // frame and then reports the end of the stream.
                if let m @ (Message::Text(_) | Message::Binary(_)) = msg? {
                    ws.feed(m).await?;
                    // Flush only when nothing else is ready, so pipelined
                    // echo stays batched and one-in-flight stays prompt.
                    ws.flush().await?;
                }
            }
        }
        "/blast" => {
            let n = query(q, "n").unwrap_or(1000);
            let size = query(q, "size").unwrap_or(100);
            let binary = q.contains("type=binary");
            // wait for "go"
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => break,
                    Some(Ok(_)) => continue,
                    _ => return Ok(()),
                }
            }
            let payload: Vec<u8> = if binary {
                vec![0xabu8; size]
            } else {
                text_payload(size).into_bytes()
            };
            let opcode = OpCode::Data(if binary { Data::Binary } else { Data::Text });
            let frame = encode_frame(opcode, payload);
            // Written past the WebSocketStream: sending through it would copy
            // every payload into its write buffer first. Its state stays
            // valid for the close below.
            let per_chunk = ((256 << 10) / frame.len()).clamp(1, n.max(1));
            let chunk = frame.repeat(per_chunk);
            let mut left = n;
            while left > 0 {
                let k = left.min(per_chunk);
                ws.get_mut().write_all(&chunk[..k * frame.len()]).await?;
                left -= k;
            }
            ws.flush().await?;
            ws.close(None).await.ok();
            while let Some(Ok(_)) = ws.next().await {}
        }
        "/sink" => {
            let n = query(q, "n").unwrap_or(1000);
            let mut got = 0usize;
            while got < n {
                match ws.next().await {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => got += 1,
                    Some(Ok(_)) => {}
                    _ => return Ok(()),
                }
            }
            ws.send(Message::Text("done".into())).await?;
            while let Some(Ok(_)) = ws.next().await {}
        }
        "/gateway" => gateway::serve(&mut ws).await?,
        _ => {
            // /hold and anything else: idle until the client goes away
            while let Some(Ok(_)) = ws.next().await {}
        }
    }
    Ok(())
}

fn tls_acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("cert pem");
    let key = PrivateKeyDer::from_pem_file(key).expect("key pem");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Raises the soft open-file limit: to 65,536 when the hard limit can be
/// raised that far (root), else to the hard limit.
fn raise_fd_limit() {
    const WANT: libc::rlim_t = 65_536;
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= WANT {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: WANT,
            rlim_max: lim.rlim_max.max(WANT),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = arg(&args, "--threads")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let port: u16 = arg(&args, "--port")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut tls_port = 0;
        if let (Some(cert), Some(key)) = (arg(&args, "--cert"), arg(&args, "--key")) {
            let tp: u16 = arg(&args, "--tls-port")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let tl = TcpListener::bind(("127.0.0.1", tp)).await.unwrap();
            tls_port = tl.local_addr().unwrap().port();
            let acceptor = tls_acceptor(&cert, &key);
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = tl.accept().await else {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            let _ = handle(tls).await;
                        }
                    });
                }
            });
        }
        println!("READY {port} {tls_port}");
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let _ = handle(tcp).await;
            });
        }
    });
}
