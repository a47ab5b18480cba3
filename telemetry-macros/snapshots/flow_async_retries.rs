// Source:
// #[flow(retries = 2, retry_delay_ms = 500)]
// async fn nightly() -> Result<(), PipelineError> {
//     step().await?;
//     Ok(())
// }

// Expansion:
async fn nightly() -> Result<(), PipelineError> {
    static __TELEMETRY_CALLSITE: ::telemetry::__private::Callsite =
        ::telemetry::__private::Callsite::new(
            ::telemetry::__private::Kind::Flow,
            "nightly",
            ::core::module_path!(),
            ::telemetry::__private::Features::ASYNC
                .union(::telemetry::__private::Features::RETRIES)
                .union(::telemetry::__private::Features::RETRY_DELAY),
        );
    ::telemetry::__private::register!(__TELEMETRY_CALLSITE);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
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
