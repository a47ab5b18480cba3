//! The derives' output names everything by its full path, so it works without the prelude.
#![no_implicit_prelude]

extern crate std;

#[derive(::telemetry::EventValue)]
enum Strategy {
    BlueGreen,
}

#[derive(::telemetry::Event)]
struct Deployed {
    dry_run: bool,
    strategy: ::std::option::Option<Strategy>,
}

fn main() {
    ::telemetry::record(&Deployed {
        dry_run: true,
        strategy: ::std::option::Option::Some(Strategy::BlueGreen),
    });
}
