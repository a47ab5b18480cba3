use std::path::{Path, PathBuf};

#[derive(telemetry::Event)]
struct ConfigLoaded {
    file: PathBuf,
    dir: &'static Path,
}

fn main() {}
