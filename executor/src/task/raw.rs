//! A task in one allocation: its header, then its future (later its output), and the waker that
//! points at the header. This module owns every `unsafe` line of the executor but those of
//! `run_queue`, which links queued tasks through their headers (`queue_link`).
//!
//! # Layout and ownership
//!
//! `RawTask<F>` is `#[repr(C)]`: a [`Header`] first, so a pointer to the task is a pointer to its
//! header, then the [`Stage`] — the future while it runs, then its result until the
//! `JoinHandle` takes it. The header counts references ([`TaskRef`]s and wakers); the last one
//! frees the block. References are held by: the scheduler's set of live tasks (until the task
//! finishes), each entry of the remote queue, the `JoinHandle` and `AbortHandle`s, and every
//! waker. An entry of the local run queue holds none while its task runs: the live set's
//! reference keeps the task alive, so a local wake and a poll touch no atomic. A task that
//! finishes while it is queued hands the live set's reference to its entry
//! ([`TaskRef::retire`]), dropped when the entry is taken off the queue.
//!
//! The block is taken from the runtime's recycled task blocks (`scheduler::TaskBlocks`, in
//! `context` while it runs) if the runtime is running on this thread, else from the global
//! allocator; the last reference gives it back the same way, on whatever thread it is dropped.
//! So a runtime recycles only its own tasks' blocks, at most as many as it had tasks at once.
//!
//! # Why the task's `!Send` future is sound with `Send` wakers
//!
//! A waker may be cloned, woken and dropped on any thread, so the reference count and the
//! "queued remotely" flag are atomics, and a wake from another thread only pushes a reference
//! onto the runtime's locked remote queue. Everything else — the stage, the state bits, the join
//! waker, the local queue flag — is only ever touched on the runtime's thread: by the scheduler,
//! by the `JoinHandle`/`AbortHandle` (both `!Send`, created there), and by wakes that
//! [`context`](crate::context) proves are on the runtime's thread while it runs.
//!
//! The last reference may still be dropped on another thread (a waker outliving everything
//! else). That frees memory only: by then the future was dropped on the runtime's thread (when it
//! completed, was aborted, or the runtime shut down — the scheduler's reference lasts until
//! then), and the output was dropped on the runtime's thread too (at completion if no
//! `JoinHandle` remains, else by the `JoinHandle` when it takes or drops it). What is left — a
//! `JoinError` at most, and the header's `Arc` and waker — is `Send`.
//!
//! # Pinning
//!
//! The future is polled in place and never moved: it is dropped with `drop_in_place`, and the
//! block is freed only after that.

use std::alloc::Layout;
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::{Id, JoinError};
use crate::context;
use crate::remote::QueuedFlag;
use crate::scheduler::{Shared, TaskBlocks};

/// The state of a task, touched only on the runtime's thread.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct State {
    /// The future is gone: the stage holds the result, or it was consumed.
    pub(crate) finished: bool,
    /// The future is being polled right now.
    pub(crate) polling: bool,
    /// A `JoinHandle` exists: the result is kept for it.
    pub(crate) join_interest: bool,
    /// `abort` was called: the next run drops the future instead of polling it.
    pub(crate) abort_requested: bool,
}

/// The part of a task that does not depend on its future's type.
#[repr(C)]
pub(crate) struct Header {
    /// References to the block; see the module documentation.
    refs: AtomicUsize,
    /// In the runtime's remote queue (see `remote` for the protocol).
    queued_remotely: QueuedFlag,
    /// In the local run queue. Runtime's thread only.
    queued_locally: Cell<bool>,
    /// The entry after this task in the run queue, while it is linked there (see `run_queue`).
    /// Runtime's thread only.
    next_queued: Cell<Option<NonNull<Header>>>,
    /// Runtime's thread only.
    state: Cell<State>,
    /// The task's key in the scheduler's set of live tasks. Runtime's thread only.
    live_key: Cell<usize>,
    /// The task awaiting the `JoinHandle`, if any. Runtime's thread only.
    join_waker: UnsafeCell<Option<Waker>>,
    id: Id,
    /// The runtime the task belongs to, for wakes from other threads.
    shared: Arc<Shared>,
    vtable: &'static TaskVTable,
}

