//! TCP beyond the echo tests of `net.rs`: socket2 interop, `TcpSocket` (SO_REUSEPORT sharding,
//! v6-only, bind before connect), options, non-blocking attempts, peek, vectored I/O, split
//! halves, and the std/fd conversions.

mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use minireactor::net::{TcpKeepalive, TcpListener, TcpSocket, TcpStream, UdpSocket, UnixStream};
use minireactor::reactor::Reactor;
use minireactor::spawn;
use minireactor::time::timeout;
use socket2::SockRef;
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(60);

/// How long a wait that must not resolve is given before the test calls it pending.
const NOT_READY: Duration = Duration::from_millis(50);

/// A connected pair: (client, server side).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Regression: the socket types implemented only `AsRawFd`, so `socket2::SockRef::from(&socket)`
/// did not compile and setting an option this crate lacks took `unsafe`. Every type is `AsFd`
/// now, and `get_ref` gives the std socket; options set through socket2 are seen by ours and
/// the other way round.
#[test]
fn socket2_sockref_needed_unsafe_without_asfd() {
    run_with_watchdog(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert!(SockRef::from(&listener).reuse_address().unwrap());
        assert!(SockRef::from(listener.get_ref()).reuse_address().unwrap());

        let (client, _server) = tcp_pair().await;
        SockRef::from(&client).set_tcp_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(42));
        client.set_keepalive(Some(keepalive)).unwrap();
        let sock = SockRef::from(&client);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(42));

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        SockRef::from(&udp).set_broadcast(true).unwrap();
        assert!(udp.broadcast().unwrap());

        let socket = TcpSocket::new_v4().unwrap();
        SockRef::from(&socket).set_reuse_port(true).unwrap();
        assert!(socket.reuseport().unwrap());

        let (unix, _other) = UnixStream::pair().unwrap();
        assert!(SockRef::from(&unix).recv_buffer_size().unwrap() > 0);
    });
}

/// Two listeners with `SO_REUSEPORT` bind one port, and the kernel spreads connections over
/// both: with 64 connections from distinct source ports, each gets some (the chance that one
/// gets none is 2^-63).
#[test]
fn reuseport_listeners_share_a_port_and_both_accept() {
    const CONNECTIONS: usize = 64;
    run_with_watchdog(WATCHDOG, async {
        let first = TcpSocket::new_v4().unwrap();
        first.set_reuseport(true).unwrap();
        first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let second = TcpSocket::new_v4().unwrap();
        second.set_reuseport(true).unwrap();
        second.bind(addr).unwrap();
        let listeners = [first.listen(1024).unwrap(), second.listen(1024).unwrap()];

        let accepted = Rc::new([Cell::new(0usize), Cell::new(0usize)]);
        for (i, listener) in listeners.into_iter().enumerate() {
            let accepted = accepted.clone();
            drop(spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    accepted[i].set(accepted[i].get() + 1);
                    drop(stream);
                }
            }));
        }
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        while accepted[0].get() + accepted[1].get() < CONNECTIONS {
            minireactor::time::sleep(Duration::from_millis(1)).await;
        }
        let counts = [accepted[0].get(), accepted[1].get()];
        assert!(
            counts[0] > 0 && counts[1] > 0,
            "accepted per listener: {counts:?}"
        );
    });
}

/// An IPv6 listener with `IPV6_V6ONLY` leaves the IPv4 side of its port free: an IPv4 listener
/// binds the same port, and each family's connections reach its own listener.
#[test]
fn v6_only_listener_leaves_the_v4_port_to_another_listener() {
    if !util::has_ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1) to bind");
        return;
    }
    run_with_watchdog(WATCHDOG, async {
        let v6 = TcpSocket::new_v6().unwrap();
        v6.set_only_v6(true).unwrap();
        assert!(v6.only_v6().unwrap());
        v6.bind("[::]:0".parse().unwrap()).unwrap();
        let port = v6.local_addr().unwrap().port();
        let v6 = v6.listen(16).unwrap();
        let v4 = TcpListener::bind(("0.0.0.0", port))
            .await
            .expect("a v6-only listener leaves the v4 port free");

        let to_v6 = TcpStream::connect(("::1", port)).await.unwrap();
        let (from_v6, peer) = v6.accept().await.unwrap();
        assert!(peer.is_ipv6());
        let to_v4 = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (from_v4, peer) = v4.accept().await.unwrap();
        assert!(peer.is_ipv4());
        assert_eq!(from_v6.peer_addr().unwrap(), to_v6.local_addr().unwrap());
        assert_eq!(from_v4.peer_addr().unwrap(), to_v4.local_addr().unwrap());
    });
}

