//! The trait impls every channel's "channel closed" error has (`Display` and `Error`, and for a
//! `SendError<T>` that hands back the value, a `Debug` that leaves the value out), written once.
//! The error types themselves stay separate, one per channel, as in tokio: each says in its own
//! words when it happens.

/// Implements `Display` ("channel closed") and `std::error::Error` for `$error`; for
/// `$error<T>`, also `Debug` without the value, so that `T` need not be `Debug`.
macro_rules! impl_closed_error {
    ($error:ident<T>) => {
        impl<T> fmt::Debug for $error<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($error)).finish_non_exhaustive()
            }
        }

        impl<T> fmt::Display for $error<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("channel closed")
            }
        }

        impl<T> std::error::Error for $error<T> {}
    };
    ($error:ident) => {
        impl fmt::Display for $error {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("channel closed")
            }
        }

        impl std::error::Error for $error {}
    };
}
