//! Sockets: the echo server under load, resets, half-closes, UDP, Unix streams, connect errors,
//! and the futures-io traits. Writes to a vanished peer are covered by `sigpipe.rs`.

mod util;

#[allow(dead_code)] // `main` and the stats fields the tests do not read.
#[path = "../examples/echo.rs"]
mod echo_example;

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use echo_example::{echo, serve, Stats};
use minireactor::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use minireactor::reactor::Reactor;
use minireactor::spawn;
use util::{run_with_watchdog, XorShift};

const WATCHDOG: Duration = Duration::from_secs(120);

async fn start_echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let never_stop = minireactor::sync::CancellationToken::new();
    spawn(serve(listener, Rc::new(Stats::default()), never_stop));
    addr
}

/// Sends `data` in random chunks of 1 B–64 KiB while a second task reads the echo back, and
/// returns what came back.
async fn round_trip_in_chunks(stream: TcpStream, data: Rc<Vec<u8>>, seed: u64) -> Vec<u8> {
    let stream = Rc::new(stream);
    let writer = spawn({
        let (stream, data) = (stream.clone(), data.clone());
        async move {
            let mut rng = XorShift(seed);
            let mut sent = 0;
            while sent < data.len() {
                let end = (sent + rng.range(1, 64 * 1024)).min(data.len());
                stream.write_all(&data[sent..end]).await.unwrap();
                sent = end;
            }
            stream.shutdown(Shutdown::Write).unwrap();
        }
    });
    let mut received = Vec::with_capacity(data.len());
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    writer.await.unwrap();
    received
}

