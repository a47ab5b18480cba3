// Source:
// #[task]
// fn by_key<T, K: Ord>(mut key: impl FnMut(&T) -> K) -> impl FnMut(&T, &T) -> Ordering {
//     move |a, b| key(a).cmp(&key(b))
// }

// Expansion:
fn by_key<T, K: Ord>(mut key: impl FnMut(&T) -> K) -> impl FnMut(&T, &T) -> Ordering {
    ::telemetry::__private::callsite!(Task, "by_key", [GENERIC, IMPL_TRAIT_ARG]);
    let __telemetry_call = ::telemetry::__private::scope(&__TELEMETRY_CALLSITE);
    move |a, b| key(a).cmp(&key(b))
}
