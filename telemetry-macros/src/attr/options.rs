//! Parsing `#[flow(...)]` / `#[task(...)]` options into their model.
//!
//! Every problem becomes a `syn::Error` spanned on the offending token; all of them are
//! collected and reported together rather than stopping at the first.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::common::{Errors, crate_option, set_once, unknown_option};

const KNOWN: &str = "one of `retries`, `retry_delay_ms`, `cache`, `cache_ttl_secs`, `crate`";

/// The options as written, each with the span of its name for later errors.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) retries: Option<(u32, Span)>,
    pub(crate) retry_delay_ms: Option<(u64, Span)>,
    pub(crate) cache: Option<Span>,
    pub(crate) cache_ttl_secs: Option<(u64, Span)>,
    pub(crate) krate: Option<syn::Path>,
}

/// An integer option's value: a plain integer literal no larger than `max`.
fn int_value(name: &str, example: &str, max: u64, meta: &Meta, errors: &mut Errors) -> Option<u64> {
    let expected = format!("`{name}` takes a whole number, like `{name} = {example}`");
    let value = match meta {
        Meta::NameValue(nv) => &nv.value,
        _ => {
            errors.at(meta.span(), expected);
            return None;
        }
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) if int.suffix().is_empty() => match int.base10_parse::<u64>() {
            Ok(v) if v <= max => Some(v),
            _ => {
                errors.at(
                    int.span(),
                    format_args!("`{name}` must be between 0 and {max}"),
                );
                None
            }
        },
        other => {
            errors.at(other.span(), expected);
            None
        }
    }
}

impl Options {
    /// Parses the attribute's arguments. Returns what could be understood, even on error, so
    /// the caller can still emit the original fn.
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
            Ok(metas) => metas,
            Err(e) => {
                errors.push(e);
                return options;
            }
        };
        for meta in &metas {
            options.parse_one(meta, errors);
        }
        if let (Some((_, span)), None) = (options.retry_delay_ms, options.retries) {
            errors.at(
                span,
                "`retry_delay_ms` needs `retries`: it is the pause between attempts, so add `retries = N`",
            );
        }
        if let (Some((_, span)), None) = (options.cache_ttl_secs, options.cache) {
            errors.at(
                span,
                "`cache_ttl_secs` needs `cache`: it expires cached results, so add `cache`",
            );
        }
        options
    }

    fn parse_one(&mut self, meta: &Meta, errors: &mut Errors) {
        let path = meta.path();
        let span = path.span();
        let name = if path.is_ident("crate") || path.segments.len() == 1 {
            path.segments[0].ident.to_string()
        } else {
            String::new()
        };
        match name.as_str() {
            "retries" => {
                if let Some(v) = int_value("retries", "3", u32::MAX.into(), meta, errors) {
                    set_once(&mut self.retries, (v as u32, span), "retries", span, errors);
                }
            }
            "retry_delay_ms" => {
                if let Some(v) = int_value("retry_delay_ms", "200", u64::MAX, meta, errors) {
                    set_once(&mut self.retry_delay_ms, (v, span), "retry_delay_ms", span, errors);
                }
            }
            "cache_ttl_secs" => {
                if let Some(v) = int_value("cache_ttl_secs", "60", u64::MAX, meta, errors) {
                    if v == 0 {
                        errors.at(
                            meta.span(),
                            "`cache_ttl_secs` must be at least 1; leave it out for entries that never expire",
                        );
                    }
                    set_once(&mut self.cache_ttl_secs, (v, span), "cache_ttl_secs", span, errors);
                }
            }
            "cache" => match meta {
                Meta::Path(_) => set_once(&mut self.cache, span, "cache", span, errors),
                _ => errors.at(
                    meta.span(),
                    "`cache` takes no value: write `cache`, and `cache_ttl_secs = N` to expire entries",
                ),
            },
            "crate" => crate_option(meta, &mut self.krate, errors),
            _ => unknown_option(path, KNOWN, errors),
        }
    }
}
