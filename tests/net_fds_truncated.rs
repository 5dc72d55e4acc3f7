//! Truncated fd passing leaks no fd. A binary of its own: it counts this process's open fds
//! (`/proc/self/fd`), which other tests running at the same time would disturb.

mod util;

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use minireactor::net::{UnixDatagram, UnixStream};
use util::{open_fd_count, run_with_watchdog};

/// A receive with room for fewer fds than the message carries is an error, and the fds that did
/// arrive are closed at once: the count of open fds is the same before and after. The same
/// holds for a receive with no room at all, for one that runs out of fds (the kernel installs
/// what it can and reports `MSG_CTRUNC`), and for a plain `read`, which discards the fds of the
/// bytes it reads; the next message still arrives whole.
#[test]
fn truncated_control_data_is_an_error_and_leaks_no_fd() {
    run_with_watchdog(Duration::from_secs(60), async {
        let (stream_tx, stream_rx) = UnixStream::pair().unwrap();
        let (dgram_tx, dgram_rx) = UnixDatagram::pair().unwrap();
        let before = open_fd_count();
        {
            let (pipe_reader, pipe_writer) = std::io::pipe().unwrap();
            let memfd = util::memfd_with(b"x");
            let (socket, socket_peer) = std::os::unix::net::UnixStream::pair().unwrap();
            let ours = before + 5;
            assert_eq!(open_fd_count(), ours);
            let passed = [pipe_writer.as_fd(), memfd.as_fd(), socket.as_fd()];
            let mut buf = [0; 16];

            for room in [1, 0] {
                stream_tx.send_with_fds(b"three", &passed).await.unwrap();
                let mut fds = Vec::new();
                let err = stream_rx
                    .recv_with_max_fds(&mut buf, &mut fds, room)
                    .await
                    .expect_err("3 fds do not fit");
                assert_eq!(err.kind(), ErrorKind::Other, "{err}");
                assert!(err.to_string().contains("file descriptors lost"), "{err}");
                assert!(fds.is_empty(), "no fd of an incomplete set is handed out");
                assert_eq!(
                    open_fd_count(),
                    ours,
                    "room for {room}: the delivered fds leaked"
                );

                dgram_tx.send_with_fds(b"three", &passed).await.unwrap();
                let err = dgram_rx
                    .recv_with_max_fds(&mut buf, &mut fds, room)
                    .await
                    .expect_err("3 fds do not fit");
                assert_eq!(err.kind(), ErrorKind::Other, "{err}");
                assert!(fds.is_empty());
                assert_eq!(
                    open_fd_count(),
                    ours,
                    "datagram, room for {room}: fds leaked"
                );
            }

            // A plain read takes the bytes; the kernel drops their fds without installing them.
            stream_tx.send_with_fds(b"three", &passed).await.unwrap();
            assert_eq!(stream_rx.read(&mut buf).await.unwrap(), 5);
            assert_eq!(open_fd_count(), ours, "a plain read leaked the passed fds");

            // Out of fds after the first: the kernel installs one and truncates the rest.
            let limit = lowest_free_fd() + 1;
            let saved = set_soft_fd_limit(limit);
            stream_tx.send_with_fds(b"three", &passed).await.unwrap();
            let mut fds = Vec::new();
            let result = stream_rx.recv_with_fds(&mut buf, &mut fds).await;
            set_soft_fd_limit(saved);
            let err = result.expect_err("only one of the 3 fds could be installed");
            assert!(err.to_string().contains("truncated"), "{err}");
            assert!(fds.is_empty(), "no fd of an incomplete set is handed out");
            assert_eq!(
                open_fd_count(),
                ours,
                "out of fds: the installed one leaked"
            );

            // The next message is not disturbed by the truncated ones.
            stream_tx.send_with_fds(b"whole", &passed).await.unwrap();
            let mut fds = Vec::new();
            let n = stream_rx.recv_with_fds(&mut buf, &mut fds).await.unwrap();
            assert_eq!((&buf[..n], fds.len()), (&b"whole"[..], 3));
            assert_eq!(open_fd_count(), ours + 3);
            drop(fds);
            drop((pipe_reader, pipe_writer, memfd, socket, socket_peer));
        }
        assert_eq!(open_fd_count(), before);
    });
}

/// The number the next fd opened would get.
fn lowest_free_fd() -> libc::rlim_t {
    let probe = std::fs::File::open("/dev/null").unwrap();
    probe.as_raw_fd() as libc::rlim_t
}

/// Sets `RLIMIT_NOFILE`'s soft limit; returns the one it replaced.
fn set_soft_fd_limit(soft: libc::rlim_t) -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live rlimit for the kernel to fill, then to read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let saved = limit.rlim_cur;
        limit.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        saved
    }
}
