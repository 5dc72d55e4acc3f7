//! Address resolution that never blocks the reactor thread: [`ToSocketAddrs`] and
//! [`lookup_host`].
//!
//! An address that is already an IP address (a `SocketAddr`, an `(IpAddr, u16)`, or a string
//! holding an IP literal such as `"127.0.0.1:80"` or `("::1", 80)`) resolves inline: no
//! syscall, no thread. Only a host name (`"localhost:80"`, `("example.com", 443)`) is looked up,
//! by `getaddrinfo` through std, on the blocking pool ([`minireactor_blocking::unblock`]): the
//! reactor thread goes on running timers and I/O while the resolver waits on the network.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses: what `TcpStream::connect`,
/// `TcpListener::bind` and the `UdpSocket` methods take.
///
/// Like std's trait of the same name, but never blocking the reactor thread: an IP address
/// (a `SocketAddr`, an `(IpAddr, u16)`, or a string holding an IP literal such as
/// `"127.0.0.1:80"` or `("::1", 80)`) resolves inline, with no syscall and no thread; a host name
/// (`"localhost:80"`, `("example.com", 443)`) is looked up by `getaddrinfo` on the blocking pool,
/// while the reactor thread goes on running timers and I/O. Implemented for `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`, `(String, u16)`,
/// `str` (`"host:port"`), `String`, `[SocketAddr]`, and references to any of them. It is
/// sealed: the set of implementations is this list.
///
/// ```
/// use minireactor::net::TcpListener;
///
/// minireactor::block_on(async {
///     // An IP literal: resolved inline, no thread involved.
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let port = listener.local_addr()?.port();
///     // A host name: looked up on the blocking pool.
///     let _ = minireactor::net::TcpStream::connect(("localhost", port)).await;
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::*;

    /// The implementation of [`ToSocketAddrs`], out of users' reach.
    pub trait ToSocketAddrsPriv {
        /// The addresses, or the host lookup that will find them.
        fn to_resolve(&self) -> Resolve;
    }

    /// What resolving an address takes.
    pub enum Resolve {
        /// Nothing more: the addresses (or the parse error) are known.
        Done(io::Result<SocketAddrs>),
        /// A `getaddrinfo` lookup, for the blocking pool.
        Lookup(Lookup),
    }
}

use sealed::{Resolve, ToSocketAddrsPriv};

/// A host-name lookup to run on the blocking pool (owned, so it can move to a pool thread).
pub enum Lookup {
    /// `"host:port"`.
    HostAndPort(String),
    /// A host and a port.
    Host(String, u16),
}

impl Lookup {
    fn run(self) -> io::Result<Vec<SocketAddr>> {
        tracing::debug!(query = ?self.query(), "resolving on the blocking pool");
        let addrs = match self {
            Lookup::HostAndPort(host_and_port) => {
                std::net::ToSocketAddrs::to_socket_addrs(host_and_port.as_str())?
            }
            Lookup::Host(host, port) => {
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))?
            }
        };
        Ok(addrs.collect())
    }

    fn query(&self) -> (&str, Option<u16>) {
        match self {
            Lookup::HostAndPort(host_and_port) => (host_and_port, None),
            Lookup::Host(host, port) => (host, Some(*port)),
        }
    }
}

/// The addresses an address resolved to, in order; one address needs no allocation.
#[derive(Debug)]
pub struct SocketAddrs(SocketAddrsInner);

#[derive(Debug)]
enum SocketAddrsInner {
    One(Option<SocketAddr>),
    Many(std::vec::IntoIter<SocketAddr>),
}

impl SocketAddrs {
    fn one(addr: SocketAddr) -> SocketAddrs {
        SocketAddrs(SocketAddrsInner::One(Some(addr)))
    }

    fn many(addrs: Vec<SocketAddr>) -> SocketAddrs {
        SocketAddrs(SocketAddrsInner::Many(addrs.into_iter()))
    }
}

