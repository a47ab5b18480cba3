// Source:
// #[derive(EventValue)]
// enum Strategy {
//     BlueGreen,
//     #[telemetry(name = "canary_release")]
//     Canary,
//     HTTPRetry,
// }

// Expansion:
const _: () = {
    const fn __telemetry_name(name: &'static str) -> ::telemetry::wire::Name {
        match ::telemetry::wire::Name::new(name) {
            ::core::option::Option::Some(name) => name,
            ::core::option::Option::None => ::core::panic!(
                "not a telemetry name: 1 to 32 of a-z 0-9 _ -, starting with a letter"
            ),
        }
    }
    const __TELEMETRY_NAMES: [::telemetry::wire::Name; 3] = [
        __telemetry_name("blue_green"),
        __telemetry_name("canary_release"),
        __telemetry_name("http_retry"),
    ];
    #[automatically_derived]
    impl ::telemetry::__private::SealedField for Strategy {}
    #[automatically_derived]
    impl ::telemetry::wire::EventField for Strategy {
        fn field_value(&self) -> ::telemetry::wire::FieldValue {
            ::telemetry::wire::FieldValue::Choice(match *self {
                Self::BlueGreen => __TELEMETRY_NAMES[0],
                Self::Canary => __TELEMETRY_NAMES[1],
                Self::HTTPRetry => __TELEMETRY_NAMES[2],
            })
        }
    }
    #[automatically_derived]
    impl ::telemetry::EventValue for Strategy {
        const VARIANTS: &'static [&'static str] = &["blue_green", "canary_release", "http_retry"];
    }
};
