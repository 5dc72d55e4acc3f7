//! The seed's userspace epoll example, made async: open `/dev/devone0`, await EPOLLIN through the
//! reactor, read, write, and use the ioctls, logging each step.
//!
//! A 10 ms timer ticks beside the device's operations, and the example logs how often it ticked:
//! with a driver that sleeps in `read(2)` even with `O_NONBLOCK` (the module's `read_delay_ms`),
//! `Devone` notices the first slow read, warns once, and moves the device's syscalls to the
//! blocking pool, so the timer keeps ticking (`offloaded=true` in the log).
//!
//! Run: `cargo run --example devone -- [/dev/devone0]` (the driver must be loaded; see the
//! README's "devone" section).

use std::cell::Cell;
use std::io;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use minireactor::devone::Devone;
use minireactor::time::{interval, MissedTickBehavior};
use tracing::{error, info};

fn main() -> ExitCode {
    // RUST_LOG=error|warn|info|debug|trace; a level, not a full filter, keeps the binary small.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|level| level.parse().ok());
    tracing_subscriber::fmt()
        .with_max_level(level.unwrap_or(tracing::Level::INFO))
        .with_writer(std::io::stderr)
        .init();
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/dev/devone0".to_string());

    match minireactor::block_on(run(&path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            error!(
                "{path} does not exist: load the devone driver first \
                 (see the \"devone\" section of README.md, or devone/README.md)"
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            error!("devone example failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(path: &str) -> io::Result<()> {
    let dev = Devone::open(path)?;
    info!(path, pollable = dev.is_pollable(), "opened");

    let ticks = Rc::new(Cell::new(0u32));
    let ticker = minireactor::spawn({
        let ticks = Rc::clone(&ticks);
        async move {
            let mut every_10ms = interval(Duration::from_millis(10));
            // A frozen thread loses its ticks rather than catching up: the count tells.
            every_10ms.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                every_10ms.tick().await;
                ticks.set(ticks.get() + 1);
            }
        }
    });
    let start = Instant::now();

    let mut buf = [0u8; 8];
    if dev.is_pollable() {
        info!("awaiting EPOLLIN");
    } else {
        info!("driver has no poll method: reading, retrying on EAGAIN");
    }
    let n = dev.read(&mut buf).await?;
    info!(bytes = ?&buf[..n], offloaded = dev.is_offloaded(), "read {n} bytes");

    let written = dev.write(b"A").await?;
    info!(written, "wrote \"A\"");
    let n = dev.read(&mut buf).await?;
    info!(text = %String::from_utf8_lossy(&buf[..n]), "read {n} bytes");

    info!(value = dev.value().await?, "IOCTL_VALGET");
    dev.set_value(0x42).await?;
    info!(
        value = dev.value().await?,
        "IOCTL_VALSET 0x42, then IOCTL_VALGET"
    );
    ticker.abort();
    info!(
        ticks = ticks.get(),
        elapsed_ms = start.elapsed().as_millis() as u64,
        "a 10 ms timer ticked meanwhile"
    );
    info!("done");
    Ok(())
}
