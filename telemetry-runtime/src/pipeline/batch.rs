//! Building batches: what changed since the last batch, as events. Everything here is a
//! plain function of the settings, what was already reported and what was observed, so it is
//! tested without threads; the one process-wide [`Reported`] lives here too.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use crate::pipeline::settings::Settings;
use crate::record::counters::{self, Counts};
use crate::record::queue::{self, Message};
use crate::record::snapshot::{CallsiteSnapshot, callsites};
use crate::wire::buckets::{Concurrency, DurationBucket, Durations};
use crate::wire::errors::ErrorType;
use crate::wire::event::{Batch, Body, Calls, Errors, Event, Metrics};
use crate::wire::features::{FeatureUse, Kind};
use crate::wire::id::{Hour, Id};
use crate::wire::text::Version;

/// What this process has already reported. One per process, shared by every worker (there
/// is one at a time) and by the guard's last-resort flush, so a second `init` neither
/// repeats counts nor sends a second `session` event.
#[derive(Clone)]
pub(crate) struct Reported {
    pub(crate) previous: Vec<Counts>,
    pub(crate) session_sent: bool,
    pub(crate) usage_sent: bool,
    /// Errors per type counted in the shards as of the last batch.
    pub(crate) errors_seen: BTreeMap<ErrorType, u64>,
    /// `cli_command` and `custom` events, in the order they came.
    pub(crate) discrete: Vec<Body>,
    /// Events dropped since the process started, as of the last batch.
    pub(crate) dropped_seen: u64,
    pub(crate) pending_events: usize,
    pub(crate) session_start: Hour,
    pub(crate) last_heartbeat: Instant,
}

impl Reported {
    /// Nothing pending leaves the process: the errors counted so far are taken as seen, and
    /// the `cli_command` and `custom` events waiting are dropped.
    pub(crate) fn forget_pending(&mut self) {
        for (error, total) in counters::error_totals() {
            self.errors_seen.insert(error, total);
        }
        self.discrete.clear();
    }

    /// Nothing reported yet: a process that just started.
    pub(crate) fn new() -> Reported {
        Reported {
            previous: Vec::new(),
            session_sent: false,
            usage_sent: false,
            errors_seen: BTreeMap::new(),
            discrete: Vec::new(),
            dropped_seen: 0,
            pending_events: 0,
            session_start: Hour::now(),
            last_heartbeat: Instant::now(),
        }
    }
}