/// The operations that depend on the future's type, for a header whose type is erased.
struct TaskVTable {
    /// Polls the future (or cancels it if an abort was requested).
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> PollOutcome,
    /// Drops the future if it still runs; the joiner sees a cancellation.
    cancel: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    /// Moves the result into `*dst`, a `Poll<Result<F::Output, JoinError>>`.
    take_result: unsafe fn(NonNull<Header>, dst: *mut ()),
    /// Drops a result nobody will take; returns the panic of the output's destructor, if any.
    drop_result: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    /// Frees the block (the stage holds no future and no output by then).
    dealloc: unsafe fn(NonNull<Header>),
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    /// The result was taken or dropped.
    Consumed,
}

#[repr(C)]
struct RawTask<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// Allocates a task for `future`, with the references for the live set and the `JoinHandle`
/// (two), the task marked queued locally for its first push.
pub(crate) fn allocate<F>(future: F, id: Id, shared: Arc<Shared>) -> NewTask<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let layout = Layout::new::<RawTask<F>>();
    let block = if context::is_running_here(&shared) {
        context::with_task_blocks(|blocks| blocks.allocate(layout))
    } else {
        TaskBlocks::allocate_new(layout)
    }
    .cast::<RawTask<F>>();
    let task = RawTask {
        header: Header {
            refs: AtomicUsize::new(2),
            queued_remotely: QueuedFlag::new(false),
            queued_locally: Cell::new(true),
            next_queued: Cell::new(None),
            state: Cell::new(State {
                join_interest: true,
                ..State::default()
            }),
            live_key: Cell::new(usize::MAX),
            join_waker: UnsafeCell::new(None),
            id,
            shared,
            vtable: &TaskVTable {
                poll: poll::<F>,
                cancel: cancel::<F>,
                take_result: take_result::<F>,
                drop_result: drop_result::<F>,
                dealloc: dealloc::<F>,
            },
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    };
    // SAFETY: the block was handed out for `RawTask<F>`'s layout and is unused: it is written
    // without reading or dropping what it held.
    unsafe { block.as_ptr().write(task) };
    // `RawTask` is `repr(C)` with the header first, so the task pointer is a header pointer.
    let header = block.cast::<Header>();
    NewTask {
        live: TaskRef(header),
        queued: Marked(header),
        // The task is `F`'s, whose output is `F::Output`: the one place a `JoinRef` is typed.
        join: JoinRef {
            task: TaskRef(header),
            _result: PhantomData,
        },
    }
}

/// The two references of a newly spawned task whose output is `T`, and its first push.
pub(crate) struct NewTask<T> {
    pub(crate) live: TaskRef,
    pub(crate) queued: Marked,
    pub(crate) join: JoinRef<T>,
}

/// The task behind `header`, with its type restored.
///
/// # Safety
/// `header` must point at the header of a live `RawTask<F>`.
unsafe fn raw<'a, F: Future>(header: NonNull<Header>) -> &'a RawTask<F> {
    // SAFETY: the caller guarantees the type; the header is the first field of a repr(C) task.
    unsafe { header.cast::<RawTask<F>>().as_ref() }
}

/// What one poll of a task came to. Two words, so that it is returned in registers (a third,
/// for an unboxed payload, made every poll write it to memory and read it back: 3 instructions a
/// poll, `local_wake_ping_pong` in BENCHMARKS.md).
pub(crate) enum PollOutcome {
    Pending,
    Finished,
    /// The task finished, and its joiner's waker panicked: that is user code too, and its panic
    /// must reach the `block_on` caller once the task is reaped.
    JoinerPanicked(Box<Box<dyn Any + Send>>),
}

