use std::ffi::{CStr, CString};

#[derive(telemetry::Event)]
struct Loaded {
    symbol: CString,
    library: &'static CStr,
}

fn main() {}
