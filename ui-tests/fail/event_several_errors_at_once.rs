// Every problem is reported in one go, and the impl is still emitted: `main` recording the
// event gives no further error.
#[derive(telemetry::Event)]
#[telemetry(colour = "blue")]
struct DeployFinished {
    target: String,
    Speed: f64,
    dry_run: bool,
    files: Vec<std::path::PathBuf>,
}

fn main() {
    telemetry::record(&DeployFinished {
        target: String::new(),
        Speed: 1.0,
        dry_run: true,
        files: Vec::new(),
    });
}
