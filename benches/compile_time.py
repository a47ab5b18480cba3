#!/usr/bin/env python3
"""What annotating costs at compile time: `benches/compile_time.py [N] [--parts]`.

Generates a library crate of N functions (700 by default) in the shapes real crates have
(free fns, `Result`-returning fns, methods, generic fns, `async fn`s), once with every fn
annotated `#[telemetry::task]` and once without, both depending on the facade. Dependencies
are built first; then only the crate itself is rebuilt (`touch src/lib.rs`), five times for
`cargo build --release` and five times for `cargo check`, the crates taking turns, and the
medians are printed with the ratio to the plain crate. The figures of docs/performance.md, "Compile time",
come from here.

With `--parts`, five more crates show where the time goes. The first is the annotated crate
with `[profile.*.build-override] opt-level = 3`, so cargo builds the attribute optimized;
each of the others holds the expansion written out (what `cargo expand` shows), so the
attribute itself never runs, with one part left out:

- `expanded`: the whole expansion;
- `no descriptor`: without the `static` descriptor of each fn (all point to one shared one);
- `no classification`: without `outcome!`, which finds the error type of a returned `Err`;
- `guard only`: every fn's body as written after the guard, with the shared descriptor: no
  labeled block, no classification.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 700
PARTS = "--parts" in sys.argv
RUNS = 5
WORK = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "compile-time"
P = "::telemetry::__private"


def shapes():
    """Every fn: (signature, name, feature flags, how its body runs, body, return type, body as
    the attribute rewrites it: its `return`s and `?`s as breaks out of a labeled block)."""
    # A fifth of the fns are methods, inside one impl block (marked by `self`).
    for i in range(0, N, 5):
        body = f"self.hits += 1;\n    self.items.get(&(key ^ {i}))"
        yield (f"pub fn get_{i}(&mut self, key: u64) -> Option<&String>", f"get_{i}", ["METHOD"],
               "inline", body, "Option<&String>", body)
    for i in range(N):
        kind = i % 5
        if kind == 1:
            body = f"a.wrapping_mul({i}).wrapping_add(b).rotate_left(3)"
            yield (f"pub fn add_{i}(a: u64, b: u64) -> u64", f"add_{i}", [], "inline", body, "u64", body)
        elif kind == 2:
            yield (f"pub fn parse_{i}(text: &str) -> Result<u64, Error>", f"parse_{i}", [], "labeled",
                   f"let n: u64 = text.trim().parse().map_err(|_| Error(text.to_string()))?;\n"
                   f"    if n > {i} {{ return Err(Error(\"too large\".into())); }}\n    Ok(n * 2)",
                   "Result<u64, Error>",
                   f"let n: u64 = match {P}::Question::branch(text.trim().parse().map_err(|_| Error(text.to_string()))) {{\n"
                   f"        Ok(v) => v,\n        Err(e) => break '__telemetry_body Err(::core::convert::From::from(e)),\n    }};\n"
                   f"    if n > {i} {{ break '__telemetry_body Err(Error(\"too large\".into())); }}\n    Ok(n * 2)")
        elif kind == 3:
            body = ("let mut best = *items.first()?;\n"
                    "    for &item in items { if item > best { best = item; } }\n    Some(best)")
            yield (f"pub fn largest_{i}<T: PartialOrd + Copy>(items: &[T]) -> Option<T>", f"largest_{i}",
                   ["GENERIC"], "in_place", body, "Option<T>", body)
        elif kind == 4:
            yield (f"pub async fn fetch_{i}(id: u64) -> Result<Vec<u8>, Error>", f"fetch_{i}", ["ASYNC"],
                   "labeled", f"if id == {i} {{ return Err(Error(\"missing\".into())); }}\n"
                   "    Ok(id.to_le_bytes().to_vec())", "Result<Vec<u8>, Error>",
                   f"if id == {i} {{ break '__telemetry_body Err(Error(\"missing\".into())); }}\n"
                   "    Ok(id.to_le_bytes().to_vec())")


def written_out(name, flags, how, body, ret, rewritten, part):
    """The body of one fn as the attribute expands it, less what `part` leaves out."""
    own = part not in ("no descriptor", "guard only")
    site = f'{P}::callsite!(Task, "{name}", [{", ".join(flags)}]);\n    ' if own else ""
    cs = "&__TELEMETRY_CALLSITE" if own else "&SHARED"
    is_async = "ASYNC" in flags
    if part == "guard only" or how == "in_place":
        start = "scope_async" if is_async else "scope"
        return f"{site}let __telemetry_call = {P}::{start}({cs});\n    {body}"
    start = "enter_async" if is_async else "enter"
    if how == "inline":
        return (f"{site}let __telemetry_call = {P}::{start}({cs});\n    let __telemetry_result: {ret} = {{\n    {body}\n    }};\n"
                f"    #[allow(unreachable_code)]\n    __telemetry_call.done();\n    __telemetry_result")
    outcome = f"{P}::CallOutcome::Ok" if part == "no classification" else f"{P}::outcome!(__telemetry_result)"
    return (f"{site}let __telemetry_call = {P}::{start}({cs});\n"
            f"    let __telemetry_result: {ret} = '__telemetry_body: {{\n    {rewritten}\n    }};\n"
            f"    __telemetry_call.finish({outcome});\n    __telemetry_result")


def fns(variant: str) -> str:
    out = [
        "#![allow(dead_code, clippy::all)]",
        "use std::collections::HashMap;",
        "#[derive(Debug)] pub struct Error(pub String);",
        "pub struct Store { items: HashMap<u64, String>, hits: u64 }",
    ]
    if variant in ("no descriptor", "guard only"):
        out.append(f'static SHARED: {P}::Callsite = {P}::Callsite::new({P}::Kind::Task, "f", "m", {P}::Features::NONE);')
    methods, free = [], []
    for sig, name, flags, how, body, ret, rewritten in shapes():
        if variant == "plain":
            text = f"{sig} {{\n    {body}\n}}"
        elif variant in ("annotated", "optimized attribute"):
            text = f"#[telemetry::task]\n{sig} {{\n    {body}\n}}"
        else:
            text = f"{sig} {{\n    {written_out(name, flags, how, body, ret, rewritten, variant)}\n}}"
        (methods if "self" in sig else free).append(text)
    return "\n".join(out + ["impl Store {"] + methods + ["}"] + free) + "\n"


# What a host can set in its own Cargo.toml: cargo builds proc-macros unoptimized by default.
OPTIMIZED = """
[profile.dev.build-override]
opt-level = 3
[profile.release.build-override]
opt-level = 3
"""


def write_crate(dir: Path, variant: str) -> None:
    (dir / "src").mkdir(parents=True, exist_ok=True)
    (dir / "Cargo.toml").write_text(
        f"""[package]
