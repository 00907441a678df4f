//! `--mesh auto` (the default) through the real binary, one pod kind at a time: realistic
//! annotations files in the kubelet's format, and stand-in sidecars on the mesh's own ports.
//! A classic sidecar is waited for and quit in Job mode; a native one is waited for and never
//! quit; Linkerd's is waited for on 4191; an uninjected or ambient pod runs the command at once
//! with a line saying why (its dependencies still checked); ztunnel's listeners alone make an
//! ambient pod, and beside a sidecar agent's 15020 they do not.
//!
//! Each test runs inside a private network namespace, where its stand-ins take the mesh's
//! ports and nothing else on the machine can answer.

mod support;

use support::netns::in_private_netns;
use support::pod::{annotations, assert_no_default_file, ztunnel};
use support::proxy::{Paths, Proxy, QuitReply, Readiness, ISTIO, LINKERD};
use support::wire::{Act, Peer};
use support::{readygate, run, sh, temp_path, Run, Watched, RUN_DEADLINE};

const ISTIO_AGENT: &str = "127.0.0.1:15020";
const LINKERD_ADMIN: &str = "127.0.0.1:4191";

/// What happened in a pod whose sidecar came up only after readygate had decided.
struct Waited {
    run: Run,
    /// The decision's line.
    line: String,
    /// Readiness probes the sidecar received, and whether the command had run at each.
    probes: Vec<bool>,
    /// Quit POSTs the sidecar received, and whether the command had run at each.
    quits: Vec<bool>,
}

/// Runs readygate with `fixture`'s annotations (in Job mode with `job`) while nothing listens
/// on the sidecar's port; once it has logged its decision (a line holding `decided`), a ready
/// stand-in for `paths` comes up on `addr`. The command creates a marker file, so the
/// stand-in sees for each request whether the command had run.
fn sidecar_comes_up_after_the_decision(
    fixture: &str,
    job: bool,
    addr: &str,
    paths: Paths,
    quit: QuitReply,
    decided: &str,
) -> Waited {
    let marker = temp_path(&format!("ran-{fixture}"));
    let _ = std::fs::remove_file(&marker);
    let mut cmd = readygate();
    cmd.args(annotations(fixture));
    if job {
        cmd.arg("--shutdown");
    }
    cmd.arg("--")
        .args(sh(&format!("touch '{}'", marker.display())));
    let mut watched = Watched::spawn(&mut cmd);
    let line = watched.wait_for_line("the decision", RUN_DEADLINE, |l| l.contains(decided));
    let sidecar = Proxy::at(addr, paths, Readiness::Ready, quit, Some(marker.clone()));
    if job {
        // The quit is confirmed by the port closing: close it once the quit has come.
        let quit_url = format!("url=http://localhost:{}{}", sidecar.addr.port(), paths.quit);
        watched.wait_for_line("the quit", RUN_DEADLINE, |l| l.contains(&quit_url));
    }
    let probes = sidecar.probe_requests();
    let quits = sidecar.quits();
    drop(sidecar);
    let run = watched.finish();
    let ran = marker.exists();
    let _ = std::fs::remove_file(&marker);
    assert!(ran, "{fixture}: the command never ran:\n{}", run.stderr);
    Waited {
        run,
        line,
        probes: probes.iter().map(|r| r.marker_existed).collect(),
        quits: quits.iter().map(|r| r.marker_existed).collect(),
    }
}

/// Asserts that readygate waited: it probed the sidecar, and the command had not run yet when
/// it did.
fn assert_waited(w: &Waited) {
    assert!(
        !w.probes.is_empty() && w.probes.iter().all(|&ran| !ran),
        "probes (command run at each?): {:?}\n{}",
        w.probes,
        w.run.stderr
    );
}

