//! Where Istio put its proxy, read from the `sidecar.istio.io/status` annotation: a small JSON
//! scanner of just that question (readygate carries no JSON library: 1 MiB binary budget).
//!
//! Istio's injector writes the annotation when it admits the pod: its `SidecarInjectionStatus`
//! (istio/istio `pkg/kube/inject/inject.go`) marshalled by `encoding/json`, e.g. from its own
//! test data (`pkg/kube/inject/testdata/inject/*.injected`):
//!
//! ```text
//! {"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":[...],
//!  "imagePullSecrets":null,"revision":"default"}                          (native sidecar)
//! {"initContainers":["istio-init"],"containers":["istio-proxy"],...}      (classic sidecar)
//! {"initContainers":["istio-validation","istio-proxy"],"containers":null,...}  (istio-cni)
//! ```
//!
//! `istio-proxy` under `initContainers` is a native sidecar, and wins: one test template
//! (`sidecar-spire.yaml.injected`) lists it in both arrays. Under `containers` only, a classic
//! one. The scanner checks the whole text is one JSON object (bounded nesting), reads the two
//! arrays (a key repeated counts each time), and skips every other member unread.

use std::fmt;

/// The container Istio's sidecar runs in.
pub const PROXY: &str = "istio-proxy";

/// How deep arrays and objects may nest before the text is refused: Istio writes depth 2.
const MAX_DEPTH: usize = 32;

/// Where the status puts `istio-proxy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Under `initContainers` (whether or not also under `containers`): a native sidecar.
    InitContainers,
    /// Under `containers` only: a classic sidecar.
    Containers,
    /// In neither array (a proxyless or custom template).
    Absent,
}

/// Why the status is not the JSON object Istio writes: the byte offset and what was expected.
/// It never quotes the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.at, self.what)
    }
}

impl std::error::Error for Malformed {}

/// Where the status JSON puts `istio-proxy`.
pub fn proxy_placement(json: &str) -> Result<Placement, Malformed> {
    let mut s = Scanner {
        text: json.as_bytes(),
        at: 0,
    };
    let (mut in_init, mut in_containers) = (false, false);
    s.space();
    s.expect(b'{', "a JSON object")?;
    s.space();
    if !s.eat(b'}') {
        loop {
            s.space();
            let key = s.string()?;
            s.space();
            s.expect(b':', "':' after a member's name")?;
            s.space();
            match key.as_slice() {
                b"initContainers" => in_init |= s.names()?,
                b"containers" => in_containers |= s.names()?,
                _ => s.value(1)?,
            }
            s.space();
            if s.eat(b'}') {
                break;
            }
            s.expect(b',', "',' or '}' after a member")?;
        }
    }
    s.space();
    if s.at != s.text.len() {
        return Err(s.error("nothing after the object"));
    }
    Ok(if in_init {
        Placement::InitContainers
    } else if in_containers {
        Placement::Containers
    } else {
        Placement::Absent
    })
}

struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn error(&self, what: &'static str) -> Malformed {
        Malformed { at: self.at, what }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), Malformed> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// A container-name array: `null`, or an array whose strings are compared with `PROXY`
    /// (other elements are skipped). True if it names the proxy.
    fn names(&mut self) -> Result<bool, Malformed> {
        if self.peek() == Some(b'n') {
            self.word(b"null")?;
            return Ok(false);
        }
        self.expect(b'[', "an array of container names, or null")?;
        let mut found = false;
        self.space();
        if self.eat(b']') {
            return Ok(false);
        }
        loop {
            self.space();
            if self.peek() == Some(b'"') {
                found |= self.string()? == PROXY.as_bytes();
            } else {
                self.value(2)?;
            }
            self.space();
            if self.eat(b']') {
                return Ok(found);
            }
            self.expect(b',', "',' or ']' in an array")?;
        }
    }

    /// Skips one JSON value at nesting `depth`.
    fn value(&mut self, depth: usize) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(self.error("arrays or objects nested too deeply"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.container(b'}', depth, true),
            Some(b'[') => self.container(b']', depth, false),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("a JSON value")),
        }
    }

    /// Skips an object (members `"name": value`) or an array, its opening byte next.
    fn container(&mut self, close: u8, depth: usize, object: bool) -> Result<(), Malformed> {
        self.at += 1;
        self.space();
        if self.eat(close) {
            return Ok(());
        }
        loop {
            self.space();
            if object {
                self.string()?;
                self.space();
                self.expect(b':', "':' after a member's name")?;
                self.space();
            }
            self.value(depth + 1)?;
            self.space();
            if self.eat(close) {
                return Ok(());
            }
            self.expect(b',', "',' between elements")?;
        }
    }

    fn word(&mut self, word: &[u8]) -> Result<(), Malformed> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.error("true, false or null"))
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), Malformed> {
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return Err(self.error("a digit"));
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(self.error("a digit after '.'"));
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(self.error("a digit in the exponent"));
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// A string, its opening quote next, decoded to UTF-8 bytes (a lone surrogate escape
    /// becomes U+FFFD, as Go's decoder does).
    fn string(&mut self) -> Result<Vec<u8>, Malformed> {
        self.expect(b'"', "a string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("a closing quote")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(0..=0x1f) => return Err(self.error("no control characters in a string")),
                Some(b'\\') => {
                    self.at += 1;
                    let c = self.escape()?;
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// The character of the escape whose letter is next.
    fn escape(&mut self) -> Result<char, Malformed> {
        let letter = self.peek().ok_or(self.error("an escape"))?;
        self.at += 1;
        Ok(match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                if (0xd800..0xdc00).contains(&first) && self.text[self.at..].starts_with(b"\\u") {
                    let save = self.at;
                    self.at += 2;
                    let second = self.hex4()?;
                    if (0xdc00..0xe000).contains(&second) {
                        let c = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                        return Ok(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    self.at = save;
                }
                char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => {
                self.at -= 1;
                return Err(self.error("a valid escape"));
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, Malformed> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or(self.error("four hex digits"))?;
        let mut v = 0;
        for &b in digits {
            v = v * 16
                + char::from(b)
                    .to_digit(16)
                    .ok_or(self.error("four hex digits"))?;
        }
        self.at += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from Istio's injector test data (pkg/kube/inject/testdata/inject/).
    const NATIVE: &str = r#"{"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const NATIVE_CNI: &str = r#"{"initContainers":["istio-validation","istio-proxy"],"containers":null,"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const CLASSIC: &str = r#"{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const GATEWAY: &str = r#"{"initContainers":null,"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}"#;
    const BOTH: &str = r#"{"initContainers":["istio-init","istio-proxy"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}"#;
    const PROXYLESS: &str = r#"{"initContainers":["grpc-bootstrap-init"],"containers":["traffic"],"volumes":["grpc-io-proxyless-bootstrap"],"imagePullSecrets":null,"revision":"default"}"#;

    #[test]
    fn istio_proxy_under_init_containers_is_a_native_sidecar() {
        assert_eq!(proxy_placement(NATIVE), Ok(Placement::InitContainers));
        assert_eq!(proxy_placement(NATIVE_CNI), Ok(Placement::InitContainers));
    }

    #[test]
    fn a_template_listing_istio_proxy_in_both_arrays_is_native() {
        assert_eq!(proxy_placement(BOTH), Ok(Placement::InitContainers));
    }

    #[test]
    fn istio_proxy_under_containers_only_is_a_classic_sidecar() {
        assert_eq!(proxy_placement(CLASSIC), Ok(Placement::Containers));
        assert_eq!(proxy_placement(GATEWAY), Ok(Placement::Containers));
        // The istio-cni flavour of a classic pod, as `kubectl describe` shows it.
        let cni = r#"{"initContainers":["istio-validation"],"containers":["istio-proxy"]}"#;
        assert_eq!(proxy_placement(cni), Ok(Placement::Containers));
    }

    #[test]
    fn a_status_naming_no_istio_proxy_says_so() {
        assert_eq!(proxy_placement(PROXYLESS), Ok(Placement::Absent));
        assert_eq!(proxy_placement("{}"), Ok(Placement::Absent));
        // Names in other members do not count.
        let elsewhere = r#"{"volumes":["istio-proxy"],"containers":[]}"#;
        assert_eq!(proxy_placement(elsewhere), Ok(Placement::Absent));
    }

    #[test]
    fn escaped_names_spacing_and_unknown_members_are_read_as_json() {
        let text = " {\n \"extra\": {\"a\": [1, -2.5e+3, true, false, null, \"\\\"\"]},\n \
                    \"containers\" : [ \"istio\\u002dproxy\" ] } ";
        assert_eq!(proxy_placement(text), Ok(Placement::Containers));
        let pair = r#"{"x":"\ud83d\ude00 \ud800","containers":[{"name":"istio-proxy"},7]}"#;
        assert_eq!(proxy_placement(pair), Ok(Placement::Absent));
    }

    #[test]
    fn text_that_is_not_one_json_object_is_malformed() {
        for bad in [
            "",
            "[]",
            "null",
            r#"{"containers":["istio-proxy"]"#,
            r#"{"containers":["istio-proxy"]} x"#,
            r#"{"containers":"istio-proxy"}"#,
            r#"{"containers":["istio-proxy",]}"#,
            r#"{"a":01x}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"tab\tinside\"}",
            r#"{a:1}"#,
        ] {
            assert!(proxy_placement(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed_into() {
        let deep = format!(r#"{{"a":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        let e = proxy_placement(&deep).expect_err("too deep");
        assert_eq!(e.what, "arrays or objects nested too deeply");
        let fine = format!(r#"{{"a":{}{}}}"#, "[".repeat(20), "]".repeat(20));
        assert_eq!(proxy_placement(&fine), Ok(Placement::Absent));
    }
}
