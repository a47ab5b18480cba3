//! The worker: one named thread that drains the counters and the event queue, builds
//! batches, and hands them to the transport.
//!
//! Data flows one way: call sites → counters / queue → worker → transport. The worker sends
//! when `batch_size` events wait or `batch_interval` has passed, and once more when the
//! guard is dropped, within `flush_timeout`. Every batch is written to the spool before it
//! is sent and removed once delivered, so a batch a process could not deliver before exiting
//! is sent by the next one (if consent still holds then). It stops at once, sending nothing
//! more, when consent is switched off.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, after, bounded, select, unbounded};

use crate::base::calendar::Date;
use crate::base::paths::STATE_FILE;
use crate::consent::rules::{self, recheck};
use crate::files::sent_log;
use crate::files::state::How;
use crate::files::store::StateStore;
use crate::pipeline::batch::{Observed, add, reported};
use crate::pipeline::settings::{MAX_INTERVAL_SECS, MIN_SEND_GAP, PERIODIC_SEND_BUDGET, Settings};
use crate::pipeline::spool::{self, Spool};
use crate::pipeline::transport::{SendOutcome, Transport};
use crate::process;
use crate::record::queue::{self, Message};
use crate::wire::event::Batch;
use crate::wire::id::Hour;
use crate::wire::json::ToJson;

/// The worker in charge; an older one stops at its next step.
static CURRENT_WORKER: AtomicU64 = AtomicU64::new(0);

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
}

impl Worker {
    /// Starts the worker thread; `None` if it could not be spawned (telemetry then just
    /// sends nothing).
    pub(crate) fn start(settings: Settings) -> Option<Worker> {
        let id = CURRENT_WORKER.fetch_add(1, Relaxed) + 1;
        let (control, commands) = unbounded();
        let shared = Arc::new(Shared {
            spool: settings.spool_dir.clone().map(Spool::new),
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
                    spool.write(batch.batch_id, &batch.to_bytes());
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

    /// The next batch: what changed since the last one was built (sent or spooled).
    fn build(&self) -> Option<Batch> {
        self.settings.build_from(&mut reported(), Observed::now())
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
}

/// Whether sending may go on: consent still holds, and this is still the worker in charge.
/// Kept apart from the transport so the transport can ask it before every attempt.
struct Watch<'a> {
    id: u64,
    shared: &'a Shared,
    /// The state file as last seen (modified, length): re-read only when it changes.
    state_seen: Option<(Option<SystemTime>, u64)>,
}

impl Watch<'_> {
    /// Re-checks rules 2–5 (the environment, the policy file) and, when the state file
    /// changed since last seen (`enable`, `disable` or `reset` in another process), every
    /// rule; switches the process off if they now say off. Turning off never sends anything,
    /// and it takes effect before the next attempt.
    fn holds(&mut self) -> bool {
        if CURRENT_WORKER.load(Relaxed) != self.id || !process::recording() {
            return false;
        }
        let settings = &self.shared.settings;
        let Some(config) = &settings.config else {
            return true;
        };
        if let Some(decision) = recheck(config).filter(|d| !d.enabled) {
            process::switch_off(decision.rule);
            return false;
        }
        let seen = state_file_seen(settings);
        if seen != self.state_seen {
            self.state_seen = seen;
            let decision = rules::resolve_read_only(config);
            if !decision.enabled {
                process::switch_off(decision.rule);
                return false;
            }
        }
        true
    }
}

/// The state file's modification time and length, as cheap a look as there is.
fn state_file_seen(settings: &Settings) -> Option<(Option<SystemTime>, u64)> {
    let dir = settings.state_dir.as_ref()?;
    let meta = std::fs::symlink_metadata(dir.join(STATE_FILE)).ok()?;
    Some((meta.modified().ok(), meta.len()))
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
            watch: Watch {
                id,
                shared,
                state_seen: state_file_seen(settings),
            },
            stopped: false,
            last_send: None,
            last_recorded: None,
        }
    }

    fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    fn run(&mut self, commands: &Receiver<Control>) {
        // Batches left by earlier processes go first, consent permitting; a flush request
        // is checked between them, so exiting is never held up by old batches.
        if !self.settings().debug && self.consent_holds() {
            self.send_spooled(Instant::now() + PERIODIC_SEND_BUDGET, Some(commands));
        }
        let events = self.shared.events.clone();
        // One timer per interval, not one per event.
        let mut timer = after(self.settings().batch_interval);
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
                    let gap_ok = self.last_send.is_none_or(|t| t.elapsed() >= MIN_SEND_GAP);
                    if full && gap_ok {
                        if !self.send_pending(later(PERIODIC_SEND_BUDGET)) {
                            return;
                        }
                        timer = after(self.settings().batch_interval);
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
                    timer = after(self.settings().batch_interval);
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
        if let Some(batch) = self.shared.build() {
            self.last_send = Some(Instant::now());
            self.deliver(&batch, deadline);
        }
        true
    }

    fn deliver(&mut self, batch: &Batch, deadline: Instant) {
        if self.settings().debug {
            // Asked for by the user (`APP_TELEMETRY_DEBUG`): show, never send.
            eprintln!("telemetry (debug, not sent):\n{}", batch.to_json().pretty());
            return;
        }
        let body = batch.to_bytes();
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
                self.record_delivery(&body);
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
                self.record_refusal(&body);
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
    fn record_delivery(&mut self, body: &[u8]) {
        if let Some(dir) = &self.settings().state_dir {
            sent_log::record(dir, Hour::now(), body);
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
    fn record_refusal(&mut self, body: &[u8]) {
        let refusal = self.transport.as_mut().and_then(Transport::take_refusal);
        if let (Some((status, reason)), Some(dir)) = (refusal, &self.settings().state_dir) {
            sent_log::record_refused(dir, Hour::now(), body, status, &reason);
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
            let Some(body) = claim.read().and_then(|b| spool::sendable(b, anonymous)) else {
                claim.done();
                continue;
            };
            match self.send(&body, deadline) {
                Some(SendOutcome::Delivered) => {
                    claim.done();
                    self.record_delivery(&body);
                }
                Some(SendOutcome::Rejected | SendOutcome::Withdrawn) => {
                    claim.done();
                    self.record_refusal(&body);
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
