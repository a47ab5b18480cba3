//! Every field kind a custom event may hold, and every option of the derives.

mod my_sdk {
    pub use ::telemetry as telemetry_reexport;
}

use telemetry::{Event, EventValue, Version};

#[derive(telemetry::EventValue)]
enum Strategy {
    BlueGreen,
    #[telemetry(name = "canary_release")]
    Canary,
}

#[derive(telemetry::EventValue)]
#[telemetry(crate = my_sdk::telemetry_reexport)]
enum Mode {
    Fast,
    Safe,
}

#[derive(telemetry::EventValue)]
#[telemetry(crate = my_sdk::telemetry_reexport)]
enum Empty {}

#[derive(telemetry::Event)]
struct Everything {
    flag: bool,
    a: u8,
    b: u16,
    c: u32,
    d: u64,
    e: u128,
    f: usize,
    g: i8,
    h: i16,
    i: i32,
    j: i64,
    k: i128,
    l: isize,
    maybe: Option<u32>,
    nested: Option<Option<bool>>,
    strategy: Strategy,
    fallback: Option<Strategy>,
    version: Version,
    full_path: ::telemetry::Version,
    r#type: bool,
}

#[derive(telemetry::Event)]
#[telemetry(crate = my_sdk::telemetry_reexport, name = "deploy-done")]
pub struct ViaReexport {
    dry_run: bool,
    mode: Mode,
}

#[derive(telemetry::Event)]
#[telemetry(crate = ::telemetry)]
#[telemetry(name = "unit_event")]
struct Unit;

fn main() {
    let everything = Everything {
        flag: true,
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: -7,
        h: 8,
        i: 9,
        j: 10,
        k: 11,
        l: 12,
        maybe: None,
        nested: Some(None),
        strategy: Strategy::BlueGreen,
        fallback: Some(Strategy::Canary),
        version: Version::new("1.2.3"),
        full_path: Version::new("1.2.3"),
        r#type: false,
    };
    assert_eq!(Everything::NAME, "everything");
    assert_eq!(everything.fields().len(), 20);
    assert_eq!(ViaReexport::NAME, "deploy-done");
    assert_eq!(Unit::NAME, "unit_event");
    assert_eq!(Strategy::VARIANTS, ["blue_green", "canary_release"]);
    assert_eq!(Mode::VARIANTS, ["fast", "safe"]);
    assert_eq!(
        telemetry::wire::EventField::field_value(&Mode::Fast),
        telemetry::wire::FieldValue::Choice(telemetry::wire::Name::new("fast").unwrap())
    );
    assert!(Empty::VARIANTS.is_empty());
    telemetry::record(&everything);
    telemetry::record(&ViaReexport {
        dry_run: true,
        mode: Mode::Safe,
    });
    telemetry::record(&Unit);
}
