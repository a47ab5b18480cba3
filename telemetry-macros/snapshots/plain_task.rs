// Source:
// #[task]
// fn add(a: u32, b: u32) -> u32 {
//     a + b
// }

// Expansion:
fn add(a: u32, b: u32) -> u32 {
    ::telemetry::__private::callsite!(Task, "add", []);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    #[allow(clippy::diverging_sub_expression)]
    let __telemetry_result: u32 = { a + b };
    #[allow(unreachable_code)]
    __telemetry_call.done();
    __telemetry_result
}
