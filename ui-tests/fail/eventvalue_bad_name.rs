#[derive(telemetry::EventValue)]
enum Region {
    EuWest,
    #[telemetry(name = "us east")]
    UsEast,
    Ünïcode,
}

fn main() {}
