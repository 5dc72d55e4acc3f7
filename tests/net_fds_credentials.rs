//! Fd passing on a socket that also receives the sender's credentials (`SO_PASSCRED`) or pidfd
//! (`SO_PASSPIDFD`): the kernel puts that control message before the fds, and it must not cost
//! the fds their room. A binary of its own: it counts this process's open fds
//! (`/proc/self/fd`), which other tests running at the same time would disturb.

mod util;

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::time::Duration;

use minireactor::net::{UnixDatagram, UnixStream, MAX_FDS};
use util::{open_fd_count, run_with_watchdog};

/// Held by each test while it counts fds, so that the tests of this binary do not disturb
/// each other's counts.
static COUNTING_FDS: Mutex<()> = Mutex::new(());

/// `SO_PASSPIDFD` (Linux 6.5, `<asm-generic/socket.h>`).
const SO_PASSPIDFD: libc::c_int = 76;

/// Turns a boolean socket option on; false if the kernel does not know it.
fn turn_on(socket: BorrowedFd<'_>, option: libc::c_int) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Regression: the receive buffer had room for the fds alone, so with `SO_PASSCRED` on, the
/// credentials (32 bytes, ahead of the fds) made the kernel truncate the control data: a
/// `recv_with_max_fds(.., 3)` of exactly 3 fds failed, the data was consumed and the fds closed,
/// and `recv_with_fds` lost every message of more than 245 fds. Room for the credentials and a
/// pidfd is now always there; `max_fds` is enforced after the receive.
#[test]
fn passed_credentials_do_not_take_the_room_of_the_fds() {
    let _counting = COUNTING_FDS.lock().unwrap();
    run_with_watchdog(Duration::from_secs(60), async {
        let (stream_tx, stream_rx) = UnixStream::pair().unwrap();
        let (dgram_tx, dgram_rx) = UnixDatagram::pair().unwrap();
        assert!(turn_on(stream_rx.as_fd(), libc::SO_PASSCRED));
        assert!(turn_on(dgram_rx.as_fd(), libc::SO_PASSCRED));
        // Older kernels lack it; the credentials alone then show the bug.
        let pidfd = turn_on(stream_rx.as_fd(), SO_PASSPIDFD);
        let pidfd = turn_on(dgram_rx.as_fd(), SO_PASSPIDFD) && pidfd;
        eprintln!("SO_PASSPIDFD on: {pidfd}");
        let before = open_fd_count();
        let memfd = util::memfd_with(b"x");
        let three = [memfd.as_fd(); 3];
        let all = [memfd.as_fd(); MAX_FDS];
        let mut buf = [0; 16];

        stream_tx.send_with_fds(b"three", &three).await.unwrap();
        let mut fds = Vec::new();
        let n = stream_rx
            .recv_with_max_fds(&mut buf, &mut fds, 3)
            .await
            .expect("3 fds with room for 3");
        assert_eq!((&buf[..n], fds.len()), (&b"three"[..], 3));
        fds.clear();

        dgram_tx.send_with_fds(b"three", &three).await.unwrap();
        let n = dgram_rx
            .recv_with_max_fds(&mut buf, &mut fds, 3)
            .await
            .expect("datagram: 3 fds with room for 3");
        assert_eq!((&buf[..n], fds.len()), (&b"three"[..], 3));
        fds.clear();

        stream_tx.send_with_fds(b"all", &all).await.unwrap();
        let n = stream_rx
            .recv_with_fds(&mut buf, &mut fds)
            .await
            .expect("MAX_FDS fds with the default room");
        assert_eq!((&buf[..n], fds.len()), (&b"all"[..], MAX_FDS));
        fds.clear();

        dgram_tx.send_with_fds(b"all", &all).await.unwrap();
        let n = dgram_rx
            .recv_with_fds(&mut buf, &mut fds)
            .await
            .expect("datagram: MAX_FDS fds with the default room");
        assert_eq!((&buf[..n], fds.len()), (&b"all"[..], MAX_FDS));
        fds.clear();

        assert_eq!(open_fd_count(), before + 1, "a pidfd or a passed fd leaked");
    });
}

/// With the credentials on, a message of more fds than `max_fds` is still an error, with the
/// data consumed and every fd of it closed (none handed out, none leaked, pidfds included), and
/// the next message arrives whole.
#[test]
fn too_many_fds_with_credentials_on_is_still_an_error_and_leaks_none() {
    let _counting = COUNTING_FDS.lock().unwrap();
    run_with_watchdog(Duration::from_secs(60), async {
        let (tx, rx) = UnixStream::pair().unwrap();
        assert!(turn_on(rx.as_fd(), libc::SO_PASSCRED));
        turn_on(rx.as_fd(), SO_PASSPIDFD);
        let before = open_fd_count();
        let memfd = util::memfd_with(b"x");
        let three = [memfd.as_fd(); 3];
        let mut buf = [0; 16];
        let mut fds: Vec<OwnedFd> = Vec::new();
        for room in [2, 0] {
            tx.send_with_fds(b"three", &three).await.unwrap();
            let err = rx
                .recv_with_max_fds(&mut buf, &mut fds, room)
                .await
                .expect_err("3 fds do not fit");
            assert_eq!(err.kind(), ErrorKind::Other, "{err}");
            assert!(err.to_string().contains("5 data bytes"), "{err}");
            assert!(fds.is_empty(), "no fd of an incomplete set is handed out");
            assert_eq!(open_fd_count(), before + 1, "room for {room}: fds leaked");
        }
        tx.send_with_fds(b"whole", &three).await.unwrap();
        let n = rx.recv_with_fds(&mut buf, &mut fds).await.unwrap();
        assert_eq!((&buf[..n], fds.len()), (&b"whole"[..], 3));
    });
}
