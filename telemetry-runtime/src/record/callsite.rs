//! Callsite descriptors: one `static` per annotated fn, known at compile time, and the
//! registry that numbers them all at run time without calling any of them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::wire::features::{Features, Kind};

/// The descriptor of one annotated fn. The macros emit exactly one per fn, as a `static`.
///
/// Not constructed by hand: it is public only so that generated code can name it.
pub struct Callsite {
    pub(crate) kind: Kind,
    pub(crate) features: Features,
    // Local only: shown by `callsites()` so a developer can tell callsites apart. No event
    // type has a field that could carry it, so it never leaves the process.
    pub(crate) name: &'static str,
    pub(crate) module_path: &'static str,
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
