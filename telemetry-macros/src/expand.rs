//! Code generation: the body of an annotated fn, rewritten around the original one.
//!
//! The shape (see the snapshots in `tests/snapshots/`): a `static` descriptor and its
//! registration, `enter` (one relaxed load when telemetry is off), an optional cache lookup,
//! the original body as a closure or `async` block (so `return` and `?` end one attempt, not
//! the fn), then `finish`. Everything the generated code calls lives in the runtime under
//! `__private`, so the expansion stays short enough to audit with `cargo expand`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Item, ItemFn, Pat, ReturnType, Type, parse_quote};

use crate::attr::{Errors, Options};

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
    let func = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => {
            errors.at(
                item_keyword_span(&other),
                format_args!("{} can only be applied to a function", kind.attr()),
            );
            return with_errors(item, errors);
        }
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or(Span::call_site(), |t| t.span());
            errors.at(
                span,
                format_args!(
                    "{} can only be applied to a function with a body",
                    kind.attr()
                ),
            );
            return with_errors(item, errors);
        }
    };
    check_signature(kind, &func, &options, &mut errors);
    if let Err(e) = errors.into_result() {
        // The fn as written, plus the errors: no follow-on errors about missing items.
        let mut out = item;
        out.extend(e.to_compile_error());
        return out;
    }
    if !instrument && options.retries.is_none() && options.cache.is_none() {
        // Nothing to count and no behaviour to add: the fn is left exactly as written.
        return func.into_token_stream();
    }
    let mut func = func;
    let body = body(kind, &options, &func, instrument);
    func.block = Box::new(parse_quote!({ #body }));
    func.into_token_stream()
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

fn check_signature(kind: Kind, func: &ItemFn, options: &Options, errors: &mut Errors) {
    if let Some(constness) = &func.sig.constness {
        errors.at(
            constness.span,
            format_args!(
                "{} cannot be used on a `const fn`: its calls are counted when they run",
                kind.attr()
            ),
        );
    }
    if options.cache.is_some() {
        for arg in &func.sig.inputs {
            if let FnArg::Typed(typed) = arg
                && !matches!(&*typed.pat, Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none())
            {
                errors.at(
                    typed.pat.span(),
                    "`cache` needs every argument bound to a plain name, to build the cache key: \
                     bind this one to a name and destructure it inside the function",
                );
            }
        }
    }
}

/// The same tokens, all carrying `span` (`quote_spanned!` leaves interpolated ones as they are).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(g) = &token {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                token = TokenTree::Group(group);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// Whether a type mentions `impl Trait`, which cannot be named in the generated code.
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => mentions_impl(g.stream()),
        _ => false,
    })
}

