//! The shapes real crates' fns have, each annotated with a plain `#[task]`: whatever compiles
//! without the attribute compiles with it, behaves the same, and is counted.
//!
//! The first three failed to compile with earlier expansions (the body as a non-`move`
//! closure, or with the return type written on it): a `&mut self` method returning a borrow
//! of the whole `self`, a fn returning `impl Fn(&T)` made of a closure, and a diverging fn.
#![allow(dead_code, clippy::needless_lifetimes)]

mod common;

use std::cmp::Ordering;
use std::future::Future;
use std::pin::Pin;

use common::{block_on, counts};
use telemetry::task;

// ---------------------------------------------------------------------------------------
// 1. A `&mut self` method that uses `self` whole and returns a borrow of it.

enum Either {
    Left(u32),
    Right(String),
}

impl Either {
    #[task]
    fn insert_left(&mut self, val: u32) -> &mut u32 {
        if let Either::Right(_) = self {
            *self = Either::Left(val);
        }
        match self {
            Either::Left(left) => left,
            Either::Right(_) => unreachable!(),
        }
    }

    #[task]
    async fn insert_left_async(&mut self, val: u32) -> &mut u32 {
        if let Either::Right(_) = self {
            *self = Either::Left(val);
        }
        match self {
            Either::Left(left) => left,
            Either::Right(_) => unreachable!(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. A fn returning `impl Fn*(&T)` whose body is a closure.

#[task]
fn key_to_cmp<T, K: Ord>(mut key: impl FnMut(&T) -> K) -> impl FnMut(&T, &T) -> Ordering {
    move |a, b| key(a).cmp(&key(b))
}

#[task]
fn get_hash(entries: &[u64]) -> impl Fn(&usize) -> u64 + '_ {
    move |&i| entries[i]
}

// ---------------------------------------------------------------------------------------
// 3. A diverging fn.

#[task]
fn give_up(why: &str) -> ! {
    panic!("{why}")
}

// ---------------------------------------------------------------------------------------
// The other shapes real crates use.

struct Node {
    value: u32,
}

impl Node {
    #[task]
    #[allow(clippy::boxed_local)] // the shape is the point
    fn boxed(self: Box<Self>) -> u32 {
        self.value
    }

    #[task]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.get_mut().value += 1;
        7
    }

    #[task]
    fn by_value(self) -> Node {
        Node {
            value: self.value * 2,
        }
    }

    #[task]
    #[must_use]
    fn first<'a>(&'a self, others: &'a [u32]) -> &'a u32 {
        others.first().unwrap_or(&self.value)
    }
}

#[task]
fn describe(x: impl std::fmt::Display) -> impl std::fmt::Display {
    format!("<{x}>")
}

#[task]
fn largest<T>(items: &[T]) -> Option<&T>
where
    T: PartialOrd,
{
    items.iter().fold(None, |best: Option<&T>, x| match best {
        Some(b) if b >= x => Some(b),
        _ => Some(x),
    })
}

#[task]
fn sum_array<const N: usize>(items: [u32; N]) -> u32 {
    items.iter().sum()
}

/// # Safety
/// `ptr` must point to a valid `u32`.
#[task]
unsafe fn read(ptr: *const u32) -> u32 {
    unsafe { *ptr }
}

#[task]
fn gated(#[cfg(unix)] on_unix: bool, #[cfg(not(unix))] elsewhere: bool) -> bool {
    #[cfg(unix)]
    return on_unix;
    #[cfg(not(unix))]
    return elsewhere;
}

trait Store {
    fn load(&self, key: u32) -> impl Future<Output = Option<u32>> + Send;
}

struct Memory(Vec<u32>);

impl Store for Memory {
    #[task]
    async fn load(&self, key: u32) -> Option<u32> {
        self.0.get(key as usize).copied()
    }
}

trait Convert<T> {
    fn convert(&self, value: T) -> String;
}

struct Printer;

impl<T: std::fmt::Debug> Convert<T> for Printer {
    #[task]
    fn convert(&self, value: T) -> String {
        format!("{value:?}")
    }
}

/// A trait whose impls must be `unsafe`.
///
/// # Safety
/// `zeroed` must return a value whose every field is zero.
unsafe trait Zeroable {
    fn zeroed() -> Self;
}

unsafe impl Zeroable for Node {
    #[task]
    fn zeroed() -> Node {
        Node { value: 0 }
    }
}

fn calls(name: &str) -> u64 {
    counts("real_shapes", name).calls()
}

#[test]
fn every_shape_compiles_behaves_and_is_counted() {
    telemetry::testing::set_recording(true);

    let mut e = Either::Right("x".into());
    *e.insert_left(4) += 1;
    assert!(matches!(e, Either::Left(5)));
    let mut e = Either::Right("y".into());
    assert_eq!(*block_on(e.insert_left_async(9)), 9);

    let mut cmp = key_to_cmp(|s: &String| s.len());
    assert_eq!(cmp(&"ab".to_string(), &"a".to_string()), Ordering::Greater);
    let entries = [10, 20, 30];
    assert_eq!(get_hash(&entries)(&2), 30);

    let panicked = std::panic::catch_unwind(|| give_up("stop here"));
    assert!(panicked.is_err());

    assert_eq!(Box::new(Node { value: 3 }).boxed(), 3);
    let mut node = Node { value: 1 };
    assert_eq!(Pin::new(&mut node).pinned(), 7);
    assert_eq!(node.value, 2);
    assert_eq!(node.by_value().value, 4);
    assert_eq!(*Node { value: 8 }.first(&[]), 8);
    assert_eq!(describe(5).to_string(), "<5>");
    assert_eq!(largest(&[3, 9, 2]), Some(&9));
    assert_eq!(sum_array([1, 2, 3]), 6);
    assert_eq!(unsafe { read(&41) }, 41);
    assert!(gated(true));
    assert!(!gated(false));
    assert_eq!(block_on(Memory(vec![5, 6]).load(1)), Some(6));
    assert_eq!(Printer.convert(3u8), "3");
    assert_eq!(<Node as Zeroable>::zeroed().value, 0);

    telemetry::testing::set_recording(false);

    for name in [
        "insert_left",
        "insert_left_async",
        "key_to_cmp",
        "get_hash",
        "boxed",
        "pinned",
        "by_value",
        "first",
        "describe",
        "largest",
        "sum_array",
        "read",
        "load",
        "convert",
        "zeroed",
    ] {
        let c = counts("real_shapes", name);
        assert!(c.calls() >= 1 && c.ok == c.calls(), "{name}: {c:?}");
    }
    assert_eq!(calls("gated"), 2);
    let diverged = counts("real_shapes", "give_up");
    assert_eq!(
        (diverged.panics, diverged.ok),
        (1, 0),
        "a diverging fn that panicked"
    );
}
