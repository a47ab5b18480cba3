//! `crate = path` for hosts that re-export the facade under another name.

mod my_sdk {
    pub use ::telemetry as telemetry_reexport;
}

use telemetry::task;

#[task(crate = my_sdk::telemetry_reexport, retries = 1, cache)]
fn via_reexport(x: u8) -> Result<u8, ()> {
    Ok(x)
}

#[task(crate = ::telemetry)]
fn absolute() {}

fn main() {
    assert_eq!(via_reexport(3), Ok(3));
    absolute();
    assert_eq!(telemetry::introspect::tasks_defined(), 2);
}
