use telemetry::task;

#[task(retries = 3)]
fn fetch(id: u32) -> Option<u32> {
    Some(id)
}

fn main() {}
