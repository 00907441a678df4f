//! Logging set-up: every line on stderr (stdout belongs to the application), as text or JSON.
//!
//! The JSON encoder is hand-written (about 40 lines) rather than tracing-subscriber's `json`
//! feature: that feature pulls in serde_json and names its fields `level`/`fields.message`,
//! while collectors such as Cloud Logging want `severity` and `message` at the top level.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;

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
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Line {
            json: format == LogFormat::Json,
        })
        .with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))
}

/// One log line, text or JSON.
struct Line {
    json: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut time = String::new();
        SystemTime.format_time(&mut Writer::new(&mut time))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        if self.json {
            write!(writer, "{{\"time\":")?;
            json_string(&mut writer, &time)?;
            write!(writer, ",\"severity\":\"{}\",\"message\":", severity(level))?;
            json_string(&mut writer, &fields.message)?;
            for (name, value) in &fields.pairs {
                write!(writer, ",")?;
                json_string(&mut writer, name)?;
                write!(writer, ":")?;
                match value {
                    Value::Raw(raw) => writer.write_str(raw)?,
                    Value::Text(text) => json_string(&mut writer, text)?,
                }
            }
            writeln!(writer, "}}")
        } else {
            write!(writer, "{time} {level:>5} readygate: {}", fields.message)?;
            for (name, value) in &fields.pairs {
                match value {
                    Value::Raw(raw) => write!(writer, " {name}={raw}")?,
                    Value::Text(text) if needs_quotes(text) => write!(writer, " {name}={text:?}")?,
                    Value::Text(text) => write!(writer, " {name}={text}")?,
                }
            }
            writeln!(writer)
        }
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
