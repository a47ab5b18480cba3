use telemetry::task;

struct Parsed {
    words: usize,
}

#[task(cache)]
fn parse(raw: String) -> Parsed {
    Parsed { words: raw.split_whitespace().count() }
}

fn main() {}
