//! Model-based property tests: random sequences of waits, cancellations, polls and releases
//! run against a primitive polled by hand, and against a few lines of obviously-FIFO model.
//! After every step, the waiters the model says were granted must be exactly those woken (once
//! each), and a poll must complete exactly when the model says so.

use std::collections::VecDeque;
use std::task::Poll;

use proptest::prelude::*;

use super::Probe;
use crate::mpsc::{self, error::TryRecvError};
use crate::{Notify, Semaphore};

/// A future under test, with its task's probe.
struct Live<F> {
    id: usize,
    probe: Probe,
    future: F,
}

impl<F: std::future::Future + Unpin> Live<F> {
    fn poll(&mut self) -> Poll<F::Output> {
        self.probe.poll(&mut self.future)
    }
}

/// What the model knows of a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unpolled(u64),
    Queued,
    Granted,
    GrantedAll,
}

fn check_wakes<F>(live: &[Live<F>], mark_of: impl Fn(usize) -> Mark) {
    for waiter in live {
        let expected = match mark_of(waiter.id) {
            Mark::Unpolled(_) | Mark::Queued => 0,
            Mark::Granted | Mark::GrantedAll => 1,
        };
        assert_eq!(
            waiter.probe.wakes(),
            expected,
            "wakes of waiter {}",
            waiter.id
        );
    }
}

#[derive(Debug, Clone)]
enum SemOp {
    Acquire(usize),
    Cancel(usize),
    Poll(usize),
    Release(usize),
    Add(usize),
}

fn sem_op() -> impl Strategy<Value = SemOp> {
    prop_oneof![
        3 => (1..=3usize).prop_map(SemOp::Acquire),
        2 => any::<usize>().prop_map(SemOp::Cancel),
        3 => any::<usize>().prop_map(SemOp::Poll),
        2 => any::<usize>().prop_map(SemOp::Release),
        1 => (1..=3usize).prop_map(SemOp::Add),
    ]
}

/// The model: permits not held by anyone (including those the head waiter has gathered), the
/// queue, and the waiters granted but not yet polled.
#[derive(Default)]
struct SemModel {
    free: usize,
    queue: VecDeque<(usize, usize)>,
    granted: Vec<(usize, usize)>,
}

impl SemModel {
    fn settle(&mut self) {
        while let Some(&(id, need)) = self.queue.front() {
            if self.free < need {
                break;
            }
            self.free -= need;
            self.granted.push((id, need));
            self.queue.pop_front();
        }
    }

    fn mark(&self, id: usize) -> Mark {
        if self.granted.iter().any(|&(g, _)| g == id) {
            Mark::Granted
        } else {
            Mark::Queued
        }
    }
}

fn run_semaphore(initial: usize, ops: Vec<SemOp>) {
    let semaphore = Semaphore::new(initial);
    let mut model = SemModel {
        free: initial,
        ..SemModel::default()
    };
    let mut live = Vec::new();
    let mut held = Vec::new();
    for (id, op) in ops.into_iter().enumerate() {
        match op {
            SemOp::Acquire(n) => {
                let probe = Probe::new();
                let mut future = semaphore.acquire_many(n as u32);
                let poll = probe.poll(&mut future);
                if model.queue.is_empty() && model.free >= n {
                    model.free -= n;
                    let Poll::Ready(Ok(permit)) = poll else {
                        panic!("immediate grant expected")
                    };
                    drop(future);
                    held.push(permit);
                } else {
                    assert!(poll.is_pending());
                    model.queue.push_back((id, n));
                    live.push(Live { id, probe, future });
                }
            }
            SemOp::Cancel(i) if !live.is_empty() => {
                let gone = live.remove(i % live.len());
                drop(gone.future);
                if let Some(at) = model.queue.iter().position(|&(q, _)| q == gone.id) {
                    model.queue.remove(at);
                } else {
                    let at = model
                        .granted
                        .iter()
                        .position(|&(g, _)| g == gone.id)
                        .unwrap();
                    model.free += model.granted.remove(at).1;
                }
                model.settle();
            }
            SemOp::Poll(i) if !live.is_empty() => {
                let at = i % live.len();
                let poll = live[at].poll();
                let id = live[at].id;
                match model.granted.iter().position(|&(g, _)| g == id) {
                    Some(g) => {
                        let Poll::Ready(Ok(permit)) = poll else {
                            panic!("waiter {id} was granted")
                        };
                        assert_eq!(permit.num_permits(), model.granted.remove(g).1);
                        held.push(permit);
                        live.remove(at);
                    }
                    None => assert!(poll.is_pending(), "waiter {id} is not granted"),
                }
            }
            SemOp::Release(i) if !held.is_empty() => {
                let permit = held.remove(i % held.len());
                model.free += permit.num_permits();
                drop(permit);
                model.settle();
            }
            SemOp::Add(n) => {
                semaphore.add_permits(n);
                model.free += n;
                model.settle();
            }
            _ => {}
        }
        check_wakes(&live, |id| model.mark(id));
        let expected_available = if model.queue.is_empty() {
            model.free
        } else {
            0
        };
        assert_eq!(semaphore.available_permits(), expected_available);
        assert_eq!(semaphore.allocated_waiters(), live.len());
    }
    drop(live);
    drop(held);
    assert_eq!(semaphore.allocated_waiters(), 0);
}

