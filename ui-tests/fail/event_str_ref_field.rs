#[derive(telemetry::Event)]
struct Login {
    user_name: &'static str,
    host: std::option::Option<&'static str>,
}

fn main() {}
