//! A small host library with annotated fns of every shape.
//!
//! The lints a host may deny are denied here: the expansion must not add a warning to code
//! that had none.
#![deny(unused_braces, unused_parens, unused_mut, unused_variables, unreachable_code)]

pub mod host_code;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use telemetry::{flow, task};

/// Runs of each fn's body, by name, so tests can tell how often a body ran.
pub struct Runs(pub std::sync::Mutex<HashMap<&'static str, u32>>);

pub static RUNS: std::sync::LazyLock<Runs> =
    std::sync::LazyLock::new(|| Runs(std::sync::Mutex::new(HashMap::new())));

pub fn ran(name: &'static str) -> u32 {
    RUNS.0.lock().unwrap().get(name).copied().unwrap_or(0)
}

fn note(name: &'static str) -> u32 {
    let mut runs = RUNS.0.lock().unwrap();
    let n = runs.entry(name).or_insert(0);
    *n += 1;
    *n
}

#[derive(Debug, PartialEq, Eq)]
pub struct Failed(pub u32);

pub type Res<T> = Result<T, Failed>;

#[task(retries = 2)]
pub fn fails_twice_then_ok() -> Res<u32> {
    let run = note("fails_twice_then_ok");
    if run <= 2 {
        Err(Failed(run))
    } else {
        Ok(run)
    }
}

#[task(retries = 1)]
pub fn always_fails() -> Res<()> {
    Err(Failed(note("always_fails")))
}

#[task(cache)]
pub fn expensive(x: u64) -> u64 {
    note("expensive");
    x * 3
}

pub struct Greeter {
    pub greeting: String,
}

impl Greeter {
    #[task]
    pub fn greet(&self, name: &str) -> String {
        format!("{}, {name}", self.greeting)
    }

    #[task(retries = 1)]
    pub fn set(&mut self, g: &str, attempts: &Cell<u32>) -> Result<(), ()> {
        attempts.set(attempts.get() + 1);
        if attempts.get() == 1 {
            return Err(());
        }
        self.greeting = g.to_string();
        Ok(())
    }

    #[flow]
    pub fn finish(self) -> usize {
        self.greeting.len()
    }
}

#[task]
pub fn first<T: Clone>(items: &[T]) -> Option<T> {
    items.first().cloned()
}

#[task]
pub fn render(value: impl std::fmt::Display) -> String {
    format!("[{value}]")
}

static ASYNC_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2)]
pub async fn async_fails_once() -> Res<u32> {
    let run = ASYNC_RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    if run == 1 {
        Err(Failed(run))
    } else {
        Ok(run)
    }
}

static DELAYED_RUNS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2, retry_delay_ms = 10)]
pub async fn async_delayed() -> Res<u32> {
    let run = DELAYED_RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    if run < 3 {
        Err(Failed(run))
    } else {
        Ok(run)
    }
}

#[task(cache, cache_ttl_secs = 3600)]
pub async fn async_cached(key: u8) -> u8 {
    note("async_cached");
    key + 1
}

#[flow]
pub async fn pipeline() -> Res<u32> {
    let a = async_fails_once().await?;
    let b = async_delayed().await?;
    let c = u32::from(async_cached(1).await);
    Ok(a + b + c)
}

#[flow]
pub fn never_called() {}

/// A one-expression body: wrapped in braces of ours, rustc would warn `unused_braces`.
#[task]
pub fn one_expression(n: u32) -> u32 {
    n + 1
}

/// The number of annotated fns in this file.
pub const ANNOTATED: usize = 22;

/// Bodies that never complete: what follows them in the expansion is unreachable, and must
/// not be reported as the host's (`unreachable_code` is denied above).
#[task]
pub fn not_yet(n: u32) -> u32 {
    let _ = n;
    todo!("later")
}

#[flow]
pub async fn not_yet_async(n: u32) -> u64 {
    let _ = n;
    unimplemented!()
}

#[task]
pub fn spins() -> u8 {
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Bodies that start with inner attributes, in every shape: the attributes are the fn's, and
/// the body still compiles where the expansion puts it (a `let`'s value, a closure, an
/// `async` block).
#[task]
pub fn narrows(n: u64) -> u32 {
    #![allow(clippy::cast_possible_truncation)]
    n as u32
}

#[task]
pub fn narrows_or_fails(n: u64) -> Result<u32, Failed> {
    #![allow(clippy::cast_possible_truncation)]
    //! Documents the fn, as an inner doc comment in a body does.
    if n > 10 {
        return Err(Failed(n as u32));
    }
    Ok(n as u32)
}

#[task]
pub async fn narrows_later(n: u64) -> Result<u32, Failed> {
    #![allow(clippy::cast_possible_truncation)]
    Ok(n as u32)
}

#[task]
pub async fn narrows_inline(n: u64) -> u32 {
    #![allow(clippy::cast_possible_truncation)]
    n as u32
}

/// Drops, in the order they happened.
pub static DROPS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

pub struct Noisy(pub &'static str);

impl Noisy {
    pub fn value(&self) -> u32 {
        self.0.len() as u32
    }
}

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.lock().unwrap().push(self.0);
    }
}

/// A body that may end early keeps the host's edition: in this 2021 crate the temporary of
/// its last expression is dropped after its locals (Rust 2024 drops it before them).
#[task]
pub fn tail_temporary(early: bool) -> Res<u32> {
    let _local = Noisy("local");
    if early {
        return Ok(0);
    }
    Ok(Noisy("tail").value())
}

