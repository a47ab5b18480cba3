//! Parsing and checking the options of `#[flow(...)]` / `#[task(...)]`.
//!
//! Every problem becomes a `syn::Error` spanned on the offending token; all of them are
//! collected and reported together rather than stopping at the first.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

const KNOWN: &str = "`retries`, `retry_delay_ms`, `cache`, `cache_ttl_secs`, `crate`";

/// The options as written, each with the span of its name for later errors.
#[derive(Default)]
pub(crate) struct Options {
    pub retries: Option<(u32, Span)>,
    pub retry_delay_ms: Option<(u64, Span)>,
    pub cache: Option<Span>,
    pub cache_ttl_secs: Option<(u64, Span)>,
    pub krate: Option<syn::Path>,
}

/// Accumulates errors so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Stores an option's value, or reports it as a duplicate: the one place that rule lives,
/// for `#[flow]`/`#[task]` and for the derives.
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
    pub fn parse(args: TokenStream, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
            Ok(metas) => metas,
            Err(e) => {
                errors.push(e);
                return options;
            }
        };
        for meta in &metas {
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
                        set_once(&mut options.retries, (v as u32, span), "retries", span, errors);
                    }
                }
                "retry_delay_ms" => {
                    if let Some(v) = int_value("retry_delay_ms", "200", u64::MAX, meta, errors) {
                        set_once(&mut options.retry_delay_ms, (v, span), "retry_delay_ms", span, errors);
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
                        set_once(&mut options.cache_ttl_secs, (v, span), "cache_ttl_secs", span, errors);
                    }
                }
                "cache" => match meta {
                    Meta::Path(_) => set_once(&mut options.cache, span, "cache", span, errors),
                    _ => errors.at(
                        meta.span(),
                        "`cache` takes no value: write `cache`, and `cache_ttl_secs = N` to expire entries",
                    ),
                },
                "crate" => match meta {
                    Meta::NameValue(nv) => match &nv.value {
                        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => {
                            set_once(&mut options.krate, p.path.clone(), "crate", span, errors)
                        }
                        other => errors.at(
                            other.span(),
                            "`crate` takes a path to the telemetry facade, like `crate = my_sdk::telemetry`",
                        ),
                    },
                    _ => errors.at(
                        meta.span(),
                        "`crate` takes a path to the telemetry facade, like `crate = my_sdk::telemetry`",
                    ),
                },
                _ => errors.at(
                    span,
                    format_args!(
                        "unknown option `{}`; expected one of {KNOWN}",
                        quote::ToTokens::to_token_stream(path).to_string().replace(' ', "")
                    ),
                ),
            }
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
}
