//! The wire corpus (`tests/wire_corpus/` at the workspace root): real batches the runtime
//! wrote at every wire shape it has had, captured by `capture.sh` at the commit named in
//! each file's name. Every one is still read, by meaning and by the strict check of our
//! own spool (a host upgraded with batches spooled by its older version sends them); and
//! the shape the writer makes today must be one the corpus holds, so that no wire change
//! lands without its entry and a decision about compatibility (docs/compatibility.md, "The wire corpus").

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;
use crate::wire::check::is_valid_batch;
use crate::wire::json::ToJson;
use crate::wire::read::read_batch;
use crate::wire::received::Document;
use crate::wire::samples::{sample_batch, samples};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/wire_corpus")
}

/// Every entry: its file name and its bytes.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .expect("the wire corpus")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.ends_with(".json").then(|| {
                (
                    name.clone(),
                    std::fs::read(corpus_dir().join(&name)).unwrap(),
                )
            })
        })
        .collect();
    entries.sort();
    entries
}

/// An event's shape: each key's path and the kind of its value (maps whose keys are data,
/// the error types and a custom event's fields, as one).
fn shape_of(path: &str, json: &Json, out: &mut BTreeSet<(String, &'static str)>) {
    let kind = match json {
        Json::Object(fields) if !path.ends_with("exception_types") && path != "fields" => {
            for (k, v) in fields {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                shape_of(&p, v, out);
            }
            return;
        }
        Json::Object(_) => "map",
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Int(_) => "count",
        Json::Decimal(_) => "number",
        Json::Str(_) => "string",
        Json::Array(_) => "array",
    };
    out.insert((path.to_owned(), kind));
}

/// A batch's shape: each event type with the shape of its events.
type Shape = BTreeSet<(String, BTreeSet<(String, &'static str)>)>;

fn batch_shape(batch: &Json) -> Shape {
    let Some(Json::Array(events)) = batch.get("events") else {
        panic!("no events")
    };
    events
        .iter()
        .map(|e| {
            let mut shape = BTreeSet::new();
            shape_of("", e, &mut shape);
            let ty = e
                .get("event_type")
                .and_then(Json::as_str)
                .unwrap()
                .to_owned();
            (ty, shape)
        })
        .collect()
}

#[test]
fn every_corpus_batch_is_still_read_and_sent() {
    let entries = corpus();
    assert!(entries.len() >= 2, "{entries:?}");
    let index = std::fs::read_to_string(corpus_dir().join("INDEX.tsv")).unwrap();
    for (name, bytes) in &entries {
        let commit = name.trim_end_matches(".json").split_once('-').unwrap().1;
        assert!(
            index
                .lines()
                .any(|l| l.starts_with(&format!("{name}\t{commit}\t"))),
            "{name} has no row in INDEX.tsv"
        );
        let json = Json::parse(std::str::from_utf8(bytes).unwrap()).unwrap();
        let read = read_batch(&Document::from(&json)).unwrap_or_else(|r| panic!("{name}: {r}"));
        assert!(read.left_out.is_empty(), "{name}: {:?}", read.left_out);
        assert_eq!(read.events.len(), 6, "{name}: every event type");
        assert!(
            is_valid_batch(bytes),
            "{name}: a spooled batch of that version is sent"
        );
    }
    for line in index.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        assert!(
            entries.iter().any(|(n, _)| n == file),
            "INDEX.tsv names {file}"
        );
    }
}

#[test]
fn the_corpus_holds_each_shape_once_and_the_one_written_today() {
    let shapes: Vec<(String, Shape)> = corpus()
        .into_iter()
        .map(|(name, bytes)| {
            let json = Json::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
            (name, batch_shape(&json))
        })
        .collect();
    for (i, (a, sa)) in shapes.iter().enumerate() {
        for (b, sb) in &shapes[i + 1..] {
            assert_ne!(sa, sb, "{a} and {b} have the same shape: keep the older");
        }
    }
    let today = batch_shape(&sample_batch(samples()).to_json());
    assert!(
        shapes.iter().any(|(_, s)| *s == today),
        "the runtime writes a wire shape the corpus does not hold: decide whether the \
         change is additive (wire/schema.rs, docs/compatibility.md, \"What changes are additive\"), then capture it \
         with tests/wire_corpus/capture.sh"
    );
}
