//! Records the version of rustc building this crate (and so the host): the `rust_version`
//! field of every event. Only the version number is kept. And says whether a built-in HTTP
//! client is compiled in (`telemetry_client`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    // `telemetry_client`: a built-in HTTP client is compiled in (the runtime's own, feature
    // `https`, or ureq, feature `ureq`), so proxies, the system's roots and CA files apply.
    println!("cargo::rustc-check-cfg=cfg(telemetry_client)");
    if std::env::var_os("CARGO_FEATURE_HTTPS").is_some()
        || std::env::var_os("CARGO_FEATURE_UREQ").is_some()
    {
        println!("cargo:rustc-cfg=telemetry_client");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TELEMETRY_RUSTC_VERSION={version}");
}
