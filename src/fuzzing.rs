//! The checks behind the fuzz targets in `fuzz/` (one function per target).
//! Each takes arbitrary bytes, runs one parser on them, and panics only when
//! an invariant breaks; a parser that panics by itself is a finding too.
//! `cargo test` replays the kept corpus (`fuzz/corpus/<target>/`) and every
//! crash found (`fuzz/regressions/<target>/`) through the same functions.
//! Not part of the API.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::handshake::machine::TryParse;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::gateway::frames::{ConnectAuth, Inbound, parse_inbound, parse_inbound_value};
use crate::gateway::handshake::{
    ConnectOptions, ConnectOutcome, build_connect, connect_request, parse_challenge,
    parse_connect_response,
};
use crate::gateway::identity::DeviceIdentity;
use crate::gateway::token_store::DeviceTokenStore;
use crate::transport::connection::clamp_reason;
use crate::transport::frames::{Frame, FrameReader};
use crate::transport::stream::{Scan, UpgradeScan};

/// An in-memory stream that hands out the reads `sizes` (cycled; 0 means
/// "everything left").
struct Chopped<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    at: usize,
}

impl AsyncRead for Chopped<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self.sizes[self.at % self.sizes.len()];
        self.at += 1;
        let size = if size == 0 { usize::MAX } else { size };
        let n = self.data.len().min(size).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// Read sizes from a seed byte: small and odd, so that headers, lengths
/// and UTF-8 sequences are split everywhere.
fn sizes(seed: u8) -> Vec<usize> {
    (0..16u8)
        .map(|i| 1 + (seed.wrapping_mul(31).wrapping_add(i.wrapping_mul(17)) % 23) as usize)
        .collect()
}

/// Every frame `wire` gives with reads of `sizes`, and whether the stream
/// ended cleanly (`true`) or with an error.
fn read_frames(wire: &[u8], sizes: Vec<usize>, max: usize) -> (Vec<Frame>, bool) {
    let mut io = Chopped {
        data: wire,
        sizes,
        at: 0,
    };
    let mut reader = FrameReader::new(max);
    let mut frames = Vec::new();
    loop {
        let next = reader
            .next(&mut io)
            .now_or_never()
            .expect("a read from memory never waits");
        match next {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, true),
            Err(_) => return (frames, false),
        }
    }
}

/// The frame reader: the same frames (and the same kind of end) however the
/// stream is chopped; every frame obeys RFC 6455 and the size limit.
pub fn frame_reader(data: &[u8]) {
    let [mode, seed, wire @ ..] = data else {
        return;
    };
    let max = [125, 1000, 70_000, 1 << 20][(mode & 3) as usize];
    let (whole, whole_ok) = read_frames(wire, vec![0], max);
    let (chopped, chopped_ok) = read_frames(wire, sizes(*seed), max);
    assert_eq!(
        whole, chopped,
        "the frames depend on how the stream was chopped"
    );
    assert_eq!(
        whole_ok, chopped_ok,
        "the end depends on how the stream was chopped"
    );
    for f in &whole {
        match f {
            Frame::Text(t) => {
                assert!(
                    std::str::from_utf8(t.as_bytes()).is_ok(),
                    "text that is not UTF-8"
                );
                assert!(t.len() <= max);
            }
            Frame::Binary(b) => assert!(b.len() <= max),
            Frame::Ping(p) | Frame::Pong(p) => assert!(p.len() <= 125),
            Frame::Close(Some((code, reason))) => {
                assert!(
                    CloseCode::from(*code).is_allowed(),
                    "close code {code} let through"
                );
                assert!(reason.len() <= 123);
            }
            Frame::Close(None) => {}
        }
    }
    if let Some(i) = whole.iter().position(|f| matches!(f, Frame::Close(_))) {
        assert_eq!(i + 1, whole.len(), "a frame after the close frame");
    }
}

/// Close codes and reasons: a close frame with this payload is refused or
/// gives exactly its code and reason; a reason clamped for sending stays a
/// prefix of at most 123 bytes.
pub fn close_frame(data: &[u8]) {
    let payload = &data[..data.len().min(125)];
    let mut wire = vec![0x88, payload.len() as u8];
    wire.extend_from_slice(payload);
    let (frames, _) = read_frames(&wire, vec![0], 1 << 20);
    match (payload.len(), frames.first()) {
        (0, got) => assert_eq!(got, Some(&Frame::Close(None))),
        (1, got) => assert_eq!(got, None, "a 1-byte close payload was accepted"),
        (_, Some(Frame::Close(Some((code, reason))))) => {
            assert_eq!(*code, u16::from_be_bytes([payload[0], payload[1]]));
            assert!(
                CloseCode::from(*code).is_allowed(),
                "close code {code} let through"
            );
            assert_eq!(reason.as_bytes(), &payload[2..]);
        }
        (_, Some(other)) => panic!("a close frame read as {other:?}"),
        (_, None) => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let utf8 = std::str::from_utf8(&payload[2..]).is_ok();
            assert!(
                !CloseCode::from(code).is_allowed() || !utf8,
                "a valid close frame ({code}) was refused"
            );
        }
    }
    let text = String::from_utf8_lossy(data);
    let clamped = clamp_reason(&text);
    assert!(clamped.len() <= 123 && text.starts_with(&clamped));
    if text.len() <= 123 {
        assert_eq!(clamped, text);
    }
}

