//! The receiving side of the WebSocket protocol (RFC 6455 §5) for a client.
//!
//! tungstenite does the HTTP upgrade and writes frames; reading is done here
//! because of where the bytes of a large message land. tungstenite reads
//! every payload through its own read buffer (at most its `read_buffer_size`
//! per call, zero-filled first) and then splits it off; that buffer is
//! fresh memory for every large message, because the previous payload is
//! still held by JavaScript until V8 collects it. [`FrameReader`] reads a
//! large payload (at least [`DIRECT_MIN`] bytes) straight from the socket
//! into a buffer of its exact size, taken from [`super::pool`] where JS has
//! handed earlier ones back: one kernel copy into warm memory, no zero-fill
//! and no second copy. Small frames are parsed from a small read buffer and
//! split off it, as before.
//!
//! What it checks is what tungstenite checks for a client: no reserved bits,
//! no reserved opcodes, no masked frames from a server, control frames final
//! and at most 125 bytes, continuation frames only inside a fragmented
//! message, UTF-8 text, the message size limit (`maxPayload`), and a close
//! frame's code (one that may be sent: RFC 6455 §7.4) and reason.
//!
//! Text is checked as it arrives ([`super::utf8`]): a fragmented message, or
//! a frame that comes in several reads, is refused at the first piece that
//! makes it invalid UTF-8, not at its end (RFC 6455 §8.1, Autobahn 6.4.x).
//! Everything after the server's close frame is discarded (RFC 6455 §1.4):
//! the stream then ends cleanly when the server closes TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::pool;
use super::utf8::Utf8Check;

/// A payload at least this big is read straight into its own buffer.
pub const DIRECT_MIN: usize = 64 * 1024;

/// The smallest read offered to the socket for frame headers and small
/// payloads (the stream reads ahead in larger steps while data keeps coming).
const READ_MIN: usize = 4 * 1024;

/// What the reader produces: a whole message or a control frame.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A text message (validated UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the caller answers it with a pong carrying `payload`.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: `None` when it carried no status code (1005).
    Close(Option<(u16, String)>),
}

/// Why reading failed.
#[derive(Debug)]
pub enum ReadError {
    /// The server broke the protocol (close with 1002).
    Protocol(String),
    /// A message over the size limit (close with 1009).
    TooBig {
        /// The message's size so far, in bytes.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// A text message or close reason that is not UTF-8 (close with 1007).
    InvalidUtf8,
    /// The connection ended in the middle of a frame or message.
    EndedMidFrame,
    /// The socket failed.
    Io(io::Error),
}

/// The reasons the connection reports (close reason and `error` event).
impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Protocol(why) => write!(f, "protocol error from the server: {why}"),
            ReadError::TooBig { size, max } => {
                write!(
                    f,
                    "message too big: {size} bytes is over maxPayload ({max} bytes)"
                )
            }
            ReadError::InvalidUtf8 => f.write_str("invalid UTF-8 in a text frame from the server"),
            ReadError::EndedMidFrame => f.write_str(MID_FRAME),
            ReadError::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionReset => {
                    f.write_str("the server reset the TCP connection (no close frame)")
                }
                io::ErrorKind::UnexpectedEof => f.write_str(MID_FRAME),
                _ => write!(f, "the connection failed: {e}"),
            },
        }
    }
}

const MID_FRAME: &str =
    "the server went away in the middle of a frame (TCP closed, no close frame)";

fn protocol(why: impl Into<String>) -> ReadError {
    ReadError::Protocol(why.into())
}

#[derive(Clone, Copy, Debug)]
struct Header {
    fin: bool,
    opcode: u8,
    len: usize,
    /// Its payload is (part of) a text message.
    text: bool,
}

const OP_CONTINUATION: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

/// A fragmented message being put together.
struct Partial {
    text: bool,
    data: Vec<u8>,
}

/// Reads frames from a byte stream (see the module docs). Its reads are
/// cancel-safe: a poll that returns `Pending` leaves no bytes behind.
pub struct FrameReader {
    /// Bytes read and not yet parsed: headers and small payloads.
    buf: BytesMut,
    /// The header whose payload is being read.
    header: Option<Header>,
    /// A large payload being read straight from the socket.
    direct: Option<Vec<u8>>,
    /// A fragmented message so far.
    partial: Option<Partial>,
    /// Whether a close frame was read (what follows it is discarded).
    closed: bool,
    max_payload: usize,
    /// The text message being read, checked so far.
    utf8: Utf8Check,
    /// How many bytes of the current frame's payload `utf8` has checked.
    checked: usize,
}

