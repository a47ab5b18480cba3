#[allow(clippy::upper_case_acronyms)]
#[derive(telemetry::EventValue)]
enum Protocol {
    HttpRetry,
    HTTPRetry,
    #[telemetry(name = "http_retry")]
    Other,
}

fn main() {}
