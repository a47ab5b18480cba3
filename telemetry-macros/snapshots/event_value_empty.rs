// Source:
// #[derive(EventValue)]
// enum Never {}

// Expansion:
const _: () = {
    #[automatically_derived]
    impl ::telemetry::__private::SealedField for Never {}
    #[automatically_derived]
    impl ::telemetry::wire::EventField for Never {
        fn field_value(&self) -> ::telemetry::wire::FieldValue {
            match *self {}
        }
    }
    #[automatically_derived]
    impl ::telemetry::EventValue for Never {
        const VARIANTS: &'static [&'static str] = &[];
    }
};
