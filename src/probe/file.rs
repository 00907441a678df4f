//! A `file://` target: ready once the file exists, is a regular file, is not empty, and has not
//! changed for the settle time (--file-settle).
//!
//! Each attempt is one `stat` (symlinks followed, as Kubernetes' projected volumes swap a
//! `..data` symlink). The file is never opened, so a FIFO cannot block the wait, and its content
//! is never read, so a secret never passes through readygate.
//!
//! Why the settle time: a file written in place (rather than renamed into place) is visible while
//! it is being written, and an application that reads it between two writes gets half a file.
//! The size and times of a file still being written change between writes; 200 ms by default
//! covers the pauses of a writer that renders a template and flushes it in a few writes, while
//! adding at most that much to a file seen the moment it appeared. A file written by rename (an
//! atomic write) settles too.
//!
//! Why no sleep: "unchanged for 200 ms" is judged from time stamps. The file's last change is its
//! ctime (which every write, truncation, chmod or rename onto it moves, and which, unlike mtime,
//! `touch -d` or `cp -p` cannot set back). A file first seen with a ctime older than the settle
//! time is ready at once, with no second look. The wall clock is read only when a version of the
//! file is first seen, and after that its age grows by the monotonic clock, so a clock stepped
//! while waiting changes nothing; a ctime in the future (a skewed clock) counts as "just now".
//! A version seen changing tells the wait when it will have settled ([`FileProbe::settles_in`]),
//! so the next look is not left to a backoff delay that may be longer.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::reason::{FileReason, FileState, Outcome, Reason};
use crate::log;

/// The state of one file target between attempts.
pub struct FileProbe {
    path: PathBuf,
    /// The path as logged, computed once.
    shown: String,
    settle: Duration,
    /// The version of the file last seen, when it was a candidate (a non-empty regular file).
    seen: Option<Seen>,
}

/// One version of the file: a write, truncation, chmod, or a rename onto the path changes at
/// least one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// When the file last changed by the wall clock: the later of ctime and mtime (ctime is
    /// never earlier unless a clock went backwards); `None` if before 1970.
    fn changed(&self) -> Option<SystemTime> {
        let (secs, nanos) = self.ctime.max(self.mtime);
        let secs = u64::try_from(secs).ok()?;
        let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
        UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
    }
}

/// A version of the file, and the monotonic instant it last changed (estimated once, when first
/// seen).
#[derive(Clone, Copy, Debug)]
struct Seen {
    stamp: Stamp,
    changed_at: Instant,
}

impl FileProbe {
    /// A probe of `path`, which must stay unchanged for `settle` to count as written.
    pub fn new(path: PathBuf, settle: Duration) -> Self {
        FileProbe {
            shown: log::path_shown(&path),
            path,
            settle,
            seen: None,
        }
    }

    /// One `stat`, judged now.
    pub fn probe(&mut self) -> Outcome {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) => {
                self.seen = None;
                return self.not_ready(error_state(&e));
            }
        };
        let kind = meta.file_type();
        let not_candidate = if kind.is_dir() {
            Some(FileState::Directory)
        } else if !kind.is_file() {
            Some(FileState::NotRegular(special_name(kind)))
        } else if meta.len() == 0 {
            Some(FileState::Empty)
        } else {
            None
        };
        if let Some(state) = not_candidate {
            self.seen = None;
            return self.not_ready(state);
        }
        match self.settled(Stamp::of(&meta), Instant::now(), SystemTime::now()) {
            Ok(()) => Outcome::Ready,
            Err(ago) => self.not_ready(FileState::Changed { ago }),
        }
    }

    /// How long until the version last seen will have been unchanged for the settle time, if it
    /// is waiting for that: the wait looks again no later than this.
    pub fn settles_in(&self, now: Instant) -> Option<Duration> {
        let seen = self.seen?;
        let left = self
            .settle
            .checked_sub(now.saturating_duration_since(seen.changed_at))?;
        (!left.is_zero()).then_some(left)
    }

    /// `Ok` when this version has been unchanged for the settle time, else how long ago it
    /// changed.
    fn settled(&mut self, stamp: Stamp, now: Instant, wall: SystemTime) -> Result<(), Duration> {
        let changed_at = match self.seen {
            Some(seen) if seen.stamp == stamp => seen.changed_at,
            _ => {
                // A new version: its age by the wall clock, read this once. Only ages up to the
                // settle time matter, which also keeps the subtraction within the Instant's range.
                let age = stamp
                    .changed()
                    .and_then(|changed| wall.duration_since(changed).ok())
                    .unwrap_or(Duration::ZERO)
                    .min(self.settle);
                now.checked_sub(age).unwrap_or(now)
            }
        };
        self.seen = Some(Seen { stamp, changed_at });
        let unchanged = now.saturating_duration_since(changed_at);
        if unchanged >= self.settle {
            Ok(())
        } else {
            Err(unchanged)
        }
    }

    fn not_ready(&self, state: FileState) -> Outcome {
        Outcome::NotReady(Reason::File(FileReason {
            path: self.shown.clone(),
            state,
        }))
    }
}

