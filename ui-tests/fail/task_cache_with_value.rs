use telemetry::task;

#[task(cache = true)]
fn parse(raw: String) -> usize {
    raw.len()
}

fn main() {}
