//! Code generation: the body of an annotated fn, rewritten around the original one.
//!
//! The shape (see the snapshots in `snapshots/`): a `static` descriptor and its
//! registration ([`callsite`]), `enter` (one relaxed load when telemetry is off), an optional
//! cache lookup ([`cache_lookup`]), the original body as a closure or `async` block so that
//! `return` and `?` end one attempt, not the fn ([`sync_attempt`], [`async_attempt`]), then
//! `finish` ([`finish`]). Everything the generated code calls lives in the runtime under
//! `__private`, so the expansion stays short enough to audit with `cargo expand`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type, parse_quote};

use crate::attr::Kind;
use crate::attr::options::Options;
use crate::common::default_crate;

/// What every generator needs to know about the fn being expanded.
struct Target<'a> {
    func: &'a ItemFn,
    options: &'a Options,
    /// `<facade>::__private`.
    p: TokenStream,
    /// The return type as written (`()` when none).
    ret: Type,
    /// Whether the return type can be written in generated code (no `impl Trait`).
    nameable: bool,
    /// The expression that names the call in progress.
    call: TokenStream,
}

/// `func` with its body replaced by the instrumented one.
pub(crate) fn instrumented(
    kind: Kind,
    options: &Options,
    mut func: ItemFn,
    instrument: bool,
) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(default_crate);
    let p = quote!(#krate::__private);
    let ret: Type = match &func.sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let call = if instrument {
        quote!(__telemetry_call)
    } else {
        quote!(#p::Call::OFF)
    };
    let target = Target {
        func: &func,
        options,
        p,
        // `impl Trait` cannot be written in a closure's or a turbofish's type: leave it
        // inferred.
        nameable: !mentions_impl(ret.to_token_stream()),
        ret,
        call,
    };
    let mut body = TokenStream::new();
    if instrument {
        body.extend(callsite(kind, &target));
    }
    if options.cache.is_some() {
        body.extend(cache_lookup(&target, instrument));
    }
    let result = if func.sig.asyncness.is_none() {
        sync_attempt(&target)
    } else {
        async_attempt(&target)
    };
    body.extend(quote!(let __telemetry_result = #result;));
    body.extend(finish(&target, instrument));
    body.extend(quote!(__telemetry_result));
    func.block = Box::new(parse_quote!({ #body }));
    func.into_token_stream()
}

/// The `static` descriptor, its registration, and the start of the call.
fn callsite(kind: Kind, t: &Target) -> TokenStream {
    let p = &t.p;
    let kind = match kind {
        Kind::Flow => quote!(Flow),
        Kind::Task => quote!(Task),
    };
    let name = t.func.sig.ident.to_string();
    let features = features(t);
    quote! {
        static __TELEMETRY_CALLSITE: #p::Callsite = #p::Callsite::new(
            #p::Kind::#kind,
            #name,
            ::core::module_path!(),
            #features,
        );
        #p::register!(__TELEMETRY_CALLSITE);
        let __telemetry_call = #p::enter(&__TELEMETRY_CALLSITE);
    }
}

/// The feature flags, as constants, from the signature and the options.
fn features(t: &Target) -> TokenStream {
    let (sig, options, p) = (&t.func.sig, t.options, &t.p);
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

/// A cache hit returns at once; a miss keeps where to store the result.
fn cache_lookup(t: &Target, instrument: bool) -> TokenStream {
    let (p, call) = (&t.p, &t.call);
    let Some(cache_span) = t.options.cache else {
        return TokenStream::new();
    };
    let ttl = t.options.cache_ttl_secs.map_or(0, |(secs, _)| secs);
    let key = cache_key(t);
    let lookup = quote_spanned!(cache_span=> __TELEMETRY_CACHE.lookup(#key));
    let (hit, miss) = if instrument {
        (quote!(#call.cache_hit();), quote!(#call.cache_miss();))
    } else {
        (quote!(), quote!())
    };
    quote! {
        static __TELEMETRY_CACHE: #p::Cache = #p::Cache::new(#ttl);
        let __telemetry_miss = match #lookup {
            ::core::result::Result::Ok(__telemetry_hit) => {
                #hit
                return __telemetry_hit;
            }
            ::core::result::Result::Err(__telemetry_miss) => __telemetry_miss,
        };
        #miss
    }
}

/// The cache key: every argument's value, owned (`&str` becomes `String`).
fn cache_key(t: &Target) -> TokenStream {
    let p = &t.p;
    let parts = t.func.sig.inputs.iter().filter_map(|arg| match arg {
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

/// The body of a sync fn, run once, or once per attempt with `retries`.
fn sync_attempt(t: &Target) -> TokenStream {
    let (p, call, block, ret) = (&t.p, &t.call, &t.func.block, &t.ret);
    let closure_ret = t.nameable.then(|| quote!(-> #ret));
    match t.options.retries {
        Some((n, span)) => {
            let delay = t.options.retry_delay_ms.map_or(0, |(ms, _)| ms);
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
}

/// The body of an `async fn`, awaited once, or once per attempt with `retries`.
fn async_attempt(t: &Target) -> TokenStream {
    let (p, call, block) = (&t.p, &t.call, &t.func.block);
    let output = if t.nameable {
        t.ret.to_token_stream()
    } else {
        quote!(_)
    };
    let attempt = quote!(#p::typed::<#output, _>(async #block).await);
    let Some((n, span)) = t.options.retries else {
        return attempt;
    };
    let delay_ms = t.options.retry_delay_ms.map_or(0, |(ms, _)| ms);
    let again = quote_spanned!(span=> __telemetry_retries.again(&__telemetry_attempt, &#call));
    let delay = t
        .options
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

/// How the call ended, recorded; a result that is not an `Err` stored in the cache.
fn finish(t: &Target, instrument: bool) -> TokenStream {
    let (p, call) = (&t.p, &t.call);
    match (t.options.cache.is_some(), instrument) {
        (true, _) => {
            let finish = instrument.then(|| quote!(#call.finish(__telemetry_outcome);));
            quote! {
                let __telemetry_outcome = #p::outcome!(__telemetry_result);
                if !__telemetry_outcome.is_err() {
                    __telemetry_miss.store(&__telemetry_result);
                }
                #finish
            }
        }
        (false, true) => quote!(#call.finish(#p::outcome!(__telemetry_result));),
        (false, false) => TokenStream::new(),
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
