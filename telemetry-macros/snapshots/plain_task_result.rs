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
    #[allow(clippy::diverging_sub_expression)]
    let __telemetry_result: Result<u32, ParseIntError> = '__telemetry_body: {
        let n: u32 = (match ::telemetry::__private::Question::branch(text.trim().parse()) {
            ::core::result::Result::Ok(__telemetry_value) => __telemetry_value,
            #[allow(clippy::useless_conversion)]
            ::core::result::Result::Err(__telemetry_error) => {
                break '__telemetry_body ::core::result::Result::Err(::core::convert::From::from(
                    __telemetry_error,
                ));
            }
        });
        Ok(n * 2)
    };
    #[allow(unreachable_code)]
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