#[test]
fn an_istio_classic_sidecar_is_waited_for_and_quit_in_job_mode() {
    if !in_private_netns("an_istio_classic_sidecar_is_waited_for_and_quit_in_job_mode") {
        return;
    }
    for fixture in ["istio-classic", "istio-classic-cni"] {
        let w = sidecar_comes_up_after_the_decision(
            fixture,
            true,
            ISTIO_AGENT,
            ISTIO,
            QuitReply::Ok,
            "istio classic sidecar",
        );
        w.run.assert_code(0);
        assert!(
            w.line.ends_with(
                "INFO readygate: istio classic sidecar (sidecar.istio.io/status lists istio-proxy \
                 under containers only): waiting for it, then quitting it when the command ends"
            ),
            "{fixture}: {}",
            w.line
        );
        assert_waited(&w);
        // One quit, after the command.
        assert_eq!(w.quits, [true], "{fixture}:\n{}", w.run.stderr);
    }
}

#[test]
fn an_istio_native_sidecar_is_waited_for_and_never_quit_in_job_mode() {
    if !in_private_netns("an_istio_native_sidecar_is_waited_for_and_never_quit_in_job_mode") {
        return;
    }
    for fixture in ["istio-native", "istio-native-cni"] {
        let mut cmd = readygate();
        let marker = temp_path(&format!("ran-{fixture}"));
        cmd.args(annotations(fixture))
            .args(["--shutdown", "--"])
            .args(sh(&format!("touch '{}'", marker.display())));
        let mut watched = Watched::spawn(&mut cmd);
        let line = watched.wait_for_line("the decision", RUN_DEADLINE, |l| {
            l.contains("istio native sidecar")
        });
        let sidecar = Proxy::at(
            ISTIO_AGENT,
            ISTIO,
            Readiness::Ready,
            QuitReply::Ok,
            Some(marker.clone()),
        );
        let run = watched.finish();
        run.assert_code(0);
        assert!(
            line.ends_with(
                "istio native sidecar (sidecar.istio.io/status lists istio-proxy under \
                 initContainers): waiting for it, and no quit in Job mode (the kubelet stops a \
                 native sidecar itself)"
            ),
            "{fixture}: {line}"
        );
        let probes = sidecar.probe_requests();
        assert!(!probes.is_empty() && probes.iter().all(|p| !p.marker_existed));
        assert!(marker.exists(), "{fixture}: the command never ran");
        assert!(
            sidecar.quits().is_empty(),
            "{fixture}: quit a native sidecar"
        );
        assert_eq!(
            run.stderr_lines_with(
                "istio native sidecar (sidecar.istio.io/status lists istio-proxy under \
                 initContainers): the kubelet ends it after the application's containers; not \
                 quitting it"
            )
            .len(),
            1,
            "{}",
            run.stderr
        );
        let _ = std::fs::remove_file(&marker);
    }
}

#[test]
fn a_native_sidecar_ready_at_the_first_probe_is_not_quit_either() {
    // The usual native pod: the kubelet started the app only once the proxy was ready.
    if !in_private_netns("a_native_sidecar_ready_at_the_first_probe_is_not_quit_either") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::Ready, QuitReply::Ok, None);
    let result =
        run(readygate()
            .args(annotations("istio-native"))
            .args(["-v", "--shutdown", "--", "true"]));
    result.assert_code(0);
    assert!(sidecar.quits().is_empty(), "{}", result.stderr);
    let lines: Vec<&str> = result.stderr.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
    // Nothing was gathered for the wait; the facts were read for the quit, after the command.
    let gathered = at("pod facts gathered").expect("facts for the quit");
    assert!(at("readygate: ready").is_some_and(|ready| ready < gathered));
    assert!(
        at("the command exited").is_some_and(|exited| exited < gathered),
        "{}",
        result.stderr
    );
    assert!(
        at(
            "istio native sidecar (sidecar.istio.io/status lists istio-proxy under \
            initContainers): the kubelet ends it after the application's containers; not \
            quitting it"
        )
        .is_some(),
        "{}",
        result.stderr
    );
}

#[test]
fn a_classic_sidecar_ready_at_the_first_probe_is_still_quit() {
    if !in_private_netns("a_classic_sidecar_ready_at_the_first_probe_is_still_quit") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::Ready, QuitReply::Ok, None);
    let mut watched = Watched::spawn(readygate().args(annotations("istio-classic")).args([
        "--shutdown",
        "--",
        "true",
    ]));
    let line = watched.wait_for_line("the quit", RUN_DEADLINE, |l| l.contains("quit the sidecar"));
    let quits = sidecar.quits().len();
    drop(sidecar);
    let result = watched.finish();
    result.assert_code(0);
    assert_eq!(quits, 1, "{line}\n{}", result.stderr);
    result.assert_stderr_has(
        "istio classic sidecar (sidecar.istio.io/status lists istio-proxy under containers \
         only): quitting it",
    );
}

