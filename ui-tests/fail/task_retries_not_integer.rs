use telemetry::task;

#[task(retries = "3")]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {}
