//! `#[derive(Event)]` and `#[derive(EventValue)]`: parse the item into a small model, check
//! it, then generate the impls.
//!
//! What a field may hold is enforced twice. The derive names the usual free-text types
//! (`String`, `&str`, `PathBuf`, `f64`, `Vec<_>`, …) and says why each is refused, spanned on
//! the type. Every other type goes through `<Ty as EventField>::field_value`, so a type without
//! an `EventField` impl (a user struct, an alias of `String`) fails on the trait's
//! `#[diagnostic::on_unimplemented]` message, also spanned on the field's type.
//!
//! On error only the errors and a stub impl are emitted: the stub keeps uses of the type
//! (`telemetry::record(&event)`) from adding follow-on errors to the real ones.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, ExprLit, Fields, GenericArgument, Ident, Lit, LitStr, Meta,
    Path, PathArguments, Token, Type,
};

use crate::attr::{Errors, set_once};

/// The rule of `telemetry::Name`, for error messages.
const NAME_RULE: &str = "names sent by telemetry are 1 to 32 bytes of `a-z`, `0-9`, `_` and `-`, starting with a letter";

/// What to suggest instead of a free-text type.
const INSTEAD: &str =
    "use a `bool`, an integer (sent as a range), or an enum deriving `telemetry::EventValue`";

/// `#[derive(Event)]`.
pub(crate) fn derive_event(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let event = EventItem::parse(&input, &mut errors);
    match (errors.into_result(), event) {
        (Ok(()), Some(event)) => event.expand(),
        (result, event) => {
            let krate = event.map_or_else(default_crate, |e| e.krate);
            let mut out = event_stub(&input, &krate);
            if let Err(e) = result {
                out.extend(e.to_compile_error());
            }
            out
        }
    }
}

/// `#[derive(EventValue)]`.
pub(crate) fn derive_event_value(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let value = ValueItem::parse(&input, &mut errors);
    match (errors.into_result(), value) {
        (Ok(()), Some(value)) => value.expand(),
        (result, value) => {
            let krate = value.map_or_else(default_crate, |v| v.krate);
            let mut out = value_stub(&input, &krate);
            if let Err(e) = result {
                out.extend(e.to_compile_error());
            }
            out
        }
    }
}

fn default_crate() -> Path {
    syn::parse_quote!(::telemetry)
}

// ---------------------------------------------------------------------------------------
// Options: `#[telemetry(name = "...", crate = path)]`

/// Where a `#[telemetry(...)]` attribute stands, which decides the options it takes.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// On a struct deriving `Event`: `name`, `crate`.
    Event,
    /// On an enum deriving `EventValue`: `crate`.
    ValueEnum,
    /// On a variant of such an enum: `name`.
    Variant,
}

impl Place {
    fn known(self) -> &'static str {
        match self {
            Place::Event => "one of `name`, `crate`",
            Place::ValueEnum => "`crate` (`name` goes on a variant)",
            Place::Variant => "`name`",
        }
    }

    fn allows(self, option: &str) -> bool {
        match self {
            Place::Event => matches!(option, "name" | "crate"),
            Place::ValueEnum => option == "crate",
            Place::Variant => option == "name",
        }
    }
}

#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    krate: Option<Path>,
}

impl Options {
    /// Reads every `#[telemetry(...)]` among `attrs`; what cannot be understood is reported
    /// and left out.
    fn parse(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("telemetry")) {
            let metas = match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            {
                Ok(metas) => metas,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for meta in &metas {
                options.parse_one(meta, place, errors);
            }
        }
        options
    }

