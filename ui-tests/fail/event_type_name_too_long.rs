// The name sent is the type's name in snake case, which must fit in 32 bytes.
#[derive(telemetry::Event)]
struct IncrementalCompilationCacheWasInvalidated {
    dry_run: bool,
}

fn main() {}
