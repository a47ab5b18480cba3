// Source, built with --cfg telemetry_disabled:
// #[task(retries = 3)]
// fn fetch(id: u32) -> Result<Record, FetchError> {
//     download(id)
// }

// Expansion:
fn fetch(id: u32) -> Result<Record, FetchError> {
    let __telemetry_result = {
        let __telemetry_body = || -> Result<Record, FetchError> { download(id) };
        ::telemetry::__private::retry(
            &::telemetry::__private::Call::OFF,
            3u32,
            0u64,
            __telemetry_body,
        )
    };
    __telemetry_result
}
