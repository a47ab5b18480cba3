//! A request body into a batch: parsed by `serde_json` into the runtime's [`Document`] (any
//! whitespace, any key order, a duplicate key kept so that the reader refuses it), then read
//! by its meaning with the runtime's own contract (`read_batch`).
//!
//! `serde_json` never sees a type of ours it could fail on: every value is taken as it
//! comes, so its errors are syntax errors alone, which name a line and a column and never
//! quote the input.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use telemetry_runtime::{Document, ReceivedBatch, Refusal, read_batch};

/// `body` read as a batch, or why not.
pub fn batch(body: &[u8]) -> Result<ReceivedBatch, Refusal> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let doc = Doc::deserialize(&mut json)
        .and_then(|doc| json.end().map(|()| doc))
        .map_err(|e| Refusal::new(format!("not JSON: {e}"), ""))?;
    read_batch(&doc.0)
}

/// A [`Document`], as `serde` builds one.
struct Doc(Document);

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(AnyValue).map(Doc)
    }
}

struct AnyValue;

impl<'de> Visitor<'de> for AnyValue {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Document, E> {
        Ok(Document::Bool(b))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Document, E> {
        Ok(Document::Count(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Document, E> {
        Ok(u64::try_from(n).map_or(Document::OtherNumber, Document::Count))
    }

    // `17.0`, `1e1`, and integers past `u64` (which serde_json reads as floats): not counts.
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Document, E> {
        Ok(Document::OtherNumber)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Document, E> {
        Ok(Document::Str(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Document, E> {
        Ok(Document::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        let mut items = Vec::new();
        while let Some(Doc(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Document::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, Doc(value))) = map.next_entry::<String, Doc>()? {
            fields.push((key, value));
        }
        Ok(Document::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        String::from_utf8(telemetry_runtime::__testing::sample_batch()).unwrap()
    }

    #[test]
    fn any_whitespace_and_key_order_read_the_same() {
        let compact = sample();
        let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
        // serde_json's `Value` sorts keys: pretty and sorted, as `jq -S` writes it.
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_ne!(pretty, compact);
        let (a, b) = (
            batch(compact.as_bytes()).unwrap(),
            batch(pretty.as_bytes()).unwrap(),
        );
        assert_eq!(a.batch_id, b.batch_id);
        assert_eq!(a.events.len(), b.events.len());
    }

    #[test]
    fn numbers_that_are_not_counts_are_refused_where_they_are() {
        let good = sample();
        for bad in [
            "17.0",
            "-17",
            "1e1",
            "18446744073709551616",
            "9007199254740992",
        ] {
            let body = good.replacen("\"cache_hits\":17", &format!("\"cache_hits\":{bad}"), 1);
            let refusal = batch(body.as_bytes()).unwrap_err();
            assert_eq!(refusal.at(), "events[1].metrics.cache_hits", "{bad}");
        }
        let body = good.replacen("\"cache_hits\":17", "\"cache_hits\":9007199254740991", 1);
        assert!(batch(body.as_bytes()).is_ok());
    }

    #[test]
    fn syntax_errors_name_no_input() {
        for bad in [
            "",
            "{",
            "{\"Alice Smith\":}",
            "[\"Alice Smith\"",
            "{} trailing",
            "\"\\q Alice\"",
        ] {
            let refusal = batch(bad.as_bytes()).unwrap_err();
            assert!(refusal.error().starts_with("not JSON"), "{bad}: {refusal}");
            assert!(!refusal.error().contains("Alice"), "{refusal}");
        }
        let deep = "[".repeat(10_000);
        assert!(batch(deep.as_bytes()).is_err());
    }
}
