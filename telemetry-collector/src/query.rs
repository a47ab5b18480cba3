//! What a report's query string asks for: `days`, `app`, `every` (`day` or `week`) and a
//! filter per breakdown, named as the breakdown is (`?os=linux&app_versions=0.2.0`), the
//! same on the dashboard, `GET /v1/report` and its exports, so a view can be shared as a
//! link. Values are percent-decoded (a form sends `+` for a space, `%3D` for `=`).

use crate::report::Every;
use crate::store::{Dimension, Window};

/// The longest window a report covers.
pub(crate) const MAX_DAYS: u32 = 3660;
/// The default window of a report.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest filter value taken: longer than any name, version or masked command.
const MAX_VALUE: usize = 512;
/// Parameters read, at most: a query of more is refused rather than read to its end.
const MAX_PARAMETERS: usize = 64;
/// Filters at once, at most: each narrows every read of the store, and each combination
/// is one more set of installations whose size must not single anyone out.
pub(crate) const MAX_FILTERS: usize = 3;
/// The longest window trends are drawn day by day; longer ones go week by week.
pub(crate) const MAX_DAILY: u32 = 180;

/// A report's query, read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReportQuery {
    pub(crate) window: Window,
    pub(crate) days: u32,
    pub(crate) every: Every,
}

/// The query `query` asks for on `today`, for a store that keeps ids `retention_days`
/// days, or why it is refused (a sentence for the answer).
pub(crate) fn read(
    query: Option<&str>,
    today: i64,
    retention_days: u32,
) -> Result<ReportQuery, String> {
    let mut days = DEFAULT_DAYS;
    let mut app = None;
    let mut every = Every::Day;
    let mut filters: Vec<(Dimension, String)> = Vec::new();
    let mut given: Vec<String> = Vec::new();
    for (i, (key, value)) in
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).enumerate()
    {
        if i >= MAX_PARAMETERS {
            return Err(format!("more than {MAX_PARAMETERS} query parameters\n"));
        }
        // An empty value is the form's "any".
        if value.is_empty() {
            continue;
        }
        let ours = matches!(&*key, "days" | "app" | "every") || Dimension::named(&key).is_some();
        if ours {
            if given.iter().any(|k| *k == key) {
                return Err(format!("`{key}` is given twice: give one value\n"));
            }
            given.push(key.clone().into_owned());
        }
        match &*key {
            "days" => {
                days = value
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or(format!("`days` is a number of days from 1 to {MAX_DAYS}\n"))?;
            }
            "app" if telemetry_runtime::Name::is_valid(&value) => app = Some(value.into_owned()),
            "app" => return Err("`app` is not a name\n".into()),
            "every" => {
                every = match &*value {
                    "day" => Every::Day,
                    "week" => Every::Week,
                    _ => return Err("`every` is `day` or `week`\n".into()),
                }
            }
            name => {
                // Any other parameter is not ours to refuse (a proxy's, a bookmark's).
                let Some(dimension) = Dimension::named(name) else {
                    continue;
                };
                // What the wire check lets a client send is printable ASCII.
                let printable = value.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
                if value.len() > MAX_VALUE || !printable {
                    return Err(format!(
                        "the `{name}` filter is not a value a client sends\n"
                    ));
                }
                if filters.len() == MAX_FILTERS {
                    return Err(format!("at most {MAX_FILTERS} filters at once\n"));
                }
                filters.push((dimension, value.into_owned()));
            }
        }
    }
    let mut window = Window::last_days(today, days, app.as_deref());
    window.filters = filters;
    window.ids_from = today - i64::from(retention_days);
    if days > MAX_DAILY {
        every = Every::Week;
    }
    Ok(ReportQuery {
        window,
        days,
        every,
    })
}

/// The query string of `window`, `days` and `every`, with `change` applied to the filters
/// (a filter set, or taken off): the links of the dashboard.
pub(crate) fn link(
    window: &Window,
    days: u32,
    every: Every,
    change: Option<(Dimension, Option<&str>)>,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("days", &days.to_string());
    if let Some(app) = &window.app {
        q.append_pair("app", app);
    }
    if every == Every::Week {
        q.append_pair("every", "week");
    }
    let mut filters: Vec<(Dimension, &str)> = window
        .filters
        .iter()
        .map(|(d, v)| (*d, v.as_str()))
        .collect();
    if let Some((dimension, value)) = change {
        filters.retain(|(d, _)| *d != dimension);
        if let Some(value) = value {
            filters.push((dimension, value));
        }
    }
    for (d, v) in filters {
        q.append_pair(d.name(), v);
    }
    q.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_by_their_breakdowns_names_and_decoded() {
        let q = read(
            Some("os=linux&app_versions=0.2.0&custom_fields=deploy.strategy%3Dblue&every=week&x=1"),
            100,
            90,
        )
        .unwrap();
        assert_eq!(q.every, Every::Week);
        assert_eq!(
            q.window.filters,
            [
                (Dimension::Os, "linux".to_owned()),
                (Dimension::AppVersion, "0.2.0".to_owned()),
                (Dimension::CustomField, "deploy.strategy=blue".to_owned()),
            ]
        );
        assert_eq!((q.window.from, q.window.to, q.days), (71, 100, 30));
        // The round trip the dashboard's links make.
        let back = read(Some(&link(&q.window, q.days, q.every, None)), 100, 90).unwrap();
        assert_eq!(back, q);
        let off = link(&q.window, q.days, q.every, Some((Dimension::Os, None)));
        assert!(
            !off.contains("os=") && off.contains("app_versions=0.2.0"),
            "{off}"
        );
    }

    #[test]
    fn what_cannot_be_a_filter_is_refused() {
        for bad in [
            "days=0",
            "days=x",
            "every=month",
            "app=a%20b",
            "os=linux&os=macos",
            "os=%0A",
            "by_version=0.1.0%20errors&os=a&os=b",
            "days=7&days=30",
            "os=a&arch=b&features=c&commands=d",
            "os=%E2%80%AEx",
        ] {
            assert!(read(Some(bad), 100, 90).is_err(), "{bad}");
        }
        // `by_version` is not a breakdown: not a filter, and not refused.
        assert!(
            read(Some("by_version=1"), 100, 90)
                .unwrap()
                .window
                .filters
                .is_empty()
        );
        assert!(
            read(Some("os="), 100, 90)
                .unwrap()
                .window
                .filters
                .is_empty()
        );
    }
}
