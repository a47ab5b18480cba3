//! The breakdowns: what each is by, its name in the report, the kind of count it is stored
//! as, and whether an installation can move along it.

/// What a breakdown is by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    AppVersion,
    SdkVersion,
    RustVersion,
    Os,
    Arch,
    Environment,
    Interactive,
    Integration,
    Feature,
    Error,
    Command,
    Custom,
    CustomField,
    Metric,
    FlowsDefined,
    TasksDefined,
    /// Run outcomes and errors by app version (`model::BY_VERSION`): read for failure
    /// rates, not a breakdown of its own.
    ByVersion,
    /// The same by operating system.
    ByOs,
}

impl Dimension {
    /// Every dimension, in the order the report lists them.
    pub const ALL: [Dimension; 18] = [
        Dimension::AppVersion,
        Dimension::SdkVersion,
        Dimension::RustVersion,
        Dimension::Os,
        Dimension::Arch,
        Dimension::Environment,
        Dimension::Interactive,
        Dimension::Integration,
        Dimension::Feature,
        Dimension::Error,
        Dimension::Command,
        Dimension::Custom,
        Dimension::CustomField,
        Dimension::Metric,
        Dimension::FlowsDefined,
        Dimension::TasksDefined,
        Dimension::ByVersion,
        Dimension::ByOs,
    ];

    /// Whether an installation can move from one value to another (upgrade, change OS):
    /// each is then counted once, at the latest value it sent in the window.
    pub fn moves(self) -> bool {
        matches!(
            self,
            Dimension::AppVersion
                | Dimension::SdkVersion
                | Dimension::RustVersion
                | Dimension::Os
                | Dimension::Arch
                | Dimension::Environment
                | Dimension::Interactive
                | Dimension::FlowsDefined
                | Dimension::TasksDefined
        )
    }

    /// Whether it is a breakdown of the report (and so a filter); the two of failure rates
    /// are not.
    pub fn is_breakdown(self) -> bool {
        !matches!(self, Dimension::ByVersion | Dimension::ByOs)
    }

    /// The breakdown named `name` (as in the report), if there is one.
    pub fn named(name: &str) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.is_breakdown() && d.name() == name)
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::AppVersion => "app_versions",
            Dimension::SdkVersion => "sdk_versions",
            Dimension::RustVersion => "rust_versions",
            Dimension::Os => "os",
            Dimension::Arch => "arch",
            Dimension::Environment => "environments",
            Dimension::Interactive => "interactive",
            Dimension::Integration => "integrations",
            Dimension::Feature => "features",
            Dimension::Error => "errors",
            Dimension::Command => "commands",
            Dimension::Custom => "custom_events",
            Dimension::CustomField => "custom_fields",
            Dimension::Metric => "metrics",
            Dimension::FlowsDefined => "flows_defined",
            Dimension::TasksDefined => "tasks_defined",
            Dimension::ByVersion => "by_version",
            Dimension::ByOs => "by_os",
        }
    }

    /// The kind of count its values are stored as (`model.rs`).
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Dimension::AppVersion => "app_version",
            Dimension::SdkVersion => "sdk_version",
            Dimension::RustVersion => "rust_version",
            Dimension::Os => "os",
            Dimension::Arch => "arch",
            Dimension::Environment => "environment",
            Dimension::Interactive => "interactive",
            Dimension::Integration => "integration",
            Dimension::Feature => "feature",
            Dimension::Error => "error",
            Dimension::Command => "command",
            Dimension::Custom => "custom",
            Dimension::CustomField => "custom_field",
            Dimension::Metric => "metric",
            Dimension::FlowsDefined => "flows_defined",
            Dimension::TasksDefined => "tasks_defined",
            Dimension::ByVersion => crate::model::BY_VERSION,
            Dimension::ByOs => crate::model::BY_OS,
        }
    }
}
