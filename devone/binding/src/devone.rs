//! [`Devone`]: the devone device, opened non-blocking, awaited through the reactor, and operated
//! on the runtime's thread or the blocking pool as [`Offload`] says.
//!
//! Every method runs the same loop: wait for readiness (reads and writes, when the driver can be
//! polled), take the device's turn, finish an operation a dropped future left on the pool, then
//! make the syscall, inline or on the pool, timed; on `EAGAIN` clear the readiness and go round
//! again. Invariants:
//!
//! - the fd is in at most one syscall at a time, whichever thread makes it: syscalls are made
//!   only by the holder of the turn, and the holder first awaits the one left in flight;
//! - readiness is cleared only after an operation returned `EAGAIN` (a device may return fewer
//!   bytes than asked without being drained: the stream-socket shortcut does not apply);
//! - bytes read on the pool for a future that was dropped are returned by the next reads,
//!   before any new read of the device;
//! - the file stays open until the last syscall on it has returned: a pool thread holds the
//!   `Arc<File>` while it makes one, so dropping the `Devone` then only removes the epoll
//!   registration at once and leaves the close to that thread; a write or an ioctl left in
//!   flight when the `Devone` is dropped still runs, even if it had not started yet, and the
//!   runtime's drop waits for it; a read left in flight is given up.
//!
//! Two kinds of driver are handled without a readiness event to wait for: one without a `poll`
//! method (`epoll_ctl` fails with `EPERM`: the device is treated as always ready, as
//! `select`/`poll` treat it), and one whose `poll` says "ready" while the operation says
//! `EAGAIN` (caught twice in a row, checked with `poll(2)` after each `EAGAIN`; the module's
//! `poll_always_ready` with a latency). For both, an `EAGAIN` is retried after [`RETRY_PAUSE`].

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use minireactor_io::AsyncFd;
use minireactor_reactor::{coop, time, Interest};

use crate::in_flight::InFlight;
use crate::ioctl::IoctlCmd;
use crate::offload::{Detector, Offload, OpKind, Placement};
use crate::op::{Done, Ioctl, Operation, ReadInto, Timed, WriteFrom};
use crate::sys::{self, Request};
use crate::turn::Turn;

/// How long to wait before retrying an operation that returned `EAGAIN` on a device with no
/// trustworthy readiness to wait for (no `poll` method, or one that always says ready).
const RETRY_PAUSE: Duration = Duration::from_millis(1);

/// How many `EAGAIN`s in a row, each with `poll(2)` saying "ready" right after, make the
/// driver's `poll` untrustworthy. One can be a race (data arriving between the two syscalls,
/// which is followed by an edge anyway); two in a row, with nothing waited for in between, is a
/// `poll` that does not tell the truth.
const CONTRADICTIONS_BEFORE_DISTRUST: u8 = 2;

/// An open devone device.
///
/// Not `Send`: its readiness belongs to the reactor of the thread that opened it. Its methods
/// take `&self`, so tasks of that thread may share it (an `Rc<Devone>`); their operations take
/// turns, first come first served.
pub struct Devone {
    /// For log messages.
    path: Box<Path>,
    /// The open file, shared with the pool thread of an operation in flight.
    file: Arc<File>,
    /// The epoll registration; `None` if the driver has no `poll` method.
    registered: Option<AsyncFd<Arc<File>>>,
    /// Cleared for good once the driver's `poll` was caught contradicting an `EAGAIN`.
    poll_trusted: Cell<bool>,
    detector: Cell<Detector>,
    turn: Turn,
    in_flight: InFlight,
}

/// What to do after an `EAGAIN`.
enum NextTry {
    /// Wait for a new readiness edge.
    OnReadiness,
    /// Try again now, without waiting.
    AtOnce,
    /// Sleep [`RETRY_PAUSE`], then try again.
    AfterPause,
}