impl FrameReader {
    /// A reader that refuses messages over `max_payload` bytes.
    pub fn new(max_payload: usize) -> Self {
        FrameReader {
            buf: BytesMut::new(),
            header: None,
            direct: None,
            partial: None,
            closed: false,
            max_payload,
            utf8: Utf8Check::default(),
            checked: 0,
        }
    }

    fn poll_next<R: AsyncRead + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut R,
    ) -> Poll<Result<Option<Frame>, ReadError>> {
        loop {
            if self.closed {
                // After the close frame: discard until the server closes TCP.
                self.buf.clear();
                let n = ready!(self.read(cx, io)).map_err(ReadError::Io)?;
                if n == 0 {
                    return Poll::Ready(Ok(None));
                }
                continue;
            }
            if let Some(frame) = self.decode()? {
                return Poll::Ready(Ok(Some(frame)));
            }
            let n = ready!(self.read(cx, io)).map_err(ReadError::Io)?;
            if n == 0 {
                let between = self.buf.is_empty()
                    && self.header.is_none()
                    && self.direct.is_none()
                    && self.partial.is_none();
                return Poll::Ready(if between {
                    Ok(None)
                } else {
                    Err(ReadError::EndedMidFrame)
                });
            }
        }
    }

    /// The next message or control frame; `Ok(None)` when the stream ended
    /// between messages. Cancel-safe (see [`FrameReader`]).
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
    ) -> Result<Option<Frame>, ReadError> {
        std::future::poll_fn(|cx| self.poll_next(cx, io)).await
    }

    /// One read from `io` into wherever the next bytes belong.
    fn read<R: AsyncRead + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut R,
    ) -> Poll<io::Result<usize>> {
        if let (Some(direct), Some(h)) = (self.direct.as_mut(), self.header) {
            // Exactly the rest of this payload, so the next header lands in
            // `buf`.
            let rest = h.len - direct.len();
            let spare = &mut direct.spare_capacity_mut()[..rest];
            let mut rb = ReadBuf::uninit(spare);
            ready!(Pin::new(io).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            // SAFETY: the read initialized `n` bytes of the spare capacity.
            unsafe { direct.set_len(direct.len() + n) };
            return Poll::Ready(Ok(n));
        }
        let empty = self.buf.is_empty();
        self.buf.reserve(READ_MIN);
        let spare = self.buf.spare_capacity_mut();
        let mut rb = ReadBuf::uninit(spare);
        let polled = Pin::new(io).poll_read(cx, &mut rb);
        if polled.is_pending() && empty {
            // Nothing to read and nothing kept: an idle connection holds no
            // read buffer.
            self.buf = BytesMut::new();
            return Poll::Pending;
        }
        ready!(polled)?;
        let n = rb.filled().len();
        // SAFETY: as above.
        unsafe { self.buf.set_len(self.buf.len() + n) };
        Poll::Ready(Ok(n))
    }

    /// Decodes the next message or control frame from what has been read.
    fn decode(&mut self) -> Result<Option<Frame>, ReadError> {
        loop {
            let header = match self.header {
                Some(h) => h,
                None => match self.parse_header()? {
                    Some(h) => h,
                    None => return Ok(None),
                },
            };
            let payload = if let Some(direct) = &self.direct {
                if direct.len() < header.len {
                    if header.text {
                        check_text(&mut self.utf8, &direct[self.checked..])?;
                        self.checked = direct.len();
                    }
                    return Ok(None);
                }
                pool::bytes(self.direct.take().unwrap())
            } else if header.len <= self.buf.len() {
                self.buf.split_to(header.len).freeze()
            } else if header.len >= DIRECT_MIN {
                let mut direct = pool::take(header.len);
                direct.extend_from_slice(&self.buf);
                self.buf.clear();
                self.direct = Some(direct);
                return Ok(None);
            } else {
                if header.text {
                    // Part of the payload: check it now (fail fast).
                    let n = self.buf.len();
                    check_text(&mut self.utf8, &self.buf[self.checked..n])?;
                    self.checked = n;
                }
                self.buf.reserve(header.len - self.buf.len());
                return Ok(None);
            };
            self.header = None;
            if let Some(frame) = self.complete(header, payload)? {
                return Ok(Some(frame));
            }
        }
    }

    /// Parses a frame header at the start of `buf` and checks it.
    fn parse_header(&mut self) -> Result<Option<Header>, ReadError> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let (fin, rsv, opcode) = (b[0] & 0x80 != 0, b[0] & 0x70, b[0] & 0x0F);
        let (masked, len7) = (b[1] & 0x80 != 0, b[1] & 0x7F);
        let (len, at) = match len7 {
            126 if b.len() < 4 => return Ok(None),
            126 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() < 10 => return Ok(None),
            127 => (u64::from_be_bytes(b[2..10].try_into().unwrap()), 10),
            n => (u64::from(n), 2),
        };
        if rsv != 0 {
            return Err(protocol(
                "reserved bits are set, and no extension was agreed",
            ));
        }
        if masked {
            return Err(protocol("the server sent a masked frame"));
        }
        let control = opcode >= 8;
        match opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return Err(protocol(format!("unknown opcode {opcode}"))),
        }
        if control && !fin {
            return Err(protocol("a fragmented control frame"));
        }
        if control && len > 125 {
            return Err(protocol(format!(
                "a control frame of {len} bytes (at most 125)"
            )));
        }
        if !control {
            match (opcode, &self.partial) {
                (OP_CONTINUATION, None) => {
                    return Err(protocol(
                        "a continuation frame outside a fragmented message",
                    ));
                }
                (OP_TEXT | OP_BINARY, Some(_)) => {
                    return Err(protocol("a new message inside a fragmented message"));
                }
                _ => {}
            }
            let so_far = self.partial.as_ref().map_or(0, |p| p.data.len() as u64);
            let size = so_far.saturating_add(len);
            if size > self.max_payload as u64 {
                return Err(ReadError::TooBig {
                    size,
                    max: self.max_payload,
                });
            }
        }
        bytes::Buf::advance(&mut self.buf, at);
        let text = match opcode {
            OP_TEXT => {
                self.utf8 = Utf8Check::default();
                true
            }
            OP_CONTINUATION => self.partial.as_ref().is_some_and(|p| p.text),
            _ => false,
        };
        if !control {
            self.checked = 0;
        }
        let header = Header {
            fin,
            opcode,
            // Fits: checked against max_payload (data) or 125 (control).
            len: len as usize,
            text,
        };
        self.header = Some(header);
        Ok(Some(header))
    }

    /// Turns a frame's payload into what the caller sees; `None` for a
    /// fragment that does not end its message.
    fn complete(&mut self, h: Header, payload: Bytes) -> Result<Option<Frame>, ReadError> {
        // Whether the message's text was checked piece by piece here; if
        // not (a whole message in one frame, read in one piece), it is
        // checked once when it becomes a `Utf8Bytes`.
        let mut checked = false;
        if h.text {
            if h.opcode != OP_TEXT || !h.fin || self.checked > 0 {
                check_text(&mut self.utf8, &payload[self.checked..])?;
                if h.fin {
                    self.utf8.finish().map_err(|_| ReadError::InvalidUtf8)?;
                }
                checked = true;
            }
            self.checked = 0;
        }
        let data = |text: bool, payload: Bytes| -> Result<Frame, ReadError> {
            if !text {
                Ok(Frame::Binary(payload))
            } else if checked {
                // SAFETY: every byte of the message went through
                // `Utf8Check`, which ended with no code point left open.
                Ok(Frame::Text(unsafe {
                    Utf8Bytes::from_bytes_unchecked(payload)
                }))
            } else {
                Utf8Bytes::try_from(payload)
                    .map(Frame::Text)
                    .map_err(|_| ReadError::InvalidUtf8)
            }
        };
        match h.opcode {
            OP_PING => Ok(Some(Frame::Ping(payload))),
            OP_PONG => Ok(Some(Frame::Pong(payload))),
            OP_CLOSE => {
                self.closed = true;
                close_frame(&payload).map(|c| Some(Frame::Close(c)))
            }
            OP_TEXT | OP_BINARY if h.fin => data(h.opcode == OP_TEXT, payload).map(Some),
            OP_TEXT | OP_BINARY => {
                self.partial = Some(Partial {
                    text: h.opcode == OP_TEXT,
                    data: payload.to_vec(),
                });
                Ok(None)
            }
            _ => {
                let partial = self.partial.as_mut().expect("checked in parse_header");
                partial.data.extend_from_slice(&payload);
                if !h.fin {
                    return Ok(None);
                }
                let Partial { text, data: bytes } = self.partial.take().unwrap();
                data(text, Bytes::from(bytes)).map(Some)
            }
        }
    }
}

