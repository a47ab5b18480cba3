use std::time::{Duration, Instant, SystemTime};

#[derive(telemetry::Event)]
struct Finished {
    took: Duration,
    at: SystemTime,
    started: Instant,
}

fn main() {}
