#!/usr/bin/env bash
# Every figure of docs/performance.md's "The call path" and "The worker" sections, in one
# command: `benches/run.sh`. Extra arguments go to criterion (a row filter,
# `--measurement-time 5`, …).
#
# 1. The compiled-out rows: `call_path` built with the kill switch (`--cfg telemetry_disabled`
#    cannot be switched inside one build), in its own target dir so the normal build is kept.
# 2. `call_path` again, normally configured (every other row; it prints the table of
#    docs/performance.md, "The call path", the compiled-out rows included), both aligned
#    (below), then `worker` (throughput and exit times).
# Both builds write their results to one criterion directory, which the table is read from.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
export CRITERION_HOME="${CRITERION_HOME:-$target/criterion}"

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
echo "Machine: $(nproc 2>/dev/null || echo '?') cores, ${cpu:-unknown CPU}; $(rustc --version)"

# The call path is built with every function and branch target aligned (64 and 32 bytes),
# in target dirs of its own: a row's nanoseconds then do not depend on where the linker
# happened to place its loop, which moves a baseline by up to 0.5 ns between builds of
# the same source (docs/performance.md, "The call path").
aligned="-C llvm-args=-align-all-functions=6 -C llvm-args=-align-all-nofallthru-blocks=5"
RUSTFLAGS="${RUSTFLAGS:-} $aligned --cfg telemetry_disabled" \
    CARGO_TARGET_DIR="$target/telemetry-disabled" cargo bench --bench call_path -- "$@"
RUSTFLAGS="${RUSTFLAGS:-} $aligned" CARGO_TARGET_DIR="$target/aligned" \
    cargo bench --bench call_path -- "$@"
cargo bench --bench worker -- "$@"
