#[derive(telemetry::Event)]
#[telemetry(name = "Deploy Finished")]
struct DeployFinished {
    dry_run: bool,
}

fn main() {}
