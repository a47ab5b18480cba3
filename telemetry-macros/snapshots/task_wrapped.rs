// Source:
// #[task]
// fn open(path: &Path) -> anyhow::Result<File> {
//     ensure!(path.is_absolute(), "relative");
//     Ok(File::open(path)?)
// }

// Expansion:
fn open(path: &Path) -> anyhow::Result<File> {
    ::telemetry::__private::callsite!(Task, "open", []);
    let __telemetry_call = ::telemetry::__private::enter(&__TELEMETRY_CALLSITE);
    let __telemetry_result = ::telemetry::__private::run(move || -> anyhow::Result<File> {
        ensure!(path.is_absolute(), "relative");
        Ok(File::open(path)?)
    });
    __telemetry_call.finish(::telemetry::__private::outcome!(__telemetry_result));
    __telemetry_result
}
