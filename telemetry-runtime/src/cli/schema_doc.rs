//! `telemetry schema`: the Markdown table of every field that can ever be sent, generated
//! from the types in `wire/`.
//!
//! One sample of every event type is serialised exactly as the worker serialises a batch,
//! and the table is read off the result: the field names, their JSON types and the example
//! values come from the types themselves, so a field added to an event shows up here (and
//! a test fails until its reason is written below). Only the "why" column is prose.

use std::fmt::Write as _;

use crate::wire::buckets::{Bucket, ConcurrencyBucket, DurationBucket};
use crate::wire::command::MASK;
use crate::wire::errors::ErrorType;
use crate::wire::event::{Environment, SCHEMA_VERSION};
use crate::wire::features::why_sent;
use crate::wire::json::{Json, ToJson};
use crate::wire::samples::{sample_batch, samples};

/// Why each field is sent, by its path in the batch (`events[].` is left out of event
/// fields). Every field the samples produce must be here, and nothing else.
const WHY: &[(&str, &str)] = &[
    (
        "schema_version",
        "Lets the receiver read old and new clients alike.",
    ),
    (
        "batch_id",
        "Random per batch, the same on every retry: the receiver drops duplicates.",
    ),
    ("events", "The events of this batch."),
    ("event_id", "Random per event, for de-duplication."),
    (
        "session_id",
        "Random per process: ties one run's events together, and nothing else.",
    ),
    (
        "installation_id",
        "Random, made when the user enabled telemetry, forgotten by `reset`: counts installations, not people. Absent unless the user consented, and always absent from a host that set `Identity::Anonymous` (then its runs are counted by `session_id`).",
    ),
    (
        "timestamp",
        "When the event was made, truncated to the hour: never an exact time.",
    ),
    ("event_type", "Which of the event types below this is."),
    (
        "sdk_version",
        "Which version of this telemetry crate sent it.",
    ),
    (
        "app_version",
        "Which version of the host application is in use.",
    ),
    (
        "rust_version",
        "Which compiler built the host: which Rust versions to keep supporting.",
    ),
    ("os", "Which platforms to support."),
    ("arch", "Which platforms to support."),
    (
        "interactive",
        "Whether a person is at a terminal (a CLI run) or a program runs the host.",
    ),
    (
        "environment",
        "Whether this is production, CI-like testing or development use.",
    ),
    (
        "integrations",
        "Which optional parts of the host are in use, as the host declared them.",
    ),
    (
        "metrics.flows_defined",
        "How many `#[flow]` fns the binary has.",
    ),
    (
        "metrics.tasks_defined",
        "How many `#[task]` fns the binary has.",
    ),
    (
        "metrics.flow_runs.calls",
        "Flow runs since the previous batch.",
    ),
    (
        "metrics.flow_runs.ok",
        "Of those, how many returned normally.",
    ),
    (
        "metrics.flow_runs.err",
        "Of those, how many returned an `Err`.",
    ),
    ("metrics.flow_runs.panics", "Of those, how many panicked."),
    (
        "metrics.task_runs.calls",
        "Task runs since the previous batch.",
    ),
    (
        "metrics.task_runs.ok",
        "Of those, how many returned normally.",
    ),
    (
        "metrics.task_runs.err",
        "Of those, how many returned an `Err`.",
    ),
    ("metrics.task_runs.panics", "Of those, how many panicked."),
    (
        "metrics.retry_attempts",
        "How often `retries` ran a body again.",
    ),
    ("metrics.cache_hits", "Calls answered from the cache."),
    (
        "metrics.cache_misses",
        "Calls that ran the body and filled the cache.",
    ),
    (
        "metrics.dropped_events",
        "Events lost because the queue was full: the events themselves are not sent.",
    ),
    (
        "errors.exception_types",
        "How often each type of error was returned or a panic happened: which failures are common. Never a message or a backtrace.",
    ),
    (
        "session_start",
        "When the process started, truncated to the hour.",
    ),
    (
        "command",
        "Which commands and flags are used. Every value the user typed is `*****`.",
    ),
    ("name", "Which event the host defined."),
    (
        "fields",
        "The host's own fields, none of which can hold free text.",
    ),
];

