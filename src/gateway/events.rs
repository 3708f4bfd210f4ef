//! What the gateway protocol reports to JS (through the session's inbox, as
//! [`Event::Gateway`](crate::session::Event::Gateway)).
//!
//! Raw JSON parts of a frame (a payload, an error) cross as [`JsonText`]:
//! a range of the received frame, never copied or re-encoded here; JS
//! parses only that part.

use std::ops::Range;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::error::GatewayError;
use super::frames::StateVersion;
use super::seq::SeqObservation;

/// The client's state, as JS sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Dialing for the first time.
    Connecting,
    /// The socket is open; waiting for the challenge or hello-ok.
    Handshaking,
    /// hello-ok received; requests are sent.
    Ready,
    /// The connection was lost; waiting to dial again, or dialing.
    Reconnecting,
    /// A connect failure that retrying cannot fix; waiting for `resume()`.
    Paused,
    /// Stopped for good.
    Closed,
}

impl ClientState {
    /// The JS name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Connecting => "connecting",
            ClientState::Handshaking => "handshaking",
            ClientState::Ready => "ready",
            ClientState::Reconnecting => "reconnecting",
            ClientState::Paused => "paused",
            ClientState::Closed => "closed",
        }
    }
}

/// A part of a received frame that is itself JSON (a payload, an error).
#[derive(Clone, PartialEq)]
pub struct JsonText {
    frame: Utf8Bytes,
    range: Range<usize>,
}

impl JsonText {
    /// The part of `frame` that `part` (a slice of it) covers.
    pub(crate) fn within(frame: &Utf8Bytes, part: &str) -> JsonText {
        let start = part.as_ptr() as usize - frame.as_str().as_ptr() as usize;
        debug_assert!(start + part.len() <= frame.len());
        JsonText {
            frame: frame.clone(),
            range: start..start + part.len(),
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.frame.as_str()[self.range.clone()]
    }

    /// The whole frame this part is in.
    pub fn whole(frame: &Utf8Bytes) -> JsonText {
        JsonText {
            frame: frame.clone(),
            range: 0..frame.len(),
        }
    }
}

impl std::fmt::Debug for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonText({} bytes)", self.range.len())
    }
}

/// One event of the gateway protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    /// The client's state changed.
    State(ClientState),
    /// hello-ok: the connection is ready.
    Hello {
        /// The negotiated protocol.
        protocol: u32,
        /// `policy.maxPayload`.
        max_payload: u64,
        /// `policy.tickIntervalMs`.
        tick_interval_ms: u64,
        /// The highest `stateVersion` known after the snapshot.
        state_version: Option<StateVersion>,
        /// The hello-ok payload.
        payload: JsonText,
    },
    /// The answer to a request in flight.
    Response {
        /// The request id.
        id: String,
        /// Whether the gateway ran it (`ok`).
        ok: bool,
        /// A provisional `status: "accepted"` answer of an `expectFinal`
        /// request: the final one follows.
        accepted: bool,
        /// `payload`, when `ok`.
        payload: Option<JsonText>,
        /// `error`, when not `ok`.
        error: Option<JsonText>,
    },
    /// A server event after hello-ok.
    Event {
        /// The event name.
        event: String,
        /// Its `seq`, if any.
        seq: Option<u64>,
        /// Its `stateVersion`, if any.
        state_version: Option<StateVersion>,
        /// Its payload, if any.
        payload: Option<JsonText>,
        /// The whole frame: JS takes the event from it with one
        /// `JSON.parse`, which is cheaper than building the object through
        /// Node-API property by property.
        frame: JsonText,
    },
    /// A request failed here (timeout, closed, too large, paused, stopped).
    Reject {
        /// The request id.
        id: String,
        /// Why.
        error: GatewayError,
    },
    /// `seq` was not the next one (gap, duplicate, backwards).
    Seq(SeqObservation),
    /// The highest `stateVersion` moved.
    StateVersion(StateVersion),
    /// The connection was lost (or given up on by the tick watchdog).
    Disconnected {
        /// The close code (the client's own for a local close).
        code: u16,
        /// The close reason.
        reason: String,
        /// Whether the server ended it.
        by_server: bool,
        /// Whether hello-ok had arrived on it.
        after_hello: bool,
    },
    /// Connecting failed in a way retrying cannot fix; `resume()` tries again.
    Paused {
        /// The close code of that connection.
        code: u16,
        /// Its close reason.
        reason: String,
        /// `details.code` of the connect error (e.g. `PAIRING_REQUIRED`).
        detail_code: String,
        /// The gateway's message.
        message: String,
        /// What to do about it.
        next_step: String,
        /// The connect error.
        error: GatewayError,
    },
}
