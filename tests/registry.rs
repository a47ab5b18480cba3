//! Every annotated fn in the binary is enumerable at run time, called or not.
//! (This binary's fns are counted exactly, so keep the numbers below in step.)
#![allow(dead_code)] // most fns here are deliberately never called

use telemetry::{flow, task};

#[flow]
fn never_called_flow() {}

#[flow]
async fn never_called_async_flow() {}

#[task]
fn called_task() -> u8 {
    1
}

#[task(retries = 1)]
fn never_called_task() -> Result<(), ()> {
    Ok(())
}

#[task(cache)]
fn never_called_generic<T: std::hash::Hash + Eq + Clone + Send + Sync + 'static>(t: T) -> T {
    t
}

struct S;

impl S {
    #[task]
    fn never_called_method(&self) {}
}

mod nested {
    #[telemetry::task]
    pub(crate) fn never_called_in_a_module() {}
}

#[test]
fn descriptors_are_enumerated_without_calling_the_fns() {
    // Only one of them is called, and only after counting.
    assert_eq!(telemetry::introspect::flows_defined(), 2);
    assert_eq!(telemetry::introspect::tasks_defined(), 5);
    assert_eq!(telemetry::introspect::callsites().len(), 7);
    assert_eq!(called_task(), 1);
    let names: Vec<_> = telemetry::introspect::callsites()
        .iter()
        .map(|c| c.name)
        .collect();
    for name in [
        "never_called_flow",
        "never_called_async_flow",
        "called_task",
        "never_called_task",
        "never_called_generic",
        "never_called_method",
        "never_called_in_a_module",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
}