impl Devone {
    /// Opens the device read-write and non-blocking, registers it with the reactor, and finds
    /// out whether its driver sleeps in non-blocking operations ([`Offload::Detect`]).
    ///
    /// A driver without a `poll` method (the module's `pollable=0`) cannot be registered with
    /// epoll; the device is then treated as always ready instead of failing.
    ///
    /// # Errors
    /// Those of `open(2)` (`NotFound` if the driver is not loaded), and those of `epoll_ctl`
    /// other than `EPERM`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Devone> {
        Devone::open_with(path, Offload::Detect)
    }

    /// Like [`open`](Self::open), with the thread the operations run on chosen by `offload`.
    ///
    /// ```no_run
    /// use minireactor::devone::{Devone, Offload};
    ///
    /// minireactor::block_on(async {
    ///     // A driver known to sleep in read(2), O_NONBLOCK or not: never on this thread.
    ///     let dev = Devone::open_with("/dev/devone0", Offload::Always)?;
    ///     assert!(dev.is_offloaded());
    ///     let mut buf = [0; 8];
    ///     dev.read(&mut buf).await?;
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, offload: Offload) -> io::Result<Devone> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        Devone::from_file(file, path, offload)
    }

    /// Takes over an open device file (made non-blocking here) and registers it.
    fn from_file(file: File, path: &Path, offload: Offload) -> io::Result<Devone> {
        let (file, registered) = match AsyncFd::try_new(Arc::new(file)) {
            Ok(registered) => (Arc::clone(registered.get_ref()), Some(registered)),
            Err(err) if err.error().kind() == io::ErrorKind::PermissionDenied => {
                let (file, error) = err.into_parts();
                tracing::debug!(
                    path = %path.display(),
                    %error,
                    "driver has no poll method; treating the device as always ready"
                );
                (file, None)
            }
            Err(err) => return Err(err.into()),
        };
        tracing::debug!(
            path = %path.display(),
            pollable = registered.is_some(),
            ?offload,
            "devone opened"
        );
        Ok(Devone {
            path: path.into(),
            file,
            registered,
            poll_trusted: Cell::new(true),
            detector: Cell::new(Detector::new(offload)),
            turn: Turn::default(),
            in_flight: InFlight::default(),
        })
    }

    /// Whether the device is registered with epoll (its driver has a `poll` method), so that
    /// reads and writes await readiness.
    pub fn is_pollable(&self) -> bool {
        self.registered.is_some()
    }

    /// Whether every operation now runs on the blocking pool: always with [`Offload::Always`],
    /// and with [`Offload::Detect`] once the driver was caught sleeping.
    pub fn is_offloaded(&self) -> bool {
        self.detector.get().offloads_all()
    }

    /// Waits until the device is readable, then reads into `buf`.
    ///
    /// On the pool, one read moves at most 64 KiB (a short read, as `read(2)` allows).
    ///
    /// # Cancel safety
    /// Nothing is lost: a read dropped while its syscall runs on the pool finishes there, and its
    /// bytes are what the device's next reads return first.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io(Some(Interest::Readable), ReadInto(buf)).await
    }

    /// Waits until the device is writable, then writes `buf`; the first byte becomes the value.
    ///
    /// # Cancel safety
    /// A write dropped while its syscall runs on the pool still happens (a syscall cannot be
    /// called back); the device's next operation waits for it.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io(Some(Interest::Writable), WriteFrom(buf)).await
    }

    /// The current value (`IOCTL_VALGET`).
    ///
    /// ```no_run
    /// use minireactor::devone::Devone;
    ///
    /// minireactor::block_on(async {
    ///     let dev = Devone::open("/dev/devone0")?;
    ///     let mut buf = [0; 8];
    ///     let n = dev.read(&mut buf).await?;
    ///     assert_eq!(&buf[..n], &[0xff; 8]);
    ///     dev.set_value(b'A').await?;
    ///     assert_eq!(dev.value().await?, b'A');
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn value(&self) -> io::Result<u8> {
        let get = Ioctl {
            request: Request::ValGet,
            cmd: IoctlCmd::default(),
        };
        let cmd = self.io(None, get).await?;
        u8::try_from(cmd.val).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("devone reported value {} (not a byte)", cmd.val),
            )
        })
    }

    /// Sets the value (`IOCTL_VALSET`); needs `CAP_SYS_ADMIN`, else `PermissionDenied`.
    ///
    /// # Cancel safety
    /// As [`write`](Self::write): dropped while on the pool, it still happens.
    pub async fn set_value(&self, value: u8) -> io::Result<()> {
        let set = Ioctl {
            request: Request::ValSet,
            cmd: IoctlCmd {
                val: value.into(),
                ..IoctlCmd::default()
            },
        };
        self.io(None, set).await.map(drop)
    }

    /// The loop of the module documentation; `interest` is `None` for ioctls, which wait for no
    /// readiness.
    async fn io<O: Operation>(
        &self,
        interest: Option<Interest>,
        mut op: O,
    ) -> io::Result<O::Output> {
        let mut contradicted = 0;
        let mut await_readiness = true;
        loop {
            if let Some(output) = op.complete_from_kept(&self.in_flight) {
                return Ok(output);
            }
            let mut readiness = match (interest, &self.registered) {
                (Some(interest), Some(fd)) if await_readiness && self.poll_trusted.get() => {
                    Some(fd.ready(interest).await?)
                }
                _ => None,
            };
            let turn = self.turn.acquire().await;
            self.finish_abandoned().await;
            if let Some(output) = op.complete_from_kept(&self.in_flight) {
                return Ok(output);
            }
            let (result, placement) = self.perform(&mut op).await;
            let Some(interest) = interest else {
                return result;
            };
            match result {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            if let Some(guard) = readiness.as_mut() {
                guard.clear_ready();
                if placement == Placement::Inline {
                    // As `try_io`: the readiness spent a budget unit on an operation that did not
                    // complete. (On the pool the task has been `Pending` since.)
                    coop::refund();
                }
            }
            let next = self.next_try(interest, &mut contradicted);
            drop(turn);
            await_readiness = match next {
                NextTry::OnReadiness => true,
                NextTry::AtOnce => false,
                NextTry::AfterPause => {
                    time::sleep(RETRY_PAUSE).await;
                    false
                }
            };
        }
    }

    /// Makes the syscall where the detector says, timing it. Called with the turn held and the
    /// slot empty.
    async fn perform<O: Operation>(&self, op: &mut O) -> (io::Result<O::Output>, Placement) {
        let placement = self.detector.get().placement(O::KIND);
        let result = match placement {
            Placement::Inline => {
                let start = Instant::now();
                let result = op.inline(&self.file);
                self.record(O::KIND, placement, start.elapsed());
                result
            }
            Placement::Pool => {
                let job = op.job();
                let file = Arc::clone(&self.file);
                tracing::trace!(operation = O::KIND.name(), "devone: on the blocking pool");
                self.in_flight.start(
                    minireactor_blocking::unblock(move || job.run(file)),
                    O::KIND,
                );
                // Dropped here, the operation stays in the slot for the next one to finish.
                let Timed { done, took } = self
                    .in_flight
                    .finish()
                    .await
                    .expect("the operation just started is in the slot");
                self.record(O::KIND, placement, took);
                op.finish(done)
            }
        };
        (result, placement)
    }

    /// Awaits the operation a dropped future left on the pool, if any, keeping a read's bytes.
    async fn finish_abandoned(&self) {
        let Some(Timed { done, took }) = self.in_flight.finish().await else {
            return;
        };
        self.record(done.kind(), Placement::Pool, took);
        match done {
            Done::Read(Ok(bytes)) => {
                tracing::trace!(
                    bytes = bytes.len(),
                    "devone: keeping the bytes of a read whose future was dropped"
                );
                self.in_flight.keep(bytes);
            }
            Done::Read(Err(err)) | Done::Write(Err(err)) | Done::Ioctl(Err(err)) => {
                tracing::debug!(%err, "devone: an operation whose future was dropped failed");
            }
            Done::Write(Ok(_)) | Done::Ioctl(Ok(_)) => {}
        }
    }

    /// Feeds the detector; logs the one warning when it switches the device to the pool.
    fn record(&self, kind: OpKind, placement: Placement, took: Duration) {
        let mut detector = self.detector.get();
        let switched = detector.record(kind, placement, took);
        self.detector.set(detector);
        if switched {
            tracing::warn!(
                path = %self.path.display(),
                operation = kind.name(),
                ?took,
                "devone driver ignores O_NONBLOCK: a non-blocking {} slept in it; running this \
                 device's reads, writes and ioctls on the blocking pool from now on",
                kind.name()
            );
        }
    }

    /// Decides how to retry after `EAGAIN`; asks the driver's `poll` (with the turn held: it is
    /// a syscall on the fd) whether it contradicts the `EAGAIN`.
    fn next_try(&self, interest: Interest, contradicted: &mut u8) -> NextTry {
        if self.registered.is_none() || !self.poll_trusted.get() {
            return NextTry::AfterPause;
        }
        let events = match interest {
            Interest::Readable => libc::POLLIN,
            Interest::Writable => libc::POLLOUT,
            Interest::Priority => libc::POLLPRI,
        };
        match sys::polls_ready(&self.file, events) {
            Ok(false) => NextTry::OnReadiness,
            Ok(true) => {
                *contradicted += 1;
                if *contradicted < CONTRADICTIONS_BEFORE_DISTRUST {
                    return NextTry::AtOnce;
                }
                self.poll_trusted.set(false);
                tracing::warn!(
                    path = %self.path.display(),
                    "devone driver's poll says ready while the device says EAGAIN; no longer \
                     awaiting its readiness, retrying every {RETRY_PAUSE:?} instead"
                );
                NextTry::AfterPause
            }
            Err(err) => {
                tracing::debug!(%err, "devone: poll(2) failed; awaiting readiness");
                NextTry::OnReadiness
            }
        }
    }
}

impl std::fmt::Debug for Devone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devone")
            .field("path", &self.path)
            .field("pollable", &self.is_pollable())
            .field("poll_trusted", &self.poll_trusted.get())
            .field("detector", &self.detector.get())
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

#[cfg(test)]
mod tests;
