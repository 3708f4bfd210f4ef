//! The diagnostics behind the `clawsock` command (`bin/clawsock.js`).
//!
//! - this module: pure tables and rules shared by the CLI and the bindings:
//!   what a close code means ([`explain_close_code`], [`close_code_table`]),
//!   which exit code a failure gets ([`ExitClass`]), and how URLs and
//!   headers are shown without their secrets ([`redact_url`],
//!   [`is_secret_header`]).
//! - [`probe`]: one connection, step by step (DNS, TCP, TLS, HTTP upgrade),
//!   with timings, the server certificate, an optional message exchange and
//!   the close.
//! - [`log`]: `CLAWSOCK_LOG` → `tracing` to stderr, set up once per process;
//!   [`log_filter`] parses the filter, [`log_sink`] formats and writes lines.

pub mod log;
pub mod log_filter;
pub mod log_sink;
pub mod probe;

use serde::Serialize;

use crate::reconnect::policy::describe_close_code;
use crate::transport::ConnectErrorKind;

/// The meaning of a close code on an OpenClaw gateway socket (protocol
/// reference §11), when it differs from or sharpens the generic meaning.
pub fn openclaw_close_meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => {
            "OpenClaw: the gateway ended the handshake (handshake timeout, an unparseable \
             first frame, or the hello could not be sent)"
        }
        1002 => "OpenClaw: protocol mismatch (no protocol version in common)",
        1008 => {
            "OpenClaw: refused during the handshake (unauthorized, pairing required, device \
             identity or signature problem, origin not allowed), or later a slow consumer or \
             repeated unauthorized calls; the reason says which"
        }
        1009 => "OpenClaw: a frame before hello was over 64 KiB, or a message over 25 MiB",
        1011 => "OpenClaw: the gateway could not load its message handler",
        1012 => "OpenClaw: the gateway is stopping or restarting; reconnect",
        1013 => "OpenClaw: the gateway is starting or restarting; retry after retryAfterMs",
        4000 => {
            "OpenClaw: closed by the client itself (tick timeout or connect timeout), never \
             sent by the gateway"
        }
        4001 => {
            "OpenClaw: credentials rotated or revoked (gateway auth changed, device removed, \
             client invalidated); re-authenticate"
        }
        _ => return None,
    })
}

/// Where a close code sits in the registry.
pub fn close_code_category(code: u16) -> &'static str {
    match code {
        1000..=1015 => "standard",
        1016..=2999 => "reserved",
        3000..=3999 => "registered",
        4000..=4999 => "application",
        _ => "invalid",
    }
}

/// One close code, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseExplanation {
    /// The code.
    pub code: u16,
    /// `standard`, `reserved`, `registered`, `application` or `invalid`.
    pub category: &'static str,
    /// The generic meaning (RFC 6455 / IANA, or common practice for 4xxx).
    pub meaning: &'static str,
    /// What an OpenClaw gateway means by it, if it uses it.
    pub openclaw: Option<&'static str>,
    /// What to do about it, for the codes where that is clear.
    pub next_step: Option<&'static str>,
}

/// What to do after a close with `code`, when that is clear.
pub fn close_next_step(code: u16) -> Option<&'static str> {
    Some(match code {
        1006 => {
            "nothing was said by the server: look at the server log (or a proxy in between) \
             for why the TCP connection ended"
        }
        1008 => "check the credentials (token, origin, identity) and the server log",
        1009 => "send smaller messages, or raise the server's message size limit",
        1011 => "the server failed: look at the server log",
        1012 | 1013 => "the server is restarting or busy: reconnect after a short wait",
        4001 => {
            "another client is probably connected with the same identity (agent id, device): \
             stop the other client or give this one its own identity; retrying in a loop \
             starts a kick war"
        }
        4003 => "the server refused this identity or these credentials: check them",
        _ => return None,
    })
}

/// Explains `code` (generic meaning plus the OpenClaw meaning, if any).
pub fn explain_close_code(code: u16) -> CloseExplanation {
    CloseExplanation {
        code,
        category: close_code_category(code),
        meaning: describe_close_code(code),
        openclaw: openclaw_close_meaning(code),
        next_step: close_next_step(code),
    }
}

/// Every code with a specific meaning: 1000–1015, then the application
/// codes that have one (4000, 4001, 4003), in order.
pub fn close_code_table() -> Vec<CloseExplanation> {
    (1000..=1015)
        .chain([4000, 4001, 4003])
        .map(explain_close_code)
        .collect()
}

/// One line for a close: `1006 (no close frame: ...)`, with the reason when
/// there is one, and the OpenClaw meaning when `gateway` is set.
pub fn describe_close(code: u16, reason: &str, gateway: bool) -> String {
    let e = explain_close_code(code);
    let mut s = format!("{code} {}", e.meaning);
    if !reason.is_empty() {
        s.push_str(&format!(" (reason: \"{reason}\")"));
    }
    if gateway && let Some(o) = e.openclaw {
        s.push_str(&format!("; {o}"));
    }
    s
}

