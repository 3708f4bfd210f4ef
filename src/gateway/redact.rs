//! Secret redaction for `Debug` output and logs, and [`clip`] for quoting
//! untrusted text in messages.
//!
//! Gateway payloads carry bearer secrets (`hello-ok.auth.deviceToken`,
//! `connect.params.auth.*`, `deviceTokens[]`). Every `Debug` impl in this
//! module tree that prints a JSON value goes through [`redact_secrets`], so a
//! `{:?}` never leaks a token, a password or a private key.

use serde_json::{Map, Value};

/// `s` cut to `max` characters, with `…` when cut: untrusted text quoted in
/// a message stays short.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// `url` for an error message: without user info (`user:pass@`) and with
/// the whole query replaced by `?<redacted>` (a query often carries a token
/// under a name no list can guess, e.g. `?t=…`); the fragment is dropped.
/// Scheme, host, port and path stay, so the message still says where.
pub(crate) fn url_for_message(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let (base, rest) = url.split_at(end);
    let base = match base.split_once("://") {
        Some((scheme, after)) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_owned(),
    };
    if rest.starts_with('?') {
        format!("{base}?{REDACTED}")
    } else {
        base
    }
}

/// The placeholder written in place of a secret value.
pub const REDACTED: &str = "<redacted>";

/// Whether an object key names a secret (case-insensitive): anything that
/// contains `token`, `password`, `secret`, `privatekey` or `apikey`.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    ["token", "password", "secret", "privatekey", "apikey"]
        .iter()
        .any(|needle| lower.contains(needle))
}

/// A deep copy of `value` in which the value of every secret-named key
/// ([`is_secret_key`]) is replaced by [`REDACTED`], at any depth.
pub fn redact_secrets(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, inner) in map {
                let redacted = if is_secret_key(key) && !inner.is_null() {
                    Value::String(REDACTED.to_owned())
                } else {
                    redact_secrets(inner)
                };
                out.insert(key.clone(), redacted);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(redact_secrets).collect()),
        other => other.clone(),
    }
}

/// `Debug` helper for an optional secret: shows whether it is set, never the value.
pub(crate) fn secret_presence(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_nested_secret_keys() {
        let v = json!({
            "auth": {"token": "t0p", "deviceToken": "dt", "scopes": ["operator.read"]},
            "deviceTokens": [{"token": "x"}],
            "list": [{"password": "pw", "ok": 1}],
            "privateKey": "seed",
            "missing": null
        });
        let r = redact_secrets(&v).to_string();
        for secret in ["t0p", "\"dt\"", "\"x\"", "pw", "seed"] {
            assert!(!r.contains(secret), "{secret} leaked in {r}");
        }
        assert!(r.contains("operator.read"));
        assert!(r.contains("\"ok\":1"));
    }

    #[test]
    fn url_for_message_drops_userinfo_and_query() {
        assert_eq!(
            url_for_message("wss://u:p@h:1/ws/1?t=abc&x=1#frag"),
            "wss://h:1/ws/1?<redacted>"
        );
        assert_eq!(url_for_message("ws://h:80/ws"), "ws://h:80/ws");
        assert_eq!(url_for_message("ws://u@h#f"), "ws://h");
        assert_eq!(url_for_message("not a url?token=z"), "not a url?<redacted>");
    }

    #[test]
    fn secret_key_detection() {
        assert!(is_secret_key("bootstrapToken"));
        assert!(is_secret_key("PASSWORD"));
        assert!(!is_secret_key("scopes"));
        assert!(!is_secret_key("signature"));
    }
}