    fn parse_one(&mut self, meta: &Meta, place: Place, errors: &mut Errors) {
        let path = meta.path();
        let span = path.span();
        let option = path.get_ident().map(Ident::to_string).unwrap_or_default();
        if !place.allows(&option) {
            let shown = path.to_token_stream().to_string().replace(' ', "");
            errors.at(
                span,
                format_args!("unknown option `{shown}`; expected {}", place.known()),
            );
            return;
        }
        let value = match meta {
            Meta::NameValue(nv) => Some(&nv.value),
            _ => None,
        };
        match option.as_str() {
            "name" => match value {
                Some(Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                })) => set_once(&mut self.name, lit.clone(), "name", span, errors),
                _ => errors.at(
                    value.map_or(meta.span(), Spanned::span),
                    "`name` takes a string, like `name = \"deploy_finished\"`",
                ),
            },
            _ => match value {
                Some(Expr::Path(p)) if p.qself.is_none() && p.attrs.is_empty() => {
                    set_once(&mut self.krate, p.path.clone(), "crate", span, errors)
                }
                _ => errors.at(
                    value.map_or(meta.span(), Spanned::span),
                    "`crate` takes a path to the telemetry facade, like `crate = my_sdk::telemetry`",
                ),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Names

/// Why `name` fails the rule of `telemetry::Name`, if it does.
fn name_problem(name: &str) -> Option<String> {
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
fn snake_case(ident: &str) -> String {
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
fn wire_name(
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

// ---------------------------------------------------------------------------------------
// Field types

/// Why a field type is refused by name.
#[derive(Clone, Copy)]
enum Refused {
    Text,
    Char,
    FilePath,
    OsText,
    Float,
    Collection,
    Address,
    Url,
    Moment,
    Duration,
}

impl Refused {
    fn of(name: &str) -> Option<Refused> {
        Some(match name {
            "String" | "str" | "CString" | "CStr" => Refused::Text,
            "char" => Refused::Char,
            "PathBuf" | "Path" => Refused::FilePath,
            "OsString" | "OsStr" => Refused::OsText,
            "f32" | "f64" => Refused::Float,
            "Vec" | "VecDeque" | "LinkedList" | "BinaryHeap" | "HashMap" | "BTreeMap"
            | "HashSet" | "BTreeSet" => Refused::Collection,
            "IpAddr" | "Ipv4Addr" | "Ipv6Addr" | "SocketAddr" | "SocketAddrV4" | "SocketAddrV6" => {
                Refused::Address
            }
            "Url" | "Uri" => Refused::Url,
            "SystemTime" | "Instant" => Refused::Moment,
            "Duration" => Refused::Duration,
            _ => return None,
        })
    }

    /// Why, then what to use instead.
    fn explain(self) -> String {
        match self {
            Refused::Text => format!(
                "it can carry free text (a name, a path, a message), which telemetry must never send; {INSTEAD}"
            ),
            Refused::Char => format!(
                "a `char` is a piece of text, and chars spell out names and messages, which telemetry must never send; {INSTEAD}"
            ),
            Refused::FilePath => format!(
                "a file path can name the user, their home directory or their project, which telemetry must never send; {INSTEAD} (whether a file was given, what kind of file it is)"
            ),
            Refused::OsText => format!(
                "it is text from the operating system (a file name, an argument, an environment value), which telemetry must never send; {INSTEAD}"
            ),
            Refused::Float => "an exact measurement can single out a user or their data; use an integer instead, which is sent as a range such as \"6-10\"".to_string(),
            Refused::Collection => "a collection holds any number of values of any kind, so it can carry free text or identify a user; send its length (an integer, sent as a range) or a `bool` instead".to_string(),
            Refused::Address => format!(
                "a network address identifies a machine and often a person, which telemetry must never send; {INSTEAD} (whether the address is local, which protocol was used)"
            ),
            Refused::Url => format!(
                "a URL can name a host, a user, a path and query values, which telemetry must never send; {INSTEAD} (the scheme, whether it is local)"
            ),
            Refused::Moment => "an exact point in time can single out a user; every event already carries the hour it happened, so leave it out".to_string(),
            Refused::Duration => "an exact duration can single out a user or a run; send whole seconds or milliseconds as an integer, which is sent as a range such as \"11-100\"".to_string(),
        }
    }
}

/// The free-text type `ty` is or holds (through references, `Option`, `Box`, `Rc`, `Arc`,
/// `Cow`, parentheses and tuples), as an error spanned on it.
fn refused_type(ty: &Type) -> Option<syn::Error> {
    let refuse = |tokens: &dyn ToTokens, shown: &str, why: Refused| {
        Some(syn::Error::new_spanned(
            tokens,
            format!(
                "{shown} cannot be a field of a telemetry event: {}",
                why.explain()
            ),
        ))
    };
    match ty {
        Type::Reference(r) if is_named(&r.elem, "str") => refuse(ty, "`&str`", Refused::Text),
        Type::Reference(r) => refused_type(&r.elem),
        Type::Paren(p) => refused_type(&p.elem),
        Type::Group(g) => refused_type(&g.elem),
        Type::Tuple(t) => t.elems.iter().find_map(refused_type),
        Type::Slice(_) => refuse(ty, "a slice", Refused::Collection),
        Type::Array(_) => refuse(ty, "an array", Refused::Collection),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            let inner = first_type_argument(&last.arguments);
            match (name.as_str(), inner) {
                ("Option", Some(inner)) => refused_type(inner),
                ("Box" | "Rc" | "Arc" | "Cow", Some(inner)) if is_named(inner, "str") => {
                    refuse(ty, &format!("`{name}<str>`"), Refused::Text)
                }
                ("Box" | "Rc" | "Arc" | "Cow", Some(inner)) => refused_type(inner),
                _ => refuse(ty, &format!("`{name}`"), Refused::of(&name)?),
            }
        }
        _ => None,
    }
}

/// Whether `ty` is a plain path whose last segment is `name` (`str`, `std::primitive::str`).
fn is_named(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == name)
        }
        Type::Paren(p) => is_named(&p.elem, name),
        Type::Group(g) => is_named(&g.elem, name),
        _ => false,
    }
}

fn first_type_argument(arguments: &PathArguments) -> Option<&Type> {
    match arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// `#[derive(Event)]`

struct EventItem {
    ident: Ident,
    krate: Path,
    name: String,
    fields: Vec<EventField>,
}

struct EventField {
    member: Ident,
    name: String,
    ty: Type,
}

impl EventItem {
    /// The model, with every problem reported to `errors`; `None` only if the item is not a
    /// struct at all.
    fn parse(input: &DeriveInput, errors: &mut Errors) -> Option<EventItem> {
        let options = Options::parse(&input.attrs, Place::Event, errors);
        let krate = options.krate.unwrap_or_else(default_crate);
        let data = match &input.data {
            Data::Struct(data) => data,
            Data::Enum(data) => {
                errors.at(
                    data.enum_token.span,
                    "`#[derive(telemetry::Event)]` needs a struct with named fields, not an enum: \
                     an event is one struct whose fields are sent by name. To send one of \
                     several choices as a field, derive `telemetry::EventValue` on the enum \
                     and make it a field of the event",
                );
                return None;
            }
            Data::Union(data) => {
                errors.at(
                    data.union_token.span,
                    "`#[derive(telemetry::Event)]` needs a struct with named fields, not a union",
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &input.generics,
                "a telemetry event cannot have generic parameters or lifetimes: the derive checks \
                 each field's type as written, and a type parameter hides what would be sent (it \
                 could be `String`), while a borrowed field is usually text; use concrete, owned \
                 types",
            ));
        }
        let name = wire_name(
            &input.ident,
            options.name.as_ref(),
            "event",
            "Rename the type, or set the name with `#[telemetry(name = \"...\")]`",
            errors,
        );
        let mut fields = Vec::new();
        match &data.fields {
            Fields::Named(named) => {
                for field in &named.named {
                    fields.extend(EventField::parse(field, errors));
                }
            }
            Fields::Unnamed(unnamed) => errors.at(
                unnamed.paren_token.span.join(),
                format_args!(
                    "event fields need names: each field is sent under its name, so write \
                     `struct {} {{ name: Type, ... }}`",
                    input.ident
                ),
            ),
            // An event with no fields: that it happened is the whole message.
            Fields::Unit => {}
        }
        Some(EventItem {
            ident: input.ident.clone(),
            krate,
            name,
            fields,
        })
    }

    fn expand(&self) -> TokenStream {
        let EventItem {
            ident,
            krate,
            name,
            fields,
        } = self;
        let fields = fields.iter().map(|field| {
            let EventField { member, name, ty } = field;
            // The type keeps its own tokens, so a type without an `EventField` impl is
            // reported on the field's type with the trait's message.
            quote!((#name, <#ty as #krate::EventField>::field_value(&self.#member)))
        });
        quote! {
            #[automatically_derived]
            impl #krate::__private::SealedEvent for #ident {}

            #[automatically_derived]
            impl #krate::Event for #ident {
                const NAME: &'static str = #name;

                fn fields(&self) -> ::std::vec::Vec<(&'static str, #krate::FieldValue)> {
                    ::std::vec![#(#fields),*]
                }
            }
        }
    }
}

impl EventField {
    fn parse(field: &syn::Field, errors: &mut Errors) -> Option<EventField> {
        for attr in field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("telemetry"))
        {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[telemetry(...)]` takes no options on a field: a field is sent under its own \
                 name, so rename the field to change it",
            ));
        }
        let member = field.ident.clone()?;
        let name = member.unraw().to_string();
        if let Some(problem) = name_problem(&name) {
            errors.at(
                member.span(),
                format_args!(
                    "field name `{name}` cannot be sent: {problem}; {NAME_RULE}. Rename the field"
                ),
            );
        }
        if let Some(error) = refused_type(&field.ty) {
            errors.push(error);
        }
        Some(EventField {
            member,
            name,
            ty: field.ty.clone(),
        })
    }
}

/// What is emitted when the derive failed: the impl, with no body to check.
fn event_stub(input: &DeriveInput, krate: &Path) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::SealedEvent for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::Event for #ident #ty_generics #where_clause {
            const NAME: &'static str = "invalid";

            fn fields(&self) -> ::std::vec::Vec<(&'static str, #krate::FieldValue)> {
                ::core::unreachable!()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// `#[derive(EventValue)]`

struct ValueItem {
    input: DeriveInput,
    krate: Path,
    variants: Vec<(Ident, String)>,
}

impl ValueItem {
    fn parse(input: &DeriveInput, errors: &mut Errors) -> Option<ValueItem> {
        let options = Options::parse(&input.attrs, Place::ValueEnum, errors);
        let krate = options.krate.unwrap_or_else(default_crate);
        let not_an_enum = |span: Span, kind: &str, errors: &mut Errors| {
            errors.at(
                span,
                format_args!(
                    "`#[derive(telemetry::EventValue)]` needs an enum whose variants have no \
                     fields, each sent by its name, not a {kind}. For a {kind} of fields sent \
                     as an event, derive `telemetry::Event`"
                ),
            )
        };
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(data) => {
                not_an_enum(data.struct_token.span, "struct", errors);
                return None;
            }
            Data::Union(data) => {
                not_an_enum(data.union_token.span, "union", errors);
                return None;
            }
        };
        let mut variants: Vec<(Ident, String)> = Vec::new();
        for variant in &data.variants {
            let options = Options::parse(&variant.attrs, Place::Variant, errors);
            if !matches!(variant.fields, Fields::Unit) {
                errors.push(syn::Error::new_spanned(
                    &variant.fields,
                    format_args!(
                        "variant `{}` has fields, which could carry any value, free text \
                         included: `telemetry::EventValue` sends only a variant's name. Remove \
                         the fields, or add one variant per value",
                        variant.ident
                    ),
                ));
            }
            let name = wire_name(
                &variant.ident,
                options.name.as_ref(),
                "variant",
                "Rename the variant, or set the name with `#[telemetry(name = \"...\")]` on it",
                errors,
            );
            if let Some((other, _)) = variants.iter().find(|(_, n)| *n == name) {
                errors.at(
                    options
                        .name
                        .as_ref()
                        .map_or(variant.ident.span(), LitStr::span),
                    format_args!(
                        "variants `{other}` and `{}` would both be sent as `{name}`; rename one, \
                         or set `#[telemetry(name = \"...\")]` on it",
                        variant.ident
                    ),
                );
            }
            variants.push((variant.ident.clone(), name));
        }
        Some(ValueItem {
            input: input.clone(),
            krate,
            variants,
        })
    }

    fn expand(&self) -> TokenStream {
        let ValueItem {
            input,
            krate,
            variants,
        } = self;
        let ident = &input.ident;
        let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
        let names: Vec<&String> = variants.iter().map(|(_, name)| name).collect();
        let count = Literal::usize_unsuffixed(names.len());
        let arms = variants.iter().enumerate().map(|(i, (variant, _))| {
            let i = Literal::usize_unsuffixed(i);
            quote!(Self::#variant => __TELEMETRY_NAMES[#i])
        });
        // The names are checked again by the compiler: a `const` item is evaluated even by
        // `cargo check`, and one that fails the rule stops the build.
        let (checked_names, value) = if variants.is_empty() {
            // An enum without variants has no value to send.
            (quote!(), quote!(match *self {}))
        } else {
            let checked = quote! {
                const fn __telemetry_name(name: &'static str) -> #krate::Name {
                    match #krate::Name::new(name) {
                        ::core::option::Option::Some(name) => name,
                        ::core::option::Option::None => ::core::panic!(
                            "not a telemetry name: 1 to 32 of a-z 0-9 _ -, starting with a letter"
                        ),
                    }
                }

                const __TELEMETRY_NAMES: [#krate::Name; #count] = [#(__telemetry_name(#names)),*];
            };
            let value = quote!(#krate::FieldValue::Choice(match *self { #(#arms,)* }));
            (checked, value)
        };
        quote! {
            const _: () = {
                #checked_names

                #[automatically_derived]
                impl #impl_generics #krate::__private::SealedField for #ident #ty_generics #where_clause {}

                #[automatically_derived]
                impl #impl_generics #krate::EventField for #ident #ty_generics #where_clause {
                    fn field_value(&self) -> #krate::FieldValue {
                        #value
                    }
                }

                #[automatically_derived]
                impl #impl_generics #krate::EventValue for #ident #ty_generics #where_clause {
                    const VARIANTS: &'static [&'static str] = &[#(#names),*];
                }
            };
        }
    }
}

/// What is emitted when the derive failed: both impls, with nothing to check.
fn value_stub(input: &DeriveInput, krate: &Path) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::SealedField for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::EventField for #ident #ty_generics #where_clause {
            fn field_value(&self) -> #krate::FieldValue {
                ::core::unreachable!()
            }
        }

        #[automatically_derived]
        impl #impl_generics #krate::EventValue for #ident #ty_generics #where_clause {
            const VARIANTS: &'static [&'static str] = &[];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_snake_case() {
        for (ident, name) in [
            ("DeployFinished", "deploy_finished"),
            ("HTTPRetry", "http_retry"),
            ("HttpRetry", "http_retry"),
            ("Http2Upgrade", "http2_upgrade"),
            ("IOError", "io_error"),
            ("ABC", "abc"),
            ("V2", "v2"),
            ("Already_Snake", "already_snake"),
            ("lower", "lower"),
            ("BlueGreen", "blue_green"),
        ] {
            assert_eq!(snake_case(ident), name, "{ident}");
        }
    }