/// The failure classes of the CLI, one exit code each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitClass {
    /// Everything worked.
    Ok,
    /// A bug or an unexpected failure inside clawsock.
    Internal,
    /// Bad command line (unknown option, bad URL, bad JSON).
    Usage,
    /// The host name did not resolve.
    Dns,
    /// TCP refused, unreachable or reset before the upgrade.
    Tcp,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The server answered the upgrade with something other than 101.
    HttpStatus,
    /// A step took longer than `--timeout`.
    Timeout,
    /// The connection closed abnormally or the server closed it.
    Closed,
    /// The gateway refused the credentials, or pairing is required.
    GatewayAuth,
    /// A gateway request failed.
    GatewayRequest,
}

impl ExitClass {
    /// Every class, in exit-code order.
    pub const ALL: [ExitClass; 11] = [
        ExitClass::Ok,
        ExitClass::Internal,
        ExitClass::Usage,
        ExitClass::Dns,
        ExitClass::Tcp,
        ExitClass::Tls,
        ExitClass::HttpStatus,
        ExitClass::Timeout,
        ExitClass::Closed,
        ExitClass::GatewayAuth,
        ExitClass::GatewayRequest,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Ok => 0,
            ExitClass::Internal => 1,
            ExitClass::Usage => 2,
            ExitClass::Dns => 3,
            ExitClass::Tcp => 4,
            ExitClass::Tls => 5,
            ExitClass::HttpStatus => 6,
            ExitClass::Timeout => 7,
            ExitClass::Closed => 8,
            ExitClass::GatewayAuth => 9,
            ExitClass::GatewayRequest => 10,
        }
    }

    /// A stable machine name (`--json`'s `failure.class`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExitClass::Ok => "ok",
            ExitClass::Internal => "internal",
            ExitClass::Usage => "usage",
            ExitClass::Dns => "dns",
            ExitClass::Tcp => "tcp",
            ExitClass::Tls => "tls",
            ExitClass::HttpStatus => "http-status",
            ExitClass::Timeout => "timeout",
            ExitClass::Closed => "closed",
            ExitClass::GatewayAuth => "gateway-auth",
            ExitClass::GatewayRequest => "gateway-request",
        }
    }

    /// One line for `clawsock --help`.
    pub fn description(self) -> &'static str {
        match self {
            ExitClass::Ok => "success",
            ExitClass::Internal => "internal error (a bug in clawsock; please report it)",
            ExitClass::Usage => "usage: bad command line, URL, header or JSON",
            ExitClass::Dns => "DNS: the host name did not resolve",
            ExitClass::Tcp => "TCP: connection refused, unreachable or reset before the upgrade",
            ExitClass::Tls => "TLS: handshake or certificate verification failed",
            ExitClass::HttpStatus => {
                "HTTP: the server answered the upgrade with a status other than 101"
            }
            ExitClass::Timeout => "timeout: a step took longer than --timeout",
            ExitClass::Closed => {
                "closed: the connection dropped (1006) or the server closed it with a code other than 1000"
            }
            ExitClass::GatewayAuth => {
                "gateway auth: credentials refused or pairing required (reconnecting is paused)"
            }
            ExitClass::GatewayRequest => "gateway request: the request failed or was refused",
        }
    }

    /// The class of a failed connection attempt.
    pub fn from_connect_error(kind: ConnectErrorKind) -> ExitClass {
        match kind {
            ConnectErrorKind::InvalidUrl => ExitClass::Usage,
            ConnectErrorKind::Dns => ExitClass::Dns,
            ConnectErrorKind::ConnectionRefused
            | ConnectErrorKind::Tcp
            | ConnectErrorKind::Proxy => ExitClass::Tcp,
            ConnectErrorKind::Tls => ExitClass::Tls,
            ConnectErrorKind::HttpStatus | ConnectErrorKind::Handshake => ExitClass::HttpStatus,
            ConnectErrorKind::Timeout => ExitClass::Timeout,
            ConnectErrorKind::Aborted => ExitClass::Internal,
        }
    }

    /// The class of a connection that ended with `code`; `by_client` is
    /// true when this client started the close (then only 1000 counts as
    /// success, and a clean close of ours is success).
    pub fn from_close(code: u16, by_client: bool, was_clean: bool) -> ExitClass {
        match code {
            1000 => ExitClass::Ok,
            _ if by_client && was_clean => ExitClass::Ok,
            _ => ExitClass::Closed,
        }
    }
}