/// Why a field is sent: from [`WHY`], or, for the feature flags, the duration and the
/// concurrency buckets, from their own tables.
pub(crate) fn why(path: &str) -> Option<String> {
    if let Some((_, why)) = WHY.iter().find(|(p, _)| *p == path) {
        return Some((*why).to_owned());
    }
    if let Some(key) = path.strip_prefix("features.") {
        return why_sent(key).map(str::to_owned);
    }
    if let Some((runs, label)) = path
        .strip_prefix("metrics.")
        .and_then(|p| p.split_once("_concurrency."))
    {
        let kind = match runs {
            "flow" => "flows",
            "task" => "tasks",
            _ => return None,
        };
        let bucket = ConcurrencyBucket::ALL
            .into_iter()
            .find(|b| b.label() == label)?;
        return Some(format!(
            "1 if the most {kind} seen running at once since the previous batch was `{}` \
             (sampled every 100 ms): how much concurrency to design for.",
            bucket.label()
        ));
    }
    let (runs, label) = path.strip_prefix("metrics.")?.split_once("_durations.")?;
    let kind = match runs {
        "flow" => "Flow",
        "task" => "Task",
        _ => return None,
    };
    let bucket = DurationBucket::ALL
        .into_iter()
        .find(|b| b.label() == label)?;
    Some(format!("{kind} runs that took {}.", bucket.phrase()))
}

/// What each event type is, for its heading.
fn about(event_type: &str) -> &'static str {
    match event_type {
        "session" => "Once per process: what kind of run this is.",
        "usage" => "Aggregates since the previous batch: which features the host uses, and counts.",
        "error" => "The types of errors returned and of panics since the previous batch.",
        "heartbeat" => "A long-running process is still there (every 10 minutes by default).",
        "cli_command" => {
            "The host's command line, when the host records it: every value masked, only \
             the program, its declared subcommands and flag names kept."
        }
        "custom" => {
            "An event the host defined with `#[derive(telemetry::Event)]`: only booleans, \
             integers sent as a range, declared choices and versions."
        }
        _ => "",
    }
}

/// Paths whose keys are data (an error type, a field name): shown whole, not descended into.
const MAPS: [&str; 2] = ["errors.exception_types", "fields"];

/// More about a field's type, where its values come from a closed set.
fn detail(path: &str) -> Option<String> {
    let list = |items: Vec<String>| items.join(", ");
    Some(match path {
        "schema_version" => format!("always {SCHEMA_VERSION}"),
        "batch_id" | "event_id" | "session_id" | "installation_id" => "random UUID v4".into(),
        "timestamp" | "session_start" => "UTC, truncated to the hour".into(),
        "sdk_version" | "app_version" | "rust_version" => {
            "version: digits and dots, with an optional alpha/beta/rc/pre/dev tag; anything \
             else is sent as `invalid`"
                .into()
        }
        "os" => "`std::env::consts::OS` (`linux`, `macos`, `windows`, …)".into(),
        "arch" => "`std::env::consts::ARCH` (`x86_64`, `aarch64`, …)".into(),
        "event_type" => list(
            samples()
                .iter()
                .map(|e| e.body.event_type().into())
                .collect(),
        ),
        "environment" => list(
            Environment::ALL
                .iter()
                .map(|e| e.label().to_owned())
                .collect(),
        ),
        "integrations" | "name" => {
            "names written in the host's source: 1 to 32 of `a-z 0-9 _ -`".into()
        }
        "errors.exception_types" => format!(
            "type name → count; the names: {}, or a type name the host declared in its \
             source",
            list(
                ErrorType::all()
                    .map(|e| format!("`{}`", e.name()))
                    .collect()
            )
        ),
        "command" => {
            format!("words the host declared in its source, and `{MASK}` for everything else")
        }
        "fields" => format!(
            "field name → `true`/`false`, a range ({}), a declared choice, a version, or \
             `null`",
            list(
                Bucket::ALL
                    .iter()
                    .map(|b| format!("`{}`", b.label()))
                    .collect()
            )
        ),
        p if p.contains("_concurrency.") => "0 or 1".into(),
        p if DurationBucket::ALL.iter().any(|b| p.ends_with(b.label())) => "count of calls".into(),
        _ => return None,
    })
}

