//! The worker: one named thread that drains the counters and the event queue, builds
//! batches, and hands them to the transport (SPEC §7).
//!
//! Data flows one way: call sites → counters / queue → worker → transport. The worker sends
//! when `batch_size` events wait or `batch_interval` has passed, and once more when the
//! guard is dropped, within `flush_timeout`. Every batch is written to the spool before it
//! is sent and removed once delivered, so a batch a process could not deliver before exiting
//! is sent by the next one (if consent still holds then). It stops at once, sending nothing
//! more, when consent is switched off.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, after, bounded, select, unbounded};

use crate::calendar::{Clock, Date};
use crate::callsite::{CallsiteSnapshot, Features, Kind, callsites};
use crate::config::Config;
use crate::consent::recheck;
use crate::counters::{Counts, is_recording};
use crate::env::truthy;
use crate::init::switch_off;
use crate::init::try_session_id;
use crate::paths::SPOOL_DIR;
use crate::queue::{self, Message};
use crate::schema::{
    Batch, Body, Calls, Durations, Environment, ErrorType, Errors, Event, FeatureUse, Hour, Id,
    Metrics, Name, SCHEMA_VERSION, Version,
};
use crate::spool::Spool;
use crate::spool_check::is_valid_batch;
use crate::state::{How, StateStore};
use crate::transport::{Endpoint, SendOutcome, Transport, TransportOptions};

/// Everything the worker needs, resolved from the `Config` and the environment by `init`.
pub(crate) struct Settings {
    /// Where batches go; `None` when no valid endpoint is set (then nothing is sent).
    pub endpoint: Option<Endpoint>,
    /// `APP_TELEMETRY_DEBUG`: print each batch to stderr instead of sending it.
    pub debug: bool,
    pub batch_size: usize,
    pub batch_interval: Duration,
    pub heartbeat_interval: Duration,
    pub spool_dir: Option<PathBuf>,
    /// Where the state file is, to record the day of the last delivery.
    pub state_dir: Option<PathBuf>,
    pub today: Clock,
    pub app_version: Version,
    pub user_agent: String,
    pub installation_id: Option<Id>,
    pub session_id: Id,
    pub environment: Environment,
    /// Host-declared names (cargo features, plugins), already checked.
    pub integrations: Vec<Name>,
    pub transport: TransportOptions,
    /// For re-checking consent before each send; `None` in unit tests.
    pub config: Option<Config>,
}

/// Defaults of SPEC §7.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 100;
pub(crate) const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_secs(300);
/// Settings beyond these are clamped: larger values would only overflow a clock.
const MAX_BATCH_SIZE: u64 = 1_000_000;
const MAX_INTERVAL_SECS: u64 = 86_400;

/// How long a periodic send (not the final flush) may take, retries included.
const PERIODIC_SEND_BUDGET: Duration = Duration::from_secs(10);
/// A full queue sends a batch, but never more often than this: a loop of errors must not
/// turn into a stream of requests and disk writes.
const MIN_SEND_GAP: Duration = Duration::from_secs(5);

impl Settings {
    /// The settings in force for `config`: its own, then `APP_TELEMETRY_*` variables.
    pub(crate) fn from_config(config: &Config, session_id: Id) -> Settings {
        let var = |suffix: &str| config.environment().get(&config.var(suffix));
        let number = |suffix: &str, max: u64| {
            var(suffix)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .map(|n| n.min(max))
        };
        let state_dir = config.resolved_config_dir();
        // Only a user who said yes (`enable` or the prompt) has an installation id.
        let installation_id = state_dir
            .as_ref()
            .and_then(|d| StateStore::new(d).read().ok())
            .filter(|s| s.enabled == Some(true))
            .and_then(|s| s.installation_id)
            .map(Id::from);
        Settings {
            // An endpoint that is not allowed (plain http to a remote host, say) sends
            // nothing rather than something unsafe.
            endpoint: config
                .effective_endpoint()
                .and_then(|e| Endpoint::parse(&e).ok()),
            debug: truthy(var("TELEMETRY_DEBUG").as_deref()),
            batch_size: number("TELEMETRY_BATCH_SIZE", MAX_BATCH_SIZE)
                .map_or(DEFAULT_BATCH_SIZE, |n| n as usize),
            batch_interval: number("TELEMETRY_BATCH_INTERVAL_SECONDS", MAX_INTERVAL_SECS)
                .map_or(DEFAULT_BATCH_INTERVAL, Duration::from_secs),
            heartbeat_interval: config
                .heartbeat_interval
                .min(Duration::from_secs(MAX_INTERVAL_SECS)),
            spool_dir: state_dir.as_ref().map(|d| d.join(SPOOL_DIR)),
            state_dir,
            today: config.clock,
            app_version: Version::new(config.version()),
            user_agent: format!("telemetry-rs/{}", env!("CARGO_PKG_VERSION")),
            installation_id,
            session_id,
            environment: Environment::from_setting(var("TELEMETRY_ENVIRONMENT").as_deref()),
            integrations: config
                .integrations
                .iter()
                .filter_map(|n| Name::new(n))
                .collect(),
            transport: TransportOptions::default(),
            config: Some(config.clone()),
        }
    }

