use telemetry::task;

#[task(retry_delay_ms = 200)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {}
