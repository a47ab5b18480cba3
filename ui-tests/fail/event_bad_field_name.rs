#![allow(non_snake_case)]

#[derive(telemetry::Event)]
struct Resized {
    Width: u32,
    größe: u32,
    _private: bool,
    number_of_items_that_were_resized_today: u32,
}

fn main() {}
