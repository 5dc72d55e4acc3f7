//! [`FreeBlocks`]: lists of freed memory blocks by size class, handed out again without a round
//! trip through the global allocator. This module owns the `unsafe` of recycling raw memory;
//! [`local_rc`](crate::local_rc) and the executor's task blocks are built on it.
//!
//! Why: glibc's `malloc` and `free` of a small block cost about as much as the rest of a spawn
//! and join of a trivial task, or of a oneshot's create-send-receive (callgrind; see
//! BENCHMARKS.md). Taking a block off a list and putting it back costs a few instructions.
//!
//! A size class is a multiple of 16 bytes, aligned to 16: a `FreeBlocks<CLASSES>` has classes
//! of 16, 32, …, `16 × CLASSES` bytes. A layout that fits no class (larger, or aligned more
//! strictly) is allocated and freed as it is, through the global allocator.
//!
//! Invariants:
//! - Every block handed out for a layout was allocated by the global allocator with
//!   `block_layout` of that layout (its class's layout, if it has a class), and is freed with
//!   that same layout by whichever list or thread takes it back. So a block may move between
//!   lists of the same `CLASSES`, and between threads: it is plain memory.
//! - A listed block is unused; its first word links to the next block of its class. `lens`
//!   counts each list and `listed` their sum.
//! - The lists own their blocks: dropping a `FreeBlocks` frees them all.
//! - Nothing here calls out (to the global allocator) while a list is half-updated, so the lists
//!   are plain `Cell`s, usable from inside any callback.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ptr::NonNull;

/// The alignment of every class, and the step between their sizes.
const CLASS_ALIGN: usize = 16;

/// Freed blocks of `CLASSES` size classes, kept to be handed out again.
pub struct FreeBlocks<const CLASSES: usize> {
    heads: [Cell<*mut FreeBlock>; CLASSES],
    lens: [Cell<usize>; CLASSES],
    listed: Cell<usize>,
}

/// A listed block: its first word links to the next.
struct FreeBlock {
    next: *mut FreeBlock,
}

impl<const CLASSES: usize> FreeBlocks<CLASSES> {
    /// The largest block size that has a class.
    pub const MAX_SIZE: usize = CLASS_ALIGN * CLASSES;

    /// Empty lists.
    pub const fn new() -> FreeBlocks<CLASSES> {
        FreeBlocks {
            heads: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
            lens: [const { Cell::new(0) }; CLASSES],
            listed: Cell::new(0),
        }
    }

    /// The size class of `layout`, if it has one.
    #[inline]
    fn class_of(layout: Layout) -> Option<usize> {
        (layout.align() <= CLASS_ALIGN && layout.size() <= Self::MAX_SIZE)
            .then(|| layout.size().saturating_sub(1) / CLASS_ALIGN)
    }

    /// The layout a block for `layout` is allocated and freed with.
    #[inline]
    fn block_layout(layout: Layout) -> Layout {
        match Self::class_of(layout) {
            Some(class) => class_layout(class),
            // The global allocator takes no empty blocks; one byte more cannot make the layout
            // invalid, as its alignment is at least one.
            None => Layout::from_size_align(layout.size().max(1), layout.align())
                .expect("a layout one byte larger than an empty one"),
        }
    }

    /// A block for `layout` (uninitialised): a listed one of its class if there is one, else a
    /// new one.
    #[inline]
    pub fn allocate(&self, layout: Layout) -> NonNull<u8> {
        if let Some(class) = Self::class_of(layout) {
            if let Some(block) = self.pop(class) {
                return block;
            }
        }
        Self::allocate_new(layout)
    }

    /// Takes the first block off `class`'s list, if it has one.
    #[inline]
    fn pop(&self, class: usize) -> Option<NonNull<u8>> {
        let block = NonNull::new(self.heads[class].get())?;
        // SAFETY: a listed block is unused and its first word is its link (invariant).
        self.heads[class].set(unsafe { (*block.as_ptr()).next });
        self.lens[class].set(self.lens[class].get() - 1);
        self.listed.set(self.listed.get() - 1);
        Some(block.cast())
    }