    /// Whether anything can ever leave: an endpoint, or debug output.
    fn can_send(&self) -> bool {
        self.debug || self.endpoint.is_some()
    }
}

/// Sizes of the pipeline's buffers, for hosts that want to watch them (and for tests that
/// prove they stay bounded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Discrete events waiting for the worker now.
    pub queue_len: usize,
    /// The most that can wait; beyond it events are dropped and counted.
    pub queue_capacity: usize,
    /// Events dropped because the queue was full, since the process started.
    pub dropped_events: u64,
    /// Batches waiting in the spool.
    pub spool_files: usize,
    /// Their size in bytes.
    pub spool_bytes: u64,
}

/// The sizes now, for the config dir `state_dir`.
pub(crate) fn diagnostics(state_dir: Option<PathBuf>) -> Diagnostics {
    let (spool_files, spool_bytes) =
        state_dir.map_or((0, 0), |d| Spool::new(d.join(SPOOL_DIR)).size());
    Diagnostics {
        queue_len: queue::len(),
        queue_capacity: queue::CAPACITY,
        dropped_events: queue::dropped_total(),
        spool_files,
        spool_bytes,
    }
}

/// What this process has already reported. One per process, shared by every worker (there
/// is one at a time) and by the guard's last-resort flush, so a second `init` neither
/// repeats counts nor sends a second `session` event.
#[derive(Clone)]
struct Reported {
    previous: Vec<Counts>,
    session_sent: bool,
    usage_sent: bool,
    errors: BTreeMap<ErrorType, u64>,
    /// `cli_command` and `custom` events, in the order they came.
    discrete: Vec<Body>,
    /// Events dropped since the process started, as of the last batch.
    dropped_seen: u64,
    pending_events: usize,
    session_start: Hour,
    last_heartbeat: Instant,
}

fn reported() -> MutexGuard<'static, Reported> {
    static REPORTED: OnceLock<Mutex<Reported>> = OnceLock::new();
    REPORTED
        .get_or_init(|| {
            Mutex::new(Reported {
                previous: Vec::new(),
                session_sent: false,
                usage_sent: false,
                errors: BTreeMap::new(),
                discrete: Vec::new(),
                dropped_seen: 0,
                pending_events: 0,
                session_start: Hour::now(),
                last_heartbeat: Instant::now(),
            })
        })
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

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
        if is_recording() && self.shared.settings.can_send() && !self.shared.settings.debug {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.shared.drain_queue();
                if let Some(batch) = self.shared.build()
                    && let (Some(spool), Ok(body)) =
                        (&self.shared.spool, serde_json::to_vec(&batch))
                {
                    spool.write(batch.batch_id, &body);
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
        self.settings.build_from(&mut reported())
    }
}

impl Settings {
    fn event(&self, body: Body) -> Option<Event> {
        Some(Event {
            event_id: Id::random()?,
            session_id: self.session_id,
            installation_id: self.installation_id,
            timestamp: Hour::now(),
            sdk_version: Version::new(env!("CARGO_PKG_VERSION")),
            app_version: self.app_version.clone(),
            rust_version: Version::new(env!("TELEMETRY_RUSTC_VERSION")),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            body,
        })
    }

