use telemetry::task;

// The body runs once per attempt, so it cannot give away an argument it owns.
#[task(retries = 2)]
fn send(payload: String) -> Result<(), String> {
    Err(payload)
}

fn main() {}
