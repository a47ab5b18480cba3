//! Bodies that end early, kept where they were written: the macros rewrite a fn's own
//! `return`s and `?`s as breaks out of a labeled block (docs/macros.md, "What the macros
//! inject"). Each fn here behaves as it does without the attribute, and each call is counted
//! with the outcome it had: the rewrite may not turn an `Err` into an ok call, a `return`
//! into a panic, or change what `?` converts.
#![allow(clippy::needless_return)]

mod common;

use std::cell::Cell;
use std::num::ParseIntError;
use std::task::Poll;

use common::{block_on, counts};
use telemetry::task;

#[derive(Debug, PartialEq)]
enum AppError {
    Parse,
    TooLarge(u32),
}

impl From<ParseIntError> for AppError {
    fn from(_: ParseIntError) -> Self {
        AppError::Parse
    }
}

/// `?` converting with `From`, a `return` of an `Err`, and the value at the end.
#[task]
fn parse_small(text: &str) -> Result<u32, AppError> {
    let n: u32 = text.trim().parse()?;
    if n > 10 {
        return Err(AppError::TooLarge(n));
    }
    Ok(n * 2)
}

/// A `return` inside nested loops, past a labeled `break` and a `continue` of the host's own.
#[task]
fn first_pair(rows: &[&[i32]], target: i32) -> Result<(usize, usize), String> {
    'rows: for (i, row) in rows.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            if x < 0 {
                continue 'rows;
            }
            if x > 100 {
                break 'rows;
            }
            if x == target {
                return Ok((i, j));
            }
        }
    }
    Err(format!("no {target}"))
}

/// Closures, `async` blocks and nested fns keep their own `return` and `?`.
#[task]
fn sum_valid(items: &[&str]) -> Result<u32, ParseIntError> {
    fn half(x: Option<u32>) -> Option<u32> {
        let x = x?;
        Some(x / 2)
    }
    let parsed = |s: &str| -> Option<u32> {
        let n = s.parse::<u32>().ok()?;
        return Some(n);
    };
    let later = async { return 1u32 };
    drop(later);
    let mut total = 0;
    for s in items {
        total += parsed(s).and_then(|n| half(Some(n))).unwrap_or(0);
    }
    let last: u32 = items.last().copied().unwrap_or("0").parse()?;
    Ok(total + last)
}

/// `?` on a `Poll` of a `Result`, which the `?` of a `Result`-returning fn also takes.
#[task]
fn ready(value: Poll<Result<u8, ParseIntError>>) -> Result<Poll<u8>, ParseIntError> {
    let v = value?;
    Ok(v)
}

struct Table {
    rows: Vec<u32>,
    fallback: u32,
}

impl Table {
    /// A `&mut self` method returning a borrow of `self` from an early exit.
    #[task]
    fn slot(&mut self, i: usize) -> Result<&mut u32, AppError> {
        if i >= self.rows.len() {
            return Err(AppError::TooLarge(i as u32));
        }
        if self.rows[i] == 0 {
            return Ok(&mut self.fallback);
        }
        Ok(&mut self.rows[i])
    }

    /// A type the macro cannot see is a `Result`: a `return` is rewritten, the value kept.
    #[task]
    fn cleared(mut self, keep: bool) -> Self {
        if keep {
            return self;
        }
        self.rows.clear();
        self
    }
}

#[task]
async fn fetch_len(text: &str, tries: &Cell<u32>) -> Result<usize, AppError> {
    tries.set(tries.get() + 1);
    if text.is_empty() {
        return Ok(0);
    }
    let n = async { text.parse::<u32>() }.await?;
    Ok(n as usize)
}

#[task]
async fn halve(x: Option<u32>) -> Option<u32> {
    let x = x?;
    if x % 2 == 1 {
        return None;
    }
    Some(x / 2)
}

#[task]
fn gives_up(text: &str) -> Result<u32, AppError> {
    let n: u32 = text.parse()?;
    if n == 0 {
        panic!("zero");
    }
    Ok(n)
}

/// What follows a `?` applies to its value wherever the `?` stands: a block's first token, a
/// statement's start, before `as`, an index or a call.
#[task]
fn after_the_question(s: Option<&str>, k: u32) -> Result<u64, AppError> {
    let len = if let Some(x) = s {
        parse_small(x)? + 1
    } else {
        0
    };
    let wide = match k {
        0 => 0,
        _ => parse_small("3")? as u64,
    };
    let table: Result<[u32; 2], AppError> = Ok([k, k + 1]);
    let first = table?[0];
    let pick: Result<fn(u32) -> u32, AppError> = Ok(|x| x * 10);
    let picked = pick?(k);
    Ok(len as u64 + wide + first as u64 + picked as u64)
}

/// An attribute on a `?` statement applies to it as before: compiled out, it never runs.
#[task]
fn attributed() -> Result<u32, AppError> {
    #[cfg(any())]
    parse_small("x")?;
    let x = (parse_small("2"))?;
    Ok(x)
}

struct Limits {
    max: u32,
}

impl Limits {
    fn check(&self, v: u32) -> Option<u32> {
        (v <= self.max).then_some(v)
    }
}

/// A struct literal in the operand of `?`, parentheses the host wrote around it.
#[task]
async fn within(v: u32, boxed: Box<Option<u32>>) -> Option<u32> {
    let checked = Limits { max: 10 }.check(v)?;
    let extra = (*boxed)?;
    Some(checked + extra)
}

