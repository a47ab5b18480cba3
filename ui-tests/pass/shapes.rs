//! Every shape of fn the attributes accept, with every option.
use std::future::Future;
use telemetry::{flow, task};

#[derive(Debug)]
pub struct Error;

pub type Res<T> = std::result::Result<T, Error>;

#[task]
fn plain() {}

#[task(retries = 3)]
pub fn retried() -> Result<u8, Error> {
    Ok(1)
}

#[task(retries = 0)]
fn zero_retries() -> Res<u8> {
    Ok(0)
}

#[task(retries = 2, retry_delay_ms = 1)]
pub(crate) fn aliased() -> Res<u8> {
    Ok(2)
}

#[task(cache)]
fn cached(a: u32, b: &str, c: &[u8]) -> String {
    format!("{a}{b}{c:?}")
}

#[task(cache, cache_ttl_secs = 60)]
fn expiring(key: (u8, char)) -> Vec<u8> {
    vec![key.0]
}

#[task]
fn generic<T: Default, const N: usize>() -> [T; N] {
    std::array::from_fn(|_| T::default())
}

#[task]
fn with_lifetimes<'a>(a: &'a str, _b: &str) -> &'a str {
    a
}

#[task]
fn elided(a: &str) -> &str {
    a
}

#[task]
fn impl_arg(f: impl Fn(u8) -> u8) -> u8 {
    f(1)
}

#[task]
fn impl_ret() -> impl Iterator<Item = u8> {
    0..3
}

#[task]
fn boxed_error(s: &str) -> Result<u8, Box<dyn std::error::Error>> {
    Ok(s.parse()?)
}

#[task]
fn with_where<T>(t: T) -> String
where
    T: std::fmt::Debug,
{
    format!("{t:?}")
}

#[task]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    unsafe { *p }
}

#[task]
extern "C" fn extern_c(x: u8) -> u8 {
    x
}

struct Service {
    n: u8,
}

impl Service {
    #[task]
    fn by_ref(&self) -> u8 {
        self.n
    }

    #[task(retries = 1)]
    fn by_mut(&mut self) -> Result<u8, Error> {
        self.n += 1;
        Ok(self.n)
    }

    #[flow]
    fn by_value(self) -> u8 {
        self.n
    }

    #[task]
    fn boxed(self: Box<Self>) -> u8 {
        self.n
    }

    #[task]
    fn associated() -> Self {
        Service { n: 0 }
    }

    #[task]
    async fn async_method(&self) -> u8 {
        self.n
    }
}

trait Step {
    fn step(&self) -> u8;
}

impl Step for Service {
    #[task]
    fn step(&self) -> u8 {
        self.n
    }
}

#[task(retries = 2, retry_delay_ms = 5)]
async fn async_retry(x: &str) -> Res<usize> {
    Ok(x.len())
}

#[task(cache)]
async fn async_cache(x: String) -> usize {
    x.len()
}

#[flow]
async fn async_flow() -> Res<usize> {
    let n = async_retry("abc").await?;
    Ok(n + async_cache("de".into()).await)
}

#[flow]
fn nested_items() -> u8 {
    fn helper() -> u8 {
        7
    }
    const K: u8 = 1;
    helper() + K
}

#[flow]
#[must_use]
#[inline]
fn other_attributes() -> u8 {
    5
}

fn is_send<F: Future + Send>(_: F) {}

fn main() {
    plain();
    let _ = (retried(), zero_retries(), aliased());
    let _ = cached(1, "b", &[3]);
    let _ = expiring((1, 'x'));
    let _: [u8; 2] = generic::<u8, 2>();
    let _ = with_lifetimes("a", "b");
    let _ = elided("x");
    let _ = impl_arg(|x| x + 1);
    let _ = impl_ret().count();
    let _ = boxed_error("5");
    let _ = with_where(1);
    let x = 1u8;
    let _ = unsafe { unsafe_fn(&x) };
    let _ = extern_c(1);
    let mut s = Service::associated();
    let _ = (s.by_ref(), s.by_mut(), s.step());
    is_send(s.async_method());
    let _ = s.by_value();
    let _ = Box::new(Service { n: 1 }).boxed();
    is_send(async_flow());
    let _ = nested_items();
    let _ = other_attributes();
}
