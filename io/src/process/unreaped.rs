//! [`Unreaped`]: a child process of ours that has not been reaped yet, and how its exit is
//! noticed — a pidfd on this thread's epoll set, or, where there are no pidfds, SIGCHLD.
//!
//! Invariant: until it is reaped, the child's pid cannot be reused (the kernel keeps a zombie
//! for it), so signalling or waiting for it by pid reaches exactly this child. Once
//! [`Unreaped::try_reap`] or [`Unreaped::poll_reap`] has returned an exit status, the value
//! must be dropped.
//!
//! # How exits are watched
//!
//! - **pidfd** (Linux ≥ 5.3): `pidfd_open(pid)` gives an fd that becomes readable when the
//!   child exits; it is registered like any other fd, then the child is reaped with
//!   `waitid(P_PIDFD, …, WNOHANG)` (or `waitpid(pid, WNOHANG)` on 5.3, which lacks `P_PIDFD`).
//! - **SIGCHLD**, where `pidfd_open` fails with `ENOSYS` (older kernels) or `EPERM` (sandboxes
//!   that filter it): each child keeps a SIGCHLD listener (see [`crate::signal`]) and, on every
//!   delivery, tries `waitpid(its pid, WNOHANG)`. Only our own children are waited for, by pid:
//!   never `waitpid(-1)`, which would steal the children of other code. The listener exists
//!   before the first `waitpid`, so an exit is either seen by that `waitpid` or followed by a
//!   delivery (SIGCHLD is merged while pending, never dropped after an exit).
//!
//! Setting the environment variable `MINIREACTOR_FORCE_SIGCHLD_REAPER` (to anything but `0`)
//! before the first child is spawned forces the SIGCHLD path, so that it can be tested on
//! kernels that have pidfds.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};

use crate::signal::{self, Signal, SignalKind};
use crate::{sys, AsyncFd};

/// The environment variable that forces the SIGCHLD path; see the module documentation.
const FORCE_SIGCHLD: &str = "MINIREACTOR_FORCE_SIGCHLD_REAPER";

/// Set once `pidfd_open` answered `ENOSYS` or `EPERM`, so later spawns do not ask again.
static PIDFD_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Unreaped {
    pid: libc::pid_t,
    watch: ExitWatch,
}

#[derive(Debug)]
enum ExitWatch {
    Pidfd(AsyncFd<OwnedFd>),
    Sigchld(Signal),
}

impl Unreaped {
    /// Starts watching child `pid`, which was just spawned and is not reaped.
    pub(crate) fn new(pid: u32) -> io::Result<Unreaped> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("pid {pid} out of range"),
            )
        })?;
        let watch = if sigchld_forced() || PIDFD_UNAVAILABLE.load(Ordering::Relaxed) {
            watch_sigchld()?
        } else {
            match sys::pidfd_open(pid) {
                Ok(pidfd) => ExitWatch::Pidfd(AsyncFd::new(pidfd)?),
                Err(err) if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    PIDFD_UNAVAILABLE.store(true, Ordering::Relaxed);
                    tracing::debug!(%err, "pidfd_open unavailable: watching children through SIGCHLD");
                    watch_sigchld()?
                }
                Err(err) => return Err(err),
            }
        };
        tracing::debug!(pid, ?watch, "watching child");
        Ok(Unreaped { pid, watch })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Reaps the child if it has exited, without waiting.
    pub(crate) fn try_reap(&self) -> io::Result<Option<ExitStatus>> {
        match &self.watch {
            ExitWatch::Pidfd(pidfd) => reap_pidfd(self.pid, pidfd),
            ExitWatch::Sigchld(_) => reap_pid(self.pid),
        }
    }

    /// Polls for the child's exit and reaps it, storing the task's waker if it is running.
    pub(crate) fn poll_reap(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let pid = self.pid;
        loop {
            match &mut self.watch {
                ExitWatch::Pidfd(pidfd) => {
                    let mut guard = ready!(pidfd.poll_read_ready(cx))?;
                    if let Some(status) = reap_pidfd(pid, pidfd)? {
                        return Poll::Ready(Ok(status));
                    }
                    guard.clear_ready_unspent();
                }
                ExitWatch::Sigchld(sigchld) => {
                    if let Some(status) = reap_pid(pid)? {
                        return Poll::Ready(Ok(status));
                    }
                    if ready!(sigchld.poll_recv(cx)).is_none() {
                        return Poll::Ready(Err(io::Error::other(
                            "cannot wait for a child spawned before this process forked",
                        )));
                    }
                }
            }
        }
    }

    /// Sends SIGKILL; a child that already exited (but is not reaped) is not an error.
    pub(crate) fn start_kill(&self) -> io::Result<()> {
        let sent = match &self.watch {
            ExitWatch::Pidfd(pidfd) => sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL),
            ExitWatch::Sigchld(_) => sys::kill(self.pid, libc::SIGKILL),
        };
        match sent {
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            sent => sent,
        }
    }
}

fn reap_pidfd(pid: libc::pid_t, pidfd: &AsyncFd<OwnedFd>) -> io::Result<Option<ExitStatus>> {
    match sys::try_reap_pidfd(pidfd.as_fd()) {
        // Linux 5.3 has pidfd_open but not waitid(P_PIDFD); the pid is as precise here (see the
        // invariant).
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => reap_pid(pid),
        reaped => reaped_status(pid, reaped),
    }
}

fn reap_pid(pid: libc::pid_t) -> io::Result<Option<ExitStatus>> {
    reaped_status(pid, sys::try_reap_pid(pid))
}

fn reaped_status(
    pid: libc::pid_t,
    wait_status: io::Result<Option<libc::c_int>>,
) -> io::Result<Option<ExitStatus>> {
    let status = wait_status
        .map_err(explain_echild)?
        .map(ExitStatus::from_raw);
    if let Some(status) = status {
        tracing::debug!(pid, %status, "child reaped");
    }
    Ok(status)
}

fn watch_sigchld() -> io::Result<ExitWatch> {
    Ok(ExitWatch::Sigchld(signal::signal(SignalKind::child())?))
}

fn sigchld_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| std::env::var_os(FORCE_SIGCHLD).is_some_and(|value| value != "0"))
}

/// `ECHILD` means someone else reaped our child; say who might have.
fn explain_echild(err: io::Error) -> io::Error {
    if err.raw_os_error() != Some(libc::ECHILD) {
        return err;
    }
    io::Error::new(
        err.kind(),
        format!(
            "the child was reaped by other code ({err}): SIGCHLD set to SIG_IGN or SA_NOCLDWAIT, \
             or a waitpid(-1) elsewhere in the process"
        ),
    )
}
