//! Which expansion an annotated fn gets, from its return type, whether it is `async`, and a
//! few tokens of the body; the body itself is read only where its exits are rewritten
//! ([`exits`](crate::attr::exits)).
//!
//! The body stays where it was written unless that is impossible: it is wrapped (a closure,
//! an `async` block) only when its value must be looked at (it might be an `Err`, or it is
//! an `async fn` that may end early) and its exits cannot be rewritten. In place is both
//! closer to the code as written and much cheaper to compile.

use proc_macro2::{TokenStream, TokenTree};
use syn::{GenericParam, Generics, ReturnType, Type};

use crate::attr::exits::{self, Question};
use crate::attr::func::Func;
use crate::attr::options::Options;

/// How the body is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Where it was written, after a guard that ends the call when dropped: a fn whose value
    /// cannot be an `Err` but whose body may end early (`return`, `?`), or whose return type
    /// cannot be named (`impl Trait`, `!`).
    InPlace,
    /// Where it was written, its value kept and the call ended after it: a body that cannot
    /// end early (no `return`, no `?`, no macro that might hide one), or whose exits were
    /// rewritten as breaks out of it (`labeled`), so reaching its end is completing. Its
    /// value is looked at if it `may_err`. Cheaper to compile than a guard: only a panic
    /// runs the end out of line.
    Inline { may_err: bool, labeled: bool },
    /// As a closure called once (an `async move` block awaited once), so that `return` and
    /// `?` end the body and its value can be looked at: where the exits cannot be rewritten.
    Wrapped,
    /// Once per attempt (`retries`), or after a cache lookup (`cache`).
    Options,
}

impl Shape {
    /// How `func` runs, and for `Inline` with `labeled`, the body as a labeled block with its
    /// exits rewritten (`p` is the runtime's `__private`, which the rewritten `?` calls).
    pub(crate) fn of(
        func: &Func,
        options: &Options,
        p: &TokenStream,
    ) -> (Shape, Option<TokenStream>) {
        if options.retries.is_some() || options.cache.is_some() {
            return (Shape::Options, None);
        }
        let (output, unnameable) = match &func.sig.output {
            ReturnType::Default => (None, false),
            ReturnType::Type(_, ty) => (
                Some(&**ty),
                matches!(**ty, Type::Never(_)) || mentions_impl(ty),
            ),
        };
        let cannot_err = output.is_none_or(|ty| cannot_be_err(ty, &func.sig.generics));
        let is_async = func.sig.asyncness.is_some();
        let inline = |labeled| Shape::Inline {
            may_err: !cannot_err,
            labeled,
        };
        if unnameable && (is_async || cannot_err) {
            return (Shape::InPlace, None);
        }
        if !may_end_early(func.body.stream()) && !unnameable {
            return (inline(false), None);
        }
        // A guard is cheaper than reading the body, where it can tell how the call ended.
        if cannot_err && !is_async {
            return (Shape::InPlace, None);
        }
        if !unnameable {
            let question = Question::of(&func.sig.output);
            if let Some(kept) = exits::rewrite(&func.body, question, p) {
                return (inline(kept.is_some()), kept);
            }
        }
        (Shape::Wrapped, None)
    }
}

/// Whether a return type, as written, can only be something other than a `Result` (then the
/// call's outcome is ok or a panic, whatever the value). Unknown names count as "might be":
/// any of them could be an alias of `Result`.
fn cannot_be_err(ty: &Type, generics: &Generics) -> bool {
    match ty {
        Type::Never(_)
        | Type::ImplTrait(_)
        | Type::Reference(_)
        | Type::Ptr(_)
        | Type::Slice(_)
        | Type::Array(_)
        | Type::Tuple(_)
        | Type::BareFn(_)
        | Type::TraitObject(_) => true,
        Type::Paren(p) => cannot_be_err(&p.elem, generics),
        Type::Group(g) => cannot_be_err(&g.elem, generics),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            let single = p.path.segments.len() == 1 && last.arguments.is_empty();
            // A parameter of the fn: a generic return value is never inspected anyway.
            let param = single
                && generics
                    .params
                    .iter()
                    .any(|g| matches!(g, GenericParam::Type(t) if t.ident == name));
            param
                || (single && PRIMITIVES.contains(&name.as_str()))
                || CONTAINERS.contains(&name.as_str())
        }
        _ => false,
    }
}

const PRIMITIVES: [&str; 17] = [
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64",
];

/// Standard types that are never a `Result`, under any path.
const CONTAINERS: [&str; 14] = [
    "String", "Vec", "Option", "Box", "Rc", "Arc", "Cow", "HashMap", "BTreeMap", "HashSet",
    "BTreeSet", "VecDeque", "PathBuf", "Duration",
];

