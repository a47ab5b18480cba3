//! The annotated fn, read only as far as the macro needs: its attributes, visibility and
//! signature. The body stays the tokens the user wrote, never parsed: the macro does not
//! look inside it, and parsing every statement of every annotated fn is most of what an
//! attribute like this costs at compile time.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility};

pub(crate) struct Func {
    pub(crate) sig: Signature,
    /// `{ … }` as written.
    pub(crate) body: Group,
    /// Everything before the body (attributes, visibility, signature), as written: emitted
    /// again as it came, rather than printed back from what was parsed.
    head: TokenStream,
}

/// The signature, read from the tokens before the body.
struct Head {
    sig: Signature,
}

impl Parse for Head {
    fn parse(input: ParseStream) -> syn::Result<Head> {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        Ok(Head {
            sig: input.parse()?,
        })
    }
}

impl Func {
    /// The fn in `item`, or `None` if it is not one with a body.
    pub(crate) fn parse(item: TokenStream) -> Option<Func> {
        let mut tokens: Vec<TokenTree> = item.into_iter().collect();
        let body = match tokens.pop()? {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => g,
            _ => return None,
        };
        let (inner, body) = hoist_inner_attributes(body);
        let head: TokenStream = inner.into_iter().chain(tokens).collect();
        let sig = syn::parse2::<Head>(head.clone()).ok()?.sig;
        Some(Func { sig, body, head })
    }

    /// The fn as written, with `body` in place of its own.
    pub(crate) fn with_body(&self, body: TokenStream) -> TokenStream {
        let head = &self.head;
        quote!(#head { #body })
    }
}

/// The body's inner attributes (`#![allow(…)]` at its start), as outer attributes of the fn,
/// and the body without them. They mean the same there (an inner attribute of a fn's body
/// is the fn's), and the body can then go where rustc takes no inner attribute: a closure,
/// an `async` block, a `let`'s value.
fn hoist_inner_attributes(body: Group) -> (Vec<TokenTree>, Group) {
    let tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut outer = Vec::new();
    let mut rest = tokens.as_slice();
    while let [
        TokenTree::Punct(hash),
        TokenTree::Punct(bang),
        TokenTree::Group(attr),
        tail @ ..,
    ] = rest
    {
        if hash.as_char() != '#' || bang.as_char() != '!' || attr.delimiter() != Delimiter::Bracket
        {
            break;
        }
        outer.extend([
            TokenTree::Punct(hash.clone()),
            TokenTree::Group(attr.clone()),
        ]);
        rest = tail;
    }
    if outer.is_empty() {
        return (outer, body);
    }
    let mut stripped = Group::new(Delimiter::Brace, rest.iter().cloned().collect());
    stripped.set_span(body.span());
    (outer, stripped)
}
