// Source:
// #[flow(retries = 2, retry_delay_ms = 500)]
// async fn nightly() -> Result<(), PipelineError> {
//     step().await?;
//     Ok(())
// }

// Expansion:
async fn nightly() -> Result<(), PipelineError> {
    ::telemetry::__private::callsite!(Flow, "nightly", [ASYNC, RETRIES, RETRY_DELAY]);
    let __telemetry_call = ::telemetry::__private::enter_async(&__TELEMETRY_CALLSITE);
    let __telemetry_result = {
        let mut __telemetry_retries = ::telemetry::__private::Retries::new(2u32, 500u64);
        loop {
            let __telemetry_attempt =
                ::telemetry::__private::typed::<Result<(), PipelineError>, _>(async {
                    step().await?;
                    Ok(())
                })
                .await;
            if !__telemetry_retries.again(&__telemetry_attempt, &__telemetry_call) {
                break __telemetry_attempt;
            }
            __telemetry_retries.delay().await;
        }
    };
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
