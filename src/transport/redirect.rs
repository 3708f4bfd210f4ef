//! Redirects of the upgrade request (`followRedirects`, `maxRedirects`, as
//! in `ws`).
//!
//! A 301, 302, 303, 307 or 308 answer with a `Location` is followed when
//! asked: the location is resolved against the current URL (`http:` becomes
//! `ws:` and `https:` becomes `wss:`), and the dial starts over there,
//! within the same `handshakeTimeout`. Rules that hold on every hop:
//! - `wss:` is never downgraded to `ws:`;
//! - once a hop goes to a different host (host and port, as `ws` compares
//!   them), `Authorization`, `Cookie` and `Proxy-Authorization` headers are
//!   no longer sent (a proxy's own credentials only ever go to the proxy);
//! - more than `maxRedirects` hops is an error.

use super::error::{ConnectError, ConnectErrorKind as Kind};

/// Statuses that redirect.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Headers never sent to a host other than the original one.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Drops the credential headers from `headers`.
pub fn strip_credentials(headers: &mut Vec<(String, String)>) {
    headers.retain(|(n, _)| !CREDENTIAL_HEADERS.contains(&n.to_ascii_lowercase().as_str()));
}

/// `scheme://authority` and the rest of an absolute URL.
fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// The authority without userinfo, lower-cased: what "the same host" means.
pub fn host_key(url: &str) -> String {
    let authority = split(url).map_or("", |(_, a, _)| a);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    authority.to_ascii_lowercase()
}

/// `location` resolved against `base` as a `ws:`/`wss:` URL, refusing a
/// downgrade from `wss:`.
pub fn resolve(base: &str, location: &str) -> Result<String, ConnectError> {
    let bad = |why: String| ConnectError::new(Kind::HttpStatus, why);
    let location = location.trim();
    let (base_scheme, base_authority, base_rest) =
        split(base).ok_or_else(|| bad(format!("internal error: {base:?} is not absolute")))?;
    let resolved = if let Some((scheme, authority, rest)) = split(location).filter(|(s, _, _)| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => "ws",
            "wss" | "https" => "wss",
            other => {
                return Err(bad(format!(
                    "the server redirected to {location:?}, whose scheme {other:?} is not ws, wss, http or https"
                )));
            }
        };
        format!("{scheme}://{authority}{rest}")
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{base_scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{base_scheme}://{base_authority}{location}")
    } else {
        // A relative path: next to the last segment of the base path.
        let path = base_rest.split(['?', '#']).next().unwrap_or("");
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        if location.starts_with('?') {
            format!("{base_scheme}://{base_authority}{path}{location}")
        } else {
            format!("{base_scheme}://{base_authority}{dir}/{location}")
        }
    };
    if base_scheme.eq_ignore_ascii_case("wss") && resolved.starts_with("ws://") {
        return Err(bad(format!(
            "the server redirected a wss: connection to {location:?}, an unencrypted ws: URL; clawsock never downgrades a redirect from wss: to ws:"
        )));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_like_urls() {
        let b = "ws://a.example:1/x/y?q=1";
        assert_eq!(resolve(b, "ws://b:2/z").unwrap(), "ws://b:2/z");
        assert_eq!(resolve(b, "https://b/z").unwrap(), "wss://b/z");
        assert_eq!(resolve(b, "http://b").unwrap(), "ws://b");
        assert_eq!(resolve(b, "//c:3/p").unwrap(), "ws://c:3/p");
        assert_eq!(resolve(b, "/p?x=2").unwrap(), "ws://a.example:1/p?x=2");
        assert_eq!(resolve(b, "z").unwrap(), "ws://a.example:1/x/z");
        assert!(resolve(b, "ftp://b/").is_err());
        let e = resolve("wss://a/", "ws://a/").err().unwrap();
        assert!(e.message.contains("never downgrades"), "{e}");
        assert!(resolve("wss://a/", "http://a/").is_err());
        assert_eq!(resolve("wss://a/", "/b").unwrap(), "wss://a/b");
    }

    #[test]
    fn hosts_compare_by_host_and_port() {
        assert_eq!(host_key("ws://u:p@Localhost:80/x"), "localhost:80");
        assert_ne!(
            host_key("ws://127.0.0.1:80/"),
            host_key("ws://127.0.0.2:80/")
        );
        let mut h = vec![
            ("Authorization".to_string(), "x".to_string()),
            ("cookie".to_string(), "c".to_string()),
            ("X-Other".to_string(), "o".to_string()),
        ];
        strip_credentials(&mut h);
        assert_eq!(h, [("X-Other".to_string(), "o".to_string())]);
    }
}
