//! Unix IPC: datagrams with paths and abstract names, abstract names for streams, peer
//! credentials, and file-descriptor passing. Truncated fd passing is in `net_fds_truncated.rs`,
//! which counts this process's fds and so needs a binary of its own.

mod util;

use std::io::{ErrorKind, Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::time::Duration;

use minireactor::net::{UnixDatagram, UnixListener, UnixStream, MAX_FDS};
use minireactor::spawn;
use util::{run_with_watchdog, ScratchDir};

const WATCHDOG: Duration = Duration::from_secs(60);

/// An abstract name no other test (or run) uses.
fn abstract_addr(name: &str) -> SocketAddr {
    let name = format!("minireactor-test-{name}-{}", std::process::id());
    SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
}

#[test]
fn unix_datagrams_round_trip_with_paths() {
    let dir = ScratchDir::new("dgram-paths");
    run_with_watchdog(WATCHDOG, async {
        let (server_path, client_path) = (dir.join("server.sock"), dir.join("client.sock"));
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(&client_path).unwrap();
        assert_eq!(
            server.local_addr().unwrap().as_pathname(),
            Some(server_path.as_path())
        );

        assert_eq!(client.send_to(b"first", &server_path).await.unwrap(), 5);
        let mut buf = [0; 16];
        let (n, from) = server.peek_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"first"[..], Some(client_path.as_path()))
        );
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"first"[..], Some(client_path.as_path()))
        );

        // Connected: send/recv, and boundaries kept, the empty datagram included.
        client.connect(&server_path).unwrap();
        server.connect(&client_path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(server_path.as_path())
        );
        for datagram in [&b"one"[..], b"", b"three"] {
            client.send(datagram).await.unwrap();
        }
        for datagram in [&b"one"[..], b"", b"three"] {
            assert_eq!(server.peek(&mut buf).await.unwrap(), datagram.len());
            let n = server.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], datagram);
        }
        server.send(b"reply").await.unwrap();
        client.readable().await.unwrap();
        assert_eq!(client.try_recv(&mut buf).unwrap(), 5);
        assert_eq!(
            client.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

/// Regression: a Unix address in the abstract namespace (a name with no file, gone with the
/// socket) was refused: only paths were accepted, and a path with a NUL is invalid. Now every
/// Unix socket type binds and connects to a std `SocketAddr`, abstract names included, and
/// reports them back.
#[test]
fn abstract_unix_names_were_refused() {
    run_with_watchdog(WATCHDOG, async {
        // Streams.
        let addr = abstract_addr("stream");
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            addr.as_abstract_name()
        );
        let connecting = spawn({
            let addr = abstract_addr("stream");
            async move { UnixStream::connect_addr(&addr).await.unwrap() }
        });
        let (server, peer) = listener.accept().await.unwrap();
        assert!(peer.is_unnamed(), "the client did not bind: {peer:?}");
        let client = connecting.await.unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_abstract_name(),
            addr.as_abstract_name()
        );
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 8);

        // Datagrams, both ends named.
        let (a_addr, b_addr) = (abstract_addr("dgram-a"), abstract_addr("dgram-b"));
        let a = UnixDatagram::bind_addr(&a_addr).unwrap();
        let b = UnixDatagram::bind_addr(&b_addr).unwrap();
        a.send_to_addr(b"to b", &b_addr).await.unwrap();
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to b");
        assert_eq!(from.as_abstract_name(), a_addr.as_abstract_name());
        b.connect_addr(&a_addr).unwrap();
        b.send(b"to a").await.unwrap();
        assert_eq!(a.recv(&mut buf).await.unwrap(), 4);

        // Unnamed: the kernel picks an abstract name (autobind), which peers can answer.
        let auto = UnixDatagram::bind_addr(&SocketAddr::from_pathname("").unwrap()).unwrap();
        let auto_addr = auto.local_addr().unwrap();
        assert!(auto_addr.as_abstract_name().is_some(), "{auto_addr:?}");
        a.send_to_addr(b"found you", &auto_addr).await.unwrap();
        assert_eq!(auto.recv(&mut buf).await.unwrap(), 8);
    });
}

#[test]
fn unix_datagram_pair_and_unbound() {
    run_with_watchdog(WATCHDOG, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"pair").await.unwrap();
        let mut buf = [0; 8];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 4);
        let unbound = UnixDatagram::unbound().unwrap();
        assert!(unbound.local_addr().unwrap().is_unnamed());
        let server = UnixDatagram::bind_addr(&abstract_addr("unbound")).unwrap();
        unbound
            .send_to_addr(b"anonymous", &abstract_addr("unbound"))
            .await
            .unwrap();
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((n, from.is_unnamed()), (8, true));
    });
}

