#[derive(telemetry::Event)]
struct DeployFinished {
    #[telemetry(name = "dry")]
    dry_run: bool,
}

fn main() {}
