// Source:
// #[task]
// fn add(a: u32, b: u32) -> u32 {
//     a + b
// }

// Expansion:
fn add(a: u32, b: u32) -> u32 {
    static __TELEMETRY_CALLSITE: ::telemetry::__private::Callsite =
        ::telemetry::__private::Callsite::new(
            ::telemetry::__private::Kind::Task,
            "add",
            ::core::module_path!(),
            ::telemetry::__private::Features::NONE,
        );
    ::telemetry::__private::register!(__TELEMETRY_CALLSITE);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    let __telemetry_result = ::telemetry::__private::run(|| -> u32 { a + b });
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
