//! `MiniTimer` as hyper uses it: sleeps on minireactor's clock, `reset` moving a sleep's
//! deadline, and hyper's `header_read_timeout` closing a connection that stops sending.

mod support;

use std::time::Duration;

use hyper::rt::Timer;
use minireactor::net::TcpStream;
use minireactor::time;
use minireactor_hyper::MiniTimer;
use support::{start_echo_server, watchdog};

/// Watchdog for the tests on a paused clock, which jumps to it at once if a test hangs: later
/// than any sleep of theirs.
const PAUSED_WATCHDOG: Duration = Duration::from_secs(7200);

#[test]
fn reset_moves_the_deadline_of_a_sleep() {
    minireactor::block_on(watchdog(PAUSED_WATCHDOG, async {
        time::pause();
        let timer = MiniTimer::new();
        let start = timer.now();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        timer.reset(&mut sleep, start + Duration::from_secs(2));
        sleep.as_mut().await;
        assert_eq!(time::now() - start, Duration::from_secs(2));
        // A completed sleep that is reset waits again.
        timer.reset(&mut sleep, start + Duration::from_secs(5));
        sleep.await;
        assert_eq!(time::now() - start, Duration::from_secs(5));
    }));
}

#[test]
fn now_follows_the_paused_clock() {
    minireactor::block_on(watchdog(PAUSED_WATCHDOG, async {
        time::pause();
        let timer = MiniTimer::new();
        let start = timer.now();
        time::advance(Duration::from_secs(60)).await;
        assert_eq!(timer.now() - start, Duration::from_secs(60));
    }));
}

/// The echo server keeps hyper's default 30 s `header_read_timeout`, which needs a timer: with
/// the clock paused, the runtime jumps to it as soon as the connection is all that is left.
#[test]
fn header_read_timeout_closes_a_connection_that_stops_sending() {
    minireactor::block_on(watchdog(PAUSED_WATCHDOG, async {
        let addr = start_echo_server().await.expect("server");
        let stream = TcpStream::connect(addr).await.expect("connect");
        time::pause();
        let start = time::now();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: loc")
            .await
            .expect("write");
        let mut buf = [0; 1024];
        while stream.read(&mut buf).await.expect("read") != 0 {}
        assert!(time::now() - start >= Duration::from_secs(30));
    }));
}
