//! Code generation: the body of an annotated fn, rewritten around the original one.
//!
//! The shapes (see `snapshots/`, and [`Shape`] for which fn gets which):
//!
//! - **Inline.** The body stays where it was written, its value is kept, looked at if it
//!   might be an `Err`, and the call ends after it (a future dropped half-way is not a call
//!   that completed). A body that may end early has its `return`s and `?`s rewritten as
//!   breaks out of it, a labeled block ([`exits`](crate::attr::exits)).
//! - **In place.** A sync fn whose value cannot be an `Err` (it returns `u32`, `Option<T>`,
//!   …) but whose body may end early, or whose return type cannot be named (`impl Trait`,
//!   `!`): the body stays where it was written, after a guard that ends the call when it is
//!   dropped ([`callsite`], then the body).
//! - **Wrapped.** Where the exits cannot be rewritten (a macro such as `bail!` may hide a
//!   `return`), the body runs as a `move` closure called once (an `async move` block,
//!   awaited, in an `async fn`), so that `return` and `?` end the body and the value can be
//!   looked at: [`sync_attempt`], [`async_attempt`], then [`finish`]. `move` hands the
//!   arguments to the body whole, so a `&mut self` method may return a borrow of `self`.
//! - **Per attempt.** With `retries` the body runs once per attempt, borrowing the arguments
//!   afresh each time; with `cache` a lookup comes first ([`cache_lookup`]).
//!
//! Everything the generated code calls lives in the runtime under `__private`, so the
//! expansion stays short enough to audit with `cargo expand`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Pat, ReturnType, Type};

use crate::attr::Kind;
use crate::attr::func::Func;
use crate::attr::options::Options;
use crate::attr::shape::{Shape, mentions_impl};
use crate::common::default_crate;

/// What every generator needs to know about the fn being expanded.
struct Target<'a> {
    func: &'a Func,
    options: &'a Options,
    /// `<facade>::__private`.
    p: TokenStream,
    /// The return type as written (`()` when none).
    ret: TokenStream,
    /// Whether the return type can be written in generated code (no `impl Trait`).
    nameable: bool,
    /// The expression that names the call in progress.
    call: TokenStream,
    /// How the body runs.
    shape: Shape,
    /// The body as a labeled block with its exits rewritten, for a labeled `Inline` shape.
    rewritten: Option<TokenStream>,
}