    /// The batch that follows what `reported` says was already reported, updating it.
    fn build_from(&self, reported: &mut Reported) -> Option<Batch> {
        let mut events = Vec::new();
        let dropped_total = queue::dropped_total();
        let dropped = dropped_total.saturating_sub(reported.dropped_seen);
        reported.dropped_seen = dropped_total;
        if !reported.session_sent {
            let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            events.extend(self.event(Body::Session {
                interactive,
                environment: self.environment,
                integrations: self.integrations.clone(),
            }));
            reported.session_sent = true;
        }
        let sites = callsites();
        let (features, metrics) = usage(&sites, &reported.previous, dropped);
        reported.previous = sites.iter().map(|s| s.counts).collect();
        let moved = metrics.flow_runs != Calls::default()
            || metrics.task_runs != Calls::default()
            || metrics.retry_attempts + metrics.cache_hits + metrics.cache_misses > 0
            || metrics.dropped_events > 0;
        if moved || !reported.usage_sent {
            events.extend(self.event(Body::Usage { features, metrics }));
            reported.usage_sent = true;
        }
        if !reported.errors.is_empty() {
            let errors = Errors {
                exception_types: std::mem::take(&mut reported.errors),
            };
            events.extend(self.event(Body::Error { errors }));
        }
        for body in std::mem::take(&mut reported.discrete) {
            events.extend(self.event(body));
        }
        if reported.last_heartbeat.elapsed() >= self.heartbeat_interval {
            let session_start = reported.session_start;
            events.extend(self.event(Body::Heartbeat { session_start }));
            reported.last_heartbeat = Instant::now();
        }
        reported.pending_events = 0;
        if events.is_empty() {
            return None;
        }
        Some(Batch {
            schema_version: SCHEMA_VERSION,
            batch_id: Id::random()?,
            events,
        })
    }
}

/// What `telemetry preview` shows.
pub(crate) enum Preview {
    /// A batch an earlier run could not send: the next one the worker sends, as it is
    /// stored (pretty-printed), and how many more wait behind it.
    Spooled { json: String, more: usize },
    /// Nothing waits. A batch as this process would build it now (its `session` and
    /// `usage` events), to show what a run sends.
    Example(Box<Batch>),
}

/// The batch `preview` prints. Reads the spool and the counters; writes nothing, sends
/// nothing, and leaves what this process has reported as it was.
pub(crate) fn preview(config: &Config) -> Option<Preview> {
    let session = try_session_id().and_then(Id::parse)?;
    let settings = Settings::from_config(config, session);
    if let Some(dir) = &settings.spool_dir {
        let pending = Spool::new(dir).pending();
        for (i, path) in pending.iter().enumerate() {
            // Skipped here exactly as the worker skips it: it would never be sent.
            if let Some(json) = Spool::read(path)
                .filter(|b| is_valid_batch(b))
                .and_then(|b| pretty(&b))
            {
                let more = pending.len() - i - 1;
                return Some(Preview::Spooled { json, more });
            }
        }
    }
    let mut copy = reported().clone();
    settings
        .build_from(&mut copy)
        .map(|b| Preview::Example(Box::new(b)))
}

/// Compact JSON re-indented the way `serde_json::to_string_pretty` writes it, keeping every
/// byte of content and the order of keys. `None` if it is not UTF-8.
fn pretty(compact: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(compact).ok()?;
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|n| matches!((c, n), ('{', '}') | ('[', ']'))) {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Discrete events kept for one batch at most; beyond this they are counted as dropped
/// (a worker that cannot send must not grow without bound).
const MAX_DISCRETE: usize = queue::CAPACITY;

fn add(reported: &mut Reported, message: Message) {
    match message {
        Message::Error(error) => *reported.errors.entry(error).or_insert(0) += 1,
        Message::Event(body) if reported.discrete.len() < MAX_DISCRETE => {
            reported.discrete.push(*body);
        }
        Message::Event(_) => queue::count_dropped(),
    }
    reported.pending_events += 1;
}

/// One worker thread's run.
struct Run<'a> {
    id: u64,
    shared: &'a Shared,
    transport: Option<Transport>,
    stopped: bool,
    last_send: Option<Instant>,
    last_recorded: Option<Date>,
}

