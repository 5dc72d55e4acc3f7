//! A thread writes lines into a pipe at intervals; a task awaits EPOLLIN through `AsyncFd` and
//! logs each line as it arrives.
//!
//! Run: `RUST_LOG=debug cargo run --example pipe`

use std::io::{self, Read, Write};
use std::time::Duration;

use minireactor::io::{AsyncFd, Interest};
use tracing::info;

const LINES: usize = 5;

fn main() -> io::Result<()> {
    // RUST_LOG=error|warn|info|debug|trace; a level, not a full filter, keeps the binary small.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|level| level.parse().ok());
    tracing_subscriber::fmt()
        .with_max_level(level.unwrap_or(tracing::Level::INFO))
        .with_writer(std::io::stderr)
        .init();

    let (reader, mut writer) = io::pipe()?;
    let producer = std::thread::spawn(move || -> io::Result<()> {
        for i in 1..=LINES {
            std::thread::sleep(Duration::from_millis(200));
            writeln!(writer, "line {i} from the writer thread")?;
        }
        Ok(()) // Dropping the writer closes the pipe: the reader sees EOF.
    });

    minireactor::block_on(async {
        let reader = AsyncFd::new(reader)?;
        let mut pending = Vec::new();
        let mut buf = [0; 256];
        loop {
            // Waits for EPOLLIN, reads, and on EAGAIN clears readiness and waits again.
            let n = reader
                .async_io(Interest::Readable, |mut pipe| pipe.read(&mut buf))
                .await?;
            if n == 0 {
                info!("writer closed the pipe");
                return Ok::<_, io::Error>(());
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                info!(line = %String::from_utf8_lossy(&line[..end]), "received");
            }
        }
    })?;
    producer.join().expect("writer thread panicked")
}