/// Macros of the standard library that never `return` from the fn they are used in.
pub(crate) const PLAIN_MACROS: [&str; 25] = [
    "format",
    "format_args",
    "vec",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "matches",
    "concat",
    "stringify",
    "dbg",
    "line",
    "module_path",
];

/// Whether the body might end before its last expression: a `return`, a `?`, or a macro
/// other than the plain ones of the standard library (`bail!` hides a `return`).
pub(crate) fn may_end_early(body: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = body.into_iter().collect();
    tokens.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Ident(id) if id == "return" => true,
        // A macro call is `name ! (…)`; `a != b` is a comparison, not a call of `a!`. A
        // qualified one (`m::write!`) is not the standard library's, whatever its name.
        TokenTree::Ident(id) => {
            matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                && matches!(tokens.get(i + 2), Some(TokenTree::Group(_)))
                && (!PLAIN_MACROS.contains(&id.to_string().as_str())
                    || matches!(i.checked_sub(1).and_then(|j| tokens.get(j)),
                        Some(TokenTree::Punct(p)) if p.as_char() == ':'))
        }
        TokenTree::Punct(p) => p.as_char() == '?',
        TokenTree::Group(g) => may_end_early(g.stream()),
        TokenTree::Literal(_) => false,
    })
}

/// Whether a type mentions `impl Trait`, which cannot be named in the generated code.
pub(crate) fn mentions_impl(ty: &impl quote::ToTokens) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn shape(item: &str) -> Shape {
        let func = Func::parse(item.parse().unwrap()).unwrap();
        Shape::of(&func, &Options::default(), &quote!(p)).0
    }

    #[test]
    fn only_what_cannot_stay_in_place_is_wrapped() {
        for item in [
            "fn f() -> Option<u8> { let x = g()?; Some(x) }",
            "fn f() -> std::string::String { return String::new(); }",
            "fn f() -> impl Fn(&u8) -> u8 { |x| *x }",
            "fn f() -> ! { loop {} }",
            "fn f() -> u8 { bail!(1) }",
            "async fn f() -> impl Future<Output = u8> { async { 1 } }",
        ] {
            assert_eq!(shape(item), Shape::InPlace, "{item}");
        }
        let (kept, looked_at) = (
            Shape::Inline {
                may_err: false,
                labeled: false,
            },
            Shape::Inline {
                may_err: true,
                labeled: false,
            },
        );
        for (item, expected) in [
            ("fn f() {}", kept),
            ("fn f(a: u32) -> u32 { a }", kept),
            ("fn f(&mut self) -> &mut u32 { &mut self.0 }", kept),
            ("fn f<T>(t: T) -> T { t }", kept),
            ("fn f() -> (u8, Result<u8, E>) { todo!() }", kept),
            ("fn f(a: u8, b: u8) -> bool { a != b }", kept),
            ("async fn f() -> u32 { g().await + 1 }", kept),
            ("async fn f() { println!(\"{}\", 1); }", kept),
            ("fn f() -> Result<u8, E> { Ok(1) }", looked_at),
            ("fn f() -> Self { Self }", looked_at),
            ("async fn f() -> Result<u8, E> { Ok(1) }", looked_at),
            // A `?` only inside a closure is the closure's.
            ("fn f() -> Result<u8, E> { g(|x| x?) }", looked_at),
        ] {
            assert_eq!(shape(item), expected, "{item}");
        }
        for (item, may_err) in [
            ("fn f() -> io::Result<()> { g()?; Ok(()) }", true),
            (
                "fn f() -> Result<u8, E> { if g() { return Ok(1); } Ok(2) }",
                true,
            ),
            (
                "fn f() -> Fallible<u8> { if g() { return Ok(1); } Ok(2) }",
                true,
            ),
            ("async fn f() -> u32 { if g() { return 1; } 2 }", false),
            ("async fn f() -> Option<u32> { Some(g()?) }", false),
            ("async fn f() -> Result<u8, E> { Ok(g().await?) }", true),
        ] {
            let expected = Shape::Inline {
                may_err,
                labeled: true,
            };
            assert_eq!(shape(item), expected, "{item}");
        }
        for item in [
            "fn f() -> Fallible<u8> { Ok(g()?) }",
            "fn f() -> Result<u8, E> { bail!(1) }",
            "fn f() -> Result<u8, E> { m::write!(1); Ok(1) }",
            "fn f() -> Result<u8, E> { println!(\"{}\", g()?); Ok(1) }",
            "fn f() -> Result<impl Fn(), E> { g()?; Ok(|| ()) }",
            "async fn f() -> u32 { bail!(1) }",
            "async fn f() -> Self { Self::new(g()?) }",
        ] {
            assert_eq!(shape(item), Shape::Wrapped, "{item}");
        }
    }
}
