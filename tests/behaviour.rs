//! The options do what they say: retries re-run, caches memoize, on every kind of fn.

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::task::Poll;

use common::{block_on, noop_context};
use telemetry::{flow, task};

#[derive(Debug, PartialEq, Eq, Clone)]
struct Flaky;

static FAIL_TWICE_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2)]
fn fails_twice() -> Result<u32, Flaky> {
    let run = FAIL_TWICE_RUNS.fetch_add(1, SeqCst) + 1;
    if run <= 2 { Err(Flaky) } else { Ok(run) }
}

#[test]
fn retries_rerun_the_body_until_ok() {
    assert_eq!(fails_twice(), Ok(3));
    assert_eq!(FAIL_TWICE_RUNS.load(SeqCst), 3);
}

static ALWAYS_FAILS_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 1)]
fn always_fails() -> Result<(), Flaky> {
    ALWAYS_FAILS_RUNS.fetch_add(1, SeqCst);
    Err(Flaky)
}

#[test]
fn retries_give_up_with_the_last_err() {
    assert_eq!(always_fails(), Err(Flaky));
    assert_eq!(ALWAYS_FAILS_RUNS.load(SeqCst), 2);
}

type Outcome<T> = std::result::Result<T, std::num::ParseIntError>;

thread_local! {
    static ALIAS_RUNS: Cell<u32> = const { Cell::new(0) };
}

/// `?` ends one attempt (not the whole call), and the return type is an alias of `Result`.
#[task(retries = 3)]
fn parse_third_time(inputs: &[&str]) -> Outcome<u32> {
    let run = ALIAS_RUNS.with(|r| {
        r.set(r.get() + 1);
        r.get()
    });
    let n: u32 = inputs[run as usize - 1].parse()?;
    Ok(n + 1000 * run)
}

#[test]
fn question_mark_ends_one_attempt_and_aliases_work() {
    assert_eq!(parse_third_time(&["x", "", "7", "8"]), Ok(3007));
    assert_eq!(ALIAS_RUNS.with(Cell::get), 3);
}

#[task(retries = 2)]
fn early_return(flag: &Cell<u32>) -> Result<&'static str, Flaky> {
    flag.set(flag.get() + 1);
    if flag.get() < 3 {
        return Err(Flaky);
    }
    Ok("done")
}

#[test]
fn return_inside_the_body_ends_one_attempt() {
    let flag = Cell::new(0);
    assert_eq!(early_return(&flag), Ok("done"));
    assert_eq!(flag.get(), 3);
}

static SQUARE_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(cache)]
fn square(x: u64) -> u64 {
    SQUARE_RUNS.fetch_add(1, SeqCst);
    x * x
}

#[test]
fn cache_runs_the_body_once_per_argument() {
    assert_eq!(square(12), 144);
    assert_eq!(square(12), 144);
    assert_eq!(SQUARE_RUNS.load(SeqCst), 1);
    assert_eq!(square(3), 9);
    assert_eq!(SQUARE_RUNS.load(SeqCst), 2);
    assert_eq!(square(12), 144);
    assert_eq!(SQUARE_RUNS.load(SeqCst), 2);
}

static WORD_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(cache)]
fn shout(word: &str, times: usize) -> String {
    WORD_RUNS.fetch_add(1, SeqCst);
    word.to_uppercase().repeat(times)
}

#[test]
fn cache_keys_borrowed_arguments_by_value() {
    let a = String::from("hey");
    assert_eq!(shout(&a, 2), "HEYHEY");
    assert_eq!(shout("hey", 2), "HEYHEY");
    assert_eq!(WORD_RUNS.load(SeqCst), 1);
    assert_eq!(shout("hey", 3), "HEYHEYHEY");
    assert_eq!(WORD_RUNS.load(SeqCst), 2);
}

static LOOKUP_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(cache)]
fn lookup(id: u32) -> Result<String, Flaky> {
    let run = LOOKUP_RUNS.fetch_add(1, SeqCst);
    if run == 0 {
        Err(Flaky)
    } else {
        Ok(format!("record {id}"))
    }
}

#[test]
fn cache_does_not_keep_errors() {
    assert_eq!(lookup(1), Err(Flaky));
    assert_eq!(lookup(1), Ok("record 1".to_string()));
    assert_eq!(lookup(1), Ok("record 1".to_string()));
    assert_eq!(LOOKUP_RUNS.load(SeqCst), 2);
}

static CACHED_RETRY_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 1, cache)]
fn cached_and_retried(x: u8) -> Result<u8, Flaky> {
    if CACHED_RETRY_RUNS.fetch_add(1, SeqCst) == 0 {
        Err(Flaky)
    } else {
        Ok(x)
    }
}

#[test]
fn cache_and_retries_combine() {
    assert_eq!(cached_and_retried(4), Ok(4));
    assert_eq!(cached_and_retried(4), Ok(4));
    assert_eq!(CACHED_RETRY_RUNS.load(SeqCst), 2);
}

#[derive(Clone, Hash, PartialEq, Eq)]
struct Counter {
    step: u32,
    total: u32,
}

impl Counter {
    #[task]
    fn peek(&self) -> u32 {
        self.total
    }

