// Source:
// #[task(retries = 3)]
// fn fetch(id: u32) -> Result<Record, FetchError> {
//     download(id)
// }

// Expansion:
fn fetch(id: u32) -> Result<Record, FetchError> {
    ::telemetry::__private::callsite!(Task, "fetch", [RETRIES]);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    let __telemetry_result = {
        let __telemetry_body = || -> Result<Record, FetchError> { download(id) };
        ::telemetry::__private::retry(&__telemetry_call, 3u32, 0u64, __telemetry_body)
    };
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
