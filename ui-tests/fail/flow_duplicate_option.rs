use telemetry::flow;

#[flow(retries = 1, retries = 2)]
fn run() -> Result<(), ()> {
    Ok(())
}

fn main() {}
