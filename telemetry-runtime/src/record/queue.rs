//! The bounded queue of discrete events (`cli_command`, `custom`), from the host to the
//! worker. Errors do not go through it: they are counted in the shards (`counters.rs`).
//!
//! A call site never blocks on it: `try_send`, and when the queue is full the event is
//! dropped and counted (the count is reported as `dropped_events`, the events are not). The
//! queue exists only once a worker has started, so with consent off nothing is queued.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::wire::event::Body;

/// How many events may wait for the worker.
pub(crate) const CAPACITY: usize = 1024;

/// A discrete event.
#[derive(Debug)]
pub(crate) enum Message {
    /// An event sent as it is: a `cli_command` or a `custom` event. Boxed so the queue's
    /// slots stay small.
    Event(Box<Body>),
}

static QUEUE: OnceLock<(Sender<Message>, Receiver<Message>)> = OnceLock::new();
static DROPPED_TOTAL: AtomicU64 = AtomicU64::new(0);

/// Queues `message` if a worker exists; never blocks, never allocates.
#[inline]
pub(crate) fn push(message: Message) {
    if let Some((tx, _)) = QUEUE.get()
        && tx.try_send(message).is_err()
    {
        count_dropped();
    }
}

/// Counts one event that could not be kept.
pub(crate) fn count_dropped() {
    DROPPED_TOTAL.fetch_add(1, Relaxed);
}

/// The receiving end, creating the queue on first use (by a worker).
pub(crate) fn receiver() -> Receiver<Message> {
    QUEUE.get_or_init(|| bounded(CAPACITY)).1.clone()
}

/// Events dropped since the process started.
pub(crate) fn dropped_total() -> u64 {
    DROPPED_TOTAL.load(Relaxed)
}

/// Events waiting now.
pub(crate) fn len() -> usize {
    QUEUE.get().map_or(0, |(tx, _)| tx.len())
}
