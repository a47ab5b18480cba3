#[derive(telemetry::Event)]
struct Login {
    // `Option` is looked through: the refused type is what it holds.
    team: Option<String>,
}

fn main() {}
