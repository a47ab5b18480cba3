// Source:
// #[task(cache, cache_ttl_secs = 60)]
// pub fn parse(&self, raw: &str) -> Parsed {
//     self.parser.parse(raw)
// }

// Expansion:
pub fn parse(&self, raw: &str) -> Parsed {
    ::telemetry::__private::callsite!(Task, "parse", [METHOD, CACHE, CACHE_TTL]);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    static __TELEMETRY_CACHE: ::telemetry::__private::Cache =
        ::telemetry::__private::Cache::new(60u64);
    let __telemetry_miss = match __TELEMETRY_CACHE.lookup((
        ::telemetry::__private::key_ref(&*self),
        ::telemetry::__private::key_ref(&*raw),
    )) {
        ::core::result::Result::Ok(__telemetry_hit) => {
            __telemetry_call.cache_hit();
            return __telemetry_hit;
        }
        ::core::result::Result::Err(__telemetry_miss) => __telemetry_miss,
    };
    __telemetry_call.cache_miss();
    let __telemetry_result =
        ::telemetry::__private::run(move || -> Parsed { self.parser.parse(raw) });
    let __telemetry_outcome = ::telemetry::__private::outcome!(__telemetry_result);
    if !__telemetry_outcome.is_err() {
        __telemetry_miss.store(&__telemetry_result);
    }
    __telemetry_call.finish(__telemetry_outcome);
    __telemetry_result
}
