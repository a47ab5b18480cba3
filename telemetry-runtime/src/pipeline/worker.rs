//! The worker: one named thread that drains the counters and the event queue, builds
//! batches, and hands them to the transport.
//!
//! Data flows one way: call sites → counters / queue → worker → transport. The worker sends
//! when `batch_size` events wait or `batch_interval` has passed, and once more when the
//! guard is dropped, within `flush_timeout`. Every batch is written to the spool before it
//! is sent and removed once delivered, so a batch a process could not deliver before exiting
//! is sent by the next one (if consent still holds then). It stops at once, sending nothing
//! more, when consent is switched off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, after, bounded, select, unbounded};

use crate::base::calendar::Date;
use crate::files::sent_log;
use crate::files::state::How;
use crate::files::store::StateStore;
use crate::pipeline::batch::{Observed, add, reported};
use crate::pipeline::collection::{self, InForce};
use crate::pipeline::settings::{MAX_INTERVAL_SECS, MIN_SEND_GAP, PERIODIC_SEND_BUDGET, Settings};
use crate::pipeline::spool::{self, Spool};
use crate::pipeline::transport::{SendOutcome, Transport};
use crate::pipeline::watch::{CURRENT_WORKER, Watch};
use crate::process;
use crate::record::queue::{self, Message};
use crate::wire::id::{Hour, Id};
use crate::wire::json::{Json, ToJson};
use crate::wire::narrowing::Narrowing;

enum Control {
    /// Send what is pending by `deadline`, then stop.
    Flush { deadline: Instant, done: Sender<()> },
}

/// The handle `init`'s guard keeps.
pub(crate) struct Worker {
    control: Sender<Control>,
    shared: Arc<Shared>,
}

/// What the worker thread and the guard both use.
struct Shared {
    settings: Settings,
    spool: Option<Spool>,
    events: Receiver<Message>,
    /// The collection config in force, and when the collector was last asked
    /// (`collection.rs`).
    collection: Mutex<InForce>,
}

/// A batch as it leaves: built, then narrowed by the collection config.
struct Outgoing {
    batch_id: Id,
    json: Json,
    /// The config it was narrowed by (`Kept::tag`), for the log of sent batches.
    config: Option<String>,
}

impl Worker {
    /// Starts the worker thread; `None` if it could not be spawned (telemetry then just
    /// sends nothing).
    pub(crate) fn start(settings: Settings) -> Option<Worker> {
        let id = CURRENT_WORKER.fetch_add(1, Relaxed) + 1;
        // What was reported starts now: the session's hour and the heartbeat's clock are
        // the process's, not the first batch's (the heartbeat of a short run is in its
        // batch at exit once the interval has passed since start).
        drop(reported());
        let (control, commands) = unbounded();
        let stored = settings.state_dir.as_deref().map(collection::load);
        let shared = Arc::new(Shared {
            spool: settings.spool_dir.clone().map(Spool::new),
            collection: Mutex::new(InForce::new(stored.unwrap_or_default(), &settings)),
            settings,
            events: queue::receiver(),
        });
        let for_thread = Arc::clone(&shared);
        thread::Builder::new()
            .name("telemetry-worker".into())
            .spawn(move || {
                // A panic here must never reach the host; it only ends telemetry.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Run::new(id, &for_thread).run(&commands)
                }));
            })
            .ok()?;
        Some(Worker { control, shared })
    }

    /// Sends what is pending and stops, waiting at most `timeout`. If the worker cannot
    /// finish in time (stuck in a send to a slow endpoint), the pending data is written to
    /// the spool from here, for the next process.
    pub(crate) fn flush(self, timeout: Duration) {
        let started = Instant::now();
        // Leave a little time to write the spool if the worker does not answer.
        let margin = Duration::from_millis(100).min(timeout / 4);
        let deadline = started
            .checked_add(timeout.saturating_sub(margin * 2))
            .unwrap_or(started);
        let wait = timeout.saturating_sub(margin);
        let (done, finished) = bounded(1);
        if self.control.send(Control::Flush { deadline, done }).is_ok()
            && finished.recv_timeout(wait).is_ok()
        {
            return;
        }
        if process::recording() && self.shared.settings.can_send() && !self.shared.settings.debug {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.shared.drain_queue();
                if let Some(batch) = self.shared.build()
                    && let Some(spool) = &self.shared.spool
                {
                    spool.write(batch.batch_id, batch.json.compact().as_bytes());
                }
            }));
        }
    }
}

