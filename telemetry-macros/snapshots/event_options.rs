// Source:
// #[derive(Event)]
// #[telemetry(name = "deploy-done", crate = my_sdk::telemetry)]
// struct Done;

// Expansion:
#[automatically_derived]
impl my_sdk::telemetry::__private::SealedEvent for Done {}
#[automatically_derived]
impl my_sdk::telemetry::Event for Done {
    const NAME: &'static str = "deploy-done";
    fn fields(&self) -> ::std::vec::Vec<(&'static str, my_sdk::telemetry::wire::FieldValue)> {
        ::std::vec![]
    }
}
