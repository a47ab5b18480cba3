// Source:
// #[task]
// fn add(a: u32, b: u32) -> u32 {
//     a + b
// }

// Expansion:
fn add(a: u32, b: u32) -> u32 {
    ::telemetry::__private::callsite!(Task, "add", []);
    let __telemetry_call = ::telemetry::__private::scope(&__TELEMETRY_CALLSITE);
    a + b
}
