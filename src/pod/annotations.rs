//! The pod's annotations, from the file the kubelet writes into a Downward API volume
//! (`fieldRef: {fieldPath: metadata.annotations}`): a pure parser of its exact format, and a
//! reader that takes the file whole, bounded.
//!
//! The format is Kubernetes' `FormatMap` (kubernetes/kubernetes `pkg/fieldpath/fieldpath.go`,
//! used by `ExtractFieldPathAsString` for `metadata.annotations`): the keys sorted, one
//! `fmt.Sprintf("%v=%q\n", key, value)` each, and the last newline trimmed. `%q` of a string is
//! Go's `strconv.Quote` (golang/go `src/fmt/format.go`, `fmtQ`), written in
//! `src/strconv/quote.go` (`quoteWith`): a double-quoted Go literal; `"` and `\` backslashed;
//! printable runes as they are; `\a \b \f \n \r \t \v` for those controls; any other byte below
//! 0x20, and any byte that is not UTF-8, as `\xNN`; other unprintable runes as `\uNNNN` or
//! `\UNNNNNNNN`. A value is unquoted here as Go's `strconv.Unquote` (`UnquoteChar`) would: it
//! also takes octal `\NNN` and raw runes Quote would have escaped, but not `\'`, and a raw
//! newline always ends the line. So a value may hold `=`, and once unquoted, newlines.
//!
//! Keys are written raw, but the API server admits only qualified names (`[prefix/]name`:
//! letters, digits, `-`, `_`, `.`; `ValidateAnnotations` in apimachinery), so a key never holds
//! `=`, a quote or a newline, and the first `=` of a line ends its key.
//!
//! Annotation values may hold secrets (a `kubectl.kubernetes.io/last-applied-configuration`
//! holds a whole manifest): no error or `Debug` output here ever shows one.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest file accepted. Kubernetes caps the annotations of an object at 256 KiB of keys
/// and values (`TotalAnnotationSizeLimitB` in apimachinery's `ValidateAnnotationsSize`); quoting
/// grows JSON-like text by its escaped quotes, so twice that leaves room for any real pod's
/// file while bounding what a hostile or wrong file costs to read and parse.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// The kubelet's default place for the example in the Kubernetes documentation
/// ("Expose Pod Information to Containers Through Files").
pub const DEFAULT_PATH: &str = "/etc/podinfo/annotations";

/// How many times [`read`] opens the file when it is not found (see there).
const OPEN_ATTEMPTS: usize = 3;

/// The longest key the API server admits: a 253-byte DNS-subdomain prefix, `/`, a 63-byte name.
const MAX_KEY_BYTES: usize = 253 + 1 + 63;

/// A pod's annotations, by key. `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    map: BTreeMap<String, String>,
}

impl Annotations {
    /// The value of `key`, if the pod has that annotation.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// How many annotations the pod has.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the pod has no annotations at all (the kubelet then writes an empty file).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

impl fmt::Debug for Annotations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Annotations {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Annotations {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// What is wrong with an annotations file: where (`line`, from 1; 0 for the whole file) and
/// what. It never quotes the file: values may hold secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub problem: Problem,
}

/// The ways a file can differ from the kubelet's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Bytes that are not UTF-8 (the kubelet escapes those as `\xNN`).
    NotUtf8,
    /// A line without `=`.
    NoEquals,
    /// A key that is not a qualified name.
    BadKey,
    /// A value that does not start with `"`.
    NotQuoted,
    /// A value whose closing quote is missing.
    Unterminated,
    /// A backslash escape Go's `strconv.Unquote` refuses.
    BadEscape,
    /// Text after a value's closing quote.
    AfterQuote,
    /// A value whose escapes unquote to bytes that are not UTF-8.
    ValueNotUtf8,
    /// A key seen on an earlier line.
    RepeatedKey,
}

/// The one text for a file over [`MAX_FILE_BYTES`], whether the parser or the read found it.
fn too_large(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "larger than {} KiB", MAX_FILE_BYTES / 1024)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::TooLarge => return too_large(f),
            Problem::NotUtf8 => "bytes that are not UTF-8",
            Problem::NoEquals => "no '=' between a key and its value",
            Problem::BadKey => "a key that is not an annotation name",
            Problem::NotQuoted => "a value that is not quoted",
            Problem::Unterminated => "a quoted value with no closing quote",
            Problem::BadEscape => "an invalid backslash escape",
            Problem::AfterQuote => "text after a value's closing quote",
            Problem::ValueNotUtf8 => "a value that is not UTF-8 once unquoted",
            Problem::RepeatedKey => "a key repeated from an earlier line",
        })
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}", self.problem),
            line => write!(f, "line {line}: {}", self.problem),
        }
    }
}

