//! The wire's contract, read off the types that write it: which keys a batch, every event
//! and each event type hold, what each value must be, which keys a reader may not go
//! without, and which schema versions exist. The reader (`received.rs`), the check of our
//! own spooled batches (`check.rs`) and the published JSON Schema (`cli/json_schema.rs`) all
//! follow it, so a field added to a type is known to the three at once.
//!
//! The key lists come from the writer: one sample of every event type serialised as the
//! worker serialises a batch (`samples.rs`). What each key's value must be is said once,
//! below, by the key's path; a key the writer sends without a shape here fails a test.
//!
//! # Compatibility (docs/compatibility.md, "What changes are additive"; ARCHITECTURE.md)
//!
//! A change is *additive* when a reader of the older contract can leave the new part out
//! and still read the rest correctly: a new optional field at any level, a new metric or
//! feature, a new event type, a new value of a closed field (an `os`, an `arch`, an
//! `environment`). Additive changes keep [`SCHEMA_VERSION`](crate::wire::event::SCHEMA_VERSION):
//! a newer field must be optional here ([`OPTIONAL`]), since older clients do not send it.
//! Anything else (a key renamed, removed or made required, a type or a meaning changed, an
//! id or an hour written another way) is a new schema version, which every reader keeps
//! reading the old one beside.

use std::sync::LazyLock;

use crate::wire::event::{Environment, SCHEMA_VERSION};
use crate::wire::json::{Json, ToJson};
use crate::wire::samples::{sample_batch, samples};

/// Every schema version a reader of this release understands, oldest first.
pub const KNOWN_SCHEMA_VERSIONS: [u32; 1] = [SCHEMA_VERSION];

/// Events in one batch, at most.
pub(crate) const MAX_EVENTS: usize = 10_000;
/// Integrations, error types or custom fields in one event, at most.
pub(crate) const MAX_ITEMS: usize = 1024;

/// The value a reader keeps for a value of a closed field it does not know, such as an `os`
/// a newer runtime learnt.
pub const UNKNOWN: &str = "unknown";

/// `std::env::consts::OS` values: what `os` holds (a newer toolchain may add more).
pub(crate) const OS_NAMES: &[&str] = &[
    "linux",
    "macos",
    "windows",
    "ios",
    "android",
    "freebsd",
    "dragonfly",
    "netbsd",
    "openbsd",
    "solaris",
    "illumos",
    "aix",
    "haiku",
    "hurd",
    "fuchsia",
    "redox",
    "emscripten",
    "wasi",
    "tvos",
    "watchos",
    "visionos",
    "nto",
    "espidf",
    "horizon",
    "vita",
    "vxworks",
    "hermit",
    "l4re",
    "uefi",
    "cygwin",
    "nuttx",
    "none",
];

/// `std::env::consts::ARCH` values: what `arch` holds.
pub(crate) const ARCH_NAMES: &[&str] = &[
    "x86_64",
    "aarch64",
    "x86",
    "arm",
    "arm64ec",
    "riscv64",
    "riscv32",
    "powerpc",
    "powerpc64",
    "s390x",
    "loongarch64",
    "loongarch32",
    "mips",
    "mips64",
    "mips32r6",
    "mips64r6",
    "sparc",
    "sparc64",
    "m68k",
    "csky",
    "hexagon",
    "wasm32",
    "wasm64",
    "bpf",
    "avr",
    "msp430",
    "nvptx64",
    "xtensa",
    "amdgpu",
];

/// Keys (full paths, or prefixes ending in `.`) a reader goes without: `installation_id`
/// (never sent without consent, nor by an anonymous host), and every feature flag and
/// metric (older clients send fewer: `flow_concurrency` came after the first release of
/// schema version 1). A field added to an event later belongs here.
pub(crate) const OPTIONAL: [&str; 3] = ["installation_id", "features.", "metrics."];

/// What the value at one place in a batch must be.
#[derive(Debug)]
pub(crate) enum Shape {
    /// One of [`KNOWN_SCHEMA_VERSIONS`].
    SchemaVersion,
    /// A UUID: `8-4-4-4-12` hex digits (written in lowercase).
    Id,
    /// An hour: `YYYY-MM-DDTHH:00:00Z`.
    Hour,
    /// A checked version, or `invalid`.
    Version,
    /// One of these names; another name-shaped value reads as [`UNKNOWN`].
    Closed(Vec<&'static str>),
    /// `event_type`: one of the types below; another name-shaped one is left out whole.
    EventType,
    Bool,
    /// A whole number from 0 to `MAX_COUNT` (`json.rs`).
    Count,
    /// Names the host declared: a list of at most [`MAX_ITEMS`].
    Names,
    /// A name the host declared.
    Name,
    /// A masked command line (`command.rs`).
    Command,
    /// An object with these keys; a reader leaves out and counts any other.
    Object(Vec<Field>),
    /// Error type name → count.
    ErrorCounts,
    /// A custom event's field name → value.
    CustomFields,
    /// The list of events, at most [`MAX_EVENTS`].
    Events,
}

/// One key of an object.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) key: String,
    /// Its full path (`metrics.flow_runs.calls`), for messages and documents.
    pub(crate) path: String,
    pub(crate) shape: Shape,
    pub(crate) required: bool,
}

/// An event type and the keys of its own (after the ones every event has).
#[derive(Debug)]
pub(crate) struct EventShape {
    pub(crate) event_type: &'static str,
    pub(crate) fields: Vec<Field>,
}

/// The whole contract of the current schema version.
#[derive(Debug)]
pub(crate) struct Contract {
    /// `schema_version`, `batch_id`, `events`.
    pub(crate) batch: Vec<Field>,
    /// The keys every event has, in the order they are written.
    pub(crate) common: Vec<Field>,
    /// Each event type's own keys.
    pub(crate) events: Vec<EventShape>,
}

