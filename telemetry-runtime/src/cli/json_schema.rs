//! The wire as a JSON Schema (draft 2020-12): what `TELEMETRY.schema.json` holds and a
//! collector serves at `GET /v1/schema`, generated from the contract (`wire/schema.rs`), the
//! one definition the reader follows too.
//!
//! It says what a reader of this release accepts: any key it does not know is allowed (a
//! newer runtime's additive part, left out by the reader), a closed field's value is any
//! name-shaped word (an unknown one reads as `unknown`), and an event of a type it does not
//! know is allowed whole. What it cannot say, the reader still checks: a key twice, the
//! order of words in a masked command, a date that does not exist.

use crate::cli::schema_doc::why;
use crate::wire::buckets::Bucket;
use crate::wire::event::SCHEMA_VERSION;
use crate::wire::json::{Json, MAX_COUNT};
use crate::wire::schema::{CONTRACT, Field, KNOWN_SCHEMA_VERSIONS, MAX_EVENTS, MAX_ITEMS, Shape};

const NAME: &str = "^[a-z][a-z0-9_-]{0,31}$";
const ID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const HOUR: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):00:00Z$";
const VERSION: &str = r"^(invalid|[0-9]{1,9}(\.[0-9]{1,9}){0,3}(-((alpha|beta|rc|pre|dev)[0-9]{0,9}|[0-9]{1,9})(\.((alpha|beta|rc|pre|dev)[0-9]{0,9}|[0-9]{1,9}))?)?)$";
const COMMAND: &str = r"^(\*\*\*\*\*|[a-z][a-z0-9_-]{0,31})( (\*\*\*\*\*|--|--?[A-Za-z0-9_][A-Za-z0-9_-]{0,31}|[a-z][a-z0-9_-]{0,31})){0,32}$";
const ERROR_TYPE: &str = r"^([A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*|std::io::Error\([A-Za-z_][A-Za-z0-9_]*\))$";

/// The JSON Schema of a batch, pretty-printed.
pub(crate) fn json_schema() -> String {
    let contract = &*CONTRACT;
    let event_types: Vec<Json> = contract
        .events
        .iter()
        .map(|e| Json::str(e.event_type))
        .collect();
    let branches: Vec<Json> = contract
        .events
        .iter()
        .map(|e| {
            let fields: Vec<&Field> = contract.common.iter().chain(&e.fields).collect();
            Json::object([
                (
                    "if",
                    Json::object([
                        (
                            "properties",
                            Json::object([(
                                "event_type",
                                Json::object([("const", Json::str(e.event_type))]),
                            )]),
                        ),
                        ("required", Json::Array(vec![Json::str("event_type")])),
                    ]),
                ),
                ("then", object(&fields)),
            ])
        })
        .collect();
    let event = Json::object([
        ("type", Json::str("object")),
        (
            "description",
            Json::str(
                "One event. Its `event_type` says which fields it has; an event of a type \
                 this release does not know is allowed whole and left out by the reader.",
            ),
        ),
        (
            "properties",
            Json::object([(
                "event_type",
                Json::object([
                    ("$ref", Json::str("#/$defs/name")),
                    ("examples", Json::Array(event_types)),
                ]),
            )]),
        ),
        ("required", Json::Array(vec![Json::str("event_type")])),
        ("allOf", Json::Array(branches)),
    ]);
    let batch: Vec<&Field> = contract.batch.iter().collect();
    let mut schema = match object(&batch) {
        Json::Object(fields) => fields,
        _ => Vec::new(),
    };
    let mut head = vec![
        (
            "$schema".to_owned(),
            Json::str("https://json-schema.org/draft/2020-12/schema"),
        ),
        (
            "$id".to_owned(),
            Json::str(format!("urn:telemetry:batch:{SCHEMA_VERSION}")),
        ),
        (
            "title".to_owned(),
            Json::str(format!(
                "A batch of telemetry events, schema version {SCHEMA_VERSION}"
            )),
        ),
        (
            "description".to_owned(),
            Json::str(
                "Generated from the types in telemetry-runtime/src/wire/ (`telemetry schema \
                 --json`); do not edit by hand. Keys not listed here are allowed: a newer \
                 runtime's additive fields, which a reader leaves out and counts.",
            ),
        ),
    ];
    head.append(&mut schema);
    head.push((
        "$defs".to_owned(),
        Json::object([
            ("event", event),
            ("id", pattern("A UUID, 8-4-4-4-12 hex digits.", ID)),
            (
                "hour",
                pattern("UTC, truncated to the hour: never an exact time.", HOUR),
            ),
            (
                "version",
                Json::object([
                    ("type", Json::str("string")),
                    ("maxLength", Json::Int(32)),
                    ("pattern", Json::str(VERSION)),
                ]),
            ),
            (
                "name",
                pattern(
                    "A name written in the host's source: 1 to 32 of a-z 0-9 _ -, starting \
                     with a letter.",
                    NAME,
                ),
            ),
            (
                "count",
                Json::object([
                    ("type", Json::str("integer")),
                    ("minimum", Json::Int(0)),
                    ("maximum", Json::Int(MAX_COUNT)),
                ]),
            ),
        ]),
    ));
    Json::Object(head).pretty()
}

