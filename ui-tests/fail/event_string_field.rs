#[derive(telemetry::Event)]
struct Login {
    user_name: String,
    remembered: bool,
}

fn main() {}
