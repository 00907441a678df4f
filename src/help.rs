//! `--help` and `--version`: text generated from the option table, so it cannot disagree with
//! the parser or the defaults.

use std::fmt::Write as _;

use crate::options::{Default, Takes, SPECS};

const ABOUT: &str = "\
Wait until the service-mesh sidecar is ready, then exec COMMAND in readygate's place.
In a meshed pod, iptables sends every outbound connection to the sidecar proxy: an application
that dials out before the proxy is ready gets ECONNREFUSED. readygate polls the proxy's readiness
endpoint until it answers 200, so the application never starts too early. Given redis://,
postgres:// or mysql:// URLs, it then waits for those dependencies through the proxy, until each
real server answers (without logging in).";

const USAGE: &str = "\
readygate [OPTIONS] [-- COMMAND [ARGS...]]
       readygate --wait-app-exit [OPTIONS]
       readygate --install DIR";

const AFTER_HELP: &str = "\
Without COMMAND, readygate exits 0 once ready: `readygate && exec \"$@\"`.
Every flag can also be set by its READYGATE_* variable; a flag beats its variable.
READYGATE_LOG sets a level filter (error, warn, info, debug, trace, or target=level lists).
Durations: 500ms, 1.5s, 2m, 1m30s; a bare number means seconds.
Booleans: 1/true/yes/on, 0/false/no/off (flags take them as --flag=false).";

/// Width the help text is wrapped to.
const WIDTH: usize = 88;

/// `readygate 0.2.0`.
pub fn version() -> String {
    format!("readygate {}\n", env!("CARGO_PKG_VERSION"))
}

/// The help text.
pub fn help() -> String {
    let mut out = format!("{ABOUT}\n\nUsage: {USAGE}\n\nOptions:\n");
    for spec in SPECS {
        let short = spec.short.map_or("    ".to_string(), |c| format!("-{c}, "));
        let value = match spec.takes {
            Takes::Value(name) => format!(" <{name}>"),
            Takes::List(name) => format!(" <{name}>..."),
            Takes::Bool => "[=BOOL]".to_string(),
        };
        let default = match spec.default {
            Default::Value(text) | Default::Derived(text) => text,
        };
        let _ = writeln!(out, "  {short}--{}{value}", spec.long);
        for line in wrap(spec.help, WIDTH) {
            let _ = writeln!(out, "          {line}");
        }
        let _ = writeln!(out, "          [env: {}] [default: {default}]\n", spec.env);
    }
    out.push_str("  -h, --help     Print this help\n  -V, --version  Print the version\n\n");
    let _ = writeln!(out, "{AFTER_HELP}\n\n{}", crate::exit::TABLE);
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().map_or(0, |l| l.len());
        if line > 0 && line + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_its_variable_and_its_default_are_in_the_help() {
        let text = help();
        for spec in SPECS {
            let default = match spec.default {
                Default::Value(text) | Default::Derived(text) => text,
            };
            assert!(text.contains(&format!("--{}", spec.long)), "{}", spec.long);
            assert!(
                text.contains(&format!("[env: {}] [default: {default}]", spec.env)),
                "{}",
                spec.long
            );
        }
        assert!(text.contains(crate::exit::TABLE));
    }

    #[test]
    fn lines_are_wrapped_at_spaces_within_the_width() {
        let lines = wrap("aaa bbb ccc", 7);
        assert_eq!(lines, ["aaa bbb", "ccc"]);
        for line in help().lines() {
            assert!(line.chars().count() <= WIDTH + 10, "{line}");
        }
    }
}
