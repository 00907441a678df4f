//! When `--mesh auto` gathers the pod's facts, and what bad ones do: nothing is gathered when
//! the sidecar answers 200 at the first probe, nor with an explicit `--mesh` or a `--url` naming
//! the sidecar's endpoint; a hostile annotations file (binary, 10 MiB, an unterminated quote, a
//! repeated key) is one warning and the wait as before, never a skip and never its content in a
//! log; a missing `--pod-annotations` file is a warning naming it; a wait cut short by a
//! signal quits as before if no facts were gathered yet, or as decided once they were; and in
//! Job mode with the wait disabled (READYGATE_DISABLED), the facts are gathered once the
//! command has exited, and decide the quit.
//!
//! Each test runs inside a private network namespace, where its stand-ins take the mesh's
//! ports and nothing else on the machine can answer.

mod support;

use std::path::PathBuf;

use support::netns::in_private_netns;
use support::pod::{annotations, ztunnel};
use support::proxy::{Proxy, QuitReply, Readiness, ISTIO};
use support::{eventually, readygate, run, send_signal, temp_path, Run, Watched, RUN_DEADLINE};

const ISTIO_AGENT: &str = "127.0.0.1:15020";

/// A value no log line may ever show.
const SECRET: &str = "s3cr3t-t0k3n-in-an-annotation";

/// The hostile files: name, content, and the reason readygate must give.
fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut binary: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
    binary.extend_from_slice(SECRET.as_bytes());
    let mut huge = format!("note=\"{SECRET}\"\n").into_bytes();
    huge.resize(10 * 1024 * 1024, b'x');
    vec![
        ("binary", binary, "not in the kubelet's format"),
        ("10mib", huge, "larger than 512 KiB"),
        (
            "unterminated",
            format!("a.io/x=\"1\"\nb.io/token=\"{SECRET}\nc=\"2\"").into_bytes(),
            "line 2: a quoted value with no closing quote",
        ),
        (
            "repeated",
            format!(
                "ambient.istio.io/redirection=\"enabled\"\nambient.istio.io/redirection=\"{SECRET}\""
            )
            .into_bytes(),
            "line 2",
        ),
    ]
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = temp_path(name);
    std::fs::write(&path, bytes).expect("write the annotations file");
    path
}

/// The lines at warning level (or above).
fn warnings(result: &Run) -> Vec<&str> {
    result
        .stderr
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| !l.contains("not ready after"))
        .collect()
}