impl std::error::Error for Malformed {}

/// Parses an annotations file's bytes. An empty file is a pod without annotations. One final
/// newline is accepted (the kubelet trims it; a file written by hand may have it).
pub fn parse(text: &[u8]) -> Result<Annotations, Malformed> {
    let whole = |problem| Malformed { line: 0, problem };
    if text.len() > MAX_FILE_BYTES {
        return Err(whole(Problem::TooLarge));
    }
    let text = std::str::from_utf8(text).map_err(|e| Malformed {
        line: 1 + text[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        problem: Problem::NotUtf8,
    })?;
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut map = BTreeMap::new();
    if body.is_empty() {
        return Ok(Annotations { map });
    }
    for (index, line) in body.split('\n').enumerate() {
        let at = |problem| Malformed {
            line: index + 1,
            problem,
        };
        let (key, quoted) = line.split_once('=').ok_or(at(Problem::NoEquals))?;
        if !is_annotation_name(key) {
            return Err(at(Problem::BadKey));
        }
        let value = unquote(quoted).map_err(at)?;
        if map.insert(key.to_owned(), value).is_some() {
            return Err(at(Problem::RepeatedKey));
        }
    }
    Ok(Annotations { map })
}

/// A qualified name as the API server admits for annotation keys: an optional prefix of
/// letters, digits, `-` and `.` up to 253 bytes and a `/`, then a name of letters, digits, `-`,
/// `_` and `.` up to 63 bytes. (The API also wants alphanumeric ends; the charset is what
/// matters here: it keeps `=`, quotes, spaces and controls out.)
fn is_annotation_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    });
    prefix_ok
        && key.len() <= MAX_KEY_BYTES
        && !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The value of one double-quoted Go literal that must fill `quoted` exactly.
