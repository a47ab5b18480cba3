//! The formatted expansion of a few representative fns, checked against `snapshots/`, so
//! any change to the generated code shows up as a diff in review.
//! Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p telemetry-macros`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use proc_macro2::TokenStream;

use crate::attr::{Kind, expand};
use crate::derive::derive;
use crate::derive::event::EventItem;
use crate::derive::value::ValueItem;

fn derive_event(input: TokenStream) -> TokenStream {
    derive::<EventItem>(input)
}

fn derive_event_value(input: TokenStream) -> TokenStream {
    derive::<ValueItem>(input)
}

fn rustfmt(code: &str) -> String {
    let mut child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt is installed with the toolchain");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "rustfmt failed on:\n{code}");
    String::from_utf8(out.stdout).unwrap()
}

fn check(name: &str, kind: Kind, args: &str, item: &str, instrument: bool) {
    let attr = match (kind, args) {
        (Kind::Flow, "") => "#[flow]".to_string(),
        (Kind::Task, "") => "#[task]".to_string(),
        (Kind::Flow, _) => format!("#[flow({args})]"),
        (Kind::Task, _) => format!("#[task({args})]"),
    };
    let source: String = rustfmt(&format!("{attr}\n{item}"))
        .lines()
        .map(|l| format!("// {l}\n"))
        .collect();
    let build = if instrument {
        ""
    } else {
        ", built with --cfg telemetry_disabled"
    };
    let expanded = expand(
        kind,
        args.parse().unwrap(),
        item.parse().unwrap(),
        instrument,
    );
    let actual = format!(
        "// Source{build}:\n{source}\n// Expansion:\n{}",
        rustfmt(&expanded.to_string())
    );
    compare(name, actual);
}

/// The same for a derive: `item` carries its own `#[derive(...)]` line for the source shown.
fn check_derive(name: &str, derive: fn(TokenStream) -> TokenStream, item: &str) {
    let source: String = rustfmt(item).lines().map(|l| format!("// {l}\n")).collect();
    let expanded = derive(item.parse().unwrap());
    let actual = format!(
        "// Source:\n{source}\n// Expansion:\n{}",
        rustfmt(&expanded.to_string())
    );
    compare(name, actual);
}

fn compare(name: &str, actual: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{name}.rs"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "expansion of {name} changed; if intended, run UPDATE_SNAPSHOTS=1 cargo test -p telemetry-macros\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn plain_task() {
    check(
        "plain_task",
        Kind::Task,
        "",
        "fn add(a: u32, b: u32) -> u32 { a + b }",
        true,
    );
}

#[test]
fn plain_task_that_may_fail() {
    check(
        "plain_task_result",
        Kind::Task,
        "",
        "fn parse(text: &str) -> Result<u32, ParseIntError> { let n: u32 = text.trim().parse()?; Ok(n * 2) }",
        true,
    );
}

#[test]
fn a_task_whose_macro_may_hide_a_return_is_wrapped() {
    check(
        "task_wrapped",
        Kind::Task,
        "",
        "fn open(path: &Path) -> anyhow::Result<File> { ensure!(path.is_absolute(), \"relative\"); Ok(File::open(path)?) }",
        true,
    );
}

#[test]
fn plain_async_task_that_ends_early() {
    check(
        "task_async_early",
        Kind::Task,
        "",
        "async fn load(id: u32) -> io::Result<Vec<u8>> { if id == 0 { return Ok(Vec::new()); } let record = fetch(id).await?; Ok(record.bytes) }",
        true,
    );
}

#[test]
fn plain_async_task_that_cannot_fail() {
    check(
        "task_async_inline",
        Kind::Task,
        "",
        "async fn total(id: u32) -> u64 { fetch(id).await.len() as u64 }",
        true,
    );
}

#[test]
fn plain_async_task() {
    check(
        "task_async",
        Kind::Task,
        "",
        "async fn load(&mut self, id: u32) -> Result<&mut Record, LoadError> { self.fetch(id).await }",
        true,
    );
}

#[test]
fn a_body_that_cannot_return_an_err_stays_in_place() {
    check(
        "task_in_place",
        Kind::Task,
        "",
        "fn by_key<T, K: Ord>(mut key: impl FnMut(&T) -> K) -> impl FnMut(&T, &T) -> Ordering { move |a, b| key(a).cmp(&key(b)) }",
        true,
    );
}

#[test]
fn task_with_retries() {
    check(
        "task_retries",
        Kind::Task,
        "retries = 3",
        "fn fetch(id: u32) -> Result<Record, FetchError> { download(id) }",
        true,
    );
}

#[test]
fn cached_method() {
    check(
        "task_cache_method",
        Kind::Task,
        "cache, cache_ttl_secs = 60",
        "pub fn parse(&self, raw: &str) -> Parsed { self.parser.parse(raw) }",
        true,
    );
}

#[test]
fn async_flow_with_retries_and_delay() {
    check(
        "flow_async_retries",
        Kind::Flow,
        "retries = 2, retry_delay_ms = 500",
        "async fn nightly() -> Result<(), PipelineError> { step().await?; Ok(()) }",
        true,
    );
}

#[test]
fn kill_switch_keeps_behaviour_only() {
    check(
        "task_retries_killswitch",
        Kind::Task,
        "retries = 3",
        "fn fetch(id: u32) -> Result<Record, FetchError> { download(id) }",
        false,
    );
    check(
        "plain_task_killswitch",
        Kind::Task,
        "",
        "fn add(a: u32, b: u32) -> u32 { a + b }",
        false,
    );
}

#[test]
fn event_derive() {
    check_derive(
        "event",
        derive_event,
        "#[derive(Event)]
         struct DeployFinished { dry_run: bool, targets: u32, strategy: Option<Strategy>, r#type: Kind }",
    );
    check_derive(
        "event_options",
        derive_event,
        "#[derive(Event)]
         #[telemetry(name = \"deploy-done\", crate = my_sdk::telemetry)]
         struct Done;",
    );
}

#[test]
fn event_value_derive() {
    check_derive(
        "event_value",
        derive_event_value,
        "#[derive(EventValue)]
         enum Strategy { BlueGreen, #[telemetry(name = \"canary_release\")] Canary, HTTPRetry }",
    );
    check_derive(
        "event_value_empty",
        derive_event_value,
        "#[derive(EventValue)]
         enum Never {}",
    );
}

#[test]
fn failed_derives_emit_errors_and_a_stub() {
    check_derive(
        "event_errors",
        derive_event,
        "#[derive(Event)]
         struct Login { user: String, Speed: u8 }",
    );
}
