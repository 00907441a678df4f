//! A readiness (or quit) target: `http://host:port/path`, `tcp://host:port`, `file:///path`, or a
//! dependency spoken to in its own protocol (`redis://`, `postgres://`, `mysql://`), parsed and
//! checked; and which stage of the wait it belongs to.
//!
//! A URL never carries a secret into readygate: user information (`user:password@`) is refused,
//! every echo of a URL in an error goes through [`redacted`], and a target shown in a log line
//! hides its query and fragment (see the `Display` impl).

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::str::FromStr;

use hyper::Uri;

/// How a target is probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// HTTP/1.1 request to this path (and query).
    Http { path: String },
    /// Ready when a TCP connection is accepted and the peer does not drop it at once.
    Tcp,
    /// Ready when this file exists, is a regular file, is not empty and has stopped changing.
    /// Always absolute; it has no host or port (see [`Target::port`]).
    File { path: PathBuf },
    /// Ready when the server answers `PING` as a live Redis does.
    Redis,
    /// Ready when the server answers a StartupMessage as one taking sessions does.
    Postgres,
    /// Ready when the server greets with a MySQL/MariaDB handshake (protocol 10).
    Mysql,
}

impl Kind {
    /// Whether readygate speaks this kind's own protocol: a reply only the real server sends.
    pub fn is_protocol(&self) -> bool {
        matches!(self, Kind::Redis | Kind::Postgres | Kind::Mysql)
    }
}

/// Every network scheme: its kind (an HTTP target's path is filled in later) and default port.
fn scheme(name: &str) -> Option<(Kind, Option<u16>)> {
    Some(match name {
        "http" => (
            Kind::Http {
                path: String::new(),
            },
            Some(80),
        ),
        // A raw TCP port has no default worth guessing.
        "tcp" => (Kind::Tcp, None),
        "redis" => (Kind::Redis, Some(6379)),
        "postgres" | "postgresql" => (Kind::Postgres, Some(5432)),
        "mysql" | "mariadb" => (Kind::Mysql, Some(3306)),
        _ => return None,
    })
}

/// Schemes that mean TLS. Through a mesh, TLS (or mTLS) to the dependency is the proxy's job:
/// the application, and readygate, speak plain TCP to the local proxy.
const TLS_SCHEMES: [&str; 3] = ["https", "rediss", "mysqls"];

/// The host part of a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// `localhost`: resolved without the system resolver, so it works in FROM-scratch images.
    Localhost,
    /// An IP literal.
    Ip(IpAddr),
    /// Any other name, resolved by the system resolver on each attempt.
    Name(String),
}

/// One endpoint to probe. A file target has no host and port: `host_text` is empty, `port` is
/// 0, and nothing connects to it (the prober dispatches on [`Kind::File`] first, and quit URLs
/// must be http://).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as the user wrote it, for logs.
    text: String,
    kind: Kind,
    host: Host,
    /// The host as written (IPv6 with brackets), for the Host header and logs.
    host_text: String,
    port: u16,
}

impl Target {
    /// How to probe it.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The host as written in the URL (empty for a file target).
    pub fn host_text(&self) -> &str {
        &self.host_text
    }

    /// The `Host` header value: the authority as written.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host_text, self.port)
    }

    /// The addresses to try, in order, or the name the system resolver must look up.
    pub fn addresses(&self) -> Result<Vec<SocketAddr>, &str> {
        match &self.host {
            // IPv4 first: it is what almost every sidecar binds; ::1 keeps IPv6-only pods working.
            Host::Localhost => Ok(vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), self.port),
            ]),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, self.port)]),
            Host::Name(name) => Err(name),
        }
    }

    /// The port (0 for a file target, which has none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this target is a dependency, waited for after the sidecar is ready: every
    /// protocol target (wherever it is), and http/tcp targets on another host. Targets on this
    /// pod (localhost, *.localhost, a loopback address, a file) are the sidecar's own stage.
    pub fn is_dependency(&self) -> bool {
        let on_this_pod = match &self.host {
            Host::Localhost => true,
            Host::Ip(ip) => ip.is_loopback() || ip.to_canonical().is_loopback(),
            Host::Name(_) => false,
        };
        self.kind.is_protocol() || !on_this_pod
    }
}