impl PollOutcome {
    fn finished(joiner_panic: Option<Box<dyn Any + Send>>) -> PollOutcome {
        match joiner_panic {
            None => PollOutcome::Finished,
            Some(payload) => PollOutcome::JoinerPanicked(Box::new(payload)),
        }
    }
}

unsafe fn poll<F: Future>(header: NonNull<Header>, cx: &mut Context<'_>) -> PollOutcome {
    // SAFETY: the vtable of a `RawTask<F>` is only built for that `F`.
    let task = unsafe { raw::<F>(header) };
    let head = &task.header;
    let state = head.state.get();
    debug_assert!(
        !state.finished,
        "the scheduler polls only tasks that are not finished"
    );
    if state.abort_requested {
        // SAFETY: runtime's thread (the scheduler polls), and no borrow of the stage is live.
        return PollOutcome::finished(unsafe { finish(task, Err(JoinError::cancelled(head.id))) });
    }
    head.update_state(|state| state.polling = true);
    // SAFETY: only the runtime's thread touches the stage, and nothing else borrows it during a
    // poll: a `JoinHandle` polled from inside this poll sees `polling` and does not.
    let stage = unsafe { &mut *task.stage.get() };
    let Stage::Running(future) = stage else {
        unreachable!("a task that is not finished is running");
    };
    // SAFETY: the future is never moved: it is dropped in place (see `finish`).
    let future = unsafe { Pin::new_unchecked(future) };
    let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
    head.update_state(|state| state.polling = false);
    let result = match polled {
        Ok(Poll::Pending) if head.state.get().abort_requested => {
            Err(JoinError::cancelled(head.id)) // It aborted itself during the poll.
        }
        Ok(Poll::Pending) => return PollOutcome::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => Err(JoinError::panic(head.id, payload)),
    };
    // SAFETY: runtime's thread; the borrow of the stage for the poll has ended.
    PollOutcome::finished(unsafe { finish(task, result) })
}

unsafe fn cancel<F: Future>(header: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the vtable of a `RawTask<F>` is only built for that `F`.
    let task = unsafe { raw::<F>(header) };
    if task.header.state.get().finished {
        return None;
    }
    // SAFETY: runtime's thread (the scheduler cancels), and the task is not being polled
    // (cancelling happens at shutdown, never from inside a poll).
    unsafe { finish(task, Err(JoinError::cancelled(task.header.id))) }
}

/// Drops the future in place and stores `result`, then either wakes the joiner or, if there is
/// none, drops the result at once. A panic in either destructor is caught: one in the future's
/// becomes the result (unless the future had already panicked), one in a detached output's is
/// logged — neither may unwind into the scheduler. A panic of the joiner's waker is returned,
/// for the caller to resume once its own state is consistent.
///
/// # Safety
/// On the runtime's thread, with the task running and its stage not borrowed.
unsafe fn finish<F: Future>(
    task: &RawTask<F>,
    mut result: Result<F::Output, JoinError>,
) -> Option<Box<dyn Any + Send>> {
    let head = &task.header;
    let stage = task.stage.get();
    // SAFETY: the stage is `Running` (the caller guarantees it) and not borrowed; dropping it in
    // place keeps the future's pinning promise. It is overwritten below, whatever the outcome.
    let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
        std::ptr::drop_in_place(stage)
    }));
    if let Err(payload) = dropped {
        // A panic in `poll` is what the joiner hears of; otherwise the destructor's panic is.
        if !matches!(&result, Err(err) if err.is_panic()) {
            let replaced = std::mem::replace(&mut result, Err(JoinError::panic(head.id, payload)));
            // The output of a future whose destructor panicked is dropped too; a panic in the
            // output's own destructor is contained the same way.
            let _ = catch_unwind(AssertUnwindSafe(|| drop(replaced)));
        }
    }
    // SAFETY: the old stage was dropped above, so writing does not leak or double-drop it.
    unsafe { std::ptr::write(stage, Stage::Finished(result)) };
    head.update_state(|state| state.finished = true);
    if head.state.get().join_interest {
        // SAFETY: runtime's thread; the join waker is never borrowed across a call.
        let joiner = unsafe { (*head.join_waker.get()).take() };
        if let Some(joiner) = joiner {
            return catch_unwind(AssertUnwindSafe(|| joiner.wake())).err();
        }
    } else if let Some(payload) = {
        // SAFETY: runtime's thread, and the stage was just written, so it is not borrowed.
        unsafe { drop_stage_result(task) }
    } {
        tracing::error!(
            task.id = %head.id,
            panic = panic_message(&*payload),
            "the output of a detached task panicked while being dropped"
        );
    }
    None
}

