//! Writes to a vanished peer are errors, never SIGPIPE. Its own test binary, because it turns
//! SIGPIPE's default (terminate) action back on for the whole process.

mod util;

use std::io;
use std::time::Duration;

use minireactor::net::{TcpListener, TcpStream, UnixStream};
use util::run_with_watchdog;

fn assert_peer_gone(err: io::Error) {
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
}

#[test]
fn writes_to_a_vanished_peer_fail_without_sigpipe() {
    util::restore_default_sigpipe();
    run_with_watchdog(Duration::from_secs(30), async {
        // Unix stream: the first write after the peer closed raises SIGPIPE without MSG_NOSIGNAL.
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        assert_peer_gone(a.write_all(b"x").await.unwrap_err());

        // TCP: the peer's RST arrives after the first write; later writes would raise SIGPIPE.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        drop(listener.accept().await.unwrap());
        let mut outcome = Ok(());
        for _ in 0..100 {
            outcome = client.write_all(b"anyone?").await;
            if outcome.is_err() {
                break;
            }
            minireactor::time::sleep(Duration::from_millis(1)).await;
        }
        assert_peer_gone(outcome.unwrap_err());
    });
}
