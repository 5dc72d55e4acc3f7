//! Fixtures shared by the integration tests: an echo server, a hyper client connection, a
//! watchdog, and a small deterministic random generator.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use minireactor::net::{TcpListener, TcpStream};
use minireactor_hyper::{MiniExecutor, MiniIo, MiniTimer};

/// Fails the test instead of letting it hang: a watchdog, never a performance assertion.
pub async fn watchdog<F: Future>(limit: Duration, future: F) -> F::Output {
    minireactor::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("watchdog: not finished within {limit:?}"))
}

/// Starts an HTTP/1.1 server whose every response streams the request's body back, and
/// returns its address. Its accept loop is one task; each connection is one more.
pub async fn start_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    minireactor::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            minireactor::spawn(
                http1::Builder::new()
                    .timer(MiniTimer::new())
                    .serve_connection(MiniIo::new(stream), service_fn(echo)),
            );
        }
    });
    Ok(addr)
}

async fn echo(request: Request<Incoming>) -> Result<Response<Incoming>, Infallible> {
    Ok(Response::new(request.into_body()))
}

/// Opens a hyper client connection to `addr`, its connection future running as a task.
pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, hyper::Error> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http1::handshake(MiniIo::new(stream)).await?;
    hyper::rt::Executor::execute(&MiniExecutor::new(), connection);
    Ok(sender)
}

/// A POST of `body` to `/`.
pub fn post(body: Bytes) -> Request<Full<Bytes>> {
    Request::post("/")
        .header("host", "localhost")
        .body(Full::new(body))
        .expect("valid request")
}

/// xorshift64*: deterministic, so a failing run can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
