//! The write buffer between the requests and the store.
//!
//! A request hands its prepared batch to the buffer and is answered `200` at once; one
//! writer thread takes what is queued and writes it as one group (one SQLite transaction,
//! one ClickHouse `INSERT` block per table). A group is written as soon as the store is free
//! (SQLite) or after at most [`Store::linger`] (ClickHouse, which wants few large blocks),
//! and never later than a second after its first batch arrived.
//!
//! Nothing acknowledged is lost on a clean stop: the thread ends only once the queue is
//! empty and written. A failed write is retried (acknowledged batches are not dropped) while
//! new batches wait in the buffer; the buffer is bounded in bytes, and a request that does
//! not fit is answered `503` with `Retry-After`, which the runtime's worker honours. A report
//! first asks for a [`Writer::flush`], so it shows every batch acknowledged before it.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::log::Log;
use crate::model::Prepared;
use crate::store::Store;

/// The most batches written as one group.
const MAX_GROUP: usize = 20_000;
/// How often a lingering writer looks for more batches (and for a flush, which it answers
/// at once).
const SLICE: Duration = Duration::from_millis(20);
/// The longest a failed write waits before it is tried again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// On shutdown, how long a failing store is retried before what is left is given up (and
/// logged as an error).
const SHUTDOWN_RETRIES: Duration = Duration::from_secs(30);

/// Why a batch was not taken.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The buffer is full: try again shortly.
    Busy,
    /// The collector is shutting down.
    Closed,
}

enum Job {
    /// A batch, and its share of the buffer (given back once it is written).
    Batch(Prepared, OwnedSemaphorePermit),
    /// Write what is queued now, then call this.
    Flush(Box<dyn FnOnce() + Send>),
}

/// The handle requests use.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: Sender<Job>,
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
pub(crate) fn start(store: Arc<dyn Store>, budget_kib: usize, log: Log) -> (Writer, WriterThread) {
    let (queue, jobs) = channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("collector-writer".into())
        .spawn(move || run(&*store, &jobs, &log))
        .expect("the collector cannot start its writer thread");
    let writer = Writer {
        queue,
        budget: Arc::new(Semaphore::new(budget_kib)),
    };
    (writer, WriterThread(thread))
}

/// The writer thread: ends when every sender is gone and the queue is written.
fn run(store: &dyn Store, jobs: &Receiver<Job>, log: &Log) {
    let linger = store.linger().min(Duration::from_secs(1));
    let mut group: Vec<Prepared> = Vec::new();
    let mut permits = Vec::new();
    let mut flushes = Vec::new();
    let mut open = true;
    while open {
        // The first job of a group: wait as long as it takes.
        match jobs.recv() {
            Ok(job) => take(job, &mut group, &mut permits, &mut flushes),
            Err(_) => break,
        }
        // More, until the group is full, a flush is asked for, or its time is up. The thread
        // sleeps in short slices and takes what arrived meanwhile, rather than waking for
        // every batch: under load a wake-up per request costs more than the write.
        let deadline = Instant::now() + linger;
        loop {
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => take(job, &mut group, &mut permits, &mut flushes),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !open || group.len() >= MAX_GROUP || !flushes.is_empty() || left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(SLICE));
        }
        write(store, &group, open, log);
        group.clear();
        // The buffer space comes back only now that the batches are in the store.
        permits.clear();
        for done in flushes.drain(..) {
            done();
        }
    }
    // Jobs sent before the last sender went away.
    while let Ok(job) = jobs.try_recv() {
        take(job, &mut group, &mut permits, &mut flushes);
    }
    write(store, &group, false, log);
    for done in flushes.drain(..) {
        done();
    }
}

fn take(
    job: Job,
    group: &mut Vec<Prepared>,
    permits: &mut Vec<OwnedSemaphorePermit>,
    flushes: &mut Vec<Box<dyn FnOnce() + Send>>,
) {
    match job {
        Job::Batch(batch, permit) => {
            group.push(batch);
            permits.push(permit);
        }
        Job::Flush(done) => flushes.push(done),
    }
}

/// Writes `group`, retrying a failing store: forever while the collector runs (new batches
/// meanwhile fill the buffer and are refused with `503`), for a bounded time once it stops.
fn write(store: &dyn Store, group: &[Prepared], running: bool, log: &Log) {
    if group.is_empty() {
        return;
    }
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match store.write(group) {
            Ok(()) => return,
            Err(e) => {
                log.warn(&format!(
                    "could not store {} batch(es), trying again in {} ms: {e}",
                    group.len(),
                    wait.as_millis()
                ));
            }
        }
        if !running && started.elapsed() > SHUTDOWN_RETRIES {
            log.at(
                crate::log::Level::Error,
                &format!(
                    "gave up storing {} acknowledged batch(es) at shutdown: the store kept failing",
                    group.len()
                ),
            );
            return;
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(MAX_RETRY_WAIT);
    }
}

impl Writer {
    /// Queues `batch` (of `size` bytes on the wire) for the store.
    pub(crate) fn store(&self, batch: Prepared, size: usize) -> Result<(), Refused> {
        let kib = u32::try_from(size / 1024 + 1).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.budget)
            .try_acquire_many_owned(kib)
            .map_err(|_| Refused::Busy)?;
        self.queue
            .send(Job::Batch(batch, permit))
            .map_err(|_| Refused::Closed)
    }

    /// Returns once every batch queued before the call is in the store.
    pub(crate) async fn flush(&self) {
        let (done, written) = oneshot::channel();
        let done = Box::new(move || {
            let _ = done.send(());
        });
        if self.queue.send(Job::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }

    /// [`Writer::flush`] for a caller outside the async runtime, waiting at most `limit`;
    /// whether everything was written in time.
    pub(crate) fn flush_blocking(&self, limit: Duration) -> bool {
        let (done, written) = channel();
        let done = Box::new(move || {
            let _ = done.send(());
        });
        self.queue.send(Job::Flush(done)).is_ok() && written.recv_timeout(limit).is_ok()
    }
}
