//! The async echo server: a task per connection that writes back everything it reads.
//!
//! Run: `cargo run --release --example echo -- [ADDR]` (default `127.0.0.1:7878`), then talk to
//! it with `nc 127.0.0.1 7878`. `RUST_LOG=debug` logs connects and disconnects.
//!
//! Ctrl-C or SIGTERM shuts it down gracefully: it stops accepting at once (a `CancellationToken`
//! the accept loop watches), gives the open connections up to a second to finish
//! (`Runtime::shutdown_timeout`), then cancels the rest and prints a one-line summary.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use minireactor::net::{TcpListener, TcpStream};
use minireactor::signal::{self, SignalKind};
use minireactor::sync::CancellationToken;
use minireactor::Runtime;
use tracing::{debug, warn};

/// Per-connection buffer, the same as the tokio server the benchmark compares against.
const BUFFER_SIZE: usize = 4096;

/// How long open connections may go on after a shutdown was requested.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// How long to pause accepting when out of file descriptors: the pending connection keeps the
/// listener readable, so retrying at once would spin.
const FD_EXHAUSTED_BACKOFF: Duration = Duration::from_millis(100);

/// What the server did, for the exit summary.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: Cell<u64>,
    /// Bytes written back.
    pub bytes: Cell<u64>,
}

fn main() -> io::Result<()> {
    // RUST_LOG=error|warn|info|debug|trace; a level, not a full filter, keeps the binary small.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|level| level.parse().ok());
    tracing_subscriber::fmt()
        .with_max_level(level.unwrap_or(tracing::Level::INFO))
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());

    let runtime = Runtime::new()?;
    let stats = Rc::new(Stats::default());
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        let shutdown = shutdown_requested()?;
        println!("listening on {}", listener.local_addr()?);
        let stop_accepting = CancellationToken::new();
        minireactor::spawn(serve(listener, stats.clone(), stop_accepting.clone()));
        shutdown.await;
        stop_accepting.cancel();
        Ok::<_, io::Error>(())
    })?;
    let drained = runtime.shutdown_timeout(DRAIN_TIMEOUT);
    println!(
        "shutting down: served {} connections, echoed {} bytes{}",
        stats.connections.get(),
        stats.bytes.get(),
        if drained {
            ""
        } else {
            "; cut off connections still open after 1 s"
        }
    );
    Ok(())
}

/// Resolves on the first SIGINT or SIGTERM. The listeners are created before the server
/// announces itself, so a signal sent right after `listening on` is not missed.
fn shutdown_requested() -> io::Result<impl Future<Output = ()>> {
    let mut interrupt = signal::signal(SignalKind::interrupt())?;
    let mut terminate = signal::signal(SignalKind::terminate())?;
    Ok(async move {
        let mut interrupted = pin!(interrupt.recv());
        let mut terminated = pin!(terminate.recv());
        poll_fn(|cx| {
            if interrupted.as_mut().poll(cx).is_ready() || terminated.as_mut().poll(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    })
}

/// Accepts connections, one task each, until `stop` is cancelled.
pub async fn serve(listener: TcpListener, stats: Rc<Stats>, stop: CancellationToken) {
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            let mut stopped = pin!(stop.cancelled());
            poll_fn(|cx| match stopped.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => accept.as_mut().poll(cx).map(Some),
            })
            .await
        };
        let Some(accepted) = accepted else {
            debug!("stopped accepting");
            return;
        };
        match accepted {
            Ok((stream, peer)) => {
                stats.connections.set(stats.connections.get() + 1);
                debug!(%peer, "connected");
                let stats = stats.clone();
                minireactor::spawn(async move {
                    match echo(&stream, &stats).await {
                        Ok(()) => debug!(%peer, "disconnected"),
                        Err(err) => debug!(%peer, %err, "connection ended with an error"),
                    }
                });
            }
            Err(err) if is_fd_exhaustion(&err) => {
                warn!(%err, "out of file descriptors; pausing accepts");
                minireactor::time::sleep(FD_EXHAUSTED_BACKOFF).await;
            }
            Err(err) => debug!(%err, "accept failed"),
        }
    }
}

fn is_fd_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Writes back everything read until the peer closes its write side.
pub async fn echo(stream: &TcpStream, stats: &Stats) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0; BUFFER_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
        stats.bytes.set(stats.bytes.get() + n as u64);
    }
}
