use telemetry::task;

#[task(retries)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {}