impl Shared {
    fn drain_queue(&self) {
        let mut reported = reported();
        while let Ok(message) = self.events.try_recv() {
            add(&mut reported, message);
        }
    }

    /// The next batch: what changed since the last one was built (sent or spooled), narrowed
    /// by the collection config; `None` if nothing is left of it (what was counted is
    /// forgotten all the same: the config asked for it not to leave).
    fn build(&self) -> Option<Outgoing> {
        let batch = self.settings.build_from(&mut reported(), Observed::now())?;
        let mut json = batch.to_json();
        let (narrowing, config) = self.narrowing();
        if !narrowing.is_everything() && !narrowing.narrow(&mut json) {
            return None;
        }
        Some(Outgoing {
            batch_id: batch.batch_id,
            json,
            config,
        })
    }

    fn in_force(&self) -> std::sync::MutexGuard<'_, InForce> {
        self.collection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the collection config in force asks of this host, and its tag.
    fn narrowing(&self) -> (Narrowing, Option<String>) {
        let in_force = self.in_force();
        (in_force.narrowing.clone(), in_force.tag.clone())
    }

    /// The config's `interval_secs`, if it sets one.
    fn asked_interval(&self) -> Option<Duration> {
        let secs = self.in_force().narrowing.interval_secs()?;
        Some(Duration::from_secs(secs.min(MAX_INTERVAL_SECS)))
    }

    /// The longest of the host's batch interval and the config's `interval_secs`.
    fn interval(&self) -> Duration {
        let asked = self.asked_interval().unwrap_or_default();
        self.settings.batch_interval.max(asked)
    }
}

/// One worker thread's run.
struct Run<'a> {
    shared: &'a Shared,
    transport: Option<Transport>,
    watch: Watch<'a>,
    stopped: bool,
    last_send: Option<Instant>,
    last_recorded: Option<Date>,
    /// The day the collection config was last asked for: once a day, answered or not.
    config_asked: Option<Date>,
}

