//! The error types a process has seen, each given a small number the first time, so a
//! failing call counts its error in its own thread's shard (`counters.rs`) with one plain
//! increment: no channel, no lock, no worker woken.
//!
//! The table is append-only and fixed in size: a process returns a handful of error types,
//! and past [`KINDS`] distinct ones the rest are counted as `other`.

use std::sync::OnceLock;

use crate::wire::errors::ErrorType;

/// How many distinct error types get a number of their own.
pub(crate) const KINDS: usize = 64;

static TYPES: [OnceLock<ErrorType>; KINDS] = [const { OnceLock::new() }; KINDS];

/// The number of `error`, giving it one if it has none; `None` once the table is full.
#[inline]
pub(crate) fn index_of(error: ErrorType) -> Option<usize> {
    for (i, slot) in TYPES.iter().enumerate() {
        match slot.get() {
            Some(seen) if *seen == error => return Some(i),
            Some(_) => {}
            None => {
                // Another thread may claim this entry first, with another type: then the
                // next entries are looked at, as for any taken one.
                let claimed = slot.get_or_init(|| error);
                if *claimed == error {
                    return Some(i);
                }
            }
        }
    }
    None
}

/// The error type numbered `i`, if it has been seen.
pub(crate) fn type_at(i: usize) -> Option<ErrorType> {
    TYPES.get(i).and_then(|slot| slot.get().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::errors::IoKind;

    #[test]
    fn a_type_keeps_its_number() {
        let a = index_of(ErrorType::Io(IoKind::Interrupted)).unwrap();
        let b = index_of(ErrorType::named("tests::Odd")).unwrap();
        assert_ne!(a, b);
        assert_eq!(index_of(ErrorType::Io(IoKind::Interrupted)), Some(a));
        assert_eq!(type_at(b), Some(ErrorType::named("tests::Odd")));
    }
}
