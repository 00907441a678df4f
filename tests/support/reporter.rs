//! A tiny C program the gated command runs as: it reports, from /proc/self, exactly what it
//! inherited through exec (PID, argv bytes, environment, open descriptors, signal mask and
//! ignored signals), so tests see the process readygate became, not a shell's view of it.

use std::path::PathBuf;
use std::sync::OnceLock;

const SOURCE: &str = r#"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
static void hex(FILE *f, const char *s) { for (; *s; s++) fprintf(f, "%02x", (unsigned char)*s); }
int main(int argc, char **argv) {
    const char *out = getenv("REPORT_FILE");
    FILE *f = out ? fopen(out, "w") : stderr;
    if (!f) return 99;
    int own = fileno(f);
    fprintf(f, "pid %d\n", (int)getpid());
    for (int i = 0; i < argc; i++) { fprintf(f, "arg "); hex(f, argv[i]); fprintf(f, "\n"); }
    for (char **e = environ; *e; e++) { fprintf(f, "env "); hex(f, *e); fprintf(f, "\n"); }
    DIR *d = opendir("/proc/self/fd");
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        int fd = atoi(ent->d_name);
        if (ent->d_name[0] == '.' || fd == dirfd(d) || (out && fd == own)) continue;
        fprintf(f, "fd %d\n", fd);
    }
    if (d) closedir(d);
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7)) fputs(line, f);
    if (status) fclose(status);
    fclose(f);
    return argc > 1 && !strcmp(argv[1], "exit7") ? 7 : 0;
}
"#;

/// Path of the compiled reporter (built once per test binary with the system C compiler).
pub fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| super::cc::binary("reporter", SOURCE))
}

/// What the reporter saw.
#[derive(Debug, Default)]
pub struct Report {
    pub pid: u32,
    pub args: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub fds: Vec<i32>,
    pub blocked: String,
    pub ignored: String,
}

/// Parses the reporter's output file.
pub fn read(file: &std::path::Path) -> Report {
    let text = std::fs::read_to_string(file).expect("the reporter ran and wrote its report");
    let mut report = Report::default();
    for line in text.lines() {
        let (key, value) = line.split_once([' ', ':']).expect("report line");
        let value = value.trim();
        match key {
            "pid" => report.pid = value.parse().expect("pid"),
            "arg" => report.args.push(unhex(value)),
            "env" => report.env.push(unhex(value)),
            "fd" => report.fds.push(value.parse().expect("fd")),
            "SigBlk" => report.blocked = value.to_string(),
            "SigIgn" => report.ignored = value.to_string(),
            other => panic!("unexpected report line {other}"),
        }
    }
    report
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
