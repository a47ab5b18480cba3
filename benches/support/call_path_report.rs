//! The table of docs/performance.md, "The call path", from the results criterion saved: each
//! row's time per call, its ratio to its baseline and to `#[tracing::instrument]` in the same
//! state.

use std::path::Path;

/// `(row, what it measures, its baseline, the tracing row to compare with)`.
const ROWS: [(&str, &str, &str, Option<&str>); 23] = [
    ("call_path/plain", "plain fn", "call_path/plain", None),
    (
        "call_path/task_off",
        "`#[task]`, telemetry off",
        "call_path/plain",
        Some("call_path/tracing_no_subscriber"),
    ),
    (
        "call_path/task_on",
        "`#[task]`, telemetry on",
        "call_path/plain",
        Some("call_path/tracing_registry"),
    ),
    (
        "compiled_out/task",
        "`#[task]`, compiled out (vs plain of the same build)",
        "compiled_out/plain",
        None,
    ),
    (
        "call_path/retries_off",
        "`#[task(retries = 3)]`, off, first attempt ok",
        "call_path/plain_result",
        Some("call_path/tracing_no_subscriber"),
    ),
    (
        "call_path/retries_on",
        "`#[task(retries = 3)]`, on, first attempt ok",
        "call_path/plain_result",
        Some("call_path/tracing_registry"),
    ),
    (
        "call_path/error_on",
        "`#[task]` returning `Err(io::Error)`, on (vs the same fn without it)",
        "call_path/plain_err",
        Some("call_path/tracing_registry"),
    ),
    (
        "call_path/cache_hit_off",
        "`#[task(cache)]`, off, hit",
        "call_path/plain",
        Some("call_path/tracing_no_subscriber"),
    ),
    (
        "call_path/cache_hit_on",
        "`#[task(cache)]`, on, hit (telemetry's share: vs off)",
        "call_path/cache_hit_off",
        Some("call_path/tracing_registry"),
    ),
    (
        "call_path/async_flow_off",
        "`async` `#[flow]`, off, polled once",
        "call_path/async_plain",
        Some("call_path/async_tracing_no_subscriber"),
    ),
    (
        "call_path/async_flow_on",
        "`async` `#[flow]`, on, polled once",
        "call_path/async_plain",
        Some("call_path/async_tracing_registry"),
    ),
    (
        "call_path/tracing_no_subscriber",
        "`#[tracing::instrument]`, no subscriber",
        "call_path/plain",
        None,
    ),
    (
        "call_path/tracing_registry",
        "`#[tracing::instrument]`, `Registry` subscriber",
        "call_path/plain",
        None,
    ),
    (
        "call_path/async_tracing_no_subscriber",
        "`async` `#[tracing::instrument]`, no subscriber, polled once",
        "call_path/async_plain",
        None,
    ),
    (
        "call_path/async_tracing_registry",
        "`async` `#[tracing::instrument]`, `Registry`, polled once",
        "call_path/async_plain",
        None,
    ),
    (
        "call_path/metrics_no_recorder",
        "`metrics::counter!`, no recorder",
        "call_path/plain",
        Some("call_path/tracing_no_subscriber"),
    ),
    (
        "two_threads/plain",
        "two threads: plain fn",
        "two_threads/plain",
        None,
    ),
    (
        "two_threads/task_off",
        "two threads: `#[task]`, off",
        "two_threads/plain",
        None,
    ),
    (
        "two_threads/task_on",
        "two threads: `#[task]`, on",
        "two_threads/plain",
        Some("two_threads/tracing_registry"),
    ),
    (
        "two_threads/cache_hit_off",
        "two threads: `#[task(cache)]`, off, hit",
        "two_threads/plain",
        None,
    ),
    (
        "two_threads/cache_hit_on",
        "two threads: `#[task(cache)]`, on, hit (vs off)",
        "two_threads/cache_hit_off",
        Some("two_threads/tracing_registry"),
    ),
    (
        "two_threads/tracing_registry",
        "two threads: `#[tracing::instrument]`, `Registry`",
        "two_threads/plain",
        None,
    ),
    (
        "two_threads/metrics_no_recorder",
        "two threads: `metrics::counter!`, no recorder",
        "two_threads/plain",
        None,
    ),
];

