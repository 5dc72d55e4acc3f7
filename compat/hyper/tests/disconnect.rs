//! A client that goes away in the middle of a request body, by closing or by resetting the
//! connection, leaves no task behind: the server's connection task ends.

mod support;

use std::time::Duration;

use minireactor::net::TcpStream;
use minireactor::Runtime;
use support::{start_echo_server, watchdog};

/// The head of a request whose body is announced far longer than what will be sent.
const HEAD: &[u8] = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n";

/// Sends a request head and part of its body, waits until the echo of that part starts coming
/// back (so the server's connection task is mid-body), then drops the connection, with a reset
/// if `reset`. Returns once the runtime's task count is back to what it was before connecting.
fn disconnect_mid_body(reset: bool) {
    let runtime = Runtime::new().expect("runtime");
    runtime.block_on(watchdog(Duration::from_secs(30), async {
        let addr = start_echo_server().await.expect("server");
        let baseline = runtime.live_tasks();

        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(HEAD).await.expect("write head");
        stream.write_all(&[b'x'; 4096]).await.expect("write part");
        let mut echoed = Vec::new();
        let mut buf = [0; 8192];
        while !echoed.ends_with(b"x") {
            let n = stream.read(&mut buf).await.expect("read");
            assert_ne!(
                n,
                0,
                "server closed early: {:?}",
                String::from_utf8_lossy(&echoed)
            );
            echoed.extend_from_slice(&buf[..n]);
        }
        assert!(echoed.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert_eq!(runtime.live_tasks(), baseline + 1, "one connection task");

        if reset {
            stream.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
        }
        drop(stream);
        while runtime.live_tasks() > baseline {
            minireactor::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(runtime.live_tasks(), baseline);
    }));
}

#[test]
fn client_closing_mid_body_leaves_no_task() {
    disconnect_mid_body(false);
}

#[test]
fn client_resetting_mid_body_leaves_no_task() {
    disconnect_mid_body(true);
}
