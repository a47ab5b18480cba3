#[derive(telemetry::Event)]
struct Trained {
    loss: f64,
    learning_rate: Option<f32>,
}

fn main() {}