#[test]
fn a_hostile_annotations_file_is_one_warning_and_the_wait_as_before() {
    if !in_private_netns("a_hostile_annotations_file_is_one_warning_and_the_wait_as_before") {
        return;
    }
    // ztunnel's listeners too: even with ambient's other evidence, bad annotations never skip.
    let _ztunnel = ztunnel();
    for (name, bytes, reason) in hostile() {
        let path = write(&format!("annotations-{name}"), &bytes);
        let result = run(readygate()
            .arg("--pod-annotations")
            .arg(&path)
            .args(["-t", "300ms", "--", "true"]));
        result.assert_code(69);
        let warned = warnings(&result);
        assert_eq!(warned.len(), 1, "{name}:\n{}", result.stderr);
        let expected = format!(
            "WARN readygate: pod annotations file {} unusable (",
            path.display()
        );
        assert!(
            warned[0].contains(&expected)
                && warned[0].contains(reason)
                && warned[0].ends_with("): waiting for istio's sidecar as before"),
            "{name}: {}",
            warned[0]
        );
        assert!(
            result.stderr.contains("ERROR readygate: not ready after ")
                && result
                    .stderr
                    .contains("http://localhost:15020/healthz/ready (nothing listening"),
            "{name}:\n{}",
            result.stderr
        );
        assert!(
            !result.stderr.contains(SECRET),
            "{name}:\n{}",
            result.stderr
        );
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn with_the_sidecar_ready_at_the_first_probe_no_fact_is_gathered() {
    if !in_private_netns("with_the_sidecar_ready_at_the_first_probe_no_fact_is_gathered") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::Ready, QuitReply::Ok, None);
    let (_, binary, _) = hostile().swap_remove(0);
    let bad = write("annotations-fast-path", &binary);
    let missing = temp_path("annotations-that-do-not-exist");
    for file in [&bad, &missing] {
        let result = run(readygate()
            .arg("--pod-annotations")
            .arg(file)
            .args(["--", "printf", "ran"]));
        result.assert_code(0);
        assert_eq!(result.stdout, "ran");
        // Today's two lines, and nothing about the pod.
        let lines: Vec<&str> = result.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", result.stderr);
        assert!(lines[0].contains("INFO readygate: waiting for the sidecar to be ready"));
        assert!(lines[1].contains("INFO readygate: ready elapsed_ms="));
        // With debug logs, the reads themselves would show.
        let verbose = run(readygate()
            .arg("--pod-annotations")
            .arg(file)
            .args(["-v", "--", "true"]));
        verbose.assert_code(0);
        assert!(
            !verbose.stderr.contains("pod facts gathered"),
            "{}",
            verbose.stderr
        );
    }
    assert_eq!(sidecar.probes(), 4);
    let _ = std::fs::remove_file(&bad);
}

#[test]
fn an_explicit_mesh_or_a_url_for_the_sidecar_gathers_no_facts() {
    if !in_private_netns("an_explicit_mesh_or_a_url_for_the_sidecar_gathers_no_facts") {
        return;
    }
    // Annotations that would mean "no sidecar": with detection on, the command would run now.
    let [flag, none] = annotations("none");
    for explicit in [
        &["--mesh", "istio"][..],
        &["--url", "http://localhost:15020/healthz/ready"],
        &[
            "--url",
            "redis://127.0.0.1:1",
            "--url",
            "tcp://127.0.0.1:15020",
        ],
    ] {
        let result = run(readygate()
            .args([&flag, &none])
            .args(explicit)
            .args(["-v", "-t", "300ms", "--", "true"]));
        result.assert_code(69);
        assert!(
            !result.stderr.contains("pod facts gathered")
                && !result.stderr.contains("no sidecar in this pod"),
            "{explicit:?}:\n{}",
            result.stderr
        );
        // The option is named as ignored, once.
        assert_eq!(
            result
                .stderr_lines_with("--pod-annotations has no effect with")
                .len(),
            1,
            "{explicit:?}:\n{}",
            result.stderr
        );
    }
}

#[test]
fn a_missing_annotations_file_that_was_given_is_a_warning_naming_it() {
    if !in_private_netns("a_missing_annotations_file_that_was_given_is_a_warning_naming_it") {
        return;
    }
    let missing = temp_path("annotations-given-but-missing");
    let result = run(readygate()
        .env("READYGATE_POD_ANNOTATIONS", &missing)
        .args(["-t", "300ms", "--", "true"]));
    result.assert_code(69);
    let warned = warnings(&result);
    assert_eq!(
        warned.len(),
        1,
        "one warning, naming the file:\n{}",
        result.stderr
    );
    assert!(
        warned[0].ends_with(&format!(
            "WARN readygate: pod annotations file {} not found: deciding without it (check \
             --pod-annotations or READYGATE_POD_ANNOTATIONS, and the Downward API volume's \
             mountPath)",
            missing.display()
        )),
        "{}",
        warned[0]
    );
    result.assert_stderr_has(&format!(
        "mesh mode unknown (no pod annotations file at {}, no ztunnel listening here): waiting \
         for istio's sidecar as before",
        missing.display()
    ));
}

#[test]
fn a_signal_before_the_facts_quits_as_before_and_after_them_as_decided() {
    if !in_private_netns("a_signal_before_the_facts_quits_as_before_and_after_them_as_decided") {
        return;
    }
    // Before: the first probe hangs, so nothing is decided yet; the pod's annotations (no
    // sidecar, nothing to quit) were never read, and the quit goes out as it always did.
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::Hang, QuitReply::Ok, None);
    let mut watched = Watched::spawn(readygate().args(annotations("none")).args([
        "--request-timeout",
        "30s",
        "-S",
        "--",
        "true",
    ]));
    eventually("the first probe", RUN_DEADLINE, || sidecar.probes() == 1);
    send_signal("TERM", watched.pid());
    watched.wait_for_line("the quit", RUN_DEADLINE, |l| l.contains("quit the sidecar"));
    let quits = sidecar.quits().len();
    drop(sidecar);
    let result = watched.finish();
    result.assert_code(143);
    assert_eq!(quits, 1, "{}", result.stderr);
    assert!(
        !result.stderr.contains("no sidecar in this pod"),
        "{}",
        result.stderr
    );

    // After: a native sidecar, decided after the first 503; a SIGTERM then quits nothing.
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::NotReady, QuitReply::Ok, None);
    let mut watched = Watched::spawn(
        readygate()
            .args(annotations("istio-native"))
            .args(["-S", "--", "true"]),
    );
    watched.wait_for_line("the decision", RUN_DEADLINE, |l| {
        l.contains("istio native sidecar")
    });
    send_signal("TERM", watched.pid());
    let result = watched.finish();
    result.assert_code(143);
    assert!(sidecar.quits().is_empty(), "{}", result.stderr);
    result.assert_stderr_has(
        "the kubelet ends it after the application's containers; not quitting it",
    );
}

