use telemetry::task;

#[task(cache_ttl_secs = 60)]
fn parse(raw: String) -> usize {
    raw.len()
}

fn main() {}
