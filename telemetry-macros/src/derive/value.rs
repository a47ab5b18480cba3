//! `#[derive(EventValue)]`: a field-less enum becomes a value an event's field may hold,
//! sent as its variant's name.

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Path};

use crate::common::{Errors, default_crate};
use crate::derive::Derive;
use crate::derive::names::wire_name;
use crate::derive::options::{Options, Place};

pub(crate) struct ValueItem {
    input: DeriveInput,
    krate: Path,
    variants: Vec<(Ident, String)>,
}

impl Derive for ValueItem {
    fn krate(&self) -> &Path {
        &self.krate
    }

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

    fn stub(input: &DeriveInput, krate: &Path) -> TokenStream {
        value_stub(input, krate)
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
                const fn __telemetry_name(name: &'static str) -> #krate::wire::Name {
                    match #krate::wire::Name::new(name) {
                        ::core::option::Option::Some(name) => name,
                        ::core::option::Option::None => ::core::panic!(
                            "not a telemetry name: 1 to 32 of a-z 0-9 _ -, starting with a letter"
                        ),
                    }
                }

                const __TELEMETRY_NAMES: [#krate::wire::Name; #count] = [#(__telemetry_name(#names)),*];
            };
            let value = quote!(#krate::wire::FieldValue::Choice(match *self { #(#arms,)* }));
            (checked, value)
        };
        quote! {
            const _: () = {
                #checked_names

                #[automatically_derived]
                impl #impl_generics #krate::__private::SealedField for #ident #ty_generics #where_clause {}

                #[automatically_derived]
                impl #impl_generics #krate::wire::EventField for #ident #ty_generics #where_clause {
                    fn field_value(&self) -> #krate::wire::FieldValue {
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
        impl #impl_generics #krate::wire::EventField for #ident #ty_generics #where_clause {
            fn field_value(&self) -> #krate::wire::FieldValue {
                ::core::unreachable!()
            }
        }

        #[automatically_derived]
        impl #impl_generics #krate::EventValue for #ident #ty_generics #where_clause {
            const VARIANTS: &'static [&'static str] = &[];
        }
    }
}
