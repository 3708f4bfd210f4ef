//! Failed upgrades: which ones stop reconnecting for good, what to tell the
//! user, and how long a server may make the client wait.
//!
//! An upgrade answered 400, 401, 403, 404, 405, 410 or 426, or a server
//! certificate that fails verification, will be answered the same way next
//! time: retrying only loops (and a stale token retried in a loop gets an
//! account rate-limited or locked out). Those are final by default. 429 and
//! 503 may carry `Retry-After`; the next attempt then waits at least that
//! long (at most [`MAX_RETRY_AFTER`]), never less than the backoff would.

use std::time::Duration;

/// HTTP statuses that answer the upgrade in a way retrying cannot fix.
pub const FINAL_HANDSHAKE_STATUSES: [u16; 7] = [400, 401, 403, 404, 405, 410, 426];

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Statuses whose `Retry-After` is honoured.
const RETRY_AFTER_STATUSES: [u16; 2] = [429, 503];

/// If a failed upgrade is final by default, the message to stop with: what
/// happened, why this client stops, and what to do. `status` is the HTTP
/// status; `certificate_rejected` a TLS verification failure; `error` the
/// attempt's own message.
pub fn explain_final_handshake(
    status: Option<u16>,
    certificate_rejected: bool,
    error: &str,
) -> Option<String> {
    const STOP: &str = "This client is not reconnecting: the server would answer the same way \
        again, and retrying in a loop can get the credentials rate-limited or locked out.";
    if certificate_rejected {
        let next = if error.contains("tls fingerprint mismatch") {
            "if the gateway's certificate was renewed on purpose, pin the new one (tlsFingerprint; \
             openssl x509 -noout -fingerprint -sha256 prints it); otherwise something else is \
             answering at this address. Then create a new client."
        } else {
            "fix the certificate, or trust its CA (tls.ca or NODE_EXTRA_CA_CERTS), then create a \
             new client."
        };
        return Some(format!(
            "The server's TLS certificate was rejected: {error}. {STOP} Next step: {next}"
        ));
    }
    let status = status.filter(|s| FINAL_HANDSHAKE_STATUSES.contains(s))?;
    let next = match status {
        401 => {
            "the credentials (token, Authorization header, ticket in the URL) are missing, wrong \
             or expired: fix them, or pass a url or headers function that returns fresh ones \
             before every attempt"
        }
        403 => {
            "these credentials are not allowed here: check the account's permissions or the token's scope"
        }
        404 | 410 => "the URL's path is wrong or no longer served: check the URL",
        426 => {
            "the server wants another protocol or version: check the URL and the server's documentation"
        }
        _ => "the server refused the request as it is: check the URL, headers and subprotocols",
    };
    Some(format!(
        "The server refused the WebSocket upgrade: {error}. {STOP} Next step: {next}; then \
         create a new client (or pass isFinalHandshakeError to decide which failures are final)."
    ))
}

/// The wait before the next attempt after a failed upgrade: the backoff's
/// `delay`, or the server's `Retry-After` (429 and 503 only, capped at
/// [`MAX_RETRY_AFTER`]) when that is longer. Returns the wait, and the
/// server's ask when it set the wait.
pub fn wait_after_failure(
    delay: Duration,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> (Duration, Option<Duration>) {
    match (status, retry_after) {
        (Some(s), Some(ask)) if RETRY_AFTER_STATUSES.contains(&s) => {
            let ask = ask.min(MAX_RETRY_AFTER);
            if ask > delay {
                (ask, Some(ask))
            } else {
                (delay, None)
            }
        }
        _ => (delay, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_and_certificates_stop_with_a_next_step() {
        for s in FINAL_HANDSHAKE_STATUSES {
            let m = explain_final_handshake(Some(s), false, "unexpected HTTP")
                .unwrap_or_else(|| panic!("{s} is not final"));
            assert!(m.contains("Next step:"), "{m}");
            assert!(m.contains("not reconnecting"), "{m}");
        }
        assert!(
            explain_final_handshake(Some(401), false, "x")
                .unwrap()
                .contains("fresh ones")
        );
        for s in [429, 500, 502, 503, 504, 301, 418] {
            assert_eq!(explain_final_handshake(Some(s), false, "x"), None, "{s}");
        }
        assert_eq!(explain_final_handshake(None, false, "refused"), None);
        let m = explain_final_handshake(None, true, "unknown issuer").unwrap();
        assert!(
            m.contains("certificate") && m.contains("unknown issuer"),
            "{m}"
        );
    }

    #[test]
    fn retry_after_waits_longer_never_shorter_and_is_capped() {
        let s = Duration::from_secs;
        // The server asks for more than the backoff: its ask wins.
        assert_eq!(
            wait_after_failure(s(1), Some(429), Some(s(5))),
            (s(5), Some(s(5)))
        );
        assert_eq!(
            wait_after_failure(s(1), Some(503), Some(s(2))),
            (s(2), Some(s(2)))
        );
        // Never sooner than the backoff.
        assert_eq!(
            wait_after_failure(s(8), Some(429), Some(s(2))),
            (s(8), None)
        );
        // Capped at five minutes.
        assert_eq!(
            wait_after_failure(s(1), Some(429), Some(s(86_400))),
            (MAX_RETRY_AFTER, Some(MAX_RETRY_AFTER))
        );
        // Only 429 and 503, and only with the header.
        assert_eq!(
            wait_after_failure(s(1), Some(500), Some(s(5))),
            (s(1), None)
        );
        assert_eq!(wait_after_failure(s(1), Some(429), None), (s(1), None));
        assert_eq!(wait_after_failure(s(1), None, None), (s(1), None));
    }
}