#[test]
fn a_quit_url_given_is_quit_whatever_the_pod_says() {
    if !in_private_netns("a_quit_url_given_is_quit_whatever_the_pod_says") {
        return;
    }
    let sidecar = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::NotReady, QuitReply::Ok, None);
    let other = Proxy::start(true, QuitReply::Ok);
    let mut watched = Watched::spawn(readygate().args(annotations("istio-native")).args([
        "--quit-url",
        &other.quit_url(),
        "-t",
        "300ms",
        "-S",
        "--",
        "true",
    ]));
    let line = watched.wait_for_line("the decision", RUN_DEADLINE, |l| {
        l.contains("istio native sidecar")
    });
    let result = watched.finish();
    result.assert_code(69);
    // The line promises nothing about a quit it does not decide.
    assert!(line.ends_with("initContainers): waiting for it"), "{line}");
    assert_eq!(other.quits().len(), 1, "{}", result.stderr);
    assert!(sidecar.quits().is_empty());
    assert!(
        !result.stderr.contains("not quitting it"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_linkerd_classic_sidecar_is_waited_for_on_4191_and_quit_there() {
    if !in_private_netns("a_linkerd_classic_sidecar_is_waited_for_on_4191_and_quit_there") {
        return;
    }
    let w = sidecar_comes_up_after_the_decision(
        "linkerd-classic",
        true,
        LINKERD_ADMIN,
        LINKERD,
        QuitReply::Ok,
        "linkerd classic sidecar",
    );
    w.run.assert_code(0);
    assert!(
        w.line.ends_with(
            "linkerd classic sidecar (config.linkerd.io/proxy-enable-native-sidecar is false): \
             waiting for it, then quitting it when the command ends \
             url=http://localhost:4191/ready"
        ),
        "{}",
        w.line
    );
    assert_waited(&w);
    assert_eq!(w.quits, [true], "{}", w.run.stderr);
    w.run
        .assert_stderr_has("quit the sidecar url=http://localhost:4191/shutdown");
}

#[test]
fn a_linkerd_native_sidecar_is_waited_for_on_4191_and_not_quit() {
    if !in_private_netns("a_linkerd_native_sidecar_is_waited_for_on_4191_and_not_quit") {
        return;
    }
    let marker = temp_path("ran-linkerd-native");
    let mut watched = Watched::spawn(
        readygate()
            .args(annotations("linkerd-native"))
            .args(["--shutdown", "--"])
            .args(sh(&format!("touch '{}'", marker.display()))),
    );
    watched.wait_for_line("the decision", RUN_DEADLINE, |l| {
        l.contains("linkerd native sidecar (config.linkerd.io/proxy-enable-native-sidecar is true)")
    });
    let sidecar = Proxy::at(
        LINKERD_ADMIN,
        LINKERD,
        Readiness::Ready,
        QuitReply::Ok,
        Some(marker.clone()),
    );
    let result = watched.finish();
    result.assert_code(0);
    let probes = sidecar.probe_requests();
    assert!(!probes.is_empty() && probes.iter().all(|p| !p.marker_existed));
    assert!(marker.exists());
    assert!(sidecar.quits().is_empty(), "{}", result.stderr);
    result.assert_stderr_has(
        "the kubelet ends it after the application's containers; not quitting it",
    );
    let _ = std::fs::remove_file(&marker);
}

#[test]
fn a_linkerd_sidecar_of_unsaid_kind_is_quit_and_its_404_is_no_warning() {
    if !in_private_netns("a_linkerd_sidecar_of_unsaid_kind_is_quit_and_its_404_is_no_warning") {
        return;
    }
    let w = sidecar_comes_up_after_the_decision(
        "linkerd",
        true,
        LINKERD_ADMIN,
        LINKERD,
        QuitReply::Status(404),
        "linkerd sidecar (linkerd.io/proxy-version; classic or native not said)",
    );
    w.run.assert_code(0);
    assert_waited(&w);
    assert_eq!(w.quits, [true], "{}", w.run.stderr);
    assert!(!w.run.stderr.contains(" WARN "), "{}", w.run.stderr);
    w.run.assert_stderr_has(
        "INFO readygate: the sidecar's quit endpoint refused, as expected of a native sidecar or \
         a shutdown endpoint left off url=http://localhost:4191/shutdown outcome=\"404: the quit \
         endpoint is disabled or wrong\"",
    );
}

/// Runs a command that prints `ran` with `args`, where nothing listens on any sidecar port;
/// asserts it ran after the one failed probe of the sidecar, and that the wait's last line says
/// there was nothing to wait for, not that something became ready.
fn runs_at_once(args: &[String]) -> Run {
    let result = runs_at_once_after(args, 1);
    result.assert_stderr_has(
        "INFO readygate: nothing to wait for: the pod needs no sidecar, and there are no dependencies \
         elapsed_ms=",
    );
    assert!(
        !result.stderr.contains("readygate: ready "),
        "{}",
        result.stderr
    );
    result
}

/// As [`runs_at_once`], with `attempts` in all: the sidecar's one, and each dependency stage's.
fn runs_at_once_after(args: &[String], attempts: usize) -> Run {
    let result = run(readygate()
        .args(args)
        .args(["--timeout", "10s", "--"])
        .args(sh("printf ran")));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran", "{}", result.stderr);
    assert!(
        result.stderr.contains(&format!("attempts={attempts}\n")),
        "{}",
        result.stderr
    );
    assert!(
        !result.stderr.contains("not ready yet"),
        "{}",
        result.stderr
    );
    result
}

/// The stderr line that holds `needle`, with its level and target, or a panic showing stderr.
fn line_with<'a>(result: &'a Run, needle: &str) -> &'a str {
    let lines = result.stderr_lines_with(needle);
    assert_eq!(lines.len(), 1, "{needle:?} in:\n{}", result.stderr);
    lines[0]
}

