//! Parsers for the values users type: durations, booleans and status lists.
//!
//! Each returns a message that says what would be accepted; the caller (src/cli.rs) adds the
//! name of the flag or variable at fault.

use std::fmt;
use std::time::Duration;

/// Parses `500ms`, `1.5s`, `2m`, `1h`, `1m30s`; a bare number means seconds. `0` is zero.
///
/// Decimals are parsed exactly in integer nanoseconds (no float rounding, and no float parsing
/// code in the binary, which keeps it under its size budget).
pub fn duration(text: &str) -> Result<Duration, String> {
    const HINT: &str = "expected a duration such as 500ms, 1.5s, 2m or 1m30s";
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("empty duration: {HINT}"));
    }
    if let Some(nanos) = decimal_nanos(text, NANOS_PER_SECOND) {
        return nanos_to_duration(nanos).ok_or_else(|| HINT.to_string());
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ms" => NANOS_PER_SECOND / 1_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3_600 * NANOS_PER_SECOND,
            _ => return Err(format!("unknown unit {unit:?}; {HINT}")),
        };
        let nanos = decimal_nanos(number, scale).ok_or_else(|| HINT.to_string())?;
        total = total.saturating_add(nanos);
        rest = after;
    }
    nanos_to_duration(total).ok_or_else(|| HINT.to_string())
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// `digits[.digits]` times `scale` nanoseconds, exactly; `None` if it is not such a number.
fn decimal_nanos(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // Digits past nanosecond precision cannot matter; long inputs must not overflow.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.get(..whole.len().min(20))?.parse().ok()?
    };
    let mut nanos = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in fraction.bytes().take(18) {
        place /= 10;
        nanos = nanos.checked_add(u128::from(digit - b'0') * place)?;
    }
    Some(nanos)
}

fn nanos_to_duration(nanos: u128) -> Option<Duration> {
    // A year is far beyond any sensible wait, and keeps Instant arithmetic from overflowing.
    const YEAR: u128 = 31_536_000 * NANOS_PER_SECOND;
    (nanos <= YEAR).then(|| Duration::from_nanos(nanos as u64))
}

/// Parses 1/true/yes/on and 0/false/no/off, case-insensitive.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected one of 1, true, yes, on, 0, false, no, off".to_string()),
    }
}

/// An exit code given on the command line: 0 to 255.
pub fn exit_code(text: &str) -> Result<i32, String> {
    match text.trim().parse::<u8>() {
        Ok(code) => Ok(i32::from(code)),
        Err(_) => Err("expected an exit code from 0 to 255".to_string()),
    }
}

/// The HTTP statuses that count as ready: `200`, `200,204`, `2xx`, `200-299`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl Default for StatusSet {
    /// Only 200, the readiness convention of every mesh.
    fn default() -> Self {
        StatusSet(vec![(200, 200)])
    }
}

impl StatusSet {
    /// Whether `status` counts as ready.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// Parses a status list; see [`StatusSet`].
pub fn status_set(text: &str) -> Result<StatusSet, String> {
    const HINT: &str = "expected statuses from 100 to 599 such as 200, 200,204, 2xx or 200-299";
    let mut ranges = Vec::new();
    for item in text.split(',').map(str::trim) {
        let range = if let Some(class) = item.strip_suffix("xx").or(item.strip_suffix("XX")) {
            match class.parse::<u16>() {
                Ok(c @ 1..=5) if class.len() == 1 => (c * 100, c * 100 + 99),
                _ => return Err(format!("{item:?} is not valid; {HINT}")),
            }
        } else if let Some((lo, hi)) = item.split_once('-') {
            match (status(lo), status(hi)) {
                (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
                _ => return Err(format!("{item:?} is not valid; {HINT}")),
            }
        } else {
            match status(item) {
                Some(code) => (code, code),
                None => return Err(format!("{item:?} is not valid; {HINT}")),
            }
        };
        ranges.push(range);
    }
    Ok(StatusSet(ranges))
}

fn status(text: &str) -> Option<u16> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|c| (100..=599).contains(c))
}

/// Formats a duration the way users write them: `1s`, `500ms`, `1.5s`, `2m`, `1m30s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 && !d.is_zero() {
        return format!("{}us", d.as_micros());
    }
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        return match (ms / 1_000, (ms % 1_000) / 100) {
            (seconds, 0) => format!("{seconds}s"),
            (seconds, tenths) => format!("{seconds}.{tenths}s"),
        };
    }
    let (minutes, seconds) = (ms / 60_000, (ms % 60_000) / 1_000);
    if seconds == 0 {
        format!("{minutes}m")
    } else {
        format!("{minutes}m{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_accept_the_documented_forms() {
        assert_eq!(duration("500ms"), Ok(ms(500)));
        assert_eq!(duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(duration("2m"), Ok(ms(120_000)));
        assert_eq!(duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(duration("1s500ms"), Ok(ms(1_500)));
        assert_eq!(duration("5"), Ok(ms(5_000)));
        assert_eq!(duration("0.25"), Ok(ms(250)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration(" 2s "), Ok(ms(2_000)));
        assert_eq!(duration(".5s"), Ok(ms(500)));
        assert_eq!(duration("0.001"), Ok(ms(1)));
        assert_eq!(
            duration("1.0000000001s"),
            Ok(Duration::from_nanos(1_000_000_000))
        );
        assert_eq!(duration("8760h"), Ok(Duration::from_secs(31_536_000)));
    }

    #[test]
    fn durations_reject_everything_else_with_a_hint() {
        for bad in [
            "", "abc", "5x", "-1", "-1s", "1.2.3s", "s", "ms5", "inf", "NaN", "1e400", "2y",
        ] {
            let err = duration(bad).expect_err(bad);
            assert!(err.contains("500ms"), "{bad}: {err}");
        }
    }

    #[test]
    fn booleans_accept_the_documented_words_in_any_case() {
        for yes in ["1", "true", "TRUE", "Yes", "on"] {
            assert_eq!(boolean(yes), Ok(true), "{yes}");
        }
        for no in ["0", "false", "No", "OFF"] {
            assert_eq!(boolean(no), Ok(false), "{no}");
        }
        for bad in ["", "maybe", "2", "y", "enabled"] {
            assert!(boolean(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lists_accept_codes_classes_and_ranges() {
        let set = status_set("200,204").expect("valid");
        assert!(set.contains(200) && set.contains(204) && !set.contains(201));
        let set = status_set("2xx").expect("valid");
        assert!(set.contains(200) && set.contains(299) && !set.contains(300));
        let set = status_set("200-202, 3xx").expect("valid");
        assert!(set.contains(201) && set.contains(302) && !set.contains(203));
        assert_eq!(set.to_string(), "200-202,300-399");
    }

    #[test]
    fn status_lists_reject_out_of_range_and_garbage() {
        for bad in [
            "", "99", "600", "abc", "6xx", "0xx", "22xx", "300-200", "200,", "2xx0",
        ] {
            assert!(status_set(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_codes_are_bytes() {
        assert_eq!(exit_code("69"), Ok(69));
        assert_eq!(exit_code("0"), Ok(0));
        assert!(exit_code("256").is_err());
        assert!(exit_code("-1").is_err());
    }

    #[test]
    fn durations_format_as_users_write_them() {
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(1_000)), "1s");
        assert_eq!(format_duration(ms(1_500)), "1.5s");
        assert_eq!(format_duration(ms(120_000)), "2m");
        assert_eq!(format_duration(ms(90_000)), "1m30s");
    }
}
