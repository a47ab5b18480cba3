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
        "1.0.0-rc10",
        "1.0.0-rc2",
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
            "0.10.0",
            "1.0.0-rc2",
            "1.0.0-rc10"
        ]
    );
}

#[test]
fn weeks_end_with_the_window() {
    // Ten days by week: the last seven days are one period, the three before another.
    let w = Window {
        from: 100,
        to: 109,
        ..Window::default()
    };
    let a = Aggregates {
        series: vec![(
            Dimension::Os,
            vec![
                ("linux".into(), 100, 1),
                ("linux".into(), 102, 2),
                ("linux".into(), 103, 4),
            ],
        )],
        ..Aggregates::default()
    };
    let row = Row {
        value: "linux".into(),
        installations: 5,
        total: 7,
        share: None,
    };
    let breakdowns = BTreeMap::from([("os", vec![row])]);
    let t = trends(&a, &w, Every::Week, &breakdowns);
    assert_eq!(
        t.periods,
        [crate::clock::date(100), crate::clock::date(103)]
    );
    assert_eq!(t.breakdowns["os"].rows[0].per_period, [3, 4]);
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
        // Installations but no count (a row the read skipped): no run, so no row, and
        // 0.2.0 is still compared with 0.1.0.
        key("0.1.5", "flow_runs.calls", 0),
    ];
    let a = Aggregates {
        groups: vec![(
            Dimension::ByVersion,
            counts
                .into_iter()
                .map(|(value, total)| Group {
                    installations: 5,
                    value,
                    total,
                })
                .collect(),
        )],
        ..Aggregates::default()
    };
    // 0.0.9 is folded in the breakdown of releases.
    let row = |v: &str| Row {
        value: v.into(),
        installations: 5,
        total: 1,
        share: None,
    };
    let shown = vec![row("0.2.0"), row("0.1.5"), row("0.1.0"), row(OTHER)];
    let f = failures(&a, &BTreeMap::from([("app_versions", shown)]));
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
