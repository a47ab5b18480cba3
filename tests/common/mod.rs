//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

mod example;
pub mod receiver;

#[allow(unused_imports)] // only the tests that run examples use it
pub use example::example_exe;

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// The smallest executor there is: poll, park until woken, repeat. No runtime crate.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => thread::park(),
        }
    }
}

/// A waker that does nothing, for polling by hand.
pub fn noop_context() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// The counters of the one callsite named `name` in module `module`.
pub fn counts(module: &str, name: &str) -> telemetry::introspect::Counts {
    let found: Vec<_> = telemetry::introspect::callsites()
        .into_iter()
        .filter(|c| c.name == name && c.module_path.ends_with(module))
        .collect();
    assert_eq!(found.len(), 1, "expected one callsite {module}::{name}");
    found[0].counts
}

/// Settings for the host `acme` that read nothing from the machine: the given environment,
/// and a config dir, policy file and working directory inside `dir`.
pub fn isolated_config(dir: &Path, env: telemetry::config::Env) -> telemetry::Config {
    telemetry::Config::new("acme", "1.0")
        .env(env)
        .config_dir(dir.join("conf"))
        .policy_file(dir.join("policy.toml"))
        .current_dir(dir)
}
