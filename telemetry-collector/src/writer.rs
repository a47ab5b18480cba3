//! The write path between the requests and the store, where "acknowledged" becomes
//! "durable".
//!
//! A request first reserves room for its body in a bounded buffer (before the body is even
//! read: a refusal costs little), then hands its prepared batch to the one writer thread and
//! waits. The thread takes every batch waiting and makes them durable together:
//!
//! - **SQLite**: one transaction for the group, committed with `synchronous = FULL`; then
//!   each request is answered `200`.
//! - **ClickHouse**: appended to the collector's write-ahead log (`wal.rs`) and synced, one
//!   `fsync` for the group; then each request is answered `200`. The batches are inserted
//!   into ClickHouse in large blocks, at most [`Store::linger`] later, and the log is emptied
//!   once ClickHouse holds everything in it. At start, what the log holds is written again.
//!
//! So a `200` survives `kill -9` of the collector (and, with SQLite's full sync, a power
//! loss). Nothing acknowledged is lost on a clean stop either: the thread ends only once
//! everything is in the store (or, if the store keeps failing, still in the log). A failed
//! write is retried while new batches wait in the buffer; a request that does not fit is
//! answered `503` with `Retry-After`, which the runtime's worker honours. A report first
//! asks for a [`Writer::flush`], so it shows every batch acknowledged before it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::clock::Today;
use crate::log::Log;
use crate::model::Prepared;
use crate::store::{Caps, PER_STORE, Store};
use crate::wal::{Held, Wal};

/// The most batches made durable, or written, as one group.
const MAX_GROUP: usize = 20_000;
/// The longest a failed write waits before it is tried again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// On shutdown, how long a failing store is retried before what is left is given up
/// (kept in the log, where there is one; else lost, and logged as an error).
const SHUTDOWN_RETRIES: Duration = Duration::from_secs(30);

/// Why a batch was not taken.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The buffer is full: try again shortly.
    Busy,
    /// The collector is shutting down.
    Closed,
}

/// What a request hears back: whether its batch is durable.
type Ack = oneshot::Sender<bool>;

