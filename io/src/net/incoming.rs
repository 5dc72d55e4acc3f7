//! [`Incoming`]: a listener's connections as a `futures_core::Stream`.

use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use minireactor_reactor::{Interest, Readiness};

use crate::net::protocol::StreamProtocol;
use crate::net::{StreamListener, StreamSocket};
use crate::sys;

/// The connections of a listener, as a stream; made by [`StreamListener::incoming`].
///
/// It has a waiter of its own (not the shared one of `poll_accept`), so it may be polled next
/// to other tasks accepting on the same listener. It never ends: an error is an item (the
/// listener stays usable, as with `accept`).
///
/// ```
/// use futures_core::Stream;
/// use minireactor::net::{TcpListener, TcpStream};
///
/// minireactor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     minireactor::spawn(async move { TcpStream::connect(addr).await });
///     let mut incoming = std::pin::pin!(listener.incoming());
///     let stream = std::future::poll_fn(|cx| incoming.as_mut().poll_next(cx)).await;
///     assert!(stream.expect("never ends").is_ok());
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Incoming<'a, P: StreamProtocol> {
    listener: &'a StreamListener<P>,
    waiter: Readiness<'a>,
}

impl<'a, P: StreamProtocol> Incoming<'a, P> {
    pub(crate) fn new(listener: &'a StreamListener<P>) -> Incoming<'a, P> {
        Incoming {
            listener,
            waiter: listener.fd().waiter(Interest::Readable),
        }
    }
}

impl<P: StreamProtocol> futures_core::Stream for Incoming<'_, P> {
    type Item = io::Result<StreamSocket<P>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let accepted =
            std::task::ready!(this
                .listener
                .fd()
                .poll_io_with(&mut this.waiter, cx, |listener| sys::accept(
                    listener.as_fd()
                ),));
        let stream =
            accepted.and_then(|(socket, addr)| StreamListener::<P>::accepted(socket, addr));
        Poll::Ready(Some(stream.map(|(stream, _peer)| stream)))
    }
}

impl<P: StreamProtocol> fmt::Debug for Incoming<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}