    /// A new block for `layout` from the global allocator, as [`allocate`](Self::allocate)
    /// makes when its list is empty: for where no list is at hand.
    #[cold]
    pub fn allocate_new(layout: Layout) -> NonNull<u8> {
        let layout = Self::block_layout(layout);
        // SAFETY: a block layout's size is not zero.
        NonNull::new(unsafe { alloc::alloc(layout) })
            .unwrap_or_else(|| alloc::handle_alloc_error(layout))
    }

    /// Lists `block` if its class's list holds fewer than `limit` blocks; else frees it.
    ///
    /// # Safety
    /// `block` was handed out for `layout` (or one of the same size and alignment) by
    /// [`allocate`](Self::allocate) or [`allocate_new`](Self::allocate_new) of a
    /// `FreeBlocks<CLASSES>`, holds no live value, and is not used afterwards.
    #[inline]
    pub unsafe fn free(&self, block: NonNull<u8>, layout: Layout, limit: usize) {
        if let Some(class) = Self::class_of(layout) {
            let len = self.lens[class].get();
            if len < limit {
                let free = block.cast::<FreeBlock>().as_ptr();
                // SAFETY: the block has its class's layout (at least 16 bytes, 16-aligned) and
                // is unused (the caller's contract): its first word becomes the link.
                unsafe {
                    free.write(FreeBlock {
                        next: self.heads[class].get(),
                    })
                };
                self.heads[class].set(free);
                self.lens[class].set(len + 1);
                self.listed.set(self.listed.get() + 1);
                return;
            }
        }
        // SAFETY: the caller's contract.
        unsafe { Self::free_to_global(block, layout) };
    }

    /// Gives `block` back to the global allocator: for where no list is at hand.
    ///
    /// # Safety
    /// As for [`free`](Self::free).
    #[cold]
    pub unsafe fn free_to_global(block: NonNull<u8>, layout: Layout) {
        // SAFETY: the block was allocated with this layout (invariant), and the caller gives
        // it up.
        unsafe { alloc::dealloc(block.as_ptr(), Self::block_layout(layout)) };
    }

    /// Frees listed blocks until at most `keep` are left, the smallest classes kept first;
    /// returns how many it freed.
    pub fn trim(&self, keep: usize) -> usize {
        if self.listed.get() <= keep {
            return 0;
        }
        let mut freed = 0;
        let mut left = keep;
        for class in 0..CLASSES {
            let kept = self.lens[class].get().min(left);
            left -= kept;
            while self.lens[class].get() > kept {
                // Off the list before it is freed: the lists are consistent at every call out.
                let Some(block) = self.pop(class) else { break };
                // SAFETY: a listed block is unused and was allocated with its class's layout.
                unsafe { alloc::dealloc(block.as_ptr(), class_layout(class)) };
                freed += 1;
            }
        }
        freed
    }

    /// Exchanges the lists of `self` and `other`.
    pub fn swap(&self, other: &FreeBlocks<CLASSES>) {
        for class in 0..CLASSES {
            self.heads[class].swap(&other.heads[class]);
            self.lens[class].swap(&other.lens[class]);
        }
        self.listed.swap(&other.listed);
    }

    /// How many blocks are listed, in all classes.
    #[inline]
    pub fn len(&self) -> usize {
        self.listed.get()
    }

