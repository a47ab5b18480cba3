//! The one JSON writer and reader of the crate: batches, `preview`, `status --json`, the
//! schema table and the spool check all go through it.
//!
//! Written here rather than taken from `serde_json`: the wire types are few and flat, and
//! `serde_json`'s `impl PartialEq<Value> for u8` (and friends) would become candidates in every
//! host's own type inference the moment it depends on this crate (docs/sending.md, "What adding
//! the crate changes"). A value is a [`Json`] tree: objects keep their keys in the order
//! written and keep duplicates, so reading a file and writing it back shows exactly what it
//! held. Only what our types can hold is understood: no floats and no negative numbers.

use std::fmt::Write as _;

/// The largest count on the wire: `2^53 − 1`, the largest integer every JSON reader (a
/// JavaScript one, a double) reads exactly. Writers send no more (a larger count is sent as
/// this); readers refuse more (`schema.rs`).
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// Deeper input is refused rather than recursed into (a stack overflow is a crash).
const MAX_DEPTH: usize = 128;

/// A JSON value as written: keys in their order, duplicates kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(u64),
    /// Any other number, as written (negative, a fraction, an exponent): read only from a
    /// collection config (`collection.rs`), never from a batch, and never written by a
    /// wire type.
    Decimal(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// A wire type's JSON form.
pub(crate) trait ToJson {
    fn to_json(&self) -> Json;
}

impl Json {
    /// An object from `(key, value)` pairs, in order.
    pub(crate) fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// A count as it is sent: at most [`MAX_COUNT`].
    pub(crate) fn count(n: u64) -> Json {
        Json::Int(n.min(MAX_COUNT))
    }

    /// A string value.
    pub(crate) fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value at `key`, if this is an object that has it (the first, if twice).
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Compact text: no whitespace at all, as batches are sent.
    pub(crate) fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// Indented by two spaces, `"key": value`, one item per line; `[]` and `{}` when empty.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some("  "), 0);
        out
    }

    fn write(&self, out: &mut String, indent: Option<&str>, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            if let Some(indent) = indent {
                out.push('\n');
                out.extend(std::iter::repeat_n(indent, depth));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Decimal(text) => out.push_str(text),
            Json::Str(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    write_string(out, key);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    value.write(out, indent, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }

    /// Reads one JSON value that fills `text` (surrounding whitespace allowed). `None` for
    /// anything else, for floats, negative numbers, integers beyond `u64`, and nesting deeper
    /// than 128.
    pub(crate) fn parse(text: &str) -> Option<Json> {
        Json::read(text, false)
    }

    /// [`parse`](Json::parse), also reading numbers that are not counts (a fraction, an
    /// exponent, a sign) as [`Json::Decimal`]: for a collection config's `sample`.
    pub(crate) fn parse_with_decimals(text: &str) -> Option<Json> {
        Json::read(text, true)
    }

    fn read(text: &str, decimals: bool) -> Option<Json> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            at: 0,
            decimals,
        };
        let value = reader.value(0)?;
        reader.skip_whitespace();
        (reader.at == reader.bytes.len()).then_some(value)
    }
}

/// `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t`, …
/// or `\u00XX`; everything else as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Whether numbers other than counts are read (as [`Json::Decimal`]).
    decimals: bool,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn literal(&mut self, word: &str, value: Json) -> Option<Json> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end) == Some(word.as_bytes())).then(|| {
            self.at = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'0'..=b'9' | b'-' if self.decimals => self.decimal(),
            b'0'..=b'9' => self.integer().map(Json::Int),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Array(items))
            }
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_whitespace();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        fields.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Object(fields))
            }
            _ => None,
        }
    }

    /// A non-negative integer without sign, fraction or exponent, and without leading zeros.
    fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E'))
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        digits.parse().ok()
    }

    /// A JSON number: a count as [`Json::Int`], anything else as [`Json::Decimal`].
    fn decimal(&mut self) -> Option<Json> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.at += 1;
            }
            r.at > from
        };
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let whole = self.at;
        if !digits(self) || (self.at - whole > 1 && self.bytes[whole] == b'0') {
            return None;
        }
        let mut plain = !negative;
        if self.peek() == Some(b'.') {
            self.at += 1;
            plain = false;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            plain = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        match plain {
            true => text.parse().ok().map(Json::Int),
            false => Some(Json::Decimal(text.to_owned())),
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escaped = self.peek()?;
                    self.at += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                // Raw control characters are not allowed inside a JSON string.
                0..0x20 => return None,
                other => out.push(other),
            }
        }
    }

    /// The character after `\u`: four hex digits, or a surrogate pair of two escapes.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                return None;
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        } else {
            char::from_u32(first)
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn writes_compact_and_pretty() {
        let value = Json::object([
            ("a", Json::Int(1)),
            ("b", Json::Array(vec![Json::Bool(true), Json::Null])),
            ("c", Json::object([])),
            ("d", Json::Array(vec![])),
            ("e", Json::str("x\"\\\n\u{1}é")),
        ]);
        assert_eq!(
            value.compact(),
            r#"{"a":1,"b":[true,null],"c":{},"d":[],"e":"x\"\\\n\u0001é"}"#
        );
        assert_eq!(
            value.pretty(),
            "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": \"x\\\"\\\\\\n\\u0001é\"\n}"
        );
    }

    #[test]
    fn reads_back_what_it_writes_keeping_order_and_duplicates() {
        let text = r#"{"b":1,"a":[{"x":"y"},[]],"b":null,"c":"\u00e9\ud83d\ude00\/"}"#;
        let value = Json::parse(text).unwrap();
        let Json::Object(fields) = &value else {
            panic!()
        };
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b", "c"]);
        assert_eq!(value.get("c"), Some(&Json::str("é😀/")));
        assert_eq!(
            Json::parse(" { \"a\" : [ 1 , 2 ] } \n").unwrap().compact(),
            r#"{"a":[1,2]}"#
        );
    }

    #[test]
    fn refuses_what_no_type_of_ours_holds() {
        for bad in [
            "",
            "1.5",
            "-1",
            "1e3",
            "01",
            "18446744073709551616",
            "[1,]",
            "{\"a\"}",
            "{a:1}",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "nul",
            "[1] 2",
            "\"abc",
        ] {
            assert_eq!(Json::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Json::parse("18446744073709551615"),
            Some(Json::Int(u64::MAX))
        );
        let deep = "[".repeat(100_000);
        assert_eq!(Json::parse(&deep), None);
        let ok_depth = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(Json::parse(&ok_depth).is_some());
    }
}