enum Job {
    /// A batch, its share of the buffer (given back once it is in the store) and whom to
    /// tell once it is durable.
    Batch(Prepared, OwnedSemaphorePermit, Ack),
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

/// Room in the buffer for one batch, taken before its body is read.
pub(crate) struct Reservation {
    permit: OwnedSemaphorePermit,
    queue: Sender<Job>,
}

impl Reservation {
    /// Hands `batch` to the writer; the receiver says `true` once it is durable (`false` if
    /// it could not be made so).
    pub(crate) fn store(self, batch: Prepared) -> Result<oneshot::Receiver<bool>, Refused> {
        let (ack, acked) = oneshot::channel();
        self.queue
            .send(Job::Batch(batch, self.permit, ack))
            .map_err(|_| Refused::Closed)?;
        Ok(acked)
    }
}

/// Owns the writer thread; [`WriterThread::finish`] writes what is queued and stops it.
pub(crate) struct WriterThread {
    thread: JoinHandle<()>,
    /// Set once the collector stops: a failing store is then retried for a bounded time.
    closing: Arc<AtomicBool>,
}

impl WriterThread {
    /// Waits until every queued batch is written (a failing store retried for at most
    /// [`SHUTDOWN_RETRIES`]). Call after every [`Writer`] is dropped.
    pub(crate) fn finish(self) {
        self.closing.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Starts the thread writing to `store`, with at most `budget_kib` KiB queued; with `wal`,
/// batches are durable once in the log, and what the log held at start is written first.
pub(crate) fn start(
    store: Arc<dyn Store>,
    wal: Option<(Wal, Held)>,
    budget_kib: usize,
    days: Days,
    log: Log,
) -> (Writer, WriterThread) {
    let (queue, jobs) = channel::<Job>();
    let closing = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&closing);
    let thread = std::thread::Builder::new()
        .name("collector-writer".into())
        .spawn(move || match wal {
            None => direct(&*store, &jobs, &flag, days, &log),
            Some((wal, held)) => logged(store, wal, held, &jobs, flag, days, &log),
        })
        .expect("the collector cannot start its writer thread");
    let writer = Writer {
        queue,
        budget: Arc::new(Semaphore::new(budget_kib)),
    };
    (writer, WriterThread { thread, closing })
}

/// What the store counted within the retention already counts against the caps.
fn caps_of(store: &dyn Store, days: Days, log: &Log) -> Caps {
    let since = days.today.day().saturating_sub(i64::from(days.retention));
    match store.known_values(since) {
        Ok(known) => Caps::new(known, days.retention),
        Err(e) => {
            log.warn(&format!("could not read the values the store keeps: {e}"));
            Caps::new(Vec::new(), days.retention)
        }
    }
}

/// The collector's clock and retention, which the caps count values within.
#[derive(Clone, Copy)]
pub(crate) struct Days {
    pub(crate) today: Today,
    pub(crate) retention: u32,
}

/// Waits for a job (for at most `wait`, if given), then takes every job waiting: batches
/// into `fresh` (capped), flushes into `flushes`. Whether senders remain.
fn gather(
    jobs: &Receiver<Job>,
    wait: Option<Duration>,
    caps: &mut Caps,
    fresh: &mut Vec<(Prepared, OwnedSemaphorePermit, Ack)>,
    flushes: &mut Vec<Box<dyn FnOnce() + Send>>,
    log: &Log,
) -> bool {
    let mut take = |job: Job| match job {
        Job::Batch(mut batch, permit, ack) => {
            caps.apply(&mut batch);
            for (app, kind) in caps.take_newly_full() {
                let app = if app.is_empty() {
                    "(none)"
                } else {
                    app.as_str()
                };
                log.warn(&format!(
                    "the cap of {PER_STORE} distinct values of `{kind}` for app {app} is \
                     full: new ones count as `other` until old ones pass the retention"
                ));
            }
            fresh.push((batch, permit, ack));
            1
        }
        Job::Flush(done) => {
            flushes.push(done);
            0
        }
    };
    let first = match wait {
        Some(wait) => jobs.recv_timeout(wait),
        None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
    };
    let mut taken = match first {
        Ok(job) => take(job),
        Err(RecvTimeoutError::Timeout) => return true,
        Err(RecvTimeoutError::Disconnected) => return false,
    };
    while taken < MAX_GROUP {
        match jobs.try_recv() {
            Ok(job) => taken += take(job),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return false,
        }
    }
    true
}

/// SQLite: a group is durable once its transaction commits (`synchronous = FULL`).
fn direct(store: &dyn Store, jobs: &Receiver<Job>, closing: &AtomicBool, days: Days, log: &Log) {
    let mut caps = caps_of(store, days, log);
    let mut open = true;
    while open {
        let (mut fresh, mut flushes) = (Vec::new(), Vec::new());
        open = gather(jobs, None, &mut caps, &mut fresh, &mut flushes, log);
        if !fresh.is_empty() {
            // Taken apart rather than cloned: a batch is many small allocations.
            let (batches, waiting): (Vec<Prepared>, Vec<_>) =
                fresh.into_iter().map(|(b, p, a)| (b, (p, a))).unzip();
            let stored = write(store, &batches, closing, log);
            for (permit, ack) in waiting {
                let _ = ack.send(stored);
                // The buffer space comes back now that the batch is in the store.
                drop(permit);
            }
        }
        for done in flushes {
            done();
        }
    }
}

/// What the logging writer hands the inserter.
enum Insert {
    /// Batches durable in the log, to write to the store; then delete these segments and
    /// give back this buffer space.
    Batches(Vec<Prepared>, Vec<PathBuf>, Vec<OwnedSemaphorePermit>),
    /// Call once everything before it is in the store.
    Flush(Box<dyn FnOnce() + Send>),
}

/// ClickHouse: a group is durable once appended to the log and synced; a second thread
/// inserts what the log holds into the store, in blocks at most [`Store::linger`] apart, so
/// that an insert never holds up an acknowledgement.
fn logged(
    store: Arc<dyn Store>,
    mut wal: Wal,
    held: Held,
    jobs: &Receiver<Job>,
    closing: Arc<AtomicBool>,
    days: Days,
    log: &Log,
) {
    let linger = store.linger().min(Duration::from_secs(1));
    let mut caps = caps_of(&*store, days, log);
    let (inserts, inserted) = channel::<Insert>();
    let inserter = {
        let (store, log, closing) = (Arc::clone(&store), log.clone(), Arc::clone(&closing));
        std::thread::Builder::new()
            .name("collector-inserter".into())
            .spawn(move || insert(&*store, &inserted, &closing, &log))
            .expect("the collector cannot start its inserter thread")
    };
    if !held.batches.is_empty() {
        log.info(&format!(
            "writing {} acknowledged batch(es) the write-ahead log held",
            held.batches.len()
        ));
    }
    if held.torn > 0 {
        log.warn(&format!(
            "{} write-ahead log segment(s) ended in a torn or damaged record: read up to it",
            held.torn
        ));
    }
    let _ = inserts.send(Insert::Batches(held.batches, held.segments, Vec::new()));
    let mut pending: Vec<Prepared> = Vec::new();
    let mut permits = Vec::new();
    let mut since: Option<Instant> = None;
    let mut open = true;
    while open {
        let (mut fresh, mut flushes) = (Vec::new(), Vec::new());
        let wait = since.map(|t| (t + linger).saturating_duration_since(Instant::now()));
        open = gather(jobs, wait, &mut caps, &mut fresh, &mut flushes, log);
        if !fresh.is_empty() {
            let appended = wal.append(fresh.iter().map(|(b, _, _)| b));
            if let Err(e) = &appended {
                log.warn(&format!(
                    "could not append {} batch(es) to the write-ahead log ({}): answered 503",
                    fresh.len(),
                    e.kind()
                ));
            }
            for (batch, permit, ack) in fresh {
                let _ = ack.send(appended.is_ok());
                if appended.is_ok() {
                    pending.push(batch);
                    permits.push(permit);
                }
            }
            if !pending.is_empty() {
                since.get_or_insert_with(Instant::now);
            }
        }
        let due = since.is_some_and(|t| t.elapsed() >= linger)
            || pending.len() >= MAX_GROUP
            || !flushes.is_empty()
            || !open;
        if due && !pending.is_empty() {
            match wal.seal() {
                Ok(segments) => {
                    let batch = std::mem::take(&mut pending);
                    let _ = inserts.send(Insert::Batches(
                        batch,
                        segments,
                        std::mem::take(&mut permits),
                    ));
                    since = None;
                }
                Err(e) => {
                    log.warn(&format!(
                        "could not seal a write-ahead log segment ({}): trying again in {} ms",
                        e.kind(),
                        linger.as_millis()
                    ));
                    // Not in a tight loop: after a wait, as if the group had just begun.
                    since = Some(Instant::now());
                }
            }
        }
        for done in flushes {
            let _ = inserts.send(Insert::Flush(done));
        }
    }
    // Everything taken goes to the inserter, which writes it (or leaves it in the log) and
    // ends.
    drop(inserts);
    let _ = inserter.join();
}

/// The inserter: writes each group to the store, then deletes its log segments.
fn insert(store: &dyn Store, inserts: &Receiver<Insert>, closing: &AtomicBool, log: &Log) {
    while let Ok(next) = inserts.recv() {
        match next {
            Insert::Batches(batches, segments, permits) => {
                // Once the collector stops, retries are bounded: what is not written stays
                // in the log, for the next start.
                if write(store, &batches, closing, log) {
                    for segment in segments {
                        let _ = std::fs::remove_file(segment);
                    }
                }
                drop(permits);
            }
            Insert::Flush(done) => done(),
        }
    }
}

/// Writes `group`, retrying a failing store: forever while the collector runs (new batches
/// meanwhile fill the buffer and are refused with `503`), for at most [`SHUTDOWN_RETRIES`]
/// once it stops (`closing`, looked at before every retry). Whether it was written.
fn write(store: &dyn Store, group: &[Prepared], closing: &AtomicBool, log: &Log) -> bool {
    if group.is_empty() {
        return true;
    }
    let mut stopping_since: Option<Instant> = None;
    let mut wait = Duration::from_millis(100);
    loop {
        match store.write(group) {
            Ok(()) => return true,
            Err(e) => {
                log.warn(&format!(
                    "could not store {} batch(es), trying again in {} ms: {e}",
                    group.len(),
                    wait.as_millis()
                ));
            }
        }
        if closing.load(Ordering::Relaxed) {
            stopping_since.get_or_insert_with(Instant::now);
        }
        if stopping_since.is_some_and(|t| t.elapsed() > SHUTDOWN_RETRIES) {
            log.at(
                crate::log::Level::Error,
                &format!(
                    "gave up storing {} acknowledged batch(es) at shutdown: the store kept failing",
                    group.len()
                ),
            );
            return false;
        }
        // While stopping, never sleep past the bound.
        let nap = match stopping_since {
            Some(t) => {
                wait.min(SHUTDOWN_RETRIES.saturating_sub(t.elapsed()) + Duration::from_millis(10))
            }
            None => wait,
        };
        // In short naps, so that a stop is seen within 100 ms.
        let until = Instant::now() + nap;
        while Instant::now() < until {
            if stopping_since.is_none() && closing.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(
                until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            );
        }
        wait = (wait * 2).min(MAX_RETRY_WAIT);
    }
}

impl Writer {
    /// Whether a batch of `size` bytes would fit now: checked before its body is read, so a
    /// full buffer costs a request nothing more (the room is taken once the body is in:
    /// [`Writer::reserve`], so a slow sender holds none).
    pub(crate) fn has_room(&self, size: usize) -> bool {
        let kib = size / 1024 + 1;
        self.budget.available_permits() >= kib
    }

    /// Takes room for a batch of `size` bytes on the wire, or says why not.
    pub(crate) fn reserve(&self, size: usize) -> Result<Reservation, Refused> {
        let kib = u32::try_from(size / 1024 + 1).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.budget)
            .try_acquire_many_owned(kib)
            .map_err(|_| Refused::Busy)?;
        Ok(Reservation {
            permit,
            queue: self.queue.clone(),
        })
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
