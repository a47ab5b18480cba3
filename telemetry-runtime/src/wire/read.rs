//! Reading a batch by its meaning: any whitespace, any key order, what the contract
//! (`schema.rs`) says each value must be. What this release does not know but a newer one
//! may send (a field, an event type, a value of a closed field) is left out and counted,
//! never kept as text; anything else off the contract (a key twice, a wrong type, a count
//! out of range, a malformed id, hour or version, a missing field, an unknown schema
//! version, free text where a name goes) refuses the batch, with the first problem and
//! where it is.
//!
//! Parsing the bytes is the receiver's: it hands over a [`Document`] (the collector reads
//! with `serde_json`). Our own spool is read by the runtime's reader, strictly
//! (`check.rs`).

use std::collections::HashSet;

use crate::wire::buckets::Bucket;
use crate::wire::command::is_masked;
use crate::wire::errors::{ErrorType, is_ours_shaped, is_reserved, is_type_path};
use crate::wire::event::SCHEMA_VERSION;
use crate::wire::id::{Hour, Id};
use crate::wire::json::MAX_COUNT;
use crate::wire::received::{
    Document, LeftOut, ReceivedBatch, ReceivedEvent, Refusal, Value, body, join, take, text,
};
use crate::wire::schema::{
    CONTRACT, Field, KNOWN_SCHEMA_VERSIONS, MAX_EVENTS, MAX_ITEMS, Shape, UNKNOWN,
};
use crate::wire::text::{Version, is_name};

/// Reads `doc` as a batch by its meaning: see the module's documentation, and docs/compatibility.md, "What
/// a collector does".
///
/// ```
/// use telemetry::wire::{Document, read_batch};
///
/// let batch = |extra: Vec<(String, Document)>| {
///     let mut fields = vec![
///         ("events".to_owned(), Document::Array(vec![])),
///         ("batch_id".to_owned(), Document::Str("00000000-0000-4000-8000-00000000B47C".into())),
///         ("schema_version".to_owned(), Document::Count(1)),
///     ];
///     fields.extend(extra);
///     Document::Object(fields)
/// };
/// // Any key order, an id in either case.
/// let read = read_batch(&batch(vec![])).unwrap();
/// assert_eq!(read.batch_id, "00000000-0000-4000-8000-00000000b47c");
/// // A field a newer runtime sends is left out and counted, whatever it holds.
/// let newer = batch(vec![("gpu".into(), Document::Str("Alice's laptop".into()))]);
/// assert_eq!(read_batch(&newer).unwrap().left_out.fields, 1);
/// // A key twice is refused, and the refusal says where.
/// let twice = batch(vec![("schema_version".into(), Document::Count(1))]);
/// assert_eq!(read_batch(&twice).unwrap_err().at(), "schema_version");
/// ```
pub fn read_batch(doc: &Document) -> Result<ReceivedBatch, Refusal> {
    Reader {
        strict: false,
        left_out: LeftOut::default(),
    }
    .batch(doc)
}

/// [`read_batch`] for what our own writer wrote, this release or an older one: keys in the
/// order the writer writes them, nothing this release does not know, the current schema
/// version. The spool and the sent log are read this way (`check.rs`).
pub(crate) fn read_own(doc: &Document) -> Result<ReceivedBatch, Refusal> {
    Reader {
        strict: true,
        left_out: LeftOut::default(),
    }
    .batch(doc)
}

struct Reader {
    strict: bool,
    left_out: LeftOut,
}

fn refuse<T>(error: &str, at: &str) -> Result<T, Refusal> {
    Err(Refusal::new(error, at))
}

/// The entries of an object whose keys are data (error types, a custom event's fields).
fn map<'d>(doc: &'d Document, at: &str) -> Result<&'d [(String, Document)], Refusal> {
    match doc {
        Document::Object(entries) if entries.len() <= MAX_ITEMS => Ok(entries),
        Document::Object(_) => refuse("more than 1024 items", at),
        _ => refuse("expected an object", at),
    }
}

impl Reader {
    fn batch(mut self, doc: &Document) -> Result<ReceivedBatch, Refusal> {
        let contract = &*CONTRACT;
        let fields: Vec<&'static Field> = contract.batch.iter().collect();
        let mut values = self.object(doc, &fields, "")?;
        let schema_version = match take(&mut values, "schema_version") {
            Some(Value::Count(n)) => u32::try_from(n).unwrap_or(u32::MAX),
            _ => 0,
        };
        let batch_id = text(take(&mut values, "batch_id"));
        let events = match take(&mut values, "events") {
            Some(Value::Events(events)) => events,
            _ => Vec::new(),
        };
        Ok(ReceivedBatch {
            schema_version,
            batch_id,
            events,
            left_out: self.left_out,
        })
    }