fn unquote(quoted: &str) -> Result<String, Problem> {
    let bytes = quoted.as_bytes();
    if bytes.first() != Some(&b'"') {
        return Err(Problem::NotQuoted);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 1;
    loop {
        match bytes.get(i) {
            None => return Err(Problem::Unterminated),
            Some(b'"') => break,
            Some(b'\\') => i = escape(bytes, i + 1, &mut out)?,
            // Raw bytes, multi-byte runes included (the text is valid UTF-8 as a whole).
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    if i + 1 != bytes.len() {
        return Err(Problem::AfterQuote);
    }
    String::from_utf8(out).map_err(|_| Problem::ValueNotUtf8)
}

/// Decodes the escape whose letter is at `bytes[i]` (just after the backslash) into `out`, as
/// Go's `strconv.UnquoteChar` with quote `"`; returns the index after it.
fn escape(bytes: &[u8], i: usize, out: &mut Vec<u8>) -> Result<usize, Problem> {
    let letter = *bytes.get(i).ok_or(Problem::Unterminated)?;
    let simple = match letter {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Ok(i + 1);
    }
    match letter {
        // One byte, which need not be UTF-8 on its own.
        b'x' => {
            let v = digits(bytes, i + 1, 2, 16)?;
            out.push(v as u8);
            Ok(i + 3)
        }
        b'u' | b'U' => {
            let n = if letter == b'u' { 4 } else { 8 };
            let v = digits(bytes, i + 1, n, 16)?;
            // Go's strconv.UnquoteChar refuses what is no Unicode scalar value (a surrogate,
            // or above U+10FFFF: `!utf8.ValidRune(v)` is ErrSyntax), exactly as from_u32 does.
            let c = char::from_u32(v).ok_or(Problem::BadEscape)?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            Ok(i + 1 + n)
        }
        // Three octal digits, the first one being `letter`, at most 0o377: one byte.
        b'0'..=b'7' => {
            let v = digits(bytes, i, 3, 8)?;
            let byte = u8::try_from(v).map_err(|_| Problem::BadEscape)?;
            out.push(byte);
            Ok(i + 3)
        }
        _ => Err(Problem::BadEscape),
    }
}

/// Exactly `n` digits of `radix` at `bytes[start..]`, as a number.
fn digits(bytes: &[u8], start: usize, n: usize, radix: u32) -> Result<u32, Problem> {
    let text = bytes.get(start..start + n).ok_or(Problem::BadEscape)?;
    text.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(radix).ok_or(Problem::BadEscape)?;
        Ok(acc * radix + d)
    })
}

/// Why the annotations file gave no annotations. Names no content of the file.
#[derive(Debug)]
pub enum ReadError {
    /// No file at the path (the volume is not mounted, or the path is wrong).
    Missing,
    /// The file exists but could not be opened or read.
    Unreadable(io::Error),
    /// The path is a directory, FIFO, device or socket.
    NotAFile,
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Not in the kubelet's format.
    Malformed(Malformed),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Missing => f.write_str("no such file"),
            ReadError::Unreadable(e) => write!(f, "cannot be read: {e}"),
            ReadError::NotAFile => f.write_str("not a regular file"),
            ReadError::TooLarge => {
                too_large(f)?;
                f.write_str(" (Kubernetes allows 256 KiB of annotations per object)")
            }
            ReadError::Malformed(m) => write!(f, "not in the kubelet's format: {m}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads and parses the annotations file at `path`: one open, read to the end, never more than
/// [`MAX_FILE_BYTES`] + 1 bytes.
///
/// The kubelet updates the volume by writing a new directory, pointing the `..data` symlink at
/// it with one rename, and then deleting the old directory (`AtomicWriter` in
/// `pkg/volume/util/atomic_writer.go`). One open therefore holds one version whole, even if it
/// is swapped or deleted while being read. An open racing with that deletion can find no file
/// although the new version is there, so a missing file is tried again, twice.
pub fn read(path: &Path) -> Result<Annotations, ReadError> {
    let mut attempt = 1;
    let file = loop {
        // O_NONBLOCK: a FIFO at the path must not block the open; the file type is checked
        // next, and the flag changes nothing for a regular file.
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => break file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < OPEN_ATTEMPTS => {
                attempt += 1
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
            Err(e) => return Err(ReadError::Unreadable(e)),
        }
    };
    let bytes = read_file(file)?;
    parse(&bytes).map_err(ReadError::Malformed)
}

fn read_file(file: File) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata().map_err(ReadError::Unreadable)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    let hint = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    read_capped(file, MAX_FILE_BYTES, hint)
        .map_err(ReadError::Unreadable)?
        .ok_or(ReadError::TooLarge)
}

/// Everything `source` yields, or `None` if that is more than `cap` bytes; reads at most
/// `cap` + 1 bytes either way. `size_hint` (the file's size when opened) only sizes the buffer.
pub fn read_capped(source: impl Read, cap: usize, size_hint: usize) -> io::Result<Option<Vec<u8>>> {
    let limit = cap.saturating_add(1);
    let mut bytes = Vec::with_capacity(size_hint.min(limit));
    source
        .take(u64::try_from(limit).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= cap).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<String, Malformed> {
        let a = parse(line.as_bytes())?;
        let key = a.keys().next().expect("one key").to_owned();
        Ok(a.get(&key).expect("value").to_owned())
    }

    fn problem(text: &[u8]) -> Problem {
        parse(text).expect_err("malformed").problem
    }

    #[test]
    fn an_empty_file_is_a_pod_without_annotations() {
        assert!(parse(b"").expect("parse").is_empty());
        assert!(parse(b"\n").expect("parse").is_empty());
    }

    #[test]
    fn each_line_is_one_key_and_its_unquoted_value() {
        let a = parse(b"a.io/x=\"1\"\nb=\"two words\"\nc.d/e_f.g=\"\"").expect("parse");
        assert_eq!(a.len(), 3);
        assert_eq!(a.get("a.io/x"), Some("1"));
        assert_eq!(a.get("b"), Some("two words"));
        assert_eq!(a.get("c.d/e_f.g"), Some(""));
        assert_eq!(a.get("missing"), None);
    }

    #[test]
    fn a_value_may_hold_equals_signs_and_escaped_newlines_and_quotes() {
        assert_eq!(one(r#"k="a=b==c""#).expect("parse"), "a=b==c");
        assert_eq!(
            one(r#"k="{\"a\": 1}\n{\"b\": \"x\\y\"}\n""#).expect("parse"),
            "{\"a\": 1}\n{\"b\": \"x\\y\"}\n"
        );
    }

    #[test]
    fn every_escape_go_quote_writes_is_undone() {
        // strconv.Quote("\a\b\f\n\r\t\v\x00\x1f\x7f\u00ad\u2028\U000e0001 é ☃")
        let quoted = r#"k="\a\b\f\n\r\t\v\x00\x1f\x7f\u00ad\u2028\U000e0001 é ☃""#;
        assert_eq!(
            one(quoted).expect("parse"),
            "\x07\x08\x0c\n\r\t\x0b\x00\x1f\x7f\u{ad}\u{2028}\u{e0001} é ☃"
        );
    }

    #[test]
    fn escapes_go_unquote_accepts_but_quote_never_writes_are_accepted_too() {
        // Octal, upper-case hex digits, a raw tab, and the last scalar values around the
        // surrogates and at the top.
        assert_eq!(
            one("k=\"\\101\\x4A\\u00E9\t\\ud7ff\\ue000\\U0010FFFF\"").expect("parse"),
            "AJé\t\u{d7ff}\u{e000}\u{10ffff}"
        );
    }

    #[test]
    fn escapes_go_unquote_refuses_are_malformed() {
        for bad in [
            r#"k="\'""#,
            r#"k="\q""#,
            r#"k="\x4""#,
            r#"k="\xzz""#,
            r#"k="\u12""#,
            r#"k="\U00110000""#,
            r#"k="\ud800""#,
            r#"k="\uDFFF""#,
            r#"k="\U0000d800""#,
            r#"k="\UFFFFFFFF""#,
            r#"k="\400""#,
            r#"k="\18""#,
        ] {
            assert_eq!(problem(bad.as_bytes()), Problem::BadEscape, "{bad}");
        }
    }

    #[test]
    fn an_escaped_byte_that_is_not_utf8_is_malformed() {
        // Quote writes \xNN for bytes that are not UTF-8; such a value has no text.
        assert_eq!(problem(br#"k="\xff""#), Problem::ValueNotUtf8);
        assert_eq!(problem(br#"k="\303""#), Problem::ValueNotUtf8);
        // Two escaped bytes forming é are text.
        assert_eq!(one(r#"k="\xc3\xa9""#).expect("parse"), "é");
    }

    #[test]
    fn an_unterminated_quote_is_malformed() {
        assert_eq!(problem(br#"k="abc"#), Problem::Unterminated);
        assert_eq!(problem(br#"k="abc\""#), Problem::Unterminated);
        assert_eq!(problem(br#"k="abc\"#), Problem::Unterminated);
        // A raw newline ends the line, so it cannot be inside a value.
        assert_eq!(problem(b"k=\"a\nb\""), Problem::Unterminated);
    }

    #[test]
    fn lines_that_are_not_key_equals_quoted_value_are_malformed() {
        assert_eq!(problem(b"no equals sign"), Problem::NoEquals);
        assert_eq!(problem(b"k=unquoted"), Problem::NotQuoted);
        assert_eq!(problem(b"k= \"space\""), Problem::NotQuoted);
        assert_eq!(problem(b"k=\"v\" "), Problem::AfterQuote);
        assert_eq!(problem(b"k=\"v\"\"w\""), Problem::AfterQuote);
        assert_eq!(problem(b"k=\"v\"\r"), Problem::AfterQuote);
        assert_eq!(problem(b"a=\"1\"\n\nb=\"2\""), Problem::NoEquals);
        assert_eq!(problem(b"=\"v\""), Problem::BadKey);
        assert_eq!(problem(b"a b=\"v\""), Problem::BadKey);
        assert_eq!(problem(b"a/b/c=\"v\""), Problem::BadKey);
        assert_eq!(problem(b"/b=\"v\""), Problem::BadKey);
        assert_eq!(problem(b"a/=\"v\""), Problem::BadKey);
        let long_name = format!("{}=\"v\"", "n".repeat(64));
        assert_eq!(problem(long_name.as_bytes()), Problem::BadKey);
    }

    #[test]
    fn a_repeated_key_is_malformed_and_names_its_line() {
        let e = parse(b"a=\"1\"\nb=\"2\"\na=\"3\"").expect_err("repeated");
        assert_eq!(
            e,
            Malformed {
                line: 3,
                problem: Problem::RepeatedKey
            }
        );
        assert_eq!(e.to_string(), "line 3: a key repeated from an earlier line");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_malformed_at_their_line() {
        let e = parse(b"a=\"1\"\nb=\"\xff\"").expect_err("not utf-8");
        assert_eq!((e.line, e.problem), (2, Problem::NotUtf8));
        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00";
        assert!(parse(elf).is_err());
    }

    #[test]
    fn a_file_over_the_cap_is_refused_whole() {
        let mut big = b"k=\"".to_vec();
        big.resize(MAX_FILE_BYTES, b'a');
        big.push(b'"');
        assert_eq!(
            parse(&big).expect_err("too large"),
            Malformed {
                line: 0,
                problem: Problem::TooLarge
            }
        );
        big.truncate(MAX_FILE_BYTES - 1);
        big.push(b'"');
        assert_eq!(parse(&big).expect("at the cap").len(), 1);
    }

    #[test]
    fn errors_and_debug_output_never_show_a_value() {
        let secret = "hunter2-s3cr3t";
        let a = parse(format!("k=\"{secret}\"").as_bytes()).expect("parse");
        assert!(!format!("{a:?}").contains(secret));
        for bad in [
            format!("k=\"{secret}"),
            format!("k=\"{secret}\\q\""),
            format!("k=\"{secret}\" x"),
            format!("{secret} no equals"),
            format!("k=\"1\"\nk=\"{secret}\""),
        ] {
            let e = parse(bad.as_bytes()).expect_err("malformed");
            assert!(!e.to_string().contains(secret), "{e}");
            let e = ReadError::Malformed(e);
            assert!(!e.to_string().contains(secret), "{e}");
        }
    }

    /// Counts what it yields: an endless source of bytes.
    struct Endless(usize);

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'a');
            self.0 += buf.len();
            Ok(buf.len())
        }
    }

    #[test]
    fn the_bounded_read_stops_one_byte_past_the_cap() {
        let mut endless = Endless(0);
        assert_eq!(read_capped(&mut endless, 1000, 0).expect("read"), None);
        assert_eq!(endless.0, 1001);
        let fits = read_capped(&b"12345"[..], 5, 5).expect("read");
        assert_eq!(fits.as_deref(), Some(&b"12345"[..]));
    }
}
