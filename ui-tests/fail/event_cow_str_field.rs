use std::borrow::Cow;

#[derive(telemetry::Event)]
struct Opened {
    title: Cow<'static, str>,
}

fn main() {}
