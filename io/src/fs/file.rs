//! [`File`]: an open file whose operations run on the blocking pool, one at a time.
//!
//! The file position moves only on pool threads, one operation at a time, and the unread bytes
//! of a read count as not read yet: before a write, a `set_len` or [`into_std`](File::into_std)
//! the file seeks back over them, and a seek relative to the current position starts from where
//! the reader is, not from where the last read left the file.

use std::fmt;
use std::fs::Metadata;
use std::future::poll_fn;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::buf::Buf;
use super::unblocked::{self, Effect, Outcome, Unblocked};
use super::OpenOptions;

/// An open file, read, written and seeked through the blocking pool.
///
/// Implements [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`], and has the same operations as
/// inherent methods. One operation is in flight at a time; each moves the file and a buffer of
/// at most 2 MiB to a pool thread and back.
///
/// - **Reads** read up to the length asked for (at most 2 MiB). If the future of a read is
///   dropped while the read is in flight, the read still finishes, and its bytes are what the
///   next read returns: nothing is lost.
/// - **Writes** are done as soon as the bytes are copied into the buffer and queued; the next
///   operation waits for them. An error of a write is returned by the next operation, whatever
///   it is, or by [`flush`](Self::flush): call `flush` (or `close`) to know that everything
///   written reached the kernel. ([`sync_all`](Self::sync_all) then asks for the disk.)
/// - **Dropping** the file lets a write (or flush, seek, `set_len`, sync) in flight finish, and
///   closes the file on the pool thread afterwards; its errors are lost. Dropping the runtime
///   waits for such writes, so they happen even if the program exits right after. A read in
///   flight is given up instead. An idle file is closed where it is dropped.
///
/// Operations take `&mut self`: every one goes through the file's one in-flight slot.
///
/// ```
/// use std::io::SeekFrom;
/// use minireactor_io::fs::File;
///
/// minireactor::block_on(async {
///     let path = std::env::temp_dir().join(format!("minireactor-doc-file-{}", std::process::id()));
///     let mut file = File::options().read(true).write(true).create(true).truncate(true).open(&path).await?;
///     file.write_all(b"hello, world").await?;
///     file.seek(SeekFrom::Start(7)).await?; // Waits for the write.
///     let mut word = [0; 5];
///     assert_eq!(file.read(&mut word).await?, 5);
///     assert_eq!(&word, b"world");
///     assert_eq!(file.metadata().await?.len(), 12);
///     std::fs::remove_file(&path)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    inner: Unblocked<std::fs::File>,
}

