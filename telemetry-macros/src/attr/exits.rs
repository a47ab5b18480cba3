//! A body kept where it was written, with its early exits made visible: each `return` of the
//! fn's own body becomes a `break` out of a labeled block, and each `?` a `match` that breaks
//! out with what `?` would have returned. The value can then be looked at after the block,
//! without the closure or `async` block that wrapping the body takes, which costs rustc far
//! more to check (docs/performance.md, "Compile time").
//!
//! Only the body is read here, and only for the fns that need it (ones that may end early and
//! whose value is looked at). Refused, and the body wrapped as before, whenever an exit could
//! escape the rewrite: a macro other than the plain ones of the standard library called by its
//! bare name (`bail!` hides a `return`), a plain macro whose arguments hold a `return` or `?`,
//! a `?` in a fn whose return type is not written as a `Result` or an `Option`, syntax syn
//! cannot read.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, ExprBreak, Item, Lifetime, Macro, ReturnType, Type};

use crate::attr::shape::{PLAIN_MACROS, may_end_early};

/// What a `?` of the body hands on, from the fn's return type as written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Question {
    /// `…Result<…>`: a `Result`'s error, converted with `From` (on stable Rust, `?` works in
    /// nothing else named `Result`).
    Result,
    /// `…Option<…>`: `None`.
    Option,
    /// Anything else (an alias, `Self`): a `?` is not rewritten.
    Unknown,
}

impl Question {
    pub(crate) fn of(output: &ReturnType) -> Question {
        let mut ty = match output {
            ReturnType::Default => return Question::Unknown,
            ReturnType::Type(_, ty) => &**ty,
        };
        while let Type::Paren(syn::TypeParen { elem, .. })
        | Type::Group(syn::TypeGroup { elem, .. }) = ty
        {
            ty = elem;
        }
        let Type::Path(path) = ty else {
            return Question::Unknown;
        };
        match path.path.segments.last() {
            Some(last) if path.qself.is_none() && last.ident == "Result" => Question::Result,
            Some(last) if path.qself.is_none() && last.ident == "Option" => Question::Option,
            _ => Question::Unknown,
        }
    }
}

