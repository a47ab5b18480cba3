#[derive(telemetry::Event)]
union Bits {
    small: u8,
    large: u64,
}

fn main() {}
