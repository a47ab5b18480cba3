use telemetry::task;

#[derive(Clone, PartialEq)]
struct Settings {
    ratio: f64,
}

#[task(cache)]
fn scale(settings: Settings, x: u32) -> f64 {
    settings.ratio * f64::from(x)
}

fn main() {}
