//! A client that trickles its request in, one byte every 10 ms, holds up no one: the other
//! connections are served meanwhile, and the slow one gets its answer in the end.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use minireactor::net::TcpStream;
use support::{connect, post, start_echo_server, watchdog};

const REQUEST: &[u8] =
    b"POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn slow_client_does_not_stall_other_connections() {
    minireactor::block_on(watchdog(Duration::from_secs(60), async {
        let addr = start_echo_server().await.expect("server");
        let slow = minireactor::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            for byte in REQUEST.chunks(1) {
                stream.write_all(byte).await.expect("write");
                minireactor::time::sleep(Duration::from_millis(10)).await;
            }
            let mut response = Vec::new();
            let mut buf = [0; 1024];
            loop {
                match stream.read(&mut buf).await.expect("read") {
                    0 => break response,
                    n => response.extend_from_slice(&buf[..n]),
                }
            }
        });
        // Give the slow client time to be accepted and start trickling.
        minireactor::time::sleep(Duration::from_millis(50)).await;

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
        // ~110 bytes at 10 ms each: the slow request is still being written.
        assert!(
            !slow.is_finished(),
            "the fast clients finished only after the slow one"
        );

        let response = slow.await.expect("slow client");
        let response = String::from_utf8(response).expect("utf-8");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\nhello"), "{response}");
    }));
}
