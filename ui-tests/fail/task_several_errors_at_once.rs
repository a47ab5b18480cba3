use telemetry::task;

// Every problem is reported in one go, and the fn itself is still emitted: `main`
// calling it gives no further error.
#[task(retries = "many", colour = 1, cache_ttl_secs = 5)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
