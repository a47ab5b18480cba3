//! How a call ended, and the *type* of the error it returned (`errors.exception_types`).
//!
//! The generated code asks `outcome!(result)`: a `Result` whose error type is on the
//! allowlist gives that type; any other `Result` gives `Err(other)`; any other return type
//! is `Ok`. The choice is made at compile time, per call site, by method resolution
//! ("autoref specialization"): the most specific impl that applies wins, and a fn whose
//! return type is generic falls back to the least specific. No message is ever read.

use std::error::Error;

use crate::wire::errors::{ErrorType, IoKind};

/// Error types whose type (never message) may be reported. Implemented for the public std
/// types on the allowlist, and for boxed errors that hold one of them.
pub trait KnownError {
    /// The type to report.
    fn error_type(&self) -> ErrorType;
}

macro_rules! known {
    ($($ty:ty => $variant:ident,)*) => {
        $(impl KnownError for $ty {
            #[inline]
            fn error_type(&self) -> ErrorType {
                ErrorType::$variant
            }
        })*

        /// The allowlisted type behind a `dyn Error`, if it is one.
        fn downcast(e: &(dyn Error + 'static)) -> ErrorType {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return io.error_type();
            }
            $(if e.is::<$ty>() {
                return ErrorType::$variant;
            })*
            ErrorType::Other
        }
    };
}

known! {
    std::num::ParseIntError => ParseInt,
    std::num::ParseFloatError => ParseFloat,
    std::str::ParseBoolError => ParseBool,
    std::char::ParseCharError => ParseChar,
    std::net::AddrParseError => AddrParse,
    std::str::Utf8Error => Utf8,
    std::string::FromUtf8Error => FromUtf8,
    std::num::TryFromIntError => TryFromInt,
    std::fmt::Error => Fmt,
    std::time::SystemTimeError => SystemTime,
}

impl KnownError for std::io::Error {
    // Inline, with `IoKind::of`: the type is then built in registers at the call site, not
    // in memory a failing call reads back piecewise (docs/performance.md, "The call path").
    #[inline]
    fn error_type(&self) -> ErrorType {
        ErrorType::Io(IoKind::of(self.kind()))
    }
}

impl KnownError for Box<dyn Error> {
    fn error_type(&self) -> ErrorType {
        downcast(self.as_ref())
    }
}

impl KnownError for Box<dyn Error + Send + Sync> {
    fn error_type(&self) -> ErrorType {
        downcast(self.as_ref())
    }
}

/// How one call ended. Generated code only.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Err(ErrorType),
}

impl CallOutcome {
    /// Whether the call returned an `Err`.
    #[inline(always)]
    pub fn is_err(self) -> bool {
        matches!(self, CallOutcome::Err(_))
    }
}

/// Wraps a call's result for `outcome!`. Generated code only.
#[doc(hidden)]
pub struct Probe<'a, R>(pub &'a R);

#[doc(hidden)]
pub trait KnownErrOutcome {
    fn __telemetry_outcome(&self) -> CallOutcome;
}

impl<T, E: KnownError> KnownErrOutcome for &&Probe<'_, Result<T, E>> {
    #[inline(always)]
    fn __telemetry_outcome(&self) -> CallOutcome {
        match self.0 {
            Ok(_) => CallOutcome::Ok,
            Err(e) => CallOutcome::Err(e.error_type()),
        }
    }
}

#[doc(hidden)]
pub trait OtherErrOutcome {
    fn __telemetry_outcome(&self) -> CallOutcome;
}

impl<T, E> OtherErrOutcome for &Probe<'_, Result<T, E>> {
    #[inline(always)]
    fn __telemetry_outcome(&self) -> CallOutcome {
        match self.0 {
            Ok(_) => CallOutcome::Ok,
            Err(_) => CallOutcome::Err(ErrorType::Other),
        }
    }
}

#[doc(hidden)]
pub trait NotResultOutcome {
    fn __telemetry_outcome(&self) -> CallOutcome;
}

impl<R> NotResultOutcome for Probe<'_, R> {
    #[inline(always)]
    fn __telemetry_outcome(&self) -> CallOutcome {
        CallOutcome::Ok
    }
}

/// `outcome!(value)`: how a call that returned `value` ended. Generated code only.
#[doc(hidden)]
#[macro_export]
macro_rules! __outcome {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            KnownErrOutcome as _, NotResultOutcome as _, OtherErrOutcome as _,
        };
        (&&&$crate::__private::Probe(&$value)).__telemetry_outcome()
    }};
}

#[cfg(test)]
mod tests {
    use super::CallOutcome;
    use crate::wire::errors::{ErrorType, IoKind};

    type Alias<T> = Result<T, std::num::ParseIntError>;

    struct Private;

    /// A host's own error type, declared safe to name.
    struct Declared(#[allow(dead_code)] String);

    impl super::KnownError for Declared {
        fn error_type(&self) -> ErrorType {
            ErrorType::named("acme::Declared")
        }
    }

    /// Declared with a name that is not a type path: reported as `other`.
    struct Sloppy;

    impl super::KnownError for Sloppy {
        fn error_type(&self) -> ErrorType {
            ErrorType::named("acme error: /home/alice")
        }
    }

    fn generic<T>(value: &T) -> CallOutcome {
        crate::__outcome!(*value)
    }

    #[test]
    fn outcomes_are_classified_by_type() {
        let io: Result<(), std::io::Error> = Err(std::io::ErrorKind::NotFound.into());
        assert_eq!(
            crate::__outcome!(io),
            CallOutcome::Err(ErrorType::Io(IoKind::NotFound))
        );
        let alias: Alias<u8> = "x".parse();
        assert_eq!(
            crate::__outcome!(alias),
            CallOutcome::Err(ErrorType::ParseInt)
        );
        let private: Result<u8, Private> = Err(Private);
        assert_eq!(
            crate::__outcome!(private),
            CallOutcome::Err(ErrorType::Other)
        );
        let ok: Result<u8, Private> = Ok(1);
        assert_eq!(crate::__outcome!(ok), CallOutcome::Ok);
        assert_eq!(crate::__outcome!(5u8), CallOutcome::Ok);
        let boxed: Result<(), Box<dyn std::error::Error + Send + Sync>> =
            Err(Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)));
        assert_eq!(
            crate::__outcome!(boxed),
            CallOutcome::Err(ErrorType::Io(IoKind::TimedOut))
        );
        let boxed: Result<(), Box<dyn std::error::Error>> = Err("free text".into());
        assert_eq!(crate::__outcome!(boxed), CallOutcome::Err(ErrorType::Other));
        let declared: Result<(), Declared> = Err(Declared("db-7.internal timed out".into()));
        assert_eq!(ErrorType::named("acme::Declared").name(), "acme::Declared");
        assert_eq!(
            crate::__outcome!(declared),
            CallOutcome::Err(ErrorType::named("acme::Declared"))
        );
        let sloppy: Result<(), Sloppy> = Err(Sloppy);
        assert_eq!(
            crate::__outcome!(sloppy),
            CallOutcome::Err(ErrorType::Other)
        );
        // A generic return type cannot be inspected: it counts as ok.
        assert_eq!(generic(&io), CallOutcome::Ok);
    }
}
