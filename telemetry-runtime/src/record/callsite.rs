//! Callsite descriptors: one per annotated fn, known at compile time, immutable.

use crate::wire::features::{Features, Kind};

/// The descriptor of one annotated fn. The macros emit exactly one per fn (`callsite!`): a
/// `static` in the binary's callsites' section, whose position there is the callsite's slot
/// in every counter shard, so the call path finds its counters by subtracting two addresses,
/// with nothing to look up or store.
///
/// Aligned to its own size, so the section is an array of them even where a linker pads between
/// contributions (padding is zeros, told apart by a marker every callsite starts with). The
/// descriptor itself, not a pointer to one, is the registration: a `static` per fn and no other
/// constant, which keeps annotating cheap to compile (docs/performance.md, "Compile time").
///
/// Not constructed by hand: it is public only so that generated code can name it.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Callsite {
    /// Always [`MARKER`]: what a slot that holds a callsite starts with.
    marker: u32,
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
            marker: MARKER,
            kind,
            features,
            name,
            module_path,
        }
    }

    /// The callsite in a slot of the section, if the slot holds one rather than padding.
    ///
    /// # Safety
    ///
    /// `slot` points into the callsites' section (between its bounds, at a multiple of
    /// `size_of::<Callsite>()` from its start), which the linker filled with callsites and
    /// zeros only.
    pub(crate) unsafe fn in_slot(slot: *const Callsite) -> Option<&'static Callsite> {
        // SAFETY: the marker is read as a plain integer, through the raw pointer, before
        // any reference to the slot exists; a slot of zeros has no other valid reading.
        let marker = unsafe { (&raw const (*slot).marker).read() };
        // SAFETY: a slot starting with the marker was written by `Callsite::new`, and the
        // section lives as long as the program.
        (marker == MARKER).then(|| unsafe { &*slot })
    }
}

/// What every callsite starts with, and linker padding never does (it is zeros).
const MARKER: u32 = 0x7e1e_ca11;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callsite_fills_its_slot_exactly() {
        // Any padding a linker adds between two 64-aligned callsites is then a whole
        // number of slots.
        assert_eq!(size_of::<Callsite>(), align_of::<Callsite>());
    }

    #[test]
    fn a_slot_of_zeros_is_padding_not_a_callsite() {
        #[repr(C, align(64))]
        struct Zeros([u8; size_of::<Callsite>()]);
        static ZEROS: Zeros = Zeros([0; size_of::<Callsite>()]);
        static REAL: Callsite = Callsite::new(Kind::Task, "f", "m", Features::ASYNC);
        // SAFETY: both are readable, aligned slots holding a callsite or zeros.
        let (padding, real) = unsafe {
            (
                Callsite::in_slot((&raw const ZEROS).cast()),
                Callsite::in_slot(&raw const REAL),
            )
        };
        assert!(padding.is_none());
        let real = real.unwrap();
        assert_eq!((real.name, real.kind), ("f", Kind::Task));
        assert!(real.features.contains(Features::ASYNC));
    }
}
