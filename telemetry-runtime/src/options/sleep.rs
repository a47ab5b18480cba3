//! A runtime-agnostic sleep for async retries.
//!
//! `retry_delay_ms` on an `async fn` must not block the executor's thread, and must work on
//! any executor, down to a hand-written `block_on`. So the delay is a future whose waker is
//! woken by one shared timer thread, started the first time an async retry actually waits.
//! This thread serves the user's own `retry_delay_ms`; it is the only thread the crate
//! starts that is not telemetry, and it exists with the kill switch too.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A future that completes once its deadline has passed. Generated code only.
#[doc(hidden)]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
}

impl Sleep {
    pub(crate) fn new(after: Duration) -> Self {
        Self {
            deadline: Instant::now() + after,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        // Each poll registers the current waker; stale entries only cause a spurious wake,
        // which a correct executor answers with another poll.
        match timer() {
            Some(timer) => {
                timer.add(self.deadline, cx.waker().clone());
                Poll::Pending
            }
            // No timer thread could be started: give up waiting rather than hang the call.
            None => Poll::Ready(()),
        }
    }
}

struct Entry {
    deadline: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

struct Timer {
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Timer {
    fn add(&self, deadline: Instant, waker: Waker) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.seq += 1;
        let seq = q.seq;
        q.entries.push(Reverse(Entry {
            deadline,
            seq,
            waker,
        }));
        self.changed.notify_one();
    }

    fn run(&self) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            while q.entries.peek().is_some_and(|e| e.0.deadline <= now) {
                if let Some(Reverse(entry)) = q.entries.pop() {
                    entry.waker.wake();
                }
            }
            q = match q.entries.peek().map(|e| e.0.deadline - now) {
                Some(wait) => {
                    self.changed
                        .wait_timeout(q, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self.changed.wait(q).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("telemetry-retry-timer".into())
            .spawn(move || timer.run())
            .ok()
            .map(|_| timer)
    })
}
