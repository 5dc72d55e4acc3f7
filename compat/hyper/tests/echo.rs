//! Many keep-alive connections, many requests each, bodies of every size from 1 B to 256 KiB:
//! every byte comes back, in order, through hyper's client and server on one minireactor
//! thread.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use support::{connect, post, start_echo_server, watchdog, Rng};

const CONNECTIONS: usize = 100;
const REQUESTS_PER_CONNECTION: usize = 50;
const MAX_BODY: usize = 256 * 1024;

/// A body length for request `index` of a connection: the two extremes first, then a
/// log-uniform spread (each power of two between 1 B and 256 KiB about equally likely, so small
/// bodies, chunk boundaries and multi-read bodies all occur).
fn body_len(rng: &mut Rng, index: usize) -> usize {
    match index {
        0 => 1,
        1 => MAX_BODY,
        _ => {
            let bits = 1 + rng.below(MAX_BODY.trailing_zeros() as u64) as u32;
            (rng.below(1 << bits) as usize + 1).min(MAX_BODY)
        }
    }
}

#[test]
fn keep_alive_connections_echo_random_bodies_byte_exact() {
    minireactor::block_on(watchdog(Duration::from_secs(300), async {
        let addr = start_echo_server().await.expect("server");
        // Bodies are windows of one random pool at random offsets: random content, no copies.
        let pool = Bytes::from(Rng::new(0x5eed).bytes(2 * MAX_BODY));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|connection| {
                let pool = pool.clone();
                minireactor::spawn(async move {
                    let mut rng = Rng::new(connection as u64 + 1);
                    let mut sender = connect(addr).await.expect("handshake");
                    let mut echoed = 0;
                    for index in 0..REQUESTS_PER_CONNECTION {
                        let len = body_len(&mut rng, index);
                        let offset = rng.below((pool.len() - len + 1) as u64) as usize;
                        let body = pool.slice(offset..offset + len);
                        sender.ready().await.expect("connection kept alive");
                        let response = sender.send_request(post(body.clone())).await;
                        let response = response.expect("response");
                        assert_eq!(response.status(), 200);
                        let back = response.into_body().collect().await.expect("body");
                        let back = back.to_bytes();
                        assert!(
                            back == body,
                            "connection {connection}, request {index}: sent {len} bytes, got \
                             {} back, not the same",
                            back.len()
                        );
                        echoed += len;
                    }
                    echoed
                })
            })
            .collect();
        let mut echoed = 0;
        for client in clients {
            echoed += client.await.expect("client task");
        }
        assert!(echoed >= CONNECTIONS * (1 + MAX_BODY));
    }));
}

/// `MiniIo` is not tied to TCP: hyper's client and server over the two ends of a Unix pair.
#[test]
fn request_over_a_unix_stream_pair() {
    minireactor::block_on(watchdog(Duration::from_secs(30), async {
        let (server_end, client_end) = minireactor::net::UnixStream::pair().expect("pair");
        minireactor::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
            minireactor_hyper::MiniIo::new(server_end),
            hyper::service::service_fn(|request: hyper::Request<hyper::body::Incoming>| async {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(request.into_body()))
            }),
        ));
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(minireactor_hyper::MiniIo::new(client_end))
                .await
                .expect("handshake");
        minireactor::spawn(connection);
        let response = sender
            .send_request(post(Bytes::from_static(b"over unix")))
            .await;
        let body = response
            .expect("response")
            .into_body()
            .collect()
            .await
            .expect("body");
        assert_eq!(body.to_bytes(), "over unix");
    }));
}
