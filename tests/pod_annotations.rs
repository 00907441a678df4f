//! The pod annotations file, read from disk as readygate reads it (`pod::annotations::read`)
//! and judged (`pod::mode::decide`): realistic files in the kubelet's format give each mesh
//! mode; hostile ones (binary, 10 MiB, an unterminated quote, a repeated key, a FIFO) give one
//! reason and the unknown mode, never a hang or a skip; and a file whose `..data` symlink the
//! kubelet swaps while it is read is always read whole, old or new.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use readygate::pod::annotations::{self, Annotations, Problem, ReadError, MAX_FILE_BYTES};
use readygate::pod::listeners::MeshPorts;
use readygate::pod::mode::{decide, Decision, Facts, JobQuit, Mesh, PodMode};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pod-annotations")
        .join(name)
}

/// The decision for what `read` gave, with nothing of the mesh listening.
fn decided(read: &Result<Annotations, ReadError>) -> Decision {
    decide(&Facts {
        path: Path::new(annotations::DEFAULT_PATH),
        annotations: read.as_ref(),
        listeners: Ok(MeshPorts::default()),
    })
}

#[test]
fn each_realistic_file_is_read_and_decided_as_its_mesh_mode() {
    use PodMode::*;
    let cases = [
        ("istio-native", Native(Mesh::Istio)),
        ("istio-native-cni", Native(Mesh::Istio)),
        ("istio-classic", Classic(Mesh::Istio)),
        ("istio-classic-cni", Classic(Mesh::Istio)),
        ("linkerd", Sidecar(Mesh::Linkerd)),
        ("linkerd-native", Native(Mesh::Linkerd)),
        ("linkerd-classic", Classic(Mesh::Linkerd)),
        ("ambient", Ambient),
        ("none", NoSidecar),
        ("empty", NoSidecar),
    ];
    for (name, mode) in cases {
        let read = annotations::read(&fixture(name));
        assert!(read.is_ok(), "{name}: {:?}", read.err());
        let d = decided(&read);
        assert_eq!(d.mode, mode, "{name}: {}", d.found);
        assert!(!d.warn, "{name}: {}", d.found);
    }
}

