//! Which features an annotated fn uses, and the `features` object of the `usage` event.
//!
//! [`FEATURES`] is the one table: every flag the macros can set, the name it shows under in
//! `Debug`, the key it is sent under (or none) and why. The callsite flags, the wire's
//! `features` object, the spool check and the schema document are all read off it, so a new
//! feature is one constant and one row here, plus the macro that sets it.

use std::fmt;

use crate::wire::json::{Json, ToJson};

/// Whether an annotated fn is a flow (the unit a user runs) or a task (a step inside it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Declared with `#[flow]`.
    Flow,
    /// Declared with `#[task]`.
    Task,
}

/// The compile-time feature flags of one callsite, as a small bit set.
///
/// The macros compute these from the signature and the options; nothing here is known only
/// at run time.
///
/// ```
/// use telemetry::introspect::Features;
///
/// let f = Features::RETRIES.union(Features::ASYNC);
/// assert!(f.contains(Features::RETRIES));
/// assert!(!f.contains(Features::CACHE));
/// assert_eq!(format!("{f:?}"), "Features(async | retries)");
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Features(u16);

impl Features {
    /// No feature at all: a plain synchronous free fn.
    pub const NONE: Self = Self(0);
    /// An `async fn`.
    pub const ASYNC: Self = Self(1 << 0);
    /// A method (takes `self`, `&self` or `&mut self`).
    pub const METHOD: Self = Self(1 << 1);
    /// Has generic type or const parameters.
    pub const GENERIC: Self = Self(1 << 2);
    /// Takes at least one `impl Trait` argument.
    pub const IMPL_TRAIT_ARG: Self = Self(1 << 3);
    /// Uses `retries = N`.
    pub const RETRIES: Self = Self(1 << 4);
    /// Uses `retry_delay_ms = N`.
    pub const RETRY_DELAY: Self = Self(1 << 5);
    /// Uses `cache`.
    pub const CACHE: Self = Self(1 << 6);
    /// Uses `cache_ttl_secs = N`.
    pub const CACHE_TTL: Self = Self(1 << 7);

    /// Both sets of flags.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the flags that are set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FEATURES
            .iter()
            .filter(move |row| self.contains(row.flag))
            .map(|row| row.name)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Features(")?;
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
        }
        f.write_str(")")
    }
}

/// One row of [`FEATURES`].
pub(crate) struct FeatureRow {
    pub(crate) flag: Features,
    /// Shown by `Debug`.
    pub(crate) name: &'static str,
    /// The key in the `usage` event's `features` object and why it is sent (the schema
    /// document's "why" column); `None`: not sent.
    pub(crate) sent: Option<(&'static str, &'static str)>,
}

const fn row(
    flag: Features,
    name: &'static str,
    sent: Option<(&'static str, &'static str)>,
) -> FeatureRow {
    FeatureRow { flag, name, sent }
}

/// Every flag, in the order shown and sent.
pub(crate) const FEATURES: [FeatureRow; 8] = [
    row(
        Features::ASYNC,
        "async",
        Some(("async_tasks", "Whether annotated fns are `async`.")),
    ),
    row(
        Features::METHOD,
        "method",
        Some(("methods", "Whether annotated fns are methods.")),
    ),
    row(
        Features::GENERIC,
        "generic",
        Some(("generics", "Whether annotated fns are generic.")),
    ),
    row(Features::IMPL_TRAIT_ARG, "impl_trait_arg", None),
    row(
        Features::RETRIES,
        "retries",
        Some(("retries", "Whether `retries` is used.")),
    ),
    row(
        Features::RETRY_DELAY,
        "retry_delay",
        Some(("retry_delay", "Whether `retry_delay_ms` is used.")),
    ),
    row(
        Features::CACHE,
        "cache",
        Some(("caching", "Whether `cache` is used.")),
    ),
    row(
        Features::CACHE_TTL,
        "cache_ttl",
        Some(("cache_ttl", "Whether `cache_ttl_secs` is used.")),
    ),
];

/// The two keys of the `features` object that are not flags, and why each is sent.
pub(crate) const DECORATORS: [(&str, &str); 2] = [
    ("flow_decorator", "Whether the host uses `#[flow]`."),
    ("task_decorator", "Whether the host uses `#[task]`."),
];

/// Why the `features` object's `key` is sent, read off [`DECORATORS`] and [`FEATURES`].
pub(crate) fn why_sent(key: &str) -> Option<&'static str> {
    DECORATORS
        .into_iter()
        .chain(FEATURES.iter().filter_map(|row| row.sent))
        .find(|(k, _)| *k == key)
        .map(|(_, why)| why)
}

/// Which features the host's binary uses: whether any annotated fn is a flow, a task, and
/// has each flag. Sent as `features` in the `usage` event, one boolean per key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FeatureUse {
    pub(crate) flows: bool,
    pub(crate) tasks: bool,
    pub(crate) flags: Features,
}

impl FeatureUse {
    /// What a binary with these callsites uses.
    pub(crate) fn of(sites: impl IntoIterator<Item = (Kind, Features)>) -> FeatureUse {
        sites
            .into_iter()
            .fold(FeatureUse::default(), |used, (kind, flags)| FeatureUse {
                flows: used.flows || kind == Kind::Flow,
                tasks: used.tasks || kind == Kind::Task,
                flags: used.flags.union(flags),
            })
    }
}

impl ToJson for FeatureUse {
    fn to_json(&self) -> Json {
        let [(flows, _), (tasks, _)] = DECORATORS;
        let decorators = [(flows, self.flows), (tasks, self.tasks)];
        let flags = FEATURES
            .iter()
            .filter_map(|row| Some((row.sent?.0, self.flags.contains(row.flag))));
        Json::object(
            decorators
                .into_iter()
                .chain(flags)
                .map(|(key, on)| (key, Json::Bool(on))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_one_row_and_its_own_bit() {
        let mut all = Features::NONE;
        for row in &FEATURES {
            assert_eq!(row.flag.0.count_ones(), 1, "{}", row.name);
            assert!(!all.contains(row.flag), "{} shares a bit", row.name);
            all = all.union(row.flag);
        }
    }

    #[test]
    fn the_wire_object_lists_every_sent_flag() {
        let used = FeatureUse::of([
            (
                Kind::Task,
                Features::RETRIES.union(Features::IMPL_TRAIT_ARG),
            ),
            (Kind::Task, Features::CACHE),
        ]);
        assert_eq!(
            used.to_json().compact(),
            r#"{"flow_decorator":false,"task_decorator":true,"async_tasks":false,"methods":false,"generics":false,"retries":true,"retry_delay":false,"caching":true,"cache_ttl":false}"#
        );
    }
}
