// Source:
// #[task]
// async fn load(&mut self, id: u32) -> Result<&mut Record, LoadError> {
//     self.fetch(id).await
// }

// Expansion:
async fn load(&mut self, id: u32) -> Result<&mut Record, LoadError> {
    ::telemetry::__private::callsite!(Task, "load", [ASYNC, METHOD]);
    let __telemetry_call = ::telemetry::__private::enter_async(&__TELEMETRY_CALLSITE);
    #[allow(clippy::diverging_sub_expression)]
    let __telemetry_result: Result<&mut Record, LoadError> = { self.fetch(id).await };
    #[allow(unreachable_code)]
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