/// The Markdown that `telemetry schema` prints and `TELEMETRY.md` holds.
pub(crate) fn markdown() -> String {
    let events = samples();
    let batch = sample_batch(events.clone());
    let mut md = String::new();
    md.push_str(
        "# What telemetry can send\n\n\
         <!-- Generated from the types in telemetry-runtime/src/wire/ by `telemetry \
         schema`; do not edit by hand. -->\n\n\
         Every field that can ever leave the machine is listed here, with an example and the \
         reason it is sent. Nothing is sent unless the user opted in. `<app> telemetry \
         preview` shows the exact batch that would be sent next.\n\n\
         Batches are JSON, sent by HTTPS POST. Each one holds:\n\n",
    );
    let Json::Object(top) = batch.to_json() else {
        return md;
    };
    table_start(&mut md);
    for (key, value) in &top {
        let example = match value {
            Json::Array(_) => "`[ … ]`".to_owned(),
            other => example(other),
        };
        let kind = if key == "events" {
            "array of events".to_owned()
        } else {
            kind_of(key, value)
        };
        row(&mut md, key, &kind, &example);
    }
    // Fields every event has are shown once; then each type's own.
    let trees: Vec<(&str, Vec<(String, Json)>)> = events
        .iter()
        .filter_map(|e| match e.to_json() {
            Json::Object(fields) => Some((e.body.event_type(), fields)),
            _ => None,
        })
        .collect();
    let common: Vec<&String> = trees
        .first()
        .map(|(_, f)| f.iter().map(|(k, _)| k).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|k| {
            trees
                .iter()
                .all(|(_, f)| f.iter().any(|(key, _)| key == *k))
        })
        .collect();
    md.push_str("\n## Every event\n\n");
    table_start(&mut md);
    if let Some((_, fields)) = trees.first() {
        for (key, value) in fields.iter().filter(|(k, _)| common.contains(&k)) {
            row(&mut md, key, &kind_of(key, value), &example(value));
        }
    }
    for (ty, fields) in &trees {
        let _ = write!(md, "\n## `{ty}` events\n\n{}\n\n", about(ty));
        table_start(&mut md);
        for (key, value) in fields.iter().filter(|(k, _)| !common.contains(&k)) {
            leaves(&mut md, key, value);
        }
    }
    md.push_str(
        "\n## Never sent\n\n\
         Names of fns, flows, tasks or modules; argument values and results; error messages \
         and backtraces; file paths and the working directory; host names, IP addresses, user \
         names; environment variables' values; exact times and durations. An integer a host \
         adds to its own event is sent as a range, never as the number.\n",
    );
    md.push_str(COLLECTION_SECTION);
    md
}

/// What a collector's collection config can change (`wire/collection.rs`): only ever less.
const COLLECTION_SECTION: &str = "\n## What the collector can leave out\n\n\
    The collector batches go to may serve a collection config (`GET /v1/config`, JSON, at \
    most 16 KiB), fetched at most once a day. It can only narrow what is listed above, never \
    widen it: no key names anything to add, and a config that does not read is no config. \
    `<app> telemetry status` shows the one in force; `preview` and `log` show batches after \
    it.\n\n\
    | key | what it does |\n\
    | --- | --- |\n\
    | `config_version` | `1`; a config of another version is ignored |\n\
    | `default` | a rule for every app and version |\n\
    | `apps` | per app (the endpoint's `?app=NAME`), a list of rules; the first whose \
    `versions` takes the app's version overrides `default` key by key |\n\
    | `versions` | a version range as Cargo reads it (`<0.3.0`, `>=1.2, <2`) |\n\
    | `sample` | the fraction of installations that send at all, from 0 to 1, decided by \
    each installation's random id (for good), or by the session's for a host that sends \
    none |\n\
    | `send` | the event types sent; others are not |\n\
    | `omit` | what is left out: an event type, `metrics.<name>[.<part>]`, \
    `features.<name>`, `integrations[.<name>]`, `errors[.<type>]`, \
    `custom.<event>[.<field>]` |\n\
    | `interval_secs` | at most one batch that often (at most a day) from a long-running \
    process |\n";