name = "gen_{variant.replace(' ', '_')}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
telemetry = {{ path = "{ROOT}" }}

[workspace]
"""
        + (OPTIMIZED if variant == "optimized attribute" else "")
    )
    (dir / "src" / "lib.rs").write_text(fns(variant))


def timed(cmd, cwd: Path, env) -> float:
    start = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


COMMANDS = [("release", ["cargo", "build", "--release", "--lib"]), ("check", ["cargo", "check", "--lib"])]


def measure(dirs: dict, env) -> dict:
    """Median rebuild time of each crate and command; the crates take turns, so a slow
    moment of a shared machine falls on all alike."""
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
    variants = ["plain", "annotated"]
    if PARTS:
        variants += ["optimized attribute", "expanded", "no descriptor", "no classification", "guard only"]
    dirs = {}
    for variant in variants:
        dir = WORK / variant.replace(" ", "_")
        shutil.rmtree(dir / "src", ignore_errors=True)
        write_crate(dir, variant)
        dirs[variant] = dir
    results = measure(dirs, env)
    cpu = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        "unknown CPU",
    )
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{N} fns; {os.cpu_count()} cores, {cpu}; {rustc}; median of {RUNS}")
    print("| crate | `cargo build --release` | ratio | `cargo check` | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for variant in variants:
        r, c = results[variant]["release"], results[variant]["check"]
        pr, pc = results["plain"]["release"], results["plain"]["check"]
        print(f"| {variant} | {r:.2f} s | {r / pr:.2f}× | {c:.2f} s | {c / pc:.2f}× |")


if __name__ == "__main__":
    main()