/// A target as log lines and the termination message show it: an HTTP query or fragment (which
/// may hold a token, `/ready?key=...`) becomes `<redacted>`, and control characters (a file name
/// may hold them) are escaped so the line stays one line. Other schemes refuse a query or
/// fragment, and user information is refused everywhere, so nothing else can hold a secret.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match (&self.kind, self.text.find(['?', '#'])) {
            (Kind::Http { .. }, Some(at)) => format!("{}<redacted>", &self.text[..=at]),
            _ => self.text.clone(),
        };
        f.write_str(&crate::log::one_line(&shown))
    }
}

const HINT: &str = "expected http://host:port/path, tcp://host:port, file:///path, \
                    redis://host[:port], postgres://host[:port] or mysql://host[:port]";

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text
            .get(..FILE_SCHEME.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(FILE_SCHEME))
        {
            return Ok(Target {
                text: text.to_string(),
                kind: Kind::File {
                    path: file_path(&text[FILE_SCHEME.len()..])?,
                },
                host: Host::Localhost,
                host_text: String::new(),
                port: 0,
            });
        }
        let (scheme_text, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("no scheme; {HINT}"))?;
        let name = scheme_text.to_ascii_lowercase();
        if TLS_SCHEMES.contains(&name.as_str()) {
            return Err(format!(
                "{name}:// (TLS) is not supported: readygate speaks plain TCP to this pod's \
                 proxy, which carries TLS to the dependency when the mesh is set up for it; \
                 {HINT}"
            ));
        }
        let (kind, default_port) = scheme(&name).ok_or_else(|| {
            // Named only when it is one: what precedes `://` may be anything the user typed.
            if is_scheme_name(&name) {
                format!("unsupported scheme {name:?}; {HINT}")
            } else {
                format!("unsupported scheme; {HINT}")
            }
        })?;
        refuse_userinfo(&kind, rest)?;
        let uri: Uri = text
            .parse()
            .map_err(|e| match ipv6_hint(&name, rest, default_port) {
                Some(hint) => format!("not a valid URL ({e}); {hint}"),
                None => format!("not a valid URL ({e}); {HINT}"),
            })?;
        let authority = uri.authority().ok_or_else(|| format!("no host; {HINT}"))?;
        let host_text = authority.host().to_string();
        if host_text.is_empty() {
            return Err(format!("no host; {HINT}"));
        }
        let host = parse_host(&host_text);
        let kind = match kind {
            Kind::Http { .. } => Kind::Http {
                path: http_path(&uri),
            },
            other => {
                bare(&name, &uri, rest)?;
                other
            }
        };
        // Read the port from the text: `Authority::port` silently drops one that overflows u16.
        let port_text = authority
            .as_str()
            .rsplit_once(':')
            .filter(|(_, p)| !p.contains(']'))
            .map(|(_, p)| p);
        // RFC 3986 (3.2.3): an empty port (`redis://cache:`) is the scheme's default.
        let port = match (port_text.filter(|p| !p.is_empty()), default_port) {
            (Some(text), _) => match text.parse::<u16>() {
                Ok(0) => return Err("port 0 is not a valid target".to_string()),
                Ok(port) => port,
                // Not echoed: a password with a `/` in it can end up here.
                Err(_) => return Err(format!("invalid port (expected 1 to 65535); {HINT}")),
            },
            (None, Some(port)) => port,
            (None, None) => return Err(format!("a {name}:// URL needs a port; {HINT}")),
        };
        Ok(Target {
            text: text.to_string(),
            kind,
            host,
            host_text,
            port,
        })
    }
}

/// For a URL the parser refused: how to write it when its authority is an IPv6 address without
/// brackets (`redis://::1`, `redis://::1:6380`), else `None`. Only an address is repeated, in
/// its canonical form, and a port of digits.
fn ipv6_hint(scheme: &str, rest: &str, default_port: Option<u16>) -> Option<String> {
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.starts_with('[') || authority.matches(':').count() < 2 {
        return None;
    }
    // `::1:6380` is read as `::1` and port 6380, as its writer most likely meant.
    let split = authority.rsplit_once(':').and_then(|(addr, port)| {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        Some((
            addr.parse::<Ipv6Addr>().ok()?,
            digits.then(|| port.to_string())?,
        ))
    });
    let (addr, port) = match split {
        Some(split) => split,
        None => {
            let port = default_port.map_or_else(|| "PORT".to_string(), |p| p.to_string());
            (authority.parse::<Ipv6Addr>().ok()?, port)
        }
    };
    Some(format!(
        "an IPv6 address goes in brackets: {scheme}://[{addr}]:{port}"
    ))
}

