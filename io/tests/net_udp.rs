//! UDP beyond `net.rs`: multicast on loopback, options, peek, non-blocking attempts, and
//! `send_to` with every address form.

mod util;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use minireactor::net::UdpSocket;
use minireactor::time::timeout;
use socket2::SockRef;
use util::run_with_watchdog;

const WATCHDOG: Duration = Duration::from_secs(60);

/// How long a datagram on loopback is given to arrive: a watchdog on a lost datagram.
const ARRIVAL: Duration = Duration::from_secs(5);

/// Whether an error means the machine cannot do multicast here (no route, no device), as
/// opposed to a bug.
fn no_multicast_route(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENETUNREACH | libc::ENODEV | libc::EADDRNOTAVAIL | libc::EHOSTUNREACH)
    )
}

/// A member of 224.0.0.123 on the loopback interface receives a datagram sent to the group from
/// 127.0.0.1 (a multicast sent from a loopback source leaves through `lo`).
#[test]
fn multicast_v4_on_loopback_reaches_a_member() {
    let group = Ipv4Addr::new(224, 0, 0, 123);
    run_with_watchdog(WATCHDOG, async {
        let member = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        let port = member.local_addr().unwrap().port();
        if let Err(err) = member.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            assert!(no_multicast_route(&err), "join: {err}");
            eprintln!("skipped: cannot join {group} on lo here ({err})");
            return;
        }
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.set_multicast_ttl_v4(1).unwrap();
        assert_eq!(sender.multicast_ttl_v4().unwrap(), 1);
        sender.set_multicast_loop_v4(true).unwrap();
        assert!(sender.multicast_loop_v4().unwrap());
        if let Err(err) = sender.send_to(b"to the group", (group, port)).await {
            assert!(no_multicast_route(&err), "send: {err}");
            eprintln!("skipped: the kernel has no multicast route for {group} on lo ({err})");
            return;
        }
        let mut buf = [0; 32];
        let (n, from) = timeout(ARRIVAL, member.recv_from(&mut buf))
            .await
            .expect("the group member received nothing")
            .unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"to the group"[..], sender.local_addr().unwrap())
        );
        member
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap();
        let err = member
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .expect_err("no longer a member");
        assert_eq!(err.raw_os_error(), Some(libc::EADDRNOTAVAIL), "{err}");
    });
}

/// The same with an ff02:: group on `lo`. Linux gives `lo` no IPv6 multicast route by default,
/// so this usually skips, saying so; where the route exists, the member must receive.
#[test]
fn multicast_v6_on_loopback_reaches_a_member() {
    if !util::has_ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
        return;
    }
    let group: Ipv6Addr = "ff02::1:2345".parse().unwrap();
    let lo = util::loopback_index();
    run_with_watchdog(WATCHDOG, async {
        let member = UdpSocket::bind("[::]:0").await.unwrap();
        let port = member.local_addr().unwrap().port();
        if let Err(err) = member.join_multicast_v6(&group, lo) {
            assert!(no_multicast_route(&err), "join: {err}");
            eprintln!("skipped: cannot join {group} on lo here ({err})");
            return;
        }
        let sender = UdpSocket::bind("[::1]:0").await.unwrap();
        SockRef::from(&sender).set_multicast_if_v6(lo).unwrap();
        sender.set_multicast_loop_v6(true).unwrap();
        assert!(sender.multicast_loop_v6().unwrap());
        let target = SocketAddrV6::new(group, port, 0, lo);
        if let Err(err) = sender.send_to(b"to the v6 group", target).await {
            assert!(no_multicast_route(&err), "send: {err}");
            eprintln!("skipped: the kernel has no IPv6 multicast route on lo ({err})");
            return;
        }
        let mut buf = [0; 32];
        let (n, _) = timeout(ARRIVAL, member.recv_from(&mut buf))
            .await
            .expect("the group member received nothing")
            .unwrap();
        assert_eq!(&buf[..n], b"to the v6 group");
        member.leave_multicast_v6(&group, lo).unwrap();
    });
}

#[test]
fn udp_options_round_trip() {
    run_with_watchdog(WATCHDOG, async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(!socket.broadcast().unwrap());
        socket.set_broadcast(true).unwrap();
        assert!(socket.broadcast().unwrap());
        socket.set_ttl(9).unwrap();
        assert_eq!(socket.ttl().unwrap(), 9);
        socket.set_multicast_loop_v4(false).unwrap();
        assert!(!socket.multicast_loop_v4().unwrap());
        socket.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(socket.multicast_ttl_v4().unwrap(), 4);
    });
}

/// `peek`/`peek_from` leave the datagram queued; `try_recv` drains and then says `WouldBlock`,
/// after which a wait blocks until the next datagram.
#[test]
fn peek_and_try_recv_follow_the_queue() {
    run_with_watchdog(WATCHDOG, async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        b.connect(a_addr).await.unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        a.writable().await.unwrap();
        assert_eq!(a.try_send_to(b"first", b_addr).unwrap(), 5);
        a.send_to(b"second", b_addr).await.unwrap();
        assert_eq!(b.peek(&mut buf).await.unwrap(), 5);
        assert_eq!(b.peek_from(&mut buf).await.unwrap(), (5, a_addr));
        assert_eq!(b.try_recv(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"first");
        assert_eq!(b.try_recv_from(&mut buf).unwrap(), (6, a_addr));
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(timeout(Duration::from_millis(50), b.readable())
            .await
            .is_err());

        a.connect(b_addr).await.unwrap();
        a.writable().await.unwrap();
        assert_eq!(a.try_send(b"third").unwrap(), 5);
        b.readable().await.unwrap();
        assert_eq!(b.try_recv(&mut buf).unwrap(), 5);
    });
}

/// `send_to` takes what `connect` takes: a `SocketAddr`, a string, or a `(host, port)` pair.
#[test]
fn send_to_takes_every_address_form() {
    run_with_watchdog(WATCHDOG, async {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = receiver.local_addr().unwrap();
        let port = addr.port();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.send_to(b"1", addr).await.unwrap();
        sender
            .send_to(b"2", format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        sender.send_to(b"3", ("127.0.0.1", port)).await.unwrap();
        sender.send_to(b"4", ("localhost", port)).await.unwrap();
        sender.send_to(b"5", &[addr][..]).await.unwrap();
        let mut buf = [0; 1];
        for expected in [b"1", b"2", b"3", b"4", b"5"] {
            receiver.recv(&mut buf).await.unwrap();
            assert_eq!(&buf, expected);
        }
    });
}
