//! `#[flow]` and `#[task]`: parse the options into their model ([`options`]), check the fn
//! ([`check`]), then generate the instrumented fn ([`expand`]). On any error the fn is
//! emitted exactly as written, with every error beside it, so no follow-on errors appear.

mod check;
mod exits;
mod expand;
mod func;
mod options;
mod shape;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::Item;
use syn::spanned::Spanned;

use crate::common::Errors;
use func::Func;
use options::Options;

#[derive(Copy, Clone)]
pub(crate) enum Kind {
    Flow,
    Task,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Flow => "#[flow]",
            Kind::Task => "#[task]",
        }
    }
}

/// Expands one attribute. `instrument` is false with the compile-time kill switch: options
/// are still checked and retries and caching still work, but no counter is emitted.
pub(crate) fn expand(
    kind: Kind,
    args: TokenStream,
    item: TokenStream,
    instrument: bool,
) -> TokenStream {
    let mut errors = Errors::default();
    let options = Options::parse(args, &mut errors);
    let func = match parse_fn(kind, item.clone(), &mut errors) {
        Some(func) => func,
        None => return with_errors(item, errors),
    };
    check::check_signature(kind, &func, &options, &mut errors);
    if errors.has_any() {
        return with_errors(item, errors);
    }
    if !instrument && options.retries.is_none() && options.cache.is_none() {
        // Nothing to count and no behaviour to add: the fn is left exactly as written.
        return item;
    }
    expand::instrumented(kind, &options, &func, instrument)
}

/// The fn to instrument, or `None` with the reason in `errors`: syn's own error when the
/// item does not parse, ours when it is an item but not a fn.
fn parse_fn(kind: Kind, item: TokenStream, errors: &mut Errors) -> Option<Func> {
    if let Some(func) = Func::parse(item.clone()) {
        return Some(func);
    }
    // Only when it is not a fn with a body: parse the whole item, to say what it is.
    match syn::parse2::<Item>(item) {
        Ok(Item::Fn(_)) => {
            errors.at(
                Span::call_site(),
                format_args!("{} could not read this function", kind.attr()),
            );
            None
        }
        Ok(other) => {
            errors.at(
                item_keyword_span(&other),
                format_args!("{} can only be applied to a function", kind.attr()),
            );
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn with_errors(mut item: TokenStream, errors: Errors) -> TokenStream {
    if let Err(e) = errors.into_result() {
        item.extend(e.to_compile_error());
    }
    item
}

/// The span of the keyword that says what an item is (`struct`, `impl`, …).
fn item_keyword_span(item: &Item) -> Span {
    let after_attrs = item.to_token_stream().into_iter().skip_while(|t| match t {
        TokenTree::Punct(p) => p.as_char() == '#',
        TokenTree::Group(g) => g.delimiter() == proc_macro2::Delimiter::Bracket,
        _ => false,
    });
    after_attrs
        .into_iter()
        .find(|t| match t {
            TokenTree::Ident(i) => !matches!(i.to_string().as_str(), "pub" | "unsafe"),
            _ => false,
        })
        .map_or_else(|| item.span(), |t| t.span())
}
