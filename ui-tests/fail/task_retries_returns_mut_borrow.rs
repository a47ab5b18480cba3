use telemetry::task;

struct Cache {
    slots: Vec<u32>,
}

#[derive(Debug)]
struct Full;

impl Cache {
    // Each attempt borrows `self` afresh: a borrow from one attempt cannot be returned.
    #[task(retries = 2)]
    fn slot(&mut self, i: usize) -> Result<&mut u32, Full> {
        self.slots.get_mut(i).ok_or(Full)
    }
}

fn main() {
    let mut cache = Cache { slots: vec![0] };
    let _ = cache.slot(0);
}
