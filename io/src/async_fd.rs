//! [`AsyncFd`]: any file descriptor, awaited through this thread's edge-triggered reactor.
//!
//! # The edge-trigger contract
//!
//! The fd is registered once, edge-triggered: the kernel reports a change of state (no data →
//! data), not a level. So readiness, once reported, is remembered by the reactor until *you*
//! say it is gone, and the only proof that it is gone is an operation that failed with
//! `WouldBlock` (`EAGAIN`). The rule is therefore:
//!
//! - after `readable()`/`writable()` resolves, perform I/O until it returns `WouldBlock`, and
//!   only then clear the readiness (`try_io` does both: it clears exactly when your closure
//!   returns `WouldBlock`);
//! - if you stop early — a short read, say — leave the readiness set and come back: the next
//!   `readable()` resolves at once. If you clear it without having seen `WouldBlock`, the data
//!   still in the kernel produces no new edge and you will not be woken again.
//!
//! A clear is also ignored if a new event arrived after the readiness was observed, so a clear
//! can never erase an edge it did not see.
//!
//! ```
//! use std::io::Read;
//! use std::os::unix::net::UnixStream;
//! use minireactor::io::{AsyncFd, Interest};
//!
//! minireactor::block_on(async {
//!     let (ours, theirs) = UnixStream::pair()?;
//!     let ours = AsyncFd::new(ours)?;
//!     std::io::Write::write_all(&mut &theirs, b"hello")?;
//!     let mut buf = [0; 16];
//!     let n = ours.async_io(Interest::Readable, |mut stream| stream.read(&mut buf)).await?;
//!     assert_eq!(&buf[..n], b"hello");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::error::Error;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use minireactor_reactor::sys::FdFlags;
use minireactor_reactor::{coop, Interest, Readiness, Ready, ReadyEvent, Registration};