/// Job mode with READYGATE_DISABLED and a stand-in sidecar on Istio's port that never answers
/// ready (had readygate waited, it would have timed out): the command runs without a probe,
/// and the pod's annotations, read once it has exited, decide the quit.
fn disabled_job(fixture: &str, sidecar: &Proxy) -> (Run, usize) {
    let mut watched = Watched::spawn(
        readygate()
            .args(annotations(fixture))
            .args(["-t", "5s", "--shutdown", "--", "sh", "-c", "exit 3"])
            .env("READYGATE_DISABLED", "true"),
    );
    let quit = fixture == "istio-classic";
    if quit {
        // The quit POST is answered; the sidecar then goes away, as a real one would.
        watched.wait_for_line("the quit", RUN_DEADLINE, |l| l.contains("quit the sidecar"));
    }
    let result = watched.finish();
    assert_eq!(sidecar.probes(), 0, "{fixture}: probed while disabled");
    (result, sidecar.quits().len())
}

#[test]
fn with_the_wait_disabled_an_istio_classic_pod_still_has_its_sidecar_quit() {
    if !in_private_netns("with_the_wait_disabled_an_istio_classic_pod_still_has_its_sidecar_quit") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::NotReady, QuitReply::Ok, None);
    let (result, quits) = disabled_job("istio-classic", &sidecar);
    result.assert_code(3);
    assert_eq!(quits, 1, "{}", result.stderr);
    result.assert_stderr_has(
        "istio classic sidecar (sidecar.istio.io/status lists istio-proxy under containers \
         only): quitting it",
    );
}

#[test]
fn with_the_wait_disabled_an_istio_native_pod_gets_no_quit() {
    if !in_private_netns("with_the_wait_disabled_an_istio_native_pod_gets_no_quit") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::NotReady, QuitReply::Ok, None);
    let (result, quits) = disabled_job("istio-native", &sidecar);
    result.assert_code(3);
    assert_eq!(quits, 0, "{}", result.stderr);
    result.assert_stderr_has(
        "istio native sidecar (sidecar.istio.io/status lists istio-proxy under initContainers): \
         the kubelet ends it after the application's containers; not quitting it",
    );
}

#[test]
fn with_the_wait_disabled_an_uninjected_pod_gets_no_quit_attempt() {
    if !in_private_netns("with_the_wait_disabled_an_uninjected_pod_gets_no_quit_attempt") {
        return;
    }
    // Nothing on any mesh port: an attempted quit would be refused and logged as a failure.
    let result = run(readygate()
        .args(annotations("none"))
        .args(["-t", "5s", "--shutdown", "--", "sh", "-c", "exit 3"])
        .env("READYGATE_DISABLED", "true"));
    result.assert_code(3);
    result.assert_stderr_has(
        "INFO readygate: no sidecar in this pod (its annotations name no mesh): nothing to quit",
    );
    assert!(
        !result.stderr.contains("quit the sidecar")
            && !result.stderr.contains("could not quit")
            && !result.stderr.contains(" WARN "),
        "{}",
        result.stderr
    );
}
