//! [`Unblocked`]: blocking I/O on a value `T` (a file, stdin, stdout), one operation at a time
//! on the blocking pool. The engine of [`File`](super::File) and of the [stdio](crate::stdio)
//! handles.
//!
//! The value and its [`Buf`] are *parked* here while no operation runs. An operation moves both
//! into a closure on a pool thread and gets them back with its [`Outcome`]. So:
//! - the value is used by one pool thread at a time, never two: it is owned by exactly one place,
//!   this struct or the one closure in flight;
//! - the state of an operation lives here, not in the future that started it. A future dropped
//!   mid-operation leaves the operation in flight; the next operation waits for it first and
//!   keeps what it produced (the bytes of a read stay in the buffer for the next read);
//! - a write is reported done as soon as its bytes are in the buffer and the closure is queued.
//!   Its error, if any, is kept and returned by the next operation (read, write, flush, seek...),
//!   and so is the error of a flush whose future was dropped.
//!
//! Dropping the engine with an operation in flight that changes the value (a write, a flush, a
//! seek, `set_len`, a sync) lets the operation run to the end, so the last write is not lost:
//! its job is detached (`Blocking::detach`: it runs even if it has not started yet, where
//! dropping it would cancel it), the runtime waits for it when it is dropped (so it happens
//! even if the program exits right after), and the value and the buffer are then dropped on the
//! pool thread. A read or a metadata query in flight is only given up: nobody will see what it
//! returns, so one that has not started is skipped, and one that has (a read of stdin waiting
//! for input, say) ends on its thread, which nothing waits for.

use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::mem;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::AsyncWrite;
use minireactor_blocking::{unblock, Blocking};

use super::buf::Buf;

/// The value and its buffer while no operation runs.
pub(crate) struct Parked<T> {
    pub(crate) io: T,
    pub(crate) buf: Buf,
}

/// What an operation produced, given back with the parked value.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A read filled the buffer (nothing in it: end of file).
    Read(io::Result<()>),
    /// A write finished; an error is moved to the engine's `write_error` when it comes back.
    Wrote(io::Result<()>),
    /// `Write::flush` on the value; an error is moved to `write_error` as a write's is.
    Flushed(io::Result<()>),
    /// A seek the caller asked for (`request`), with the position it reached.
    Seek {
        request: io::SeekFrom,
        result: io::Result<u64>,
    },
    /// A seek back over the unread bytes, so the file position is where the reader is.
    Rewound(io::Result<()>),
    Metadata(io::Result<std::fs::Metadata>),
    /// Any other operation without a value (`set_len`, `sync_all`).
    Done(io::Result<()>),
}

struct Finished<T> {
    parked: Parked<T>,
    outcome: Outcome,
}

struct InFlight<T> {
    job: Blocking<Finished<T>>,
    effect: Effect,
}

/// What an operation does to the value: what dropping the engine mid-operation does with it
/// (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A read or a query: only its caller wants what it returns, so it is given up.
    Reads,
    /// A write, flush, seek, `set_len` or sync: it runs to the end.
    Changes,
}

enum State<T> {
    Idle(Parked<T>),
    Busy(InFlight<T>),
    /// Only inside `start` and `into_inner`, between taking the parked value and storing what
    /// owns it next.
    Moving,
}

pub(crate) struct Unblocked<T: Send + 'static> {
    state: State<T>,
    /// The error of a write that was reported done, for the next operation to return.
    write_error: Option<io::Error>,
}