/// `func` with its body replaced by the instrumented one.
pub(crate) fn instrumented(
    kind: Kind,
    options: &Options,
    func: &Func,
    instrument: bool,
) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(default_crate);
    let p = quote!(#krate::__private);
    let ret = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let nameable = !mentions_impl(&ret);
    let call = if instrument {
        quote!(__telemetry_call)
    } else {
        quote!(#p::Call::OFF)
    };
    let (shape, rewritten) = Shape::of(func, options, &p);
    let t = Target {
        func,
        options,
        p,
        ret,
        nameable,
        call,
        shape,
        rewritten,
    };
    let mut body = TokenStream::new();
    if instrument {
        body.extend(callsite(kind, &t));
    }
    let block = &func.body;
    match t.shape {
        // The value is never an `Err`, so the guard alone ends the call.
        Shape::InPlace => {
            body.extend(bare_expression(block).unwrap_or_else(|| quote!(#block)));
            return func.with_body(body);
        }
        Shape::Inline { may_err, .. } => {
            let ty = t.nameable.then(|| {
                let ret = &t.ret;
                quote!(: #ret)
            });
            let (call, p) = (&t.call, &t.p);
            let kept = t.rewritten.clone().unwrap_or_else(|| quote!(#block));
            let end = if may_err {
                quote!(#call.finish(#p::outcome!(__telemetry_result));)
            } else {
                quote!(#call.done();)
            };
            // A body that never completes (`todo!()`, `loop {}`) leaves what follows it
            // unreachable, and clippy sees a value that diverges (`panic!("{x}")`): the
            // host's code is not to blame, so neither is told to say so.
            body.extend(quote! {
                #[allow(clippy::diverging_sub_expression)]
                let __telemetry_result #ty = #kept;
                #[allow(unreachable_code)]
                #end
                __telemetry_result
            });
            return func.with_body(body);
        }
        Shape::Wrapped | Shape::Options => {}
    }
    body.extend(cache_lookup(&t, instrument));
    let result = if func.sig.asyncness.is_none() {
        sync_attempt(&t)
    } else {
        async_attempt(&t)
    };
    body.extend(quote!(let __telemetry_result = #result;));
    body.extend(finish(&t, instrument));
    body.extend(quote!(__telemetry_result));
    func.with_body(body)
}

/// The callsite (its registration in the binary's callsites' section, declared by the
/// runtime's `callsite!`), and the start of the call: a guard that ends the call when dropped
/// if the body runs in place.
fn callsite(kind: Kind, t: &Target) -> TokenStream {
    let p = &t.p;
    let kind = match kind {
        Kind::Flow => quote!(Flow),
        Kind::Task => quote!(Task),
    };
    let name = t.func.sig.ident.to_string();
    let flags = features(t);
    // An async call may end on another thread than it starts on.
    let start = match (t.shape == Shape::InPlace, t.func.sig.asyncness.is_some()) {
        (true, false) => quote!(scope),
        (true, true) => quote!(scope_async),
        (false, false) => quote!(enter),
        (false, true) => quote!(enter_async),
    };
    quote! {
        #p::callsite!(#kind, #name, [#(#flags),*]);
        let __telemetry_call = #p::#start(&__TELEMETRY_CALLSITE);
    }
}

/// The feature flags, from the signature and the options.
fn features(t: &Target) -> Vec<syn::Ident> {
    let (sig, options) = (&t.func.sig, t.options);
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
                .any(|a| matches!(a, FnArg::Typed(t) if mentions_impl(&t.ty))),
            "IMPL_TRAIT_ARG",
        ),
        (options.retries.is_some(), "RETRIES"),
        (options.retry_delay_ms.is_some(), "RETRY_DELAY"),
        (options.cache.is_some(), "CACHE"),
        (options.cache_ttl_secs.is_some(), "CACHE_TTL"),
    ];
    flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| syn::Ident::new(name, Span::call_site()))
        .collect()
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

/// The body of a sync fn: a closure called once, or once per attempt with `retries`.
fn sync_attempt(t: &Target) -> TokenStream {
    let (p, call, block, ret) = (&t.p, &t.call, &t.func.body, &t.ret);
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
        // Through `run`, whose `FnOnce` bound makes the closure `FnOnce` even when its body
        // only reborrows what it captured, so it may return that borrow.
        None => quote!(#p::run(move || #closure_ret #block)),
    }
}

/// The body of an `async fn`, awaited once (moved into its future), or once per attempt
/// with `retries` (borrowing the arguments afresh each time).
fn async_attempt(t: &Target) -> TokenStream {
    let (p, call, block) = (&t.p, &t.call, &t.func.body);
    let output = if t.nameable { t.ret.clone() } else { quote!(_) };
    let Some((n, span)) = t.options.retries else {
        return quote!(#p::typed::<#output, _>(async move #block).await);
    };
    let attempt = quote!(#p::typed::<#output, _>(async #block).await);
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

/// The body's lone expression, when the body is nothing else (`{ a + b }`): emitted without
/// its braces as our block's tail, or rustc's `unused_braces` lint would warn about braces
/// the host never wrote. A body with a statement, an item or an inner attribute stays a block.
fn bare_expression(block: &proc_macro2::Group) -> Option<TokenStream> {
    let stream = block.stream();
    let top_level_semicolon = stream
        .clone()
        .into_iter()
        .any(|t| matches!(&t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';'));
    if top_level_semicolon || stream.is_empty() {
        return None;
    }
    syn::parse2::<syn::Expr>(stream.clone())
        .ok()
        .map(|_| stream)
}