unsafe fn take_result<F: Future>(header: NonNull<Header>, dst: *mut ()) {
    // SAFETY: the vtable of a `RawTask<F>` is only built for that `F`.
    let task = unsafe { raw::<F>(header) };
    // SAFETY: runtime's thread (the `JoinHandle` calls it), not during a poll of this task.
    let stage = unsafe { &mut *task.stage.get() };
    match std::mem::replace(stage, Stage::Consumed) {
        Stage::Finished(result) => {
            let dst = dst.cast::<Poll<Result<F::Output, JoinError>>>();
            // SAFETY: the `JoinHandle<F::Output>` passes a pointer to its own result slot.
            unsafe { *dst = Poll::Ready(result) };
        }
        Stage::Running(_) | Stage::Consumed => {
            unreachable!("the JoinHandle takes the result of a finished task once")
        }
    }
}

unsafe fn drop_result<F: Future>(header: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the vtable of a `RawTask<F>` is only built for that `F`; the caller's contract is
    // `drop_stage_result`'s.
    unsafe { drop_stage_result(raw::<F>(header)) }
}

/// Drops the result if the stage holds one; returns the panic of its destructor, if any.
///
/// # Safety
/// On the runtime's thread, with the stage not borrowed.
unsafe fn drop_stage_result<F: Future>(task: &RawTask<F>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the caller's contract.
    let stage = unsafe { &mut *task.stage.get() };
    if !matches!(stage, Stage::Finished(_)) {
        return None;
    }
    let result = std::mem::replace(stage, Stage::Consumed);
    catch_unwind(AssertUnwindSafe(|| drop(result))).err()
}

unsafe fn dealloc<F: Future>(header: NonNull<Header>) {
    let task = header.cast::<RawTask<F>>();
    let layout = Layout::new::<RawTask<F>>();
    // SAFETY: the last reference is gone, so nothing else can reach the block, which `allocate`
    // initialised as a `RawTask<F>`. Its stage holds no future and no output (see the module
    // documentation), so this drops only `Send` values, on whatever thread. Then the block,
    // handed out for this layout, is given back once. Whether it is recycled is decided before
    // the drop, which may drop the last `Arc<Shared>` (of a runtime that is not running here).
    unsafe {
        let recycled = context::is_running_here(&(*task.as_ptr()).header.shared);
        std::ptr::drop_in_place(task.as_ptr());
        if recycled {
            context::with_task_blocks(|blocks| blocks.free(task.cast(), layout, usize::MAX));
        } else {
            TaskBlocks::free_to_global(task.cast(), layout);
        }
    }
}

/// The panic message of `payload`, if it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

impl Header {
    fn update_state(&self, update: impl FnOnce(&mut State)) {
        let mut state = self.state.get();
        update(&mut state);
        self.state.set(state);
    }
}

/// Sets the "queued locally" flag of `task` for a push to the run queue: `None` if it was set
/// already (the task is queued, or it finished: a finished task's flag stays set, see
/// [`TaskRef::retire`]).
///
/// # Safety
/// `task` is the pointer the task was allocated with (or a copy), and the caller holds a
/// reference to it; on the runtime's thread.
#[inline]
unsafe fn mark_queued_locally(task: NonNull<Header>) -> Option<Marked> {
    // SAFETY: the caller holds a reference, so the block is alive.
    let header = unsafe { task.as_ref() };
    if header.queued_locally.replace(true) {
        return None;
    }
    Some(Marked(task))
}

