//! What `retries = N` and `retry_delay_ms = N` do: re-run the body while it returns `Err`.

use std::time::Duration;

use crate::options::sleep::Sleep;
use crate::record::call::{Call, CallOf, Site};

/// The return types `retries` accepts: `Result` (under any path or alias).
#[diagnostic::on_unimplemented(
    message = "`retries` needs a function that returns a `Result`, but this one returns `{Self}`",
    label = "`retries` re-runs the body only when it returns `Err`",
    note = "return a `Result<_, _>` (or an alias of it), or remove `retries`"
)]
pub trait RetryOutcome {
    /// Whether this outcome asks for another attempt.
    fn should_retry(&self) -> bool;
}

impl<T, E> RetryOutcome for Result<T, E> {
    #[inline(always)]
    fn should_retry(&self) -> bool {
        self.is_err()
    }
}

/// Runs `attempt` up to `1 + retries` times, until it returns `Ok`; sleeps `delay_ms`
/// between attempts. Returns the last result. Generated code only.
#[doc(hidden)]
#[inline]
pub fn retry<R: RetryOutcome>(
    call: &Call,
    retries: u32,
    delay_ms: u64,
    mut attempt: impl FnMut() -> R,
) -> R {
    let mut left = Retries::new(retries, delay_ms);
    loop {
        let result = attempt();
        if !left.again(&result, call) {
            return result;
        }
        drop(result);
        if delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
    }
}

/// The retry budget of one async call. Generated code only: the async expansion keeps its
/// loop inline so that the body's future can borrow the arguments afresh on every attempt.
#[doc(hidden)]
pub struct Retries {
    left: u32,
    delay_ms: u64,
}

impl Retries {
    #[inline(always)]
    pub const fn new(retries: u32, delay_ms: u64) -> Self {
        Self {
            left: retries,
            delay_ms,
        }
    }

    /// Whether another attempt should run after `result`; counts it if so.
    #[inline(always)]
    pub fn again<R: RetryOutcome, S: Site>(&mut self, result: &R, call: &CallOf<S>) -> bool {
        if self.left == 0 || !result.should_retry() {
            return false;
        }
        self.left -= 1;
        call.retried();
        true
    }

    /// The pause before the next attempt, without blocking the executor's thread.
    pub fn delay(&self) -> Sleep {
        Sleep::new(Duration::from_millis(self.delay_ms))
    }
}

/// Pins down the return type of the body closure so `?` knows what to convert into.
#[doc(hidden)]
#[inline(always)]
pub fn run<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// The async counterpart of [`run`]: an `async` block whose output type is `R`.
#[doc(hidden)]
#[inline(always)]
pub fn typed<R, F: Future<Output = R>>(body: F) -> F {
    body
}

/// What `?` takes in a fn that returns a `Result`, for the bodies the macros keep in place:
/// there `expr?` becomes a `match` on `Question::branch(expr)` that breaks out of the body
/// with `Err(From::from(error))`, as `?` itself would return it (docs/macros.md, "What the
/// macros inject"). Implemented for exactly the types whose `?` yields a `Result`'s error.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the `?` operator can only be used on a `Result` (or a `Poll` of one) in an annotated fn that returns a `Result`",
    label = "cannot use the `?` operator on `{Self}` here"
)]
pub trait Question {
    /// What `?` gives when there is no error.
    type Output;
    /// The error `?` hands on.
    type Error;
    /// The value, or the error to break out with.
    fn branch(self) -> Result<Self::Output, Self::Error>;
}

impl<T, E> Question for Result<T, E> {
    type Output = T;
    type Error = E;
    #[inline(always)]
    fn branch(self) -> Result<T, E> {
        self
    }
}

impl<T, E> Question for std::task::Poll<Result<T, E>> {
    type Output = std::task::Poll<T>;
    type Error = E;
    #[inline(always)]
    fn branch(self) -> Result<std::task::Poll<T>, E> {
        match self {
            std::task::Poll::Ready(Ok(t)) => Ok(std::task::Poll::Ready(t)),
            std::task::Poll::Ready(Err(e)) => Err(e),
            std::task::Poll::Pending => Ok(std::task::Poll::Pending),
        }
    }
}

impl<T, E> Question for std::task::Poll<Option<Result<T, E>>> {
    type Output = std::task::Poll<Option<T>>;
    type Error = E;
    #[inline(always)]
    fn branch(self) -> Result<std::task::Poll<Option<T>>, E> {
        match self {
            std::task::Poll::Ready(Some(Ok(t))) => Ok(std::task::Poll::Ready(Some(t))),
            std::task::Poll::Ready(Some(Err(e))) => Err(e),
            std::task::Poll::Ready(None) => Ok(std::task::Poll::Ready(None)),
            std::task::Poll::Pending => Ok(std::task::Poll::Pending),
        }
    }
}
