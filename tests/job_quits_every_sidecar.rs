//! Job mode quits every sidecar even when one quit fails: each is POSTed once, and one summary
//! line says which were quit and why the others were not. The exit code is the command's.

mod support;

use support::endpoint::{Behaviour, Endpoint, ExitingSidecar};
use support::{readygate, run, sh};

#[test]
fn with_three_quit_urls_and_one_refusing_the_other_two_are_quit_and_the_summary_names_it() {
    let (first, second) = (ExitingSidecar::start(), ExitingSidecar::start());
    // A sidecar whose quit endpoint is disabled (Linkerd's default answers 404).
    let refusing = Endpoint::start(Behaviour::Status(404, b"not found\n".to_vec()));
    let refusing_url = format!("http://{}/quitquitquit", refusing.addr);
    let result = run(readygate()
        .args(["--url", &first.url()])
        .args(["--quit-url", &first.quit_url()])
        .args(["--quit-url", &refusing_url])
        .args(["--quit-url", &second.quit_url()])
        .args(["-S", "--"])
        .args(sh("exit 4")));
    result.assert_code(4);
    assert_eq!(first.quits(), 1, "stderr:\n{}", result.stderr);
    assert_eq!(second.quits(), 1, "stderr:\n{}", result.stderr);
    assert_eq!(
        refusing.requests().len(),
        1,
        "one POST to the refusing one, not retried; stderr:\n{}",
        result.stderr
    );
    let summary: Vec<&str> = result
        .stderr
        .lines()
        .filter(|l| l.contains("quit 2 of 3 sidecars"))
        .collect();
    assert_eq!(summary.len(), 1, "one summary line:\n{}", result.stderr);
    assert!(
        summary[0].contains(&format!("not quit: {refusing_url} (404")),
        "the summary names the refusing one and why: {}",
        summary[0]
    );
}