    #[task(retries = 2)]
    fn bump_until(&mut self, limit: u32) -> Result<u32, u32> {
        self.total += self.step;
        if self.total < limit {
            Err(self.total)
        } else {
            Ok(self.total)
        }
    }

    #[flow]
    fn into_total(self) -> u32 {
        self.total
    }

    #[task(cache)]
    fn scaled(&self, by: u32) -> u32 {
        SCALED_RUNS.fetch_add(1, SeqCst);
        self.total * by
    }
}

static SCALED_RUNS: AtomicU32 = AtomicU32::new(0);

#[test]
fn methods_by_ref_by_mut_and_by_value() {
    let mut c = Counter { step: 2, total: 0 };
    assert_eq!(c.bump_until(5), Ok(6));
    assert_eq!(c.peek(), 6);
    assert_eq!(c.scaled(10), 60);
    assert_eq!(c.scaled(10), 60);
    assert_eq!(SCALED_RUNS.load(SeqCst), 1);
    let other = Counter { step: 1, total: 7 };
    assert_eq!(other.scaled(10), 70, "self is part of the cache key");
    assert_eq!(SCALED_RUNS.load(SeqCst), 2);
    assert_eq!(c.into_total(), 6);
}

#[task]
fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {
    let mut best = *items.first()?;
    for &item in items {
        if item > best {
            best = item;
        }
    }
    Some(best)
}

#[task(cache)]
fn doubled<T: std::ops::Add<Output = T> + Copy + std::hash::Hash + Eq + Send + Sync + 'static>(
    x: T,
) -> T {
    x + x
}

#[test]
fn generic_fns() {
    assert_eq!(largest(&[3, 9, 2]), Some(9));
    assert_eq!(largest(&["b", "a"]), Some("b"));
    assert_eq!(largest::<u8>(&[]), None);
    assert_eq!(doubled(4u8), 8);
    assert_eq!(doubled(4u64), 8, "each instantiation has its own cache");
    assert_eq!(doubled(4u8), 8);
}

#[task(retries = 1)]
fn describe(item: impl std::fmt::Display, attempts: &Cell<u32>) -> Result<String, ()> {
    attempts.set(attempts.get() + 1);
    if attempts.get() == 1 {
        Err(())
    } else {
        Ok(format!("<{item}>"))
    }
}

#[task]
fn numbers(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[test]
fn impl_trait_arguments_and_returns() {
    let attempts = Cell::new(0);
    assert_eq!(describe(42, &attempts), Ok("<42>".to_string()));
    assert_eq!(attempts.get(), 2);
    assert_eq!(numbers(4).sum::<u32>(), 6);
}

static ASYNC_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2)]
async fn async_fails_once(x: &str) -> Result<usize, Flaky> {
    if ASYNC_RUNS.fetch_add(1, SeqCst) == 0 {
        return Err(Flaky);
    }
    Ok(x.len())
}

static ASYNC_DELAY_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 3, retry_delay_ms = 20)]
async fn async_with_delay() -> Result<u32, Flaky> {
    let run = ASYNC_DELAY_RUNS.fetch_add(1, SeqCst) + 1;
    if run < 3 { Err(Flaky) } else { Ok(run) }
}

static ASYNC_CACHE_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(cache)]
async fn async_cached(key: String) -> usize {
    ASYNC_CACHE_RUNS.fetch_add(1, SeqCst);
    key.len()
}

#[flow]
async fn async_flow() -> Result<usize, Flaky> {
    let a = async_fails_once("four").await?;
    let b = async_cached("abc".into()).await;
    Ok(a + b)
}

#[test]
fn async_fns_on_a_hand_written_executor() {
    assert_eq!(block_on(async_flow()), Ok(7));
    assert_eq!(ASYNC_RUNS.load(SeqCst), 2);
    assert_eq!(block_on(async_cached("abc".into())), 3);
    assert_eq!(ASYNC_CACHE_RUNS.load(SeqCst), 1);
    assert_eq!(block_on(async_with_delay()), Ok(3));
    assert_eq!(ASYNC_DELAY_RUNS.load(SeqCst), 3);
}

static NONBLOCKING_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 1, retry_delay_ms = 60_000)]
async fn waits_a_minute() -> Result<(), Flaky> {
    NONBLOCKING_RUNS.fetch_add(1, SeqCst);
    Err(Flaky)
}

#[test]
fn async_retry_delay_does_not_block_the_executor_thread() {
    // A blocking sleep would hold this poll for a minute; a proper delay yields at once.
    let mut cx = noop_context();
    let mut fut = std::pin::pin!(waits_a_minute());
    assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Pending));
    assert_eq!(NONBLOCKING_RUNS.load(SeqCst), 1);
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn async_futures_stay_send() {
    let fut = async_fails_once("x");
    assert_send(&fut);
    let fut = async_with_delay();
    assert_send(&fut);
    let fut = async_cached(String::new());
    assert_send(&fut);
}

#[task]
pub(crate) unsafe fn read_raw(p: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[test]
fn unsafe_fns_and_visibility() {
    let x = 9u8;
    // SAFETY: `&x` is valid for reads.
    assert_eq!(unsafe { read_raw(&x) }, 9);
}
