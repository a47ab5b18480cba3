// Source:
// #[task]
// async fn load(id: u32) -> io::Result<Vec<u8>> {
//     if id == 0 {
//         return Ok(Vec::new());
//     }
//     let record = fetch(id).await?;
//     Ok(record.bytes)
// }

// Expansion:
async fn load(id: u32) -> io::Result<Vec<u8>> {
    ::telemetry::__private::callsite!(Task, "load", [ASYNC]);
    let __telemetry_call = ::telemetry::__private::enter_async(&__TELEMETRY_CALLSITE);
    #[allow(clippy::diverging_sub_expression)]
    let __telemetry_result: io::Result<Vec<u8>> = '__telemetry_body: {
        if id == 0 {
            break '__telemetry_body Ok(Vec::new());
        }
        let record = (match ::telemetry::__private::Question::branch(fetch(id).await) {
            ::core::result::Result::Ok(__telemetry_value) => __telemetry_value,
            #[allow(clippy::useless_conversion)]
            ::core::result::Result::Err(__telemetry_error) => {
                break '__telemetry_body ::core::result::Result::Err(::core::convert::From::from(
                    __telemetry_error,
                ));
            }
        });
        Ok(record.bytes)
    };
    #[allow(unreachable_code)]
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
