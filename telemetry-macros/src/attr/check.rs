//! What an annotated fn must be, beyond its options: checked before anything is generated.

use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat};

use crate::attr::Kind;
use crate::attr::options::Options;
use crate::common::Errors;

pub(crate) fn check_signature(kind: Kind, func: &ItemFn, options: &Options, errors: &mut Errors) {
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
