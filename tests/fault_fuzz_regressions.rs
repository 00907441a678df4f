//! Regressions for what the fuzz targets (fuzz/) found, replayed against the real binary.

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run};

/// fuzz target `target_from_str`, input `http://y?`: a URL with a query but no path was accepted
/// with the path `?`, and every probe then failed with "cannot build the request: invalid uri
/// character", so the gate waited out its whole timeout against a healthy endpoint. A URL that
/// parses must be probed; `http://host:port?q` means the path `/?q`, as in curl and browsers.
#[test]
fn a_url_with_a_query_but_no_path_is_probed_at_slash() {
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let url = format!("http://{}?x=1", ep.addr);
    run(readygate().args(["--url", &url, "-t", "2s"])).assert_code(0);
    let heads = ep.requests();
    assert!(
        heads
            .first()
            .is_some_and(|h| h.starts_with("GET /?x=1 HTTP/1.1\r\n")),
        "request heads: {heads:?}"
    );
}

/// fuzz target `cli_parse`: an unknown option holding a newline or control characters was echoed
/// raw (`unknown option --\u{4}-expect-sta\u{1}\nsl`), so the "one line" usage error became two
/// lines and could carry terminal escape sequences into the pod's logs. Whatever the user typed,
/// the usage error must be one line of printable text naming the option (escaped).
#[test]
fn a_usage_error_is_one_printable_line_whatever_the_argument_holds() {
    for arg in [
        "--\u{4}-expect-sta\u{1}\nsl",
        "--url-\u{1b}[31mred\u{1b}[0m",
        "-\n",
        "--x=\u{1b}]0;title\u{7}",
    ] {
        let ended = run(readygate().arg(arg));
        ended.assert_code(2);
        let stderr = ended.stderr.trim_end_matches('\n');
        assert_eq!(stderr.lines().count(), 1, "{arg:?}: {stderr:?}");
        assert!(
            !stderr.chars().any(char::is_control),
            "{arg:?}: control characters echoed: {stderr:?}"
        );
    }
}
