//! A byte stream that is either plain TCP or TLS over TCP, with adaptive
//! read-ahead.
//!
//! tungstenite reads at most its `read_buffer_size` (4 KiB here, so an idle
//! connection stays small) per call. A 1 MiB message would then be 256
//! `recv` calls, each with its share of TCP bookkeeping. When a read fills the
//! caller's buffer, more data is probably waiting, so the next read goes
//! into a larger read-ahead buffer ([`READ_AHEAD`]) and the caller is served
//! from it. The read-ahead buffer exists only while it holds data: an idle
//! connection holds none.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Size of one read-ahead read.
pub const READ_AHEAD: usize = 256 * 1024;

/// Plain or TLS.
enum Io {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://`
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

/// A connected byte stream (see the module docs).
pub struct Stream {
    io: Io,
    /// Bytes read ahead and not yet handed out; empty and unallocated
    /// unless a bulk read left some.
    ahead: BytesMut,
    /// Whether the last read filled what it was offered.
    bulk: bool,
}

impl Stream {
    /// A `ws://` stream.
    pub fn plain(tcp: TcpStream) -> Self {
        Self::new(Io::Plain(tcp))
    }

    /// A `wss://` stream.
    pub fn tls(tls: TlsStream<TcpStream>) -> Self {
        Self::new(Io::Tls(Box::new(tls)))
    }

    fn new(io: Io) -> Self {
        Self {
            io,
            ahead: BytesMut::new(),
            bulk: false,
        }
    }

    /// Moves read-ahead bytes into `buf`; frees the read-ahead buffer once
    /// it is drained.
    fn serve_ahead(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.ahead.len().min(buf.remaining());
        buf.put_slice(&self.ahead[..n]);
        self.ahead.advance(n);
        if self.ahead.is_empty() {
            self.ahead = BytesMut::new();
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if !this.ahead.is_empty() {
            this.serve_ahead(buf);
            return Poll::Ready(Ok(()));
        }
        if !this.bulk || buf.remaining() >= READ_AHEAD / 2 {
            // Direct: no copy.
            let offered = buf.remaining();
            let before = buf.filled().len();
            ready!(this.io.poll_read(cx, buf))?;
            let n = buf.filled().len() - before;
            this.bulk = n == offered;
            return Poll::Ready(Ok(()));
        }
        // Bulk: one large read, served from the read-ahead buffer.
        this.ahead.reserve(READ_AHEAD);
        let spare = this.ahead.spare_capacity_mut();
        let mut ahead = ReadBuf::uninit(&mut spare[..READ_AHEAD]);
        let result = this.io.poll_read(cx, &mut ahead);
        let n = ahead.filled().len();
        match result {
            Poll::Ready(Ok(())) if n > 0 => {
                // SAFETY: `n` bytes of the spare capacity were initialized by the read.
                unsafe { this.ahead.set_len(n) };
                this.bulk = n == READ_AHEAD;
                this.serve_ahead(buf);
                Poll::Ready(Ok(()))
            }
            other => {
                // Nothing read (pending, end of stream or error): give the
                // memory back and read directly next time.
                this.ahead = BytesMut::new();
                this.bulk = false;
                other
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + (i >> 16)) as u8).collect()
    }

    /// Small reads of a large transfer: the bytes arrive exact and in order,
    /// the bulk path is taken, and the read-ahead memory is released once
    /// drained.
    #[tokio::test]
    async fn read_ahead_is_exact_and_released() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = pattern(3 * READ_AHEAD + 123);
        let to_send = sent.clone();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            sock.write_all(&to_send).await.unwrap();
            // Wait for the client to say it has everything before closing.
            let mut ack = [0u8; 1];
            sock.read_exact(&mut ack).await.unwrap();
        });
        let mut stream = Stream::plain(TcpStream::connect(addr).await.unwrap());
        let mut got = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut saw_read_ahead = false;
        while got.len() < sent.len() {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "stream ended early at {} bytes", got.len());
            got.extend_from_slice(&chunk[..n]);
            saw_read_ahead |= !stream.ahead.is_empty();
        }
        assert!(got == sent, "bytes differ");
        assert!(
            saw_read_ahead,
            "a 16 KiB reader of {} bytes never used read-ahead",
            sent.len()
        );
        assert!(stream.ahead.is_empty());
        assert_eq!(
            stream.ahead.capacity(),
            0,
            "drained read-ahead memory is kept"
        );
        stream.write_all(b"k").await.unwrap();
        server.await.unwrap();
    }
}
