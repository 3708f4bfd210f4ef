//! The `tracing` subscriber behind `CLAWSOCK_LOG`: one line per event, in
//! the format `tracing-subscriber`'s `fmt` (full format, no ANSI colours)
//! used to print, which this replaces at a fraction of its code size:
//!
//! ```text
//! 2026-11-28T07:09:07.123456Z DEBUG clawsock::transport::dial: transport: tcp connected peer=127.0.0.1:8080
//! ```
//!
//! UTC time with microseconds, the level padded to five characters, the
//! target, the message, then each field as `name=value` (`Debug` form, so
//! strings are quoted). Control characters in the message and in values are
//! escaped (`\n`, `\x1b`, ...), so one event is always one line and a peer's
//! text cannot drive the terminal. The core uses events only; spans are not
//! recorded. Which events pass is decided by a [`Filter`], per callsite.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use super::log_filter::Filter;

/// Writes formatted lines (each ends in `\n`) somewhere: stderr in the
/// product, a buffer in tests.
pub type LineWriter = Box<dyn Fn(&str) + Send + Sync>;

/// The subscriber: a filter and where lines go.
pub struct LineLog {
    filter: Filter,
    write: LineWriter,
}

impl LineLog {
    pub fn new(filter: Filter, write: LineWriter) -> LineLog {
        LineLog { filter, write }
    }
}

/// Writes each line to stderr in one call. A failed write (stderr closed)
/// has nowhere to be reported and is dropped.
pub fn stderr_writer() -> LineWriter {
    Box::new(|line| {
        use std::io::Write;
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    })
}

impl Subscriber for LineLog {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.enabled(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.is_event() && self.filter.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max_level())
    }

    // Spans are never enabled (see `enabled`), so these are not called with
    // anything to record.
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        (self.write)(&format_line(SystemTime::now(), event));
    }
}

fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// One event as a line, ending in `\n`.
fn format_line(now: SystemTime, event: &Event<'_>) -> String {
    let meta = event.metadata();
    let mut out = String::with_capacity(160);
    write_timestamp(&mut out, now);
    out.push(' ');
    out.push_str(level_str(meta.level()));
    out.push(' ');
    out.push_str(meta.target());
    out.push_str(": ");
    event.record(&mut Fields {
        out: &mut out,
        first: true,
    });
    out.push('\n');
    out
}

/// `YYYY-MM-DDThh:mm:ss.uuuuuuZ` (UTC).
fn write_timestamp(out: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        since.subsec_micros()
    );
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Appends the event's fields: the message bare, the rest as `name=value`.
struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
        let name = field.name();
        if name != "message" {
            self.out.push_str(name.strip_prefix("r#").unwrap_or(name));
            self.out.push('=');
        }
        let _ = write!(Escaped(self.out), "{value:?}");
    }
}

/// Appends text with control characters escaped.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push('\t'),
                c if c.is_control() => {
                    let _ = write!(self.0, "\\x{:02x}", c as u32);
                }
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Lines logged while `f` runs under a `LineLog` with `directives`.
    fn capture(directives: &str, f: impl FnOnce()) -> Vec<String> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log = LineLog::new(
            Filter::parse(directives).unwrap(),
            Box::new(move |l: &str| sink.lock().unwrap().push(l.to_string())),
        );
        tracing::subscriber::with_default(log, f);
        lines.lock().unwrap().clone()
    }

    /// The timestamp, then the line as `fmt` printed it.
    fn split_time(line: &str) -> (&str, &str) {
        let (time, rest) = line.split_at(27);
        assert_eq!(&time[26..], "Z", "{line}");
        assert_eq!(&rest[..1], " ", "{line}");
        (time, &rest[1..])
    }

    #[test]
    fn one_line_per_event_in_the_fmt_format() {
        let reason = "bye\n\x1b[31mred";
        let lines = capture("clawsock=debug", || {
            tracing::info!(code = 1000, reason = %reason, kind = "timeout", clean = true, "session: closed");
            tracing::debug!(peer = ?Some(7), "transport: {} connected", "tcp");
            tracing::trace!("filtered out");
            tracing::warn!(target: "tokio", "another target");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let target = module_path!();
        let (_, first) = split_time(&lines[0]);
        assert_eq!(
            first,
            format!(
                " INFO {target}: session: closed code=1000 reason=bye\\n\\x1b[31mred kind=\"timeout\" clean=true\n"
            )
        );
        let (_, second) = split_time(&lines[1]);
        assert_eq!(
            second,
            format!("DEBUG {target}: transport: tcp connected peer=Some(7)\n")
        );
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let mut s = String::new();
        write_timestamp(&mut s, UNIX_EPOCH);
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        let at = |secs: u64, micros: u64| {
            let mut s = String::new();
            let t = UNIX_EPOCH + std::time::Duration::from_micros(secs * 1_000_000 + micros);
            write_timestamp(&mut s, t);
            s
        };
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
        assert_eq!(at(1_795_849_747, 123_456), "2026-11-28T07:09:07.123456Z");
    }
}
