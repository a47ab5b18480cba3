//! A small number for every error type a call can count, so a failing call counts its
//! error in its own thread's shard (`counters.rs`) with one plain increment: no channel, no
//! lock, no worker woken.
//!
//! The types this crate names (an `io::Error`'s kind, the std parse errors, `panic`,
//! `other`) have fixed numbers, found by a `match`: the common failing call looks nothing
//! up. A host's own types ([`ErrorType::Named`]) get the next free number of a small
//! append-only table the first time they are seen; past [`NAMED`] distinct ones, the rest
//! are counted as `other`.

use std::sync::OnceLock;

use crate::wire::errors::{ErrorType, IoKind};

/// How many types this crate names, each with a fixed number below this.
const FIXED: usize = IoKind::ALL.len() + 12;

/// How many of a host's own error types get a number of their own.
pub(crate) const NAMED: usize = 32;

/// How many numbers there are: the length of a shard's error counts.
pub(crate) const KINDS: usize = FIXED + NAMED;

static TYPES: [OnceLock<ErrorType>; NAMED] = [const { OnceLock::new() }; NAMED];

/// The fixed number of a type this crate names; `None` for a host's own.
// By reference, from the caller's memory: a failing call's error type is read a byte at a
// time where it was written a byte at a time (a copy of it whole would stall on the store).
#[inline(always)]
fn fixed(error: &ErrorType) -> Option<usize> {
    const IO: usize = IoKind::ALL.len();
    Some(match *error {
        ErrorType::Io(kind) => kind as usize,
        ErrorType::ParseInt => IO,
        ErrorType::ParseFloat => IO + 1,
        ErrorType::ParseBool => IO + 2,
        ErrorType::ParseChar => IO + 3,
        ErrorType::AddrParse => IO + 4,
        ErrorType::Utf8 => IO + 5,
        ErrorType::FromUtf8 => IO + 6,
        ErrorType::TryFromInt => IO + 7,
        ErrorType::Fmt => IO + 8,
        ErrorType::SystemTime => IO + 9,
        ErrorType::Panic => IO + 10,
        ErrorType::Other => IO + 11,
        ErrorType::Named(_) => return None,
    })
}

/// The number of `error`, below [`KINDS`]; a host's type is given one the first time.
#[inline]
pub(crate) fn index_of(error: &ErrorType) -> usize {
    match fixed(error) {
        Some(i) => i,
        None => named_index(*error),
    }
}

#[cold]
#[inline(never)]
fn named_index(error: ErrorType) -> usize {
    for (i, slot) in TYPES.iter().enumerate() {
        // Another thread may claim a free entry first, with another type: then the next
        // entries are looked at, as for any taken one.
        if *slot.get_or_init(|| error) == error {
            return FIXED + i;
        }
    }
    index_of(&ErrorType::Other)
}

/// The error type numbered `i`, if it has been seen.
pub(crate) fn type_at(i: usize) -> Option<ErrorType> {
    match i.checked_sub(FIXED) {
        None => ErrorType::all().find(|e| fixed(e) == Some(i)),
        Some(named) => TYPES.get(named).and_then(|slot| slot.get().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_keeps_its_number() {
        let a = index_of(&ErrorType::Io(IoKind::Interrupted));
        let b = index_of(&ErrorType::named("tests::Odd"));
        assert_ne!(a, b);
        assert_eq!(index_of(&ErrorType::Io(IoKind::Interrupted)), a);
        assert_eq!(type_at(b), Some(ErrorType::named("tests::Odd")));
        assert_eq!(type_at(a), Some(ErrorType::Io(IoKind::Interrupted)));
    }

    #[test]
    fn every_type_of_ours_has_its_own_number_below_the_table() {
        let mut numbers: Vec<usize> = ErrorType::all().map(|e| index_of(&e)).collect();
        assert_eq!(numbers.len(), FIXED);
        for (n, error) in numbers.iter().zip(ErrorType::all()) {
            assert_eq!(type_at(*n), Some(error));
        }
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), FIXED);
        assert!(numbers.iter().all(|&n| n < FIXED));
    }
}
