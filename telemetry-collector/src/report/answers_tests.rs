//! Adoption, failure rates and the order of releases, on aggregates made by hand.

use super::*;

#[test]
fn versions_sort_as_releases() {
    let mut v = [
        "0.10.0",
        "0.2.0",
        "0.3.0-rc.1",
        "0.3.0",
        "0.3.0-rc.10",
        "0.3.0-alpha",
    ];
    v.sort_by(|a, b| version_order(a, b));
    assert_eq!(
        v,
        [
            "0.2.0",
            "0.3.0-alpha",
            "0.3.0-rc.1",
            "0.3.0-rc.10",
            "0.3.0",
            "0.10.0"
        ]
    );
}

#[test]
fn adoption_counts_each_installation_once_and_folds_the_few() {
    let rows = adoption(
        vec![
            ("0.2.0".into(), 6),
            ("0.1.0".into(), 3),
            ("0.3.0".into(), 1),
        ],
        3,
    );
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.value.as_str(), r.installations, r.share))
        .collect();
    assert_eq!(
        got,
        [("0.2.0", 6, 0.6), ("0.1.0", 3, 0.3), ("other", 1, 0.1)]
    );
}

#[test]
fn a_release_that_fails_more_stands_out() {
    let key = |v: &str, o: &str, n: u64| (format!("{v} {o}"), n);
    let counts = vec![
        key("0.1.0", "flow_runs.calls", 1000),
        key("0.1.0", "flow_runs.err", 10),
        key("0.2.0", "flow_runs.calls", 1000),
        key("0.2.0", "flow_runs.err", 40),
        key("0.2.0", "errors", 80),
        key("0.0.9", "flow_runs.calls", 5),
    ];
    let few = |v: &str| v.starts_with("0.0.9");
    let a = Aggregates {
        groups: vec![(
            Dimension::ByVersion,
            counts
                .into_iter()
                .map(|(value, total)| Group {
                    installations: if few(&value) { 2 } else { 5 },
                    value,
                    total,
                })
                .collect(),
        )],
        ..Aggregates::default()
    };
    let f = failures(&a, &BTreeMap::new(), 5);
    let got: Vec<_> = f
        .by_version
        .iter()
        .map(|r| (r.value.as_str(), r.failure_rate, r.worse_than.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("0.2.0", 0.04, Some("0.1.0")),
            ("0.1.0", 0.01, None),
            ("other", 0.0, None)
        ]
    );
    assert_eq!(f.by_version[0].errors_per_1000_runs, 80.0);
}
