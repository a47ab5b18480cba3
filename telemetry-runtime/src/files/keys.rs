//! The state and policy files' format: TOML's top-level `key = value` lines, read and
//! written here rather than by a TOML crate (about 130 KiB of a host's binary, for two files
//! of a few lines; docs/performance.md, "Binary size and build time").
//!
//! What is read: blank lines, `#` comments, `key = value` with a bare key and a value that is
//! `true`, `false`, a whole number, or a string in `"…"` or `'…'` without escapes, and
//! `[table]` headers, whose keys are skipped. Anything else makes the file unreadable, which
//! is always the safe outcome: a state file is set aside as corrupt, a policy file decides
//! off. A key given twice is refused too, as TOML does.

/// A value of the subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Bool(bool),
    Int(u64),
    Str(String),
}

/// The top-level pairs of `text`, in order; `Err` if it is not the subset above.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, Value)>, ()> {
    let mut pairs: Vec<(String, Value)> = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let (name, rest) = header.split_once(']').ok_or(())?;
            if name.trim().is_empty() || !is_comment_or_empty(rest) {
                return Err(());
            }
            in_table = true;
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(())?;
        let key = key.trim();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(());
        }
        if in_table {
            continue; // another table's keys: not ours to read
        }
        let value = parse_value(value.trim())?;
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(());
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn is_comment_or_empty(rest: &str) -> bool {
    let rest = rest.trim();
    rest.is_empty() || rest.starts_with('#')
}

fn parse_value(text: &str) -> Result<Value, ()> {
    for quote in ['"', '\''] {
        if let Some(rest) = text.strip_prefix(quote) {
            let (inner, after) = rest.split_once(quote).ok_or(())?;
            if inner.contains('\\') || !is_comment_or_empty(after) {
                return Err(());
            }
            return Ok(Value::Str(inner.to_owned()));
        }
    }
    let word = text.split('#').next().unwrap_or_default().trim();
    match word {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        w if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
            w.parse().map(Value::Int).map_err(|_| ())
        }
        _ => Err(()),
    }
}

/// `key = value` lines, in the order given; strings quoted (they never hold a quote or a
/// backslash: dates and UUIDs).
pub(crate) fn write(pairs: &[(&str, Value)]) -> String {
    let mut text = String::new();
    for (key, value) in pairs {
        let value = match value {
            Value::Bool(b) => b.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Str(s) => format!("\"{s}\""),
        };
        text.push_str(&format!("{key} = {value}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subset_and_refuses_the_rest() {
        let text = "# a comment\n\nenabled = true # yes\nn = 42\nd = \"2031-07-08\"\n\
                    s = 'literal'\n[elsewhere]\nanything = [1, 2]\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                ("enabled".to_owned(), Value::Bool(true)),
                ("n".to_owned(), Value::Int(42)),
                ("d".to_owned(), Value::Str("2031-07-08".into())),
                ("s".to_owned(), Value::Str("literal".into())),
            ]
        );
        for bad in [
            "garbage {{{",
            "enabled = [[[ not toml",
            "a = 1\na = 2",
            "a = \"unterminated",
            "a = \"esc\\\"aped\"",
            "a = -1",
            "a = 1.5",
            "\"quoted key\" = 1",
            "a = true false",
            "[unclosed",
        ] {
            assert_eq!(parse(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        let pairs = [
            ("enabled", Value::Bool(false)),
            ("when", Value::Str("2031-07-08".into())),
            ("version", Value::Int(3)),
        ];
        let text = write(&pairs);
        assert_eq!(
            text,
            "enabled = false\nwhen = \"2031-07-08\"\nversion = 3\n"
        );
        let back: Vec<(String, Value)> = parse(&text).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[2], ("version".to_owned(), Value::Int(3)));
    }
}
