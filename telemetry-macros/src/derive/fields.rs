//! The field types refused by name, with the reason: free text, paths, floats, collections,
//! addresses, URLs, times. Every other type is left to the `EventField` bound.

use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// What to suggest instead of a free-text type.
const INSTEAD: &str =
    "use a `bool`, an integer (sent as a range), or an enum deriving `telemetry::EventValue`";

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
pub(crate) fn refused_type(ty: &Type) -> Option<syn::Error> {
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
