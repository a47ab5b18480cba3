//! What an annotated fn must be, beyond its options: checked before anything is generated.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, Pat, ReturnType};

use crate::attr::Kind;
use crate::attr::func::Func;
use crate::attr::options::Options;
use crate::common::Errors;

pub(crate) fn check_signature(kind: Kind, func: &Func, options: &Options, errors: &mut Errors) {
    if let Some(constness) = &func.sig.constness {
        errors.at(
            constness.span,
            format_args!(
                "{} cannot be used on a `const fn`: its calls are counted when they run",
                kind.attr()
            ),
        );
    }
    if let Some((_, span)) = options.retries
        && let ReturnType::Type(_, ty) = &func.sig.output
        && holds_mut_borrow(ty.to_token_stream())
    {
        errors.at(
            span,
            "`retries` cannot be used on a function that returns a `&mut` borrow: each attempt \
             borrows the arguments afresh, and a borrow taken in one attempt cannot outlive it; \
             return an owned value, or remove `retries`",
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

/// Whether a type, as written, holds a `&mut` (or `&'a mut`) reference anywhere.
fn holds_mut_borrow(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Punct(p) if p.as_char() == '&' => {
            // `&'a mut`: a lifetime is a `'` punct and an ident.
            let after = match tokens.get(i + 1) {
                Some(TokenTree::Punct(q)) if q.as_char() == '\'' => i + 3,
                _ => i + 1,
            };
            matches!(tokens.get(after), Some(TokenTree::Ident(id)) if id == "mut")
        }
        TokenTree::Group(g) => holds_mut_borrow(g.stream()),
        _ => false,
    })
}
