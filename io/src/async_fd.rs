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

use minireactor_reactor::{Interest, Ready, ReadyEvent, Registration};

use crate::sys;

/// An fd registered with this thread's reactor, owning the value `T` that owns the fd.
///
/// Invariant: while `inner` is `Some`, the fd is registered; the registration is always dropped
/// (`EPOLL_CTL_DEL`) before `inner`, so the fd is never closed while still in epoll.
pub struct AsyncFd<T: AsRawFd> {
    registration: Option<Registration>,
    inner: Option<T>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Puts the fd in non-blocking mode and registers it with this thread's reactor.
    ///
    /// Fails with `PermissionDenied` (`EPERM` from `epoll_ctl`) for a file that cannot be polled:
    /// a regular file, or a device whose driver has no `poll` method. Use [`try_new`](Self::try_new)
    /// to get the value back.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_new(inner).map_err(|err| err.into_parts().1)
    }

    /// Like [`new`](Self::new), but on failure returns the value with the error.
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        match sys::set_nonblocking(inner.as_raw_fd()) {
            Ok(()) => AsyncFd::try_new_nonblocking(inner),
            Err(error) => Err(AsyncFdTryNewError { inner, error }),
        }
    }

    /// Registers a value whose fd was created non-blocking (`SOCK_NONBLOCK`, `accept4`), saving
    /// the `fcntl` round trip of [`new`](Self::new).
    pub(crate) fn new_nonblocking(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_new_nonblocking(inner).map_err(|err| err.into_parts().1)
    }

    fn try_new_nonblocking(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        let fd = inner.as_raw_fd();
        match Registration::new(fd) {
            Ok(registration) => Ok(AsyncFd {
                registration: Some(registration),
                inner: Some(inner),
            }),
            Err(err) => Err(AsyncFdTryNewError {
                inner,
                error: explain_registration_error(fd, err),
            }),
        }
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("AsyncFd holds its value until dropped")
    }

    /// The wrapped value, mutably. Do not replace or close its fd.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("AsyncFd holds its value until dropped")
    }

    /// Deregisters the fd and returns the value. The fd stays in non-blocking mode.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.inner
            .take()
            .expect("AsyncFd holds its value until dropped")
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
    pub async fn readable(&self) -> AsyncFdReadyGuard<'_, T> {
        self.ready(Interest::Readable).await
    }

    /// Waits until the fd is writable (or closed for writing, or has an error).
    pub async fn writable(&self) -> AsyncFdReadyGuard<'_, T> {
        self.ready(Interest::Writable).await
    }

    /// Waits until the fd is ready for `interest`.
    pub async fn ready(&self, interest: Interest) -> AsyncFdReadyGuard<'_, T> {
        poll_fn(|cx| self.poll_ready(interest, cx)).await
    }

    /// Polls for readiness; stores the task's waker if not ready.
    pub fn poll_ready(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
    ) -> Poll<AsyncFdReadyGuard<'_, T>> {
        self.registration()
            .poll_ready(interest, cx)
            .map(|event| AsyncFdReadyGuard { fd: self, event })
    }

    /// Polls for readability; see [`readable`](Self::readable).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<AsyncFdReadyGuard<'_, T>> {
        self.poll_ready(Interest::Readable, cx)
    }

    /// Polls for writability; see [`writable`](Self::writable).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<AsyncFdReadyGuard<'_, T>> {
        self.poll_ready(Interest::Writable, cx)
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for `interest` between tries.
    ///
    /// This is the whole edge-trigger loop: wait for readiness, try, and on `WouldBlock` clear
    /// the readiness and wait again. `op` must perform a non-blocking operation on the fd.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(interest, cx, &mut op)).await
    }

    /// The polling form of [`async_io`](Self::async_io), for `poll_*` methods.
    pub fn poll_io<R>(
        &self,
        interest: Interest,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let mut guard = std::task::ready!(self.poll_ready(interest, cx));
            if let Ok(result) = guard.try_io(&mut op) {
                return Poll::Ready(result);
            }
            // WouldBlock: readiness is cleared; the next poll_ready stores our waker.
        }
    }

    /// Readiness seen and not yet cleared.
    pub fn readiness(&self) -> Ready {
        self.registration().readiness()
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd is owned by `inner`, which lives as long as `self` borrows it here.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        // Deregister first; `inner`, dropped after this, is what closes the fd.
        self.deregister();
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
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
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    event: ReadyEvent,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
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
                self.clear_ready();
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

impl<T: AsRawFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
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