#[test]
fn tcp_socket_options_round_trip_and_bind_before_connect() {
    run_with_watchdog(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        assert!(socket.reuseaddr().unwrap());
        assert!(!socket.reuseport().unwrap());
        socket.set_send_buffer_size(64 * 1024).unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(socket.send_buffer_size().unwrap() >= 64 * 1024);
        assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
        socket.set_nodelay(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = socket.local_addr().unwrap();

        let stream = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!((stream.local_addr().unwrap(), peer), (local, local));
        assert!(stream.nodelay().unwrap(), "set before connect, kept after");

        stream.set_ttl(17).unwrap();
        assert_eq!(stream.ttl().unwrap(), 17);
        stream.set_linger(Some(Duration::ZERO)).unwrap();
        assert_eq!(stream.linger().unwrap(), Some(Duration::ZERO));
        stream.set_linger(None).unwrap();
        assert_eq!(stream.linger().unwrap(), None);
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_millis(1500)) // Rounded up to whole seconds.
            .with_interval(Duration::from_secs(3))
            .with_retries(4);
        stream.set_keepalive(Some(keepalive)).unwrap();
        let effective = stream.keepalive().unwrap().unwrap();
        assert_eq!(effective.time(), Some(Duration::from_secs(2)));
        assert_eq!(effective.interval(), Some(Duration::from_secs(3)));
        assert_eq!(effective.retries(), Some(4));
        stream.set_keepalive(None).unwrap();
        assert_eq!(stream.keepalive().unwrap(), None);
    });
}

/// `try_read`/`try_write` act only on readiness already seen, return `WouldBlock` otherwise,
/// and clear readiness on `WouldBlock`: after it, `readable()`/`writable()` waits for a new
/// edge, and resolves when one comes.
#[test]
fn try_read_and_try_write_would_block_then_wait_for_a_new_edge() {
    run_with_watchdog(WATCHDOG, async {
        let (client, server) = tcp_pair().await;

        // Nothing sent: readiness never seen, so no syscall and WouldBlock.
        let mut buf = vec![0; 64 * 1024];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        client.writable().await.unwrap();
        assert_eq!(client.try_write(b"hello").unwrap(), 5);
        server.readable().await.unwrap();
        assert_eq!(server.try_read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        // Drained: this attempt sees EAGAIN and clears the readiness...
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // ...so a wait now blocks until new data arrives, and then resolves.
        assert!(timeout(NOT_READY, server.readable()).await.is_err());
        client.write_all(b"more").await.unwrap();
        server.readable().await.unwrap();
        assert_eq!(server.try_read(&mut buf).unwrap(), 4);

        // Fill the send path until the kernel refuses more.
        let chunk = vec![1u8; 64 * 1024];
        let mut sent = 0;
        loop {
            match client.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) => panic!("try_write: {err}"),
            }
        }
        assert!(
            timeout(NOT_READY, client.writable()).await.is_err(),
            "buffers full"
        );
        // The peer drains; the writer is woken by the new edge.
        let mut received = 0;
        while received < sent {
            received += server.read(&mut buf).await.unwrap();
        }
        client.writable().await.unwrap();
        assert!(client.try_write(b"room again").unwrap() > 0);
    });
}

#[test]
fn peek_shows_the_bytes_read_then_takes() {
    run_with_watchdog(WATCHDOG, async {
        let (client, server) = tcp_pair().await;
        client.write_all(b"look, then take").await.unwrap();
        let mut peeked = [0; 4];
        assert_eq!(server.peek(&mut peeked).await.unwrap(), 4);
        assert_eq!(&peeked, b"look");
        let mut buf = [0; 15];
        let mut got = 0;
        while got < buf.len() {
            got += server.read(&mut buf[got..]).await.unwrap();
        }
        assert_eq!(&buf, b"look, then take");
    });
}

/// Vectored writes and reads, async and through futures-io, carry every slice in order.
#[test]
fn vectored_io_carries_every_slice_in_order() {
    use futures_io::{AsyncRead, AsyncWrite};
    run_with_watchdog(WATCHDOG, async {
        let (client, server) = tcp_pair().await;
        let parts: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; i as usize + 1]).collect();
        let expected: Vec<u8> = parts.concat();
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut unsent = &mut slices[..];
        while !unsent.is_empty() {
            let n = client.write_vectored(unsent).await.unwrap();
            IoSlice::advance_slices(&mut unsent, n);
        }
        client.shutdown(Shutdown::Write).unwrap();

        let mut received = Vec::new();
        let (mut a, mut b) = ([0; 7], [0; 300]);
        loop {
            let n = server
                .read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            let from_a = n.min(a.len());
            received.extend_from_slice(&a[..from_a]);
            received.extend_from_slice(&b[..n - from_a]);
        }
        assert_eq!(received, expected);

        // The same through futures-io's vectored methods.
        let (client, server) = tcp_pair().await;
        let mut writer = &client;
        let n = poll_fn(|cx| {
            Pin::new(&mut writer)
                .poll_write_vectored(cx, &[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        })
        .await
        .unwrap();
        assert_eq!(n, 4);
        let mut reader = &server;
        let (mut x, mut y) = ([0; 1], [0; 3]);
        let mut got = 0;
        while got < 4 {
            got += poll_fn(|cx| {
                Pin::new(&mut reader)
                    .poll_read_vectored(cx, &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
            })
            .await
            .unwrap();
        }
        assert_eq!((&x, &y), (b"a", b"bcd"));
    });
}

/// Writes back everything `server` reads, then shuts its write side at EOF: the peer of the
/// split tests.
async fn serve_echo(server: TcpStream) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = server.read(&mut buf).await.unwrap();
        if n == 0 {
            server.shutdown(Shutdown::Write).unwrap();
            return;
        }
        server.write_all(&buf[..n]).await.unwrap();
    }
}