/// Where a scanner fed `chunks` cut the head (absolute offset), or how it
/// stopped.
fn scan(chunks: &[&[u8]]) -> Result<usize, &'static str> {
    let mut s = UpgradeScan::default();
    let mut fed = 0;
    for c in chunks {
        fed += c.len();
        match s.feed(c) {
            Scan::More => {}
            Scan::Cut { excess } => return Ok(fed - excess),
            Scan::PassThrough => return Err("pass-through"),
            Scan::TooLong => return Err("too long"),
        }
    }
    Err("more")
}

/// The HTTP upgrade response: the scanner cuts a 101 at the same place
/// however it is chopped, and where tungstenite's parser says its head
/// ends; a response the parser accepts is never lost.
pub fn upgrade_response(data: &[u8]) {
    let [seed, wire @ ..] = data else {
        return;
    };
    let whole = scan(&[wire]);
    let mut chunks = Vec::new();
    let mut rest = wire;
    for size in sizes(*seed).into_iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (a, b) = rest.split_at(size.min(rest.len()));
        chunks.push(a);
        rest = b;
    }
    let chopped = scan(&chunks);
    // A non-101 is recognised once its status line is complete, so a
    // chopped scan may pass through where the whole one did too.
    assert_eq!(
        whole, chopped,
        "the cut depends on how the response was chopped"
    );
    if let Ok(Some((len, response))) = Response::try_parse(wire)
        && response.status().as_u16() == 101
    {
        assert_eq!(
            whole,
            Ok(len),
            "the scanner and the parser disagree on the head"
        );
    }
    if let Ok(cut) = whole {
        let head = &wire[..cut];
        assert!(head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"));
    }
}

