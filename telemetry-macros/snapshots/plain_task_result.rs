// Source:
// #[task]
// fn parse(text: &str) -> Result<u32, ParseIntError> {
//     let n: u32 = text.trim().parse()?;
//     Ok(n * 2)
// }

// Expansion:
fn parse(text: &str) -> Result<u32, ParseIntError> {
    ::telemetry::__private::callsite!(Task, "parse", []);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    let __telemetry_result = ::telemetry::__private::run(move || -> Result<u32, ParseIntError> {
        let n: u32 = text.trim().parse()?;
        Ok(n * 2)
    });
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
