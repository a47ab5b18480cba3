#!/usr/bin/env bash
# What adding the crate costs a host's binary and build, as docs/performance.md, "Binary size
# and build time", reports it: `benches/size.sh`.
#
# Builds the same minimal host (one `#[task]`, `init`, a `println!`) three ways, each in a
# cold target dir of its own, release profile, stripped:
#   plain        without the crate;
#   default      `telemetry` with default features (the built-in HTTPS transport);
#   own-client   `telemetry` with `default-features = false` and a host transport.
# Prints each binary's size and the difference to plain, each cold build's wall time, and
# the time of our own crates alone (rebuilt with their dependencies already built).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
echo "Machine: $(nproc 2>/dev/null || echo '?') cores, ${cpu:-unknown CPU}; $(rustc --version)"

host() { # name, dependency line, main.rs
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "host-$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$2

[profile.release]
strip = true

[workspace]
TOML
    printf '%s\n' "$3" >"$work/$1/src/main.rs"
    # The lock file of this repository: the same versions, nothing fetched anew.
    cp "$root/Cargo.lock" "$work/$1/Cargo.lock"
}

host plain "" '
fn work(n: u32) -> u32 { n + 1 }
fn main() { println!("{}", work(std::env::args().count() as u32)); }'

host default "telemetry = { path = \"$root\" }" '
#[telemetry::task]
fn work(n: u32) -> u32 { n + 1 }
fn main() {
    let _guard = telemetry::init(telemetry::Config::new("host", "1.0"));
    println!("{}", work(std::env::args().count() as u32));
}'

host own-client "telemetry = { path = \"$root\", default-features = false }" '
use telemetry::config::{Deliver, Delivery, DeliveryRequest};
/// Stands in for the client the host already has.
struct Own;
impl Deliver for Own {
    fn deliver(&self, _: &DeliveryRequest<'"'"'_>) -> Delivery { Delivery::NoAnswer }
}
#[telemetry::task]
fn work(n: u32) -> u32 { n + 1 }
fn main() {
    let _guard = telemetry::init(telemetry::Config::new("host", "1.0").transport(Own));
    println!("{}", work(std::env::args().count() as u32));
}'

seconds() { date +%s.%N; }
declare -A size build
for name in plain default own-client; do
    start=$(seconds)
    cargo build --quiet --release --offline --manifest-path "$work/$name/Cargo.toml" \
        --target-dir "$work/$name/target" 2>/dev/null ||
        cargo build --quiet --release --manifest-path "$work/$name/Cargo.toml" \
            --target-dir "$work/$name/target"
    build[$name]=$(awk "BEGIN { print $(seconds) - $start }")
    size[$name]=$(stat -c %s "$work/$name/target/release/host-$name")
done

ours() { # our crates alone, their dependencies already built
    cargo clean --quiet --release --manifest-path "$work/$1/Cargo.toml" \
        --target-dir "$work/$1/target" -p telemetry -p telemetry-runtime -p telemetry-macros
    start=$(seconds)
    cargo build --quiet --release --offline --manifest-path "$work/$1/Cargo.toml" \
        --target-dir "$work/$1/target"
    awk "BEGIN { print $(seconds) - $start }"
}
ours_default=$(ours default)
ours_own=$(ours own-client)

kb() { awk "BEGIN { printf \"%d\", $1 / 1024 }"; }
mb() { awk "BEGIN { printf \"%.2f\", $1 / 1048576 }"; }
printf '\n| host | stripped size | added | cold release build | our crates alone |\n'
printf '| --- | ---: | ---: | ---: | ---: |\n'
printf '| plain | %s KB | - | %.1f s | - |\n' "$(kb "${size[plain]}")" "${build[plain]}"
for name in default own-client; do
    ours_time=$ours_default
    [ "$name" = own-client ] && ours_time=$ours_own
    printf '| %s | %s KB | +%s MB | %.1f s | %.1f s |\n' "$name" "$(kb "${size[$name]}")" \
        "$(mb $((size[$name] - size[plain])))" "${build[$name]}" "$ours_time"
done
