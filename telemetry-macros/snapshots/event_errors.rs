// Source:
// #[derive(Event)]
// struct Login {
//     user: String,
//     Speed: u8,
// }

// Expansion:
#[automatically_derived]
impl ::telemetry::__private::SealedEvent for Login {}
#[automatically_derived]
impl ::telemetry::Event for Login {
    const NAME: &'static str = "invalid";
    fn fields(&self) -> ::std::vec::Vec<(&'static str, ::telemetry::wire::FieldValue)> {
        ::core::unreachable!()
    }
}
::core::compile_error! { "`String` cannot be a field of a telemetry event: it can carry free text (a name, a path, a message), which telemetry must never send; use a `bool`, an integer (sent as a range), or an enum deriving `telemetry::EventValue`" }
::core::compile_error! { "field name `Speed` cannot be sent: it starts with `S`, not a lowercase letter; names sent by telemetry are 1 to 32 bytes of `a-z`, `0-9`, `_` and `-`, starting with a letter. Rename the field" }
