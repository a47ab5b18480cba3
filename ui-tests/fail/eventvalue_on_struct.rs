#[derive(telemetry::EventValue)]
struct Strategy {
    blue_green: bool,
}

fn main() {}
