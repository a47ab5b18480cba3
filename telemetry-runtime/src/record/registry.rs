//! The registry: every callsite in the binary, found without calling any of them. A
//! callsite's position in the callsites' section is its slot in every counter shard.

use crate::record::callsite::{Callsite, Registration};
use crate::record::section;

/// Every registration, in section order: the slots of a counter shard. `None` where a linker
/// padded the section.
#[inline(always)]
pub(crate) fn registry() -> &'static [Registration] {
    section::registrations()
}

/// The slot of the callsite registered at `entry`; `None` if `entry` is not in the section
/// (a platform where callsites are not gathered).
#[inline(always)]
pub(crate) fn slot_of(entry: &'static Registration) -> Option<usize> {
    let all = registry();
    let start = all.as_ptr() as usize;
    let offset = (entry as *const Registration as usize).wrapping_sub(start);
    let slot = offset / size_of::<Registration>();
    (slot < all.len()).then_some(slot)
}

/// Every callsite with its slot, in a stable order (module, name, kind) for display.
pub(crate) fn numbered() -> Vec<(usize, &'static Callsite)> {
    let mut all: Vec<(usize, &'static Callsite)> = registry()
        .iter()
        .enumerate()
        .filter_map(|(slot, entry)| Some((slot, (*entry)?)))
        .collect();
    all.sort_by_key(|(_, cs)| (cs.module_path, cs.name, cs.kind));
    all
}
