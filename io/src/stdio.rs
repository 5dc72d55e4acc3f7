//! The process's standard streams, [`stdin`], [`stdout`] and [`stderr`], read and written on the
//! blocking pool.
//!
//! # Why not the reactor
//!
//! fds 0, 1 and 2 are usually shared with other processes: the shell that started this one, the
//! other commands of a pipeline. `O_NONBLOCK` lives in the open file *description*, which they
//! share, so setting it here would set it for them too, and it outlives this process: a shell
//! whose terminal turned non-blocking fails its next read with `EAGAIN` and exits. And if stdin
//! is a regular file (`< input.txt`), epoll cannot wait for it at all. So these handles never
//! change the fd's flags and never register it with the reactor: each operation is an ordinary
//! blocking `read`/`write` of std's handle on a pool thread, one operation in flight per handle
//! (the same engine as [`fs::File`](crate::fs::File)).
//!
//! # The trade-off
//!
//! - A pending stdin read occupies one pool thread until data or end of file arrives, and it
//!   cannot be cancelled: a blocked `read(2)` cannot be taken back. It does not keep the
//!   program from exiting (nothing waits for a read), but while it lasts, std's own
//!   `io::stdin()` is locked by it.
//! - Dropping the *future* of a read loses nothing: the read goes on, and the bytes it returns
//!   are kept in the handle for its next read. Dropping the *handle* while a read is in flight
//!   gives the read up: if it had started, it consumes its input, and those bytes are dropped;
//!   keep one [`Stdin`] for as long as the program reads.
//! - If another process sharing the fd made it non-blocking, an operation that would block
//!   waits for the fd with `poll(2)` on its pool thread instead of failing with `WouldBlock`.
//! - Writes are done once queued (see [`fs::File`](crate::fs::File)): call `flush` to know the
//!   bytes reached the fd, and to push out std's line buffer of stdout (a line without its
//!   newline waits there). A write queued when the handle is dropped still happens: dropping
//!   the runtime waits for it, so it is not lost if the program exits right after.
//! - The handles share std's handles, and so their locks and stdout's buffer, with `println!`:
//!   output from both comes out in the order the writes reach std.
//!
//! ```no_run
//! use minireactor_io::stdio::{stdin, stdout};
//!
//! minireactor::block_on(async {
//!     let (mut input, mut output) = (stdin(), stdout());
//!     let mut buf = [0; 4096];
//!     loop {
//!         let n = input.read(&mut buf).await?;
//!         if n == 0 {
//!             break; // End of input.
//!         }
//!         output.write_all(&buf[..n]).await?;
//!     }
//!     output.flush().await
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::fs::unblocked::{self, Unblocked};

/// A handle to the standard input; see the [module documentation](self) for the trade-offs.
pub fn stdin() -> Stdin {
    Stdin {
        inner: Unblocked::new(io::stdin()),
    }
}

/// A handle to the standard output.
///
/// ```
/// use minireactor_io::stdio::stdout;
///
/// minireactor::block_on(async {
///     let mut out = stdout();
///     out.write_all(b"hello from the pool\n").await?;
///     out.flush().await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        inner: Unblocked::new(io::stdout()),
    }
}

/// A handle to the standard error (unbuffered in std, so a write reaches fd 2 as it finishes).
pub fn stderr() -> Stderr {
    Stderr {
        inner: Unblocked::new(io::stderr()),
    }
}

/// The standard input, read on the blocking pool; made by [`stdin`].
pub struct Stdin {
    inner: Unblocked<io::Stdin>,
}

impl Stdin {
    /// Reads up to `buf.len()` bytes (at most 2 MiB); `Ok(0)` at the end of the input.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_read(cx, buf)).await
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

/// The standard output, written on the blocking pool; made by [`stdout`].
pub struct Stdout {
    inner: Unblocked<io::Stdout>,
}

/// The standard error, written on the blocking pool; made by [`stderr`].
pub struct Stderr {
    inner: Unblocked<io::Stderr>,
}

/// The writing side of [`Stdout`] and [`Stderr`], which differ only in std's handle.
macro_rules! impl_writer {
    ($handle:ty) => {
        impl $handle {
            /// Takes up to 2 MiB of `buf` to be written; done once queued.
            pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                poll_fn(|cx| self.inner.poll_write(cx, buf)).await
            }

            /// Writes all of `buf`; done once the last piece is queued.
            pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                unblocked::write_all(self, buf).await
            }

            /// Waits for the writes in flight, then flushes std's buffer to the fd. Returns the
            /// error of any write not reported yet.
            pub async fn flush(&mut self) -> io::Result<()> {
                poll_fn(|cx| self.inner.poll_flush(cx)).await
            }
        }

        impl AsyncWrite for $handle {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().inner.poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().inner.poll_flush(cx)
            }

            /// Flushes; the fd itself stays open (it is the process's, not the handle's).
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().inner.poll_flush(cx)
            }
        }
    };
}

impl_writer!(Stdout);
impl_writer!(Stderr);

macro_rules! impl_debug {
    ($($handle:ident),*) => {
        $(impl fmt::Debug for $handle {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($handle)).finish_non_exhaustive()
            }
        })*
    };
}

impl_debug!(Stdin, Stdout, Stderr);
