//! Builds and tests `tests/outside`, a crate that depends on the facade by path, twice:
//! as is, and with the compile-time kill switch. Both runs must pass the same assertions
//! about behaviour (retries, caching, methods, generics, async).

use std::path::Path;
use std::process::Command;

fn cargo_test_outside(kill_switch: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("test")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(root.join("tests/outside/Cargo.toml"))
        // A target dir of its own: no lock contention with the build running this test,
        // and the kill-switch build does not invalidate the other one.
        .arg("--target-dir")
        .arg(
            root.join("target/outside")
                .join(if kill_switch { "off" } else { "on" }),
        )
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if kill_switch {
        flags.push_str(" --cfg telemetry_disabled");
    }
    cmd.env("RUSTFLAGS", flags.trim());
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "outside crate failed (kill switch: {kill_switch}):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn outside_crate_with_telemetry_compiled_in() {
    cargo_test_outside(false);
}

#[test]
fn outside_crate_with_the_kill_switch() {
    cargo_test_outside(true);
}
