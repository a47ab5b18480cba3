#[derive(telemetry::Event)]
struct Measured<T> {
    value: T,
}

#[derive(telemetry::Event)]
struct Borrowed<'a> {
    count: &'a u32,
}

fn main() {}
