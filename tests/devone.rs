//! The `Devone` device API on the character-device paths a machine without the driver can show:
//! a pty (a device with a real `poll`) and a regular file (no `poll`: the always-ready fallback).
//! The real driver is exercised in a VM by `devone/vm/run.sh`.

mod util;

use std::io::{self, Write};
use std::time::Duration;

use minireactor::devone::Devone;
use minireactor::time::{sleep, timeout};
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(30);

#[test]
fn a_missing_device_is_not_found() {
    run_with_watchdog(WATCHDOG, async {
        let err = Devone::open("/dev/devone-does-not-exist").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn an_unpollable_file_falls_back_to_always_ready() {
    let path = std::env::temp_dir().join(format!("minireactor-devone-{}", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&[0xff; 8])
        .unwrap();
    run_with_watchdog(WATCHDOG, async {
        let dev = Devone::open(&path).expect("EPERM from epoll must not fail the open");
        assert!(!dev.is_pollable());
        let mut buf = [0; 8];
        assert_eq!(dev.read(&mut buf).await.unwrap(), 8);
        assert_eq!(buf, [0xff; 8]);
        // Not the devone driver: its ioctls are unknown to a regular file.
        assert_eq!(
            dev.value().await.unwrap_err().raw_os_error(),
            Some(libc::ENOTTY)
        );
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn awaiting_a_silent_device_does_not_block_the_runtime() {
    run_with_watchdog(WATCHDOG, async {
        // A fresh pty master has nothing to read until a slave writes.
        let dev = Devone::open("/dev/ptmx").unwrap();
        assert!(dev.is_pollable());
        let ticker = minireactor::spawn(async {
            for _ in 0..5 {
                sleep(Duration::from_millis(2)).await;
            }
        });
        let mut buf = [0; 8];
        let read = timeout(Duration::from_millis(50), dev.read(&mut buf)).await;
        assert!(
            read.is_err(),
            "nothing was written, so the read must still be waiting"
        );
        ticker
            .await
            .expect("timers kept running while the read waited");
        assert_eq!(
            dev.value().await.unwrap_err().raw_os_error(),
            Some(libc::ENOTTY)
        );
    });
}