/// The gateway frame decoder: parsing text and parsing its JSON value agree;
/// what parses can be shown (`Debug`) and read.
pub fn gateway_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_inbound(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        assert_eq!(parse_inbound_value(value).ok(), parsed.clone().ok());
    } else {
        assert!(parsed.is_err());
    }
    match parsed {
        Ok(Inbound::Response(r)) => {
            let _ = format!("{r:?}");
            let _ = r.is_accepted();
            if let Err(e) = r.into_result() {
                let _ = (e.detail_code(), e.detail_str("reason"), e.detail_bool("x"));
                let _ = (e.detail_u64("retryAfterMs"), format!("{e:?}"));
            }
        }
        Ok(Inbound::Event(e)) => {
            let _ = format!("{e:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

const FUZZ_TOKEN: &str = "fuzz-shared-token-0123456789";

/// The gateway handshake: a challenge (the text before the first 0xFF) and
/// a `connect` response (after it) go through every step; the signed
/// `connect` request fits the pre-auth limit and never carries a secret it
/// was not given; a hello-ok can be read in full.
pub fn gateway_handshake(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
    let (challenge, response) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    if let Ok(Ok(Inbound::Event(event))) = std::str::from_utf8(challenge).map(parse_inbound)
        && let Ok(ch) = parse_challenge(&event)
    {
        let identity = DeviceIdentity::from_seed([7; 32]);
        let auth = ConnectAuth {
            token: Some(FUZZ_TOKEN.into()),
            ..ConnectAuth::default()
        };
        if let Ok(params) = build_connect(&ConnectOptions::default(), &ch, Some(&identity), &auth)
            && let Ok((_, json)) = connect_request("1", &params)
        {
            assert!(json.len() <= crate::gateway::frames::MAX_PREAUTH_PAYLOAD);
            let v: serde_json::Value = serde_json::from_str(&json).expect("connect is JSON");
            assert_eq!(v["params"]["device"]["nonce"], ch.nonce.as_str());
            assert_eq!(
                json.matches(FUZZ_TOKEN).count(),
                1,
                "the token went out twice"
            );
        }
    }
    if let Ok(Ok(Inbound::Response(resp))) = std::str::from_utf8(response).map(parse_inbound) {
        match parse_connect_response(resp) {
            Ok(ConnectOutcome::Hello(h)) => {
                let _ = (h.protocol(), h.server_version(), h.conn_id(), h.methods());
                let _ = (h.events(), h.capabilities(), h.auth(), h.policy());
                let _ = (h.snapshot_state_version(), format!("{h:?}"));
            }
            Ok(ConnectOutcome::Rejected(e)) => {
                let _ = format!("{e:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// Values that look like secrets (long runs of token characters with
/// letters and digits) under the JSON keys that hold secrets, except those
/// that the file also has inside a key or a value that is not a secret (a
/// role or a URL that contains the token's text may be shown; the token
/// itself is not).
fn secrets_in(data: &[u8]) -> Vec<String> {
    const SECRET_KEYS: [&str; 3] = ["token", "privateKey", "password"];
    fn walk(v: &serde_json::Value, secrets: &mut Vec<String>, public: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    public.push(k.clone());
                    match v.as_str() {
                        Some(s) if SECRET_KEYS.contains(&k.as_str()) => {
                            if s.len() >= 16
                                && s.bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                                && s.bytes().any(|b| b.is_ascii_digit())
                                && s.bytes().any(|b| b.is_ascii_alphabetic())
                            {
                                secrets.push(s.to_string());
                            }
                        }
                        Some(s) => public.push(s.to_string()),
                        None => walk(v, secrets, public),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, secrets, public)),
            serde_json::Value::String(s) => public.push(s.clone()),
            _ => {}
        }
    }
    let (mut secrets, mut public) = (Vec::new(), Vec::new());
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        walk(&v, &mut secrets, &mut public);
    }
    secrets.retain(|s| !public.iter().any(|p| p.contains(s.as_str())));
    secrets
}

/// A private file (mode 0600) holding `data`, in a folder of this process.
fn private_file(data: &[u8]) -> std::path::PathBuf {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("cfz{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("f.json");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path).expect("the fuzz file can be written");
    f.write_all(data).expect("the fuzz file can be written");
    path
}

/// The device identity file: loads or is refused with an error that names
/// no secret from the file; a loaded identity signs and verifies.
pub fn identity_file(data: &[u8]) {
    let path = private_file(data);
    match DeviceIdentity::load(&path) {
        Ok(id) => {
            let sig = id.sign("payload");
            assert!(crate::gateway::identity::verify_signature(
                id.public_key_b64url(),
                "payload",
                &sig
            ));
        }
        Err(e) => {
            let shown = format!("{e} {e:?}");
            for s in secrets_in(data) {
                assert!(
                    !shown.contains(&s),
                    "the error shows a secret from the file"
                );
            }
        }
    }
}

/// The token store loader: loads or is refused with an error that names no
/// token from the file; every loaded entry can be found again.
pub fn token_store(data: &[u8]) {
    let path = private_file(data);
    match DeviceTokenStore::open(&path) {
        Ok(store) => {
            let _ = (store.len(), format!("{store:?}"));
            for s in secrets_in(data) {
                assert!(!format!("{store:?}").contains(&s), "Debug shows a token");
            }
        }
        Err(e) => {
            let shown = format!("{e} {e:?}");
            for s in secrets_in(data) {
                assert!(!shown.contains(&s), "the error shows a token from the file");
            }
        }
    }
}

/// A target's checks.
pub type Check = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and the corpus
/// folders call them.
pub const TARGETS: [(&str, Check); 7] = [
    ("frame_reader", frame_reader),
    ("close_frame", close_frame),
    ("upgrade_response", upgrade_response),
    ("gateway_frame", gateway_frame),
    ("gateway_handshake", gateway_handshake),
    ("identity_file", identity_file),
    ("token_store", token_store),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kept corpus input and every crash found so far, through its
    /// target's checks.
    #[test]
    fn corpus_and_regressions_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut ran = 0;
        for (name, check) in TARGETS {
            for kind in ["corpus", "regressions"] {
                let Ok(dir) = std::fs::read_dir(root.join(kind).join(name)) else {
                    continue;
                };
                for entry in dir.flatten() {
                    // (A file a running fuzzer just replaced is skipped.)
                    let Ok(data) = std::fs::read(entry.path()) else {
                        continue;
                    };
                    check(&data);
                    ran += 1;
                }
            }
        }
        assert!(ran > 0, "no corpus under {}", root.display());
    }

    /// The dependency lines of a manifest's `[dependencies]` and
    /// `[target.*.dependencies]` tables, as `(table, line)`, sorted.
    fn dependency_lines(manifest: &str) -> Vec<(String, String)> {
        let mut table = String::new();
        let mut out = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                table = line.to_string();
            } else if table.ends_with("dependencies]")
                && table != "[build-dependencies]"
                && !line.is_empty()
                && !line.starts_with('#')
            {
                out.push((table.clone(), line.to_string()));
            }
        }
        out.sort();
        out
    }

    /// fuzz/Cargo.toml builds src/lib.rs as a library of its own (the root
    /// crate is a cdylib only), so it must list the root's dependencies,
    /// with the same versions and features, less the Node-API ones.
    #[test]
    fn fuzz_manifest_builds_the_same_library() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
        let root: Vec<_> = dependency_lines(&read("Cargo.toml"))
            .into_iter()
            .filter(|(_, l)| !l.starts_with("napi"))
            .collect();
        let fuzz: Vec<_> = dependency_lines(&read("fuzz/Cargo.toml"))
            .into_iter()
            .filter(|(_, l)| !l.starts_with("libfuzzer-sys"))
            .collect();
        assert!(root.len() > 10, "{root:?}");
        assert_eq!(
            fuzz, root,
            "fuzz/Cargo.toml's dependencies differ from Cargo.toml's (less napi): copy the change over"
        );
        let fuzz_manifest = read("fuzz/Cargo.toml");
        assert!(fuzz_manifest.contains("path = \"../src/lib.rs\""));
        assert!(fuzz_manifest.contains("default = [\"fuzzing\"]"));
    }
}