/// A task whose "queued locally" flag its holder set from clear, and which is not finished: the
/// one push to the run queue that the flag allows. Only this module makes one.
///
/// It holds no reference: until the task finishes, the live set's keeps it alive, and a task
/// that finishes while it is linked hands that reference to the queue ([`TaskRef::retire`]).
pub(crate) struct Marked(NonNull<Header>);

impl Marked {
    /// The task's pointer (the allocation's own), for the run queue to link.
    #[inline]
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        self.0
    }
}

/// One counted reference to a task.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a `TaskRef` crosses threads only in the remote queue, and on another thread only its
// reference count (atomic) is touched: dropping it there can at most free the block, which the
// module documentation shows is sound on any thread.
unsafe impl Send for TaskRef {}

impl TaskRef {
    fn header(&self) -> &Header {
        // SAFETY: a `TaskRef` holds a reference, so the block is alive.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// Runtime's thread only, as every method below.
    pub(crate) fn state(&self) -> State {
        self.header().state.get()
    }

    pub(crate) fn live_key(&self) -> usize {
        self.header().live_key.get()
    }

    pub(crate) fn set_live_key(&self, key: usize) {
        self.header().live_key.set(key);
    }

    /// Sets the "queued locally" flag for a push to the run queue; `None` if it was set already
    /// (the task is queued, or it finished).
    #[inline]
    pub(crate) fn mark_queued_locally(&self) -> Option<Marked> {
        // SAFETY: a `TaskRef` is a counted reference with the allocation's pointer; runtime's
        // thread, as for every method below.
        unsafe { mark_queued_locally(self.0) }
    }

    /// Gives up the live set's reference of a task that has just finished. If the task is
    /// linked in the run queue (woken during the poll that finished it), its entry takes the
    /// reference over; either way its "queued locally" flag is left set, so no later wake links
    /// it again.
    pub(crate) fn retire(self) {
        debug_assert!(self.state().finished, "only a finished task retires");
        if self.header().queued_locally.replace(true) {
            std::mem::forget(self); // The entry's now, dropped when it is taken off the queue.
        }
    }

    /// A reference of the run queue's: the one a finished task handed to its entry
    /// ([`retire`](Self::retire)), or, uncounted, the live set's, borrowed while the task runs.
    ///
    /// # Safety
    /// `task` was linked in the run queue and was just unlinked; it is counted only if the task
    /// has finished, and is then taken back once.
    #[inline]
    pub(crate) unsafe fn from_queue(task: NonNull<Header>) -> TaskRef {
        TaskRef(task)
    }

    /// Called by the scheduler just before it polls the task: a wake from now on queues it again.
    #[inline]
    pub(crate) fn unschedule(&self) {
        let header = self.header();
        header.queued_locally.set(false);
        header.queued_remotely.clear();
    }

    /// Polls the task once with a waker that refers to it.
    #[inline]
    pub(crate) fn poll(&self) -> PollOutcome {
        // A waker borrowed from this reference: no count change, never dropped.
        // SAFETY: the vtable's functions uphold the `RawWaker` contract (see `WAKER_VTABLE`),
        // and the waker does not outlive `self`, which keeps the task alive; clones count.
        let waker = ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(self.0.as_ptr().cast(), &WAKER_VTABLE))
        });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the header's vtable was built for the task's own future type.
        unsafe { (self.header().vtable.poll)(self.0, &mut cx) }
    }

    /// Drops the future if it still runs (shutdown); returns the panic of the joiner's waker,
    /// if that panicked.
    pub(crate) fn cancel(&self) -> Option<Box<dyn Any + Send>> {
        // A finished task's flag stays set, as `retire` leaves it (the queue is gone by now).
        self.header().queued_locally.set(true);
        // SAFETY: as in `poll`.
        unsafe { (self.header().vtable.cancel)(self.0) }
    }

    /// Marks the task aborted and queues it, so its next run drops the future.
    pub(crate) fn abort(&self) {
        let header = self.header();
        let state = header.state.get();
        if state.finished || state.abort_requested {
            return;
        }
        header.update_state(|state| state.abort_requested = true);
        if !state.polling {
            // SAFETY: a `TaskRef` is a counted reference with the allocation's pointer.
            unsafe { schedule(self.0, false) };
        }
    }

    /// The `JoinHandle` is gone: drops the result if there is one, then the stored waker.
    ///
    /// The result first, here on the runtime's thread: a panic of the waker's drop must not
    /// leave a `!Send` output in the block for whichever thread frees it. The first panic of
    /// the two reaches the dropper (the handle's owner) once both are dropped.
    pub(crate) fn drop_join_interest(&self) {
        let header = self.header();
        header.update_state(|state| state.join_interest = false);
        let result_panic = if header.state.get().finished {
            // SAFETY: as in `poll`; a finished task is not being polled, so its stage is free.
            unsafe { (header.vtable.drop_result)(self.0) }
        } else {
            None
        };
        // SAFETY: runtime's thread; the join waker is never borrowed across a call.
        let joiner = unsafe { (*header.join_waker.get()).take() };
        let waker_panic = catch_unwind(AssertUnwindSafe(|| drop(joiner))).err();
        if let Some(payload) = result_panic.or(waker_panic) {
            std::panic::resume_unwind(payload);
        }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        increment(self.header());
        TaskRef(self.0)
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this reference is counted and is given up here.
        unsafe { release(self.0) };
    }
}

