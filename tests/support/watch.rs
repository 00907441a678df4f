//! A readygate run whose stderr is read line by line as it is written, so a test can act the
//! moment readygate says something (such as "does not exist yet") instead of sleeping.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{drain, wait_with_deadline, Run, RUN_DEADLINE};

/// Lines written so far, and a signal for each new one.
type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running readygate with its stderr watched.
pub struct Watched {
    child: Child,
    lines: Lines,
    reader: JoinHandle<()>,
    stdout: JoinHandle<String>,
    start: Instant,
}

impl Watched {
    /// Spawns `cmd` with stdout and stderr piped.
    pub fn spawn(cmd: &mut Command) -> Watched {
        let start = Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn readygate");
        let stdout = drain(child.stdout.take());
        let stderr = child.stderr.take().expect("piped stderr");
        let lines: Lines = Arc::default();
        let shared = lines.clone();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (list, added) = &*shared;
                list.lock().expect("lock").push(line);
                added.notify_all();
            }
        });
        Watched {
            child,
            lines,
            reader,
            stdout,
            start,
        }
    }

    /// The process id, to signal it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stderr line contains `needle` and returns it; panics with the lines so far
    /// after `deadline`.
    pub fn wait_for(&self, needle: &str, deadline: Duration) -> String {
        let end = Instant::now() + deadline;
        let (list, added) = &*self.lines;
        let mut lines = list.lock().expect("lock");
        loop {
            if let Some(line) = lines.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no stderr line with {needle:?} within {deadline:?}:\n{}",
                lines.join("\n")
            );
            lines = added.wait_timeout(lines, left).expect("lock").0;
        }
    }

    /// Waits for the process to exit (killing it after [`RUN_DEADLINE`]) and collects its output.
    pub fn finish(mut self) -> Run {
        let status = wait_with_deadline(&mut self.child, RUN_DEADLINE);
        self.reader.join().expect("stderr reader");
        let stderr = self.lines.0.lock().expect("lock").join("\n");
        Run {
            status,
            stdout: self.stdout.join().expect("stdout reader"),
            stderr,
            elapsed: self.start.elapsed(),
        }
    }
}
