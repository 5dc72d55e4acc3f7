//! [`SignalKind`]: which signal to listen for.

use std::io;

/// A signal to listen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// SIGINT (Ctrl-C in a terminal).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM (the polite request to stop, e.g. from `kill` or a service manager).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP (the terminal went away; by convention, for daemons: reload the configuration).
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT (Ctrl-\ in a terminal).
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD (a child process exited, stopped or continued).
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGPIPE (a write to a pipe or socket without a reader).
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGALRM (an `alarm` or `setitimer` timer expired).
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGWINCH (the terminal was resized).
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// Any signal number; [`signal`](super::signal) rejects the ones that cannot be handled.
    pub const fn from_raw(signal: libc::c_int) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal number.
    pub const fn as_raw(self) -> libc::c_int {
        self.0
    }

    /// Refuses what cannot be listened for: numbers outside 1..=64, SIGKILL and SIGSTOP (which
    /// cannot be caught), and SIGSEGV, SIGBUS, SIGILL and SIGFPE (returning from their handler
    /// would run the faulting instruction again).
    pub(crate) fn check_listenable(self) -> io::Result<()> {
        const FORBIDDEN: [libc::c_int; 6] = [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ];
        if super::handler::slot(self.0).is_some() && !FORBIDDEN.contains(&self.0) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {} cannot be listened for", self.0),
        ))
    }
}
