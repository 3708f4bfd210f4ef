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
    fn secret_key_detection() {
        assert!(is_secret_key("bootstrapToken"));
        assert!(is_secret_key("PASSWORD"));
        assert!(!is_secret_key("scopes"));
        assert!(!is_secret_key("signature"));
    }
}