#[derive(Debug, Clone)]
enum NotifyOp {
    Wait,
    Create,
    Cancel(usize),
    Poll(usize),
    NotifyOne,
    NotifyWaiters,
}

fn notify_op() -> impl Strategy<Value = NotifyOp> {
    prop_oneof![
        3 => Just(NotifyOp::Wait),
        1 => Just(NotifyOp::Create),
        2 => any::<usize>().prop_map(NotifyOp::Cancel),
        3 => any::<usize>().prop_map(NotifyOp::Poll),
        3 => Just(NotifyOp::NotifyOne),
        1 => Just(NotifyOp::NotifyWaiters),
    ]
}

#[derive(Default)]
struct NotifyModel {
    permit: bool,
    epoch: u64,
    queue: VecDeque<usize>,
    marks: Vec<(usize, Mark)>,
}

impl NotifyModel {
    fn mark(&self, id: usize) -> Mark {
        self.marks.iter().find(|&&(m, _)| m == id).unwrap().1
    }

    fn set(&mut self, id: usize, mark: Mark) {
        self.marks.iter_mut().find(|(m, _)| *m == id).unwrap().1 = mark;
    }

    fn notify_one(&mut self) {
        match self.queue.pop_front() {
            Some(id) => self.set(id, Mark::Granted),
            None => self.permit = true,
        }
    }

    /// A first poll: completes (`true`) or queues.
    fn first_poll(&mut self, id: usize, created_at: u64) -> bool {
        if created_at != self.epoch {
            return true;
        }
        if std::mem::take(&mut self.permit) {
            return true;
        }
        self.queue.push_back(id);
        self.set(id, Mark::Queued);
        false
    }
}

fn run_notify(ops: Vec<NotifyOp>) {
    let notify = Notify::new();
    let mut model = NotifyModel::default();
    let mut live = Vec::new();
    for (id, op) in ops.into_iter().enumerate() {
        match op {
            NotifyOp::Wait | NotifyOp::Create => {
                let probe = Probe::new();
                let mut future = notify.notified();
                model.marks.push((id, Mark::Unpolled(model.epoch)));
                let mut done = false;
                if matches!(op, NotifyOp::Wait) {
                    let poll = probe.poll(&mut future);
                    done = model.first_poll(id, model.epoch);
                    assert_eq!(poll.is_ready(), done);
                }
                if !done {
                    live.push(Live { id, probe, future });
                }
            }
            NotifyOp::Cancel(i) if !live.is_empty() => {
                let gone = live.remove(i % live.len());
                drop(gone.future);
                match model.mark(gone.id) {
                    Mark::Queued => model.queue.retain(|&q| q != gone.id),
                    Mark::Granted => model.notify_one(),
                    Mark::Unpolled(_) | Mark::GrantedAll => {}
                }
            }
            NotifyOp::Poll(i) if !live.is_empty() => {
                let at = i % live.len();
                let poll = live[at].poll();
                let id = live[at].id;
                let done = match model.mark(id) {
                    Mark::Unpolled(created_at) => model.first_poll(id, created_at),
                    Mark::Queued => false,
                    Mark::Granted | Mark::GrantedAll => true,
                };
                assert_eq!(poll.is_ready(), done, "waiter {id}");
                if done {
                    live.remove(at);
                }
            }
            NotifyOp::NotifyOne => {
                notify.notify_one();
                model.notify_one();
            }
            NotifyOp::NotifyWaiters => {
                notify.notify_waiters();
                model.epoch += 1;
                for id in std::mem::take(&mut model.queue) {
                    model.set(id, Mark::GrantedAll);
                }
            }
            _ => {}
        }
        check_wakes(&live, |id| model.mark(id));
        let queued = live
            .iter()
            .filter(|w| !matches!(model.mark(w.id), Mark::Unpolled(_)))
            .count();
        assert_eq!(notify.allocated_waiters(), queued);
    }
    drop(live);
    assert_eq!(notify.allocated_waiters(), 0);
}

