#[derive(telemetry::Event)]
#[telemetry(name = deploy, crate = "telemetry")]
struct DeployFinished {
    dry_run: bool,
}

fn main() {}