#[test]
fn an_uninjected_pod_runs_the_command_at_once_and_says_why() {
    if !in_private_netns("an_uninjected_pod_runs_the_command_at_once_and_says_why") {
        return;
    }
    let result = runs_at_once(&annotations("none"));
    assert!(line_with(&result, "no sidecar in this pod").ends_with(
        "INFO readygate: no sidecar in this pod (its annotations name no mesh): running the \
         command now"
    ));
    let result = runs_at_once(&annotations("empty"));
    assert!(line_with(&result, "no sidecar in this pod")
        .ends_with("no sidecar in this pod (it has no annotations): running the command now"));
    // In Job mode: nothing to quit, and no attempt to.
    let result =
        run(readygate()
            .args(annotations("none"))
            .args(["--shutdown", "--", "sh", "-c", "exit 4"]));
    result.assert_code(4);
    assert!(line_with(
        &result,
        "no sidecar in this pod (its annotations name no mesh): running"
    )
    .ends_with("running the command now, and no quit when it ends"));
    line_with(
        &result,
        "no sidecar in this pod (its annotations name no mesh): nothing to quit",
    );
    assert!(
        !result.stderr.contains("quit the sidecar") && !result.stderr.contains("could not quit")
    );
}

#[test]
fn an_ambient_pod_by_its_annotation_runs_the_command_at_once() {
    if !in_private_netns("an_ambient_pod_by_its_annotation_runs_the_command_at_once") {
        return;
    }
    let result = runs_at_once(&annotations("ambient"));
    assert!(line_with(&result, "istio ambient").ends_with(
        "INFO readygate: istio ambient (ambient.istio.io/redirection: enabled): not waiting for \
         a sidecar, running the command now"
    ));
}

#[test]
fn ztunnels_listeners_alone_make_an_ambient_pod_that_runs_the_command_at_once() {
    if !in_private_netns(
        "ztunnels_listeners_alone_make_an_ambient_pod_that_runs_the_command_at_once",
    ) {
        return;
    }
    assert_no_default_file();
    let _ztunnel = ztunnel();
    let result = runs_at_once(&[]);
    assert!(line_with(&result, "istio ambient").ends_with(
        "INFO readygate: istio ambient (ztunnel listens on 15001, 15006 and 15008, nothing on \
         15020 or 15021): not waiting for a sidecar, running the command now"
    ));
}