/// An fd registered with this thread's reactor, owning the value `T` that owns the fd.
///
/// `T: AsFd`: the value must own (or soundly borrow) its fd, which keeps the fd open while it is
/// registered — a bare `RawFd` number does not qualify.
///
/// Invariants: while `inner` is `Some`, the fd is registered; the registration is always dropped
/// (`EPOLL_CTL_DEL`) before `inner`, so the fd is never closed while still in epoll. If `new`
/// set `O_NONBLOCK`, `into_inner` (and a failed `try_new`) put the fd's original flags back.
pub struct AsyncFd<T: AsFd> {
    registration: Option<Registration>,
    inner: Option<T>,
    /// The flags the fd had when it was handed over, if `new` changed them.
    original_flags: Option<FdFlags>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Puts the fd in non-blocking mode and registers it with this thread's reactor.
    ///
    /// `O_NONBLOCK` belongs to the open file description, which other processes may share (a
    /// terminal inherited as stdin): [`into_inner`](Self::into_inner) restores the original
    /// flags, but while the `AsyncFd` lives they see a non-blocking file. Use
    /// `minireactor::io::stdin()` and friends for the standard streams.
    ///
    /// Fails with `PermissionDenied` (`EPERM` from `epoll_ctl`) for a file that cannot be polled:
    /// a regular file, or a device whose driver has no `poll` method. Use [`try_new`](Self::try_new)
    /// to get the value back.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_new(inner).map_err(|err| err.into_parts().1)
    }

    /// Like [`new`](Self::new), but on failure returns the value with the error, its flags as
    /// they were.
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        let flags = match FdFlags::get(inner.as_fd()) {
            Ok(flags) => flags,
            Err(error) => return Err(AsyncFdTryNewError { inner, error }),
        };
        if let Err(error) = flags.nonblocking().set(inner.as_fd(), flags) {
            return Err(AsyncFdTryNewError { inner, error });
        }
        let original_flags = (!flags.is_nonblocking()).then_some(flags);
        AsyncFd::register(inner, original_flags)
    }

    /// Registers a value whose fd was created non-blocking (`SOCK_NONBLOCK`, `accept4`), saving
    /// the `fcntl` round trips of [`new`](Self::new).
    pub(crate) fn new_nonblocking(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::register(inner, None).map_err(|err| err.into_parts().1)
    }

    fn register(
        inner: T,
        original_flags: Option<FdFlags>,
    ) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        // SAFETY: the registration is kept next to `inner`, which owns the fd, and is always
        // dropped first (see `deregister`, called by `drop` and `into_inner`).
        match unsafe { Registration::new(inner.as_fd()) } {
            Ok(registration) => Ok(AsyncFd {
                registration: Some(registration),
                inner: Some(inner),
                original_flags,
            }),
            Err(err) => {
                let error = explain_registration_error(inner.as_fd().as_raw_fd(), err);
                restore_flags(inner.as_fd(), original_flags);
                Err(AsyncFdTryNewError { inner, error })
            }
        }
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("AsyncFd holds its value until dropped")
    }

    /// The wrapped value, mutably.
    ///
    /// # Safety
    /// When the borrow ends, the value must still own the fd it was registered with, open and
    /// the same file: do not replace the value, nor close its fd, nor `dup2` another file onto
    /// it. The reactor deletes the fd from epoll by its number when this `AsyncFd` goes; if the
    /// number had been closed and reused meanwhile, that would delete the registration of
    /// whatever now has it, whose tasks would then never be woken. To change the value, take it
    /// out with [`into_inner`](Self::into_inner) and wrap the new one.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use minireactor::io::AsyncFd;
    ///
    /// minireactor::block_on(async {
    ///     let (ours, _theirs) = UnixStream::pair()?;
    ///     let mut ours = AsyncFd::new(ours)?;
    ///     // SAFETY: writing through the value leaves it owning the same fd.
    ///     unsafe { ours.get_mut() }.write_all(b"ping")?;
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Safe code cannot reach it, so it cannot swap the fd under the reactor:
    ///
    /// ```compile_fail,E0133
    /// # use std::os::unix::net::UnixStream;
    /// # let (ours, _theirs) = UnixStream::pair().unwrap();
    /// let mut ours = minireactor::io::AsyncFd::new(ours).unwrap();
    /// *ours.get_mut() = UnixStream::pair().unwrap().0; // error: `get_mut` is unsafe
    /// ```
    pub unsafe fn get_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("AsyncFd holds its value until dropped")
    }

    /// Deregisters the fd and returns the value, with the fd's flags as they were when it was
    /// handed to [`new`](Self::new) (blocking again, if it was blocking then).
    pub fn into_inner(mut self) -> T {
        self.deregister();
        let inner = self
            .inner
            .take()
            .expect("AsyncFd holds its value until dropped");
        restore_flags(inner.as_fd(), self.original_flags);
        inner
    }

    fn registration(&self) -> &Registration {
        self.registration
            .as_ref()
            .expect("AsyncFd stays registered until dropped")
    }

    fn deregister(&mut self) {
        if let Some(registration) = self.registration.take() {
            if let Err(err) = registration.deregister() {
                tracing::debug!(%err, "EPOLL_CTL_DEL failed");
            }
        }
    }

    /// Waits until the fd is readable (or at EOF, or has an error).
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future before it resolves gives up its place (no waker is left
    /// behind) and loses no readiness.
    ///
    /// # Errors
    /// If the fd was registered in the parent process before a `fork`.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::Readable).await
    }

    /// Waits until the fd is writable (or closed for writing, or has an error); as
    /// [`readable`](Self::readable).
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::Writable).await
    }

    /// Waits until the fd is ready for `interest`; as [`readable`](Self::readable). Any number
    /// of tasks may wait at once; each is woken.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.waiter(interest).await?;
        Ok(AsyncFdReadyGuard { fd: self, event })
    }

    /// Polls for readiness; stores the task's waker if not ready.
    ///
    /// The waker is shared with every other `poll_ready` of the same direction: only the last
    /// task to poll is woken. To wait from several tasks at once, use [`ready`](Self::ready).
    pub fn poll_ready(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.registration()
            .poll_ready(interest, cx)
            .map_ok(|event| AsyncFdReadyGuard { fd: self, event })
    }

    /// Polls for readability; see [`poll_ready`](Self::poll_ready).
    pub fn poll_read_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(Interest::Readable, cx)
    }

    /// Polls for writability; see [`poll_ready`](Self::poll_ready).
    pub fn poll_write_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(Interest::Writable, cx)
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for `interest` between tries.
    ///
    /// This is the whole edge-trigger loop: wait for readiness, try, and on `WouldBlock` clear
    /// the readiness and wait again. `op` must perform a non-blocking operation on the fd.
    ///
    /// # Cancel safety
    /// The wait is cancel-safe; whether `op` is depends on `op` (a completed `recv` is not
    /// undone). Dropped before `op` succeeded, nothing happened.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = self.waiter(interest);
        poll_fn(|cx| self.poll_io_with(&mut waiter, cx, &mut op)).await
    }

    /// The polling form of [`async_io`](Self::async_io), for `poll_*` methods (sharing the
    /// direction's waker, as [`poll_ready`](Self::poll_ready)).
    pub fn poll_io<R>(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_with(&mut self.polled(interest), cx, op)
    }

    /// The edge-trigger loop, waiting through `waiter`.
    pub(crate) fn poll_io_with<R>(
        &self,
        waiter: &mut Readiness<'_>,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = std::task::ready!(waiter.poll_ready(cx))?;
            let mut guard = AsyncFdReadyGuard::new(self, event);
            if let Ok(result) = guard.try_io(&mut op) {
                return Poll::Ready(result);
            }
            // WouldBlock: readiness is cleared; the next poll stores our waker.
        }
    }

    /// A readiness future with a waiter slot of its own, for async methods.
    pub(crate) fn waiter(&self, interest: Interest) -> Readiness<'_> {
        self.registration().ready(interest)
    }

    /// A readiness poller sharing the direction's waker, for `poll_*` methods.
    pub(crate) fn polled(&self, interest: Interest) -> Readiness<'_> {
        self.registration().polled(interest)
    }

    /// Readiness seen and not yet cleared.
    pub fn readiness(&self) -> Ready {
        self.registration().readiness()
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        // Deregister first; `inner`, dropped after this, is what closes the fd.
        self.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Puts back the flags a failed or finished `AsyncFd` changed; a failure is only logged, since
/// the value is being handed back either way.
fn restore_flags(fd: BorrowedFd<'_>, original: Option<FdFlags>) {
    if let Some(original) = original {
        if let Err(err) = original.set(fd, original.nonblocking()) {
            tracing::debug!(%err, "could not restore the fd's flags");
        }
    }
}

/// Adds what `EPERM` means to a registration error; other errors pass through unchanged.
fn explain_registration_error(fd: RawFd, err: io::Error) -> io::Error {
    if err.raw_os_error() != Some(libc::EPERM) {
        return err;
    }
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "fd {fd} cannot be awaited: epoll_ctl refused it with EPERM ({err}), which means the \
             file does not support polling — a regular file, or a device whose driver has no \
             poll method. Such files are always ready: use blocking I/O on them"
        ),
    )
}