impl<'a> Run<'a> {
    fn new(id: u64, shared: &'a Shared) -> Run<'a> {
        let transport = shared.settings.endpoint.clone().map(|e| {
            Transport::new(
                e,
                &shared.settings.user_agent,
                shared.settings.transport.clone(),
            )
        });
        Run {
            id,
            shared,
            transport,
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

    /// Consent still holds, and this is still the worker in charge. Re-checks rules 2–5
    /// itself, so switching off takes effect before the next send, not at the next
    /// background check.
    fn consent_holds(&self) -> bool {
        if CURRENT_WORKER.load(Relaxed) != self.id || !is_recording() {
            return false;
        }
        if let Some(config) = &self.settings().config
            && let Some(decision) = recheck(config).filter(|d| !d.enabled)
        {
            switch_off(decision.rule);
            return false;
        }
        true
    }

    /// Builds and sends a batch of what is pending. Returns false once the worker should
    /// stop (consent was switched off, or another worker took over).
    fn send_pending(&mut self, deadline: Instant) -> bool {
        if !self.consent_holds() {
            // Nothing more leaves the process.
            let mut reported = reported();
            reported.errors.clear();
            reported.discrete.clear();
            return false;
        }
        if self.stopped || !self.settings().can_send() {
            // Nothing can be sent for the rest of the process: build nothing, keep nothing,
            // and wait a full gap before looking again (a stream of errors must not turn
            // into a stream of consent checks).
            let mut reported = reported();
            reported.errors.clear();
            reported.discrete.clear();
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
            if let Ok(text) = serde_json::to_string_pretty(batch) {
                eprintln!("telemetry (debug, not sent):\n{text}");
            }
            return;
        }
        let Ok(body) = serde_json::to_vec(batch) else {
            return;
        };
        // Written before sending, so that an exit during the send loses nothing.
        let spooled = self
            .shared
            .spool
            .as_ref()
            .and_then(|s| s.write(batch.batch_id, &body));
        match self.send(&body, deadline) {
            Some(SendOutcome::Delivered) => {
                if let Some(path) = spooled {
                    Spool::remove(&path);
                }
                self.record_delivery();
                self.send_spooled(deadline, None);
            }
            Some(SendOutcome::Rejected | SendOutcome::Stopped) => {
                // The endpoint refuses this batch for good: keep nothing of it.
                if let Some(path) = spooled {
                    Spool::remove(&path);
                }
            }
            _ => {}
        }
    }

    fn send(&mut self, body: &[u8], deadline: Instant) -> Option<SendOutcome> {
        if self.stopped {
            return None;
        }
        let outcome = self.transport.as_mut()?.send(body, deadline);
        if matches!(outcome, SendOutcome::Rejected | SendOutcome::Stopped) {
            self.stopped = true;
        }
        Some(outcome)
    }

    /// Notes the day of the delivery in the state file (`status` shows it), once a day.
    fn record_delivery(&mut self) {
        let today = self.settings().today.today();
        if self.last_recorded == Some(today) {
            return;
        }
        self.last_recorded = Some(today);
        if let Some(dir) = &self.settings().state_dir {
            let store = StateStore::new(dir);
            if store.read().is_ok_and(|s| s.last_sent != Some(today)) {
                let _ = store.update(today, How::Api, |s| {
                    s.last_sent = Some(today);
                    Ok(())
                });
            }
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
            // Only what our own types could have written is sent: a file another program
            // put in the spool directory never reaches the wire.
            let Some(body) = Spool::read(&path).filter(|b| is_valid_batch(b)) else {
                Spool::remove(&path);
                continue;
            };
            match self.send(&body, deadline) {
                Some(SendOutcome::Delivered | SendOutcome::Rejected) => Spool::remove(&path),
                _ => return,
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

/// The `usage` payload: which features the binary uses, and counts since `previous`.
fn usage(sites: &[CallsiteSnapshot], previous: &[Counts], dropped: u64) -> (FeatureUse, Metrics) {
    let has = |f: Features| sites.iter().any(|s| s.features.contains(f));
    let features = FeatureUse {
        flow_decorator: sites.iter().any(|s| s.kind == Kind::Flow),
        task_decorator: sites.iter().any(|s| s.kind == Kind::Task),
        async_tasks: has(Features::ASYNC),
        methods: has(Features::METHOD),
        generics: has(Features::GENERIC),
        retries: has(Features::RETRIES),
        retry_delay: has(Features::RETRY_DELAY),
        caching: has(Features::CACHE),
        cache_ttl: has(Features::CACHE_TTL),
    };
    let mut metrics = Metrics {
        flows_defined: sites.iter().filter(|s| s.kind == Kind::Flow).count() as u64,
        tasks_defined: sites.iter().filter(|s| s.kind == Kind::Task).count() as u64,
        dropped_events: dropped,
        ..Metrics::default()
    };
    let mut flow_buckets = [0u64; 6];
    let mut task_buckets = [0u64; 6];
    for (i, site) in sites.iter().enumerate() {
        let before = previous.get(i).copied().unwrap_or_default();
        let now = site.counts;
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let (runs, buckets) = match site.kind {
            Kind::Flow => (&mut metrics.flow_runs, &mut flow_buckets),
            Kind::Task => (&mut metrics.task_runs, &mut task_buckets),
        };
        runs.ok += d(now.ok, before.ok);
        runs.err += d(now.err, before.err);
        runs.panics += d(now.panics, before.panics);
        runs.calls += d(now.calls(), before.calls());
        for (b, (n, p)) in buckets
            .iter_mut()
            .zip(now.durations.iter().zip(before.durations))
        {
            *b += d(*n, p);
        }
        metrics.retry_attempts += d(now.retries, before.retries);
        metrics.cache_hits += d(now.cache_hits, before.cache_hits);
        metrics.cache_misses += d(now.cache_misses, before.cache_misses);
    }
    metrics.flow_durations = Durations::from_buckets(flow_buckets);
    metrics.task_durations = Durations::from_buckets(task_buckets);
    (features, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::IoKind;

    fn shared(heartbeat: Duration) -> Shared {
        Shared {
            settings: Settings {
                endpoint: None,
                debug: false,
                batch_size: DEFAULT_BATCH_SIZE,
                batch_interval: DEFAULT_BATCH_INTERVAL,
                heartbeat_interval: heartbeat,
                spool_dir: None,
                state_dir: None,
                today: Clock::System,
                app_version: Version::new("1.2.3"),
                user_agent: "test".into(),
                installation_id: None,
                session_id: Id::random().unwrap(),
                environment: Environment::Test,
                integrations: vec![Name::new("postgres").unwrap()],
                transport: TransportOptions::default(),
                config: None,
            },
            spool: None,
            events: queue::receiver(),
        }
    }

    fn types(batch: &Batch) -> Vec<&'static str> {
        batch.events.iter().map(|e| e.body.event_type()).collect()
    }

    // One test: what was reported is process-wide, so the steps must not interleave.
    #[test]
    fn batches_carry_the_session_once_then_only_what_changed() {
        let long = shared(Duration::from_secs(3600));
        let first = long.build().unwrap();
        assert_eq!(types(&first), ["session", "usage"]);
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!(json["events"][0]["integrations"][0], "postgres");
        // Nothing happened since: nothing to send.
        assert!(long.build().is_none());
        {
            let mut r = reported();
            add(&mut r, Message::Error(ErrorType::Io(IoKind::NotFound)));
            add(&mut r, Message::Error(ErrorType::Io(IoKind::NotFound)));
            add(&mut r, Message::Error(ErrorType::Panic));
        }
        let batch = long.build().unwrap();
        assert_eq!(types(&batch), ["error"]);
        let Body::Error { errors } = &batch.events[0].body else {
            unreachable!()
        };
        assert_eq!(errors.exception_types[&ErrorType::Io(IoKind::NotFound)], 2);
        assert_eq!(errors.exception_types[&ErrorType::Panic], 1);
        assert!(long.build().is_none(), "errors are sent once");

        // A second worker in the same process (a second `init`) sends no second session.
        let short = shared(Duration::ZERO);
        let next = short.build().unwrap();
        assert_eq!(types(&next), ["heartbeat"]);
        let Body::Heartbeat { session_start } = next.events[0].body else {
            unreachable!()
        };
        assert_eq!(session_start, reported().session_start);
    }

    #[test]
    fn usage_counts_are_differences_since_the_previous_batch() {
        let site = |ok, err| CallsiteSnapshot {
            kind: Kind::Task,
            name: "t",
            module_path: "m",
            features: Features::RETRIES,
            counts: Counts {
                ok,
                err,
                retries: ok,
                durations: [ok + err, 0, 0, 0, 0, 0],
                ..Counts::default()
            },
        };
        let (features, first) = usage(&[site(5, 1)], &[], 3);
        assert!(features.retries && features.task_decorator && !features.flow_decorator);
        assert_eq!(first.task_runs.calls, 6);
        assert_eq!(first.dropped_events, 3);
        let before = [site(5, 1).counts];
        let (_, second) = usage(&[site(9, 1)], &before, 0);
        assert_eq!(second.task_runs.calls, 4);
        assert_eq!(second.task_runs.err, 0);
        assert_eq!(second.retry_attempts, 4);
        assert_eq!(second.task_durations.under_1s, 4);
        assert_eq!(second.tasks_defined, 1);
    }
}
