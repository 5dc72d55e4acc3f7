//! Signal dispositions and what a signal handler may do.

use std::io;
use std::os::fd::RawFd;

use minireactor_reactor::syscall;

/// Installs `handler` for `signal` with `SA_RESTART`, so other blocking syscalls of the program
/// resume after it runs.
pub(crate) fn install_signal_handler(
    signal: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<()> {
    // SAFETY: sigaction is plain data; zeroed means no flags and an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as usize;
    action.sa_flags = libc::SA_RESTART;
    syscall!(
        // SAFETY: the new action is fully initialised; the old-action pointer may be null.
        unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) }
    )?;
    Ok(())
}

/// Adds one to an eventfd from inside a signal handler: only async-signal-safe calls, and
/// `errno` is restored so the interrupted code does not see ours.
pub(crate) fn eventfd_notify_from_signal_handler(fd: RawFd) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let one: u64 = 1;
    // SAFETY: `write` is async-signal-safe; the source is a live 8-byte value. A failure (a full
    // counter, after 2^64 signals) is ignored: the pending edge already wakes the listeners.
    unsafe { libc::write(fd, (&one as *const u64).cast(), std::mem::size_of::<u64>()) };
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}
