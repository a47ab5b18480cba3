#[derive(telemetry::EventValue)]
#[telemetry(name = "strategy")]
enum Strategy {
    #[telemetry(crate = ::telemetry, name = "blue", name = "green")]
    BlueGreen,
}

fn main() {}
