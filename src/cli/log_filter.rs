//! Which log events pass: a `CLAWSOCK_LOG` filter directive parsed into
//! `target=level` rules.
//!
//! The syntax is the one `tracing-subscriber`'s `Targets` reads (the crate
//! is no longer linked; this is the part of it clawsock uses): directives
//! separated by commas, each `target=level` (events whose target starts with
//! `target`, up to `level`), a bare `level` (every target) or a bare
//! `target` (that target at every level). The directive with the longest
//! matching target decides; an event no directive matches is dropped.
//! Levels are `off`, `error`, `warn`, `info`, `debug`, `trace` (any case) or
//! `0`–`5`. Field filters (`target[{field}]=level`) are refused, as is a
//! level nobody knows, with a message that says what is accepted. Empty
//! directives (a stray comma) are skipped.

use tracing::Level;
use tracing::level_filters::LevelFilter;

/// Parsed filter directives. See the module documentation.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `(target, level)`, longest target first; `""` matches every target.
    rules: Vec<(String, LevelFilter)>,
}

const LEVELS: &str = "off, error, warn, info, debug or trace (or 0-5)";

fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.to_ascii_lowercase().as_str() {
        "off" | "0" => LevelFilter::OFF,
        "error" | "1" => LevelFilter::ERROR,
        "warn" | "2" => LevelFilter::WARN,
        "info" | "3" => LevelFilter::INFO,
        "debug" | "4" => LevelFilter::DEBUG,
        "trace" | "5" => LevelFilter::TRACE,
        _ => return None,
    })
}

impl Filter {
    /// One target at one level, e.g. `Filter::target("clawsock", LevelFilter::INFO)`.
    pub fn target(target: &str, level: LevelFilter) -> Filter {
        Filter {
            rules: vec![(target.to_string(), level)],
        }
    }

    /// Parses comma-separated directives; the error says which directive is
    /// wrong and why.
    pub fn parse(directives: &str) -> Result<Filter, String> {
        let mut rules = Vec::new();
        for d in directives
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            if d.contains("[{") {
                return Err(format!(
                    "invalid filter directive {d:?}: field filters (target[{{field}}]=level) are not supported"
                ));
            }
            let rule = match d.split_once('=') {
                Some((_, level)) if level.contains('=') => {
                    return Err(format!(
                        "invalid filter directive {d:?}: too many '=', expected target=level"
                    ));
                }
                Some((target, level)) => match parse_level(level.trim()) {
                    Some(l) => (target.trim().to_string(), l),
                    None => {
                        return Err(format!(
                            "invalid filter directive {d:?}: {:?} is not a level; use {LEVELS}",
                            level.trim()
                        ));
                    }
                },
                None => match parse_level(d) {
                    Some(l) => (String::new(), l),
                    None => (d.to_string(), LevelFilter::TRACE),
                },
            };
            rules.push(rule);
        }
        // Longest target first; a stable sort keeps the earlier of two equal
        // targets first, so it wins.
        rules.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(Filter { rules })
    }

    /// Whether an event of `level` from `target` is logged.
    pub fn would_enable(&self, target: &str, level: &Level) -> bool {
        self.rules
            .iter()
            .find(|(t, _)| target.starts_with(t.as_str()))
            .is_some_and(|(_, l)| l >= level)
    }

    /// The most verbose level any directive allows.
    pub fn max_level(&self) -> LevelFilter {
        self.rules
            .iter()
            .map(|(_, l)| *l)
            .max()
            .unwrap_or(LevelFilter::OFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Directives pick targets and levels; the longest target decides.
    #[test]
    fn directives_filter_by_target() {
        let f = Filter::parse("clawsock::transport=trace,clawsock=info").unwrap();
        assert!(f.would_enable("clawsock::transport::dial", &Level::TRACE));
        assert!(f.would_enable("clawsock::gateway::client", &Level::INFO));
        assert!(!f.would_enable("clawsock::gateway::client", &Level::DEBUG));
        assert!(!f.would_enable("tokio", &Level::ERROR));
        assert_eq!(f.max_level(), LevelFilter::TRACE);
        // The order of the directives does not matter.
        let g = Filter::parse("clawsock=info, clawsock::transport=trace").unwrap();
        assert!(g.would_enable("clawsock::transport::dial", &Level::TRACE));
        assert!(!g.would_enable("clawsock::session", &Level::DEBUG));
        // A more specific `off` silences one module.
        let h = Filter::parse("clawsock=debug,clawsock::transport=off").unwrap();
        assert!(!h.would_enable("clawsock::transport::dial", &Level::ERROR));
        assert!(h.would_enable("clawsock::session", &Level::DEBUG));
    }

    /// Bare levels apply to every target, bare targets to every level.
    #[test]
    fn bare_levels_and_targets() {
        let f = Filter::parse("WARN").unwrap();
        assert!(f.would_enable("tokio", &Level::WARN));
        assert!(!f.would_enable("clawsock", &Level::INFO));
        let t = Filter::parse("clawsock::cli").unwrap();
        assert!(t.would_enable("clawsock::cli::probe", &Level::TRACE));
        assert!(!t.would_enable("clawsock::session", &Level::ERROR));
        let n = Filter::parse("clawsock=4,").unwrap();
        assert!(n.would_enable("clawsock", &Level::DEBUG));
        assert!(!n.would_enable("clawsock", &Level::TRACE));
        assert_eq!(Filter::parse("").unwrap().max_level(), LevelFilter::OFF);
    }

    /// A bad directive is refused with a message that says what is accepted.
    #[test]
    fn bad_directives_are_refused() {
        let e = Filter::parse("clawsock=loud").unwrap_err();
        assert!(
            e.contains("\"loud\" is not a level") && e.contains("trace"),
            "{e}"
        );
        assert!(
            Filter::parse("a=b=info")
                .unwrap_err()
                .contains("too many '='")
        );
        assert!(
            Filter::parse("clawsock[{code}]=info")
                .unwrap_err()
                .contains("field filters")
        );
    }
}
