//! The names the derives send: an item's name in snake case, or the one given, checked
//! against the rule of `telemetry::wire::Name` when the macro runs.

use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use crate::common::Errors;

/// The rule of `telemetry::wire::Name`, for error messages.
pub(crate) const NAME_RULE: &str = "names sent by telemetry are 1 to 32 bytes of `a-z`, `0-9`, `_` and `-`, starting with a letter";

/// Why `name` fails the rule of `telemetry::wire::Name`, if it does.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Some("it is empty".into());
    }
    if bytes.len() > 32 {
        return Some(format!("it is {} bytes long", bytes.len()));
    }
    let first = name.chars().next().unwrap_or_default();
    if !first.is_ascii_lowercase() {
        return Some(format!("it starts with `{first}`, not a lowercase letter"));
    }
    name.chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
        .map(|c| format!("it contains `{c}`"))
}

/// `DeployFinished` → `deploy_finished`, `HTTPRetry` → `http_retry`, `Http2Upgrade` →
/// `http2_upgrade`: a word starts at an uppercase letter that follows a lowercase letter or
/// a digit, or that ends a run of capitals (`HTTPRetry`: the `R`).
pub(crate) fn snake_case(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let starts_word = prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
            if starts_word {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name sent for an item: the `name` option if given, else the identifier in snake case.
/// A name that breaks the rule is reported on the option's string or on the identifier.
pub(crate) fn wire_name(
    ident: &Ident,
    option: Option<&LitStr>,
    what: &str,
    fix: &str,
    errors: &mut Errors,
) -> String {
    match option {
        Some(lit) => {
            let name = lit.value();
            if let Some(problem) = name_problem(&name) {
                errors.at(
                    lit.span(),
                    format_args!("{what} name `{name}` cannot be sent: {problem}; {NAME_RULE}"),
                );
            }
            name
        }
        None => {
            let name = snake_case(&ident.unraw().to_string());
            if let Some(problem) = name_problem(&name) {
                errors.at(
                    ident.span(),
                    format_args!(
                        "{what} name `{name}` (the {what}'s name in snake case) cannot be sent: \
                         {problem}; {NAME_RULE}. {fix}"
                    ),
                );
            }
            name
        }
    }
}
