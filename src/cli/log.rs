//! Structured logs from the Rust core: `CLAWSOCK_LOG` → `tracing` → stderr.
//!
//! `CLAWSOCK_LOG=info|debug|trace` (or `warn`, `error`) turns on the
//! `clawsock` target at that level; a value with `=` or `,` is used as a
//! list of `target=level` directives (`tracing-subscriber`'s `Targets`
//! syntax, e.g. `clawsock::transport=trace,clawsock=info`; see
//! [`log_filter`](super::log_filter)). Lines are written by
//! [`log_sink`](super::log_sink) in `tracing-subscriber`'s `fmt` format.
//! Unset, empty, `0` or `off` means no logs. The subscriber is installed at
//! most once per process; a later call changes nothing and says so.
//!
//! Secrets: the core never passes a header value, token, password or key to
//! `tracing` (header names only; gateway payloads go through
//! `gateway::redact`). The test `__test__/cli.test.js` checks this end to end.

use std::sync::Mutex;

use tracing::level_filters::LevelFilter;

use super::log_filter::Filter;
use super::log_sink::{LineLog, stderr_writer};

/// The environment variable that turns logging on.
pub const ENV_VAR: &str = "CLAWSOCK_LOG";

static INSTALLED: Mutex<Option<String>> = Mutex::new(None);

/// The filter directive for a `CLAWSOCK_LOG` value, or `None` for "off".
pub fn directive_for(value: &str) -> Option<String> {
    let v = value.trim();
    match v.to_ascii_lowercase().as_str() {
        "" | "0" | "off" | "false" | "none" => None,
        "1" | "true" | "on" => Some("clawsock=info".into()),
        level @ ("error" | "warn" | "info" | "debug" | "trace") => {
            Some(format!("clawsock={level}"))
        }
        _ if v.contains('=') || v.contains(',') => Some(v.to_string()),
        _ => Some(format!("clawsock={v}")),
    }
}

/// The filter for a directive from [`directive_for`]: a level, or
/// `target=level` directives separated by commas.
pub fn filter_for(directive: &str) -> Result<Filter, String> {
    Filter::parse(directive)
}

/// Installs the stderr subscriber for `filter` (a `CLAWSOCK_LOG` value; `None`
/// reads the environment). Returns the directive in effect, or `None` when
/// logging is off. The first call that turns logging on decides; calls
/// while logging is off change nothing, so a later call can still turn it on.
pub fn init(filter: Option<&str>) -> Option<String> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.is_some() {
        return installed.clone();
    }
    let value = match filter {
        Some(f) => f.to_string(),
        None => std::env::var(ENV_VAR).unwrap_or_default(),
    };
    let directive = directive_for(&value)?;
    let filter = match filter_for(&directive) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "clawsock: {ENV_VAR}={value:?} is not a valid log filter ({e}); it takes a level or target=level directives separated by commas; using clawsock=info"
            );
            Filter::target("clawsock", LevelFilter::INFO)
        }
    };
    let ok = tracing::subscriber::set_global_default(LineLog::new(filter, stderr_writer())).is_ok();
    if !ok {
        // Someone else (an embedding program) installed a global subscriber.
        return None;
    }
    *installed = Some(directive);
    installed.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_the_crate() {
        assert_eq!(directive_for("debug").as_deref(), Some("clawsock=debug"));
        assert_eq!(directive_for(" TRACE ").as_deref(), Some("clawsock=trace"));
        assert_eq!(directive_for("1").as_deref(), Some("clawsock=info"));
        assert_eq!(directive_for(""), None);
        assert_eq!(directive_for("off"), None);
        assert_eq!(
            directive_for("clawsock::transport=trace").as_deref(),
            Some("clawsock::transport=trace")
        );
    }

    /// A `CLAWSOCK_LOG` level filters the crate's modules; a bad level is
    /// refused (the filter syntax itself is tested in `log_filter`).
    #[test]
    fn levels_filter_the_crate() {
        use tracing::Level;
        let level = filter_for(&directive_for("debug").unwrap()).unwrap();
        assert!(level.would_enable("clawsock::reconnect", &Level::DEBUG));
        assert!(!level.would_enable("clawsock::reconnect", &Level::TRACE));
        assert!(!level.would_enable("tokio", &Level::ERROR));
        assert!(filter_for(&directive_for("loud").unwrap()).is_err());
    }
}