/// One benchmark's latest run: the median time per call, and the fastest sample's.
#[derive(Clone, Copy)]
struct Times {
    median: f64,
    best: f64,
}

fn times(home: &Path, id: &str) -> Option<Times> {
    let read = |file: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(home.join(id).join("new").join(file)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let estimates = read("estimates.json")?;
    let sample = read("sample.json")?;
    let per_call = sample["iters"]
        .as_array()?
        .iter()
        .zip(sample["times"].as_array()?)
        .filter_map(|(n, t)| Some(t.as_f64()? / n.as_f64()?));
    Some(Times {
        median: estimates["median"]["point_estimate"].as_f64()?,
        best: per_call.fold(f64::INFINITY, f64::min),
    })
}

fn ns(t: Option<f64>) -> String {
    t.map_or_else(|| "–".into(), |t| format!("{t:.2}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".into(),
    }
}

pub fn print(home: &Path) {
    // On a shared machine another process can slow any sample down, never speed one up:
    // the fastest of a row's samples is its least disturbed figure, and the ratios and
    // targets use it. The median is shown beside it.
    let m = |id: &str| times(home, id).map(|t| t.best);
    println!("\nTime per call (ns), from {}:\n", home.display());
    println!(
        "| call | fastest sample | median | over its baseline | × baseline | × tracing, same state |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (id, what, base, tracing) in ROWS {
        let (t, b) = (m(id), m(base));
        let over = match (t, b) {
            (Some(t), Some(b)) if id != base => format!("{:+.2} ns", t - b),
            _ => "–".into(),
        };
        let base_name = base.rsplit('/').next().unwrap_or(base);
        println!(
            "| {what} | {} | {} | {over} ({base_name}) | {} | {} |",
            ns(t),
            ns(times(home, id).map(|t| t.median)),
            ratio(t, b),
            ratio(t, tracing.and_then(m)),
        );
    }
    println!("\nTargets:");
    let over = |a: &str, b: &str| Some(m(a)? - m(b)?);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    if let Some(d) = over("call_path/task_off", "call_path/plain") {
        println!(
            "- off: {d:+.2} ns over plain (target ≤ +0.5 ns): {}",
            verdict(d <= 0.5)
        );
    }
    if let Some(d) = over("call_path/task_on", "call_path/plain") {
        println!(
            "- on: {d:+.2} ns over plain (target ≤ +2.0 ns): {}",
            verdict(d <= 2.0)
        );
    }
    if let Some(d) = over("two_threads/task_on", "two_threads/plain") {
        println!(
            "- on, two threads on one fn: {d:+.2} ns each over plain (target ≤ +2.0 ns): {}",
            verdict(d <= 2.0)
        );
    }
    if let Some(d) = over("call_path/error_on", "call_path/plain_err") {
        println!(
            "- error path, on: {d:+.2} ns over the same fn returning the same Err \
             (target ≤ +5 ns): {}",
            verdict(d <= 5.0)
        );
    }
    // The same ratio for `plain` says what the machine itself gives two threads (on a
    // loaded machine they do not both get a core all the time).
    let machine = m("two_threads/plain")
        .zip(m("call_path/plain"))
        .map(|(two, one)| two / one);
    for (what, two, one) in [
        ("on", "two_threads/task_on", "call_path/task_on"),
        (
            "cache hit",
            "two_threads/cache_hit_on",
            "call_path/cache_hit_on",
        ),
    ] {
        if let (Some(two), Some(one)) = (m(two), m(one)) {
            let r = two / one;
            println!(
                "- two threads, {what}: {r:.2}× one thread (target ≤ 2×; plain fn: {}×): {}",
                machine.map_or_else(|| "–".into(), |x| format!("{x:.2}")),
                verdict(r <= 2.0)
            );
        }
    }
    if let Some(d) = over("call_path/async_flow_off", "call_path/async_plain") {
        println!(
            "- async, off: {d:+.2} ns over the same async fn without the attribute \
             (target ≤ +0.5 ns): {}",
            verdict(d <= 0.5)
        );
    }
    if let Some(d) = over("compiled_out/task", "compiled_out/plain") {
        println!("- compiled out: {d:+.2} ns over plain of the same build (target: noise)");
    } else {
        println!("- compiled out: not measured (benches/run.sh builds it)");
    }
}
