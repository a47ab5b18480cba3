//! Custom events for hosts (`#[derive(telemetry::Event)]`), made only of fields that cannot
//! carry free text: booleans, integers (sent as a range), enums deriving
//! `telemetry::EventValue` (sent as the variant's name), versions, and `Option`s of those.
//!
//! A field of any other type is a compile error: the derive names the usual free-text types
//! (`String`, `&str`, `PathBuf`, …) and says why; anything else fails on the missing
//! [`EventField`] impl with the same explanation.

use crate::wire::buckets::Bucket;
use crate::wire::json::{Json, ToJson};
use crate::wire::text::{Name, Version};

/// Sealing: [`Event`] and [`EventField`] can only be implemented by the derives (and, for
/// `EventField`, by this crate for the built-in types). A hand-written impl could put any
/// text it likes into a field; these traits are how the derives prove it cannot.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a telemetry event by a hand-written impl",
    note = "derive it: `#[derive(telemetry::Event)]` checks that no field can carry free text"
)]
pub trait SealedEvent {}

#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a telemetry event",
    note = "a field may be a `bool`, an integer, an enum deriving `telemetry::EventValue`, a `telemetry::Version`, or an `Option` of those; other impls are not possible, because a hand-written impl could send free text"
)]
pub trait SealedField {}

/// An event the host defines: derive it with `#[derive(telemetry::Event)]`, which checks
/// every field's type at compile time (the trait is sealed: it cannot be implemented by
/// hand). Send one with [`record`](crate::record::host::record).
pub trait Event: SealedEvent {
    /// The event's name on the wire: the type's name in snake case.
    const NAME: &'static str;

    /// Each field's name and value.
    fn fields(&self) -> Vec<(&'static str, FieldValue)>;
}

/// A type whose values cannot carry free text, so it may be a field of a custom event.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a telemetry event",
    label = "this field's type could carry free text",
    note = "telemetry events may only hold values that cannot carry a name, a path, a message or an exact measurement: `bool`, integers (sent as a range such as \"6-10\"), enums deriving `telemetry::EventValue`, `telemetry::Version`, and `Option`s of those"
)]
pub trait EventField: SealedField {
    /// The value to send.
    fn field_value(&self) -> FieldValue;
}

/// A field-less enum whose variants may be sent by name. Derive it
/// (`#[derive(telemetry::EventValue)]`); the derive also implements [`EventField`], which
/// is sealed: the built-in types and the derive are its only impls.
pub trait EventValue: EventField {
    /// Every variant's name on the wire, in snake case.
    const VARIANTS: &'static [&'static str];
}

impl SealedField for bool {}
impl SealedField for Version {}
impl<T: EventField> SealedField for Option<T> {}

impl EventField for bool {
    fn field_value(&self) -> FieldValue {
        FieldValue::Bool(*self)
    }
}

macro_rules! bucketed {
    ($($int:ty),*) => {$(
        impl SealedField for $int {}

        impl EventField for $int {
            fn field_value(&self) -> FieldValue {
                FieldValue::Count(Bucket::of(*self as i128))
            }
        }
    )*};
}

bucketed!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl SealedField for u128 {}

impl EventField for u128 {
    fn field_value(&self) -> FieldValue {
        FieldValue::Count(Bucket::of(i128::try_from(*self).unwrap_or(i128::MAX)))
    }
}

impl SealedField for i128 {}

impl EventField for i128 {
    fn field_value(&self) -> FieldValue {
        FieldValue::Count(Bucket::of(*self))
    }
}

impl EventField for Version {
    fn field_value(&self) -> FieldValue {
        FieldValue::Version(self.clone())
    }
}

impl<T: EventField> EventField for Option<T> {
    fn field_value(&self) -> FieldValue {
        self.as_ref().map_or(FieldValue::Absent, T::field_value)
    }
}

/// A field of a custom event. No variant can hold text the host did not write in its
/// source: integers are sent as a range, choices are declared enum variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// `true` or `false`.
    Bool(bool),
    /// An integer, as the range it falls in.
    Count(Bucket),
    /// A variant of an enum deriving `telemetry::EventValue`, in snake case.
    Choice(Name),
    /// A checked version.
    Version(Version),
    /// An `Option` field that was `None`.
    Absent,
}

impl FieldValue {
    /// The value exactly as it is sent: JSON text.
    ///
    /// ```
    /// use telemetry::wire::{Bucket, FieldValue};
    ///
    /// assert_eq!(FieldValue::Count(Bucket::of(7)).json(), r#""6-10""#);
    /// assert_eq!(FieldValue::Absent.json(), "null");
    /// ```
    pub fn json(&self) -> String {
        self.to_json().compact()
    }
}

impl ToJson for FieldValue {
    fn to_json(&self) -> Json {
        match self {
            FieldValue::Bool(b) => Json::Bool(*b),
            FieldValue::Count(bucket) => Json::str(bucket.label()),
            FieldValue::Choice(name) => name.to_json(),
            FieldValue::Version(version) => version.to_json(),
            FieldValue::Absent => Json::Null,
        }
    }
}
