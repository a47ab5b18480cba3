#[derive(telemetry::Event)]
struct Built {
    // Even a list of integers can spell out anything.
    targets: Vec<u8>,
}

fn main() {}
