#[derive(telemetry::Event)]
#[telemetry(rename = "deploy", skip)]
struct DeployFinished {
    dry_run: bool,
}

fn main() {}