const SPLIT_BYTES: usize = 1 << 20;

fn split_payload() -> Vec<u8> {
    (0..SPLIT_BYTES).map(|i| (i % 251) as u8).collect()
}

/// The owned halves of one stream, in two tasks: one writes a megabyte (more than the socket
/// buffers hold, so each half must wait for the other's progress), the other reads the echo.
#[test]
fn into_split_halves_work_from_two_tasks() {
    run_with_watchdog(WATCHDOG, async {
        let (client, server) = tcp_pair().await;
        let echo = spawn(serve_echo(server));
        let (reader, writer) = client.into_split();
        let payload = Rc::new(split_payload());
        let writing = spawn({
            let payload = payload.clone();
            async move {
                for chunk in payload.chunks(10_000) {
                    writer.write_all(chunk).await.unwrap();
                }
                // Dropping the write half shuts the write side down: the echo server sees EOF.
            }
        });
        let reading = spawn(async move {
            let mut received = Vec::new();
            let mut buf = vec![0; 8192];
            loop {
                match reader.read(&mut buf).await.unwrap() {
                    0 => return received,
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
        });
        writing.await.unwrap();
        assert!(reading.await.unwrap() == *payload, "echo differs");
        echo.await.unwrap();
    });
}

/// The borrowed halves of one stream, driven concurrently by one task (they borrow the stream,
/// so they cannot be spawned), through futures-io on the write side.
#[test]
fn split_halves_read_and_write_concurrently() {
    use futures_io::AsyncWrite;
    run_with_watchdog(WATCHDOG, async {
        let (mut client, server) = tcp_pair().await;
        let echo = spawn(serve_echo(server));
        let payload = split_payload();
        let (reader, mut writer) = client.split();
        let write = async {
            let mut sent = 0;
            while sent < payload.len() {
                let end = (sent + 30_000).min(payload.len());
                sent += poll_fn(|cx| Pin::new(&mut writer).poll_write(cx, &payload[sent..end]))
                    .await
                    .unwrap();
            }
            poll_fn(|cx| Pin::new(&mut writer).poll_close(cx))
                .await
                .unwrap();
        };
        let read = async {
            let mut received = Vec::new();
            let mut buf = vec![0; 8192];
            loop {
                match reader.read(&mut buf).await.unwrap() {
                    0 => return received,
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
        };
        let ((), received) = util::join(write, read).await;
        assert!(received == payload, "echo differs");
        echo.await.unwrap();
    });
}

#[test]
fn reunite_restores_the_stream_and_refuses_halves_of_two_streams() {
    run_with_watchdog(WATCHDOG, async {
        let (a, a_peer) = tcp_pair().await;
        let (b, _b_peer) = tcp_pair().await;
        let (a_read, a_write) = a.into_split();
        let (b_read, b_write) = b.into_split();
        let err = a_read.reunite(b_write).expect_err("halves of two streams");
        assert!(
            err.to_string().contains("not from the same socket"),
            "{err}"
        );
        let (a_read, b_write) = (err.0, err.1);
        drop((b_read, b_write));
        let a = a_read.reunite(a_write).expect("halves of one stream");
        // Reuniting does not shut the write side down, as dropping a write half would.
        a.write_all(b"still open").await.unwrap();
        let mut buf = [0; 10];
        let mut got = 0;
        while got < buf.len() {
            got += a_peer.read(&mut buf[got..]).await.unwrap();
        }
        assert_eq!(&buf, b"still open");
    });
}

/// `into_std`, `From<_> for OwnedFd` and `TryFrom<std>` move a socket in and out of the reactor
/// without closing it: out means deregistered, in means registered.
#[test]
fn std_and_fd_conversions_deregister_and_register() {
    run_with_watchdog(WATCHDOG, async {
        let reactor = Reactor::current().unwrap();
        let (client, server) = tcp_pair().await;
        let registered = reactor.registrations();

        let std_stream: std::net::TcpStream = server.into();
        assert_eq!(reactor.registrations(), registered - 1);
        let server = TcpStream::try_from(std_stream).unwrap();
        assert_eq!(reactor.registrations(), registered);

        let fd: OwnedFd = server.into();
        assert_eq!(reactor.registrations(), registered - 1);
        let server = TcpStream::try_from(std::net::TcpStream::from(fd)).unwrap();
        client.write_all(b"x").await.unwrap();
        let mut buf = [0; 1];
        assert_eq!(server.read(&mut buf).await.unwrap(), 1);

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let listener = TcpListener::try_from(std::net::TcpListener::from(listener)).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let udp = UdpSocket::try_from(std::net::UdpSocket::from(udp)).unwrap();
        assert_eq!(udp.local_addr().unwrap(), udp_addr);
        drop((client, server, listener, udp));
        assert_eq!(reactor.registrations(), registered - 2);
    });
}
