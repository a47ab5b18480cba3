//! The runtime of the `telemetry` crate. Users depend on the `telemetry` facade, which
//! re-exports what is public here; generated code reaches the rest via `__private`.

mod cache;
mod callsite;
mod clock;
mod counters;
mod retry;
mod timer;

pub use callsite::{CallsiteSnapshot, Features, Kind, callsites, flows_defined, tasks_defined};
pub use counters::{Counts, DURATION_BUCKETS, is_recording, set_recording};

/// Support for the code the macros generate. Not public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::cache::{Cache, CacheKey, CacheValue, Miss, key, key_ref};
    pub use crate::callsite::{Callsite, Features, Kind, Registration};
    pub use crate::counters::{Call, enter};
    pub use crate::retry::{
        OtherOutcome, Outcome, ResultOutcome, Retries, RetryOutcome, retry, run, typed,
    };
    pub use crate::timer::Sleep;
    pub use crate::{__is_err as is_err, __register as register};
    pub use inventory;
}
