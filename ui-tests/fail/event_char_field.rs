#[derive(telemetry::Event)]
struct KeyPressed {
    key: char,
}

fn main() {}