impl Contract {
    /// The shape of `event_type`, if it is one this release knows.
    pub(crate) fn event(&self, event_type: &str) -> Option<&EventShape> {
        self.events.iter().find(|e| e.event_type == event_type)
    }
}

/// The contract, read off the samples once.
pub(crate) static CONTRACT: LazyLock<Contract> = LazyLock::new(contract);

fn contract() -> Contract {
    let object = |json: Json| match json {
        Json::Object(fields) => fields,
        _ => Vec::new(),
    };
    let batch = object(sample_batch(Vec::new()).to_json())
        .into_iter()
        .map(|(key, value)| field("", key, &value))
        .collect();
    let trees: Vec<(&'static str, Vec<(String, Json)>)> = samples()
        .iter()
        .map(|e| (e.body.event_type(), object(e.to_json())))
        .collect();
    // The keys every sample has are the common ones; the rest are each type's own.
    let is_common = |key: &str| {
        trees
            .iter()
            .all(|(_, fields)| fields.iter().any(|(k, _)| k == key))
    };
    let common = trees
        .first()
        .map(|(_, fields)| {
            fields
                .iter()
                .filter(|(k, _)| is_common(k))
                .map(|(k, v)| field("", k.clone(), v))
                .collect()
        })
        .unwrap_or_default();
    let events = trees
        .iter()
        .map(|(event_type, fields)| EventShape {
            event_type,
            fields: fields
                .iter()
                .filter(|(k, _)| !is_common(k))
                .map(|(k, v)| field("", k.clone(), v))
                .collect(),
        })
        .collect();
    Contract {
        batch,
        common,
        events,
    }
}

fn field(parent: &str, key: String, sample: &Json) -> Field {
    let path = if parent.is_empty() {
        key.clone()
    } else {
        format!("{parent}.{key}")
    };
    let required = !OPTIONAL
        .iter()
        .any(|o| path == *o || (o.ends_with('.') && path.starts_with(o)));
    Field {
        shape: shape(&path, sample),
        key,
        path,
        required,
    }
}

/// What the value at `path` must be; `sample` is what the writer wrote there.
fn shape(path: &str, sample: &Json) -> Shape {
    match path {
        "schema_version" => Shape::SchemaVersion,
        "batch_id" | "event_id" | "session_id" | "installation_id" => Shape::Id,
        "events" => Shape::Events,
        "timestamp" | "session_start" => Shape::Hour,
        "sdk_version" | "app_version" | "rust_version" => Shape::Version,
        "os" => Shape::Closed(OS_NAMES.to_vec()),
        "arch" => Shape::Closed(ARCH_NAMES.to_vec()),
        "environment" => Shape::Closed(Environment::ALL.iter().map(|e| e.label()).collect()),
        "event_type" => Shape::EventType,
        "integrations" => Shape::Names,
        "command" => Shape::Command,
        "name" => Shape::Name,
        "fields" => Shape::CustomFields,
        "errors.exception_types" => Shape::ErrorCounts,
        // The rest follows the writer: `interactive`, `features`, `metrics`, `errors`.
        _ => match sample {
            Json::Bool(_) => Shape::Bool,
            Json::Int(_) => Shape::Count,
            Json::Object(fields) => Shape::Object(
                fields
                    .iter()
                    .map(|(k, v)| field(path, k.clone(), v))
                    .collect(),
            ),
            // A writer's field no shape above covers: the test below names it.
            _ => Shape::Object(Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_fields<'a>(fields: &'a [Field], out: &mut Vec<&'a Field>) {
        for f in fields {
            out.push(f);
            if let Shape::Object(inner) = &f.shape {
                all_fields(inner, out);
            }
        }
    }

    #[test]
    fn every_key_the_writer_sends_has_a_shape() {
        let c = &*CONTRACT;
        let mut fields = Vec::new();
        all_fields(&c.batch, &mut fields);
        all_fields(&c.common, &mut fields);
        for e in &c.events {
            all_fields(&e.fields, &mut fields);
        }
        for f in fields {
            let empty = matches!(&f.shape, Shape::Object(inner) if inner.is_empty());
            assert!(
                !empty,
                "`{}` is written but has no shape in wire/schema.rs",
                f.path
            );
        }
    }

    #[test]
    fn the_contract_follows_the_writer() {
        let c = &*CONTRACT;
        let keys = |fields: &[Field]| fields.iter().map(|f| f.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&c.batch), ["schema_version", "batch_id", "events"]);
        assert_eq!(
            keys(&c.common),
            [
                "event_id",
                "session_id",
                "installation_id",
                "timestamp",
                "sdk_version",
                "app_version",
                "rust_version",
                "os",
                "arch",
                "event_type"
            ]
        );
        let usage = c.event("usage").unwrap();
        let Shape::Object(metrics) = &usage.fields[1].shape else {
            panic!()
        };
        let concurrency = metrics
            .iter()
            .find(|f| f.key == "flow_concurrency")
            .unwrap();
        assert_eq!(concurrency.path, "metrics.flow_concurrency");
        assert!(!concurrency.required, "added after the first release");
        assert!(c.common.iter().find(|f| f.key == "os").unwrap().required);
        assert!(!c.common[2].required, "installation_id");
    }

    #[test]
    fn this_platform_is_a_known_value() {
        assert!(OS_NAMES.contains(&std::env::consts::OS));
        assert!(ARCH_NAMES.contains(&std::env::consts::ARCH));
    }
}

#[cfg(test)]
#[path = "corpus_tests.rs"]
mod corpus_tests;
