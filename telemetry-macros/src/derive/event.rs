//! `#[derive(Event)]`: a struct with named fields becomes a custom event.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::common::{Errors, default_crate};
use crate::derive::Derive;
use crate::derive::fields::refused_type;
use crate::derive::names::{NAME_RULE, name_problem, wire_name};
use crate::derive::options::{Options, Place};

pub(crate) struct EventItem {
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

impl Derive for EventItem {
    fn krate(&self) -> &Path {
        &self.krate
    }

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

    fn stub(input: &DeriveInput, krate: &Path) -> TokenStream {
        event_stub(input, krate)
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
            quote!((#name, <#ty as #krate::wire::EventField>::field_value(&self.#member)))
        });
        quote! {
            #[automatically_derived]
            impl #krate::__private::SealedEvent for #ident {}

            #[automatically_derived]
            impl #krate::Event for #ident {
                const NAME: &'static str = #name;

                fn fields(&self) -> ::std::vec::Vec<(&'static str, #krate::wire::FieldValue)> {
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

            fn fields(&self) -> ::std::vec::Vec<(&'static str, #krate::wire::FieldValue)> {
                ::core::unreachable!()
            }
        }
    }
}
