//! Address resolution never blocks the reactor thread: host names are looked up on the
//! blocking pool, IP literals inline without any thread.

mod util;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use minireactor::net::{lookup_host, TcpListener, TcpStream, UdpSocket};
use minireactor::time::{interval, timeout};
use minireactor::{spawn, spawn_blocking, Builder, Runtime};
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(60);

/// `future` under a watchdog, for tests that need a runtime of their own (`run_with_watchdog`
/// makes a fresh one).
async fn watchdog<F: std::future::Future>(future: F) -> F::Output {
    timeout(WATCHDOG, future)
        .await
        .expect("watchdog: the test did not finish")
}

/// A lookup is pending on the blocking pool while the reactor thread goes on ticking an
/// interval. The pool has one thread, held by a job until the test releases it, so the lookup
/// cannot finish before then: five ticks of a 10 ms interval pass with it pending (a lookup run
/// on the reactor thread would have completed, or frozen the interval, instead). Released, it
/// finds localhost.
#[test]
fn lookup_host_waits_on_the_pool_while_an_interval_ticks() {
    let runtime = Builder::new().max_blocking_threads(1).build().unwrap();
    runtime.block_on(watchdog(async {
        let (release, gate) = mpsc::channel::<()>();
        let holder = spawn_blocking(move || gate.recv().ok());
        let lookup = spawn(async {
            lookup_host("localhost:80")
                .await
                .map(|addrs| addrs.collect::<Vec<SocketAddr>>())
        });
        let mut ticks = interval(Duration::from_millis(10));
        for _ in 0..5 {
            ticks.tick().await;
        }
        assert!(
            !lookup.is_finished(),
            "the lookup finished while the pool's only thread was busy: it did not use the pool"
        );
        release.send(()).unwrap();
        let addrs = lookup.await.unwrap().unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|addr| addr.ip().is_loopback() && addr.port() == 80),
            "{addrs:?}"
        );
        holder.await.unwrap();
    }));
}

/// `connect` resolves a host name and tries each address: `localhost` may resolve to `::1`
/// first, where nothing listens, and then to `127.0.0.1`, where the listener is.
#[test]
fn connect_to_localhost_by_name() {
    run_with_watchdog(WATCHDOG, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"by name").await.unwrap();
        let mut buf = [0; 7];
        assert_eq!(server.read(&mut buf).await.unwrap(), 7);

        // `(host, port)` takes the same route.
        let by_pair = TcpStream::connect(("localhost", port)).await.unwrap();
        assert_eq!(by_pair.peer_addr().unwrap().port(), port);
    });
}

/// IP literals, in every form the address types take, resolve inline: the runtime's blocking
/// pool never starts a thread. A host name then does start one, so the count is live.
#[test]
fn ip_literals_resolve_without_a_blocking_thread() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(watchdog(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let udp = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
        udp.connect(String::from("127.0.0.1:9")).await.unwrap();
        udp.send_to(b"x", ("127.0.0.1", port)).await.unwrap();
        let v6: Vec<_> = lookup_host("[::1]:80").await.unwrap().collect();
        assert_eq!(v6, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
        let pair: Vec<_> = lookup_host(("::1", 80)).await.unwrap().collect();
        assert_eq!(pair, v6);
    }));
    assert_eq!(
        runtime.blocking_threads(),
        0,
        "an IP literal used the blocking pool"
    );
    runtime.block_on(watchdog(async {
        assert!(lookup_host("localhost:80").await.unwrap().count() > 0);
    }));
    assert_eq!(
        runtime.blocking_threads(),
        1,
        "a host name is looked up on the pool"
    );
}