fn pattern(description: &str, pattern: &str) -> Json {
    Json::object([
        ("type", Json::str("string")),
        ("description", Json::str(description)),
        ("pattern", Json::str(pattern)),
    ])
}

/// An object with `fields` (and any other key: a newer runtime's, left out by a reader).
fn object(fields: &[&Field]) -> Json {
    let mut out = vec![("type", Json::str("object"))];
    out.push((
        "properties",
        Json::Object(fields.iter().map(|f| (f.key.clone(), value(f))).collect()),
    ));
    let required: Vec<Json> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| Json::str(f.key.as_str()))
        .collect();
    if !required.is_empty() {
        out.push(("required", Json::Array(required)));
    }
    Json::object(out)
}

/// The schema of one field's value, with why it is sent.
fn value(field: &Field) -> Json {
    let reference = |def: &str| Json::object([("$ref", Json::str(format!("#/$defs/{def}")))]);
    let schema = match &field.shape {
        Shape::SchemaVersion => Json::object([(
            "enum",
            Json::Array(
                KNOWN_SCHEMA_VERSIONS
                    .iter()
                    .map(|v| Json::Int(u64::from(*v)))
                    .collect(),
            ),
        )]),
        Shape::Id => reference("id"),
        Shape::Hour => reference("hour"),
        Shape::Version => reference("version"),
        Shape::Closed(known) => Json::object([
            ("$ref", Json::str("#/$defs/name")),
            (
                "examples",
                Json::Array(known.iter().map(|k| Json::str(*k)).collect()),
            ),
        ]),
        Shape::EventType | Shape::Name => reference("name"),
        Shape::Bool => Json::object([("type", Json::str("boolean"))]),
        Shape::Count => reference("count"),
        Shape::Names => Json::object([
            ("type", Json::str("array")),
            ("maxItems", Json::Int(MAX_ITEMS as u64)),
            ("items", reference("name")),
        ]),
        Shape::Command => Json::object([
            ("type", Json::str("string")),
            ("pattern", Json::str(COMMAND)),
        ]),
        Shape::Object(fields) => {
            let fields: Vec<&Field> = fields.iter().collect();
            object(&fields)
        }
        Shape::ErrorCounts => Json::object([
            ("type", Json::str("object")),
            ("maxProperties", Json::Int(MAX_ITEMS as u64)),
            (
                "propertyNames",
                Json::object([
                    ("maxLength", Json::Int(64)),
                    ("pattern", Json::str(ERROR_TYPE)),
                ]),
            ),
            ("additionalProperties", reference("count")),
        ]),
        Shape::CustomFields => {
            // Bucket labels (`<0`, `2-5`, `>10000`) hold nothing a regex reads specially.
            let buckets: Vec<&str> = Bucket::ALL.iter().map(|b| b.label()).collect();
            let text = format!(
                "^({}|{}|{})$",
                buckets.join("|"),
                &VERSION[1..VERSION.len() - 1],
                &NAME[1..NAME.len() - 1]
            );
            Json::object([
                ("type", Json::str("object")),
                ("maxProperties", Json::Int(MAX_ITEMS as u64)),
                ("propertyNames", reference("name")),
                (
                    "additionalProperties",
                    Json::object([(
                        "anyOf",
                        Json::Array(vec![
                            Json::object([("type", Json::str("boolean"))]),
                            Json::object([("type", Json::str("null"))]),
                            Json::object([
                                ("type", Json::str("string")),
                                ("pattern", Json::str(text)),
                            ]),
                        ]),
                    )]),
                ),
            ])
        }
        Shape::Events => Json::object([
            ("type", Json::str("array")),
            ("maxItems", Json::Int(MAX_EVENTS as u64)),
            ("items", reference("event")),
        ]),
    };
    match (schema, why(&field.path)) {
        (Json::Object(mut fields), Some(why)) => {
            fields.insert(0, ("description".to_owned(), Json::str(why)));
            Json::Object(fields)
        }
        (schema, _) => schema,
    }
}
