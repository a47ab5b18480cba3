//! What a developer (or a test) can read back: every callsite in the binary and its
//! counters, summed over threads. Local only: names never leave the process.

use crate::record::counters::{self, Counts};
use crate::record::registry::{self, numbered};
use crate::wire::features::{Features, Kind};

/// A point-in-time copy of one callsite: what it is, and what has been counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallsiteSnapshot {
    /// Flow or task.
    pub kind: Kind,
    /// The fn's name. **Local only**: for display and tests; never part of any event.
    pub name: &'static str,
    /// The fn's module path. **Local only**, like `name`.
    pub module_path: &'static str,
    /// Compile-time feature flags.
    pub features: Features,
    /// Counters since the process started (monotonic; a reader takes differences).
    pub counts: Counts,
}

/// A snapshot of every callsite in the binary and its counters, in a stable order.
///
/// Callsites that were never called are included, with zero counts. The counters only move
/// while recording is on: while consent holds, after `telemetry::init`.
///
/// ```
/// // No annotated fn in this doctest, so there is nothing to list.
/// assert!(telemetry::introspect::callsites().iter().all(|c| c.counts.calls() == 0));
/// ```
pub fn callsites() -> Vec<CallsiteSnapshot> {
    let totals = counters::totals(registry::slots());
    numbered()
        .into_iter()
        .map(|(slot, cs)| CallsiteSnapshot {
            kind: cs.kind,
            name: cs.name,
            module_path: cs.module_path,
            features: cs.features,
            counts: totals[slot],
        })
        .collect()
}

/// How many `#[flow]` fns this binary contains, called or not.
///
/// ```
/// assert_eq!(telemetry::introspect::flows_defined(), 0); // this doctest defines none
/// ```
pub fn flows_defined() -> usize {
    numbered()
        .iter()
        .filter(|(_, cs)| cs.kind == Kind::Flow)
        .count()
}

/// How many `#[task]` fns this binary contains, called or not.
///
/// ```
/// assert_eq!(telemetry::introspect::tasks_defined(), 0); // this doctest defines none
/// ```
pub fn tasks_defined() -> usize {
    numbered()
        .iter()
        .filter(|(_, cs)| cs.kind == Kind::Task)
        .count()
}