impl Iterator for SocketAddrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.0 {
            SocketAddrsInner::One(addr) => addr.take(),
            SocketAddrsInner::Many(addrs) => addrs.next(),
        }
    }
}

/// Resolves `addr`: inline for IP addresses, on the blocking pool for host names.
pub(crate) fn resolve<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> impl Future<Output = io::Result<SocketAddrs>> + 'static {
    let resolve = addr.to_resolve();
    async move {
        match resolve {
            Resolve::Done(addrs) => addrs,
            Resolve::Lookup(lookup) => minireactor_blocking::unblock(move || lookup.run())
                .await
                .map(SocketAddrs::many),
        }
    }
}

/// Runs `attempt` on each address `addr` resolves to, in order, until one succeeds; returns its
/// result, or the last error (or an `InvalidInput` error if `addr` resolved to nothing).
pub(crate) async fn each_addr<A, T, F, Fut>(addr: &A, mut attempt: F) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last_err = None;
    for addr in resolve(addr).await? {
        match attempt(addr).await {
            Ok(value) => return Ok(value),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(resolved_to_nothing))
}

/// The first address `addr` resolves to (for `send_to`, which sends one datagram to one place).
pub(crate) async fn first_addr<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<SocketAddr> {
    resolve(addr).await?.next().ok_or_else(resolved_to_nothing)
}

fn resolved_to_nothing() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "address resolved to no socket address",
    )
}

/// Looks up the addresses of `host`: a `"host:port"` string, a `(host, port)` pair, or any other
/// [`ToSocketAddrs`]. A host name is resolved on the blocking pool, so the reactor thread keeps
/// running while `getaddrinfo` waits; an IP literal is parsed inline.
///
/// ```
/// minireactor::block_on(async {
///     let addrs: Vec<_> = minireactor::net::lookup_host("localhost:80").await?.collect();
///     assert!(addrs.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 80));
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    resolve(&host).await
}

fn done(addr: impl Into<SocketAddr>) -> Resolve {
    Resolve::Done(Ok(SocketAddrs::one(addr.into())))
}

macro_rules! resolved_inline {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl ToSocketAddrsPriv for $ty {
            fn to_resolve(&self) -> Resolve {
                done(*self)
            }
        }
    )*};
}

resolved_inline!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => done(addr),
            Err(_) => Resolve::Lookup(Lookup::HostAndPort(self.to_owned())),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => done((ip, port)),
            Err(_) => Resolve::Lookup(Lookup::Host(host.to_owned(), port)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(Ok(SocketAddrs::many(self.to_vec())))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrsPriv for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved_inline(addr: &(impl ToSocketAddrs + ?Sized)) -> Vec<SocketAddr> {
        match addr.to_resolve() {
            Resolve::Done(addrs) => addrs.unwrap().collect(),
            Resolve::Lookup(lookup) => panic!("looked up {:?}", lookup.query()),
        }
    }

    #[test]
    fn ip_literals_resolve_inline() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(resolved_inline("127.0.0.1:80"), [v4]);
        assert_eq!(resolved_inline(&String::from("[::1]:80")), [v6]);
        assert_eq!(resolved_inline(&("::1", 80)), [v6]);
        assert_eq!(resolved_inline(&(String::from("127.0.0.1"), 80)), [v4]);
        assert_eq!(resolved_inline(&(Ipv4Addr::LOCALHOST, 80)), [v4]);
        assert_eq!(resolved_inline(&&&v6), [v6]);
        assert_eq!(resolved_inline(&[v4, v6][..]), [v4, v6]);
    }

    #[test]
    fn host_names_are_looked_up() {
        assert!(matches!(
            "localhost:80".to_resolve(),
            Resolve::Lookup(Lookup::HostAndPort(_))
        ));
        assert!(matches!(
            ("localhost", 80).to_resolve(),
            Resolve::Lookup(Lookup::Host(_, 80))
        ));
    }
}
