//! [`LocalRc`]: a single-threaded reference-counted box, like `Rc` without weak references, whose
//! memory comes from a small per-thread cache of freed blocks: a [`FreeBlocks`], which owns the
//! unsafe of recycling memory (this module owns that of the count).
//!
//! Why: a `oneshot` channel is made and dropped for every request a task answers. With an `Rc`,
//! glibc's `malloc` and `free` of its block took about 140 of the 300 instructions of a whole
//! create-send-receive; with this cache the whole costs about 113 (callgrind, `benches/sync.rs`;
//! BENCHMARKS.md has the figure at each commit).
//! The cache only ever holds memory the global allocator gave out, so it works with any global
//! allocator; it only saves the round trip through it.
//!
//! Invariants:
//! - The cache has 16 size classes, of up to 256 bytes, and keeps at most `CACHED_PER_CLASS`
//!   (16) blocks a class: at most 64 KiB a thread. The cached blocks are freed when the thread
//!   exits. A block freed after that (by another thread-local's destructor) goes straight back
//!   to the global allocator.
//! - A value too large or too strictly aligned for the classes is boxed as usual, through the
//!   global allocator.
//! - `LocalRc` is `!Send`: its count is a `Cell`, and a block is freed into the cache of the
//!   thread that owns the last reference (which, for a `!Send` value, is where it was made).

use std::alloc::Layout;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::free_blocks::FreeBlocks;

/// Enough for a task's burst of channels in flight; more are freed as usual.
const CACHED_PER_CLASS: usize = 16;

/// A reference-counted value for one thread. Cloning counts a reference; dropping the last
/// drops the value and recycles its block.
pub struct LocalRc<T> {
    block: NonNull<RcBlock<T>>,
    /// Owns an `RcBlock<T>`, and is `!Send` and `!Sync` (the count is a `Cell`).
    _owns: PhantomData<RcBlock<T>>,
}

struct RcBlock<T> {
    refs: Cell<usize>,
    value: T,
}

impl<T> LocalRc<T> {
    /// Moves `value` into a block of its own, with one reference.
    #[inline]
    pub fn new(value: T) -> LocalRc<T> {
        let block = allocate(Layout::new::<RcBlock<T>>()).cast::<RcBlock<T>>();
        // SAFETY: `allocate` returned a block of `RcBlock<T>`'s size and alignment (or larger),
        // not yet initialised, so it is written without reading or dropping what it held.
        unsafe {
            block.as_ptr().write(RcBlock {
                refs: Cell::new(1),
                value,
            })
        };
        LocalRc {
            block,
            _owns: PhantomData,
        }
    }

    fn block(&self) -> &RcBlock<T> {
        // SAFETY: this reference keeps the block alive and initialised.
        unsafe { self.block.as_ref() }
    }
}

// As `Rc`: the value stays where it is when the handle moves.
impl<T> Unpin for LocalRc<T> {}

