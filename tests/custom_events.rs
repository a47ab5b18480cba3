//! Custom events: what `#[derive(telemetry::Event)]` and `#[derive(telemetry::EventValue)]`
//! generate, the values and wire form of every allowed field kind, and `record` with
//! recording off. What the derives refuse is in `ui-tests/fail/event*.rs`.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use telemetry::wire::{Bucket, EventField, FieldValue, Name};
use telemetry::{Event, EventValue, Version};

#[derive(telemetry::EventValue, Clone, Copy, Debug, PartialEq)]
enum Strategy {
    BlueGreen,
    Rolling,
    #[telemetry(name = "canary_release")]
    Canary,
}

#[derive(telemetry::EventValue)]
enum Protocol {
    HTTPRetry,
    Http2Upgrade,
    r#Static,
}

#[derive(telemetry::Event)]
struct DeployFinished {
    dry_run: bool,
    targets: u8,
    a16: u16,
    a32: u32,
    a64: u64,
    a128: u128,
    asize: usize,
    b8: i8,
    b16: i16,
    b32: i32,
    b64: i64,
    b128: i128,
    bsize: isize,
    retries: Option<u32>,
    attempts: Option<u32>,
    strategy: Strategy,
    fallback: Option<Strategy>,
    tool_version: Version,
    r#type: Option<Protocol>,
}

#[derive(telemetry::Event)]
#[telemetry(name = "cache-cleared")]
struct CacheCleared;

#[derive(telemetry::Event)]
struct HTTPRetryGaveUp {}

fn deploy() -> DeployFinished {
    DeployFinished {
        dry_run: true,
        targets: 7,
        a16: 0,
        a32: 1,
        a64: 5,
        a128: u128::MAX,
        asize: 100,
        b8: -1,
        b16: 1000,
        b32: 10_000,
        b64: 10_001,
        b128: i128::MIN,
        bsize: 11,
        retries: None,
        attempts: Some(3),
        strategy: Strategy::BlueGreen,
        fallback: Some(Strategy::Canary),
        tool_version: Version::new("2.0.0-beta.1"),
        r#type: Some(Protocol::Http2Upgrade),
    }
}

fn choice(name: &'static str) -> FieldValue {
    FieldValue::Choice(Name::new(name).unwrap())
}

#[test]
fn names_are_the_type_names_in_snake_case_unless_given() {
    assert_eq!(DeployFinished::NAME, "deploy_finished");
    assert_eq!(CacheCleared::NAME, "cache-cleared");
    assert_eq!(HTTPRetryGaveUp::NAME, "http_retry_gave_up");
    assert!(CacheCleared.fields().is_empty());
    assert!(HTTPRetryGaveUp {}.fields().is_empty());
}

#[test]
fn fields_are_sent_by_name_with_bucketed_counts_and_choices() {
    let fields = deploy().fields();
    let expected = [
        ("dry_run", FieldValue::Bool(true)),
        ("targets", FieldValue::Count(Bucket::From6To10)),
        ("a16", FieldValue::Count(Bucket::Zero)),
        ("a32", FieldValue::Count(Bucket::One)),
        ("a64", FieldValue::Count(Bucket::From2To5)),
        ("a128", FieldValue::Count(Bucket::Over10000)),
        ("asize", FieldValue::Count(Bucket::From11To100)),
        ("b8", FieldValue::Count(Bucket::Negative)),
        ("b16", FieldValue::Count(Bucket::From101To1000)),
        ("b32", FieldValue::Count(Bucket::From1001To10000)),
        ("b64", FieldValue::Count(Bucket::Over10000)),
        ("b128", FieldValue::Count(Bucket::Negative)),
        ("bsize", FieldValue::Count(Bucket::From11To100)),
        ("retries", FieldValue::Absent),
        ("attempts", FieldValue::Count(Bucket::From2To5)),
        ("strategy", choice("blue_green")),
        ("fallback", choice("canary_release")),
        (
            "tool_version",
            FieldValue::Version(Version::new("2.0.0-beta.1")),
        ),
        // A raw identifier is sent without its `r#`.
        ("type", choice("http2_upgrade")),
    ];
    assert_eq!(fields, expected);
    assert_eq!(fields[1].1, FieldValue::Count(Bucket::of(7)));
    assert_eq!(Bucket::of(7).label(), "6-10");
}

#[test]
fn event_values_list_their_variants_in_snake_case() {
    assert_eq!(
        Strategy::VARIANTS,
        ["blue_green", "rolling", "canary_release"]
    );
    assert_eq!(
        Protocol::VARIANTS,
        ["http_retry", "http2_upgrade", "static"]
    );
    assert_eq!(Strategy::Rolling.field_value(), choice("rolling"));
    assert_eq!(Some(Strategy::Rolling).field_value(), choice("rolling"));
    assert_eq!(None::<Strategy>.field_value(), FieldValue::Absent);
    // Every name sent is one of the declared variants.
    for value in [
        Protocol::HTTPRetry,
        Protocol::Http2Upgrade,
        Protocol::r#Static,
    ] {
        let FieldValue::Choice(name) = value.field_value() else {
            panic!("an EventValue is sent as a choice");
        };
        assert!(Protocol::VARIANTS.contains(&name.as_str()));
    }
}

#[test]
fn the_wire_form_holds_only_booleans_ranges_choices_versions_and_nulls() {
    let fields: serde_json::Map<String, serde_json::Value> = deploy()
        .fields()
        .into_iter()
        .map(|(name, value)| {
            (
                name.to_owned(),
                serde_json::from_str(&value.json()).unwrap(),
            )
        })
        .collect();
    let json = serde_json::Value::Object(fields);
    assert_eq!(
        json,
        serde_json::json!({
            "dry_run": true,
            "targets": "6-10",
            "a16": "0",
            "a32": "1",
            "a64": "2-5",
            "a128": ">10000",
            "asize": "11-100",
            "b8": "<0",
            "b16": "101-1000",
            "b32": "1001-10000",
            "b64": ">10000",
            "b128": "<0",
            "bsize": "11-100",
            "retries": null,
            "attempts": "2-5",
            "strategy": "blue_green",
            "fallback": "canary_release",
            "tool_version": "2.0.0-beta.1",
            "type": "http2_upgrade",
        })
    );
}

/// Counts how often `record` asked for its fields.
struct Watched;

static FIELDS_READ: AtomicUsize = AtomicUsize::new(0);

// The sealing trait is not public API; a test may implement it to watch `record`.
impl telemetry::__private::SealedEvent for Watched {}

impl Event for Watched {
    const NAME: &'static str = "watched";
    fn fields(&self) -> Vec<(&'static str, FieldValue)> {
        FIELDS_READ.fetch_add(1, Relaxed);
        Vec::new()
    }
}

#[test]
fn record_does_nothing_while_recording_is_off() {
    assert!(!telemetry::introspect::is_recording());
    telemetry::record(&deploy());
    telemetry::record(&CacheCleared);
    telemetry::record(&Watched);
    assert_eq!(FIELDS_READ.load(Relaxed), 0, "the event was not even read");
}
