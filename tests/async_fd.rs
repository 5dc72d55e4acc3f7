//! AsyncFd under edge triggering: draining, stored readiness, stale events, unpollable files,
//! character devices.

mod util;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::task::Context;
use std::time::Duration;

use minireactor::io::{AsyncFd, Interest};
use minireactor::reactor::Reactor;
use minireactor::time::{sleep, timeout};
use util::{openpty_raw, run_with_watchdog, CountingWaker};

const WATCHDOG: Duration = Duration::from_secs(20);

/// Reads exactly `buf.len()` bytes through the edge-triggered loop.
async fn read_exact(fd: &AsyncFd<UnixStream>, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = fd
            .async_io(Interest::Readable, |mut s| s.read(&mut buf[filled..]))
            .await?;
        assert_ne!(n, 0, "unexpected EOF");
        filled += n;
    }
    Ok(())
}

#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn edge_trigger_drain_in_small_reads_then_wait_again() {
    run_with_watchdog(WATCHDOG, async {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let ours = AsyncFd::new(ours).unwrap();
        let sent: Vec<u8> = (0..10 * 1024).map(|i| (i % 251) as u8).collect();
        theirs.write_all(&sent).unwrap();

        // 100 bytes at a time: each read leaves data behind, so readiness must survive until
        // a read finally sees EAGAIN.
        let mut received = vec![0; sent.len()];
        for chunk in received.chunks_mut(100) {
            read_exact(&ours, chunk).await.unwrap();
        }
        assert_eq!(received, sent);

        // Now drained: the next wait needs a new edge, which a writer task provides later.
        let writer = minireactor::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            theirs.write_all(b"more").unwrap();
            theirs
        });
        let mut more = [0; 4];
        read_exact(&ours, &mut more).await.unwrap();
        assert_eq!(&more, b"more");
        writer.await.unwrap();
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn readiness_that_arrives_while_nobody_waits_is_kept() {
    run_with_watchdog(WATCHDOG, async {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let ours = AsyncFd::new(ours).unwrap();
        theirs.write_all(b"x").unwrap();
        // Let the reactor turn (and consume the edge) while no task is waiting for it.
        sleep(Duration::from_millis(20)).await;
        let guard = timeout(Duration::from_secs(5), ours.readable())
            .await
            .expect("the edge seen while nobody waited was lost")
            .unwrap();
        assert!(guard.ready().is_readable());
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn clear_only_after_would_block() {
    run_with_watchdog(WATCHDOG, async {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let ours = AsyncFd::new(ours).unwrap();
        theirs.write_all(b"abc").unwrap();
        let mut guard = ours.readable().await.unwrap();
        let mut buf = [0; 1];
        // A successful read keeps readiness.
        let n = guard.try_io(|mut s| s.read(&mut buf)).unwrap().unwrap();
        assert_eq!(n, 1);
        assert!(ours.readiness().is_readable());
        let mut rest = [0; 8];
        guard.try_io(|mut s| s.read(&mut rest)).unwrap().unwrap();
        // The draining read does not clear; the one that hits EAGAIN does.
        assert!(guard.try_io(|mut s| s.read(&mut rest)).is_err());
        assert!(!ours.readiness().is_readable());
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "std's UnixStream writes with send(2), which Miri does not emulate"
)]
fn dup_written_after_drop_wakes_nobody() {
    let runtime = minireactor::Runtime::new().unwrap();
    runtime.block_on(async {
        let reactor = Reactor::current().unwrap();
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let a_dup = a.try_clone().unwrap(); // Same open file description as `a`.
        let a = AsyncFd::new(a).unwrap();
        drop(a); // EPOLL_CTL_DEL, then close; the description lives on through `a_dup`.

        let (b, _b_peer) = UnixStream::pair().unwrap();
        let b = AsyncFd::new(b).unwrap();
        reactor.turn(Some(Duration::ZERO)).unwrap(); // Consume B's initial EPOLLOUT edge.
        let (waker, wakes) = CountingWaker::new();
        assert!(b
            .poll_read_ready(&mut Context::from_waker(&waker))
            .is_pending());

        a_peer.write_all(b"ghost").unwrap();
        let events = reactor.turn(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(
            events, 0,
            "a deregistered description still reported an event"
        );
        assert_eq!(wakes.count(), 0);
        drop(a_dup);
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's fcntl does not support F_GETFL on a regular file"
)]
fn regular_file_is_refused_with_eperm_and_handed_back() {
    let runtime = minireactor::Runtime::new().unwrap();
    runtime.block_on(async {
        let file = File::open(env!("CARGO_MANIFEST_PATH")).unwrap();
        let err = AsyncFd::try_new(file).expect_err("epoll cannot watch a regular file");
        let (mut file, error) = err.into_parts();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        let message = error.to_string();
        assert!(message.contains("EPERM"), "{message}");
        assert!(message.contains("does not support polling"), "{message}");
        // The file came back whole and usable.
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert!(text.contains("[workspace]"));
        assert_eq!(Reactor::current().unwrap().registrations(), 0);
    });
}

#[test]
fn into_inner_deregisters_and_returns_the_value() {
    let runtime = minireactor::Runtime::new().unwrap();
    runtime.block_on(async {
        let reactor = Reactor::current().unwrap();
        let before = reactor.registrations();
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let raw = ours.as_raw_fd();
        let fd = AsyncFd::new(ours).unwrap();
        assert_eq!(reactor.registrations(), before + 1);
        let ours = fd.into_inner();
        assert_eq!(ours.as_raw_fd(), raw);
        assert_eq!(reactor.registrations(), before);
    });
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate openpty")]
fn pty_reads_and_writes_through_async_fd() {
    run_with_watchdog(WATCHDOG, async {
        let (master, mut slave) = openpty_raw().unwrap();
        let master = AsyncFd::new(master).unwrap();

        slave.write_all(b"ping").unwrap();
        let mut buf = [0; 16];
        let n = master
            .async_io(Interest::Readable, |mut m| m.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"ping");

        master
            .async_io(Interest::Writable, |mut m| m.write(b"pong"))
            .await
            .unwrap();
        let mut reply = [0; 4];
        slave.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"pong");
    });
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate openpty")]
fn pty_reader_ends_when_the_other_side_closes() {
    run_with_watchdog(WATCHDOG, async {
        let (master, slave) = openpty_raw().unwrap();
        let master = AsyncFd::new(master).unwrap();
        let closer = minireactor::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            drop(slave);
        });
        // The hangup must end the read with EOF or EIO, not leave it waiting or spinning.
        let mut buf = [0; 16];
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            match master
                .async_io(Interest::Readable, |mut m| m.read(&mut buf))
                .await
            {
                Ok(0) => break Ok(0),
                Ok(_) => continue,
                Err(err) => break Err(err),
            }
        };
        match outcome {
            Ok(_) => {}
            Err(err) => assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}"),
        }
        assert!(attempts < 10, "reader spun {attempts} times");
        assert!(master.readiness().is_read_closed());
        closer.await.unwrap();
    });
}

/// Regression: a FIFO whose last writer closed reports a hangup (`READ_CLOSED`), but once a new
/// writer opens it, reads answer `EAGAIN` again. A closed bit that survived that `EAGAIN` made
/// every wait succeed at once, so the read loop spun inside one poll.
#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate mkfifo")]
fn fifo_reopened_by_a_new_writer_waits_again() {
    util::on_thread_with_watchdog(Duration::from_secs(30), || {
        let dir = util::ScratchDir::new("fifo-reopened");
        let path = dir.join("fifo");
        util::mkfifo(&path);
        run_with_watchdog(WATCHDOG, async {
            use std::os::unix::fs::OpenOptionsExt;
            let reader = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
                .unwrap();
            let reader = AsyncFd::new(reader).unwrap();
            let mut buf = [0; 16];
            let mut first_writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            first_writer.write_all(b"one").unwrap();
            drop(first_writer);
            let n = reader
                .async_io(Interest::Readable, |mut f| f.read(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"one");
            let eof = reader
                .async_io(Interest::Readable, |mut f| f.read(&mut buf))
                .await
                .unwrap();
            assert_eq!(eof, 0, "the writer is gone");

            let mut second_writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let writer = minireactor::spawn(async move {
                sleep(Duration::from_millis(20)).await;
                second_writer.write_all(b"two").unwrap();
                second_writer
            });
            let n = reader
                .async_io(Interest::Readable, |mut f| f.read(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], b"two");
            drop(writer.await.unwrap());
        });
    });
}