/// The run queue's link from `task` to the entry after it.
///
/// # Safety
/// The task is alive for as long as the returned reference is used: it is linked (kept alive by
/// the live set's reference, or by its entry's once it finished), or a reference is held.
#[inline]
pub(crate) unsafe fn queue_link<'a>(task: NonNull<Header>) -> &'a Cell<Option<NonNull<Header>>> {
    // SAFETY: the caller's promise: the task is alive.
    unsafe { &task.as_ref().next_queued }
}

fn increment(header: &Header) {
    // Relaxed, as for `Arc`: a new reference is made from an existing one, which already
    // synchronises access to the block.
    let previous = header.refs.fetch_add(1, Ordering::Relaxed);
    if previous > isize::MAX as usize {
        std::process::abort(); // Leaked wakers by the billion; counting on would overflow.
    }
}

/// Gives up one reference; frees the block with the last.
///
/// # Safety
/// The caller owns one counted reference to `header`'s task and does not use it afterwards.
#[inline]
unsafe fn release(header: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the block alive until the decrement.
    let refs = unsafe { &header.as_ref().refs };
    // Release/Acquire, as for `Arc`: every use of the block happens before it is freed.
    if refs.fetch_sub(1, Ordering::Release) != 1 {
        return;
    }
    std::sync::atomic::fence(Ordering::Acquire);
    // SAFETY: that was the last reference; the vtable matches the block's type.
    unsafe { (header.as_ref().vtable.dealloc)(header) };
}

/// Queues the task: on the runtime's thread while it runs, a push to the local run queue (no
/// lock, no atomic read-modify-write; a waker woken by value still gives up its own reference);
/// anywhere else, a push to the locked remote queue.
///
/// # Safety
/// `task` must be the pointer the task was allocated with (or a copy): a pointer derived from a
/// `&Header` would carry the provenance of the header alone, not of the whole block. The caller
/// holds a counted reference to the task; with `given`, it hands that reference over (a waker
/// woken by value) and must not use it afterwards.
unsafe fn schedule(task: NonNull<Header>, given: bool) {
    // SAFETY: the caller holds a reference to the task (a waker or a `TaskRef`).
    let header = unsafe { task.as_ref() };
    if !context::is_running_here(&header.shared) {
        // SAFETY: this function's contract.
        return unsafe { schedule_remote(task, given) };
    }
    // SAFETY: this function's contract: the allocation's pointer, a reference held.
    if let Some(marked) = unsafe { mark_queued_locally(task) } {
        context::push_local_task(marked);
    }
    if given {
        // SAFETY: the caller gave us its reference; the local entry takes none.
        unsafe { release(task) };
    }
}

