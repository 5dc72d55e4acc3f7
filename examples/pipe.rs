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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
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