mod shadow {
    // A macro of the host's with a standard name, which hides a `return`.
    macro_rules! write {
        ($e:expr) => {
            if $e {
                return Err(crate::AppError::Parse);
            }
        };
    }
    pub(crate) use write;
}

/// Called by its path, it is not the standard library's `write!`: the body is wrapped, and
/// the `Err` it returns counted.
#[task]
fn shadowed(v: u32) -> Result<u32, AppError> {
    shadow::write!(v == 0);
    Ok(v)
}

/// An error that records where it was made, as `snafu` and `error-stack` errors do.
#[derive(Debug)]
struct Located(u32);

impl From<ParseIntError> for Located {
    #[track_caller]
    fn from(_: ParseIntError) -> Self {
        Located(std::panic::Location::caller().line())
    }
}

#[task]
fn located(text: &str) -> Result<u32, Located> {
    let n: u32 = text.parse()?; // the `?` of `located`
    Ok(n)
}

fn ok_err_panics(name: &str) -> (u64, u64, u64) {
    let c = counts("early_exits", name);
    (c.ok, c.err, c.panics)
}

#[test]
fn early_exits_behave_as_written_and_are_counted_by_outcome() {
    telemetry::testing::set_recording(true);

    assert_eq!(parse_small(" 4 "), Ok(8));
    assert_eq!(parse_small("x"), Err(AppError::Parse));
    assert_eq!(parse_small("11"), Err(AppError::TooLarge(11)));

    let rows: [&[i32]; 3] = [&[1, -1, 7], &[2, 7], &[200, 7]];
    assert_eq!(first_pair(&rows, 7), Ok((1, 1)));
    assert_eq!(first_pair(&rows, 9), Err("no 9".to_string()));

    assert_eq!(sum_valid(&["4", "x", "6"]), Ok(2 + 3 + 6));
    assert!(sum_valid(&["4", "x"]).is_err());

    assert_eq!(ready(Poll::Ready(Ok(3))), Ok(Poll::Ready(3)));
    assert_eq!(ready(Poll::Pending), Ok(Poll::Pending));
    assert!(ready(Poll::Ready("x".parse::<u8>())).is_err());

    let mut table = Table {
        rows: vec![5, 0],
        fallback: 9,
    };
    *table.slot(0).unwrap() += 1;
    *table.slot(1).unwrap() += 1;
    assert_eq!(table.slot(2), Err(AppError::TooLarge(2)));
    assert_eq!((table.rows[0], table.fallback), (6, 10));
    let table = table.cleared(true);
    assert_eq!(table.cleared(false).rows, Vec::<u32>::new());

    let tries = Cell::new(0);
    assert_eq!(block_on(fetch_len("", &tries)), Ok(0));
    assert_eq!(block_on(fetch_len("12", &tries)), Ok(12));
    assert_eq!(block_on(fetch_len("z", &tries)), Err(AppError::Parse));
    assert_eq!(tries.get(), 3);
    assert_eq!(block_on(halve(Some(8))), Some(4));
    assert_eq!(block_on(halve(Some(3))), None);
    assert_eq!(block_on(halve(None)), None);

    assert_eq!(gives_up("7"), Ok(7));
    assert_eq!(gives_up("-"), Err(AppError::Parse));
    assert!(std::panic::catch_unwind(|| gives_up("0")).is_err());

    assert_eq!(after_the_question(Some("2"), 3), Ok(5 + 6 + 3 + 30));
    assert_eq!(after_the_question(None, 0), Ok(0));
    assert_eq!(after_the_question(Some("x"), 1), Err(AppError::Parse));
    assert_eq!(attributed(), Ok(4));
    assert_eq!(block_on(within(4, Box::new(Some(1)))), Some(5));
    assert_eq!(block_on(within(40, Box::new(Some(1)))), None);
    assert_eq!(block_on(within(4, Box::new(None))), None);
    assert_eq!(shadowed(3), Ok(3));
    assert_eq!(shadowed(0), Err(AppError::Parse));
    let Err(Located(line)) = located("x") else {
        panic!("not a number");
    };
    let marker = ["// the `?` of", " `located`"].concat();
    let expected = include_str!("early_exits.rs")
        .lines()
        .position(|l| l.ends_with(&marker))
        .unwrap() as u32
        + 1;
    assert_eq!(line, expected, "the `From` of a `?` sees the host's line");

    telemetry::testing::set_recording(false);

    // Three calls above, and four more from the fns below that call it.
    assert_eq!(ok_err_panics("parse_small"), (4, 3, 0));
    assert_eq!(ok_err_panics("first_pair"), (1, 1, 0));
    assert_eq!(ok_err_panics("sum_valid"), (1, 1, 0));
    assert_eq!(ok_err_panics("ready"), (2, 1, 0));
    assert_eq!(ok_err_panics("slot"), (2, 1, 0));
    assert_eq!(ok_err_panics("cleared"), (2, 0, 0));
    assert_eq!(ok_err_panics("fetch_len"), (2, 1, 0));
    // `None` is a value, not an error.
    assert_eq!(ok_err_panics("halve"), (3, 0, 0));
    assert_eq!(ok_err_panics("gives_up"), (1, 1, 1));
    assert_eq!(ok_err_panics("after_the_question"), (2, 1, 0));
    assert_eq!(ok_err_panics("attributed"), (1, 0, 0));
    assert_eq!(ok_err_panics("within"), (3, 0, 0));
    assert_eq!(ok_err_panics("shadowed"), (1, 1, 0));
    assert_eq!(ok_err_panics("located"), (0, 1, 0));
}