    /// An object with `fields`: each known key read by its shape, in any order (in the
    /// writer's order when strict), each at most once; others left out and counted.
    fn object(
        &mut self,
        doc: &Document,
        fields: &[&'static Field],
        at: &str,
    ) -> Result<Vec<(&'static str, Value)>, Refusal> {
        let Document::Object(entries) = doc else {
            return refuse("expected an object", at);
        };
        let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
        let mut out = Vec::with_capacity(fields.len());
        let mut last = None;
        for (key, value) in entries {
            let known = fields.iter().position(|f| f.key == *key);
            if !seen.insert(key.as_str()) {
                // Only a key of the contract is named: any other could carry anything.
                let place = known.map_or_else(|| at.to_owned(), |_| join(at, key));
                return refuse("a key appears twice", &place);
            }
            let Some(i) = known else {
                if self.strict {
                    return refuse("a key this version does not write", at);
                }
                self.left_out.fields += 1;
                continue;
            };
            let field = fields[i];
            let place = join(at, &field.key);
            if self.strict {
                if last.is_some_and(|l| l >= i) {
                    return refuse("not in the order this version writes", &place);
                }
                last = Some(i);
            }
            out.push((field.key.as_str(), self.value(&field.shape, value, &place)?));
        }
        if let Some(missing) = fields
            .iter()
            .find(|f| f.required && !seen.contains(f.key.as_str()))
        {
            return refuse("a required key is missing", &join(at, &missing.key));
        }
        Ok(out)
    }

    fn value(&mut self, shape: &'static Shape, doc: &Document, at: &str) -> Result<Value, Refusal> {
        let string = || match doc {
            Document::Str(s) => Ok(s.as_str()),
            _ => refuse("expected a string", at),
        };
        Ok(match shape {
            Shape::SchemaVersion => match doc {
                Document::Count(n)
                    if (self.strict && *n == u64::from(SCHEMA_VERSION))
                        || (!self.strict
                            && KNOWN_SCHEMA_VERSIONS.iter().any(|v| u64::from(*v) == *n)) =>
                {
                    Value::Count(*n)
                }
                _ => return refuse("not a schema version this collector knows", at),
            },
            Shape::Id => {
                let s = string()?;
                match Id::parse_hyphenated(s) {
                    Some(id) if !self.strict || id.to_string() == s => Value::Text(id.to_string()),
                    _ => return refuse("not a UUID (8-4-4-4-12 hex digits)", at),
                }
            }
            Shape::Hour => match Hour::parse(string()?) {
                Some(h) => Value::Hour(h.hours()),
                None => return refuse("not an hour (YYYY-MM-DDTHH:00:00Z)", at),
            },
            Shape::Version => {
                let s = string()?;
                if !Version::is_printed_form(s) {
                    return refuse("not a version (digits and dots, an optional tag)", at);
                }
                Value::Text(s.to_owned())
            }
            Shape::Closed(known) => {
                let s = string()?;
                if known.contains(&s) {
                    Value::Text(s.to_owned())
                } else if is_name(s) && !self.strict {
                    self.left_out.values += 1;
                    Value::Text(UNKNOWN.to_owned())
                } else {
                    return refuse("not a value this field can hold", at);
                }
            }
            Shape::EventType => Value::Text(string()?.to_owned()),
            Shape::Bool => match doc {
                Document::Bool(b) => Value::Bool(*b),
                _ => return refuse("expected true or false", at),
            },
            Shape::Count => Value::Count(count(doc, at)?),
            Shape::Names => {
                let Document::Array(items) = doc else {
                    return refuse("expected an array", at);
                };
                if items.len() > MAX_ITEMS {
                    return refuse("more than 1024 items", at);
                }
                let mut names = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Document::Str(s) if is_name(s) => names.push(s.clone()),
                        _ => {
                            return refuse(
                                "not a name (1 to 32 of a-z 0-9 _ -)",
                                &format!("{at}[{i}]"),
                            );
                        }
                    }
                }
                Value::Names(names)
            }
            Shape::Name => {
                let s = string()?;
                if !is_name(s) {
                    return refuse("not a name (1 to 32 of a-z 0-9 _ -)", at);
                }
                Value::Text(s.to_owned())
            }
            Shape::Command => {
                let s = string()?;
                if !is_masked(s) {
                    return refuse("not a masked command line", at);
                }
                Value::Text(s.to_owned())
            }
            Shape::Object(fields) => {
                let fields: Vec<&'static Field> = fields.iter().collect();
                Value::Object(self.object(doc, &fields, at)?)
            }
            Shape::ErrorCounts => Value::Counts(self.error_counts(doc, at)?),
            Shape::CustomFields => Value::Fields(self.custom_fields(doc, at)?),
            Shape::Events => {
                let Document::Array(items) = doc else {
                    return refuse("expected an array", at);
                };
                if items.len() > MAX_EVENTS {
                    return refuse("more than 10000 events", at);
                }
                let mut events = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(event) = self.event(item, &format!("{at}[{i}]"))? {
                        events.push(event);
                    }
                }
                Value::Events(events)
            }
        })
    }

    /// One event, or `None` if it is of a type this release does not know.
    fn event(&mut self, doc: &Document, at: &str) -> Result<Option<ReceivedEvent>, Refusal> {
        let Document::Object(entries) = doc else {
            return refuse("expected an object", at);
        };
        let mut types = entries.iter().filter(|(k, _)| k == "event_type");
        let event_type = match (types.next(), types.next()) {
            (Some((_, Document::Str(t))), None) => t.as_str(),
            (None, _) => return refuse("a required key is missing", &join(at, "event_type")),
            (Some(_), Some(_)) => return refuse("a key appears twice", &join(at, "event_type")),
            (Some(_), None) => return refuse("expected a string", &join(at, "event_type")),
        };
        let contract = &*CONTRACT;
        let Some(shape) = contract.event(event_type) else {
            if is_name(event_type) && !self.strict {
                self.left_out.event_types += 1;
                return Ok(None);
            }
            return refuse("not an event type", &join(at, "event_type"));
        };
        let fields: Vec<&'static Field> = contract.common.iter().chain(&shape.fields).collect();
        let mut v = self.object(doc, &fields, at)?;
        let body = body(event_type, &mut v, at)?;
        Ok(Some(ReceivedEvent {
            event_id: text(take(&mut v, "event_id")),
            session_id: text(take(&mut v, "session_id")),
            installation_id: take(&mut v, "installation_id").map(|id| text(Some(id))),
            hour: match take(&mut v, "timestamp") {
                Some(Value::Hour(h)) => h,
                _ => 0,
            },
            sdk_version: text(take(&mut v, "sdk_version")),
            app_version: text(take(&mut v, "app_version")),
            rust_version: text(take(&mut v, "rust_version")),
            os: text(take(&mut v, "os")),
            arch: text(take(&mut v, "arch")),
            body,
        }))
    }

    /// Error type name → count. Our own names and a host's type paths are kept; a name
    /// shaped like one of the standard library's that this release does not know (a new
    /// `std::io::ErrorKind`) counts as `unknown`.
    fn error_counts(&mut self, doc: &Document, at: &str) -> Result<Vec<(String, u64)>, Refusal> {
        let entries = map(doc, at)?;
        let mut seen = HashSet::with_capacity(entries.len());
        let mut out: Vec<(String, u64)> = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            if !seen.insert(name.as_str()) {
                return refuse("a key appears twice", at);
            }
            let n = count(value, at)?;
            let kept = if ErrorType::all().any(|e| e.name() == name)
                || (is_type_path(name) && !is_reserved(name))
            {
                name.clone()
            } else if is_ours_shaped(name) && !self.strict {
                self.left_out.values += 1;
                UNKNOWN.to_owned()
            } else {
                return refuse("not an error type name", at);
            };
            match out.iter_mut().find(|(k, _)| *k == kept) {
                Some((_, total)) => *total = total.saturating_add(n).min(MAX_COUNT),
                None => out.push((kept, n)),
            }
        }
        Ok(out)
    }

    /// Field name → a bool, `null`, a range, a version or a declared choice.
    fn custom_fields(
        &mut self,
        doc: &Document,
        at: &str,
    ) -> Result<Vec<(String, String)>, Refusal> {
        let entries = map(doc, at)?;
        let mut seen = HashSet::with_capacity(entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            if !is_name(name) {
                return refuse("a field name is 1 to 32 of a-z 0-9 _ -", at);
            }
            if !seen.insert(name.as_str()) {
                return refuse("a key appears twice", &join(at, name));
            }
            let place = join(at, name);
            if self.strict
                && out
                    .last()
                    .is_some_and(|(last, _): &(String, String)| last >= name)
            {
                return refuse("not in the order this version writes", &place);
            }
            let value = match value {
                Document::Null => "null".to_owned(),
                Document::Bool(b) => b.to_string(),
                Document::Str(s)
                    if Bucket::ALL.iter().any(|b| b.label() == s)
                        || Version::is_printed_form(s)
                        || is_name(s) =>
                {
                    s.clone()
                }
                _ => {
                    return refuse(
                        "expected true, false, null, a range, a version or a name",
                        &place,
                    );
                }
            };
            out.push((name.clone(), value));
        }
        Ok(out)
    }
}

fn count(doc: &Document, at: &str) -> Result<u64, Refusal> {
    match doc {
        Document::Count(n) if *n <= MAX_COUNT => Ok(*n),
        Document::Count(_) => refuse("a count is at most 9007199254740991 (2^53 - 1)", at),
        Document::OtherNumber => refuse("a count is a whole number from 0 to 2^53 - 1", at),
        _ => refuse("expected a count", at),
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
