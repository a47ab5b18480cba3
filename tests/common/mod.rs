//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod receiver;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::Command;
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
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
pub fn counts(module: &str, name: &str) -> telemetry::Counts {
    let found: Vec<_> = telemetry::callsites()
        .into_iter()
        .filter(|c| c.name == name && c.module_path.ends_with(module))
        .collect();
    assert_eq!(found.len(), 1, "expected one callsite {module}::{name}");
    found[0].counts
}

/// The path of an example's binary, built (once per test binary and example) if needed, so
/// `cargo test --test x` works on its own too.
pub fn example_exe(name: &str) -> &'static Path {
    static BUILT: OnceLock<Mutex<Vec<(String, &'static Path)>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path;
    }
    // <target>/<profile>/deps/<test binary> → <target>/<profile>/examples/<name>
    let test_exe = std::env::current_exe().expect("test binary path");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("profile dir");
    let target_dir = profile_dir.parent().expect("target dir");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build --example");
    assert!(status.success(), "cargo build --example {name} failed");
    let exe: PathBuf = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.exists(), "{} missing", exe.display());
    let exe: &'static Path = Box::leak(exe.into_boxed_path());
    built.push((name.to_string(), exe));
    exe
}