impl<T: Send + 'static> Unblocked<T> {
    pub(crate) fn new(io: T) -> Unblocked<T> {
        Unblocked {
            state: State::Idle(Parked {
                io,
                buf: Buf::default(),
            }),
            write_error: None,
        }
    }

    /// Waits for the operation in flight, if any, and returns its outcome (`None` if there was
    /// none). The error of a finished write is kept for [`take_write_error`](Self::take_write_error).
    pub(crate) fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        let State::Busy(in_flight) = &mut self.state else {
            return Poll::Ready(None);
        };
        let Finished {
            parked,
            mut outcome,
        } = ready!(Pin::new(&mut in_flight.job).poll(cx));
        self.state = State::Idle(parked);
        if let Outcome::Wrote(result) | Outcome::Flushed(result) = &mut outcome {
            if let Err(err) = mem::replace(result, Ok(())) {
                tracing::debug!(%err, "a write or flush failed; the next operation reports it");
                self.write_error.get_or_insert(err);
            }
        }
        Poll::Ready(Some(outcome))
    }

    /// The error of an earlier write, once.
    pub(crate) fn take_write_error(&mut self) -> io::Result<()> {
        self.write_error.take().map_or(Ok(()), Err)
    }

    /// The parked value; only while idle (after [`poll_idle`](Self::poll_idle) returned).
    pub(crate) fn parked(&mut self) -> &mut Parked<T> {
        match &mut self.state {
            State::Idle(parked) => parked,
            _ => unreachable!("an operation is in flight"),
        }
    }

    /// Starts `op` on the pool with the parked value; only while idle.
    pub(crate) fn start<F>(&mut self, name: &'static str, effect: Effect, op: F)
    where
        F: FnOnce(&mut T, &mut Buf) -> Outcome + Send + 'static,
    {
        let State::Idle(mut parked) = mem::replace(&mut self.state, State::Moving) else {
            unreachable!("an operation is in flight");
        };
        tracing::trace!(op = name, "blocking I/O started");
        let job = unblock(move || {
            let outcome = op(&mut parked.io, &mut parked.buf);
            Finished { parked, outcome }
        });
        self.state = State::Busy(InFlight { job, effect });
    }

    /// Waits for the operation in flight, returns any pending write error, then runs `op` and
    /// returns its outcome.
    pub(crate) async fn run<F>(
        &mut self,
        name: &'static str,
        effect: Effect,
        op: F,
    ) -> io::Result<Outcome>
    where
        F: FnOnce(&mut T, &mut Buf) -> Outcome + Send + 'static,
    {
        poll_fn(|cx| self.poll_drain(cx)).await?;
        self.start(name, effect, op);
        let outcome = poll_fn(|cx| self.poll_idle(cx)).await;
        Ok(outcome.expect("the operation just started is in flight"))
    }

    /// Waits for the operation in flight and returns any pending write error: what a flush of a
    /// file means, since a finished write is in the kernel already.
    pub(crate) fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_idle(cx));
        Poll::Ready(self.take_write_error())
    }

    /// Reads into `dst`: from the unread bytes of an earlier read if there are any, otherwise
    /// by one read of up to `dst.len()` bytes (at most `MAX_BUF`) on the pool.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>>
    where
        T: Read + AsFd,
    {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if let Some(Outcome::Read(result)) = ready!(self.poll_idle(cx)) {
                // Also the read of a dropped future: its bytes are this reader's now.
                return Poll::Ready(result.map(|()| self.parked().buf.copy_to(dst)));
            }
            self.take_write_error()?;
            let buf = &mut self.parked().buf;
            if buf.unread() > 0 {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let len = dst.len();
            self.start("read", Effect::Reads, move |io, buf| {
                Outcome::Read(buf.read_from(io, len))
            });
        }
    }

    /// Takes up to `MAX_BUF` bytes of `src` and starts writing them; done once they are queued.
    /// The caller makes sure no unread bytes are left (a file seeks back over them first).
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>>
    where
        T: Write + AsFd,
    {
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.poll_idle(cx));
        self.take_write_error()?;
        let n = self.parked().buf.copy_from(src);
        self.start("write", Effect::Changes, |io, buf| {
            Outcome::Wrote(buf.write_to(io))
        });
        Poll::Ready(Ok(n))
    }

    /// Waits for the writes in flight, then flushes the value itself on the pool (stdout's
    /// line buffer).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        T: Write + AsFd,
    {
        loop {
            if let Some(Outcome::Flushed(_)) = ready!(self.poll_idle(cx)) {
                // Its error, if any, is in `write_error` now (after any earlier write's).
                return Poll::Ready(self.take_write_error());
            }
            self.take_write_error()?;
            self.start("flush", Effect::Changes, |io, _| {
                Outcome::Flushed(super::buf::blocking(io, true, |io| io.flush()))
            });
        }
    }

    /// The parked value, once nothing is in flight (the caller has waited for it).
    pub(crate) fn into_parked(mut self) -> Parked<T> {
        match mem::replace(&mut self.state, State::Moving) {
            State::Idle(parked) => parked,
            _ => unreachable!("an operation is in flight"),
        }
    }
}

impl<T: Send + 'static> Drop for Unblocked<T> {
    fn drop(&mut self) {
        if let State::Busy(InFlight { job, effect }) = mem::replace(&mut self.state, State::Moving)
        {
            match effect {
                Effect::Changes => job.detach(), // See the module docs: it runs to the end.
                Effect::Reads => drop(job),      // Given up.
            }
        }
    }
}

/// Writes all of `src` to `writer`; for the inherent `write_all` of the types built on this.
pub(crate) async fn write_all<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut src: &[u8],
) -> io::Result<()> {
    while !src.is_empty() {
        match poll_fn(|cx| Pin::new(&mut *writer).poll_write(cx, src)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => src = &src[n..],
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::fd::BorrowedFd;
    use std::pin::pin;

    use super::*;

    /// A writer whose flush fails (stdout to a closed pipe, say), each once the test lets it.
    struct FailingFlush {
        file: std::fs::File,
        go: std::sync::mpsc::Receiver<()>,
    }

    impl Write for FailingFlush {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.go.recv().unwrap();
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    impl AsFd for FailingFlush {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.file.as_fd()
        }
    }

    /// Regression: the error of a flush whose future was dropped was thrown away by the next
    /// operation, where a write's is reported by it.
    #[test]
    fn the_error_of_a_dropped_flush_is_reported_by_the_next_operation() {
        let (go, gate) = std::sync::mpsc::channel();
        let file = std::fs::File::create("/dev/null").unwrap();
        let mut io = Unblocked::new(FailingFlush { file, go: gate });
        minireactor::block_on(async {
            {
                let mut flush = pin!(poll_fn(|cx| io.poll_flush(cx)));
                let started = poll_fn(|cx| Poll::Ready(flush.as_mut().poll(cx).is_pending()));
                assert!(started.await, "the flush waits on the pool for `go`");
            }
            go.send(()).unwrap(); // The dropped flush fails now.
            let err = poll_fn(|cx| io.poll_write(cx, b"next")).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
            go.send(()).unwrap();
            let flushed = poll_fn(|cx| io.poll_flush(cx)).await;
            assert_eq!(
                flushed.unwrap_err().kind(),
                io::ErrorKind::BrokenPipe,
                "its own"
            );
        });
    }
}