impl File {
    /// Opens the file at `path` for reading. An error names the path.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens the file at `path` for writing, creating it or truncating it. An error names the
    /// path.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// New [`OpenOptions`], to open a file another way.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            inner: Unblocked::new(file),
        }
    }

    /// Waits for the operation in flight and returns the std file, positioned where the reader
    /// is (after the bytes read through this `File`, not after what it read ahead).
    ///
    /// Fails with the error of an earlier write that nobody saw yet, or if the seek back over
    /// the unread bytes fails; the file is closed then.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        poll_fn(|cx| self.poll_rewind(cx)).await?;
        self.inner.take_write_error()?;
        Ok(self.inner.into_parked().io)
    }

    /// The file's metadata (`fstat`), after the operation in flight.
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        let outcome = self
            .inner
            .run("metadata", Effect::Reads, |file, _| {
                Outcome::Metadata(file.metadata())
            })
            .await?;
        match outcome {
            Outcome::Metadata(result) => result,
            other => unreachable!("metadata finished as {other:?}"),
        }
    }

    /// Truncates or extends the file to `size` bytes. The position does not move.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        poll_fn(|cx| self.poll_rewind(cx)).await?; // Unread bytes may be cut off.
        let outcome = self
            .inner
            .run("set_len", Effect::Changes, move |file, _| {
                Outcome::Done(file.set_len(size))
            })
            .await?;
        done(outcome)
    }

    /// Waits for the writes in flight, then asks the kernel to put the data and the metadata on
    /// the disk (`fsync`).
    pub async fn sync_all(&mut self) -> io::Result<()> {
        let outcome = self
            .inner
            .run("sync_all", Effect::Changes, |file, _| {
                Outcome::Done(file.sync_all())
            })
            .await?;
        done(outcome)
    }

    /// Like [`sync_all`](Self::sync_all), but metadata only as needed to read the data back
    /// (`fdatasync`).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        let outcome = self
            .inner
            .run("sync_data", Effect::Changes, |file, _| {
                Outcome::Done(file.sync_data())
            })
            .await?;
        done(outcome)
    }

    /// Reads up to `buf.len()` bytes (at most 2 MiB per call); `Ok(0)` at the end of the file.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_read(cx, buf)).await
    }

    /// Takes up to 2 MiB of `buf` to be written; done once queued (see the [type docs](File)).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_write(cx, buf)).await
    }

    /// Writes all of `buf`; done once the last piece is queued.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        unblocked::write_all(self, buf).await
    }

    /// Waits for the writes in flight; returns the error of any write not reported yet.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_drain(cx)).await
    }

    /// Moves the position, after the writes in flight; returns the new position from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        poll_fn(|cx| Pin::new(&mut *self).poll_seek(cx, pos)).await
    }

    /// Gives the unread bytes of a read back to the file by seeking over them, so that the file
    /// position is the reader's. If the seek fails (a pipe opened as a file cannot seek), the
    /// bytes stay for the next read and the error is returned.
    fn poll_rewind(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(Outcome::Rewound(result)) = ready!(self.inner.poll_idle(cx)) {
                result?;
            }
            if self.inner.parked().buf.unread() == 0 {
                return Poll::Ready(Ok(()));
            }
            self.inner.start("rewind", Effect::Changes, |file, buf| {
                Outcome::Rewound(seek_past_unread(file, buf, SeekFrom::Current(0)).map(drop))
            });
        }
    }
}

/// Seeks `pos`, counting the unread bytes of `buf` as not read yet, and forgets them once the
/// seek succeeded.
fn seek_past_unread(file: &mut std::fs::File, buf: &mut Buf, pos: SeekFrom) -> io::Result<u64> {
    let pos = match pos {
        SeekFrom::Current(offset) => {
            // At most MAX_BUF (2 MiB): it fits an i64.
            let unread = buf.unread() as i64;
            let offset = offset.checked_sub(unread).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek offset out of range")
            })?;
            SeekFrom::Current(offset)
        }
        absolute => absolute,
    };
    let position = file.seek(pos)?;
    buf.discard();
    Ok(position)
}

fn done(outcome: Outcome) -> io::Result<()> {
    match outcome {
        Outcome::Done(result) => result,
        other => unreachable!("an operation without a value finished as {other:?}"),
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_rewind(cx))?;
        this.inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_drain(cx)
    }

    /// Flushes; the file stays open until dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_drain(cx)
    }
}

impl AsyncSeek for File {
    /// Seeks after the operation in flight. A call after `Pending` must pass the same `pos`
    /// (the usual contract of a poll method): the seek in flight is recognised by its `pos`. If
    /// the future of a seek was dropped and the next seek asks for the very same `pos`, the
    /// finished seek is taken as its answer, which for `SeekFrom::Current` means the position
    /// moved once, not twice.
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            if let Some(Outcome::Seek { request, result }) = ready!(this.inner.poll_idle(cx)) {
                if request == pos {
                    return Poll::Ready(result);
                }
            }
            this.inner.take_write_error()?;
            this.inner
                .start("seek", Effect::Changes, move |file, buf| Outcome::Seek {
                    request: pos,
                    result: seek_past_unread(file, buf, pos),
                });
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").finish_non_exhaustive()
    }
}