impl<'a> Run<'a> {
    fn new(id: u64, shared: &'a Shared) -> Run<'a> {
        let settings = &shared.settings;
        let transport = settings.endpoint.clone().map(|e| {
            Transport::through(
                e,
                &settings.user_agent,
                settings.transport.clone(),
                #[cfg(telemetry_client)]
                settings.proxy.clone(),
            )
        });
        Run {
            shared,
            transport,
            watch: Watch::new(id, settings),
            stopped: false,
            last_send: None,
            last_recorded: None,
            config_asked: None,
        }
    }

    /// Asks the collector for its collection config, if not asked today and consent holds
    /// (`collection.rs`); by `deadline` at the latest.
    fn refresh_config(&mut self, deadline: Instant) {
        let today = self.settings().today.today();
        if self.config_asked == Some(today) || self.settings().debug || !self.consent_holds() {
            return;
        }
        self.config_asked = Some(today);
        let stored = self.shared.in_force().stored.clone();
        let fresh = collection::refresh(self.settings(), stored, deadline);
        *self.shared.in_force() = InForce::new(fresh, self.settings());
    }

    fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    fn run(&mut self, commands: &Receiver<Control>) {
        // Batches left by earlier processes go first, consent permitting; a flush request
        // is checked between them, so exiting is never held up by old batches.
        if !self.settings().debug && self.consent_holds() {
            let deadline = Instant::now() + PERIODIC_SEND_BUDGET;
            self.refresh_config(deadline);
            self.send_spooled(deadline, Some(commands));
        }
        let events = self.shared.events.clone();
        // One timer per interval, not one per event.
        let mut timer = after(self.shared.interval());
        loop {
            select! {
                recv(events) -> message => {
                    let full = {
                        // One lock for everything waiting now, not one per event.
                        let mut reported = reported();
                        if let Ok(message) = message {
                            add(&mut reported, message);
                        }
                        for message in events.try_iter().take(queue::CAPACITY) {
                            add(&mut reported, message);
                        }
                        reported.pending_events >= self.settings().batch_size
                    };
                    // A config's `interval_secs` holds for full batches too.
                    let gap = MIN_SEND_GAP.max(self.shared.asked_interval().unwrap_or_default());
                    let gap_ok = self.last_send.is_none_or(|t| t.elapsed() >= gap);
                    if full && gap_ok {
                        if !self.send_pending(later(PERIODIC_SEND_BUDGET)) {
                            return;
                        }
                        timer = after(self.shared.interval());
                    }
                }
                recv(commands) -> command => {
                    if let Ok(Control::Flush { deadline, done }) = command {
                        self.shared.drain_queue();
                        // Oldest first, as `preview` promises: what earlier runs left, then
                        // this run's batch (which the spool keeps if time runs out).
                        if !self.settings().debug && self.consent_holds() {
                            self.send_spooled(deadline, None);
                        }
                        self.send_pending(deadline);
                        let _ = done.send(());
                    }
                    // Either way (flushed, or the guard went away), this run is over.
                    return;
                }
                recv(timer) -> _ => {
                    if !self.send_pending(later(PERIODIC_SEND_BUDGET)) {
                        return;
                    }
                    timer = after(self.shared.interval());
                }
            }
        }
    }

    /// Consent still holds, and this is still the worker in charge (see [`Watch`]).
    fn consent_holds(&mut self) -> bool {
        self.watch.holds()
    }

    /// Builds and sends a batch of what is pending. Returns false once the worker should
    /// stop (consent was switched off, or another worker took over).
    fn send_pending(&mut self, deadline: Instant) -> bool {
        if !self.consent_holds() {
            // Nothing more leaves the process.
            reported().forget_pending();
            return false;
        }
        if self.stopped || !self.settings().can_send() {
            // Nothing can be sent for the rest of the process: build nothing, keep nothing,
            // and wait a full gap before looking again (a stream of errors must not turn
            // into a stream of consent checks).
            let mut reported = reported();
            reported.forget_pending();
            reported.pending_events = 0;
            self.last_send = Some(Instant::now());
            return true;
        }
        // A long-running process asks for the config again once a day, before the batch
        // is built, so a change reaches it within a day.
        self.refresh_config(deadline);
        if let Some(batch) = self.shared.build() {
            self.last_send = Some(Instant::now());
            self.deliver(&batch, deadline);
        }
        true
    }

    fn deliver(&mut self, batch: &Outgoing, deadline: Instant) {
        if self.settings().debug {
            // Asked for by the user (`APP_TELEMETRY_DEBUG`): show, never send.
            eprintln!("telemetry (debug, not sent):\n{}", batch.json.pretty());
            return;
        }
        let body = batch.json.compact().into_bytes();
        // Written before sending, so that an exit during the send loses nothing; written
        // claimed, so that no other process sends it meanwhile.
        let claim = self
            .shared
            .spool
            .as_ref()
            .and_then(|s| s.write_claimed(batch.batch_id, &body));
        let outcome = self.send(&body, deadline);
        match (outcome, claim) {
            (Some(SendOutcome::Delivered), claim) => {
                if let Some(claim) = claim {
                    claim.done();
                }
                self.record_delivery(&body, batch.config.as_deref());
                self.send_spooled(deadline, None);
            }
            // Refused for good, or consent withdrawn: keep nothing of it (but a refused
            // batch's record, for `log` and `status`).
            (
                Some(SendOutcome::Rejected | SendOutcome::Stopped | SendOutcome::Withdrawn),
                claim,
            ) => {
                if let Some(claim) = claim {
                    claim.done();
                }
                self.record_refusal(&body, batch.config.as_deref());
            }
            // For a later try, by this process or the next.
            (_, claim) => {
                if let Some(claim) = claim {
                    claim.release();
                }
            }
        }
    }

    fn send(&mut self, body: &[u8], deadline: Instant) -> Option<SendOutcome> {
        if self.stopped {
            return None;
        }
        let watch = &mut self.watch;
        let outcome = self
            .transport
            .as_mut()?
            .send_checked(body, deadline, &mut || watch.holds());
        match outcome {
            SendOutcome::Rejected | SendOutcome::Stopped => self.stopped = true,
            SendOutcome::ProxyRefused(status) => {
                // The batch stays in the spool for a process the proxy lets through.
                self.stopped = true;
                self.record_proxy_refusal(status);
            }
            _ => {}
        }
        Some(outcome)
    }

    /// Notes in the state file that the proxy refused the tunnel (`status` says so until a
    /// batch is delivered again).
    fn record_proxy_refusal(&mut self, status: u16) {
        if let Some(dir) = &self.settings().state_dir {
            let today = self.settings().today.today();
            let _ = StateStore::new(dir).update(today, How::Api, |s| {
                s.proxy_refused = Some((today, status));
                Ok(())
            });
        }
    }

    /// Puts a delivered batch on record (`log` shows it), and notes the day of the
    /// delivery in the state file (`status` shows it), once a day.
    fn record_delivery(&mut self, body: &[u8], config: Option<&str>) {
        if let Some(dir) = &self.settings().state_dir {
            sent_log::record(dir, Hour::now(), body, config);
        }
        let today = self.settings().today.today();
        if self.last_recorded == Some(today) {
            return;
        }
        self.last_recorded = Some(today);
        if let Some(dir) = &self.settings().state_dir {
            let store = StateStore::new(dir);
            if store
                .read()
                .is_ok_and(|s| s.last_sent != Some(today) || s.proxy_refused.is_some())
            {
                let _ = store.update(today, How::Api, |s| {
                    s.last_sent = Some(today);
                    s.proxy_refused = None;
                    Ok(())
                });
            }
        }
    }

    /// Puts a batch the collector refused on record (`log` shows it with the reason,
    /// `status` says when), if the last send was refused.
    fn record_refusal(&mut self, body: &[u8], config: Option<&str>) {
        let refusal = self.transport.as_mut().and_then(Transport::take_refusal);
        if let (Some((status, reason)), Some(dir)) = (refusal, &self.settings().state_dir) {
            sent_log::record_refused(dir, Hour::now(), body, status, &reason, config);
        }
    }

    /// Sends spooled batches, oldest first, until one fails, the deadline passes, or (at
    /// start-up) the guard asks to flush.
    fn send_spooled(&mut self, deadline: Instant, interrupt: Option<&Receiver<Control>>) {
        let Some(pending) = self.shared.spool.as_ref().map(Spool::pending) else {
            return;
        };
        for path in pending {
            if Instant::now() >= deadline
                || !self.consent_holds()
                || interrupt.is_some_and(|c| !c.is_empty())
            {
                return;
            }
            // Another process may have claimed it since it was listed: then it sends it.
            let Some(claim) = self.shared.spool.as_ref().and_then(|s| s.claim(&path)) else {
                continue;
            };
            // Only what our own types could have written is sent: a file another program
            // put in the spool directory never reaches the wire (nor, for a host now
            // anonymous, an installation id an earlier run stored).
            let anonymous = self.settings().anonymous();
            // Spooled before the config in force arrived, maybe: narrowed by it now, so a
            // config reaches what waits too. Nothing left of it: not sent.
            let (kept, config) = {
                let in_force = self.shared.in_force();
                (in_force.stored.kept.clone(), in_force.tag.clone())
            };
            let app = collection::app_of(self.settings().endpoint.as_ref());
            let Some(body) = claim
                .read()
                .and_then(|b| spool::sendable(b, anonymous))
                .and_then(|b| collection::narrowed(b, kept.as_ref(), &app))
            else {
                claim.done();
                continue;
            };
            match self.send(&body, deadline) {
                Some(SendOutcome::Delivered) => {
                    claim.done();
                    self.record_delivery(&body, config.as_deref());
                }
                Some(SendOutcome::Rejected | SendOutcome::Withdrawn) => {
                    claim.done();
                    self.record_refusal(&body, config.as_deref());
                }
                _ => {
                    claim.release();
                    return;
                }
            }
        }
    }
}

/// `now + d`, or far in the future if that overflows.
fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(MAX_INTERVAL_SECS))
}
