//! [`CancellationToken`]: a tree of cancellation flags. Cancelling a token cancels every token
//! derived from it with [`child_token`](CancellationToken::child_token), never its parent.
//!
//! Each token (all clones of it) is one `Rc` node. Invariants:
//! - A child holds a strong reference to its parent and sits in the parent's slab of children
//!   as a weak one; when the child's last handle goes, it takes itself out of that slab, so
//!   the children of a long-lived token do not pile up.
//! - Cancelling detaches the whole subtree (each child's link to its parent is cut) and cancels
//!   it iteratively, so neither a wide nor a deep tree can overflow the stack; a node's drop
//!   walks up iteratively too.
//! - Cancellation is permanent; a child of a cancelled token is born cancelled.
//! - Waiters are woken with no borrow held.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{ready, Context, Poll};

use minireactor_reactor::coop;
use slab::Slab;

use crate::waiters::{WaitList, WaiterKey, WakeList};

struct Node {
    cancelled: Cell<bool>,
    /// Futures waiting in `cancelled`.
    waiters: RefCell<WaitList<()>>,
    children: RefCell<Slab<Weak<Node>>>,
    /// The parent and this node's key in its `children`; cut when the parent is cancelled.
    parent: RefCell<Option<(Rc<Node>, usize)>>,
}

impl Node {
    fn new(cancelled: bool) -> Rc<Node> {
        Rc::new(Node {
            cancelled: Cell::new(cancelled),
            waiters: RefCell::new(WaitList::new()),
            children: RefCell::new(Slab::new()),
            parent: RefCell::new(None),
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let mut link = self.parent.get_mut().take();
        while let Some((parent, key)) = link.take() {
            parent.children.borrow_mut().remove(key);
            // If this was the parent's last handle, unlink it here rather than in its own drop,
            // so a long chain of dropped ancestors is walked in a loop, not by recursion.
            if Rc::strong_count(&parent) == 1 {
                link = parent.parent.borrow_mut().take();
            }
        }
    }
}

/// A cancellation flag that tasks can wait on, with children that are cancelled with it.
///
/// Clones share the same flag.
///
/// ```
/// use minireactor_sync::CancellationToken;
///
/// minireactor::block_on(async {
///     let shutdown = CancellationToken::new();
///     let worker = {
///         let token = shutdown.child_token();
///         minireactor::spawn(async move {
///             token.cancelled().await;
///             "stopped"
///         })
///     };
///     shutdown.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Rc<Node>,
}

impl CancellationToken {
    /// A token that is not cancelled.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Node::new(false),
        }
    }

    /// A token cancelled when this one is (but cancelling it leaves this one alone).
    pub fn child_token(&self) -> CancellationToken {
        if self.node.cancelled.get() {
            return CancellationToken {
                node: Node::new(true),
            };
        }
        let child = Node::new(false);
        let key = self
            .node
            .children
            .borrow_mut()
            .insert(Rc::downgrade(&child));
        *child.parent.borrow_mut() = Some((self.node.clone(), key));
        CancellationToken { node: child }
    }

    /// Cancels this token and all its descendants, waking every task waiting on any of them.
    pub fn cancel(&self) {
        let mut pending = vec![self.node.clone()];
        while let Some(node) = pending.pop() {
            if node.cancelled.replace(true) {
                continue;
            }
            let children = std::mem::take(&mut *node.children.borrow_mut());
            for (_, child) in children {
                if let Some(child) = child.upgrade() {
                    // Cut the link, so the child's drop does not look for itself in the slab.
                    let parent = child.parent.borrow_mut().take();
                    drop(parent);
                    pending.push(child);
                }
            }
            let mut wakes = WakeList::new();
            node.waiters.borrow_mut().drain(|_| {}, &mut wakes);
            wakes.wake_all();
        }
        tracing::debug!("cancellation token cancelled");
    }

    /// Whether this token was cancelled (directly or through an ancestor).
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.get()
    }

    /// Completes once the token is cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        WaitForCancellationFuture {
            node: &self.node,
            key: None,
        }
    }

    /// [`cancelled`](Self::cancelled), owning a clone of the token instead of borrowing it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn cancelled_owned(self) -> WaitForCancellationFutureOwned {
        WaitForCancellationFutureOwned {
            node: self.node.clone(),
            key: None,
        }
    }

    /// A guard that cancels the token when dropped, unless [disarmed](DropGuard::disarm).
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    #[cfg(test)]
    pub(crate) fn child_slots(&self) -> usize {
        self.node.children.borrow().len()
    }

    #[cfg(test)]
    pub(crate) fn allocated_waiters(&self) -> usize {
        self.node.waiters.borrow().allocated()
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

fn poll_cancelled(node: &Node, key: &mut Option<WaiterKey>, cx: &mut Context<'_>) -> Poll<()> {
    if node.cancelled.get() {
        ready!(coop::poll_proceed(cx));
        if let Some(key) = key.take() {
            node.waiters.borrow_mut().remove(key);
        }
        return Poll::Ready(());
    }
    let mut waiters = node.waiters.borrow_mut();
    match key {
        Some(key) => waiters.set_waker(key, cx.waker()),
        None => *key = Some(waiters.push_back((), cx.waker())),
    }
    Poll::Pending
}

fn forget_waiter(node: &Node, key: &mut Option<WaiterKey>) {
    if let Some(key) = key.take() {
        node.waiters.borrow_mut().remove(key);
    }
}

/// Future of [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellationFuture<'a> {
    node: &'a Node,
    key: Option<WaiterKey>,
}

impl Future for WaitForCancellationFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(this.node, &mut this.key, cx)
    }
}

impl Drop for WaitForCancellationFuture<'_> {
    fn drop(&mut self) {
        forget_waiter(self.node, &mut self.key);
    }
}

impl fmt::Debug for WaitForCancellationFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFuture")
            .finish_non_exhaustive()
    }
}

/// Future of [`CancellationToken::cancelled_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellationFutureOwned {
    node: Rc<Node>,
    key: Option<WaiterKey>,
}

impl Future for WaitForCancellationFutureOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(&this.node, &mut this.key, cx)
    }
}

impl Drop for WaitForCancellationFutureOwned {
    fn drop(&mut self) {
        forget_waiter(&self.node, &mut self.key);
    }
}

impl fmt::Debug for WaitForCancellationFutureOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationFutureOwned")
            .finish_non_exhaustive()
    }
}

/// Cancels its token when dropped; see [`CancellationToken::drop_guard`].
///
/// ```
/// use minireactor_sync::CancellationToken;
///
/// let token = CancellationToken::new();
/// {
///     let _guard = token.clone().drop_guard();
/// } // e.g. the scope of a task that must stop its helpers however it ends
/// assert!(token.is_cancelled());
///
/// let kept = CancellationToken::new();
/// let token = kept.clone().drop_guard().disarm();
/// assert!(!token.is_cancelled());
/// ```
#[must_use = "dropping the guard cancels the token at once"]
#[derive(Debug)]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a guard holds its token until disarmed")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}
