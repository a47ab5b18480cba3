//! Builds and tests `tests/own_transport`, a host that depends on the facade with
//! `default-features = false` and sends through its own transport: batches are delivered
//! through it with the runtime's whole policy (retries, `Retry-After`, stopping on a 4xx,
//! the exit bound), and no HTTP or TLS crate of ours is in its dependency tree.

use std::path::Path;
use std::process::Command;

fn cargo(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO"))
        .args(args)
        .arg("--manifest-path")
        .arg(root.join("tests/own_transport/Cargo.toml"))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo")
}

#[test]
fn a_host_transport_carries_the_whole_policy_without_our_http_stack() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A target dir of its own: no lock contention with the build running this test.
    let target = root.join("target/own_transport");
    let out = cargo(&["test", "--quiet", "--target-dir", target.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = cargo(&["tree", "--edges", "normal", "--prefix", "none"]);
    assert!(tree.status.success(), "{tree:?}");
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("telemetry-runtime"), "{tree}");
    for heavy in ["rustls", "ring ", "webpki", "rustls-native-certs"] {
        assert!(!tree.contains(heavy), "{heavy} is compiled in:\n{tree}");
    }
}
