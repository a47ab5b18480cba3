//! The real behaviour of the macro options: what `retries`, `retry_delay_ms`, `cache` and
//! `cache_ttl_secs` do. This works with telemetry off and with the kill switch too: an
//! option is behaviour the host asked for, not telemetry.
//!
//! - [`retry`]: re-run the body while it returns `Err`;
//! - [`sleep`]: the pause between async attempts, on any executor;
//! - [`cache`]: memoize results by argument values.
//!
//! Uses `record` (a retry is counted on the call in progress).

pub(crate) mod cache;
pub(crate) mod retry;
pub(crate) mod sleep;
