//! What the attributes and the derives share: collecting errors, and the two options every
//! macro of this crate parses the same way (`crate = path`, and an unknown option).

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, Meta, Path};

/// Accumulates errors so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn has_any(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Stores an option's value, or reports it as a duplicate: the one place that rule lives.
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    name: &str,
    span: Span,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at(
            span,
            format_args!("duplicate option `{name}`: give it once"),
        );
    } else {
        *slot = Some(value);
    }
}

/// `crate = path`: where the telemetry facade is, for hosts that re-export it.
pub(crate) fn crate_option(meta: &Meta, slot: &mut Option<Path>, errors: &mut Errors) {
    let value = match meta {
        Meta::NameValue(nv) => Some(&nv.value),
        _ => None,
    };
    match value {
        Some(Expr::Path(p)) if p.qself.is_none() && p.attrs.is_empty() => {
            set_once(slot, p.path.clone(), "crate", meta.path().span(), errors)
        }
        _ => errors.at(
            value.map_or(meta.span(), Spanned::span),
            "`crate` takes a path to the telemetry facade, like `crate = my_sdk::telemetry`",
        ),
    }
}

/// An option this place does not take, reported on its name with what would be understood.
pub(crate) fn unknown_option(path: &Path, expected: &str, errors: &mut Errors) {
    let shown = path.to_token_stream().to_string().replace(' ', "");
    errors.at(
        path.span(),
        format_args!("unknown option `{shown}`; expected {expected}"),
    );
}

/// The facade, when no `crate = path` says otherwise.
pub(crate) fn default_crate() -> Path {
    syn::parse_quote!(::telemetry)
}
