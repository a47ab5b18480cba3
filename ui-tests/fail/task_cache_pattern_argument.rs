use telemetry::task;

#[task(cache)]
fn add((a, b): (u32, u32)) -> u32 {
    a + b
}

fn main() {}
