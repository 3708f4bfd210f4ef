//! Close-code policy: which close codes stop reconnecting for good, and what
//! every close code means in plain English.
//!
//! A close code is "final" when reconnecting cannot help, or would do harm.
//! The default final set is 1002, 1003, 1007, 1008, 1009 (the client is doing
//! something the server will refuse again) and 4001 and 4003 (replaced by
//! another client with the same identity; forbidden). Retrying after 4001 is
//! what starts a kick war: two clients with one identity replacing each other
//! forever.
//!
//! [`describe_close_code`] is a short table of meanings, shared with the CLI.
//! [`explain_final`] is the message shown when the client stops.

/// The close codes that stop reconnecting by default.
pub const DEFAULT_FINAL_CODES: [u16; 7] = [1002, 1003, 1007, 1008, 1009, 4001, 4003];

/// Which server close codes are final (no reconnect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosePolicy {
    final_codes: Vec<u16>,
}

impl Default for ClosePolicy {
    fn default() -> Self {
        Self {
            final_codes: DEFAULT_FINAL_CODES.to_vec(),
        }
    }
}

impl ClosePolicy {
    /// The default policy ([`DEFAULT_FINAL_CODES`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the whole list of final codes. An empty list means every close
    /// is retried (the flapping guard still applies).
    pub fn with_final_codes(mut self, codes: impl IntoIterator<Item = u16>) -> Self {
        let mut codes: Vec<u16> = codes.into_iter().collect();
        codes.sort_unstable();
        codes.dedup();
        self.final_codes = codes;
        self
    }

    /// The final codes, sorted.
    pub fn final_codes(&self) -> &[u16] {
        &self.final_codes
    }

    /// Whether a close with `code` from the server stops reconnecting.
    pub fn is_final(&self, code: u16) -> bool {
        self.final_codes.contains(&code)
    }
}

/// Formats the server's reason for a message: `"Replaced"` in quotes, or
/// `no reason given`.
fn quoted_reason(reason: &str) -> String {
    if reason.is_empty() {
        "no reason given".to_string()
    } else {
        format!("reason \"{reason}\"")
    }
}

/// A plain-English message for a terminal stop on close `code` with the
/// server's `reason`: what happened, why this client is not reconnecting, and
/// what to do.
pub fn explain_final(code: u16, reason: &str) -> String {
    let head = format!(
        "The server closed the connection with code {code} ({}).",
        quoted_reason(reason)
    );
    let body = match code {
        4001 => {
            "Another client connected with the same identity, and the server closed this one \
             to make room for it. This client is not reconnecting: reconnecting would kick the \
             other client off, it would reconnect and kick this one off, and so on forever (a \
             kick war). Stop the other client, or give this one its own identity."
        }
        4003 => {
            "The server refused this client (forbidden): its identity or credentials are not \
             allowed to connect. This client is not reconnecting, because the server would \
             refuse it again. Check the token, the identity and its permissions on the server."
        }
        1002 => {
            "Protocol error: the server says this client broke the WebSocket protocol. This \
             client is not reconnecting, because it would fail the same way. A proxy between \
             the client and the server may be altering frames; otherwise report it with the \
             server log."
        }
        1003 => {
            "Unsupported data: the server does not accept the kind of message this client sent \
             (for example binary where it expects text, or the other way round). This client \
             is not reconnecting. Send the message type the server expects."
        }
        1007 => {
            "Invalid payload: a message did not match its type (for example a text message \
             that is not valid UTF-8, or content the server could not parse). This client is \
             not reconnecting, because the same messages would be refused again. Fix the \
             messages being sent."
        }
        1008 => {
            "Policy violation: the server refused this client under its rules, most often \
             because authentication failed (a missing, wrong or expired token, or an origin \
             that is not allowed). This client is not reconnecting, because it would be \
             refused again. Check the credentials and the server log."
        }
        1009 => {
            "Message too big: this client sent a message larger than the server accepts. This \
             client is not reconnecting, because the same message would be refused again. \
             Shrink or split the messages, or raise the server's message size limit."
        }
        _ => {
            return format!(
                "{head} That code means: {}. It is configured as final, so this client is not \
                 reconnecting. Check the server log for why it closed the connection.",
                describe_close_code(code)
            );
        }
    };
    format!("{head} {body}")
}

