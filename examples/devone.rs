//! The seed's userspace epoll example, made async: open `/dev/devone0`, await EPOLLIN through the
//! reactor, read, write, and use the ioctls, logging each step.
//!
//! Run: `cargo run --example devone -- [/dev/devone0]` (the driver must be loaded; see the
//! README's "devone" section).

use std::io;
use std::process::ExitCode;

use minireactor::io::devone::Devone;
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

    let mut buf = [0u8; 8];
    if dev.is_pollable() {
        info!("awaiting EPOLLIN");
    } else {
        info!("driver has no poll method: reading, retrying on EAGAIN");
    }
    let n = dev.read(&mut buf).await?;
    info!(bytes = ?&buf[..n], "read {n} bytes");

    let written = dev.write(b"A").await?;
    info!(written, "wrote \"A\"");
    let n = dev.read(&mut buf).await?;
    info!(text = %String::from_utf8_lossy(&buf[..n]), "read {n} bytes");

    info!(value = dev.value()?, "IOCTL_VALGET");
    dev.set_value(0x42)?;
    info!(value = dev.value()?, "IOCTL_VALSET 0x42, then IOCTL_VALGET");
    info!("done");
    Ok(())
}
