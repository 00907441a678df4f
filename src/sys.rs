//! The only `unsafe` in readygate: thin wrappers over the libc calls Job mode needs (waitpid,
//! kill, prctl, rt_sigprocmask) and the uid `--wait-app-exit` needs (geteuid), each with its
//! SAFETY argument, and the descriptor check made before the runtime starts. Everything else calls these safe functions.

use std::io;
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

/// Blocks `signals` in the calling thread (and every thread it starts later), so they stay
/// pending instead of acting. For the real-time signals libc keeps for itself (see
/// `signals::Signals::LibcReserved`): their default action would kill readygate, and libc
/// refuses both handlers and (glibc) blocking them through `sigprocmask`, so this asks the
/// kernel directly. A child would inherit the mask: see [`unblock_signals_in_child`].
pub fn block_signals(signals: impl IntoIterator<Item = i32>) -> io::Result<()> {
    // The kernel's signal set on 64-bit Linux: one 64-bit word, bit N-1 for signal N.
    let mut set: u64 = 0;
    for signal in signals {
        let bit = u32::try_from(signal - 1)
            .ok()
            .filter(|bit| *bit < u64::BITS)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        set |= 1 << bit;
    }
    if set == 0 {
        return Ok(());
    }
    set_signal_mask(libc::SIG_BLOCK, set)
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

/// Makes the process `command` starts begin with no signal blocked, whatever readygate blocks.
/// std does not guarantee it: with glibc's `posix_spawn` (what `Command::spawn` uses when it
/// can) the child gets the parent's mask back before exec (seen with strace on glibc 2.36), so
/// without this the command would start with libc's reserved signals blocked.
pub fn unblock_signals_in_child(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed: `set_signal_mask` makes one system call on a stack
    // value, allocates nothing and takes no lock (an error is an OS code, not an allocation).
    unsafe { command.pre_exec(|| set_signal_mask(libc::SIG_SETMASK, 0)) };
}

/// This process's effective uid: the owner the kernel gives the sockets it creates, and so the
/// default `--proxy-uid` of a preStop hook running as the proxy container's user.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and always succeeds (POSIX).
    unsafe { libc::geteuid() }
}
