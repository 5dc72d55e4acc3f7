//! [`InFlight`]: the one operation of a device that may be running on the blocking pool, kept by
//! the device rather than by the future that started it, and the bytes of a read that finished
//! after its future was dropped.
//!
//! A syscall on a pool thread cannot be called back: dropping the future that awaits it (a
//! `timeout`, an aborted task) does not stop it. So the operation stays here, and the next
//! operation of the device awaits it before it starts its own (the fd is never in two syscalls
//! at once); if it was a read, its bytes are kept and given to the next reads before any new
//! read of the device, so that nothing the driver handed over is lost.
//!
//! Invariants: the slot holds at most one operation, and is filled and awaited only by the task
//! holding the device's [`Turn`](crate::turn::Turn); `leftover` is only filled from a finished
//! read, and a new read starts only when it is empty, so it holds at most one read's bytes.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::Read;
use std::pin::Pin;
use std::task::Poll;

use minireactor_blocking::Blocking;

use crate::offload::OpKind;
use crate::op::Timed;

#[derive(Default)]
pub(crate) struct InFlight {
    /// Taken out while it is polled, so no borrow is held while it stores or drops a waker.
    slot: Cell<Option<Blocking<Timed>>>,
    /// The operation in the slot changes the device (a write or an ioctl): see `drop`.
    must_finish: Cell<bool>,
    leftover: RefCell<VecDeque<u8>>,
}

impl InFlight {
    /// Puts a just-started operation of kind `kind` in the (empty) slot.
    pub(crate) fn start(&self, operation: Blocking<Timed>, kind: OpKind) {
        let previous = self.slot.replace(Some(operation));
        debug_assert!(previous.is_none(), "only one operation in flight");
        self.must_finish.set(kind != OpKind::Read);
    }

    /// Waits for the operation in the slot, if any, and empties the slot.
    ///
    /// Cancel-safe: dropped while waiting, the operation stays in the slot.
    pub(crate) async fn finish(&self) -> Option<Timed> {
        poll_fn(|cx| {
            let Some(mut operation) = self.slot.take() else {
                return Poll::Ready(None);
            };
            match Pin::new(&mut operation).poll(cx) {
                Poll::Ready(timed) => Poll::Ready(Some(timed)),
                Poll::Pending => {
                    self.slot.set(Some(operation));
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Keeps the bytes of a read nobody awaited any more, for the next reads.
    pub(crate) fn keep(&self, bytes: Vec<u8>) {
        self.leftover.borrow_mut().extend(bytes);
    }

    /// Moves kept bytes into `buf`, if there are any: `Some(count)`.
    pub(crate) fn take_kept(&self, buf: &mut [u8]) -> Option<usize> {
        let mut leftover = self.leftover.borrow_mut();
        if leftover.is_empty() {
            return None;
        }
        Some(leftover.read(buf).expect("reading a VecDeque cannot fail"))
    }
}

/// The device is dropped with an operation in flight. A write or an ioctl still runs, even if
/// it had not started yet (one whose future was dropped is promised to happen; the runtime's
/// drop waits for it), and what it returns is dropped on its thread, which closes the file
/// last. A read is given up: skipped if it had not started, else left to end on its thread,
/// which nothing waits for (a driver's read may wait for ever).
impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(operation) = self.slot.take() {
            if self.must_finish.get() {
                operation.detach();
            } // Else dropped: given up.
        }
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let operation = self.slot.take();
        let busy = operation.is_some();
        self.slot.set(operation);
        f.debug_struct("InFlight")
            .field("busy", &busy)
            .field("kept_bytes", &self.leftover.borrow().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use minireactor_blocking::Pool;

    use super::*;
    use crate::op::Done;

    #[test]
    fn a_dropped_device_leaves_its_write_or_ioctl_owed_and_gives_its_read_up() {
        let pool = Pool::new(1, Duration::from_secs(60));
        for (kind, owed) in [
            (OpKind::Read, false),
            (OpKind::Write, true),
            (OpKind::Ioctl, true),
        ] {
            let (release, released) = mpsc::channel::<()>();
            let (started, running) = mpsc::channel();
            let in_flight = InFlight::default();
            in_flight.start(
                pool.spawn(move || {
                    started.send(()).unwrap();
                    let _ = released.recv(); // A driver that blocks until released.
                    Timed {
                        done: Done::Write(Ok(0)),
                        took: Duration::ZERO,
                    }
                }),
                kind,
            );
            running.recv().unwrap();
            drop(in_flight);
            assert_eq!(
                pool.wait_for_detached(Some(Instant::now())),
                !owed,
                "{kind:?}: owed to the runtime's drop"
            );
            drop(release);
            assert!(pool.wait_for_detached(None));
        }
    }
}
