//! The generated code names everything by its full path, so it works without the prelude.
#![no_implicit_prelude]

extern crate std;

#[::telemetry::task(retries = 1, cache)]
fn hygienic(x: u8) -> ::std::result::Result<u8, ()> {
    ::std::result::Result::Ok(x)
}

#[::telemetry::flow]
async fn hygienic_async() -> u8 {
    1
}

fn main() {
    let _ = hygienic(1);
    let _ = hygienic_async();
}