/// What this process has reported, shared by every worker and the guard.
pub(crate) fn reported() -> MutexGuard<'static, Reported> {
    static REPORTED: OnceLock<Mutex<Reported>> = OnceLock::new();
    REPORTED
        .get_or_init(|| Mutex::new(Reported::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// What a batch is built from besides the settings and what was reported: read off the
/// process by [`Observed::now`], made up by tests.
pub(crate) struct Observed {
    /// Every callsite and its counters.
    pub(crate) sites: Vec<CallsiteSnapshot>,
    /// Events dropped since the process started.
    pub(crate) dropped_total: u64,
    /// Whether stdin and stderr are terminals.
    pub(crate) interactive: bool,
    /// The most flows and tasks seen in flight since the previous batch.
    pub(crate) peaks: (u64, u64),
    /// Errors per type since the process started.
    pub(crate) errors: Vec<(ErrorType, u64)>,
}

impl Observed {
    /// This process, now, for the next batch: the concurrency peaks start again from here.
    pub(crate) fn now() -> Observed {
        Observed::with_peaks(counters::take_peaks())
    }

    /// This process, now, changing nothing (for `preview`).
    pub(crate) fn look() -> Observed {
        Observed::with_peaks(counters::peaks())
    }

    fn with_peaks(peaks: (u64, u64)) -> Observed {
        Observed {
            sites: callsites(),
            dropped_total: queue::dropped_total(),
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            peaks,
            errors: counters::error_totals(),
        }
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
    pub(crate) fn build_from(&self, reported: &mut Reported, now: Observed) -> Option<Batch> {
        let mut events = Vec::new();
        let dropped = now.dropped_total.saturating_sub(reported.dropped_seen);
        reported.dropped_seen = now.dropped_total;
        if !reported.session_sent {
            events.extend(self.event(Body::Session {
                interactive: now.interactive,
                environment: self.environment,
                integrations: self.integrations.clone(),
            }));
            reported.session_sent = true;
        }
        // Errors since the last batch: totals from the shards, less what was already taken.
        let mut errors = BTreeMap::new();
        for (error, total) in &now.errors {
            let seen = reported.errors_seen.entry(*error).or_insert(0);
            let new = total.saturating_sub(*seen);
            *seen = *total;
            if new > 0 {
                *errors.entry(*error).or_insert(0) += new;
            }
        }
        let sites = now.sites;
        let (features, mut metrics) = usage(&sites, &reported.previous, dropped);
        metrics.flow_concurrency = Concurrency::peak(now.peaks.0);
        metrics.task_concurrency = Concurrency::peak(now.peaks.1);
        reported.previous = sites.iter().map(|s| s.counts).collect();
        let moved = metrics.flow_runs != Calls::default()
            || metrics.task_runs != Calls::default()
            || metrics.retry_attempts + metrics.cache_hits + metrics.cache_misses > 0
            || metrics.dropped_events > 0
            || now.peaks != (0, 0);
        if moved || !reported.usage_sent {
            events.extend(self.event(Body::Usage { features, metrics }));
            reported.usage_sent = true;
        }
        if !errors.is_empty() {
            let errors = Errors {
                exception_types: errors,
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
        Batch::new(events)
    }
}

/// Discrete events kept for one batch at most; beyond this they are counted as dropped
/// (a worker that cannot send must not grow without bound).
const MAX_DISCRETE: usize = queue::CAPACITY;

pub(crate) fn add(reported: &mut Reported, message: Message) {
    match message {
        Message::Event(body) if reported.discrete.len() < MAX_DISCRETE => {
            reported.discrete.push(*body);
        }
        Message::Event(_) => queue::count_dropped(),
    }
    reported.pending_events += 1;
}

/// The `usage` payload: which features the binary uses, and counts since `previous`.
fn usage(sites: &[CallsiteSnapshot], previous: &[Counts], dropped: u64) -> (FeatureUse, Metrics) {
    let features = FeatureUse::of(sites.iter().map(|s| (s.kind, s.features)));
    let mut metrics = Metrics {
        flows_defined: sites.iter().filter(|s| s.kind == Kind::Flow).count() as u64,
        tasks_defined: sites.iter().filter(|s| s.kind == Kind::Task).count() as u64,
        dropped_events: dropped,
        ..Metrics::default()
    };
    let mut flow_buckets = [0u64; DurationBucket::COUNT];
    let mut task_buckets = [0u64; DurationBucket::COUNT];
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
    metrics.flow_durations = Durations(flow_buckets);
    metrics.task_durations = Durations(task_buckets);
    (features, metrics)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::base::calendar::Clock;
    use crate::pipeline::client::TransportOptions;
    use crate::wire::errors::IoKind;
    use crate::wire::event::Environment;
    use crate::wire::features::Features;
    use crate::wire::json::{Json, ToJson};
    use crate::wire::text::Name;

    fn settings(heartbeat: Duration) -> Settings {
        Settings {
            endpoint: None,
            debug: false,
            batch_size: 100,
            batch_interval: Duration::from_secs(300),
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
            proxy: None,
            config: None,
        }
    }

    fn quiet() -> Observed {
        Observed {
            sites: Vec::new(),
            dropped_total: 0,
            interactive: false,
            peaks: (0, 0),
            errors: Vec::new(),
        }
    }

    #[test]
    fn the_peaks_in_flight_go_out_as_their_buckets() {
        let s = settings(Duration::from_secs(3600));
        let mut reported = Reported::new();
        let _ = s.build_from(&mut reported, quiet());
        // Nothing else moved: the peaks alone are worth a usage event.
        let observed = Observed {
            peaks: (3, 70),
            ..quiet()
        };
        let batch = s.build_from(&mut reported, observed).unwrap();
        assert_eq!(types(&batch), ["usage"]);
        let metrics = batch.to_json().compact();
        assert!(
            metrics.contains(r#""flow_concurrency":{"1":0,"2-4":1,"5-16":0,"17-64":0,">64":0}"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#""task_concurrency":{"1":0,"2-4":0,"5-16":0,"17-64":0,">64":1}"#)
        );
    }

    fn types(batch: &Batch) -> Vec<&'static str> {
        batch.events.iter().map(|e| e.body.event_type()).collect()
    }

    #[test]
    fn batches_carry_the_session_once_then_only_what_changed() {
        let long = settings(Duration::from_secs(3600));
        let mut reported = Reported::new();
        let first = long.build_from(&mut reported, quiet()).unwrap();
        assert_eq!(types(&first), ["session", "usage"]);
        let json = first.to_json();
        let events = json.get("events");
        let integrations = match events {
            Some(Json::Array(events)) => events[0].get("integrations").cloned(),
            _ => None,
        };
        assert_eq!(integrations, Some(Json::Array(vec![Json::str("postgres")])));
        // Nothing happened since: nothing to send.
        assert!(long.build_from(&mut reported, quiet()).is_none());
        // The shards' totals: two of one type, one panic.
        let totals = |not_found, panics| Observed {
            errors: vec![
                (ErrorType::Io(IoKind::NotFound), not_found),
                (ErrorType::Panic, panics),
            ],
            ..quiet()
        };
        let batch = long.build_from(&mut reported, totals(2, 1)).unwrap();
        assert_eq!(types(&batch), ["error"]);
        let Body::Error { errors } = &batch.events[0].body else {
            unreachable!()
        };
        assert_eq!(errors.exception_types[&ErrorType::Io(IoKind::NotFound)], 2);
        assert_eq!(errors.exception_types[&ErrorType::Panic], 1);
        assert!(
            long.build_from(&mut reported, totals(2, 1)).is_none(),
            "errors are sent once"
        );
        // Only what is new goes next.
        let batch = long.build_from(&mut reported, totals(5, 1)).unwrap();
        let Body::Error { errors } = &batch.events[0].body else {
            unreachable!()
        };
        assert_eq!(errors.exception_types[&ErrorType::Io(IoKind::NotFound)], 3);
        assert!(!errors.exception_types.contains_key(&ErrorType::Panic));

        // Another worker of the same process (a second `init`) shares what was reported:
        // no second session, only what is due.
        let short = settings(Duration::ZERO);
        let next = short.build_from(&mut reported, quiet()).unwrap();
        assert_eq!(types(&next), ["heartbeat"]);
        let Body::Heartbeat { session_start } = next.events[0].body else {
            unreachable!()
        };
        assert_eq!(session_start, reported.session_start);
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
        assert!(features.flags.contains(Features::RETRIES) && features.tasks && !features.flows);
        assert_eq!(first.task_runs.calls, 6);
        assert_eq!(first.dropped_events, 3);
        let before = [site(5, 1).counts];
        let (_, second) = usage(&[site(9, 1)], &before, 0);
        assert_eq!(second.task_runs.calls, 4);
        assert_eq!(second.task_runs.err, 0);
        assert_eq!(second.retry_attempts, 4);
        assert_eq!(second.task_durations.get(DurationBucket::Under1s), 4);
        assert_eq!(second.tasks_defined, 1);
    }
}
