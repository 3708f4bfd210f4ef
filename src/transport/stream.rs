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
//!
//! While the HTTP upgrade response is read ([`Stream::scan_upgrade`]), a
//! `101` response is handed over only up to the end of its headers; any
//! frame bytes that came in the same read wait in the read-ahead buffer.
//! tungstenite then has nothing left over from the handshake, and the
//! connection reads its frames from this stream itself
//! ([`super::frames::FrameReader`]).
//!
//! Direct connections and tunnels through an `http://` proxy are plain TCP
//! or TLS over TCP. Only a tunnel through an `https://` proxy (TLS to the
//! proxy, and maybe TLS to the server inside it) is a boxed [`Duplex`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Size of one read-ahead read.
pub const READ_AHEAD: usize = 256 * 1024;

/// Only a filled read of at most this many bytes turns read-ahead on.
const BULK_OFFER_MAX: usize = 32 * 1024;

/// Any byte stream: what a tunnel through an `https://` proxy is.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// Plain, TLS, or a tunnel through TLS to a proxy.
enum Io {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://`
    Tls(Box<TlsStream<TcpStream>>),
    /// Through an `https://` proxy.
    Tunnel(Box<dyn Duplex>),
}

impl Io {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Io::Tunnel(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
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
    /// The upgrade response read so far, while it is being scanned.
    upgrade: Option<Box<UpgradeScan>>,
    /// Whether a `101` response was handed over exactly up to the end of
    /// its headers.
    upgrade_cut: bool,
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

    /// A stream through TLS to an `https://` proxy.
    pub fn tunnel(io: impl Duplex + 'static) -> Self {
        Self::new(Io::Tunnel(Box::new(io)))
    }

    fn new(io: Io) -> Self {
        Self {
            io,
            ahead: BytesMut::new(),
            bulk: false,
            upgrade: None,
            upgrade_cut: false,
        }
    }

    /// Scans what is read next as an HTTP upgrade response (see the module
    /// docs). Call before the handshake.
    pub fn scan_upgrade(&mut self) {
        self.upgrade = Some(Box::default());
        self.upgrade_cut = false;
    }

    /// Whether the upgrade response is still being scanned: its headers
    /// have not ended yet (see [`Stream::scan_upgrade`]).
    pub fn scanning_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }

    /// Whether the handshake read a `101` response that ended exactly at its
    /// headers: nothing after them reached the handshake, so frames can be
    /// read from this stream without losing a byte.
    pub fn upgrade_cut(&self) -> bool {
        self.upgrade_cut
    }

    /// Moves read-ahead bytes into `buf`; frees the read-ahead buffer once
    /// it is drained.
    fn serve_ahead(&mut self, buf: &mut ReadBuf<'_>) {
        serve(&mut self.ahead, buf);
    }
}

/// Moves bytes from `from` into `buf`; frees `from`'s memory once it is
/// drained.
pub(crate) fn serve(from: &mut BytesMut, buf: &mut ReadBuf<'_>) {
    let n = from.len().min(buf.remaining());
    buf.put_slice(&from[..n]);
    from.advance(n);
    if from.is_empty() {
        *from = BytesMut::new();
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
        if let Some(scan) = this.upgrade.as_mut() {
            let before = buf.filled().len();
            ready!(this.io.poll_read(cx, buf))?;
            let end = buf.filled().len();
            match scan.feed(&buf.filled()[before..]) {
                Scan::More => {}
                Scan::Cut { excess } => {
                    this.ahead.extend_from_slice(&buf.filled()[end - excess..]);
                    buf.set_filled(end - excess);
                    this.upgrade = None;
                    this.upgrade_cut = true;
                }
                Scan::PassThrough => this.upgrade = None,
                Scan::TooLong => {
                    this.upgrade = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the server's 101 response has over {UPGRADE_HEAD_MAX} bytes of headers"
                        ),
                    )));
                }
            }
            return Poll::Ready(Ok(()));
        }
        if !this.bulk || buf.remaining() >= READ_AHEAD / 2 {
            // Direct: no copy.
            let offered = buf.remaining();
            let before = buf.filled().len();
            ready!(this.io.poll_read(cx, buf))?;
            let n = buf.filled().len() - before;
            // A large read that filled is a large payload read to its end
            // (see `frames`): what follows is a frame header, and reading
            // ahead would copy the next payload once more.
            this.bulk = n == offered && offered <= BULK_OFFER_MAX;
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

/// The most bytes of headers a `101` response may have.
const UPGRADE_HEAD_MAX: usize = 64 * 1024;

/// The bytes of an upgrade response seen so far.
#[derive(Default)]
pub(crate) struct UpgradeScan {
    head: Vec<u8>,
}

/// What to do with a chunk of an upgrade response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The headers have not ended yet: hand the chunk over.
    More,
    /// A `101` response's headers end inside the chunk; its last `excess`
    /// bytes are WebSocket data and must be held back.
    Cut { excess: usize },
    /// Not a `101` (its body is the error's detail), or no status line
    /// within [`UPGRADE_HEAD_MAX`] bytes: hand everything over and stop
    /// scanning (the handshake fails on it).
    PassThrough,
    /// A `101` whose headers do not end within [`UPGRADE_HEAD_MAX`] bytes.
    TooLong,
}

