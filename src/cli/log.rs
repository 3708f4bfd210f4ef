//! Structured logs from the Rust core: `CLAWSOCK_LOG` → `tracing` → stderr.
//!
//! `CLAWSOCK_LOG=info|debug|trace` (or `warn`, `error`) turns on the
//! `clawsock` target at that level; a value with `=` or `,` is used as a
//! list of `target=level` directives (`tracing-subscriber`'s `Targets`
//! syntax, e.g. `clawsock::transport=trace,clawsock=info`).
//! Unset, empty, `0` or `off` means no logs. The subscriber is installed at
//! most once per process; a later call changes nothing and says so.
//!
//! Secrets: the core never passes a header value, token, password or key to
//! `tracing` (header names only; gateway payloads go through
//! `gateway::redact`). The test `__test__/cli.test.js` checks this end to end.

use std::sync::Mutex;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
pub fn filter_for(directive: &str) -> Result<Targets, String> {
    directive.parse::<Targets>().map_err(|e| e.to_string())
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
    let targets = match filter_for(&directive) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "clawsock: {ENV_VAR}={value:?} is not a valid log filter ({e}); it takes a level or target=level directives separated by commas; using clawsock=info"
            );
            Targets::new().with_target("clawsock", tracing::Level::INFO)
        }
    };
    let ok = tracing_subscriber::fmt()
        // The builder's own default is INFO; `targets` decides.
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true)
        .finish()
        .with(targets)
        .try_init()
        .is_ok();
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

    /// Directives pick targets and levels; a bad level is refused.
    #[test]
    fn directives_filter_by_target() {
        use tracing::Level;
        let f = filter_for("clawsock::transport=trace,clawsock=info").unwrap();
        assert!(f.would_enable("clawsock::transport::dial", &Level::TRACE));
        assert!(f.would_enable("clawsock::gateway::client", &Level::INFO));
        assert!(!f.would_enable("clawsock::gateway::client", &Level::DEBUG));
        assert!(!f.would_enable("tokio", &Level::ERROR));
        let level = filter_for(&directive_for("debug").unwrap()).unwrap();
        assert!(level.would_enable("clawsock::reconnect", &Level::DEBUG));
        assert!(!level.would_enable("clawsock::reconnect", &Level::TRACE));
        assert!(filter_for("clawsock=loud").is_err());
    }
}
