//! The strict check of a batch: a spooled one before it is sent or previewed, a received one
//! before a collector stores it.
//!
//! A file in the spool is sent as it is, so it must be, byte for byte, what serialising our
//! own wire types could have produced: compact JSON, the same keys in the same order,
//! no key twice, and every value passing the check of the type that would have made it. A
//! file another program wrote there cannot push free text (a user name, a path) to the wire.
//!
//! What no check can tell apart, because the types accept it too: any word shaped like a
//! `Name` (an integration, a program or subcommand, a custom event's choice: `"alice"`), any
//! flag shape in a command (`--alice`), a host's error type path (`alice::Laptop`), and the
//! value of a count (any `u64`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use crate::wire::buckets::Bucket;
use crate::wire::command::{MASK, is_flag};
use crate::wire::errors::{ErrorType, is_type_path};
use crate::wire::event::{Environment, Metrics, SCHEMA_VERSION};
use crate::wire::features::FeatureUse;
use crate::wire::id::{Hour, Id};
use crate::wire::json::{Json, ToJson};
use crate::wire::samples::samples;
use crate::wire::text::{Version, is_name};

/// Larger files are not ours (the worker's limit for spooled batches).
const MAX_BYTES: usize = 256 * 1024;
/// Events per batch (a batch under `MAX_BYTES` cannot reach it; a second line of defence).
const MAX_EVENTS: usize = 10_000;
/// Integrations, error types or custom fields in one event.
const MAX_ITEMS: usize = 1024;
/// Words of a masked command: the program, 31 words, and the `*****` that ends a cut line.
const MAX_WORDS: usize = 33;

/// Every event's keys, in the order `Event` serialises them (common keys up to
/// `event_type`, then the type's own), read off one sample of each type: the check follows
/// the types (a field added to `Body` is expected here).
static EVENT_KEYS: LazyLock<Vec<(&'static str, Vec<String>)>> = LazyLock::new(|| {
    samples()
        .iter()
        .filter_map(|event| match event.to_json() {
            Json::Object(fields) => Some((
                event.body.event_type(),
                fields.into_iter().map(|(key, _)| key).collect(),
            )),
            _ => None,
        })
        .collect()
});

/// The keys of an event of type `event_type`, in order (with `installation_id`).
fn event_keys(event_type: &str) -> Option<&'static [String]> {
    EVENT_KEYS
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, keys)| keys.as_slice())
}

/// The wire shape of `FeatureUse` and `Metrics`, read off their defaults: the check follows
/// the types (a key added there is expected here).
static FEATURES: LazyLock<Json> = LazyLock::new(|| FeatureUse::default().to_json());
static METRICS: LazyLock<Json> = LazyLock::new(|| Metrics::default().to_json());

/// Whether `body` is a batch our own types could have serialised, and nothing else.
pub(crate) fn is_valid_batch(body: &[u8]) -> bool {
    checked_batch(body).is_some()
}

/// `body` read, if it is a batch our own types could have serialised, and nothing else.
pub(crate) fn checked_batch(body: &[u8]) -> Option<Json> {
    if body.len() > MAX_BYTES {
        return None;
    }
    // The reader's depth limit stops deeply nested input here.
    let json = Json::parse(std::str::from_utf8(body).ok()?)?;
    // Written back as the worker writes a batch, it must be the very bytes read: no
    // whitespace, escapes or number forms carrying anything the checks do not see.
    (has_fields(&json, ["schema_version", "batch_id", "events"])
        && json.compact().as_bytes() == body)
        .then_some(json)
}

/// An object with exactly `keys`, in that order (so no key twice), each value valid.
fn has_fields<'a>(json: &Json, keys: impl IntoIterator<Item = &'a str>) -> bool {
    let Json::Object(fields) = json else {
        return false;
    };
    let mut keys = keys.into_iter();
    fields
        .iter()
        .all(|(k, v)| keys.next() == Some(k.as_str()) && is_valid(k, v))
        && keys.next().is_none()
}

fn is_event(json: &Json) -> bool {
    let Json::Object(fields) = json else {
        return false;
    };
    let value = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let Some(keys) = value("event_type")
        .and_then(Json::as_str)
        .and_then(event_keys)
    else {
        return false;
    };
    // `installation_id` only once the user consented.
    let consented = value("installation_id").is_some();
    let keys = keys
        .iter()
        .map(String::as_str)
        .filter(|k| consented || *k != "installation_id");
    has_fields(json, keys)
}

