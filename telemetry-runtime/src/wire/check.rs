//! The strict check of a batch our own writer made: a spooled one before it is sent or
//! previewed, a line of the sent log before it is shown.
//!
//! A file in the spool is sent as it is, so it must be, byte for byte, what serialising our
//! own wire types could have produced, in this release or an older one: compact JSON, the
//! keys in the order the writer writes them, no key twice, nothing the contract
//! (`schema.rs`) does not know, and every value passing the check of the type that would
//! have made it (`received.rs`, read strictly). A file another program wrote there cannot
//! push free text (a user name, a path) to the wire.
//!
//! What no check can tell apart, because the types accept it too: any word shaped like a
//! `Name` (an integration, a program or subcommand, a custom event's choice: `"alice"`), any
//! flag shape in a command (`--alice`), a host's error type path (`alice::Laptop`), and the
//! value of a count (any whole number up to `MAX_COUNT`).

use crate::wire::json::Json;
use crate::wire::read::read_own;
use crate::wire::received::Document;

/// Larger files are not ours (the worker's limit for spooled batches).
const MAX_BYTES: usize = 256 * 1024;

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
    (json.compact().as_bytes() == body && read_own(&Document::from(&json)).is_ok()).then_some(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::buckets::Bucket;
    use crate::wire::command::Commands;
    use crate::wire::custom::FieldValue;
    use crate::wire::errors::ErrorType;
    use crate::wire::event::{Body, Errors, Event};
    use crate::wire::event::{Environment, Metrics};
    use crate::wire::features::FeatureUse;
    use crate::wire::id::{Hour, Id};
    use crate::wire::json::ToJson;
    use crate::wire::samples::sample_batch;
    use crate::wire::samples::samples;
    use crate::wire::schema::MAX_ITEMS;
    use crate::wire::text::Name;
    use crate::wire::text::Version;

    /// Words of a masked command: the program, 31 words, and the `*****` that ends a cut line.
    const MAX_WORDS: usize = 33;

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
