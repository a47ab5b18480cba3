#[derive(telemetry::EventValue)]
enum Source {
    Registry,
    Git(String),
    Path { dir: std::path::PathBuf },
}

fn main() {}