#[test]
fn values_are_unquoted_exactly_as_go_quoted_them() {
    let a = annotations::read(&fixture("none")).expect("read");
    assert_eq!(a.len(), 3);
    assert_eq!(a.get("team"), Some("a=b"));
    assert_eq!(a.get("note"), Some("café \"quoted\"\tand tabbed"));
    let applied = a
        .get("kubectl.kubernetes.io/last-applied-configuration")
        .expect("last-applied");
    assert!(applied.starts_with("{\"apiVersion\":\"v1\",\"kind\":\"Pod\""));
    assert!(applied.contains(r#""note":"café \"quoted\"\tand tabbed""#));
    assert!(applied.ends_with("}}\n"));
    let istio = annotations::read(&fixture("istio-native-cni")).expect("read");
    assert_eq!(
        istio.get("traffic.sidecar.istio.io/includeOutboundIPRanges"),
        Some("*")
    );
    assert!(istio
        .get("sidecar.istio.io/status")
        .expect("status")
        .starts_with(r#"{"initContainers":["istio-validation","istio-proxy"],"containers":null,"#));
}

/// Writes `bytes` to a fresh file and reads it as the annotations file.
fn read_bytes(name: &str, bytes: &[u8]) -> Result<Annotations, ReadError> {
    let path = support::temp_path(name);
    std::fs::write(&path, bytes).expect("write");
    let read = annotations::read(&path);
    let _ = std::fs::remove_file(&path);
    read
}

/// Asserts `read` failed for `reason`, and that the decision is the unknown mode, with a
/// warning, whatever listens.
fn assert_refused(read: &Result<Annotations, ReadError>, reason: &str) {
    let e = read.as_ref().expect_err("refused");
    assert!(e.to_string().contains(reason), "{e} lacks {reason:?}");
    for listening in [MeshPorts::default(), ztunnel()] {
        let d = decide(&Facts {
            path: Path::new(annotations::DEFAULT_PATH),
            annotations: read.as_ref(),
            listeners: Ok(listening),
        });
        let line = d.line(JobQuit::Unsaid, false);
        assert_eq!(d.mode, PodMode::Unknown, "{line}");
        assert!(
            d.warn && line.starts_with("pod annotations file /etc/podinfo/annotations unusable"),
            "{line}"
        );
    }
}

fn ztunnel() -> MeshPorts {
    MeshPorts {
        ztunnel: [true; 3],
        agent: [false; 2],
    }
}

#[test]
fn a_binary_file_is_refused_with_a_reason() {
    let exe = std::fs::read(std::env::current_exe().expect("test binary")).expect("read exe");
    let read = read_bytes("binary", &exe[..64 * 1024]);
    assert!(matches!(&read, Err(ReadError::Malformed(_))), "{read:?}");
    assert_refused(&read, "not in the kubelet's format");
}

#[test]
fn a_10_mib_file_is_refused_as_too_large() {
    let line = format!("k=\"{}\"\n", "a".repeat(1019));
    let huge = line.repeat(10 * 1024);
    assert_eq!(huge.len(), 10 * 1024 * 1024);
    let read = read_bytes("huge", huge.as_bytes());
    assert!(matches!(read, Err(ReadError::TooLarge)), "{read:?}");
    assert_refused(&read, "larger than 512 KiB");
    // At the cap, the same kind of file is read.
    let fits = &huge.as_bytes()[..MAX_FILE_BYTES / line.len() * line.len()];
    assert!(read_bytes("fits", fits).is_err_and(|e| matches!(
        e,
        ReadError::Malformed(m) if m.problem == Problem::RepeatedKey
    )));
}

#[test]
fn an_unterminated_quote_is_refused_naming_its_line() {
    let text = "a.io/one=\"1\"\nb.io/secret=\"token-x9 and no closing quote\nc.io/three=\"3\"";
    let read = read_bytes("unterminated", text.as_bytes());
    assert_refused(&read, "line 2: a quoted value with no closing quote");
    assert!(!read.expect_err("refused").to_string().contains("token-x9"));
}

#[test]
fn a_repeated_key_is_refused_naming_its_line() {
    let text = "a=\"1\"\nsidecar.istio.io/status=\"{}\"\nsidecar.istio.io/status=\"{}\"";
    let read = read_bytes("repeated", text.as_bytes());
    assert_refused(&read, "line 3: a key repeated from an earlier line");
}

#[test]
fn a_fifo_a_directory_a_device_and_a_missing_file_are_reasons_not_hangs() {
    let dir = support::temp_dir("annotations-kinds");
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Nothing writes to the FIFO: a plain open would block forever.
    assert!(matches!(annotations::read(&fifo), Err(ReadError::NotAFile)));
    assert!(matches!(annotations::read(&dir), Err(ReadError::NotAFile)));
    // A character device reads for ever (/dev/zero) or nothing (/dev/null): neither is read.
    for device in ["/dev/zero", "/dev/null"] {
        let read = annotations::read(Path::new(device));
        assert!(
            matches!(read, Err(ReadError::NotAFile)),
            "{device}: {read:?}"
        );
    }
    assert!(matches!(
        annotations::read(&dir.join("absent")),
        Err(ReadError::Missing)
    ));
    let file = dir.join("file");
    std::fs::write(&file, "").expect("write");
    let through_a_file = annotations::read(&file.join("annotations"));
    assert!(
        matches!(&through_a_file, Err(ReadError::Unreadable(_))),
        "{through_a_file:?}"
    );
    assert!(through_a_file
        .expect_err("unreadable")
        .to_string()
        .starts_with("cannot be read: "));
    // A missing file is no fact at all, not an unusable one: it does not warn.
    let missing = annotations::read(&dir.join("absent"));
    let d = decided(&missing);
    assert_eq!(d.mode, PodMode::Unknown);
    assert!(!d.warn, "{}", d.found);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kubelet's `AtomicWriter`: a new timestamped directory, a `..data_tmp` symlink to it
/// renamed over `..data`, then the old directory removed; `annotations` links to
/// `..data/annotations`.
struct Volume {
    dir: PathBuf,
    version: usize,
}

impl Volume {
    fn new(dir: PathBuf, first: &str) -> Volume {
        let mut v = Volume { dir, version: 0 };
        v.write_version(first);
        std::os::unix::fs::symlink(format!("..{}", v.version), v.dir.join("..data"))
            .expect("..data");
        std::os::unix::fs::symlink("..data/annotations", v.dir.join("annotations"))
            .expect("annotations link");
        v
    }

    fn write_version(&mut self, content: &str) {
        self.version += 1;
        let version = self.dir.join(format!("..{}", self.version));
        std::fs::create_dir(&version).expect("version dir");
        std::fs::write(version.join("annotations"), content).expect("write version");
    }

    fn swap_to(&mut self, content: &str) {
        self.write_version(content);
        let tmp = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(format!("..{}", self.version), &tmp).expect("..data_tmp");
        std::fs::rename(&tmp, self.dir.join("..data")).expect("rename over ..data");
        std::fs::remove_dir_all(self.dir.join(format!("..{}", self.version - 1)))
            .expect("remove the old version");
    }
}

/// A file of `lines` annotations, every value made of `letter`: two such files differ on every
/// line, so a read that mixed them would equal neither.
fn file_of(letter: char, lines: usize) -> String {
    let value: String = std::iter::repeat_n(letter, 200).collect();
    let lines: Vec<String> = (0..lines)
        .map(|i| format!("example.com/key-{i:05}=\"{value}\""))
        .collect();
    lines.join("\n")
}

#[test]
fn a_file_swapped_while_read_is_always_read_whole_old_or_new() {
    // ~240 KiB each: several reads of the file, much longer than one swap.
    let (old, new) = (file_of('o', 1100), file_of('n', 1100));
    let want_old = annotations::parse(old.as_bytes()).expect("old");
    let want_new = annotations::parse(new.as_bytes()).expect("new");
    let dir = support::temp_dir("annotations-swap");
    let mut volume = Volume::new(dir.clone(), &old);

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
        let (old, new) = (old.clone(), new.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = swaps.fetch_add(1, Ordering::Relaxed);
                volume.swap_to(if n % 2 == 0 { &new } else { &old });
            }
        })
    };

    let path = dir.join("annotations");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut reads, mut saw_old, mut saw_new) = (0, 0, 0);
    while reads < 500 || saw_old == 0 || saw_new == 0 || swaps.load(Ordering::Relaxed) < 500 {
        assert!(
            Instant::now() < deadline,
            "{reads} reads ({saw_old} old, {saw_new} new) and {} swaps in 60 s",
            swaps.load(Ordering::Relaxed)
        );
        let read = annotations::read(&path).unwrap_or_else(|e| panic!("read {reads}: {e}"));
        if read == want_old {
            saw_old += 1;
        } else if read == want_new {
            saw_new += 1;
        } else {
            panic!("read {reads} is neither version whole: {} keys", read.len());
        }
        reads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().expect("swapper");
    eprintln!(
        "{reads} reads ({saw_old} old, {saw_new} new) during {} swaps",
        swaps.load(Ordering::Relaxed)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