impl<T> Clone for LocalRc<T> {
    #[inline]
    fn clone(&self) -> LocalRc<T> {
        let refs = &self.block().refs;
        // As `Rc`: counting past `usize::MAX` takes leaked clones by the billion; stop.
        let Some(more) = refs.get().checked_add(1) else {
            std::process::abort();
        };
        refs.set(more);
        LocalRc {
            block: self.block,
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for LocalRc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.block().value
    }
}

impl<T> Drop for LocalRc<T> {
    #[inline]
    fn drop(&mut self) {
        let refs = &self.block().refs;
        let left = refs.get() - 1;
        refs.set(left);
        if left == 0 {
            // SAFETY: that was the last reference, so nothing else reaches the block: the value
            // is dropped once, then the block, allocated by `new` with this layout, is freed.
            unsafe {
                std::ptr::drop_in_place(&raw mut (*self.block.as_ptr()).value);
                deallocate(self.block.cast(), Layout::new::<RcBlock<T>>());
            }
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for LocalRc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// The blocks of `LocalRc`s: of up to 256 bytes, in 16 classes.
type Blocks = FreeBlocks<16>;

thread_local! {
    static CACHE: Blocks = const { Blocks::new() };
}

/// A block for `layout`: a cached one of its class if there is one, else a new one.
#[inline]
fn allocate(layout: Layout) -> NonNull<u8> {
    CACHE
        .try_with(|cache| cache.allocate(layout))
        .unwrap_or_else(|_| Blocks::allocate_new(layout)) // The thread is exiting.
}

/// Frees a block that [`allocate`] returned for `layout`: into the cache if its class has room.
///
/// # Safety
/// `block` came from `allocate(layout)`, holds no live value, and is not used afterwards.
#[inline]
unsafe fn deallocate(block: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's contract, which is `FreeBlocks::free`'s.
    let cached = CACHE.try_with(|cache| unsafe { cache.free(block, layout, CACHED_PER_CLASS) });
    if cached.is_err() {
        // The thread is exiting and its cache is gone.
        // SAFETY: as above.
        unsafe { Blocks::free_to_global(block, layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Counts its drops.
    struct Counted(Rc<Cell<usize>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// Blocks in this thread's cache (each test runs on a thread of its own).
    fn cached() -> usize {
        CACHE.with(Blocks::len)
    }

    #[test]
    fn the_value_is_dropped_once_with_the_last_reference() {
        let drops = Rc::new(Cell::new(0));
        let first = LocalRc::new(Counted(drops.clone()));
        let second = first.clone();
        drop(first);
        assert_eq!(drops.get(), 0);
        drop(second);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn a_freed_block_is_taken_again_by_the_next_value_of_its_class() {
        // 48 and 40 bytes with the count: both in the class of 33 to 48 bytes.
        let first = LocalRc::new([0u64; 5]);
        let address = first.block.as_ptr() as usize;
        drop(first);
        let second = LocalRc::new((String::from("recycled"), 7u64));
        assert_eq!(second.block.as_ptr() as usize, address);
        assert_eq!(
            *second,
            (String::from("recycled"), 7),
            "the block holds the new value"
        );
    }

    #[test]
    fn the_cache_of_a_class_holds_at_most_its_bound() {
        let many: Vec<_> = (0..100u8).map(|i| LocalRc::new([i; 100])).collect();
        drop(many);
        assert_eq!(cached(), CACHED_PER_CLASS);
    }

    #[test]
    fn values_too_big_or_too_aligned_for_the_classes_are_boxed_as_usual() {
        #[repr(align(64))]
        struct Aligned(u8);
        let big = LocalRc::new([7u8; Blocks::MAX_SIZE + 1]);
        let aligned = LocalRc::new(Aligned(3));
        assert_eq!(big[Blocks::MAX_SIZE], 7);
        assert_eq!(aligned.block.as_ptr() as usize % 64, 0);
        assert_eq!(aligned.0, 3);
    }

    #[test]
    fn the_blocks_a_thread_cached_are_freed_when_it_exits() {
        // Miri reports a leak if the exiting thread's cache keeps its blocks.
        std::thread::spawn(|| {
            let blocks: Vec<_> = (0..4).map(LocalRc::new).collect();
            drop(blocks);
            assert_eq!(cached(), 4);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_block_freed_after_its_threads_cache_is_gone_goes_back_to_the_allocator() {
        struct FreedLate(Cell<Option<LocalRc<u64>>>);
        impl Drop for FreedLate {
            fn drop(&mut self) {
                drop(self.0.take()); // Maybe after `CACHE` was destroyed.
            }
        }
        thread_local! {
            static LATE: FreedLate = const { FreedLate(Cell::new(None)) };
        }
        // `LATE` is met first, so (destructors running in reverse order of first use, as on
        // glibc) it is destroyed after `CACHE`. Whatever the order, the block must be freed
        // exactly once: Miri reports a leak or a double free.
        std::thread::spawn(|| LATE.with(|late| late.0.set(Some(LocalRc::new(9)))))
            .join()
            .unwrap();
    }
}
