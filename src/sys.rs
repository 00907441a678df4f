//! The only `unsafe` in readygate: thin wrappers over the libc calls Job mode needs (waitpid,
//! kill, prctl), the signal calls (rt_sigprocmask, signalfd4, rt_sigaction, tgkill), the uid
//! `--wait-app-exit` needs (geteuid), each with its SAFETY argument, and the descriptor check made
//! before the runtime starts. Everything else calls these safe functions.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

/// A process ID as the kernel knows it.
pub type Pid = libc::pid_t;

/// What one non-blocking `waitpid(-1)` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reaped {
    /// This child exited (or was killed) and has been reaped.
    Child(Pid, ExitStatus),
    /// Children exist, but none has exited yet.
    NoneExited,
    /// There are no children left to wait for (ECHILD).
    NoChildren,
}

/// Reaps one exited child of this process (any child, including orphans reparented to it),
/// without blocking.
pub fn reap_one() -> io::Result<Reaped> {
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid, writable c_int for the duration of the call; waitpid has no
    // other memory effects. -1 and WNOHANG are valid arguments (any child, do not block).
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    match pid {
        0 => Ok(Reaped::NoneExited),
        pid if pid > 0 => Ok(Reaped::Child(pid, ExitStatus::from_raw(status))),
        _ => {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ECHILD) => Ok(Reaped::NoChildren),
                _ => Err(err),
            }
        }
    }
}

/// Sends `signal` to the process `pid`.
pub fn kill(pid: Pid, signal: i32) -> io::Result<()> {
    // kill(0 or negative) would signal a whole process group, never what a caller means here.
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: kill takes plain integers and touches no memory; the guard above rules out the
    // process-group forms. The PID belongs to a child this process has not reaped yet (the caller
    // stops signalling once it reaps it), so it cannot have been recycled for another process.
    match unsafe { libc::kill(pid, signal) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Checks that `count` more descriptors can be opened now, by opening and closing them.
///
/// Safe code, listed here because it is about process resources: socket pairs need no
/// filesystem (readygate runs in empty images), and everything is closed again on return.
pub fn reserve_descriptors(count: usize) -> io::Result<()> {
    use std::os::unix::net::{UnixDatagram, UnixStream};
    let mut pairs = Vec::with_capacity(count / 2);
    while pairs.len() * 2 + 2 <= count {
        pairs.push(UnixStream::pair()?);
    }
    let odd = if count % 2 == 1 {
        Some(UnixDatagram::unbound()?)
    } else {
        None
    };
    drop((pairs, odd));
    Ok(())
}

/// Makes this process a child subreaper (Linux 3.4+): orphaned descendants are reparented to it
/// instead of to PID 1, so it can reap them as an init would.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and reads no pointers; the unused
    // arguments are passed as 0 as prctl(2) asks.
    let result = unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    match result {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// A set of signals as the kernel takes it on Linux: one 64-bit word, bit N-1 for signal N
/// (1 to 64). libc's `sigset_t` cannot hold the real-time signals libc keeps for itself (its
/// `sigaddset` refuses them), so readygate builds the kernel's form itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The set of `signals`; numbers outside 1..=64 are an error (EINVAL).
    pub fn of(signals: impl IntoIterator<Item = i32>) -> io::Result<Self> {
        let mut set = 0u64;
        for signal in signals {
            let bit = u32::try_from(signal - 1)
                .ok()
                .filter(|bit| *bit < u64::BITS)
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
            set |= 1 << bit;
        }
        Ok(SignalSet(set))
    }

    /// The signals of this set that are not in `other`.
    pub fn without(self, other: SignalSet) -> Self {
        SignalSet(self.0 & !other.0)
    }

    /// Whether `signal` is in the set.
    pub fn contains(self, signal: i32) -> bool {
        u32::try_from(signal - 1).is_ok_and(|bit| bit < u64::BITS && self.0 & (1 << bit) != 0)
    }
}

/// Blocks `set` in the calling thread (and every thread it starts later), so its signals stay
/// pending instead of acting, until a signalfd reads them. The kernel is asked directly: glibc's
/// `sigprocmask` silently leaves libc's own real-time signals unblocked. A child would inherit
/// the mask: see [`unblock_signals_in_child`]; `Command::exec` empties it before exec.
pub fn block_signals(set: SignalSet) -> io::Result<()> {
    if set == SignalSet::default() {
        return Ok(());
    }
    set_signal_mask(libc::SIG_BLOCK, set.0)
}

/// A new signalfd (non-blocking, close-on-exec) that reads the pending signals of `set`: with
/// each one, the `siginfo` that says who raised it, which a signal handler installed through
/// tokio never sees. The signals must be blocked ([`block_signals`]) or they act before they
/// can be read.
pub fn signalfd(set: SignalSet) -> io::Result<OwnedFd> {
    let fd = signalfd4(-1, set)?;
    // SAFETY: signalfd4 returned a new descriptor that nothing else owns; OwnedFd closes it once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `file` (such as a signalfd) registered with the current tokio runtime for readiness to read.
/// Must be called inside the runtime (tokio panics otherwise: `main` enters it first).
pub fn async_readable(file: std::fs::File) -> io::Result<tokio::io::unix::AsyncFd<std::fs::File>> {
    // SAFETY: tokio requires the descriptor to stay open and the same for the AsyncFd's whole
    // life. The File owns it, the AsyncFd owns the File, and a File never replaces or closes its
    // descriptor before it is dropped.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(file, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Changes which signals `fd` (a signalfd) reads; the descriptor stays the same.
pub fn set_signalfd_mask(fd: BorrowedFd<'_>, set: SignalSet) -> io::Result<()> {
    signalfd4(fd.as_raw_fd(), set).map(drop)
}

/// The raw `signalfd4` system call, with the kernel's 64-bit set (libc's wrapper takes a
/// `sigset_t`, which cannot hold libc's reserved real-time signals).
fn signalfd4(fd: libc::c_int, set: SignalSet) -> io::Result<libc::c_int> {
    // SAFETY: signalfd4 reads `size_of::<u64>()` bytes from the mask pointer, which points at a
    // live u64 (the size the kernel expects for its sigset on Linux), and touches no other
    // memory. `fd` is -1 (a new descriptor) or a signalfd the caller owns.
    let result = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            fd,
            &set.0 as *const u64,
            std::mem::size_of::<u64>(),
            libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
        )
    };
    libc::c_int::try_from(result)
        .ok()
        .filter(|fd| *fd >= 0)
        .ok_or_else(io::Error::last_os_error)
}

/// Ends readygate as `signal`'s default action would (terminate, or terminate with a core dump):
/// for a fault the kernel raised about readygate itself that it did not force on it already. The
/// default action is restored, the signal unblocked and raised at the calling thread. Returns
/// only if that did not end the process, which the caller then must.
pub fn die_by_default_action(signal: i32) {
    let _ = set_default_action(signal);
    if let Ok(set) = SignalSet::of([signal]) {
        let _ = set_signal_mask(libc::SIG_UNBLOCK, set.0);
    }
    // SAFETY: tgkill, getpid and gettid take plain integers and touch no memory.
    unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::syscall(libc::SYS_gettid),
            signal,
        );
    }
}

