//! Finds (and if needed builds) an example's binary, for tests that run it as a process.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

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