/// The value at `key`; every key of every level is unique, so the key says what it holds.
fn is_valid(key: &str, v: &Json) -> bool {
    let text = |check: fn(&str) -> bool| v.as_str().is_some_and(check);
    match (key, v) {
        ("schema_version", Json::Int(n)) => *n == u64::from(SCHEMA_VERSION),
        ("batch_id" | "event_id" | "session_id" | "installation_id", _) => {
            text(Id::is_printed_form)
        }
        ("events", Json::Array(events)) => {
            events.len() <= MAX_EVENTS && events.iter().all(is_event)
        }
        ("timestamp" | "session_start", _) => text(Hour::is_printed_form),
        ("sdk_version" | "app_version" | "rust_version", _) => text(Version::is_printed_form),
        ("os" | "arch", _) => text(is_platform),
        ("event_type", _) => text(|t| event_keys(t).is_some()),
        ("interactive", Json::Bool(_)) => true,
        ("environment", _) => text(|t| Environment::ALL.iter().any(|e| e.label() == t)),
        ("integrations", Json::Array(names)) => {
            names.len() <= MAX_ITEMS && names.iter().all(|n| n.as_str().is_some_and(is_name))
        }
        ("features", _) => same_shape(&FEATURES, v),
        ("metrics", _) => same_shape(&METRICS, v),
        ("errors", _) => has_fields(v, ["exception_types"]),
        // Any order (a `BTreeMap<ErrorType, _>` sorts by variant, not by name), no key twice.
        ("exception_types", Json::Object(types)) => {
            let known = |k: &str| is_type_path(k) || ErrorType::all().any(|e| e.name() == k);
            types.len() <= MAX_ITEMS
                && types.iter().map(|(k, _)| k).collect::<BTreeSet<_>>().len() == types.len()
                && types
                    .iter()
                    .all(|(k, n)| known(k) && matches!(n, Json::Int(_)))
        }
        ("command", _) => text(is_command),
        ("name", _) => text(is_name),
        // A `BTreeMap<Name, FieldValue>`: names in sorted order.
        ("fields", Json::Object(fields)) => {
            fields.len() <= MAX_ITEMS
                && fields.windows(2).all(|w| w[0].0 < w[1].0)
                && fields.iter().all(|(k, v)| is_name(k) && is_field_value(v))
        }
        _ => false,
    }
}

/// A `FieldValue`: a bool, `null` (absent), a bucket label, a version, or a choice. A choice
/// is a `Name`-shaped word whose declared variants are in the host's binary, not in the file,
/// so `"alice"` passes as a variant `Alice` would.
fn is_field_value(v: &Json) -> bool {
    match v {
        Json::Null | Json::Bool(_) => true,
        Json::Str(s) => {
            Bucket::ALL.iter().any(|b| b.label() == s) || Version::is_printed_form(s) || is_name(s)
        }
        _ => false,
    }
}

/// The same keys in the same order, with a bool or a count where the template has one.
fn same_shape(template: &Json, v: &Json) -> bool {
    match (template, v) {
        (Json::Bool(_), Json::Bool(_)) | (Json::Int(_), Json::Int(_)) => true,
        (Json::Object(t), Json::Object(o)) => {
            t.len() == o.len()
                && t.iter()
                    .zip(o)
                    .all(|((tk, tv), (k, v))| tk == k && same_shape(tv, v))
        }
        _ => false,
    }
}