/// `SO_PEERCRED` reports this process on both ends of a pair and of an accepted connection,
/// and a datagram pair; a datagram socket connected with `connect` has none, which is an
/// error rather than made-up ids.
#[test]
fn peer_cred_is_this_process() {
    // SAFETY: getpid, getuid and getgid have no preconditions.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    run_with_watchdog(WATCHDOG, async {
        let (a, b) = UnixStream::pair().unwrap();
        let addr = abstract_addr("cred");
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let client = UnixStream::connect_addr(&addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (da, db) = UnixDatagram::pair().unwrap();
        for cred in [
            a.peer_cred(),
            b.peer_cred(),
            client.peer_cred(),
            server.peer_cred(),
        ]
        .into_iter()
        .chain([da.peer_cred(), db.peer_cred()])
        {
            let cred = cred.unwrap();
            assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), uid, gid));
        }

        let target = UnixDatagram::bind_addr(&abstract_addr("cred-dgram")).unwrap();
        let connected = UnixDatagram::unbound().unwrap();
        connected
            .connect_addr(&target.local_addr().unwrap())
            .unwrap();
        let err = connected.peer_cred().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
    });
}

/// Three kinds of fd — a pipe's write end, a memfd, and a socket — passed in one message over a
/// Unix stream and used on the other side: each received fd refers to the same open file.
#[test]
fn fd_passing_a_pipe_a_memfd_and_a_socket_over_a_stream() {
    run_with_watchdog(WATCHDOG, async {
        let (sender, receiver) = UnixStream::pair().unwrap();
        let (mut pipe_reader, pipe_writer) = std::io::pipe().unwrap();
        let memfd = util::memfd_with(b"memfd contents");
        let (socket_here, socket_passed) = std::os::unix::net::UnixStream::pair().unwrap();

        let fds = [pipe_writer.as_fd(), memfd.as_fd(), socket_passed.as_fd()];
        assert_eq!(sender.send_with_fds(b"three fds", &fds).await.unwrap(), 9);
        // Close ours: what the receiver gets must keep the files open by itself.
        drop((pipe_writer, memfd, socket_passed));

        let (mut buf, mut received) = ([0; 32], Vec::new());
        let n = receiver
            .recv_with_fds(&mut buf, &mut received)
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"three fds");
        assert_eq!(received.len(), 3);
        for fd in &received {
            assert!(
                util::is_cloexec(fd.as_fd()),
                "received fds are close-on-exec"
            );
        }
        let mut received = received.into_iter();

        let mut pipe = std::fs::File::from(received.next().unwrap());
        pipe.write_all(b"through the passed pipe").unwrap();
        drop(pipe);
        let mut text = String::new();
        pipe_reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "through the passed pipe");

        let mut memfd = std::fs::File::from(received.next().unwrap());
        memfd.rewind().unwrap();
        let mut contents = String::new();
        memfd.read_to_string(&mut contents).unwrap();
        assert_eq!(contents, "memfd contents");

        let socket = UnixStream::try_from(std::os::unix::net::UnixStream::from(
            received.next().unwrap(),
        ))
        .unwrap();
        socket
            .write_all(b"through the passed socket")
            .await
            .unwrap();
        let mut buf = [0; 25];
        (&socket_here).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"through the passed socket");
    });
}

/// The same over a datagram pair, where a datagram may be empty and still carry fds, and the
/// polling forms.
#[test]
fn fd_passing_over_datagrams_with_the_poll_forms() {
    run_with_watchdog(WATCHDOG, async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let memfd = util::memfd_with(b"dgram");
        let fds = [memfd.as_fd()];
        let sent = std::future::poll_fn(|cx| a.poll_send_with_fds(cx, b"", &fds))
            .await
            .unwrap();
        assert_eq!(sent, 0);
        let (mut buf, mut received) = ([0; 8], Vec::<OwnedFd>::new());
        let n = std::future::poll_fn(|cx| b.poll_recv_with_fds(cx, &mut buf, &mut received))
            .await
            .unwrap();
        assert_eq!((n, received.len()), (0, 1));
        let mut file = std::fs::File::from(received.pop().unwrap());
        file.rewind().unwrap();
        let mut contents = String::new();
        file.read_to_string(&mut contents).unwrap();
        assert_eq!(contents, "dgram");

        a.send_with_fds(b"no fds", &[]).await.unwrap();
        assert_eq!(b.recv_with_fds(&mut buf, &mut received).await.unwrap(), 6);
        assert!(received.is_empty());
    });
}

#[test]
fn fd_passing_refuses_what_the_kernel_would_drop_or_reject() {
    run_with_watchdog(WATCHDOG, async {
        let (a, _b) = UnixStream::pair().unwrap();
        let memfd = util::memfd_with(b"");
        // On a stream, fds need at least one byte to travel with.
        let err = a.send_with_fds(b"", &[memfd.as_fd()]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        // More than SCM_MAX_FD.
        let many = vec![memfd.as_fd(); MAX_FDS + 1];
        let err = a.send_with_fds(b"x", &many).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("at most 253"), "{err}");
        // Exactly the maximum goes through.
        let (c, d) = UnixStream::pair().unwrap();
        let max = vec![memfd.as_fd(); MAX_FDS];
        c.send_with_fds(b"x", &max).await.unwrap();
        let (mut buf, mut received) = ([0; 1], Vec::new());
        d.recv_with_fds(&mut buf, &mut received).await.unwrap();
        assert_eq!(received.len(), MAX_FDS);
    });
}

