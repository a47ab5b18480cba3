//! `EventField` is sealed: a hand-written impl could send any text (here, a host name), so
//! only the built-in types and `#[derive(telemetry::EventValue)]` implement it.

struct Hostname(String);

impl telemetry::EventField for Hostname {
    fn field_value(&self) -> telemetry::FieldValue {
        telemetry::FieldValue::Choice(telemetry::Name::new(self.0.clone().leak()).unwrap())
    }
}

fn main() {}
