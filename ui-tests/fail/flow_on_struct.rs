use telemetry::flow;

#[flow]
struct Pipeline;

fn main() {}
