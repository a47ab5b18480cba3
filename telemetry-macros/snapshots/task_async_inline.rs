// Source:
// #[task]
// async fn total(id: u32) -> u64 {
//     fetch(id).await.len() as u64
// }

// Expansion:
async fn total(id: u32) -> u64 {
    ::telemetry::__private::callsite!(Task, "total", [ASYNC]);
    let __telemetry_call = ::telemetry::__private::enter_async(&__TELEMETRY_CALLSITE);
    #[allow(clippy::diverging_sub_expression)]
    let __telemetry_result: u64 = { fetch(id).await.len() as u64 };
    #[allow(unreachable_code)]
    __telemetry_call.done();
    __telemetry_result
}