/// `body` as a labeled block with its exits rewritten as breaks out of it, or `None` inside
/// when it has no exit of its own (the body then stays as written); `None` where the rewrite
/// is refused.
pub(crate) fn rewrite(
    body: &Group,
    question: Question,
    p: &TokenStream,
) -> Option<Option<TokenStream>> {
    let mut block: Block = syn::parse2(body.to_token_stream()).ok()?;
    // Spanned as the body: a block takes the edition of its span, and the host's edition
    // decides when the temporaries of the body's last expression are dropped (before its
    // locals from Rust 2024 on, after them before).
    let label = Lifetime::new("'__telemetry_body", body.span());
    let mut exits = Exits {
        label: &label,
        p,
        question,
        found: false,
        refused: false,
    };
    for stmt in &mut block.stmts {
        exits.visit_stmt_mut(stmt);
    }
    if exits.refused {
        return None;
    }
    if !exits.found {
        return Some(None);
    }
    let stmts = &block.stmts;
    let mut group = Group::new(Delimiter::Brace, quote!(#(#stmts)*));
    group.set_span(body.span());
    Some(Some(quote!(#label: #group)))
}

struct Exits<'a> {
    label: &'a Lifetime,
    p: &'a TokenStream,
    question: Question,
    found: bool,
    refused: bool,
}

impl VisitMut for Exits<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if self.refused {
            return;
        }
        match expr {
            Expr::Return(ret) => {
                if let Some(value) = &mut ret.expr {
                    self.visit_expr_mut(value);
                    // `return (x)` is written so; `break 'l (x)` would be linted as ours.
                    unparenthesized(value);
                }
                let span = generated(ret.return_token.span);
                *expr = Expr::Break(ExprBreak {
                    attrs: std::mem::take(&mut ret.attrs),
                    break_token: syn::Token![break](span),
                    label: Some(self.label.clone()),
                    expr: ret.expr.take(),
                });
                self.found = true;
            }
            Expr::Try(question) => {
                self.visit_expr_mut(&mut question.expr);
                // `(*r)?` is written so; in our parentheses the host's would be linted.
                unparenthesized(&mut question.expr);
                let (inner, label, p) = (&question.expr, self.label, self.p);
                let span = generated(question.question_token.span);
                // Where `?` itself converts the error: a `#[track_caller]` `From` (an error
                // that records where it was made) sees the host's line, as with `?`.
                let at = syn::spanned::Spanned::span(&**inner);
                let convert = quote_spanned!(at=> ::core::convert::From::from(__telemetry_error));
                let tokens = match self.question {
                    Question::Result => quote_spanned! {span=>
                        match #p::Question::branch(#inner) {
                            ::core::result::Result::Ok(__telemetry_value) => __telemetry_value,
                            // Spanned as the host's code, the conversion is linted as such
                            // (`useless_conversion` where `?` converts nothing).
                            #[allow(clippy::useless_conversion)]
                            ::core::result::Result::Err(__telemetry_error) => break #label
                                ::core::result::Result::Err(#convert),
                        }
                    },
                    Question::Option => quote_spanned! {span=>
                        match (#inner) {
                            ::core::option::Option::Some(__telemetry_value) => __telemetry_value,
                            ::core::option::Option::None => break #label ::core::option::Option::None,
                        }
                    },
                    Question::Unknown => {
                        self.refused = true;
                        return;
                    }
                };
                // In parentheses, so that what follows the `?` (`+ 1`, `as u64`, `[0]`, a
                // call) still applies to its value wherever it stands, with the attributes
                // written on it (`#[cfg(…)] check()?;`).
                *expr = Expr::Paren(syn::ExprParen {
                    attrs: std::mem::take(&mut question.attrs),
                    paren_token: syn::token::Paren(span),
                    expr: Box::new(Expr::Verbatim(tokens)),
                });
                self.found = true;
            }
            // Their own `return` and `?` end them, not the fn.
            Expr::Closure(_) | Expr::Async(_) | Expr::TryBlock(_) | Expr::Const(_) => {}
            // Syntax syn does not model: it might hold an exit.
            Expr::Verbatim(_) => self.refused = true,
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    /// A nested fn, impl or module: its exits are its own.
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        let plain = mac
            .path
            .get_ident()
            .is_some_and(|name| PLAIN_MACROS.contains(&name.to_string().as_str()));
        if !plain || may_end_early(mac.tokens.clone()) {
            self.refused = true;
        }
    }
}

/// `expr` without the parentheses around it, where they carry no attribute.
fn unparenthesized(expr: &mut Expr) {
    while let Expr::Paren(paren) = expr {
        if !paren.attrs.is_empty() {
            return;
        }
        let inner = std::mem::replace(&mut *paren.expr, Expr::Verbatim(TokenStream::new()));
        *expr = inner;
    }
}

/// Where the host wrote it, for messages, but from the expansion, so lints that look for the
/// host's own code (clippy's `question_mark`) leave it alone.
fn generated(at: Span) -> Span {
    Span::call_site().located_at(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(body: &str, ret: &str) -> Option<String> {
        let Some(proc_macro2::TokenTree::Group(body)) =
            body.parse::<TokenStream>().unwrap().into_iter().next()
        else {
            panic!("a body is a group");
        };
        let output: ReturnType = syn::parse_str(ret).unwrap();
        rewrite(&body, Question::of(&output), &quote!(p)).map(|kept| match kept {
            Some(labeled) => format!("true {labeled}"),
            None => format!("false {body}"),
        })
    }

    #[test]
    fn the_fns_own_exits_become_breaks() {
        let out = rewritten(
            "{ let n = parse(t)?; if n > 3 { return Err(E); } Ok(n) }",
            "-> io::Result<u8>",
        )
        .unwrap();
        assert!(out.starts_with("true "), "{out}");
        assert!(!out.contains("return") && !out.contains('?'), "{out}");
        assert!(out.contains("break '__telemetry_body Err (E)"), "{out}");
        assert!(out.contains("p :: Question :: branch (parse (t))"), "{out}");
    }

    #[test]
    fn exits_of_closures_async_blocks_and_items_are_theirs() {
        let out = rewritten(
            "{ let f = |x: Option<u8>| x?; let g = async { return 1; }; fn h() -> Option<u8> { None? } Ok(f(None)) }",
            "-> Result<Option<u8>, E>",
        )
        .unwrap();
        assert!(out.starts_with("false "), "{out}");
        assert!(
            out.contains("x ?") && out.contains("return 1") && out.contains("None ?"),
            "{out}"
        );
    }

    #[test]
    fn an_exit_that_could_escape_refuses() {
        for (body, ret) in [
            ("{ bail!(\"no\"); Ok(()) }", "-> Result<(), E>"),
            ("{ println!(\"{}\", f()?); Ok(()) }", "-> Result<(), E>"),
            ("{ Ok(std::println!(\"x\")) }", "-> Result<(), E>"),
            ("{ let x = f()?; Ok(x) }", "-> Fallible<u8>"),
            ("{ let x = f()?; x }", "-> Self"),
        ] {
            assert_eq!(rewritten(body, ret), None, "{body} {ret}");
        }
    }

    #[test]
    fn a_return_needs_no_known_type_and_option_takes_its_own_question() {
        let out = rewritten(
            "{ if a { return Self::new(); } Self::default() }",
            "-> Self",
        )
        .unwrap();
        assert!(
            out.contains("break '__telemetry_body Self :: new ()"),
            "{out}"
        );
        let out = rewritten("{ Some(g()? + 1) }", "-> Option<u8>").unwrap();
        assert!(out.contains("None => break '__telemetry_body"), "{out}");
        let out = rewritten("{ write!(f, \"{}\", x)?; Ok(()) }", "-> fmt::Result").unwrap();
        assert!(out.starts_with("true "), "{out}");
    }
}
