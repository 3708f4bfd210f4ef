//! The HTTP upgrade response, handed to tungstenite whole.
//!
//! tungstenite's client handshake counts the reads it takes to get the
//! response headers, and gives up with "Attack attempt detected" after 64
//! reads averaging under 128 bytes. A server (or a proxy, or a slow link)
//! that sends its `101` in small pieces is legitimate, so [`WholeHead`]
//! reads the response itself until its headers end (the stream's scanner,
//! [`Stream::scan_upgrade`], finds the end and caps the size at 64 KiB),
//! and only then hands it over: tungstenite sees one read per 4 KiB of
//! headers, whatever the pieces were. After the headers it is a plain
//! pass-through (the body of a refusal, for the error message).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stream::{self, Stream};

/// The stream the handshake runs on (see the module docs). Cancel-safe:
/// bytes read before a `Pending` are kept.
pub struct WholeHead {
    stream: Stream,
    /// The response read so far (until its headers end), then what is left
    /// to hand over.
    head: BytesMut,
    /// Whether the headers have ended (or the stream did).
    complete: bool,
}

impl WholeHead {
    /// Wraps `stream`, on which [`Stream::scan_upgrade`] was called.
    pub fn new(stream: Stream) -> Self {
        WholeHead {
            stream,
            head: BytesMut::new(),
            complete: false,
        }
    }

    /// The stream, once the handshake has taken the whole response head;
    /// `None` if any of it was not taken (a handshake that accepted the
    /// response took all of it).
    pub fn into_inner(self) -> Option<Stream> {
        self.head.is_empty().then_some(self.stream)
    }
}

impl AsyncRead for WholeHead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.complete {
            if !this.stream.scanning_upgrade() {
                this.complete = true;
                break;
            }
            let mut chunk = [0u8; 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.stream).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                // The server went away mid-headers: tungstenite reports it.
                this.complete = true;
                break;
            }
            this.head.extend_from_slice(rb.filled());
        }
        if this.head.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        stream::serve(&mut this.head, buf);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for WholeHead {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use crate::transport::dial::connect;
    use crate::transport::options::ConnectOptions;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that answers the upgrade one byte per write (over 64 reads
    /// of under 128 bytes: what tungstenite alone refuses as an attack),
    /// with a frame right behind the headers; the dial succeeds and the
    /// frame is still there to read.
    #[tokio::test]
    async fn a_101_in_one_byte_pieces_is_accepted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            sock.set_nodelay(true).unwrap();
            let mut req = Vec::new();
            let mut byte = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") {
                sock.read_exact(&mut byte).await.unwrap();
                req.push(byte[0]);
            }
            let req = String::from_utf8(req).unwrap();
            let key = req
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Sec-WebSocket-Key: ")
                        .or_else(|| l.strip_prefix("sec-websocket-key: "))
                })
                .unwrap()
                .trim()
                .to_string();
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let mut wire = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nX-Padding: {}\r\n\r\n",
                "p".repeat(40)
            )
            .into_bytes();
            assert!(wire.len() > 64 * 2, "too short to trip the heuristic");
            wire.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
            for b in wire {
                sock.write_all(&[b]).await.unwrap();
                sock.flush().await.unwrap();
                // Let the client read each byte on its own.
                tokio::task::yield_now().await;
            }
            let mut rest = Vec::new();
            let _ = sock.read_to_end(&mut rest).await;
        });
        let url = format!("ws://127.0.0.1:{port}/");
        let (mut stream, info) = connect(&url, &ConnectOptions::default()).await.unwrap();
        assert_eq!(info.status, 101);
        let mut frame = [0u8; 4];
        stream.read_exact(&mut frame).await.unwrap();
        assert_eq!(&frame, &[0x81, 0x02, b'h', b'i']);
        drop(stream);
        server.await.unwrap();
    }
}
