//! `#[derive(Event)]` and `#[derive(EventValue)]`: one driver ([`derive`]) parses the item
//! into a small model, checks it, then generates the impls.
//!
//! What a field may hold is enforced twice. The derive names the usual free-text types
//! (`String`, `&str`, `PathBuf`, `f64`, `Vec<_>`, …) and says why each is refused, spanned on
//! the type ([`fields`]). Every other type goes through `<Ty as EventField>::field_value`, so
//! a type without an `EventField` impl (a user struct, an alias of `String`) fails on the
//! trait's `#[diagnostic::on_unimplemented]` message, also spanned on the field's type.
//!
//! On error only the errors and a stub impl are emitted: the stub keeps uses of the type
//! (`telemetry::record(&event)`) from adding follow-on errors to the real ones.

pub(crate) mod event;
mod fields;
mod names;
mod options;
pub(crate) mod value;

use proc_macro2::TokenStream;
use syn::{DeriveInput, Path};

use crate::common::{Errors, default_crate};

/// One derive: its model, how it is read, what it generates, and what stands in on error.
pub(crate) trait Derive: Sized {
    /// The model, with every problem reported to `errors`; `None` when the item is not the
    /// kind of item this derive takes at all.
    fn parse(input: &DeriveInput, errors: &mut Errors) -> Option<Self>;
    /// Where the facade is.
    fn krate(&self) -> &Path;
    /// The impls.
    fn expand(&self) -> TokenStream;
    /// The impls with nothing to check, emitted beside the errors.
    fn stub(input: &DeriveInput, krate: &Path) -> TokenStream;
}

/// Runs derive `D` on `input`.
pub(crate) fn derive<D: Derive>(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let model = D::parse(&input, &mut errors);
    match (errors.into_result(), model) {
        (Ok(()), Some(model)) => model.expand(),
        (result, model) => {
            let krate = model.map_or_else(default_crate, |m| m.krate().clone());
            let mut out = D::stub(&input, &krate);
            if let Err(e) = result {
                out.extend(e.to_compile_error());
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::derive::fields::refused_type;
    use crate::derive::names::{name_problem, snake_case};

    #[test]
    fn type_names_become_snake_case() {
        for (ident, name) in [
            ("DeployFinished", "deploy_finished"),
            ("HTTPRetry", "http_retry"),
            ("HttpRetry", "http_retry"),
            ("Http2Upgrade", "http2_upgrade"),
            ("IOError", "io_error"),
            ("ABC", "abc"),
            ("V2", "v2"),
            ("Already_Snake", "already_snake"),
            ("lower", "lower"),
            ("BlueGreen", "blue_green"),
        ] {
            assert_eq!(snake_case(ident), name, "{ident}");
        }
    }

    #[test]
    fn names_follow_the_runtime_rule() {
        assert_eq!(name_problem("deploy_finished"), None);
        assert_eq!(name_problem("tokio-2"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("_private").is_some());
        assert!(name_problem("Upper").is_some());
        assert!(name_problem("größe").is_some());
        assert!(name_problem(&"x".repeat(33)).is_some());
        assert_eq!(name_problem(&"x".repeat(32)), None);
    }

    #[test]
    fn free_text_types_are_found_through_wrappers() {
        let refused = |ty: &str| refused_type(&syn::parse_str(ty).unwrap()).is_some();
        for ty in [
            "String",
            "std::string::String",
            "&'a str",
            "Option<&str>",
            "Option<Option<PathBuf>>",
            "Box<str>",
            "std::borrow::Cow<'static, str>",
            "Arc<String>",
            "&[u8]",
            "[u8; 4]",
            "(u8, f64)",
            "HashMap<u8, u8>",
            "std::net::IpAddr",
            "Duration",
            "char",
        ] {
            assert!(refused(ty), "{ty} should be refused");
        }
        for ty in [
            "bool",
            "u32",
            "Option<u64>",
            "telemetry::Version",
            "Strategy",
            "Box<u8>",
        ] {
            assert!(!refused(ty), "{ty} should be left to the trait bound");
        }
    }
}