fn error_state(e: &io::Error) -> FileState {
    match e.kind() {
        io::ErrorKind::NotFound => FileState::Missing,
        io::ErrorKind::NotADirectory => FileState::ParentNotDirectory,
        io::ErrorKind::PermissionDenied => FileState::PermissionDenied,
        _ => FileState::Failed(e.to_string()),
    }
}

fn special_name(kind: std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "neither a file nor a directory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_millis(200);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn stamp(size: u64, ctime_secs: i64) -> Stamp {
        Stamp {
            dev: 1,
            ino: 2,
            size,
            mtime: (ctime_secs, 0),
            ctime: (ctime_secs, 0),
        }
    }

    fn wall(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + ms(millis)
    }

    fn probe() -> FileProbe {
        FileProbe::new(PathBuf::from("/vault/secrets/db"), SETTLE)
    }

    #[test]
    fn a_file_seen_just_after_it_changed_settles_by_the_monotonic_clock() {
        let mut p = probe();
        let t0 = Instant::now();
        // Changed at 1000.000 s, first seen at 1000.050 s: 50 ms old.
        assert_eq!(p.settled(stamp(5, 1000), t0, wall(1000, 50)), Err(ms(50)));
        assert_eq!(p.settles_in(t0), Some(ms(150)));
        assert_eq!(
            p.settled(stamp(5, 1000), t0 + ms(100), wall(9, 0)),
            Err(ms(150))
        );
        assert_eq!(p.settled(stamp(5, 1000), t0 + ms(150), wall(9, 0)), Ok(()));
    }

    #[test]
    fn a_file_already_older_than_the_settle_time_is_ready_at_first_sight() {
        let mut p = probe();
        assert_eq!(
            p.settled(stamp(5, 1000), Instant::now(), wall(1000, 300)),
            Ok(())
        );
    }

    #[test]
    fn any_change_restarts_the_settle_time() {
        let mut p = probe();
        let t0 = Instant::now();
        assert!(p.settled(stamp(5, 1000), t0, wall(1000, 0)).is_err());
        // Grown, same second: a new version, seen 10 ms after its change.
        let grown = Stamp {
            size: 9,
            ..stamp(5, 1000)
        };
        assert_eq!(p.settled(grown, t0 + ms(190), wall(1000, 10)), Err(ms(10)));
        // Renamed over: same size and times, another inode.
        let renamed = Stamp { ino: 3, ..grown };
        assert_eq!(
            p.settled(renamed, t0 + ms(300), wall(1000, 10)),
            Err(ms(10))
        );
        assert_eq!(p.settled(renamed, t0 + ms(490), wall(1000, 10)), Ok(()));
    }

    #[test]
    fn the_wall_clock_is_read_once_per_version() {
        let mut p = probe();
        let t0 = Instant::now();
        assert_eq!(p.settled(stamp(5, 1000), t0, wall(1000, 0)), Err(ms(0)));
        // The wall clock jumps an hour ahead: the same version is still 10 ms old.
        assert_eq!(
            p.settled(stamp(5, 1000), t0 + ms(10), wall(4600, 0)),
            Err(ms(10))
        );
    }

    #[test]
    fn a_change_time_in_the_future_counts_as_just_now() {
        let mut p = probe();
        let t0 = Instant::now();
        assert_eq!(p.settled(stamp(5, 2000), t0, wall(1000, 0)), Err(ms(0)));
        assert_eq!(p.settles_in(t0), Some(SETTLE));
    }

    #[test]
    fn a_zero_settle_time_takes_the_file_at_once() {
        let mut p = FileProbe::new(PathBuf::from("/x"), Duration::ZERO);
        assert_eq!(
            p.settled(stamp(5, 1000), Instant::now(), wall(1000, 0)),
            Ok(())
        );
    }

    #[test]
    fn reasons_read_as_sentences_and_a_changing_file_is_the_same_news() {
        let reason = |state| FileReason {
            path: "/vault/secrets/db".into(),
            state,
        };
        assert_eq!(
            reason(FileState::Missing).to_string(),
            "/vault/secrets/db does not exist yet"
        );
        assert_eq!(
            reason(FileState::Changed { ago: ms(80) }).to_string(),
            "/vault/secrets/db changed 80ms ago"
        );
        assert_eq!(
            reason(FileState::NotRegular("a FIFO")).to_string(),
            "/vault/secrets/db is not a regular file (a FIFO)"
        );
        assert_eq!(
            reason(FileState::Changed { ago: ms(80) }),
            reason(FileState::Changed { ago: ms(30) })
        );
        assert_ne!(reason(FileState::Empty), reason(FileState::Missing));
        assert_eq!(
            Reason::File(reason(FileState::Directory)).to_string(),
            "/vault/secrets/db is a directory"
        );
        assert_ne!(
            reason(FileState::Failed("a".into())),
            reason(FileState::Failed("b".into()))
        );
    }
}
