//! `EventField` is sealed: a hand-written impl could send any text (here, a host name), so
//! only the built-in types and `#[derive(telemetry::EventValue)]` implement it.

struct Hostname(String);

impl telemetry::wire::EventField for Hostname {
    fn field_value(&self) -> telemetry::wire::FieldValue {
        telemetry::wire::FieldValue::Choice(telemetry::wire::Name::new(self.0.clone().leak()).unwrap())
    }
}

fn main() {}
