//! The benchmark's reference: the `http` example's hello-world server on tokio's
//! `current_thread` runtime, with hyper-util's `TokioIo` and `TokioTimer` (what hyper's docs
//! use for tokio). Same service, same `TCP_NODELAY`, same timer-backed `header_read_timeout`.
//!
//! Run: `cargo run --release -p minireactor-hyper --example tokio_http -- [ADDR]` (default
//! `127.0.0.1:3000`). Connections are `tokio::spawn`ed (tokio's usual path; `LocalSet` would add
//! a layer), so the request counter is an atomic rather than the `Rc<Cell>` of `http`. Ctrl-C stops it with a one-line summary; unlike the `http` example it
//! drops open connections instead of draining them, which the benchmark never needs.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let requests = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = tokio::select! {
                _ = interrupt.recv() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => { eprintln!("accept: {err}"); continue; }
                },
            };
            let _ = stream.set_nodelay(true);
            let counter = requests.clone();
            let hello = service_fn(move |_: Request<Incoming>| {
                counter.fetch_add(1, Ordering::Relaxed);
                async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("Hello, World!"))))
                }
            });
            tokio::spawn(async move {
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), hello);
                match connection.await {
                    Err(err) if err.is_shutdown() => {} // As in `http`.
                    Err(err) => eprintln!("connection: {err}"),
                    Ok(()) => {}
                }
            });
        }
        Ok::<_, io::Error>(())
    })?;
    println!("shut down: {} requests", requests.load(Ordering::Relaxed));
    Ok(())
}
