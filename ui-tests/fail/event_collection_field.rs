use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(telemetry::Event)]
struct Built {
    tags: HashSet<u32>,
    sizes: HashMap<u32, u64>,
    order: BTreeMap<u8, bool>,
    digest: [u8; 32],
    bytes: &'static [u8],
}

fn main() {}
