// Types the derive does not know by name are refused by the `EventField` bound, with the
// same explanation, on the field's type: an alias of `String` cannot sneak through.
type Host = String;

struct Customer {
    _name: String,
}

#[derive(telemetry::Event)]
struct Served {
    host: Host,
    customer: Option<Customer>,
}

fn main() {}
