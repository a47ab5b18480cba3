use std::rc::Rc;
use std::sync::Arc;

#[derive(telemetry::Event)]
struct Opened {
    title: Box<str>,
    owner: Rc<str>,
    label: Arc<String>,
}

fn main() {}
