use std::ffi::{OsStr, OsString};

#[derive(telemetry::Event)]
struct Started {
    program: OsString,
    first_argument: &'static OsStr,
}

fn main() {}