/// Rows for `value` at `path`, descending into objects that are not maps.
fn leaves(md: &mut String, path: &str, value: &Json) {
    match value {
        Json::Object(fields) if !MAPS.contains(&path) => {
            for (key, value) in fields {
                leaves(md, &format!("{path}.{key}"), value);
            }
        }
        _ => row(md, path, &kind_of(path, value), &example(value)),
    }
}

fn table_start(md: &mut String) {
    md.push_str("| field | type | example | why |\n| --- | --- | --- | --- |\n");
}

fn row(md: &mut String, path: &str, kind: &str, example: &str) {
    let why = why(path).unwrap_or_default();
    let _ = writeln!(
        md,
        "| `{}` | {} | {} | {} |",
        path,
        cell(kind),
        cell(example),
        cell(&why)
    );
}

/// Pipes would end a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The JSON type of `value`, and more where the values come from a closed set.
fn kind_of(path: &str, value: &Json) -> String {
    let json = match value {
        Json::Bool(_) => "boolean",
        Json::Int(_) => "integer",
        Json::Decimal(_) => "number",
        Json::Str(_) => "string",
        Json::Null => "null",
        Json::Array(_) => "array of strings",
        Json::Object(_) => "object",
    };
    match detail(path) {
        Some(more) => format!("{json}: {more}"),
        None => json.to_owned(),
    }
}

fn example(value: &Json) -> String {
    format!("`{}`", value.compact())
}

/// Every path the samples produce, for the test that keeps [`WHY`] complete.
#[cfg(test)]
fn paths() -> Vec<String> {
    fn walk(path: &str, value: &Json, out: &mut Vec<String>) {
        match value {
            Json::Object(fields) if !MAPS.contains(&path) => {
                for (key, value) in fields {
                    let p = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(&p, value, out);
                }
            }
            _ => out.push(path.to_owned()),
        }
    }
    let mut out = vec!["schema_version".into(), "batch_id".into(), "events".into()];
    for event in samples() {
        walk("", &event.to_json(), &mut out);
    }
    let mut unique: Vec<String> = Vec::new();
    for p in out {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_sent_has_a_reason_and_every_reason_a_field() {
        let paths = paths();
        for path in &paths {
            assert!(
                why(path).is_some(),
                "{path} is sent but has no reason in schema_doc::WHY"
            );
        }
        for (path, _) in WHY {
            assert!(paths.iter().any(|p| p == path), "{path} is never sent");
        }
    }

    #[test]
    fn every_event_type_has_a_heading() {
        for event in samples() {
            assert!(!about(event.body.event_type()).is_empty());
        }
    }

    #[test]
    fn the_table_lists_nested_fields_with_examples() {
        let md = markdown();
        assert!(md.contains("| `metrics.task_durations.>30min` | integer: count of calls | `0` |"));
        assert!(md.contains("| `command` | string: "));
        assert!(md.contains("`\"acme run --pipeline ***** --env *****\"`"));
        assert!(md.contains("## `custom` events"));
        // Every row of the fields' tables has four cells.
        let fields = md
            .split("## What the collector can leave out")
            .next()
            .unwrap();
        for line in fields.lines().filter(|l| l.starts_with("| `")) {
            assert_eq!(line.matches(" | ").count(), 3, "{line}");
        }
    }
}
