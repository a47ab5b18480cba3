//! The registry: every callsite in the binary, found without calling any of them. A
//! callsite's position in the callsites' section is its slot in every counter shard.

use crate::record::callsite::Callsite;
use crate::record::section;

/// How many slots the section has: the slots of a counter shard.
#[inline(always)]
pub(crate) fn slots() -> usize {
    section::slots().1
}

/// The slot of `callsite`, unchecked: a position past [`slots`] for a callsite not in the
/// section (a platform where callsites are not gathered), which every shard's slice of
/// slots refuses.
#[inline(always)]
pub(crate) fn slot_of(callsite: &'static Callsite) -> usize {
    let (start, _) = section::slots();
    (callsite as *const Callsite as usize).wrapping_sub(start as usize) / size_of::<Callsite>()
}

/// Every callsite in the section, with its slot, in section order; slots the linker padded
/// are left out.
fn every() -> impl Iterator<Item = (usize, &'static Callsite)> {
    let (start, len) = section::slots();
    // The compiler knows `START` as an empty array (on Windows, one it defined itself):
    // hidden from it, reads past it are not assumed out of bounds and folded away. Only
    // walking the slots reads through it; the call path only subtracts addresses.
    let start = std::hint::black_box(start);
    (0..len).filter_map(move |slot| {
        // SAFETY: `slot < len`, so it is a slot of the section between its bounds.
        unsafe { Callsite::in_slot(start.wrapping_add(slot)) }.map(|cs| (slot, cs))
    })
}

/// Every callsite with its slot, in a stable order (module, name, kind) for display.
pub(crate) fn numbered() -> Vec<(usize, &'static Callsite)> {
    let mut all: Vec<(usize, &'static Callsite)> = every().collect();
    all.sort_unstable_by_key(|&(slot, cs)| (cs.module_path, cs.name, cs.kind, slot));
    all
}
