//! Child processes: pidfds, signalling, and reaping without blocking. Every wait here is
//! `WNOHANG` and names one child (a pid or a pidfd): never `waitpid(-1)`, which would reap the
//! children of other code in the process.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use minireactor_reactor::syscall;

/// `pidfd_open(pid, 0)` (Linux 5.3): an fd that becomes readable when the process exits. Always
/// close-on-exec.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    let fd = syscall!(
        // SAFETY: no pointers; the new fd is owned below.
        unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) }
    )?;
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `pidfd_send_signal(pidfd, signal)` (Linux 5.1): signals exactly the process the pidfd
/// refers to, even if its pid has been reused.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: libc::c_int) -> io::Result<()> {
    syscall!(
        // SAFETY: the fd is open (borrowed); a null siginfo means "as kill(2) would send it".
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        }
    )?;
    Ok(())
}

/// `kill(pid, signal)`.
pub(crate) fn kill(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    syscall!(
        // SAFETY: no pointers.
        unsafe { libc::kill(pid, signal) }
    )?;
    Ok(())
}

/// Reaps the process `pidfd` refers to if it has exited: `waitid(P_PIDFD, …, WEXITED |
/// WNOHANG)` (Linux 5.4). Returns its wait status (as `waitpid` would report it), or `None`
/// if it is still running.
pub(crate) fn try_reap_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<Option<libc::c_int>> {
    // SAFETY: siginfo_t is plain data; zeroed means "no child" (si_pid 0) if nothing is reaped.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let waited = retry_on_eintr(|| {
        syscall!(
            // SAFETY: the fd is open (borrowed); `info` is a valid out-pointer.
            unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    pidfd.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG,
                )
            }
        )
    });
    match waited {
        // A non-blocking pidfd reports a running child as EAGAIN instead.
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(err) => return Err(err),
        Ok(_) => {}
    }
    // SAFETY: waitid filled `info` for a child (or left it zeroed); si_pid and si_status are
    // the fields it sets for CLD_* codes.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    // The encoding of waitpid's status, which std's `ExitStatus::from_raw` decodes.
    let wait_status = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f, // CLD_KILLED: WEXITED alone reports nothing else.
    };
    Ok(Some(wait_status))
}

/// Reaps child `pid` if it has exited: `waitpid(pid, WNOHANG)`. Returns its wait status, or
/// `None` if it is still running.
pub(crate) fn try_reap_pid(pid: libc::pid_t) -> io::Result<Option<libc::c_int>> {
    let mut status: libc::c_int = 0;
    let reaped = retry_on_eintr(|| {
        syscall!(
            // SAFETY: `status` is a valid out-pointer.
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) }
        )
    })?;
    Ok((reaped != 0).then_some(status))
}

fn retry_on_eintr<R>(mut call: impl FnMut() -> io::Result<R>) -> io::Result<R> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}
