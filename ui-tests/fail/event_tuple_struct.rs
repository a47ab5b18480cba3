#[derive(telemetry::Event)]
struct Retried(u32, bool);

fn main() {}
