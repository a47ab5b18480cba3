#!/usr/bin/env python3
"""What annotating costs at compile time: `benches/compile_time.py [N]`.

Generates a library crate of N functions (700 by default) in the shapes real crates have
(free fns, `Result`-returning fns, methods, generic fns, `async fn`s), once with every fn
annotated `#[telemetry::task]` and once without, both depending on the facade. Dependencies
are built first; then only the crate itself is rebuilt (`touch src/lib.rs`), three times for
`cargo build --release` and three times for `cargo check`, and the medians are printed with
the annotated/plain ratio. The README's "Compile time" figures come from here.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = int(sys.argv[1]) if len(sys.argv) > 1 else 700
RUNS = 5
WORK = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "compile-time"


def fns(annotated: bool) -> str:
    attr = "#[telemetry::task]\n" if annotated else ""
    out = [
        "#![allow(dead_code, clippy::all)]",
        "use std::collections::HashMap;",
        "#[derive(Debug)] pub struct Error(pub String);",
        "pub struct Store { items: HashMap<u64, String>, hits: u64 }",
        "impl Store {",
    ]
    # A fifth of the fns are methods, inside one impl block.
    for i in range(0, N, 5):
        out.append(
            f"""{attr}pub fn get_{i}(&mut self, key: u64) -> Option<&String> {{
    self.hits += 1;
    self.items.get(&(key ^ {i}))
}}"""
        )
    out.append("}")
    for i in range(N):
        kind = i % 5
        if kind == 0:
            continue  # a method, above
        if kind == 1:
            out.append(
                f"""{attr}pub fn add_{i}(a: u64, b: u64) -> u64 {{
    a.wrapping_mul({i}).wrapping_add(b).rotate_left(3)
}}"""
            )
        elif kind == 2:
            out.append(
                f"""{attr}pub fn parse_{i}(text: &str) -> Result<u64, Error> {{
    let n: u64 = text.trim().parse().map_err(|_| Error(text.to_string()))?;
    if n > {i} {{ return Err(Error("too large".into())); }}
    Ok(n * 2)
}}"""
            )
        elif kind == 3:
            out.append(
                f"""{attr}pub fn largest_{i}<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {{
    let mut best = *items.first()?;
    for &item in items {{ if item > best {{ best = item; }} }}
    Some(best)
}}"""
            )
        else:
            out.append(
                f"""{attr}pub async fn fetch_{i}(id: u64) -> Result<Vec<u8>, Error> {{
    if id == {i} {{ return Err(Error("missing".into())); }}
    Ok(id.to_le_bytes().to_vec())
}}"""
            )
    return "\n".join(out) + "\n"


def write_crate(dir: Path, annotated: bool) -> None:
    (dir / "src").mkdir(parents=True, exist_ok=True)
    (dir / "Cargo.toml").write_text(
        f"""[package]
name = "gen_{'annotated' if annotated else 'plain'}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
telemetry = {{ path = "{ROOT}" }}

[workspace]
"""
    )
    (dir / "src" / "lib.rs").write_text(fns(annotated))


def timed(cmd, cwd: Path, env) -> float:
    start = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


COMMANDS = [("release", ["cargo", "build", "--release", "--lib"]), ("check", ["cargo", "check", "--lib"])]


def measure(dirs: dict, env) -> dict:
    """Median rebuild time of each crate and command; the crates take turns, so a slow
    moment of a shared machine falls on both alike."""
    times = {(k, name): [] for k in dirs for name, _ in COMMANDS}
    for name, cmd in COMMANDS:
        for dir in dirs.values():
            subprocess.run(cmd, cwd=dir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(RUNS):
            for k, dir in dirs.items():
                (dir / "src" / "lib.rs").touch()
                times[(k, name)].append(timed(cmd, dir, env))
    return {k: {name: statistics.median(times[(k, name)]) for name, _ in COMMANDS} for k in dirs}


def main() -> None:
    env = dict(os.environ)
    env.pop("RUSTFLAGS", None)
    # Every rebuild is a whole one: with incremental caches, `check` would mostly replay them.
    env["CARGO_INCREMENTAL"] = "0"
    env["CARGO_TARGET_DIR"] = str(WORK / "target")
    dirs = {}
    for annotated in (False, True):
        dir = WORK / ("annotated" if annotated else "plain")
        shutil.rmtree(dir / "src", ignore_errors=True)
        write_crate(dir, annotated)
        dirs[annotated] = dir
    results = measure(dirs, env)
    cpu = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        "unknown CPU",
    )
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{N} fns; {os.cpu_count()} cores, {cpu}; {rustc}; median of {RUNS}")
    print("| build | plain | annotated | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name in ("release", "check"):
        plain, annotated = results[False][name], results[True][name]
        print(f"| `cargo {'build --release' if name == 'release' else 'check'}` | {plain:.2f} s | {annotated:.2f} s | {annotated / plain:.2f}× |")


if __name__ == "__main__":
    main()
