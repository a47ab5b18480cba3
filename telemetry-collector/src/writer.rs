//! The write buffer between the requests and the store.
//!
//! A request hands its prepared batch to one writer thread and waits for the answer: the
//! batch is acknowledged (`200`) only once the store committed it, so nothing acknowledged
//! can be lost, by `SIGTERM` or otherwise. The thread takes everything queued at once and
//! writes it as one group (one SQLite transaction, one ClickHouse block per table): under
//! load groups grow, and when idle a batch is written at once, never later than the
//! second the issue asks for. The queue is bounded in bytes; a request that does not fit is
//! answered `503` with `Retry-After`, which the runtime's worker honours.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::model::Prepared;
use crate::store::{Store, StoreError};

/// The most batches written as one group.
const MAX_GROUP: usize = 2_000;

/// Why a batch was not stored.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The buffer is full: try again shortly.
    Busy,
    /// The store failed; the batch was not acknowledged.
    Store(StoreError),
    /// The collector is shutting down.
    Closed,
}

struct Job {
    batch: Prepared,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle requests use.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Job>,
    /// Budget of queued bytes, in KiB.
    budget: Arc<Semaphore>,
}

/// Owns the writer thread; [`WriterThread::finish`] writes what is queued and stops it.
pub(crate) struct WriterThread(JoinHandle<()>);

impl WriterThread {
    /// Waits until every queued batch is written. Call after every [`Writer`] is dropped.
    pub(crate) fn finish(self) {
        let _ = self.0.join();
    }
}

/// Starts the thread writing to `store`, with at most `budget_kib` KiB queued.
pub(crate) fn start(store: Arc<dyn Store>, budget_kib: usize) -> (Writer, WriterThread) {
    let (queue, mut jobs) = mpsc::unbounded_channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("collector-writer".into())
        .spawn(move || {
            let mut batches = Vec::new();
            let mut waiting = Vec::new();
            // Ends when every sender is gone and the queue is empty: a clean shutdown
            // writes everything first.
            while let Some(job) = jobs.blocking_recv() {
                let mut next = Some(job);
                while let Some(Job { batch, done }) = next.take() {
                    batches.push(batch);
                    waiting.push(done);
                    if batches.len() < MAX_GROUP {
                        next = jobs.try_recv().ok();
                    }
                }
                let result = store.write(&batches).map_err(|e| e.to_string());
                batches.clear();
                for done in waiting.drain(..) {
                    let _ = done.send(result.clone());
                }
            }
        })
        .expect("the collector cannot start its writer thread");
    let writer = Writer {
        queue,
        budget: Arc::new(Semaphore::new(budget_kib)),
    };
    (writer, WriterThread(thread))
}

impl Writer {
    /// Stores `batch` (of `size` bytes on the wire); returns once it is committed.
    pub(crate) async fn store(&self, batch: Prepared, size: usize) -> Result<(), Refused> {
        let kib = u32::try_from(size / 1024 + 1).unwrap_or(u32::MAX);
        let Ok(_permit) = self.budget.try_acquire_many(kib) else {
            return Err(Refused::Busy);
        };
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Job { batch, done })
            .map_err(|_| Refused::Closed)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Refused::Store(StoreError(e))),
            Err(_) => Err(Refused::Closed),
        }
    }
}
