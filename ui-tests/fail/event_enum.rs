#[derive(telemetry::Event)]
enum Deploy {
    Started,
    Finished,
}

fn main() {}
