//! What the senders and the receivers of both channels share, written once: each macro
//! implements it on one handle type, which holds its channel in a field `chan: Rc<Chan<T>>`.
//! What differs (sending, capacity, what `close` does to waiting senders) stays with each
//! channel.

/// The senders' shared part: `closed`, `is_closed`, `same_channel`, and `Clone` (one more
/// sender), `Drop` (one fewer) and `Debug`.
macro_rules! impl_sender {
    ($sender:ident) => {
        impl<T> $sender<T> {
            /// Waits until the receiver is closed or dropped.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe.
            pub fn closed(&self) -> Closed<'_, T> {
                Closed::new(&self.chan)
            }

            /// Whether the receiver is closed or dropped.
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }

            /// Whether both senders feed the same channel.
            pub fn same_channel(&self, other: &$sender<T>) -> bool {
                Rc::ptr_eq(&self.chan, &other.chan)
            }
        }

        impl<T> Clone for $sender<T> {
            fn clone(&self) -> $sender<T> {
                self.chan.add_sender();
                $sender {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $sender<T> {
            fn drop(&mut self) {
                self.chan.drop_sender();
            }
        }

        impl<T> fmt::Debug for $sender<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($sender))
                    .field("chan", &self.chan)
                    .finish()
            }
        }
    };
}

/// The receivers' shared part: receiving (`recv`, `recv_many`, `try_recv`, `poll_recv`, and
/// `Stream`), `is_closed`, `is_empty`, `len`, and `Drop` (the receiver is gone) and `Debug`.
macro_rules! impl_receiver {
    ($receiver:ident) => {
        impl<T> $receiver<T> {
            /// Waits for the next message; `None` once the queue is empty and nothing more can
            /// come: every sender is gone, or the receiver was closed (and, on a bounded
            /// channel, every reserved slot was used or given back).
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: a message is taken off the queue only by the poll that returns it.
            pub fn recv(&mut self) -> Recv<'_, T> {
                Recv::new(&self.chan)
            }

            /// Waits for at least one message, then moves up to `limit` queued messages into
            /// `buffer`; returns how many, 0 only if `limit` is 0 or the channel is finished.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe.
            pub fn recv_many<'a>(
                &'a mut self,
                buffer: &'a mut Vec<T>,
                limit: usize,
            ) -> RecvMany<'a, T> {
                RecvMany::new(&self.chan, buffer, limit)
            }

            /// Takes the next message if there is one.
            pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                self.chan.try_recv()
            }

            /// [`recv`](Self::recv) as a poll function: registers the waker when it returns
            /// `Pending`.
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.chan.poll_recv(cx)
            }

            /// Whether the receiver was closed or every sender is gone.
            pub fn is_closed(&self) -> bool {
                self.chan.is_disconnected()
            }

            /// Whether no message is queued.
            pub fn is_empty(&self) -> bool {
                self.chan.len() == 0
            }

            /// Number of queued messages.
            pub fn len(&self) -> usize {
                self.chan.len()
            }
        }

        impl<T> Drop for $receiver<T> {
            fn drop(&mut self) {
                self.chan.receiver_gone();
            }
        }

        impl<T> futures_core::Stream for $receiver<T> {
            type Item = T;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.get_mut().chan.poll_recv(cx)
            }
        }

        impl<T> fmt::Debug for $receiver<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($receiver))
                    .field("chan", &self.chan)
                    .finish()
            }
        }
    };
}
