//! `Devone` on a stand-in for a driver that ignores `O_NONBLOCK`: one end of a Unix socket pair
//! put back into blocking mode after `from_file` made it non-blocking (the flag belongs to the
//! open file description, so a clone of the socket can take it back). Once readable, its
//! readiness stays set — a blocking read never says `EAGAIN` — and a read sleeps in the kernel
//! until the peer writes: the module's `read_delay_ms` with `poll_always_ready`, with the peer
//! deciding when the sleep ends.
//!
//! Each test runs on a runtime of its own thread under a watchdog outside it: a read sleeping on
//! the runtime's thread stops the runtime's own timers too.

use std::fs::File;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use minireactor::time::{sleep, timeout};
use minireactor::JoinHandle;

use super::*;
use crate::SLOW_OPERATION;

/// How long a test may take before it counts as hung: a watchdog, not a measurement.
const WATCHDOG: Duration = Duration::from_secs(20);

/// Runs the future `make` builds on a fresh runtime on a thread of its own; panics if it takes
/// longer than [`WATCHDOG`] (the thread, stuck, is left behind).
fn run<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (done_tx, done_rx) = mpsc::channel();
    let test = thread::spawn(move || {
        minireactor::block_on(make());
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(WATCHDOG) {
        Ok(()) => test.join().expect("the test thread finished"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // It panicked: show its panic.
            if let Err(panic) = test.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: still running after {WATCHDOG:?}")
        }
    }
}

/// A `Devone` over `socket`, standing in for a device file.
fn device_over(socket: UnixStream, offload: Offload) -> Devone {
    Devone::from_file(
        File::from(OwnedFd::from(socket)),
        Path::new("socketpair"),
        offload,
    )
    .unwrap()
}

/// Makes `dev` readable with one byte from `peer`, and reads it: a read that drains the socket
/// without an `EAGAIN`, so the readiness stays set.
async fn read_one_byte(dev: &Devone, peer: &UnixStream) {
    let mut peer = peer;
    peer.write_all(b"!").unwrap();
    let mut buf = [0; 1];
    assert_eq!(dev.read(&mut buf).await.unwrap(), 1);
}

/// A `Devone` over a socket that ignores `O_NONBLOCK` (see the module documentation), already
/// readable for good, and the peer that feeds it.
async fn sleepy_device(offload: Offload) -> (Devone, UnixStream) {
    let (ours, peer) = UnixStream::pair().unwrap();
    let same_file = ours.try_clone().unwrap();
    let dev = device_over(ours, offload);
    same_file.set_nonblocking(false).unwrap();
    // The readiness, never cleared, makes every later read sleep.
    read_one_byte(&dev, &peer).await;
    (dev, peer)
}

/// Spawns a task that reads up to 8 bytes from `dev`; its output is the bytes read.
fn spawn_read(dev: &Rc<Devone>) -> JoinHandle<Vec<u8>> {
    let dev = Rc::clone(dev);
    minireactor::spawn(async move {
        let mut buf = [0; 8];
        let n = dev.read(&mut buf).await.unwrap();
        buf[..n].to_vec()
    })
}

fn raw_fd(dev: &Devone) -> RawFd {
    dev.file.as_raw_fd()
}

/// Whether some thread of this process is asleep in `read(fd)` (`/proc/<tid>/syscall` shows a
/// sleeping thread's syscall number and arguments).
fn asleep_in_read(fd: RawFd) -> bool {
    let in_read = format!("{} {fd:#x} ", libc::SYS_read);
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("syscall")).ok())
        .any(|syscall| syscall.starts_with(&in_read))
}