#[test]
fn a_given_annotations_file_that_is_missing_is_a_warning_and_the_listeners_still_decide() {
    if !in_private_netns(
        "a_given_annotations_file_that_is_missing_is_a_warning_and_the_listeners_still_decide",
    ) {
        return;
    }
    let _ztunnel = ztunnel();
    let missing = temp_path("annotations-given-missing-ambient");
    let result = runs_at_once(&[
        "--pod-annotations".to_string(),
        missing.display().to_string(),
    ]);
    assert!(line_with(&result, "not found").contains(&format!(
        "WARN readygate: pod annotations file {} not found: deciding without it",
        missing.display()
    )));
    assert!(line_with(&result, "istio ambient").ends_with(
        "INFO readygate: istio ambient (ztunnel listens on 15001, 15006 and 15008, nothing on \
         15020 or 15021): not waiting for a sidecar, running the command now"
    ));
}

#[test]
fn ztunnels_listeners_beside_a_sidecar_agent_on_15020_wait_as_before() {
    if !in_private_netns("ztunnels_listeners_beside_a_sidecar_agent_on_15020_wait_as_before") {
        return;
    }
    assert_no_default_file();
    let _ztunnel = ztunnel();
    let agent = Proxy::at(ISTIO_AGENT, ISTIO, Readiness::NotReady, QuitReply::Ok, None);
    let result = run(readygate().args(["-t", "300ms", "--", "true"]));
    result.assert_code(69);
    assert!(line_with(&result, "a sidecar agent").ends_with(
        "INFO readygate: a sidecar agent listens on 15001, 15006, 15008, 15020 here: waiting for \
         istio's sidecar as before"
    ));
    // Today's wait: Istio's endpoint, its 503 (the stand-in's body, "no") the reason.
    assert!(
        line_with(&result, "not ready after")
            .ends_with("http://localhost:15020/healthz/ready (503 \"no\")"),
        "{}",
        result.stderr
    );
    assert!(agent.probes() > 1, "{}", result.stderr);
}

#[test]
fn a_pod_without_a_sidecar_still_checks_its_dependencies() {
    if !in_private_netns("a_pod_without_a_sidecar_still_checks_its_dependencies") {
        return;
    }
    // PING as readygate sends it, and the reply only a live Redis sends.
    let redis = Peer::start(Act::answer(14, b"+PONG\r\n"));
    let url = redis.url("redis");
    let mut args = annotations("none").to_vec();
    args.extend(["--url".to_string(), url.clone()]);
    let result = runs_at_once_after(&args, 2);
    // The dependency did become ready.
    result.assert_stderr_has("readygate: ready elapsed_ms=");
    assert!(line_with(&result, "no sidecar in this pod").ends_with(
        "no sidecar in this pod (its annotations name no mesh): checking the dependencies, then \
         running the command"
    ));
    assert_eq!(redis.hits(), 1);
    assert!(
        !result.stderr.contains("sidecar ready;"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_pod_whose_annotations_name_no_mesh_but_whose_proxy_listens_waits_as_before() {
    // Conservative: annotations that name no mesh, with a proxy's 15001 and 15006 but not
    // ztunnel's 15008, are not taken for an uninjected pod.
    if !in_private_netns(
        "a_pod_whose_annotations_name_no_mesh_but_whose_proxy_listens_waits_as_before",
    ) {
        return;
    }
    let file = temp_path("annotations-no-mesh");
    std::fs::write(&file, "kubectl.kubernetes.io/default-container=\"app\"").expect("write");
    let _outbound = std::net::TcpListener::bind("0.0.0.0:15001").expect("15001");
    let _inbound = std::net::TcpListener::bind("0.0.0.0:15006").expect("15006");
    let result = run(readygate()
        .arg("--pod-annotations")
        .arg(&file)
        .args(["-t", "300ms", "--", "true"]));
    result.assert_code(69);
    line_with(
        &result,
        "the pod's annotations name no mesh, but a proxy listens on 15001, 15006 here (mesh mode \
         unknown): waiting for istio's sidecar as before",
    );
    let _ = std::fs::remove_file(&file);
}