/// [`schedule`] from outside the runtime's thread, or while the runtime is not running. Out of
/// line, so that the local wake, which calls nothing, saves no registers: 6 instructions a
/// wake (`local_wake_ping_pong` in BENCHMARKS.md).
///
/// # Safety
/// As for [`schedule`].
#[cold]
#[inline(never)]
unsafe fn schedule_remote(task: NonNull<Header>, given: bool) {
    // SAFETY: the caller holds a reference to the task (a waker or a `TaskRef`).
    let header = unsafe { task.as_ref() };
    if header.queued_remotely.mark() {
        // The entry always gets a reference of its own, even when one was given: the push still
        // reads the task's `shared` after the entry is in the queue, where the runtime's thread
        // may already take it and drop it (at shutdown, with the last reference to the task and
        // to `shared`). The given reference keeps both alive until the push has returned.
        increment(header);
        header.shared.push_remote(Some(TaskRef(task)));
    }
    if given {
        // SAFETY: the caller gave us its reference, and no queue entry took it.
        unsafe { release(task) };
    }
}

/// The waker of a task: its data pointer is the header, and it holds one counted reference.
static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// The vtable of every task's waker, for the budget to tell the executor's wakers from others.
pub(crate) fn waker_vtable() -> &'static RawWakerVTable {
    &WAKER_VTABLE
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: the data pointer of a task waker is its task's header, kept alive by the waker.
    increment(unsafe { &*data.cast::<Header>() });
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: as in `waker_wake_by_ref`; the waker, consumed, gives up its own reference.
    unsafe {
        schedule(
            NonNull::new_unchecked(data.cast_mut().cast::<Header>()),
            true,
        )
    };
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: the data pointer of a task waker is its task's header (the allocation's own
    // pointer, never null), kept alive by the waker.
    unsafe {
        schedule(
            NonNull::new_unchecked(data.cast_mut().cast::<Header>()),
            false,
        )
    };
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: a waker owns one reference, given up here.
    unsafe { release(NonNull::new_unchecked(data.cast_mut().cast::<Header>())) };
}

/// A typed reference to a task whose output is `T`: what `JoinHandle<T>` holds. Only
/// [`allocate`] makes one, which is what makes its `T` the task's output type.
pub(crate) struct JoinRef<T> {
    task: TaskRef,
    /// The result type, and `!Send`: the result is only ever taken on the runtime's thread.
    _result: PhantomData<*const T>,
}

impl<T> JoinRef<T> {
    pub(crate) fn task(&self) -> &TaskRef {
        &self.task
    }

    /// The result if the task is finished (spending a unit of budget), else the waker is stored.
    ///
    /// # Panics
    /// If the task polls its own `JoinHandle` (it would wait for itself forever), or after the
    /// result was taken.
    pub(crate) fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let header = self.task.header();
        let state = header.state.get();
        assert!(
            !state.polling,
            "minireactor: a task awaited its own JoinHandle, which can never complete"
        );
        if !state.finished {
            // SAFETY: runtime's thread; the join waker is never borrowed across a call.
            let stored = unsafe { &mut *header.join_waker.get() };
            let replaced = match stored {
                Some(waker) if waker.will_wake(cx.waker()) => None,
                stored => stored.replace(cx.waker().clone()),
            };
            drop(replaced);
            return Poll::Pending;
        }
        std::task::ready!(minireactor_reactor::coop::poll_proceed(cx));
        let mut result = Poll::Pending;
        // SAFETY: a `JoinRef<T>` is only made by `allocate`, for a future whose output is `T`;
        // `result` is a `Poll<Result<T, JoinError>>`, the slot `take_result` writes.
        unsafe { (header.vtable.take_result)(self.task.0, (&mut result as *mut Poll<_>).cast()) };
        result
    }
}
