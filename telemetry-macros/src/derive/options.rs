//! `#[telemetry(name = "...", crate = path)]` on the items the derives read.

use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Meta, Path, Token};

use crate::common::{Errors, crate_option, set_once, unknown_option};

/// Where a `#[telemetry(...)]` attribute stands, which decides the options it takes.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Place {
    /// On a struct deriving `Event`: `name`, `crate`.
    Event,
    /// On an enum deriving `EventValue`: `crate`.
    ValueEnum,
    /// On a variant of such an enum: `name`.
    Variant,
}

impl Place {
    fn known(self) -> &'static str {
        match self {
            Place::Event => "one of `name`, `crate`",
            Place::ValueEnum => "`crate` (`name` goes on a variant)",
            Place::Variant => "`name`",
        }
    }

    fn allows(self, option: &str) -> bool {
        match self {
            Place::Event => matches!(option, "name" | "crate"),
            Place::ValueEnum => option == "crate",
            Place::Variant => option == "name",
        }
    }
}

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

impl Options {
    /// Reads every `#[telemetry(...)]` among `attrs`; what cannot be understood is reported
    /// and left out.
    pub(crate) fn parse(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("telemetry")) {
            let metas = match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            {
                Ok(metas) => metas,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for meta in &metas {
                options.parse_one(meta, place, errors);
            }
        }
        options
    }

    fn parse_one(&mut self, meta: &Meta, place: Place, errors: &mut Errors) {
        let path = meta.path();
        let option = path.get_ident().map(Ident::to_string).unwrap_or_default();
        if !place.allows(&option) {
            unknown_option(path, place.known(), errors);
            return;
        }
        if option == "crate" {
            crate_option(meta, &mut self.krate, errors);
            return;
        }
        let value = match meta {
            Meta::NameValue(nv) => Some(&nv.value),
            _ => None,
        };
        match value {
            Some(Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            })) => set_once(&mut self.name, lit.clone(), "name", path.span(), errors),
            _ => errors.at(
                value.map_or(meta.span(), Spanned::span),
                "`name` takes a string, like `name = \"deploy_finished\"`",
            ),
        }
    }
}