/// The short meaning of a close code, for messages and the CLI.
pub fn describe_close_code(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away: the server is shutting down or the peer is leaving",
        1002 => "protocol error: the peer broke the WebSocket protocol",
        1003 => "unsupported data: a message type the peer does not accept",
        1004 => "reserved (not used)",
        1005 => "no status code: the close frame carried no code",
        1006 => "no close frame: the TCP connection dropped or was reset; see the server log",
        1007 => "invalid payload data: a message did not match its type (e.g. bad UTF-8)",
        1008 => "policy violation: refused by the server's rules (often authentication)",
        1009 => "message too big: a message exceeded the peer's size limit",
        1010 => "mandatory extension: an extension the client required was not agreed",
        1011 => "internal error: the server hit an unexpected condition",
        1012 => "service restart: the server is restarting; reconnect later",
        1013 => "try again later: the server is overloaded or starting",
        1014 => "bad gateway: a proxy got an invalid response from the upstream server",
        1015 => "TLS handshake failed",
        4001 => "application-defined; often: replaced by another connection with the same identity",
        4003 => "application-defined; often: forbidden (identity or credentials not allowed)",
        0..=999 => "invalid close code (below 1000)",
        1016..=2999 => "reserved for the WebSocket standard (unassigned)",
        3000..=3999 => "registered for libraries and frameworks",
        4000..=4999 => "application-defined",
        _ => "invalid close code (above 4999)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_final_set() {
        let p = ClosePolicy::default();
        for c in [1002, 1003, 1007, 1008, 1009, 4001, 4003] {
            assert!(p.is_final(c), "{c}");
        }
        for c in [1000, 1001, 1005, 1006, 1011, 1012, 1013, 4000, 4002] {
            assert!(!p.is_final(c), "{c}");
        }
        assert_eq!(ClosePolicy::new(), p);
    }

    #[test]
    fn builder_replaces_the_list() {
        let p = ClosePolicy::new().with_final_codes([4999, 1008, 4999]);
        assert_eq!(p.final_codes(), &[1008, 4999]);
        assert!(!p.is_final(4001));
        assert!(p.is_final(4999));
        assert!(
            ClosePolicy::new()
                .with_final_codes([])
                .final_codes()
                .is_empty()
        );
    }

    #[test]
    fn replaced_message_is_plain() {
        let m = explain_final(4001, "Replaced");
        for needle in [
            "4001",
            "\"Replaced\"",
            "Another client connected with the same identity",
            "not reconnecting",
            "kick war",
            "Stop the other client",
            "its own identity",
        ] {
            assert!(m.contains(needle), "missing {needle:?} in {m}");
        }
    }

    #[test]
    fn every_default_final_code_has_a_specific_message() {
        let generic = explain_final(4999, "x");
        assert!(generic.contains("configured as final"), "{generic}");
        for c in DEFAULT_FINAL_CODES {
            let m = explain_final(c, "why");
            assert!(m.contains(&c.to_string()) && m.contains("\"why\""), "{m}");
            assert!(!m.contains("configured as final"), "{m}");
            assert!(m.contains("not reconnecting"), "{m}");
        }
        assert!(explain_final(1009, "").contains("raise the server's message size limit"));
        assert!(explain_final(1008, "").contains("no reason given"));
    }

    #[test]
    fn describes_well_known_codes() {
        for c in 1000..=1015 {
            assert!(!describe_close_code(c).is_empty());
        }
        assert!(describe_close_code(1005).contains("no status code"));
        assert!(describe_close_code(1006).contains("TCP connection dropped or was reset"));
        assert!(describe_close_code(1012).contains("service restart"));
        assert!(describe_close_code(1013).contains("try again later"));
        assert!(describe_close_code(4001).contains("same identity"));
        assert_eq!(describe_close_code(4500), "application-defined");
        assert!(describe_close_code(3000).contains("libraries"));
        assert!(describe_close_code(2000).contains("reserved"));
        assert!(describe_close_code(999).contains("invalid"));
        assert!(describe_close_code(5000).contains("invalid"));
    }
}