    #[test]
    fn names_follow_the_runtime_rule() {
        assert_eq!(name_problem("deploy_finished"), None);
        assert_eq!(name_problem("tokio-2"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("_private").is_some());
        assert!(name_problem("Upper").is_some());
        assert!(name_problem("größe").is_some());
        assert!(name_problem(&"x".repeat(33)).is_some());
        assert_eq!(name_problem(&"x".repeat(32)), None);
    }

    #[test]
    fn free_text_types_are_found_through_wrappers() {
        let refused = |ty: &str| refused_type(&syn::parse_str(ty).unwrap()).is_some();
        for ty in [
            "String",
            "std::string::String",
            "&'a str",
            "Option<&str>",
            "Option<Option<PathBuf>>",
            "Box<str>",
            "std::borrow::Cow<'static, str>",
            "Arc<String>",
            "&[u8]",
            "[u8; 4]",
            "(u8, f64)",
            "HashMap<u8, u8>",
            "std::net::IpAddr",
            "Duration",
            "char",
        ] {
            assert!(refused(ty), "{ty} should be refused");
        }
        for ty in [
            "bool",
            "u32",
            "Option<u64>",
            "telemetry::Version",
            "Strategy",
            "Box<u8>",
        ] {
            assert!(!refused(ty), "{ty} should be left to the trait bound");
        }
    }
}