/// Checks the next piece of the text message being read.
fn check_text(utf8: &mut Utf8Check, piece: &[u8]) -> Result<(), ReadError> {
    utf8.feed(piece).map_err(|_| ReadError::InvalidUtf8)
}

/// A close frame's code and reason. A code that may not be sent on the wire
/// (1005, 1006, 1015, reserved or out of range) is a protocol error: the
/// connection fails with 1002, and the reason names the code.
fn close_frame(payload: &[u8]) -> Result<Option<(u16, String)>, ReadError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(protocol("a close frame with a 1-byte payload")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let reason = std::str::from_utf8(&payload[2..]).map_err(|_| ReadError::InvalidUtf8)?;
            if !CloseCode::from(code).is_allowed() {
                return Err(protocol(format!(
                    "its close frame has code {code}, which is not a code an endpoint may send (RFC 6455 §7.4)"
                )));
            }
            Ok(Some((code, reason.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    /// A server frame (unmasked) with the given first byte and payload.
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b0];
        match payload.len() {
            n if n < 126 => f.push(n as u8),
            n if n < 65536 => {
                f.push(126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(payload);
        f
    }

    /// Feeds `wire` to a reader in reads of at most `chunk` bytes and
    /// collects everything until the end or the first error.
    fn read_all(wire: &[u8], chunk: usize, max: usize) -> (Vec<Frame>, Option<ReadError>) {
        let mut io = chunked(wire, chunk);
        let mut r = FrameReader::new(max);
        let mut out = Vec::new();
        loop {
            match r
                .next(&mut io)
                .now_or_never()
                .expect("a read from memory waited")
            {
                Ok(Some(f)) => out.push(f),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// An in-memory stream that hands out at most `chunk` bytes per read;
    /// at the end it ends, or (`wait_at_end`) has nothing more to give yet.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
        wait_at_end: bool,
    }

    fn chunked(data: &[u8], chunk: usize) -> Chunked<'_> {
        Chunked {
            data,
            chunk,
            wait_at_end: false,
        }
    }

    impl AsyncRead for Chunked<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.data.is_empty() && self.wait_at_end {
                return Poll::Pending;
            }
            let n = self.data.len().min(self.chunk).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(()))
        }
    }

    fn text(s: &str) -> Frame {
        Frame::Text(Utf8Bytes::from(s.to_string()))
    }

    /// Small and large (direct) messages, split across reads of every size,
    /// come out whole and in order, with control frames between them.
    #[test]
    fn messages_of_every_size_survive_any_split() {
        let big: Vec<u8> = (0..DIRECT_MIN * 3 + 7).map(|i| (i * 7) as u8).collect();
        let mut wire = frame(0x81, b"hello");
        wire.extend(frame(0x82, &big));
        wire.extend(frame(0x89, b"p"));
        wire.extend(frame(0x82, &[1, 2, 3]));
        wire.extend(frame(0x81, "é".repeat(40_000).as_bytes()));
        wire.extend(frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
        for chunk in [1, 2, 3, 7, 100, 4096, 65_537, usize::MAX] {
            let (frames, err) = read_all(&wire, chunk, 1 << 20);
            assert!(err.is_none(), "chunk {chunk}: {err:?}");
            assert_eq!(
                frames,
                vec![
                    text("hello"),
                    Frame::Binary(Bytes::from(big.clone())),
                    Frame::Ping(Bytes::from_static(b"p")),
                    Frame::Binary(Bytes::from_static(&[1, 2, 3])),
                    text(&"é".repeat(40_000)),
                    Frame::Close(Some((1000, "bye".into()))),
                ],
                "chunk {chunk}"
            );
        }
    }

    /// A fragmented message is put together, with a control frame between
    /// its fragments; a character split across fragments is fine.
    #[test]
    fn fragments_are_joined() {
        let e = "é".as_bytes();
        let mut wire = frame(0x01, &[b'a', e[0]]);
        wire.extend(frame(0x8A, b""));
        wire.extend(frame(0x00, &[e[1], b'b']));
        wire.extend(frame(0x80, b"c"));
        let (frames, err) = read_all(&wire, 3, 1 << 20);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames, vec![Frame::Pong(Bytes::new()), text("aébc")]);
    }

    fn error_of(wire: Vec<u8>, max: usize) -> ReadError {
        match read_all(&wire, usize::MAX, max) {
            (_, Some(e)) => e,
            (frames, None) => panic!("no error; frames: {frames:?}"),
        }
    }

    fn protocol_error(wire: Vec<u8>) -> String {
        match error_of(wire, 1 << 20) {
            ReadError::Protocol(why) => why,
            other => panic!("not a protocol error: {other:?}"),
        }
    }

    /// Each protocol violation is refused with a reason naming it.
    #[test]
    fn violations_are_refused_by_name() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (frame(0xC1, b"x"), "reserved bits"),
            (frame(0x83, b"x"), "unknown opcode 3"),
            (frame(0x8B, b"x"), "unknown opcode 11"),
            (vec![0x81, 0x81, 1, 2, 3, 4, b'x'], "masked"),
            (frame(0x09, b"x"), "fragmented control"),
            (frame(0x89, &[0; 126]), "at most 125"),
            (frame(0x80, b"x"), "continuation frame outside"),
            (
                [frame(0x01, b"a"), frame(0x81, b"b")].concat(),
                "new message inside",
            ),
            (frame(0x88, &[3]), "1-byte payload"),
            (frame(0x88, &[0x03, 0xE7]), "code 999"),
        ];
        for (wire, want) in cases {
            let why = protocol_error(wire);
            assert!(why.contains(want), "{why:?} does not say {want:?}");
        }
    }

    /// Size limits hold for one frame and for a fragmented message as a
    /// whole, before the payload is read; bad UTF-8 is refused.
    #[test]
    fn limits_and_utf8() {
        match error_of(frame(0x82, &[0; 11]), 10) {
            ReadError::TooBig { size: 11, max: 10 } => {}
            other => panic!("{other:?}"),
        }
        // Only the header of a 2^40-byte frame arrives: refused at once.
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        match error_of(huge, 1 << 20) {
            ReadError::TooBig { size, .. } => assert_eq!(size, 1 << 40),
            other => panic!("{other:?}"),
        }
        match error_of([frame(0x02, &[0; 6]), frame(0x80, &[0; 6])].concat(), 10) {
            ReadError::TooBig { size: 12, max: 10 } => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            error_of(frame(0x81, &[0xC3]), 100),
            ReadError::InvalidUtf8
        ));
        assert!(matches!(
            error_of(frame(0x88, &[0x03, 0xE8, 0xFF]), 100),
            ReadError::InvalidUtf8
        ));
    }

    /// Close codes: none, an allowed one, and one that may not be sent.
    #[test]
    fn close_codes() {
        assert_eq!(close_frame(&[]).unwrap(), None);
        assert_eq!(
            close_frame(&[0x0F, 0xA1, b'R']).unwrap(),
            Some((4001, "R".into()))
        );
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            match close_frame(&code.to_be_bytes()) {
                Err(ReadError::Protocol(why)) => {
                    assert!(why.contains(&format!("code {code}")), "{why}")
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    /// Whatever follows the close frame is discarded, and the stream then
    /// ends cleanly (RFC 6455 §1.4; Autobahn 7.1.x).
    #[test]
    fn after_the_close_frame_everything_is_discarded() {
        let mut wire = frame(0x88, &[0x03, 0xE8]);
        wire.extend(frame(0x81, b"late"));
        wire.extend(frame(0x89, b""));
        wire.extend([0xFF, 0xFF, 0xFF]);
        for chunk in [1, 3, usize::MAX] {
            let (frames, err) = read_all(&wire, chunk, 100);
            assert!(err.is_none(), "chunk {chunk}: {err:?}");
            assert_eq!(frames, vec![Frame::Close(Some((1000, String::new())))]);
        }
    }

    /// Invalid UTF-8 is refused at the fragment, or the read, that makes
    /// the text invalid: the rest of the message is never waited for.
    #[test]
    fn invalid_text_fails_fast() {
        let ok = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
        // Fragments: the second one is invalid, the third never comes.
        let mut wire = frame(0x01, ok);
        wire.extend(frame(0x00, b"\xf4\x90\x80\x80"));
        assert!(matches!(error_waiting(&wire), ReadError::InvalidUtf8));
        // One frame, of which only the start has arrived, up to the byte
        // (0x90 after 0xF4) that makes it invalid.
        let mut payload = ok.to_vec();
        payload.extend_from_slice(b"\xf4\x90\x80\x80edited");
        let whole = frame(0x81, &payload);
        assert!(matches!(
            error_waiting(&whole[..15]),
            ReadError::InvalidUtf8
        ));
        // Valid text split inside a character, in fragments and in reads.
        let e = "é€𤭢".as_bytes();
        let mut wire = Vec::new();
        for (i, b) in e.iter().enumerate() {
            let op = if i == 0 { 0x01 } else { 0x00 };
            wire.extend(frame(op | if i == e.len() - 1 { 0x80 } else { 0 }, &[*b]));
        }
        for chunk in [1, 2, usize::MAX] {
            let (frames, err) = read_all(&wire, chunk, 100);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(frames, vec![text("é€𤭢")]);
        }
        // A fragmented message that ends inside a character is refused.
        let wire = [frame(0x01, b"a"), frame(0x80, &e[..1])].concat();
        assert!(matches!(error_of(wire, 100), ReadError::InvalidUtf8));
    }

    /// The first error from reading `wire`, after which the stream has
    /// nothing more yet (it neither ends nor gives more bytes).
    fn error_waiting(wire: &[u8]) -> ReadError {
        let mut io = Chunked {
            wait_at_end: true,
            ..chunked(wire, usize::MAX)
        };
        let mut r = FrameReader::new(1 << 20);
        loop {
            match r.next(&mut io).now_or_never() {
                Some(Ok(Some(_))) => continue,
                Some(Err(e)) => return e,
                Some(Ok(None)) => panic!("the stream ended"),
                None => panic!("waited for more instead of failing"),
            }
        }
    }

    /// The end of the stream between messages is a clean end; inside a
    /// frame (or a fragmented message, or a large payload) it is an error.
    #[test]
    fn end_of_stream() {
        let (frames, err) = read_all(&frame(0x81, b"ok"), 1, 100);
        assert_eq!(frames, vec![text("ok")]);
        assert!(err.is_none());
        for cut in [
            frame(0x81, b"ok")[..3].to_vec(),
            frame(0x01, b"ok"),
            frame(0x82, &vec![0; DIRECT_MIN])[..DIRECT_MIN / 2].to_vec(),
        ] {
            assert!(matches!(error_of(cut, 1 << 20), ReadError::EndedMidFrame));
        }
    }

    /// Once everything read has been decoded and the socket has nothing
    /// more, the reader holds no read buffer (idle connections stay small);
    /// a partly read frame keeps its bytes.
    #[test]
    fn an_idle_reader_holds_no_buffer() {
        let wire = frame(0x81, b"hi");
        let waiting = |data| Chunked {
            wait_at_end: true,
            ..chunked(data, usize::MAX)
        };
        let mut io = waiting(&wire);
        let mut r = FrameReader::new(100);
        assert_eq!(
            r.next(&mut io).now_or_never().unwrap().unwrap(),
            Some(text("hi"))
        );
        assert!(
            r.next(&mut io).now_or_never().is_none(),
            "no data, yet not waiting"
        );
        assert_eq!(r.buf.capacity(), 0, "an idle reader kept its buffer");

        let mut io = waiting(&wire[..3]);
        let mut r = FrameReader::new(100);
        assert!(r.next(&mut io).now_or_never().is_none());
        assert_eq!(r.header.map(|h| h.len), Some(2));
        assert_eq!(&r.buf[..], b"h", "the partial payload was dropped");
    }
}
