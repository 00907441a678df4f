//! Logging set-up: every line on stderr (stdout belongs to the application), as text or JSON.
//!
//! The JSON encoder is hand-written (about 40 lines) rather than tracing-subscriber's `json`
//! feature: that feature pulls in serde_json and names its fields `level`/`fields.message`,
//! while collectors such as Cloud Logging want `severity` and `message` at the top level.
//!
//! The subscriber itself is a small span-less one: readygate records no spans, and
//! tracing-subscriber's registry (needed by its fmt layer) zeroes a 32 KB table at start-up,
//! measured at 8 page faults and ~5% of the time readygate adds when the proxy is already
//! ready. tracing-subscriber still provides the level filter (`Targets`) and the timestamps.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{span, Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use crate::options::LogFormat;

/// `text` with its control characters escaped (`\n`, `\u{1b}`), so a value from the user, a
/// file name or a path can neither break the one line it is logged on nor start a terminal escape.
/// (`escape_default` of controls only: `escape_debug` would bring Unicode's printable tables into
/// the binary for nothing.)
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path as logs show it: lossy UTF-8, with [`one_line`]'s escapes.
pub fn path_shown(path: &std::path::Path) -> String {
    one_line(&path.to_string_lossy())
}

/// The variable holding a level filter such as `debug` or `readygate=trace`.
pub const FILTER_VAR: &str = "READYGATE_LOG";

/// Installs the global subscriber. `verbose` beats `quiet` (someone debugging an image that sets
/// READYGATE_QUIET wants to see), and both beat `READYGATE_LOG`.
pub fn init(format: LogFormat, quiet: bool, verbose: bool) -> Result<(), String> {
    let filter = if verbose {
        Targets::new().with_default(LevelFilter::DEBUG)
    } else if quiet {
        Targets::new().with_default(LevelFilter::ERROR)
    } else {
        match std::env::var(FILTER_VAR) {
            Ok(spec) if !spec.trim().is_empty() => spec.trim().parse::<Targets>().map_err(|e| {
                format!(
                    "invalid value {spec:?} in {FILTER_VAR}: {e}; expected a level (error, warn, \
                     info, debug, trace) or a list such as readygate=debug"
                )
            })?,
            _ => Targets::new().with_default(LevelFilter::INFO),
        }
    };
    let subscriber = Stderr {
        filter,
        json: format == LogFormat::Json,
    };
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("cannot set up logging: {e}"))
}

/// Writes each enabled event as one line on stderr; spans are not recorded (readygate has none).
struct Stderr {
    filter: Targets,
    json: bool,
}

impl Subscriber for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter
            .would_enable(metadata.target(), metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // The most verbose level any directive enables, so disabled macros cost nothing.
        let directives = self.filter.iter().map(|(_, level)| level);
        self.filter
            .default_level()
            .into_iter()
            .chain(directives)
            .max()
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = String::with_capacity(256);
        if format_line(&mut line, event, self.json).is_ok() {
            // One write per line, so lines never interleave; a failed write to stderr has
            // nowhere to be reported.
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Formats one event as a text or JSON line, newline included.
fn format_line(out: &mut String, event: &Event<'_>, json: bool) -> fmt::Result {
    let mut time = String::new();
    SystemTime.format_time(&mut Writer::new(&mut time))?;
    let mut fields = Fields::default();
    event.record(&mut fields);
    let level = *event.metadata().level();
    if json {
        write!(out, "{{\"time\":")?;
        json_string(out, &time)?;
        write!(out, ",\"severity\":\"{}\",\"message\":", severity(level))?;
        json_string(out, &fields.message)?;
        for (name, value) in &fields.pairs {
            out.write_char(',')?;
            json_string(out, name)?;
            out.write_char(':')?;
            match value {
                Value::Raw(raw) => out.write_str(raw)?,
                Value::Text(text) => json_string(out, text)?,
            }
        }
        out.write_str("}\n")
    } else {
        write!(out, "{time} {level:>5} readygate: {}", fields.message)?;
        for (name, value) in &fields.pairs {
            match value {
                Value::Raw(raw) => write!(out, " {name}={raw}")?,
                Value::Text(text) if needs_quotes(text) => write!(out, " {name}={text:?}")?,
                Value::Text(text) => write!(out, " {name}={text}")?,
            }
        }
        out.write_char('\n')
    }
}

/// Cloud Logging's severity names.
fn severity(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

enum Value {
    /// Numbers and booleans, written as they are.
    Raw(String),
    /// Strings, quoted and escaped.
    Text(String),
}

#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.pairs.push((field.name(), Value::Text(text)));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.pairs
                .push((field.name(), Value::Text(value.to_string())));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pairs
            .push((field.name(), Value::Raw(value.to_string())));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pairs
            .push((field.name(), Value::Raw(value.to_string())));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pairs
            .push((field.name(), Value::Raw(value.to_string())));
    }
}

fn needs_quotes(text: &str) -> bool {
    text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
}

/// Writes `text` as a JSON string literal (RFC 8259 escaping).
fn json_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_in_a_value_or_a_path_are_escaped_to_keep_one_line() {
        assert_eq!(
            path_shown(std::path::Path::new("/s/a\u{1b}[31mb\n")),
            "/s/a\\u{1b}[31mb\\n"
        );
        assert_eq!(one_line("--x\u{4}\r\ny é"), "--x\\u{4}\\r\\ny é");
    }

    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1b}e\u{7f}é").expect("write");
        assert_eq!(out, r#""a\"b\\c\nd\u001be\u007fé""#);
    }

    #[test]
    fn text_values_with_spaces_are_quoted() {
        assert!(needs_quotes("503 \"x\""));
        assert!(!needs_quotes("http://localhost:15020/healthz/ready"));
    }
}