#[test]
fn two_hundred_connections_echo_every_byte_in_order() {
    const CONNECTIONS: u64 = 200;
    const BYTES: usize = 256 * 1024;
    run_with_watchdog(WATCHDOG, async {
        let addr = start_echo_server().await;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                spawn(async move {
                    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (i + 1));
                    let data: Vec<u8> = (0..BYTES).map(|_| rng.next_u64() as u8).collect();
                    let data = Rc::new(data);
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let echoed = round_trip_in_chunks(stream, data.clone(), i + 7).await;
                    assert!(echoed == *data, "connection {i}: echo differs");
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
}

#[test]
fn peer_reset_mid_transfer_ends_the_server_task_with_an_error() {
    run_with_watchdog(WATCHDOG, async {
        let reactor = Reactor::current().unwrap();
        let before = reactor.registrations();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let server = spawn(async move { echo(&server_side, &Stats::default()).await });

        // Send far more than the socket buffers hold without reading the echo, so the server
        // is stuck mid-write; then reset the connection.
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..8 {
            if minireactor::time::timeout(Duration::from_millis(50), client.write_all(&chunk))
                .await
                .is_err()
            {
                break; // Buffers full: the server is blocked writing.
            }
        }
        util::set_linger_zero(client.as_raw_fd());
        drop(client);

        let outcome = server.await.expect("the server task must not panic");
        let err = outcome.expect_err("a reset connection is an error");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        // Only the listener is left: the task dropped (deregistered and closed) its stream.
        assert_eq!(reactor.registrations(), before + 1);
    });
}

#[test]
fn half_close_still_gets_every_byte_back_then_eof() {
    run_with_watchdog(WATCHDOG, async {
        let addr = start_echo_server().await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let message = b"half-closed but still listening".repeat(1000);
        stream.write_all(&message).await.unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut echoed = Vec::new();
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break,
                n => echoed.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(echoed, message);
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    run_with_watchdog(WATCHDOG, async {
        // Bind then drop, to get a port that nothing listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect_err("nothing listens there");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn tcp_stream_options_and_std_conversion() {
    run_with_watchdog(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server_side, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(client.peer_addr().unwrap(), addr);
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        let std_stream = server_side.into_std();
        let server_side = TcpStream::from_std(std_stream).unwrap();
        client.write_all(b"still works").await.unwrap();
        let mut buf = [0; 11];
        let n = server_side.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"still works");
    });
}

#[test]
fn futures_io_traits_read_and_write() {
    use futures_io::{AsyncRead, AsyncWrite};
    run_with_watchdog(WATCHDOG, async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut writer = &a;
        let n = poll_fn(|cx| Pin::new(&mut writer).poll_write(cx, b"via futures-io"))
            .await
            .unwrap();
        assert_eq!(n, 14);
        poll_fn(|cx| Pin::new(&mut writer).poll_close(cx))
            .await
            .unwrap();
        let mut reader = b;
        let mut buf = [0; 32];
        let n = poll_fn(|cx| Pin::new(&mut reader).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"via futures-io");
        let eof = poll_fn(|cx| Pin::new(&mut reader).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(eof, 0, "poll_close shut the write side down");
    });
}

#[test]
fn udp_datagrams_of_every_size_round_trip_unchanged() {
    run_with_watchdog(WATCHDOG, async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let echo = spawn(async move {
            let mut buf = vec![0; 9000];
            for _ in 0..1000 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        let mut rng = XorShift(42);
        let mut buf = vec![0; 9000];
        for i in 0..1000 {
            // Sizes 0..=8000, including the empty datagram, which is data and not EOF.
            let len = if i == 0 { 0 } else { rng.range(0, 8000) };
            let datagram: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            assert_eq!(client.send(&datagram).await.unwrap(), len);
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &datagram[..], "datagram {i}");
        }
        echo.await.unwrap();
    });
}

/// Writes `message` on one end and reads it back echoed from a server task on the other.
async fn unix_echo_round_trip(client: UnixStream, server: UnixStream) {
    let server = spawn(async move {
        let mut buf = [0; 1024];
        loop {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            server.write_all(&buf[..n]).await.unwrap();
        }
    });
    let message = b"unix echo ".repeat(10_000);
    let client = Rc::new(client);
    let writer = spawn({
        let client = client.clone();
        let message = message.clone();
        async move {
            client.write_all(&message).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
        }
    });
    let mut echoed = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match client.read(&mut buf).await.unwrap() {
            0 => break,
            n => echoed.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(echoed, message);
    writer.await.unwrap();
    server.await.unwrap();
}

#[test]
fn unix_stream_pair_echo() {
    run_with_watchdog(WATCHDOG, async {
        let (client, server) = UnixStream::pair().unwrap();
        unix_echo_round_trip(client, server).await;
    });
}

#[test]
fn unix_listener_on_a_temp_path_echo() {
    let dir = util::ScratchDir::new("unix-listener-echo");
    let path = dir.join("echo.sock");
    run_with_watchdog(WATCHDOG, async {
        let listener = UnixListener::bind(&path).unwrap();
        let connecting = spawn({
            let path = path.clone();
            async move { UnixStream::connect(&path).await.unwrap() }
        });
        let (server, _peer) = listener.accept().await.unwrap();
        let client = connecting.await.unwrap();
        unix_echo_round_trip(client, server).await;
    });
}

#[test]
fn unix_path_too_long_or_empty_is_a_clear_error() {
    run_with_watchdog(WATCHDOG, async {
        for path in ["x".repeat(200), String::new()] {
            let err = UnixListener::bind(&path).expect_err("sun_path holds 1 to 107 bytes");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("non-empty, shorter than"), "{err}");
        }
    });
}

/// Regression: a connected UDP socket's ICMP error raises `EPOLLERR`; `recv` reports the error
/// once, and then has nothing pending. A sticky error bit made every later wait succeed at
/// once, so the next `recv` spun on `EAGAIN` inside one poll and hung the thread. The runtime
/// runs on a thread of its own, because a spinning poll would never let a timeout fire.
#[test]
fn udp_error_is_reported_once_then_recv_waits() {
    util::on_thread_with_watchdog(Duration::from_secs(30), || {
        run_with_watchdog(WATCHDOG, async {
            let port = UdpSocket::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.connect(("127.0.0.1", port)).await.unwrap();
            socket.send(b"anyone?").await.unwrap();
            let mut buf = [0; 16];
            let first = minireactor::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
                .await
                .expect("the ICMP error should arrive");
            assert_eq!(first.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
            let second =
                minireactor::time::timeout(Duration::from_millis(50), socket.recv(&mut buf)).await;
            assert!(second.is_err(), "nothing was sent, so recv must wait");
        });
    });
}

/// Reads until `want` bytes came, each read under a short timeout, so a stall is a failure.
async fn read_exactly(stream: &impl StreamRead, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0; 64];
    while got.len() < want {
        let n = minireactor::time::timeout(Duration::from_secs(5), stream.read_some(&mut buf))
            .await
            .expect("the read stalled with bytes still queued")
            .unwrap();
        assert_ne!(n, 0, "unexpected EOF");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// The two stream types' `read`, for `read_exactly`.
trait StreamRead {
    async fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
}
impl StreamRead for TcpStream {
    async fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf).await
    }
}
impl StreamRead for UnixStream {
    async fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf).await
    }
}

/// Regression: a TCP `recv` stops at the urgent mark with data still queued behind it; taking
/// that short read as "drained" cleared the readiness and the rest was never read.
#[test]
fn tcp_read_after_urgent_data_does_not_stall() {
    run_with_watchdog(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        std::io::Write::write_all(&mut client, b"AAAA").unwrap();
        util::send_urgent(client.as_raw_fd(), b"!");
        std::io::Write::write_all(&mut client, b"BBBB").unwrap();
        minireactor::time::sleep(Duration::from_millis(20)).await;
        // Without SO_OOBINLINE the urgent byte is not part of the stream.
        assert_eq!(read_exactly(&server_side, 8).await, b"AAAABBBB");
    });
}

/// Regression: a Unix-stream `recv` stops after a chunk that carried file descriptors, with the
/// next chunk already queued; taking that short read as "drained" stalled the reader.
#[test]
fn unix_read_after_passed_fds_does_not_stall() {
    run_with_watchdog(WATCHDOG, async {
        let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let reader = UnixStream::from_std(reader).unwrap();
        let passed = std::fs::File::open(env!("CARGO_MANIFEST_PATH")).unwrap();
        util::send_with_fd(writer.as_raw_fd(), b"AAAA", passed.as_raw_fd());
        std::io::Write::write_all(&mut &writer, b"BBBB").unwrap();
        minireactor::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(read_exactly(&reader, 8).await, b"AAAABBBB");
    });
}
