//! A place for the waker of a primitive's single waiter (a channel's one receiver, a oneshot's
//! sender), in a `Cell`: no borrow flag, nothing to hold across a wake.

use std::cell::Cell;
use std::task::Waker;

/// At most one stored waker. Waking takes it out, so wakes coalesce: until the waiter registers
/// again, further wakes find the slot empty and do nothing.
pub(crate) struct WakerSlot(Cell<Option<Waker>>);

impl std::fmt::Debug for WakerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakerSlot").finish_non_exhaustive()
    }
}

impl WakerSlot {
    pub(crate) const fn new() -> WakerSlot {
        WakerSlot(Cell::new(None))
    }

    /// Stores `waker`, keeping the stored one if it would wake the same task (no clone).
    #[inline]
    pub(crate) fn register(&self, waker: &Waker) {
        let stored = self.0.take();
        match stored {
            Some(stored) if stored.will_wake(waker) => self.0.set(Some(stored)),
            stored => {
                self.0.set(Some(waker.clone()));
                drop(stored);
            }
        }
    }

    /// Wakes and forgets the stored waker, if any.
    #[inline]
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }

    /// Forgets the stored waker without waking it: its waiter stopped waiting.
    pub(crate) fn clear(&self) {
        drop(self.0.take());
    }
}