/// `std::env::consts::OS`/`ARCH` shapes: `linux`, `x86_64`.
fn is_platform(s: &str) -> bool {
    (1..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What `Commands::mask` writes: the program (a name, or `*****`), then subcommands (names),
/// flags, `--` and `*****`. After `--` only `*****`; after a `*****` that is not a flag's
/// value, no more subcommands.
fn is_command(s: &str) -> bool {
    let words: Vec<&str> = s.split(' ').collect();
    let (mut prev, mut values_only, mut subcommands) = (words[0], false, true);
    words.len() <= MAX_WORDS
        && (prev == MASK || is_name(prev))
        && words[1..].iter().all(|&w| {
            let declared = w == "--" || is_flag(w) || (subcommands && is_name(w));
            let ok = w == MASK || (declared && !values_only);
            subcommands &= w != MASK || is_flag(prev);
            values_only |= w == "--";
            prev = w;
            ok
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::command::Commands;
    use crate::wire::custom::FieldValue;
    use crate::wire::event::{Body, Errors, Event};
    use crate::wire::samples::sample_batch;
    use crate::wire::text::Name;

    fn batch(events: Vec<Event>) -> String {
        sample_batch(events).to_json().compact()
    }

    #[test]
    fn every_sample_passes_alone_and_together() {
        for event in samples() {
            let one = batch(vec![event]);
            assert!(is_valid_batch(one.as_bytes()), "{one}");
        }
        assert!(is_valid_batch(batch(samples()).as_bytes()));
        assert!(is_valid_batch(batch(vec![]).as_bytes()));
    }

    #[test]
    fn a_real_batch_passes() {
        static ACME: Commands = Commands::new("acme")
            .subcommands(&["run"])
            .options(&["--env"]);
        let mask = |args: &[&str]| Body::CliCommand {
            command: ACME.mask(args),
        };
        let names = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
        ];
        let values = Bucket::ALL.map(FieldValue::Count).into_iter().chain([
            FieldValue::Absent,
            FieldValue::Bool(true),
            FieldValue::Choice(Name::new("blue").unwrap()),
            FieldValue::Version(Version::new("1.0.0-rc.1")),
        ]);
        let errors = ErrorType::all().chain([ErrorType::named("acme::E")]);
        let metrics = Metrics {
            dropped_events: u64::MAX,
            ..Metrics::default()
        };
        let bodies = [
            Body::Session {
                interactive: false,
                environment: Environment::Other,
                integrations: vec![],
            },
            Body::Usage {
                features: FeatureUse::default(),
                metrics,
            },
            Body::Error {
                errors: Errors {
                    exception_types: errors.map(|e| (e, 1)).collect(),
                },
            },
            Body::Heartbeat {
                session_start: Hour::from_unix_secs(0),
            },
            mask(&[
                "--env",
                "x",
                "run",
                "/home/alice",
                "--env=y",
                "--",
                "--help",
            ]),
            mask(&["x"; 100]),
            Body::CliCommand {
                command: Commands::new("/usr/bin/acme").mask(["run", "-h"]),
            },
            Body::Custom {
                name: Name::new("deploy").unwrap(),
                fields: names
                    .into_iter()
                    .filter_map(Name::new)
                    .zip(values)
                    .collect(),
            },
        ];
        // As the pipeline makes events; no installation id.
        let session_id = Id::random().unwrap();
        let events = bodies.into_iter().map(|body| Event {
            event_id: Id::random().unwrap(),
            session_id,
            installation_id: None,
            timestamp: Hour::now(),
            sdk_version: Version::new(env!("CARGO_PKG_VERSION")),
            app_version: Version::new("not a version"),
            rust_version: Version::new(env!("TELEMETRY_RUSTC_VERSION")),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            body,
        });
        let body = batch(events.collect());
        assert!(is_valid_batch(body.as_bytes()), "{body}");
    }

    /// Each case is `from => to`, a change to the samples' batch that must be rejected.
    #[test]
    fn anything_else_is_rejected() {
        let good = batch(samples());
        let names = format!(r#""postgres","s3" => {}"a""#, r#""a","#.repeat(MAX_ITEMS));
        let words = format!(
            r#"--env *****" => --env{}""#,
            " *****".repeat(MAX_WORDS - 4)
        );
        let cases = [
            // An unknown key at each level; a key missing, moved or twice.
            r#"{"schema_version" => {"x":1,"schema_version""#,
            r#""event_id" => "x":1,"event_id""#,
            r#""interactive":true => "interactive":true,"user":"alice""#,
            r#""features":{ => "features":{"x":true,"#,
            r#""metrics":{ => "metrics":{"x":1,"#,
            r#""flow_runs":{ => "flow_runs":{"x":1,"#,
            r#""flow_durations":{ => "flow_durations":{"x":1,"#,
            r#""errors":{ => "errors":{"x":{},"#,
            r#""session_start" => "x":1,"session_start""#,
            r#""command" => "x":1,"command""#,
            r#""name":"deploy_finished" => "name":"deploy_finished","x":1"#,
            r#""interactive":true, => "#,
            r#""os":"linux","arch":"x86_64" => "arch":"x86_64","os":"linux""#,
            r#""os":"linux" => "os":"/home/alice","os":"linux""#,
            r#""dry_run":false,"strategy":"blue_green" => "strategy":"blue_green","dry_run":false"#,
            r#""acme::FetchError":1 => "std::io::Error(TimedOut)":1"#,
            // Not as compact as ours: whitespace, escapes.
            r#"{"schema_version" => { "schema_version""#,
            r#""linux" => "\u006cinux""#,
            "\"s3\"] => \"s3\"]\n",
            // Free text or a wrong type in every field.
            r#""schema_version":1 => "schema_version":2"#,
            r#""schema_version":1 => "schema_version":"1""#,
            r#""batch_id":"00000000 => "batch_id":"alice"#,
            r#"00000001-0000-4000-8000-000000000000 => 00000001000040008000000000000000"#,
            r#"000a11ce => 000A11CE"#,
            r#"04:00:00Z => 04:13:09Z"#,
            r#"T04:00:00Z => T24:00:00Z"#,
            r#"2026-11-21T04 => 2026-02-30T04"#,
            r#""2026-11-21T03 => "+026-11-21T03"#,
            r#""sdk_version":"0.1.0" => "sdk_version":"alice""#,
            r#""app_version":"1.4.2" => "app_version":"1.4.2-alice""#,
            r#""rust_version":"1.95.0" => "rust_version":"1.95.0 (alice)""#,
            r#""os":"linux" => "os":"/home/alice""#,
            r#""os":"linux" => "os":null"#,
            r#""arch":"x86_64" => "arch":"x86_64_of_alice_smith""#,
            r#""event_type":"session" => "event_type":"alice""#,
            r#""event_type":"session" => "event_type":"heartbeat""#,
            r#""interactive":true => "interactive":"yes""#,
            r#""production" => "alice-laptop""#,
            r#""postgres" => "/home/alice""#,
            r#""postgres" => "Alice Smith""#,
            r#""acme::FetchError" => "acme::Fetch Error""#,
            r#"--pipeline ***** --env ***** => --pipeline ***** ***** alice"#,
            r#"--pipeline ***** --env ***** => /home/alice"#,
            r#"--pipeline ***** => --pipeline=ds"#,
            r#"acme run => acme  run"#,
            r#"--env ***** => -- --env"#,
            r#"--env ***** => -- *****  run"#,
            r#""acme run --pipeline ***** --env *****" => """#,
            r#""acme run => "Acme run"#,
            r#""name":"deploy_finished" => "name":"Deploy Finished""#,
            r#""dry_run" => "Dry Run""#,
            r#""strategy":"blue_green" => "strategy":"Alice Smith""#,
            r#""targets":"2-5" => "targets":3"#,
            // Counts that are not u64, booleans that are not bools.
            r#""cache_hits":17 => "cache_hits":17.0"#,
            r#""cache_hits":17 => "cache_hits":-17"#,
            r#""cache_hits":17 => "cache_hits":1e1"#,
            r#""cache_hits":17 => "cache_hits":"17""#,
            r#""cache_hits":17 => "cache_hits":18446744073709551616"#,
            r#""flow_decorator":true => "flow_decorator":1"#,
            r#""std::io::Error(TimedOut)":2 => "std::io::Error(TimedOut)":-2"#,
            // Oversized arrays.
            &names,
            &words,
        ];
        for case in cases {
            let (from, to) = case.split_once(" => ").unwrap();
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from} is not in the samples");
            assert!(!is_valid_batch(bad.as_bytes()), "{case:.200}");
        }
        let mut bytes = good.clone().into_bytes();
        bytes[good.find("linux").unwrap()] = 0xff;
        assert!(!is_valid_batch(&bytes), "not UTF-8");
        let big = batch(
            std::iter::repeat_with(samples)
                .take(200)
                .flatten()
                .collect(),
        );
        assert!(big.len() > MAX_BYTES && !is_valid_batch(big.as_bytes()));
        let nested = ["[".repeat(100_000), r#"{"a":"#.repeat(1000)];
        let trailing = [format!("{good}\n"), format!("{good}{good}")];
        for garbage in ["", "null", "[]", r#""/home/alice""#, &nested[0], &nested[1]]
            .into_iter()
            .chain(trailing.iter().map(String::as_str))
        {
            assert!(!is_valid_batch(garbage.as_bytes()), "{garbage:.20}");
        }
    }

    /// What the types accept too, so no check can refuse it (see the module's doc).
    #[test]
    fn name_shaped_words_cannot_be_told_apart() {
        let good = batch(samples());
        for case in [
            r#""blue_green" => "alice""#,
            r#""acme run => "alice run"#,
            r#"--env ***** => --alice *****"#,
            r#""acme::FetchError" => "alice::Laptop""#,
            r#""cache_hits":17 => "cache_hits":435761734001"#,
        ] {
            let (from, to) = case.split_once(" => ").unwrap();
            assert!(
                is_valid_batch(good.replacen(from, to, 1).as_bytes()),
                "{to}"
            );
        }
    }
}
