//! The parent's ends of a child's piped stdin, stdout and stderr: [`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`].
//!
//! Each is an [`AsyncFd`] over the pipe end std created (close-on-exec), made non-blocking.
//! That is safe to do here, unlike on an inherited fd: a pipe's two ends are separate open file
//! descriptions, so the child's end stays as it was. Pipes get no short-read shortcut (see
//! `net::stream`): a read clears readiness only on `EAGAIN`.
//!
//! A write to a pipe whose reader has exited raises SIGPIPE; Rust programs ignore SIGPIPE
//! from the start, so the write fails with `BrokenPipe` instead (a program that restored
//! SIGPIPE's default action would be terminated, as with any pipe).

use std::fmt;
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use minireactor_reactor::Interest;

use crate::AsyncFd;

/// How much a read of `read_to_end` asks for: a pipe holds 64 KiB by default.
const READ_CHUNK: usize = 32 * 1024;

/// The parent's end of a child's stdin ([`Stdio::piped`](std::process::Stdio::piped)).
///
/// The child sees end of file once this is dropped or closed (`AsyncWrite::poll_close`).
pub struct ChildStdin {
    /// `None` once closed.
    fd: Option<AsyncFd<File>>,
}

impl ChildStdin {
    pub(crate) fn new(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            fd: Some(pipe_end(stdin.into())?),
        })
    }

    fn fd(&self) -> io::Result<&AsyncFd<File>> {
        self.fd.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "the child's stdin was closed")
        })
    }

    /// Writes some of `buf`, waiting until the pipe has room; returns how much was written.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd()?
            .async_io(Interest::Writable, |mut pipe| pipe.write(buf))
            .await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        let fd = self.fd()?;
        while !buf.is_empty() {
            let n = fd
                .async_io(Interest::Writable, |mut pipe| pipe.write(buf))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.fd()?
            .poll_io(Interest::Writable, cx, |mut pipe| pipe.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // Writes go straight to the kernel.
    }

    /// Closes the pipe, so the child reads end of file; later writes fail with `NotConnected`.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.get_mut().fd.take());
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin").field("fd", &self.fd).finish()
    }
}

/// The reading ends: stdout and stderr differ only in name.
macro_rules! read_end {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            fd: AsyncFd<File>,
        }

        impl $name {
            pub(crate) fn new(pipe: $std) -> io::Result<$name> {
                Ok($name {
                    fd: pipe_end(pipe.into())?,
                })
            }

            /// Reads into `buf`, waiting for data; 0 means end of file (the child closed it,
            /// usually by exiting) or an empty `buf`.
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.fd
                    .async_io(Interest::Readable, |mut pipe| pipe.read(buf))
                    .await
            }

            /// Reads until end of file, appending to `buf`; returns how many bytes it added.
            ///
            /// # Cancel safety
            /// Bytes read before the future is dropped stay in `buf`.
            pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
                let before = buf.len();
                poll_fn(|cx| poll_read_to_end(&self.fd, cx, buf)).await?;
                Ok(buf.len() - before)
            }

            pub(crate) fn poll_read_to_end(
                &self,
                cx: &mut Context<'_>,
                buf: &mut Vec<u8>,
            ) -> Poll<io::Result<()>> {
                poll_read_to_end(&self.fd, cx, buf)
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.fd.poll_io(Interest::Readable, cx, |mut pipe| pipe.read(buf))
            }
        }

        impl futures_io::AsyncRead for &$name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.fd.poll_io(Interest::Readable, cx, |mut pipe| pipe.read(buf))
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.fd).finish()
            }
        }
    };
}

read_end!(
    /// The parent's end of a child's stdout ([`Stdio::piped`](std::process::Stdio::piped)).
    ChildStdout,
    std::process::ChildStdout
);

read_end!(
    /// The parent's end of a child's stderr ([`Stdio::piped`](std::process::Stdio::piped)).
    ChildStderr,
    std::process::ChildStderr
);

fn pipe_end(fd: OwnedFd) -> io::Result<AsyncFd<File>> {
    AsyncFd::new(File::from(fd))
}

/// Reads from `fd` until end of file, appending to `buf`; what was read before a `Pending` or
/// an error stays in `buf`.
///
/// The buffer grows by a chunk only inside the operation, which runs when the pipe is known to
/// be readable: a poll that finds nothing (an idle stderr while stdout wakes the task) zeroes
/// and allocates nothing. (std's `read_to_end` would avoid even the zeroing, but `File`'s asks
/// the fd for its size and position first: two syscalls more per call, useless on a pipe.)
fn poll_read_to_end(
    fd: &AsyncFd<File>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        let read = fd.poll_io(Interest::Readable, cx, |mut pipe| {
            let filled = buf.len();
            buf.resize(filled + READ_CHUNK, 0);
            let read = pipe.read(&mut buf[filled..]);
            buf.truncate(filled + read.as_ref().map_or(0, |&n| n));
            read
        });
        match read {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
