use telemetry::task;

#[task(retires = 3)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {}
