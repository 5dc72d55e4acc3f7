//! A hello-world HTTP/1.1 server on minireactor and hyper, with keep-alive and graceful
//! shutdown.
//!
//! Run: `cargo run --release -p minireactor-hyper --example http -- [ADDR]` (default
//! `127.0.0.1:3000`), then `curl http://127.0.0.1:3000/`. On Ctrl-C (SIGINT) it stops accepting,
//! tells every open connection to finish the request in flight and close (hyper's
//! `graceful_shutdown`), gives them up to 1 s, and exits with a one-line summary. A second
//! Ctrl-C during that second terminates it at once: the SIGINT listener is gone by then.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use minireactor::net::{TcpListener, TcpStream};
use minireactor::signal::{self, SignalKind};
use minireactor_hyper::{MiniIo, MiniTimer};

/// How long open connections get to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(1);

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let runtime = minireactor::Runtime::new()?;
    let server = Rc::new(Server::default());
    runtime.block_on(accept_until_interrupted(&addr, server.clone()))?;
    server.shutdown.request();
    let open_at_interrupt = server.open.get();
    let all_closed = runtime.shutdown_timeout(GRACE);
    println!(
        "shut down: {} requests on {} connections; {} open at Ctrl-C, {}",
        server.requests.get(),
        server.connections.get(),
        open_at_interrupt,
        if all_closed {
            "all closed gracefully".to_string()
        } else {
            format!("{} cut off after {GRACE:?}", server.open.get())
        }
    );
    Ok(())
}

/// What the connection tasks share.
#[derive(Default)]
struct Server {
    shutdown: Shutdown,
    /// Connections accepted.
    connections: Cell<u64>,
    /// Connections not yet closed.
    open: Cell<u64>,
    /// Requests answered.
    requests: Cell<u64>,
}

/// Accepts connections, each served by a task of its own, until SIGINT.
async fn accept_until_interrupted(addr: &str, server: Rc<Server>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // Listening before announcing: a SIGINT sent right after the line below is not missed
    // (`ctrl_c()` would install its handler only when first polled).
    let mut interrupt = signal::signal(SignalKind::interrupt())?;
    println!("listening on {}", listener.local_addr()?);
    let mut interrupted = pin!(interrupt.recv());
    loop {
        let mut accept = pin!(listener.accept());
        let accepted = poll_fn(|cx| {
            if interrupted.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            accept.as_mut().poll(cx).map(Some)
        });
        match accepted.await {
            None => return Ok(()),
            Some(Ok((stream, _peer))) => {
                minireactor::spawn(serve(stream, server.clone()));
            }
            // Out of fds, or a connection reset before it was accepted: keep serving the rest.
            Some(Err(err)) => {
                eprintln!("accept: {err}");
                minireactor::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves one connection until the client closes it, or until shutdown is requested and the
/// request in flight is answered.
async fn serve(stream: TcpStream, server: Rc<Server>) {
    server.connections.set(server.connections.get() + 1);
    server.open.set(server.open.get() + 1);
    let _ = stream.set_nodelay(true);
    let counter = server.clone();
    let hello = service_fn(move |_: Request<Incoming>| {
        counter.requests.set(counter.requests.get() + 1);
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("Hello, World!")))) }
    });
    let mut connection = pin!(http1::Builder::new()
        .timer(MiniTimer::new())
        .serve_connection(MiniIo::new(stream), hello));
    let mut shutdown = pin!(server.shutdown.requested());
    let mut graceful = false;
    let result = poll_fn(|cx| {
        if !graceful && shutdown.as_mut().poll(cx).is_ready() {
            connection.as_mut().graceful_shutdown();
            graceful = true;
        }
        connection.as_mut().poll(cx)
    })
    .await;
    match result {
        // The client was gone before hyper could shut the connection down: nothing was lost.
        Err(err) if err.is_shutdown() => {}
        Err(err) => eprintln!("connection: {err}"),
        Ok(()) => {}
    }
    server.open.set(server.open.get() - 1);
}

/// A one-way broadcast: [`request`](Self::request) wakes every [`requested`](Self::requested)
/// future. Each waiting future holds one entry, removed when it is dropped, so connections that
/// come and go leave nothing behind.
#[derive(Default)]
struct Shutdown {
    is_requested: Cell<bool>,
    waiters: RefCell<BTreeMap<u64, Waker>>,
    next_waiter: Cell<u64>,
}

impl Shutdown {
    fn request(&self) {
        self.is_requested.set(true);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_values().for_each(Waker::wake);
    }

    async fn requested(&self) {
        let key = self.next_waiter.get();
        self.next_waiter.set(key + 1);
        let _entry = WaiterEntry {
            shutdown: self,
            key,
        };
        // The connection's task polls this at every wake: with the waker it registered kept
        // here, the usual poll is a flag check and a pointer comparison.
        let mut registered: Option<Waker> = None;
        poll_fn(|cx| {
            if self.is_requested.get() {
                return Poll::Ready(());
            }
            if !registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                registered = Some(cx.waker().clone());
                self.waiters.borrow_mut().insert(key, cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// Removes a waiter's entry when its future is dropped.
struct WaiterEntry<'a> {
    shutdown: &'a Shutdown,
    key: u64,
}

impl Drop for WaiterEntry<'_> {
    fn drop(&mut self) {
        self.shutdown.waiters.borrow_mut().remove(&self.key);
    }
}