/// Refuses user information (`user:password@host`). `rest` is what follows `scheme://`. An HTTP
/// path may hold an `@`; no other scheme has a path, so there any `@` is user information (a
/// password may itself hold a `/`). The message never repeats what it refuses.
fn refuse_userinfo(kind: &Kind, rest: &str) -> Result<(), String> {
    let authority = match kind {
        Kind::Http { .. } => rest.split(['/', '?', '#']).next().unwrap_or(rest),
        _ => rest,
    };
    if authority.contains('@') {
        return Err(USERINFO_REFUSED.to_string());
    }
    Ok(())
}

/// Why a URL with user information is refused; never followed by what was refused.
pub const USERINFO_REFUSED: &str = "user information (user:password@) in a URL is not accepted: \
                                    readygate authenticates to nothing, so it needs only the host \
                                    and port; remove it";

/// An HTTP target's path: `http://host?q` means the path `/?q`, as in curl and browsers.
fn http_path(uri: &Uri) -> String {
    let path = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_string(),
    };
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// A tcp:// or protocol URL is a host and port only: an empty path or `/` is fine, and anything
/// else is refused, naming every part to remove at once (readygate sends no database name or
/// options of yours). None is repeated: a path (`/app;password=...`) or a query may hold a
/// password.
fn bare(scheme: &str, uri: &Uri, rest: &str) -> Result<(), String> {
    let why = if scheme == "tcp" {
        "a tcp:// URL is a host and port only"
    } else {
        "readygate needs only the host and port, and sends no database, user or option of yours"
    };
    let path = uri.path();
    let parts: Vec<&str> = [
        (!path.is_empty() && path != "/", "the path (from /)"),
        (uri.query().is_some(), "the query (from ?)"),
        // The URL parser drops a fragment silently; here it can only be a mistake.
        (rest.contains('#'), "the fragment (from #)"),
    ]
    .into_iter()
    .filter_map(|(present, part)| present.then_some(part))
    .collect();
    match parts.as_slice() {
        [] => Ok(()),
        [one] => Err(format!("remove {one} from the {scheme}:// URL: {why}")),
        [first @ .., last] => Err(format!(
            "remove {} and {last} from the {scheme}:// URL: {why}",
            first.join(", ")
        )),
    }
}

/// Whether `name` is spelled as a URL scheme is (RFC 3986: a letter, then letters, digits, `+`,
/// `-` or `.`).
fn is_scheme_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `text` as it may be echoed in an error: user information and anything from the first `?` or
/// `#` (a query may hold a token) replaced by `<redacted>`, and so is the path of a URL whose
/// scheme is neither http nor file (it means nothing to readygate there, and a database URL's
/// path may carry options: `/app;password=...`). Whatever follows `://` (or, in a
/// value without one, the start) up to the last `@` counts as user information, so a password
/// holding `/`, `?` or `@` is hidden whole, and so is one in a mistyped URL (`redis:/:pw@host`).
pub fn redacted(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let rest = match rest.rfind('@') {
        Some(at) => format!("<redacted>{}", &rest[at..]),
        None => rest.to_string(),
    };
    let keeps_path = scheme.is_none_or(|s| {
        s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case(FILE_SCHEME.trim_end_matches(':'))
    });
    let cut = if keeps_path {
        &['?', '#'][..]
    } else {
        &['/', '?', '#'][..]
    };
    let rest = match rest.find(cut) {
        Some(at) => format!("{}<redacted>", &rest[..=at]),
        None => rest,
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest,
    }
}

/// `file:`, compared without regard to case as URL schemes are.
const FILE_SCHEME: &str = "file:";

