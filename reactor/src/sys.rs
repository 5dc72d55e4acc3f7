//! Every raw syscall the reactor makes, and the few that the runtime's other crates share.
//!
//! Each function is a thin, safe wrapper: it turns the C convention (`-1` and `errno`) into
//! `io::Result` through [`syscall!`](crate::syscall), with the `unsafe` block and its
//! `// SAFETY:` justification written at each call, and owns every fd it creates as an
//! [`OwnedFd`], so that no code ever calls `close` by hand.
//!
//! Public but hidden, and not part of the API: the runtime's other crates (io, devone) use this
//! module's `syscall!`, [`eventfd`] and [`FdFlags`] instead of each keeping a copy.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Evaluates a libc call and maps a `-1` return to `io::Error::last_os_error()`.
///
/// The argument is the `unsafe` block itself, so every call site states its own `// SAFETY:`
/// justification (which clippy's `undocumented_unsafe_blocks` checks):
///
/// ```ignore
/// let fd = syscall!(
///     // SAFETY: no pointers; the new fd is owned below.
///     unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }
/// )?;
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! syscall {
    ($call:expr) => {{
        let result = $call;
        if result == -1 {
            Err(::std::io::Error::last_os_error())
        } else {
            Ok(result)
        }
    }};
}

/// The readiness bits this runtime asks epoll for on every fd, once, at registration.
///
/// Edge-triggered, so an fd is never re-armed; `EPOLLRDHUP` so a peer's half-close is seen even
/// when the reader has already drained the data.
pub(crate) const REGISTER_EVENTS: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | PRIORITY | libc::EPOLLET) as u32;

/// `EPOLLPRI`, except under Miri, whose epoll emulation rejects it; Miri checks the unsafe code
/// of the slab and the executor, which does not depend on priority events.
const PRIORITY: libc::c_int = if cfg!(miri) { 0 } else { libc::EPOLLPRI };

