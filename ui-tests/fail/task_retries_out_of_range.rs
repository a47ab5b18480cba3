use telemetry::task;

#[task(retries = 5000000000)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {}