/// The error of [`AsyncFd::try_new`], carrying the value back.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    error: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The value that could not be registered, and why.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.error)
    }

    /// Why the registration failed.
    pub fn error(&self) -> &io::Error {
        &self.error
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdTryNewError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(err: AsyncFdTryNewError<T>) -> io::Error {
        err.error
    }
}

/// Readiness observed on an [`AsyncFd`], to act on.
///
/// Dropping the guard leaves the readiness set; call [`clear_ready`](Self::clear_ready) (or let
/// [`try_io`](Self::try_io) do it) once an operation has returned `WouldBlock`.
#[must_use = "the readiness should be acted on: use try_io, or clear_ready after WouldBlock"]
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    fd: &'a AsyncFd<T>,
    event: ReadyEvent,
}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    pub(crate) fn new(fd: &'a AsyncFd<T>, event: ReadyEvent) -> AsyncFdReadyGuard<'a, T> {
        AsyncFdReadyGuard { fd, event }
    }

    /// [`clear_ready`](Self::clear_ready) after an operation returned `WouldBlock`, giving back
    /// the budget unit the readiness spent on it.
    pub(crate) fn clear_ready_unspent(&mut self) {
        self.clear_ready();
        coop::refund();
    }

    /// Forgets this readiness: the next wait for it blocks until a new edge arrives. Only call
    /// it after an operation returned `WouldBlock`.
    pub fn clear_ready(&mut self) {
        self.fd.registration().clear_readiness(self.event);
    }

    /// The readiness that resolved the wait.
    pub fn ready(&self) -> Ready {
        self.event.ready
    }

    /// Every readiness bit the fd had when the wait resolved, whatever the interest.
    pub fn all_ready(&self) -> Ready {
        self.event.all
    }

    /// Runs `op`; if it returns `WouldBlock`, clears the readiness and returns `Err(TryIoError)`,
    /// otherwise returns `Ok` with its result.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a T) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.fd.get_ref()) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready_unspent();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The value inside the `AsyncFd`.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("ready", &self.event.ready)
            .finish()
    }
}

/// Returned by [`AsyncFdReadyGuard::try_io`] when the operation would block: the readiness was
/// cleared, wait for it again.
#[derive(Debug)]
pub struct TryIoError(());
