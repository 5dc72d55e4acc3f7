//! hyper 1.x on minireactor: the three adapters hyper's connections need, with neither tokio
//! nor smol underneath.
//!
//! - [`MiniIo`] makes a minireactor stream (any `futures_io::AsyncRead + AsyncWrite`) hyper's
//!   [`rt::Read`](hyper::rt::Read) + [`rt::Write`](hyper::rt::Write);
//! - [`MiniTimer`] is hyper's [`rt::Timer`](hyper::rt::Timer) on minireactor's timers, for
//!   hyper's timeouts;
//! - [`MiniExecutor`] is hyper's [`rt::Executor`](hyper::rt::Executor) on
//!   [`minireactor::spawn`], for futures that need not be `Send`.
//!
//! Serve each accepted connection with `hyper::server::conn::http1` in a task of its own, and
//! talk to servers with `hyper::client::conn::http1`, whose connection future is a task too.
//! Everything runs on the runtime's one thread.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper::{body::Incoming, service::service_fn, Request, Response};
//! use minireactor::net::{TcpListener, TcpStream};
//! use minireactor_hyper::{MiniExecutor, MiniIo, MiniTimer};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, World!"))))
//! }
//!
//! minireactor::block_on(async {
//!     // The server: one task per connection.
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     minireactor::spawn(async move {
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             minireactor::spawn(
//!                 hyper::server::conn::http1::Builder::new()
//!                     .timer(MiniTimer::new())
//!                     .serve_connection(MiniIo::new(stream), service_fn(hello)),
//!             );
//!         }
//!         #[allow(unreachable_code)]
//!         Ok::<_, std::io::Error>(())
//!     });
//!
//!     // The client: a handshake, the connection in a task, then requests.
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, connection) =
//!         hyper::client::conn::http1::handshake(MiniIo::new(stream)).await?;
//!     hyper::rt::Executor::execute(&MiniExecutor::new(), connection);
//!     let request = Request::get("/").header("host", "localhost").body(Full::<Bytes>::default())?;
//!     let response = sender.send_request(request).await?;
//!     assert_eq!(response.status(), 200);
//!     let body = response.into_body().collect().await?.to_bytes();
//!     assert_eq!(body, "Hello, World!");
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A complete server with keep-alive and graceful shutdown on Ctrl-C is the crate's `http`
//! example: `cargo run --release -p minireactor-hyper --example http`.

mod executor;
mod io;
mod timer;

pub use executor::MiniExecutor;
pub use io::MiniIo;
pub use timer::MiniTimer;