/// An epoll instance plus whether this kernel has `epoll_pwait2`.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
    /// Cleared the first time `epoll_pwait2` answers `ENOSYS` (kernels before 5.11), after which
    /// waits fall back to `epoll_wait` with a millisecond timeout rounded up.
    has_pwait2: std::cell::Cell<bool>,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`: children of `fork`+`exec` must not inherit the instance.
    pub(crate) fn new() -> io::Result<Epoll> {
        let fd = syscall!(
            // SAFETY: no pointers; the fd it returns is owned just below.
            unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }
        )?;
        Ok(Epoll {
            // SAFETY: `fd` was just returned by `epoll_create1` and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            // Miri emulates `epoll_wait` but not `epoll_pwait2`.
            has_pwait2: std::cell::Cell::new(!cfg!(miri)),
        })
    }

    /// `EPOLL_CTL_ADD` of `fd` with [`REGISTER_EVENTS`] and `token` as its user data.
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: REGISTER_EVENTS,
            u64: token,
        };
        syscall!(
            // SAFETY: both fds are open (borrowed); the event is a live local the kernel only
            // reads during the call.
            unsafe {
                libc::epoll_ctl(
                    self.fd.as_raw_fd(),
                    libc::EPOLL_CTL_ADD,
                    fd.as_raw_fd(),
                    &mut event,
                )
            }
        )?;
        Ok(())
    }

    /// `EPOLL_CTL_DEL` of `fd`. Must run before `fd` is closed: the registration belongs to the
    /// open file description, so a `dup` of `fd` would otherwise keep reporting events.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        syscall!(
            // SAFETY: both fds are open; since Linux 2.6.9 the event pointer may be null for DEL.
            unsafe {
                libc::epoll_ctl(
                    self.fd.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    fd.as_raw_fd(),
                    std::ptr::null_mut(),
                )
            }
        )?;
        Ok(())
    }

    /// Waits for events into `events` (its spare capacity) and returns how many arrived.
    ///
    /// `None` waits forever. `EINTR` is reported as zero events: a signal is not a failure of
    /// the reactor, and the caller simply turns again. Any other error names the syscall.
    pub(crate) fn wait(
        &self,
        events: &mut Vec<libc::epoll_event>,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        events.clear();
        let capacity = events.capacity().min(i32::MAX as usize) as libc::c_int;
        let (syscall, result) = if self.has_pwait2.get() {
            match self.wait_pwait2(events, capacity, timeout) {
                Err(err) if err.raw_os_error() == Some(libc::ENOSYS) => {
                    self.has_pwait2.set(false);
                    tracing::debug!("epoll_pwait2 unavailable; falling back to epoll_wait");
                    ("epoll_wait", self.wait_millis(events, capacity, timeout))
                }
                other => ("epoll_pwait2", other),
            }
        } else {
            ("epoll_wait", self.wait_millis(events, capacity, timeout))
        };
        let count = match result {
            Ok(count) => count as usize,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => 0,
            Err(err) => return Err(io::Error::new(err.kind(), format!("{syscall}: {err}"))),
        };
        // SAFETY: the kernel initialised the first `count` entries, and `count <= capacity`.
        unsafe { events.set_len(count) };
        Ok(count)
    }

    fn wait_pwait2(
        &self,
        events: &mut Vec<libc::epoll_event>,
        capacity: libc::c_int,
        timeout: Option<Duration>,
    ) -> io::Result<libc::c_int> {
        let timespec = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let timespec_ptr = timespec
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        syscall!(
            // SAFETY: the buffer has room for `capacity` events; the timespec (or null, meaning
            // "forever") outlives the call; a null sigmask leaves the thread's mask alone.
            unsafe {
                libc::epoll_pwait2(
                    self.fd.as_raw_fd(),
                    events.as_mut_ptr(),
                    capacity,
                    timespec_ptr,
                    std::ptr::null(),
                )
            }
        )
    }

    fn wait_millis(
        &self,
        events: &mut Vec<libc::epoll_event>,
        capacity: libc::c_int,
        timeout: Option<Duration>,
    ) -> io::Result<libc::c_int> {
        let millis = timeout.map_or(-1, millis_rounded_up);
        syscall!(
            // SAFETY: the buffer has room for `capacity` events.
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), capacity, millis) }
        )
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Rounds up so that a wait never ends before a deadline: 1.2 ms waits 2 ms, and a
/// sub-millisecond timeout waits 1 ms rather than busy-looping with 0.
fn millis_rounded_up(timeout: Duration) -> libc::c_int {
    // Whole seconds are whole milliseconds, so only the sub-second part rounds; u64 arithmetic
    // (saturating) rather than `as_nanos`'s u128 division, on every turn.
    let millis = timeout
        .as_secs()
        .saturating_mul(1_000)
        .saturating_add(u64::from(timeout.subsec_nanos().div_ceil(1_000_000)));
    millis.min(libc::c_int::MAX as u64) as libc::c_int
}

/// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
pub fn eventfd() -> io::Result<OwnedFd> {
    let fd = syscall!(
        // SAFETY: no pointers; the fd it returns is owned just below.
        unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }
    )?;
    // SAFETY: `fd` was just returned by `eventfd` and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's counter. Fails with `WouldBlock` only when the counter is full.
pub(crate) fn eventfd_write(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one: u64 = 1;
    syscall!(
        // SAFETY: the fd is open; the source is a live 8-byte value, the size an eventfd write
        // requires.
        unsafe {
            libc::write(
                fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        }
    )?;
    Ok(())
}

/// Resets an eventfd's counter to zero (a read returns and clears it).
pub(crate) fn eventfd_reset(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut value: u64 = 0;
    syscall!(
        // SAFETY: the fd is open; the destination is a live 8-byte value, the size an eventfd
        // read requires.
        unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        }
    )?;
    Ok(())
}

/// The file status flags of an open file description (`F_GETFL`), kept to be put back later.
///
/// `O_NONBLOCK` lives in the open file description, which other processes may share (a terminal,
/// an inherited pipe): whoever sets it for the reactor must restore what was there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdFlags(libc::c_int);

impl FdFlags {
    /// Reads the flags of `fd`.
    pub fn get(fd: BorrowedFd<'_>) -> io::Result<FdFlags> {
        syscall!(
            // SAFETY: F_GETFL takes no pointer; the fd is open.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) }
        )
        .map(FdFlags)
    }

    /// Whether `O_NONBLOCK` is set.
    pub fn is_nonblocking(self) -> bool {
        self.0 & libc::O_NONBLOCK != 0
    }

    /// These flags with `O_NONBLOCK` set.
    pub fn nonblocking(self) -> FdFlags {
        FdFlags(self.0 | libc::O_NONBLOCK)
    }

    /// Writes these flags to `fd` (`F_SETFL`), unless they are `current` already.
    pub fn set(self, fd: BorrowedFd<'_>, current: FdFlags) -> io::Result<()> {
        if self == current {
            return Ok(());
        }
        syscall!(
            // SAFETY: F_SETFL takes an int, no pointer; the fd is open.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, self.0) }
        )?;
        Ok(())
    }
}

/// Runs `child` in the child process after every `fork` (`pthread_atfork`). `child` must be
/// async-signal-safe: a forked child of a multi-threaded process may only do that much.
pub(crate) fn at_fork_in_child(child: unsafe extern "C" fn()) -> io::Result<()> {
    // SAFETY: no prepare or parent handlers; `child` is an `extern "C" fn` that lives for the
    // whole program.
    let errno = unsafe { libc::pthread_atfork(None, None, Some(child)) };
    if errno != 0 {
        return Err(io::Error::from_raw_os_error(errno));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a hard error of the wait panicked `block_on` with a message naming
    /// `epoll_wait` whatever the syscall was; it now names the one that failed.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri has no epoll_pwait2, and needs a real non-epoll fd"
    )]
    fn a_failed_wait_names_its_syscall() {
        // An eventfd is not an epoll instance: every wait on it fails with EINVAL.
        let not_epoll = Epoll {
            fd: eventfd().unwrap(),
            has_pwait2: std::cell::Cell::new(true),
        };
        let mut events = Vec::with_capacity(4);
        let err = not_epoll
            .wait(&mut events, Some(Duration::ZERO))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let named = err.to_string();
        assert!(
            named.starts_with("epoll_pwait2: ") || named.starts_with("epoll_wait: "),
            "{named}"
        );
        if not_epoll.has_pwait2.get() {
            assert!(named.starts_with("epoll_pwait2: "), "{named}");
        }
    }

    #[test]
    fn millis_round_up_never_down() {
        assert_eq!(millis_rounded_up(Duration::ZERO), 0);
        assert_eq!(millis_rounded_up(Duration::from_nanos(1)), 1);
        assert_eq!(millis_rounded_up(Duration::from_micros(1_200)), 2);
        assert_eq!(millis_rounded_up(Duration::from_millis(5)), 5);
        assert_eq!(millis_rounded_up(Duration::new(2, 1)), 2_001);
        assert_eq!(millis_rounded_up(Duration::new(1, 999_999_999)), 2_000);
        assert_eq!(
            millis_rounded_up(Duration::from_secs(u64::MAX)),
            libc::c_int::MAX
        );
    }
}