impl UpgradeScan {
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Scan {
        // A terminator may straddle chunks: look again at the last 2 bytes.
        let from = self.head.len().saturating_sub(2);
        self.head.extend_from_slice(chunk);
        // Empty lines before the status line are skipped, as httparse (and
        // so tungstenite) skips them (RFC 9112 §2.2).
        let mut start = 0;
        loop {
            match &self.head[start..] {
                [b'\r', b'\n', ..] => start += 2,
                [b'\n', ..] => start += 1,
                [b'\r'] => return Scan::More,
                _ => break,
            }
        }
        let Some(status_end) = self.head[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i)
        else {
            return if self.head.len() > UPGRADE_HEAD_MAX {
                Scan::PassThrough
            } else {
                Scan::More
            };
        };
        if !is_101(&self.head[start..status_end]) {
            return Scan::PassThrough;
        }
        // The headers end at the first empty line ("\r\n" or, leniently as
        // httparse accepts it, "\n"), which may directly follow the status line.
        let head = &self.head;
        let end = (from.max(status_end)..head.len()).find_map(|i| {
            if head[i] != b'\n' {
                return None;
            }
            match (head.get(i + 1), head.get(i + 2)) {
                (Some(b'\n'), _) => Some(i + 2),
                (Some(b'\r'), Some(b'\n')) => Some(i + 3),
                _ => None,
            }
        });
        match end {
            Some(end) => Scan::Cut {
                excess: head.len() - end,
            },
            None if self.head.len() > UPGRADE_HEAD_MAX => Scan::TooLong,
            None => Scan::More,
        }
    }
}

/// Whether an HTTP status line (without its "\n") says 101.
fn is_101(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    matches!(parts.next(), Some(v) if v.starts_with(b"HTTP/"))
        && matches!(parts.next(), Some(code) if code == b"101" || code == b"101\r")
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
            Io::Tunnel(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
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
            Io::Tunnel(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
            Io::Tunnel(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Io::Tunnel(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Io::Tunnel(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
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

    /// Feeds `chunks` to a scanner; returns what the last chunk gave.
    fn scan(chunks: &[&[u8]]) -> Vec<Scan> {
        let mut s = UpgradeScan::default();
        chunks.iter().map(|c| s.feed(c)).collect()
    }

    /// A 101 is cut exactly after its headers, wherever the chunks split
    /// it, so frame bytes in the same read are held back.
    #[test]
    fn a_101_is_cut_at_the_end_of_its_headers() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let mut wire = head.to_vec();
        wire.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        for split in 1..wire.len() {
            let got = scan(&[&wire[..split], &wire[split..]]);
            let want = if split >= head.len() {
                vec![Scan::Cut {
                    excess: split - head.len(),
                }]
            } else {
                vec![Scan::More, Scan::Cut { excess: 4 }]
            };
            assert_eq!(got[..want.len()], want[..], "split at {split}");
        }
        // Bare "\n" line ends, and no reason phrase.
        assert_eq!(
            scan(&[b"HTTP/1.1 101\nA: b\n\nX"]),
            vec![Scan::Cut { excess: 1 }]
        );
        // Empty lines before the status line are skipped, as httparse does
        // (found by the upgrade_response fuzz target), in any split.
        let wire = b"\r\n\nHTTP/1.1 101 OK\r\nA: b\r\n\r\nX";
        for split in 0..wire.len() {
            let got = scan(&[&wire[..split], &wire[split..]]);
            let cut = match got[..] {
                [Scan::Cut { excess }, ..] => split - excess,
                [Scan::More, Scan::Cut { excess }] => wire.len() - excess,
                _ => panic!("split at {split}: {got:?}"),
            };
            assert_eq!(cut, wire.len() - 1, "split at {split}");
        }
    }

    /// Anything but a 101 passes through (the handshake reports it); a 101
    /// whose headers never end is refused.
    #[test]
    fn other_answers_pass_and_endless_headers_fail() {
        assert_eq!(
            scan(&[b"HTTP/1.1 403 Forbidden\r\n\r\nno"]),
            vec![Scan::PassThrough]
        );
        assert_eq!(
            scan(&[&[b'x'; UPGRADE_HEAD_MAX + 1]]),
            vec![Scan::PassThrough]
        );
        let mut long = b"HTTP/1.1 101 OK\r\n".to_vec();
        long.extend(
            std::iter::repeat_n(b"X-Filler: 0123456789\r\n", UPGRADE_HEAD_MAX / 20).flatten(),
        );
        assert_eq!(scan(&[&long]), vec![Scan::TooLong]);
    }
}
