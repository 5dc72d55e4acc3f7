//! A client that trickles its request in, one byte every 10 ms, holds up no one: the other
//! connections are served meanwhile, and the slow one gets its answer in the end.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use minireactor::net::TcpStream;
use support::{connect, post, start_echo_server, watchdog};

/// The slow request, up to its last header, whose value is trickled until the fast clients are
/// done (or [`MAX_TRICKLE`] bytes were sent), followed by [`TAIL`].
const HEAD: &[u8] = b"POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Trickle: ";
const TAIL: &[u8] = b"\r\nContent-Length: 5\r\n\r\nhello";
/// 20 s of trickling at most: within hyper's 30 s `header_read_timeout` and the watchdog.
const MAX_TRICKLE: usize = 2000;

#[test]
fn slow_client_does_not_stall_other_connections() {
    minireactor::block_on(watchdog(Duration::from_secs(60), async {
        let addr = start_echo_server().await.expect("server");
        let fast_done = Rc::new(Cell::new(false));
        let slow = minireactor::spawn({
            let fast_done = fast_done.clone();
            async move {
                let stream = TcpStream::connect(addr).await.expect("connect");
                let send_slowly = |bytes: &'static [u8]| {
                    let stream = &stream;
                    async move {
                        for byte in bytes.chunks(1) {
                            stream.write_all(byte).await.expect("write");
                            minireactor::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                };
                send_slowly(HEAD).await;
                let mut trickled = 0;
                while !fast_done.get() && trickled < MAX_TRICKLE {
                    send_slowly(b"a").await;
                    trickled += 1;
                }
                let served_meanwhile = fast_done.get();
                send_slowly(TAIL).await;
                let mut response = Vec::new();
                let mut buf = [0; 1024];
                loop {
                    match stream.read(&mut buf).await.expect("read") {
                        0 => break (served_meanwhile, response),
                        n => response.extend_from_slice(&buf[..n]),
                    }
                }
            }
        });

        let fast: Vec<_> = (0..10)
            .map(|_| {
                minireactor::spawn(async move {
                    let mut sender = connect(addr).await.expect("handshake");
                    for _ in 0..20 {
                        sender.ready().await.expect("ready");
                        let response = sender
                            .send_request(post(Bytes::from_static(b"quick")))
                            .await
                            .expect("response");
                        let body = response.into_body().collect().await.expect("body");
                        assert_eq!(body.to_bytes(), "quick");
                    }
                })
            })
            .collect();
        for client in fast {
            client.await.expect("fast client");
        }
        fast_done.set(true);

        let (served_meanwhile, response) = slow.await.expect("slow client");
        assert!(
            served_meanwhile,
            "the fast clients were not served while the slow request trickled in"
        );
        let response = String::from_utf8(response).expect("utf-8");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\nhello"), "{response}");
    }));
}
