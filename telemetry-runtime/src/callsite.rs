//! Callsite descriptors: one `static` per annotated fn, known at compile time, and the
//! registry that enumerates them all at run time without calling any of them.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::counters::{self, Counts};

/// Whether an annotated fn is a flow (the unit a user runs) or a task (a step inside it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Declared with `#[flow]`.
    Flow,
    /// Declared with `#[task]`.
    Task,
}

/// The compile-time feature flags of one callsite, as a small bit set.
///
/// The macros compute these from the signature and the options; nothing here is known only
/// at run time.
///
/// ```
/// use telemetry_runtime::Features;
///
/// let f = Features::RETRIES.union(Features::ASYNC);
/// assert!(f.contains(Features::RETRIES));
/// assert!(!f.contains(Features::CACHE));
/// assert_eq!(format!("{f:?}"), "Features(async | retries)");
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Features(u16);

impl Features {
    /// No feature at all: a plain synchronous free fn.
    pub const NONE: Self = Self(0);
    /// An `async fn`.
    pub const ASYNC: Self = Self(1 << 0);
    /// A method (takes `self`, `&self` or `&mut self`).
    pub const METHOD: Self = Self(1 << 1);
    /// Has generic type or const parameters.
    pub const GENERIC: Self = Self(1 << 2);
    /// Takes at least one `impl Trait` argument.
    pub const IMPL_TRAIT_ARG: Self = Self(1 << 3);
    /// Uses `retries = N`.
    pub const RETRIES: Self = Self(1 << 4);
    /// Uses `retry_delay_ms = N`.
    pub const RETRY_DELAY: Self = Self(1 << 5);
    /// Uses `cache`.
    pub const CACHE: Self = Self(1 << 6);
    /// Uses `cache_ttl_secs = N`.
    pub const CACHE_TTL: Self = Self(1 << 7);

    const NAMES: [(Self, &'static str); 8] = [
        (Self::ASYNC, "async"),
        (Self::METHOD, "method"),
        (Self::GENERIC, "generic"),
        (Self::IMPL_TRAIT_ARG, "impl_trait_arg"),
        (Self::RETRIES, "retries"),
        (Self::RETRY_DELAY, "retry_delay"),
        (Self::CACHE, "cache"),
        (Self::CACHE_TTL, "cache_ttl"),
    ];

    /// Both sets of flags.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the flags that are set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(flag, _)| self.contains(*flag))
            .map(|(_, name)| name)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Features(")?;
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
        }
        f.write_str(")")
    }
}

/// The descriptor of one annotated fn. The macros emit exactly one per fn, as a `static`.
///
/// Not constructed by hand: it is public only so that generated code can name it.
pub struct Callsite {
    kind: Kind,
    features: Features,
    // Local only: shown by `callsites()` so a developer can tell callsites apart. No event
    // type has a field that could carry it, so it never leaves the process.
    name: &'static str,
    module_path: &'static str,
    // 1-based position in the registry, 0 until the registry has been built.
    index: AtomicU32,
}

impl Callsite {
    #[doc(hidden)]
    pub const fn new(
        kind: Kind,
        name: &'static str,
        module_path: &'static str,
        features: Features,
    ) -> Self {
        Self {
            kind,
            features,
            name,
            module_path,
            index: AtomicU32::new(0),
        }
    }

    /// The slot of this callsite in a counter shard, if the registry has numbered it.
    #[inline(always)]
    pub(crate) fn slot_index(&self) -> Option<usize> {
        (self.index.load(Ordering::Relaxed) as usize).checked_sub(1)
    }
}

/// The link between a callsite `static` and the registry; what `register!` submits.
#[doc(hidden)]
pub struct Registration(pub &'static Callsite);

inventory::collect!(Registration);

/// Every callsite linked into this binary, numbered once, in a stable order.
pub(crate) fn registry() -> &'static [&'static Callsite] {
    static REGISTRY: OnceLock<Box<[&'static Callsite]>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut all: Vec<&'static Callsite> = inventory::iter::<Registration>
            .into_iter()
            .map(|r| r.0)
            .collect();
        all.sort_by_key(|cs| (cs.module_path, cs.name, cs.kind));
        for (i, cs) in all.iter().enumerate() {
            cs.index.store(i as u32 + 1, Ordering::Relaxed);
        }
        all.into_boxed_slice()
    })
}

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
/// while recording is on (see [`set_recording`](crate::set_recording)).
///
/// ```
/// // No annotated fn in this doctest, so there is nothing to list.
/// assert!(telemetry_runtime::callsites().iter().all(|c| c.counts.calls() == 0));
/// ```
pub fn callsites() -> Vec<CallsiteSnapshot> {
    let all = registry();
    let totals = counters::totals(all.len());
    all.iter()
        .zip(totals)
        .map(|(cs, counts)| CallsiteSnapshot {
            kind: cs.kind,
            name: cs.name,
            module_path: cs.module_path,
            features: cs.features,
            counts,
        })
        .collect()
}

/// How many `#[flow]` fns this binary contains, called or not.
///
/// ```
/// assert_eq!(telemetry_runtime::flows_defined(), 0); // this doctest defines none
/// ```
pub fn flows_defined() -> usize {
    registry().iter().filter(|cs| cs.kind == Kind::Flow).count()
}

/// How many `#[task]` fns this binary contains, called or not.
///
/// ```
/// assert_eq!(telemetry_runtime::tasks_defined(), 0); // this doctest defines none
/// ```
pub fn tasks_defined() -> usize {
    registry().iter().filter(|cs| cs.kind == Kind::Task).count()
}

/// Registers a callsite `static` with the registry. Used by generated code only.
#[cfg(not(telemetry_disabled))]
#[doc(hidden)]
#[macro_export]
macro_rules! __register {
    ($callsite:ident) => {
        $crate::__private::inventory::submit! {
            $crate::__private::Registration(&$callsite)
        }
    };
}

/// With the kill switch, nothing is registered.
#[cfg(telemetry_disabled)]
#[doc(hidden)]
#[macro_export]
macro_rules! __register {
    ($callsite:ident) => {};
}
