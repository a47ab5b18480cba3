//! A host's own, unannotated code that leans on type inference. It compiles without
//! `telemetry` in the dependency graph, so it must compile with it: nothing this crate
//! depends on may add a candidate impl (`impl PartialEq<Value> for u8` from `serde_json`,
//! `impl PartialEq<StatusCode> for u16` from `http`) that makes these ambiguous.
//! `tests/outside_crate.rs` builds this crate, so the test is that it compiles at all.

use telemetry as _;

pub fn no_bytes(v: Vec<u8>) -> bool {
    &*v == &[]
}

pub fn no_shorts(v: Vec<u16>) -> bool {
    &*v == &[]
}

pub fn no_words(v: Vec<u32>) -> bool {
    &*v == &[]
}

pub fn no_longs(v: Vec<u64>) -> bool {
    &*v == &[]
}

pub fn no_signed(v: Vec<i64>) -> bool {
    &*v == &[]
}

pub fn no_sizes(v: Vec<usize>) -> bool {
    &*v == &[]
}

pub fn no_floats(v: Vec<f64>) -> bool {
    &*v == &[]
}

pub fn no_flags(v: Vec<bool>) -> bool {
    &*v == &[]
}

pub fn no_chars(v: Vec<char>) -> bool {
    &*v == &[]
}

pub fn unset(v: Option<u16>) -> bool {
    v == None
}

pub fn widen(v: u16) -> u32 {
    v.into()
}

pub fn total(v: &[u64]) -> u64 {
    v.iter().copied().sum()
}

pub fn digits(v: &[u8]) -> String {
    v.iter().map(|b| b.to_string()).collect()
}

pub fn zero() -> u16 {
    Default::default()
}
