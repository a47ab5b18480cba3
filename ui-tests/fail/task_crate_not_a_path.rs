use telemetry::task;

#[task(crate = "telemetry")]
fn fetch() {}

fn main() {}
