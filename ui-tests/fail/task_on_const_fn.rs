use telemetry::task;

#[task]
const fn answer() -> u32 {
    42
}

fn main() {}