    /// Whether no block is listed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The layout of every block of `class`.
fn class_layout(class: usize) -> Layout {
    // Cannot fail: a small multiple of the alignment, a power of two.
    Layout::from_size_align((class + 1) * CLASS_ALIGN, CLASS_ALIGN).expect("a class layout")
}

impl<const CLASSES: usize> Default for FreeBlocks<CLASSES> {
    fn default() -> FreeBlocks<CLASSES> {
        FreeBlocks::new()
    }
}

impl<const CLASSES: usize> Drop for FreeBlocks<CLASSES> {
    fn drop(&mut self) {
        self.trim(0);
    }
}

impl<const CLASSES: usize> std::fmt::Debug for FreeBlocks<CLASSES> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreeBlocks")
            .field("listed", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Blocks = FreeBlocks<4>; // Classes of 16, 32, 48 and 64 bytes.

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Fills a block's bytes, so that Miri checks the whole block is usable.
    fn fill(block: NonNull<u8>, size: usize) {
        // SAFETY: a block for a layout of `size` bytes has at least `size` writable bytes.
        unsafe { block.as_ptr().write_bytes(0xa5, size) };
    }

    #[test]
    fn a_freed_block_is_handed_out_again_for_any_layout_of_its_class() {
        let blocks = Blocks::new();
        let first = blocks.allocate(layout(40, 8));
        fill(first, 40);
        // SAFETY: handed out for this layout just above, and not used after.
        unsafe { blocks.free(first, layout(40, 8), usize::MAX) };
        assert_eq!(blocks.len(), 1);
        let second = blocks.allocate(layout(48, 16));
        assert_eq!(second, first, "33 to 48 bytes share a class");
        fill(second, 48);
        assert!(blocks.is_empty());
        // SAFETY: as above.
        unsafe { blocks.free(second, layout(48, 16), usize::MAX) };
    }

    #[test]
    fn a_list_at_its_limit_frees_the_block_instead() {
        let blocks = Blocks::new();
        let handed: Vec<_> = (0..5).map(|_| blocks.allocate(layout(10, 1))).collect();
        for block in handed {
            // SAFETY: each was handed out for this layout and is not used after.
            unsafe { blocks.free(block, layout(10, 1), 3) };
        }
        assert_eq!(blocks.len(), 3);
    }

    #[test]
    fn layouts_without_a_class_are_allocated_as_they_are() {
        let blocks = Blocks::new();
        let cases = [layout(65, 8), layout(8, 64), layout(0, 32), layout(0, 1)];
        for case in cases {
            let block = blocks.allocate(case);
            assert_eq!(block.as_ptr() as usize % case.align(), 0);
            fill(block, case.size());
            // SAFETY: handed out for `case` just above, and not used after.
            unsafe { blocks.free(block, case, usize::MAX) };
        }
        assert_eq!(
            blocks.len(),
            1,
            "only the empty byte-aligned layout has a class"
        );
    }

    #[test]
    fn trim_keeps_the_smallest_classes_and_frees_the_rest() {
        let blocks = Blocks::new();
        let sizes = [64, 16, 32, 16, 64];
        let handed = sizes.map(|size| (blocks.allocate(layout(size, 8)), size));
        for (block, size) in handed {
            // SAFETY: each was handed out for this layout and is not used after.
            unsafe { blocks.free(block, layout(size, 8), usize::MAX) };
        }
        assert_eq!(blocks.trim(5), 0, "nothing beyond what it keeps");
        assert_eq!(blocks.trim(3), 2);
        assert_eq!(blocks.len(), 3);
        let kept: Vec<_> = (0..3).map(|_| blocks.allocate(layout(32, 8))).collect();
        assert_eq!(blocks.len(), 2, "the 16-byte blocks are left");
        assert_eq!(kept.len(), 3);
        for block in kept {
            // SAFETY: as above.
            unsafe { blocks.free(block, layout(32, 8), usize::MAX) };
        }
    }

    #[test]
    fn swapped_lists_change_owners_and_each_frees_its_own() {
        // Miri reports a leak or a double free if a block is freed by neither or by both.
        let one = Blocks::new();
        let other = Blocks::new();
        let block = one.allocate(layout(24, 8));
        // SAFETY: handed out for this layout just above, and not used after.
        unsafe { one.free(block, layout(24, 8), usize::MAX) };
        one.swap(&other);
        assert!(one.is_empty());
        assert_eq!(other.len(), 1);
        assert_eq!(other.allocate(layout(32, 8)), block);
        // A block may go back to another list or to the global allocator, on another thread.
        struct Handed(NonNull<u8>);
        // SAFETY: plain memory, used by one thread at a time (this one, then the spawned one).
        unsafe impl Send for Handed {}
        let handed = Handed(block);
        std::thread::spawn(move || {
            let handed = handed; // The whole of it moves, not only its field.
            let Handed(block) = handed;
            // SAFETY: handed out above for a layout of the same class, and not used after.
            unsafe { Blocks::free_to_global(block, layout(32, 8)) };
        })
        .join()
        .unwrap();
        let listed = other.allocate(layout(8, 8));
        // SAFETY: as above.
        unsafe { one.free(listed, layout(8, 8), usize::MAX) };
        drop(one); // Frees the block it lists.
    }
}