/// The absolute path a `file:` URL names, from what follows `file:`.
///
/// Only `file:///abs/path` (and `file://localhost/abs/path`, the same thing by RFC 8089) is
/// accepted: readygate runs in a container whose working directory says nothing about where a
/// sidecar writes, so a relative path is a mistake worth stopping at. Percent-encoded bytes are
/// decoded, as curl and browsers do: `%20` for a space, `%2C` for a comma (READYGATE_URL splits on
/// commas), `%25` for `%` itself, and any byte of a name that is not UTF-8. Everything else is
/// taken literally; `?` and `#` are refused rather than guessed at (query or part of the name?).
fn file_path(rest: &str) -> Result<PathBuf, String> {
    const HINT: &str = "expected file:///absolute/path";
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(format!(
            "a file URL names an absolute path; {HINT} (three slashes)"
        ));
    };
    let (host, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if host.contains('@') {
        return Err(
            "user information (user:password@) in a URL is not accepted: a file URL names a \
             path on this machine; remove it"
                .to_string(),
        );
    }
    if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
        return Err(format!(
            "a file URL names a path on this machine, not on a host ({host:?}); for the path \
             /{host}{path}, write file:///{host}{path}"
        ));
    }
    if path.is_empty() {
        return Err(format!("no path; {HINT}"));
    }
    if path.contains(['?', '#']) {
        return Err(
            "a file URL takes no query or fragment; write %3F for ? and %23 for # in a name"
                .to_string(),
        );
    }
    let bytes = percent_decode(path)?;
    if bytes.contains(&0) {
        return Err("a path cannot contain a NUL byte (%00)".to_string());
    }
    if bytes.ends_with(b"/") {
        return Err(format!(
            "the path ends with /, so it names a directory; {HINT} naming a file"
        ));
    }
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is an error, not a literal.
fn percent_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next(), bytes.next()];
        let digit = |d: Option<u8>| d.and_then(|d| char::from(d).to_digit(16));
        match (digit(hex[0]), digit(hex[1])) {
            // Two hex digits: 0..=255, so the cast loses nothing.
            (Some(high), Some(low)) => out.push((high * 16 + low) as u8),
            _ => {
                return Err(
                    "invalid percent-encoding (% must be followed by two hex digits; \
                     write %25 for a literal %)"
                        .to_string(),
                )
            }
        }
    }
    Ok(out)
}

