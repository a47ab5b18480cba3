//! Callsite descriptors: one per annotated fn, known at compile time, immutable.

use crate::wire::features::{Features, Kind};

/// The descriptor of one annotated fn. The macros emit exactly one per fn, as a constant
/// its registration (`callsite!`) points to.
///
/// Not constructed by hand: it is public only so that generated code can name it.
#[derive(Debug)]
pub struct Callsite {
    pub(crate) kind: Kind,
    pub(crate) features: Features,
    // Local only: shown by `callsites()` so a developer can tell callsites apart. No event
    // type has a field that could carry it, so it never leaves the process.
    pub(crate) name: &'static str,
    pub(crate) module_path: &'static str,
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
        }
    }
}

/// A callsite's registration: the `static` in the callsites' section that points to it.
/// Its position in the section is the callsite's slot in every counter shard, so the call
/// path finds its counters by subtracting two addresses, with nothing to look up or store.
pub type Registration = Option<&'static Callsite>;
