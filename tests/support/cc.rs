//! Small C programs the tests run as the gated command (they see exactly what exec handed them,
//! with no shell in between), compiled once per test binary with the system C compiler.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The binary built from `source` under `name`, compiling it on first use in this test binary.
pub fn binary(name: &str, source: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let source_file = dir.join(format!("{name}-{}.c", std::process::id()));
    let binary = dir.join(format!("{name}-{}", std::process::id()));
    std::fs::write(&source_file, source).expect("write the C source");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&binary)
        .arg(&source_file)
        .status()
        .unwrap_or_else(|e| panic!("a C compiler (cc) is needed to build {name}: {e}"));
    assert!(status.success(), "cc failed to build {name}");
    built.insert(name.to_string(), binary.clone());
    binary
}

/// C, for the programs of the signal tests: `filter_kill(action, flags)` makes every later
/// kill(2) of this process and its children answer with `action` (SECCOMP_RET_TRAP: a SIGSYS the
/// kernel forces on the caller; SECCOMP_RET_USER_NOTIF: held until a supervisor lets it go, with
/// SECCOMP_FILTER_FLAG_NEW_LISTENER in `flags`). Returns seccomp(2)'s result, -1 on failure.
pub const FILTER_KILL: &str = r#"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif
static int filter_kill(unsigned action, unsigned flags) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_kill, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}
"#;