/// Waits, letting the runtime run, until a thread is asleep in `read(fd)`.
async fn until_asleep_in_read(fd: RawFd) {
    while !asleep_in_read(fd) {
        sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_read_sleeping_in_the_driver_does_not_stop_the_runtime() {
    run(|| async {
        let (dev, peer) = sleepy_device(Offload::Always).await;
        let dev = Rc::new(dev);
        let reader = spawn_read(&dev);
        // Only this task can end the read, and only if the read sleeps on another thread.
        until_asleep_in_read(raw_fd(&dev)).await;
        (&peer).write_all(b"ping").unwrap();
        assert_eq!(reader.await.unwrap(), b"ping");
    });
}

#[test]
fn detect_moves_a_device_to_the_pool_after_a_slow_read() {
    run(|| async {
        let (dev, peer) = sleepy_device(Offload::Detect).await;
        assert!(
            !dev.is_offloaded(),
            "the quick first read proved reads quick"
        );
        // The next read sleeps on this very thread, until another thread writes.
        let feeder = thread::spawn(move || {
            thread::sleep(SLOW_OPERATION * 3);
            (&peer).write_all(b"late").unwrap();
            peer
        });
        let mut buf = [0; 8];
        assert_eq!(dev.read(&mut buf).await.unwrap(), 4);
        let peer = feeder.join().unwrap();
        assert!(dev.is_offloaded(), "a read that slept switched the device");
        // From now on reads sleep elsewhere: this task is free to feed them.
        let dev = Rc::new(dev);
        let reader = spawn_read(&dev);
        until_asleep_in_read(raw_fd(&dev)).await;
        (&peer).write_all(b"abc").unwrap();
        assert_eq!(reader.await.unwrap(), b"abc");
    });
}

#[test]
fn a_read_dropped_while_on_the_pool_loses_nothing() {
    run(|| async {
        let (dev, peer) = sleepy_device(Offload::Always).await;
        let mut buf = [0; 8];
        assert!(
            timeout(Duration::from_millis(5), dev.read(&mut buf))
                .await
                .is_err(),
            "nothing was written, so the read was still asleep"
        );
        until_asleep_in_read(raw_fd(&dev)).await;
        // The abandoned read takes all six bytes; if they were lost, the reads below would
        // sleep for ever (nothing else is ever written).
        (&peer).write_all(b"abcdef").unwrap();
        let mut small = [0; 4];
        assert_eq!(dev.read(&mut small).await.unwrap(), 4);
        assert_eq!(&small, b"abcd");
        assert_eq!(dev.read(&mut small).await.unwrap(), 2);
        assert_eq!(&small[..2], b"ef");
        // Kept bytes gone, reads go to the device again.
        let dev = Rc::new(dev);
        let reader = spawn_read(&dev);
        until_asleep_in_read(raw_fd(&dev)).await;
        (&peer).write_all(b"g").unwrap();
        assert_eq!(reader.await.unwrap(), b"g");
    });
}

#[test]
fn operations_wait_for_the_one_in_flight() {
    run(|| async {
        let (dev, peer) = sleepy_device(Offload::Always).await;
        peer.set_nonblocking(true).unwrap();
        let dev = Rc::new(dev);
        let reader = spawn_read(&dev);
        until_asleep_in_read(raw_fd(&dev)).await;
        let writer = minireactor::spawn({
            let dev = Rc::clone(&dev);
            async move { dev.write(b"x").await.unwrap() }
        });
        let ioctl = minireactor::spawn({
            let dev = Rc::clone(&dev);
            async move { dev.value().await }
        });
        while dev.turn.waiting() < 2 {
            sleep(Duration::from_millis(1)).await;
        }
        // The write is queued behind the read, not in a syscall of its own.
        let mut got = [0; 1];
        assert_eq!(
            (&peer).read(&mut got).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        (&peer).write_all(b"r").unwrap();
        assert_eq!(reader.await.unwrap(), b"r");
        assert_eq!(writer.await.unwrap(), 1);
        assert_eq!(
            ioctl.await.unwrap().unwrap_err().raw_os_error(),
            Some(libc::ENOTTY),
            "a socket knows no devone ioctl"
        );
        assert_eq!((&peer).read(&mut got).unwrap(), 1);
        assert_eq!(&got, b"x");
        assert_eq!(dev.turn.waiting(), 0);
    });
}

#[test]
fn dropping_the_device_during_a_pool_read_closes_the_file_after_the_read() {
    run(|| async {
        let (dev, peer) = sleepy_device(Offload::Always).await;
        let mut buf = [0; 8];
        assert!(timeout(Duration::from_millis(5), dev.read(&mut buf))
            .await
            .is_err());
        until_asleep_in_read(raw_fd(&dev)).await;
        drop(dev);
        // Still open: the read asleep on the pool holds the file.
        peer.set_nonblocking(true).unwrap();
        let mut got = [0; 1];
        assert_eq!(
            (&peer).read(&mut got).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        (&peer).write_all(b"z").unwrap();
        // The read returns, its thread lets go of the file, which closes: end of stream.
        peer.set_nonblocking(false).unwrap();
        assert_eq!((&peer).read(&mut got).unwrap(), 0);
    });
}

#[test]
fn an_honest_eagain_on_the_pool_clears_readiness_and_waits_for_the_next_edge() {
    run(|| async {
        let (ours, peer) = UnixStream::pair().unwrap();
        let dev = device_over(ours, Offload::Always);
        read_one_byte(&dev, &peer).await;
        let dev = Rc::new(dev);
        let reader = spawn_read(&dev);
        // Only an EAGAIN clears it: the pool's read got one, and the reader now awaits an edge.
        let registered = dev.registered.as_ref().unwrap();
        while registered.readiness().is_readable() {
            sleep(Duration::from_millis(1)).await;
        }
        assert!(!reader.is_finished());
        (&peer).write_all(b"hi").unwrap();
        assert_eq!(reader.await.unwrap(), b"hi");
        assert!(dev.poll_trusted.get(), "the socket's poll told the truth");
    });
}
