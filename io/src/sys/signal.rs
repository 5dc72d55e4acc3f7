//! Signal dispositions (`sigaction`), and the few things a signal handler does: save `errno`,
//! read who sent the signal, write an eventfd, and call the handler it replaced.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use minireactor_reactor::syscall;

/// The shape of a handler installed with `SA_SIGINFO`.
pub(crate) type SigInfoHandler =
    extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// A signal's disposition, as `sigaction` reports and sets it.
#[derive(Clone, Copy)]
pub(crate) struct SignalAction(libc::sigaction);

impl SignalAction {
    /// `handler`, with `SA_SIGINFO` (to learn the sender) and `SA_ONSTACK` (a thread's
    /// alternate stack, if it set one, is used: the handler may run on any thread, e.g. one near
    /// a stack overflow), and what the handler it replaces chose: its mask and `SA_NOCLDSTOP`,
    /// so that a handler we chain to runs as it asked to, and its `SA_RESTART` choice, so that a
    /// program whose handler interrupts blocking calls (`EINTR`) keeps that behaviour. In place
    /// of `SIG_DFL` or `SIG_IGN`, `SA_RESTART` is set: the rest of the program's blocking calls
    /// resume after our handler, as they would have without the signal.
    pub(crate) fn chaining(handler: SigInfoHandler, replaced: &SignalAction) -> SignalAction {
        let replaced_is_a_handler = !matches!(replaced.handler(), libc::SIG_DFL | libc::SIG_IGN);
        let restart = if replaced_is_a_handler {
            replaced.0.sa_flags & libc::SA_RESTART
        } else {
            libc::SA_RESTART
        };
        let mut action = replaced.0;
        action.sa_sigaction = handler as usize;
        action.sa_flags = libc::SA_SIGINFO
            | libc::SA_ONSTACK
            | restart
            | (replaced.0.sa_flags & libc::SA_NOCLDSTOP);
        SignalAction(action)
    }

    /// The handler's address, or `SIG_DFL` / `SIG_IGN`.
    pub(crate) fn handler(&self) -> usize {
        self.0.sa_sigaction
    }

    /// Whether the handler takes `(signal, siginfo, context)` rather than `(signal)`.
    pub(crate) fn takes_siginfo(&self) -> bool {
        self.0.sa_flags & libc::SA_SIGINFO != 0
    }
}

impl fmt::Debug for SignalAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let handler = match self.0.sa_sigaction {
            libc::SIG_DFL => "SIG_DFL".to_string(),
            libc::SIG_IGN => "SIG_IGN".to_string(),
            address => format!("{address:#x}"),
        };
        f.debug_struct("SignalAction")
            .field("handler", &handler)
            .field("flags", &format_args!("{:#x}", self.0.sa_flags))
            .finish()
    }
}

/// The current disposition of `signal`.
pub(crate) fn signal_action(signal: libc::c_int) -> io::Result<SignalAction> {
    // SAFETY: sigaction is plain data; zeroed is a valid value for the kernel to overwrite.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    syscall!(
        // SAFETY: a null new action only queries; `current` is a valid out-pointer.
        unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) }
    )?;
    Ok(SignalAction(current))
}

/// Sets the disposition of `signal` to `action`; returns the one it replaced, read in the same
/// call (so nothing set in between is lost).
pub(crate) fn set_signal_action(
    signal: libc::c_int,
    action: &SignalAction,
) -> io::Result<SignalAction> {
    // SAFETY: as in `signal_action`.
    let mut replaced: libc::sigaction = unsafe { std::mem::zeroed() };
    syscall!(
        // SAFETY: `action` is a fully initialised sigaction; `replaced` is a valid out-pointer.
        unsafe { libc::sigaction(signal, &action.0, &mut replaced) }
    )?;
    Ok(SignalAction(replaced))
}

/// `errno` as a signal handler found it; a handler restores it before returning, so the code it
/// interrupted does not see the errors of the handler's own calls.
pub(crate) struct SavedErrno(libc::c_int);

impl SavedErrno {
    pub(crate) fn save() -> SavedErrno {
        // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
        SavedErrno(unsafe { *libc::__errno_location() })
    }

    pub(crate) fn restore(self) {
        // SAFETY: as in `save`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

/// The sender's pid and uid, when the kernel reports them: for signals sent by `kill`,
/// `sigqueue` and `tgkill`/`raise` (`SI_USER`, `SI_QUEUE`, `SI_TKILL`), and a pid that is not 0
/// (0 means the sender is outside this pid namespace).
///
/// # Safety
/// `info` is null, or the `siginfo_t` the kernel passed to an `SA_SIGINFO` handler.
pub(crate) unsafe fn siginfo_sender(info: *const libc::siginfo_t) -> Option<(libc::pid_t, u32)> {
    // SAFETY: the caller's contract: null or a valid siginfo_t.
    let info = unsafe { info.as_ref() }?;
    if !matches!(
        info.si_code,
        libc::SI_USER | libc::SI_QUEUE | libc::SI_TKILL
    ) {
        return None;
    }
    // SAFETY: for these codes the kernel fills the union's sender fields (si_pid, si_uid).
    let (pid, uid) = unsafe { (info.si_pid(), info.si_uid()) };
    (pid != 0).then_some((pid, uid))
}

/// Adds one to an eventfd from inside a signal handler (`write` is async-signal-safe).
pub(crate) fn eventfd_notify_from_signal_handler(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    let fd = fd.as_raw_fd();
    // SAFETY: `fd` is open (borrowed); the source is a live 8-byte value. A failure (a full
    // counter, after 2^64 signals) is ignored: the pending edge already wakes the listeners.
    unsafe { libc::write(fd, (&one as *const u64).cast(), std::mem::size_of::<u64>()) };
}

/// Calls a handler that was installed before ours, as the kernel would have called it.
///
/// # Safety
/// `handler` is the address of a signal handler function (not `SIG_DFL`/`SIG_IGN`) that was
/// installed with `SA_SIGINFO` exactly if `takes_siginfo`, and this is called from a signal
/// handler with the kernel's `signal`, `info` and `context`.
pub(crate) unsafe fn call_signal_handler(
    handler: usize,
    takes_siginfo: bool,
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    if takes_siginfo {
        // SAFETY: the caller's contract: `handler` is an SA_SIGINFO handler's address.
        let handler: SigInfoHandler = unsafe { std::mem::transmute(handler) };
        handler(signal, info, context);
    } else {
        // SAFETY: the caller's contract: `handler` is a plain handler's address.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        handler(signal);
    }
}
