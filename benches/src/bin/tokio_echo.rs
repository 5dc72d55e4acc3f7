//! The echo server on tokio's `current_thread` runtime: the baseline minireactor is measured
//! against (`cargo bench -p minireactor-benches --bench echo`, see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p minireactor-benches --bin tokio_echo -- [ADDR]    # default 127.0.0.1:7879
//! ```
//!
//! It does exactly what the other echo servers of the benchmark do: one task per connection,
//! a 4 KiB buffer, `read` then `write_all`, `TCP_NODELAY` on accepted sockets. It prints
//! `listening on ADDR` once bound and exits cleanly on SIGINT or SIGTERM.

use std::io::{self, Write as _};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7879".to_owned());
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(serve(&addr))
}

async fn serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // Signal streams are set up before announcing, so a driver that signals right after
    // reading the line is handled like any later signal.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut stdout = io::stdout();
    writeln!(stdout, "listening on {}", listener.local_addr()?)?;
    stdout.flush()?;

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(echo(stream));
                }
                // Accept errors (ECONNABORTED, EMFILE, ...) concern one connection, not the server.
                Err(e) => eprintln!("accept: {e}"),
            },
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        }
    }
}

/// Echoes until the peer closes or an error ends the connection (a reset is normal: the
/// benchmark client closes with `SO_LINGER` 0).
async fn echo(mut stream: TcpStream) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