/// Whether a request header carries a secret: its value is never printed
/// or logged. Matches `Authorization`, `Proxy-Authorization`, `Cookie`,
/// `Set-Cookie`, and any name containing `token`, `secret`, `password`,
/// `key` (except the WebSocket handshake's own `Sec-WebSocket-Key`), `auth`
/// or `session`.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n == "sec-websocket-key" {
        return true; // not a secret, but nothing to show either
    }
    n == "cookie"
        || n == "set-cookie"
        || [
            "auth",
            "token",
            "secret",
            "password",
            "key",
            "session",
            "signature",
        ]
        .iter()
        .any(|s| n.contains(s))
}

/// `value` for display: the value itself, or `<redacted>` for a secret
/// header ([`is_secret_header`]).
pub fn display_header_value(name: &str, value: &str) -> String {
    if is_secret_header(name) {
        crate::gateway::redact::REDACTED.to_string()
    } else {
        value.to_string()
    }
}

/// `url` for display: user info (`user:pass@`) and the values of query
/// parameters whose names look secret (`token`, `key`, `password`,
/// `secret`, `auth`, `sig`...) are replaced by `<redacted>`. Anything that
/// does not parse is shown with its whole query removed.
pub fn redact_url(url: &str) -> String {
    const R: &str = crate::gateway::redact::REDACTED;
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // user info: scheme://user:pass@host/...
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{R}@{host}{path}"),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    let Some(query) = query else { return base };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}={R}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "pass",
        "auth",
        "sig",
        "session",
        "credential",
        "code",
    ]
    .iter()
    .any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_the_standard_range_and_the_incident_code() {
        let t = close_code_table();
        assert_eq!(t.first().unwrap().code, 1000);
        assert!(t.iter().any(|e| e.code == 1015));
        let e1006 = explain_close_code(1006);
        assert_eq!(
            e1006.meaning,
            "no close frame: the TCP connection dropped or was reset; see the server log"
        );
        let e4001 = explain_close_code(4001);
        assert!(
            e4001
                .meaning
                .contains("often: replaced by another connection with the same identity")
        );
        assert_eq!(e4001.category, "application");
        assert!(e4001.openclaw.unwrap().contains("credentials rotated"));
        assert_eq!(explain_close_code(4500).meaning, "application-defined");
        assert!(explain_close_code(4500).openclaw.is_none());
        assert!(
            explain_close_code(1012)
                .openclaw
                .unwrap()
                .contains("restarting")
        );
        assert!(
            explain_close_code(4000)
                .openclaw
                .unwrap()
                .contains("client itself")
        );
        assert_eq!(explain_close_code(999).category, "invalid");
    }

    #[test]
    fn close_lines() {
        assert_eq!(
            describe_close(4001, "Replaced", false),
            "4001 application-defined; often: replaced by another connection with the same identity (reason: \"Replaced\")"
        );
        assert!(describe_close(1012, "", true).contains("OpenClaw: the gateway is stopping"));
        assert!(!describe_close(1012, "", false).contains("OpenClaw"));
    }

    #[test]
    fn exit_codes_are_distinct_and_stable() {
        let mut codes: Vec<u8> = ExitClass::ALL.iter().map(|c| c.code()).collect();
        codes.dedup();
        assert_eq!(codes, (0..=10).collect::<Vec<u8>>());
        assert_eq!(
            ExitClass::from_connect_error(ConnectErrorKind::ConnectionRefused).code(),
            4
        );
        assert_eq!(
            ExitClass::from_connect_error(ConnectErrorKind::Tls).code(),
            5
        );
        assert_eq!(
            ExitClass::from_connect_error(ConnectErrorKind::HttpStatus).code(),
            6
        );
        assert_eq!(
            ExitClass::from_connect_error(ConnectErrorKind::Timeout).code(),
            7
        );
        assert_eq!(ExitClass::from_close(1006, false, false).code(), 8);
        assert_eq!(ExitClass::from_close(4001, false, true).code(), 8);
        assert_eq!(ExitClass::from_close(1000, false, true).code(), 0);
        assert_eq!(ExitClass::from_close(1000, true, true).code(), 0);
        for c in ExitClass::ALL {
            assert!(!c.description().is_empty());
        }
    }

    #[test]
    fn secrets_are_not_displayed() {
        for h in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "X-Auth-Token",
            "x-openclaw-token",
        ] {
            assert!(is_secret_header(h), "{h}");
            assert_eq!(display_header_value(h, "s3cr3t"), "<redacted>");
        }
        assert!(!is_secret_header("X-Agent"));
        assert_eq!(display_header_value("X-Agent", "7"), "7");
        assert_eq!(
            redact_url("wss://u:p@h:1/ws/1?token=abc&agent=7#x"),
            "wss://<redacted>@h:1/ws/1?token=<redacted>&agent=7#x"
        );
        assert_eq!(redact_url("ws://h/ws"), "ws://h/ws");
        assert_eq!(
            redact_url("ws://h/ws?access_token=z&apiKey=y"),
            "ws://h/ws?access_token=<redacted>&apiKey=<redacted>"
        );
    }
}
