// Source, built with --cfg telemetry_disabled:
// #[task]
// fn add(a: u32, b: u32) -> u32 {
//     a + b
// }

// Expansion:
fn add(a: u32, b: u32) -> u32 {
    a + b
}
