//! Awaiting signals. Uses SIGUSR2 and SIGHUP, never SIGINT/SIGTERM, so the test run itself
//! cannot be disturbed.

mod util;

use std::io;
use std::time::Duration;

use minireactor::signal::{signal, SignalKind};
use minireactor::time::timeout;
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(30);

#[test]
fn every_listener_sees_a_delivery() {
    run_with_watchdog(WATCHDOG, async {
        let mut first = signal(SignalKind::from_raw(libc::SIGUSR2)).unwrap();
        let mut second = signal(SignalKind::from_raw(libc::SIGUSR2)).unwrap();
        let other_thread = std::thread::spawn(|| {
            minireactor::block_on(async {
                let mut third = signal(SignalKind::from_raw(libc::SIGUSR2)).unwrap();
                util::raise_in_process(libc::SIGUSR2);
                timeout(WATCHDOG, third.recv()).await.is_ok()
            })
        });
        timeout(WATCHDOG, first.recv())
            .await
            .expect("first listener");
        timeout(WATCHDOG, second.recv())
            .await
            .expect("second listener");
        assert!(other_thread.join().unwrap(), "listener on another thread");
    });
}

#[test]
fn a_listener_does_not_see_deliveries_from_before_it_existed() {
    run_with_watchdog(WATCHDOG, async {
        let mut early = signal(SignalKind::hangup()).unwrap();
        util::raise_in_process(libc::SIGHUP);
        timeout(WATCHDOG, early.recv()).await.expect("delivered");
        let mut late = signal(SignalKind::hangup()).unwrap();
        let nothing = timeout(Duration::from_millis(50), late.recv()).await;
        assert!(
            nothing.is_err(),
            "saw a delivery from before it was created"
        );
        util::raise_in_process(libc::SIGHUP);
        timeout(WATCHDOG, late.recv())
            .await
            .expect("a new delivery");
    });
}

#[test]
fn uncatchable_signals_are_refused() {
    run_with_watchdog(WATCHDOG, async {
        for raw in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 65, -1] {
            let err = signal(SignalKind::from_raw(raw)).expect_err("must be refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {raw}");
        }
    });
}
