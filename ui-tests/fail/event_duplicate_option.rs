#[derive(telemetry::Event)]
#[telemetry(name = "deploy", crate = ::telemetry)]
#[telemetry(name = "deployed")]
struct DeployFinished {
    dry_run: bool,
}

fn main() {}