/// Regression guard for the short-read rule on Unix streams: a receive stops after the bytes
/// that carried fds with the next bytes already queued, so the reader must not take the short
/// read as "drained" (`ShortRead::ProvesNothing`); the bytes after it are read without a stall.
#[test]
fn unix_read_after_recv_with_fds_does_not_stall() {
    run_with_watchdog(WATCHDOG, async {
        let (a, b) = UnixStream::pair().unwrap();
        let memfd = util::memfd_with(b"");
        a.send_with_fds(b"AAAA", &[memfd.as_fd()]).await.unwrap();
        a.write_all(b"BBBB").await.unwrap();
        minireactor::time::sleep(Duration::from_millis(20)).await;
        let (mut buf, mut fds) = ([0; 64], Vec::new());
        let n = b.recv_with_fds(&mut buf, &mut fds).await.unwrap();
        assert_eq!((&buf[..n], fds.len()), (&b"AAAA"[..], 1));
        let n = minireactor::time::timeout(Duration::from_secs(5), b.read(&mut buf))
            .await
            .expect("the read stalled with bytes still queued")
            .unwrap();
        assert_eq!(&buf[..n], b"BBBB");
    });
}

/// A path of exactly 108 bytes (all of `sun_path`, no NUL) under `dir`: legal, but only
/// programs in other languages bind one, since std (and so minireactor) refuses to.
fn path_filling_sun_path(dir: &ScratchDir, tag: &str) -> Option<std::path::PathBuf> {
    let prefix = format!("{}/{tag}", dir.path().display());
    let padding = 108usize.checked_sub(prefix.len())?;
    Some(std::path::PathBuf::from(format!(
        "{prefix}{}",
        "x".repeat(padding)
    )))
}

/// `path` as a `sockaddr_un` and its length (no NUL counted when the path fills `sun_path`).
fn raw_unix_addr(path: &std::path::Path) -> (libc::sockaddr_un, libc::socklen_t) {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len().min(108);
    (sun, len as libc::socklen_t)
}

/// A socket of type `ty` bound to `path`, as a C program would bind it.
fn bound_like_c(ty: libc::c_int, path: &std::path::Path) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: no pointers.
    let fd = unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just created and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let (sun, len) = raw_unix_addr(path);
    // SAFETY: the address and its length describe a live sockaddr_un.
    let bound = unsafe { libc::bind(fd, (&sun as *const libc::sockaddr_un).cast(), len) };
    assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
    socket
}

/// Regression: std's Unix `SocketAddr` cannot be built from a path that fills `sun_path`, so
/// `recv_from` consumed the datagram and then failed, losing it; `accept` dropped the
/// connection. std's own `recv_from` and `peer_addr` build such addresses, and now do.
#[test]
fn a_peer_whose_path_fills_sun_path_loses_no_datagram_and_no_connection() {
    use std::os::fd::AsRawFd;
    let dir = ScratchDir::new("full-sun-path");
    let Some(peer_path) = path_filling_sun_path(&dir, "peer") else {
        eprintln!("skipped: the temporary directory's path is longer than sun_path");
        return;
    };
    run_with_watchdog(WATCHDOG, async {
        // Datagrams: a peek cannot say the address but loses nothing; the receive can.
        let server_path = dir.join("dgram.sock");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let peer =
            std::os::unix::net::UnixDatagram::from(bound_like_c(libc::SOCK_DGRAM, &peer_path));
        peer.send_to(b"one", &server_path).unwrap();
        peer.send_to(b"two", &server_path).unwrap();
        let mut buf = [0; 8];
        let peeked = server.peek_from(&mut buf).await.unwrap_err();
        assert_eq!(peeked.kind(), ErrorKind::InvalidData);
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"one"[..], Some(&*peer_path))
        );
        let (n, from) = server.try_recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"two"[..], Some(&*peer_path))
        );
        drop(peer);
        std::fs::remove_file(&peer_path).unwrap();

        // Streams: the accepted connection, with its peer's address, and `local_addr`.
        let listener_path = dir.join("stream.sock");
        let listener = UnixListener::bind(&listener_path).unwrap();
        let client = bound_like_c(libc::SOCK_STREAM, &peer_path);
        let (sun, len) = raw_unix_addr(&listener_path);
        // SAFETY: the address and its length describe a live sockaddr_un.
        let connected = unsafe {
            libc::connect(
                client.as_raw_fd(),
                (&sun as *const libc::sockaddr_un).cast(),
                len,
            )
        };
        assert_eq!(connected, 0, "connect: {}", std::io::Error::last_os_error());
        let (accepted, from) = listener.accept().await.unwrap();
        assert_eq!(from.as_pathname(), Some(&*peer_path));
        assert_eq!(
            accepted.peer_addr().unwrap().as_pathname(),
            Some(&*peer_path)
        );
        let client = UnixStream::from_std(std::os::unix::net::UnixStream::from(client)).unwrap();
        assert_eq!(
            client.local_addr().unwrap().as_pathname(),
            Some(&*peer_path)
        );
    });
}
