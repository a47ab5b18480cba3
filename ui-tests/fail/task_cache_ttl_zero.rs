use telemetry::task;

#[task(cache, cache_ttl_secs = 0)]
fn parse(raw: String) -> usize {
    raw.len()
}

fn main() {}