/// Gives `signal` its default action (SIG_DFL) in readygate, and so in every child it starts
/// from now on (a child inherits dispositions; exec keeps SIG_IGN and resets only handlers).
pub fn set_default_action(signal: i32) -> io::Result<()> {
    // SAFETY: rt_sigaction reads one kernel sigaction from a live, all-zero array (SIG_DFL, no
    // flags, empty mask, on every architecture) and writes nothing (null old action); the size is
    // the kernel's 64-bit set. It touches no other memory.
    let result = unsafe {
        let default = [0u64; 4];
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            default.as_ptr(),
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    match result {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// The signals among `signals` whose disposition is SIG_IGN now: the ones readygate's parent
/// left ignored (`nohup`, `trap "" HUP`), since readygate itself ignores none (SIGPIPE aside:
/// Rust's runtime ignores it before `main`, so its inherited disposition cannot be known).
pub fn ignored_signals(signals: impl IntoIterator<Item = i32>) -> io::Result<SignalSet> {
    let mut ignored = Vec::new();
    for signal in signals {
        // The kernel's struct sigaction on x86_64 and aarch64: handler, flags, restorer, mask;
        // four words, the handler first.
        let mut old = [0u64; 4];
        // SAFETY: rt_sigaction with a null new action changes nothing and writes one kernel
        // sigaction (32 bytes on these architectures) into `old`, a live array of that size; the
        // size is the kernel's 64-bit set.
        let result = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                std::ptr::null::<u64>(),
                old.as_mut_ptr(),
                std::mem::size_of::<u64>(),
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        if old[0] == libc::SIG_IGN as u64 {
            ignored.push(signal);
        }
    }
    SignalSet::of(ignored)
}

/// The raw `rt_sigprocmask` system call: `how` (SIG_BLOCK, SIG_SETMASK, ...) with the kernel's
/// 64-bit signal set. It allocates nothing and takes no lock, so it may run between fork and
/// exec.
fn set_signal_mask(how: libc::c_int, set: u64) -> io::Result<()> {
    // SAFETY: rt_sigprocmask reads `size_of::<u64>()` bytes from the set pointer, which points
    // at a live u64, and writes nothing (the old-set pointer is null). The size is the one the
    // kernel expects for its sigset on this architecture (it fails with EINVAL otherwise).
    let result = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            how,
            &set as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    match result {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Makes the process `command` starts (spawned, or exec'd in readygate's place) begin with no
/// signal blocked, whatever readygate blocks. std's own exec path (`do_exec`) already empties the
/// mask after fork; this is a safeguard that does not depend on std's internals, and a `pre_exec`
/// closure also keeps std from using glibc's `posix_spawn`, so `Command::spawn` always takes that
/// path.
pub fn unblock_signals_in_child(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec (or, for `Command::exec`, in
    // readygate just before exec), where only async-signal-safe work is allowed:
    // `set_signal_mask` makes one system call on a stack value, allocates nothing and takes no
    // lock (an error is an OS code, not an allocation).
    unsafe { command.pre_exec(|| set_signal_mask(libc::SIG_SETMASK, 0)) };
}

/// This process's effective uid: the owner the kernel gives the sockets it creates, and so the
/// default `--proxy-uid` of a preStop hook running as the proxy container's user.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and always succeeds (POSIX).
    unsafe { libc::geteuid() }
}