#[derive(Debug, Clone)]
enum MpscOp {
    Send,
    TrySend,
    Cancel(usize),
    Poll(usize),
    Recv,
}

fn mpsc_op() -> impl Strategy<Value = MpscOp> {
    prop_oneof![
        3 => Just(MpscOp::Send),
        1 => Just(MpscOp::TrySend),
        2 => any::<usize>().prop_map(MpscOp::Cancel),
        3 => any::<usize>().prop_map(MpscOp::Poll),
        3 => Just(MpscOp::Recv),
    ]
}

/// The model of a bounded channel: the queue, free slots (not queued, not granted), the
/// waiting senders and those granted a slot but not yet polled.
struct MpscModel {
    queue: VecDeque<usize>,
    free: usize,
    waiting: VecDeque<usize>,
    granted: Vec<usize>,
}

impl MpscModel {
    fn settle(&mut self) {
        while self.free > 0 {
            let Some(id) = self.waiting.pop_front() else {
                break;
            };
            self.free -= 1;
            self.granted.push(id);
        }
    }

    fn mark(&self, id: usize) -> Mark {
        if self.granted.contains(&id) {
            Mark::Granted
        } else {
            Mark::Queued
        }
    }
}

fn run_mpsc(capacity: usize, ops: Vec<MpscOp>) {
    let (tx, mut rx) = mpsc::channel(capacity);
    let mut model = MpscModel {
        queue: VecDeque::new(),
        free: capacity,
        waiting: VecDeque::new(),
        granted: Vec::new(),
    };
    let mut live = Vec::new();
    for (id, op) in ops.into_iter().enumerate() {
        let immediate = model.waiting.is_empty() && model.free > 0;
        match op {
            MpscOp::Send => {
                let probe = Probe::new();
                let mut future = tx.send(id);
                let poll = probe.poll(&mut future);
                if immediate {
                    assert!(matches!(poll, Poll::Ready(Ok(()))));
                    model.free -= 1;
                    model.queue.push_back(id);
                } else {
                    assert!(poll.is_pending());
                    model.waiting.push_back(id);
                    live.push(Live { id, probe, future });
                }
            }
            MpscOp::TrySend => {
                assert_eq!(tx.try_send(id).is_ok(), immediate);
                if immediate {
                    model.free -= 1;
                    model.queue.push_back(id);
                }
            }
            MpscOp::Cancel(i) if !live.is_empty() => {
                let gone = live.remove(i % live.len());
                drop(gone.future);
                if let Some(at) = model.granted.iter().position(|&g| g == gone.id) {
                    model.granted.remove(at);
                    model.free += 1;
                } else {
                    model.waiting.retain(|&w| w != gone.id);
                }
                model.settle();
            }
            MpscOp::Poll(i) if !live.is_empty() => {
                let at = i % live.len();
                let poll = live[at].poll();
                let id = live[at].id;
                if let Some(g) = model.granted.iter().position(|&g| g == id) {
                    assert!(
                        matches!(poll, Poll::Ready(Ok(()))),
                        "sender {id} was granted"
                    );
                    model.granted.remove(g);
                    model.queue.push_back(id);
                    live.remove(at);
                } else {
                    assert!(poll.is_pending(), "sender {id} is not granted");
                }
            }
            MpscOp::Recv => {
                let expected = model.queue.pop_front().ok_or(TryRecvError::Empty);
                assert_eq!(rx.try_recv(), expected);
                if expected.is_ok() {
                    model.free += 1;
                    model.settle();
                }
            }
            _ => {}
        }
        check_wakes(&live, |id| model.mark(id));
        assert_eq!(tx.slot_waiters(), live.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn semaphore_matches_the_fifo_model(
        initial in 0..4usize,
        ops in prop::collection::vec(sem_op(), 1..200),
    ) {
        run_semaphore(initial, ops);
    }

    #[test]
    fn notify_matches_the_model(ops in prop::collection::vec(notify_op(), 1..200)) {
        run_notify(ops);
    }

    #[test]
    fn bounded_mpsc_matches_the_fifo_model(
        capacity in 1..4usize,
        ops in prop::collection::vec(mpsc_op(), 1..200),
    ) {
        run_mpsc(capacity, ops);
    }
}