fn parse_host(host: &str) -> Host {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Host::Ip(ip);
    }
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        // RFC 6761: localhost and *.localhost always mean loopback.
        return Host::Localhost;
    }
    Host::Name(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn parse(text: &str) -> Target {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn http_urls_keep_their_path_and_query() {
        let t = parse("http://localhost:15020/healthz/ready?x=1");
        assert_eq!(
            t.kind(),
            &Kind::Http {
                path: "/healthz/ready?x=1".into()
            }
        );
        assert_eq!(t.port(), 15020);
        assert_eq!(t.authority(), "localhost:15020");
    }

    #[test]
    fn a_query_without_a_path_is_a_query_on_slash() {
        let t = parse("http://127.0.0.1:8080?x=1");
        assert_eq!(
            t.kind(),
            &Kind::Http {
                path: "/?x=1".into()
            }
        );
        let t = parse("http://y?");
        assert_eq!(t.kind(), &Kind::Http { path: "/?".into() });
    }

    #[test]
    fn http_defaults_to_port_80_and_path_slash() {
        let t = parse("http://127.0.0.1");
        assert_eq!(t.port(), 80);
        assert_eq!(t.kind(), &Kind::Http { path: "/".into() });
    }

    #[test]
    fn localhost_resolves_to_both_loopbacks_without_a_resolver() {
        let t = parse("http://LocalHost:4191/ready");
        let addrs = t.addresses().expect("no resolver needed");
        assert_eq!(addrs.len(), 2);
        assert!(addrs[0].is_ipv4() && addrs[1].is_ipv6());
    }

    #[test]
    fn ipv6_literals_are_addresses() {
        let t = parse("tcp://[::1]:15001");
        assert_eq!(t.kind(), &Kind::Tcp);
        assert_eq!(
            t.addresses(),
            Ok(vec!["[::1]:15001".parse().expect("addr")])
        );
    }

    #[test]
    fn other_names_need_the_resolver() {
        let t = parse("http://istio-proxy.local:15020/");
        assert_eq!(t.addresses(), Err("istio-proxy.local"));
    }

    #[test]
    fn unsupported_or_malformed_urls_are_rejected_with_a_reason() {
        for (bad, needle) in [
            (
                "https://localhost:15021/healthz/ready",
                "https:// (TLS) is not supported",
            ),
            ("rediss://cache:6380", "rediss:// (TLS) is not supported"),
            ("ftp://localhost/", "unsupported scheme"),
            ("localhost:15020", "no scheme"),
            ("tcp://localhost", "needs a port"),
            ("tcp://localhost:1/path", "remove the path (from /)"),
            ("tcp://localhost:1?x", "remove the query"),
            ("http://localhost:0/", "port 0"),
            ("http://localhost:99999/", "invalid port"),
            ("http://user:pw@localhost/", "user information"),
            ("http:///ready", "not a valid URL"),
            ("http://local host/", "not a valid URL"),
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    fn file(text: &str) -> PathBuf {
        match parse(text).kind() {
            Kind::File { path } => path.clone(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn file_urls_name_an_absolute_path() {
        assert_eq!(
            file("file:///vault/secrets/db-creds"),
            PathBuf::from("/vault/secrets/db-creds")
        );
        assert_eq!(file(" FILE:///x "), PathBuf::from("/x"));
        // RFC 8089: an empty host and localhost mean the same machine.
        assert_eq!(file("file://localhost/x"), PathBuf::from("/x"));
        let t = parse("file:///run/ready");
        assert_eq!(t.to_string(), "file:///run/ready");
        assert_eq!(t.port(), 0);
    }

    #[test]
    fn file_urls_are_percent_decoded_to_any_bytes() {
        assert_eq!(
            file("file:///s/my%20creds%2c%25"),
            PathBuf::from("/s/my creds,%")
        );
        assert_eq!(file("file:///s/a b"), PathBuf::from("/s/a b"));
        assert_eq!(
            file("file:///s/%FF").into_os_string().into_vec(),
            b"/s/\xff".to_vec()
        );
    }

    #[test]
    fn bad_file_urls_are_rejected_with_a_reason() {
        for (bad, needle) in [
            ("file://vault/secrets/x", "write file:///vault/secrets/x"),
            ("file://host", "not on a host"),
            ("file:relative/path", "three slashes"),
            ("file:/abs", "three slashes"),
            ("file://", "no path"),
            ("file:///", "names a directory"),
            ("file:///vault/secrets/", "names a directory"),
            ("file:///a?b", "no query or fragment"),
            ("file:///a#b", "no query or fragment"),
            ("file:///a%zz", "percent-encoding"),
            ("file:///a%2", "percent-encoding"),
            ("file:///a%00b", "NUL"),
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn protocol_schemes_default_to_their_servers_ports() {
        for (url, kind, port) in [
            ("redis://cache", Kind::Redis, 6379),
            ("REDIS://cache:6380/", Kind::Redis, 6380),
            ("postgres://db", Kind::Postgres, 5432),
            ("postgresql://db:5433", Kind::Postgres, 5433),
            ("mysql://db", Kind::Mysql, 3306),
            ("mariadb://[::1]", Kind::Mysql, 3306),
        ] {
            let t = parse(url);
            assert_eq!((t.kind(), t.port()), (&kind, port), "{url}");
            assert!(t.kind().is_protocol());
        }
    }

    #[test]
    fn an_empty_port_is_the_schemes_default_and_a_tcp_url_still_needs_one() {
        for (url, port) in [
            ("redis://cache:", 6379),
            ("postgres://db:/", 5432),
            ("mysql://[::1]:", 3306),
            ("http://localhost:/ready", 80),
        ] {
            assert_eq!(parse(url).port(), port, "{url}");
        }
        let err = "tcp://db:".parse::<Target>().expect_err("tcp://db:");
        assert!(err.starts_with("a tcp:// URL needs a port"), "{err}");
    }

    #[test]
    fn an_ipv6_address_without_brackets_is_shown_how_to_write_it() {
        for (bad, hint) in [
            ("redis://::1", "redis://[::1]:6379"),
            ("redis://::1:6380", "redis://[::1]:6380"),
            ("postgres://fe80::1/", "postgres://[fe80::1]:5432"),
            ("tcp://2001:db8::7", "tcp://[2001:db8::7]:PORT"),
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert!(
                err.ends_with(&format!("; an IPv6 address goes in brackets: {hint}")),
                "{bad}: {err}"
            );
        }
        // Not an address: the usual hint.
        let err = "redis://a:b:c".parse::<Target>().expect_err("a:b:c");
        assert!(err.ends_with(HINT), "{err}");
    }

    #[test]
    fn a_protocol_url_with_a_path_or_query_names_what_to_remove_without_echoing_the_query() {
        for (bad, needle) in [
            ("postgres://db:5432/orders", "remove the path (from /) from"),
            ("redis://cache/0", "remove the path (from /) from"),
            (
                "mysql://db?ssl-mode=REQUIRED",
                "remove the query (from ?) from",
            ),
            (
                "postgres://db/?password=hunter2",
                "remove the query (from ?) from",
            ),
            ("redis://cache#0", "remove the fragment (from #) from"),
            (
                "redis://cache/0?password=hunter2#x",
                "remove the path (from /), the query (from ?) and the fragment (from #) from",
            ),
            (
                "postgres://db/app;password=hunter2",
                "remove the path (from /) from",
            ),
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert!(err.contains(needle), "{bad}: {err}");
            assert!(
                !err.contains("hunter2") && !err.contains("REQUIRED") && !err.contains("orders"),
                "{err}"
            );
            // And the value echoed beside it hides them too.
            let echoed = redacted(bad);
            assert!(
                !echoed.contains("hunter2") && !echoed.contains("REQUIRED"),
                "{echoed}"
            );
        }
    }

    #[test]
    fn user_information_is_refused_without_repeating_it() {
        for bad in [
            "redis://:s3cret@cache:6379",
            "postgres://app:s3cret@db",
            "mysql://app:s3cret@db:3306",
            "redis://:pa/s3cret@cache",
            "redis://:p?s3cret@cache",
            "tcp://app:s3cret@db:5432",
            "http://app:s3cret@localhost:15020/ready",
            "file://app:s3cret@/x",
        ] {
            let err = bad.parse::<Target>().expect_err(bad);
            assert!(err.contains("user information"), "{bad}: {err}");
            assert!(
                !err.contains("s3cret") && !err.contains("app"),
                "{bad}: {err}"
            );
        }
        // An @ in an HTTP path is a path, not user information.
        let t = parse("http://localhost:1/a@b");
        assert_eq!(
            t.kind(),
            &Kind::Http {
                path: "/a@b".into()
            }
        );
    }

    #[test]
    fn redaction_hides_user_information_and_queries() {
        for (text, shown) in [
            (
                "redis://:s3cret@cache:6379",
                "redis://<redacted>@cache:6379",
            ),
            (
                "postgres://u:p@s@db/x",
                "postgres://<redacted>@db/<redacted>",
            ),
            ("postgres://db/app;password=x", "postgres://db/<redacted>"),
            ("file:///run/a?b", "file:///run/a?<redacted>"),
            ("redis://:pa/ss@cache", "redis://<redacted>@cache"),
            ("http://h/ready?token=abc", "http://h/ready?<redacted>"),
            ("http://u:p@h/r#frag", "http://<redacted>@h/r#<redacted>"),
            ("5s", "5s"),
            ("redis:/:s3cret@cache", "<redacted>@cache"),
            (
                "http://localhost:15020/healthz/ready",
                "http://localhost:15020/healthz/ready",
            ),
        ] {
            assert_eq!(redacted(text), shown, "{text}");
        }
    }

    #[test]
    fn a_target_in_a_log_line_hides_an_http_query_and_stays_one_line() {
        for (text, shown) in [
            ("http://h:1/ready?token=abc", "http://h:1/ready?<redacted>"),
            ("http://h:1/ready#frag", "http://h:1/ready#<redacted>"),
            ("http://h:1/a@b/ready", "http://h:1/a@b/ready"),
            ("redis://cache", "redis://cache"),
            ("file:///run/a\u{1b}[31m\nb", "file:///run/a\\u{1b}[31m\\nb"),
            ("file:///run/a%3Fb", "file:///run/a%3Fb"),
        ] {
            let target: Target = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(target.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn targets_on_this_pod_are_the_sidecar_stage_and_the_rest_are_dependencies() {
        for local in [
            "http://localhost:15020/healthz/ready",
            "tcp://127.0.0.1:15001",
            "http://[::1]:15021/healthz/ready",
            "http://agent.localhost:8200/",
            "tcp://[::ffff:127.0.0.1]:1",
            "file:///vault/secrets/db",
        ] {
            assert!(!parse(local).is_dependency(), "{local}");
        }
        for dependency in [
            "http://orders:8080/healthz",
            "tcp://10.0.0.7:5432",
            "redis://localhost",
            "postgres://127.0.0.1",
            "mysql://db",
        ] {
            assert!(parse(dependency).is_dependency(), "{dependency}");
        }
    }
}
