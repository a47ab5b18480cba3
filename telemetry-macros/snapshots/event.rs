// Source:
// #[derive(Event)]
// struct DeployFinished {
//     dry_run: bool,
//     targets: u32,
//     strategy: Option<Strategy>,
//     r#type: Kind,
// }

// Expansion:
#[automatically_derived]
impl ::telemetry::__private::SealedEvent for DeployFinished {}
#[automatically_derived]
impl ::telemetry::Event for DeployFinished {
    const NAME: &'static str = "deploy_finished";
    fn fields(&self) -> ::std::vec::Vec<(&'static str, ::telemetry::wire::FieldValue)> {
        ::std::vec![
            (
                "dry_run",
                <bool as ::telemetry::wire::EventField>::field_value(&self.dry_run)
            ),
            (
                "targets",
                <u32 as ::telemetry::wire::EventField>::field_value(&self.targets)
            ),
            (
                "strategy",
                <Option<Strategy> as ::telemetry::wire::EventField>::field_value(&self.strategy)
            ),
            (
                "type",
                <Kind as ::telemetry::wire::EventField>::field_value(&self.r#type)
            )
        ]
    }
}