fn features(func: &ItemFn, options: &Options, p: &TokenStream) -> TokenStream {
    let sig = &func.sig;
    let flags = [
        (sig.asyncness.is_some(), "ASYNC"),
        (sig.receiver().is_some(), "METHOD"),
        (
            sig.generics.type_params().next().is_some()
                || sig.generics.const_params().next().is_some(),
            "GENERIC",
        ),
        (
            sig.inputs
                .iter()
                .any(|a| matches!(a, FnArg::Typed(t) if mentions_impl(t.ty.to_token_stream()))),
            "IMPL_TRAIT_ARG",
        ),
        (options.retries.is_some(), "RETRIES"),
        (options.retry_delay_ms.is_some(), "RETRY_DELAY"),
        (options.cache.is_some(), "CACHE"),
        (options.cache_ttl_secs.is_some(), "CACHE_TTL"),
    ];
    let mut set = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| syn::Ident::new(name, Span::call_site()));
    match set.next() {
        None => quote!(#p::Features::NONE),
        Some(first) => {
            let rest = set.map(|flag| quote!(.union(#p::Features::#flag)));
            quote!(#p::Features::#first #(#rest)*)
        }
    }
}

/// The cache key: every argument's value, owned (`&str` becomes `String`).
fn cache_key(func: &ItemFn, p: &TokenStream) -> TokenStream {
    let parts = func.sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Receiver(r) => Some(if r.reference.is_some() {
            quote_spanned!(r.span()=> #p::key_ref(&*self))
        } else {
            quote_spanned!(r.span()=> #p::key(&self))
        }),
        FnArg::Typed(typed) => {
            let Pat::Ident(pat) = &*typed.pat else {
                return None;
            };
            let name = &pat.ident;
            let span = typed.ty.span();
            Some(match &*typed.ty {
                Type::Reference(_) => quote_spanned!(span=> #p::key_ref(&*#name)),
                _ => quote_spanned!(span=> #p::key(&#name)),
            })
        }
    });
    quote!((#(#parts,)*))
}

fn body(kind: Kind, options: &Options, func: &ItemFn, instrument: bool) -> TokenStream {
    let krate = options
        .krate
        .clone()
        .unwrap_or_else(|| parse_quote!(::telemetry));
    let p = quote!(#krate::__private);
    let block = &func.block;
    let ret: Type = match &func.sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    // `impl Trait` cannot be written in a closure's or a turbofish's type: leave it inferred.
    let nameable = !mentions_impl(ret.to_token_stream());
    let mut out = TokenStream::new();

    let call = if instrument {
        let kind = match kind {
            Kind::Flow => quote!(Flow),
            Kind::Task => quote!(Task),
        };
        let name = func.sig.ident.to_string();
        let features = features(func, options, &p);
        out.extend(quote! {
            static __TELEMETRY_CALLSITE: #p::Callsite = #p::Callsite::new(
                #p::Kind::#kind,
                #name,
                ::core::module_path!(),
                #features,
            );
            #p::register!(__TELEMETRY_CALLSITE);
            let __telemetry_call = #p::enter(&__TELEMETRY_CALLSITE);
        });
        quote!(__telemetry_call)
    } else {
        quote!(#p::Call::OFF)
    };

    if let Some(cache_span) = options.cache {
        let ttl = options.cache_ttl_secs.map_or(0, |(secs, _)| secs);
        let key = cache_key(func, &p);
        let lookup = quote_spanned!(cache_span=> __TELEMETRY_CACHE.lookup(#key));
        let (hit, miss) = if instrument {
            (quote!(#call.cache_hit();), quote!(#call.cache_miss();))
        } else {
            (quote!(), quote!())
        };
        out.extend(quote! {
            static __TELEMETRY_CACHE: #p::Cache = #p::Cache::new(#ttl);
            let __telemetry_miss = match #lookup {
                ::core::result::Result::Ok(__telemetry_hit) => {
                    #hit
                    return __telemetry_hit;
                }
                ::core::result::Result::Err(__telemetry_miss) => __telemetry_miss,
            };
            #miss
        });
    }

    let result = if func.sig.asyncness.is_none() {
        let closure_ret = nameable.then(|| quote!(-> #ret));
        match options.retries {
            Some((n, span)) => {
                let delay = options.retry_delay_ms.map_or(0, |(ms, _)| ms);
                // Every token of the call carries the span of `retries`, so a non-`Result`
                // return type is reported there.
                let retry = respan(
                    quote!(#p::retry(&#call, #n, #delay, __telemetry_body)),
                    span,
                );
                quote!({
                    let __telemetry_body = || #closure_ret #block;
                    #retry
                })
            }
            None => quote!(#p::run(|| #closure_ret #block)),
        }
    } else {
        let output = if nameable {
            ret.to_token_stream()
        } else {
            quote!(_)
        };
        let attempt = quote!(#p::typed::<#output, _>(async #block).await);
        match options.retries {
            Some((n, span)) => {
                let delay_ms = options.retry_delay_ms.map_or(0, |(ms, _)| ms);
                let again =
                    quote_spanned!(span=> __telemetry_retries.again(&__telemetry_attempt, &#call));
                let delay = options
                    .retry_delay_ms
                    .map(|_| quote!(__telemetry_retries.delay().await;));
                quote! {
                    {
                        let mut __telemetry_retries = #p::Retries::new(#n, #delay_ms);
                        loop {
                            let __telemetry_attempt = #attempt;
                            if !#again {
                                break __telemetry_attempt;
                            }
                            #delay
                        }
                    }
                }
            }
            None => attempt,
        }
    };
    out.extend(quote!(let __telemetry_result = #result;));

    match (options.cache.is_some(), instrument) {
        (true, _) => {
            let finish = instrument.then(|| quote!(#call.finish(__telemetry_outcome);));
            out.extend(quote! {
                let __telemetry_outcome = #p::outcome!(__telemetry_result);
                if !__telemetry_outcome.is_err() {
                    __telemetry_miss.store(&__telemetry_result);
                }
                #finish
            });
        }
        (false, true) => out.extend(quote!(#call.finish(#p::outcome!(__telemetry_result));)),
        (false, false) => {}
    }
    out.extend(quote!(__telemetry_result));
    out
}
