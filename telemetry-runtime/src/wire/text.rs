//! The only strings that leave the machine besides ids and the hour: versions and names,
//! each checked so that it cannot carry free text.

use crate::wire::json::{Json, ToJson};

/// A version string that passed a strict check: up to four dot-separated numbers, with an
/// optional pre-release tag made of `alpha`, `beta`, `rc`, `pre` or `dev` and numbers
/// (`2.0.0-beta.1`, `1.0.0-rc2`). Anything else (build metadata, names, spaces, paths)
/// becomes `"invalid"`, so it cannot carry free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(String);

impl Version {
    /// `text` if it looks like a version, else `"invalid"`.
    ///
    /// ```
    /// use telemetry::Version;
    ///
    /// assert_eq!(Version::new("2.0.0-beta.1").as_str(), "2.0.0-beta.1");
    /// assert_eq!(Version::new("1.0.0+alice-laptop").as_str(), "invalid");
    /// ```
    pub fn new(text: &str) -> Version {
        Version(if is_version(text) {
            text.to_string()
        } else {
            INVALID.to_string()
        })
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` is what a `Version` can hold: a version, or `"invalid"`.
    pub(crate) fn is_printed_form(text: &str) -> bool {
        text == INVALID || is_version(text)
    }
}

/// What a version that fails the check is sent as.
const INVALID: &str = "invalid";

/// Versions longer than this are `"invalid"`: a long run of numbers could spell anything.
const MAX_VERSION_LEN: usize = 32;

fn is_version(text: &str) -> bool {
    let numbers = |part: &str| {
        !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit())
    };
    let (core, tag) = match text.split_once('-') {
        Some((core, tag)) => (core, Some(tag)),
        None => (text, None),
    };
    let core_ok = core.split('.').count() <= 4 && core.split('.').all(numbers);
    let tag_ok = tag.is_none_or(|tag| {
        tag.split('.').count() <= 2
            && tag.split('.').all(|part| {
                let rest = ["alpha", "beta", "rc", "pre", "dev"]
                    .iter()
                    .find_map(|word| part.strip_prefix(word));
                match rest {
                    Some(rest) => rest.is_empty() || numbers(rest),
                    None => numbers(part),
                }
            })
    });
    text.len() <= MAX_VERSION_LEN && core_ok && tag_ok
}

impl ToJson for Version {
    fn to_json(&self) -> Json {
        Json::str(self.0.as_str())
    }
}

/// A name the host declared in its source (`&'static str`), checked: 1 to 32 lowercase
/// ASCII letters, digits, `_` and `-`, starting with a letter. Never built from run-time
/// input, so it cannot carry the user's data.
///
/// ```
/// use telemetry::wire::Name;
///
/// assert!(Name::new("postgres").is_some());
/// assert!(Name::new("/home/alice").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(&'static str);

impl Name {
    /// `name` if it passes the check.
    pub const fn new(name: &'static str) -> Option<Name> {
        if is_name(name) {
            Some(Name(name))
        } else {
            None
        }
    }

    /// Whether `text` passes the check (for text that is not `'static`, such as a
    /// receiver's query parameter).
    ///
    /// ```
    /// assert!(telemetry::wire::Name::is_valid("acme-cli"));
    /// assert!(!telemetry::wire::Name::is_valid("Acme CLI"));
    /// ```
    pub const fn is_valid(text: &str) -> bool {
        is_name(text)
    }

    /// The checked text.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// 1 to 32 of `a-z`, `0-9`, `_`, `-`, starting with a letter. A `const fn`, so generated
/// code can check names at compile time.
pub(crate) const fn is_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 32 || !b[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

impl ToJson for Name {
    fn to_json(&self) -> Json {
        Json::str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_cannot_carry_free_text() {
        for ok in [
            "1",
            "0.1.0",
            "1.95.0",
            "2.0.0-beta.1",
            "1.0.0-rc2",
            "3.1.4-dev",
        ] {
            assert_eq!(Version::new(ok).as_str(), ok);
        }
        for bad in [
            "",
            "v1.0",
            "1.0 beta",
            "1..0",
            "/home/alice",
            "1.0.0-alice@example.com",
            "1.0.0-an-extremely-long-tag-that-could-hold-a-name",
            "1.0\n",
            "1.0.0+build.7",
            "1.0.0-alice",
            "1.0.0+alice-laptop",
            // Numbers can spell text too: length and tag parts are capped.
            "1.0.0-97.108.105.99.101",
            "123456789.123456789.123456789.1234",
        ] {
            assert_eq!(Version::new(bad).as_str(), "invalid", "{bad:?}");
        }
    }

    #[test]
    fn names_are_short_lowercase_identifiers() {
        assert!(Name::new("serde").is_some());
        assert!(Name::new("tokio-runtime_2").is_some());
        for bad in ["", "Serde", "a b", "/tmp", "1abc", "x".repeat(33).leak()] {
            assert!(Name::new(bad).is_none(), "{bad:?}");
        }
    }
}
