use super::*;
use crate::wire::check::is_valid_batch;
use crate::wire::json::ToJson;
use crate::wire::narrowing::sample_draw;
use crate::wire::samples::{random_batch, sample_batch, samples};

fn config(text: &str) -> CollectionConfig {
    CollectionConfig::parse(text.as_bytes()).unwrap()
}

fn error_of(text: &str) -> ConfigError {
    CollectionConfig::parse(text.as_bytes()).unwrap_err()
}

#[test]
fn the_issue_example_reads_and_resolves_key_by_key() {
    let c = config(
        r#"{
          "config_version": 1,
          "default": { "sample": 1.0, "send": ["session", "usage", "cli_command", "custom"], "omit": [] },
          "apps": { "acme": [ { "versions": "<0.3.0", "sample": 0.5, "omit": ["metrics.cache_hits"] } ] }
        }"#,
    );
    assert!(c.unknown().is_empty(), "{:?}", c.unknown());
    let old = c.narrowing("acme", "0.2.1");
    assert_eq!(old.sample(), 0.5);
    assert!(!old.keeps(&["metrics", "cache_hits"]));
    // `send` was not overridden: the default's stands.
    assert!(old.keeps_event_type("cli_command") && !old.keeps_event_type("error"));
    let new = c.narrowing("acme", "0.3.0");
    assert_eq!(new.sample(), 1.0);
    assert!(new.keeps(&["metrics", "cache_hits"]));
    // Another app, or a version that is no semver, gets the default.
    assert_eq!(c.narrowing("other", "0.1.0").sample(), 1.0);
    assert_eq!(c.narrowing("acme", "invalid").sample(), 1.0);
    // `1.2` reads as `1.2.0`.
    let short = config(r#"{"config_version":1,"apps":{"acme":[{"versions":">=1.2","sample":0}]}}"#);
    assert_eq!(short.narrowing("acme", "1.2").sample(), 0.0);
    assert_eq!(short.narrowing("acme", "1.1.9").sample(), 1.0);
}

#[test]
fn the_first_matching_rule_wins() {
    let c = config(
        r#"{"config_version":1,"apps":{"acme":[
            {"versions":"<1","sample":0.1},
            {"sample":0.2},
            {"versions":"<2","sample":0.3}]}}"#,
    );
    assert_eq!(c.narrowing("acme", "0.9.0").sample(), 0.1);
    assert_eq!(c.narrowing("acme", "1.5.0").sample(), 0.2);
}

#[test]
fn what_cannot_narrow_is_refused_whole() {
    for (text, at) in [
        (
            r#"{"config_version":1,"default":{"sample":1.5}}"#,
            "default.sample",
        ),
        (
            r#"{"config_version":1,"default":{"sample":-0.1}}"#,
            "default.sample",
        ),
        (
            r#"{"config_version":1,"default":{"sample":"1"}}"#,
            "default.sample",
        ),
        (
            r#"{"config_version":1,"default":{"sample":1e400}}"#,
            "default.sample",
        ),
        (
            r#"{"config_version":1,"default":{"interval_secs":99999999}}"#,
            "default.interval_secs",
        ),
        (
            r#"{"config_version":1,"default":{"interval_secs":90000}}"#,
            "default.interval_secs",
        ),
        (
            r#"{"config_version":1,"default":{"sample":1e-320}}"#,
            "default.sample",
        ),
        (
            r#"{"config_version":1,"default":{"send":"usage"}}"#,
            "default.send",
        ),
        (
            r#"{"config_version":1,"default":{"omit":[1]}}"#,
            "default.omit",
        ),
        (r#"{"config_version":1,"apps":{"Acme!":[]}}"#, "apps.Acme!"),
        (
            r#"{"config_version":1,"apps":{"acme":[{"versions":"banana"}]}}"#,
            "apps.acme[0].versions",
        ),
        (
            r#"{"config_version":1,"default":{},"default":{}}"#,
            "default",
        ),
        (r#"{"config_version":2}"#, "config_version"),
        (r#"{"default":{}}"#, ""),
        (r#"[1]"#, ""),
        ("{", ""),
    ] {
        assert_eq!(error_of(text).at, at, "{text}");
    }
    let huge = format!(
        r#"{{"config_version":1,"default":{{"omit":[{}]}}}}"#,
        vec!["\"metrics.cache_hits\""; 2000].join(",")
    );
    assert!(CollectionConfig::parse(huge.as_bytes()).is_err());
    let many = format!(
        r#"{{"config_version":1,"apps":{{"acme":[{}]}}}}"#,
        vec!["{}"; 300].join(",")
    );
    assert_eq!(error_of(&many).error, "more than 256 app rules");
    let deep = format!(
        r#"{{"config_version":1,"x":{}1{}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    assert_eq!(
        error_of(&deep).error,
        "the config is nested more than 16 deep"
    );
}

#[test]
fn what_a_newer_config_adds_is_ignored_and_listed() {
    let c = config(
        r#"{"config_version":1,"regions":{},"default":{"send":["usage","telepathy"],
            "omit":["metrics.gpu_seconds","metrics.cache_hits","hostname"],"upload_logs":true}}"#,
    );
    assert_eq!(
        c.unknown(),
        [
            "regions",
            "default.send: telepathy",
            "default.omit: metrics.gpu_seconds",
            "default.omit: hostname",
            "default.upload_logs",
        ]
    );
    let n = c.narrowing("acme", "1.0.0");
    assert!(n.keeps_event_type("usage") && !n.keeps_event_type("session"));
    assert!(!n.keeps(&["metrics", "cache_hits"]));
}

#[test]
fn paths_are_checked_against_the_writer() {
    for known in [
        "metrics.cache_hits",
        "metrics.flow_runs",
        "metrics.flow_runs.err",
        "metrics.task_durations.<1s",
        "features.caching",
        "features",
        "integrations",
        "integrations.postgres",
        "errors",
        "errors.std::io::Error(NotFound)",
        "custom.deploy_finished",
        "custom.deploy_finished.region",
        "cli_command",
        "heartbeat",
        "custom",
    ] {
        assert!(is_known_path(known), "{known}");
    }
    for unknown in [
        "metrics.nope",
        "metrics.cache_hits.more",
        "features.nope",
        "custom.a.b.c",
        "environment",
        "",
        "integrations.",
    ] {
        assert!(!is_known_path(unknown), "{unknown}");
    }
}

/// Every event, key and value of `narrow` is in `wide` at the same place.
fn is_within(narrow: &Json, wide: &Json) -> bool {
    match (narrow, wide) {
        (Json::Object(n), Json::Object(w)) => n
            .iter()
            .all(|(k, v)| w.iter().any(|(wk, wv)| wk == k && is_within(v, wv))),
        (Json::Array(n), Json::Array(w)) => {
            // Events and names keep their order: each narrow item matches a later wide one.
            let mut rest = w.iter();
            n.iter().all(|item| rest.any(|wide| is_within(item, wide)))
        }
        _ => narrow == wide,
    }
}

#[test]
fn narrowing_never_adds_and_keeps_a_batch_the_writer_could_have_written() {
    let configs = [
        r#"{"config_version":1}"#,
        r#"{"config_version":1,"default":{"send":["usage"]}}"#,
        r#"{"config_version":1,"default":{"omit":["metrics.flow_runs.err","features.caching",
            "integrations.postgres","errors.panic","custom.deploy_finished.region","heartbeat"]}}"#,
        r#"{"config_version":1,"default":{"omit":["metrics","features","integrations","errors"]}}"#,
        r#"{"config_version":1,"default":{"sample":0.5,"omit":["custom"]}}"#,
        r#"{"config_version":1,"default":{"sample":0}}"#,
    ];
    for (i, text) in configs.iter().enumerate() {
        let n = config(text).narrowing("acme", "1.0.0");
        for seed in 0..300u64 {
            let batch = if seed == 0 {
                sample_batch(samples())
            } else {
                random_batch(seed)
            };
            let wide = batch.to_json();
            let mut narrow = wide.clone();
            let kept = n.narrow(&mut narrow);
            assert!(is_within(&narrow, &wide), "config {i}, seed {seed}");
            if kept {
                assert!(
                    is_valid_batch(narrow.compact().as_bytes()),
                    "config {i}, seed {seed}: {}",
                    narrow.compact()
                );
            }
        }
    }
}

#[test]
fn narrowing_removes_what_it_names() {
    let n = config(
        r#"{"config_version":1,"default":{"send":["session","usage","error","custom"],
           "omit":["metrics.cache_hits","features.caching","errors.panic",
                   "custom.deploy_finished.region"]}}"#,
    )
    .narrowing("acme", "1.0.0");
    let mut batch = sample_batch(samples()).to_json();
    assert!(n.narrow(&mut batch));
    let text = batch.compact();
    for gone in [
        "\"cache_hits\"",
        "\"caching\"",
        "\"panic\"",
        "\"region\"",
        "cli_command",
        "heartbeat",
    ] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    for kept in [
        "\"cache_misses\"",
        "\"retries\"",
        "deploy_finished",
        "\"session\"",
    ] {
        assert!(text.contains(kept), "{kept} not in {text}");
    }
}

#[test]
fn the_draw_is_stable_uniform_and_sampling_only_takes_out() {
    let ids: Vec<String> = (0..20_000u64)
        .map(|i| format!("{:08x}-0000-4000-8000-{:012x}", i * 7919, i))
        .collect();
    let below = |s: f64| ids.iter().filter(|id| sample_draw(id) < s).count();
    for s in [0.1, 0.5, 0.9] {
        let share = below(s) as f64 / ids.len() as f64;
        assert!((share - s).abs() < 0.02, "{s}: {share}");
    }
    assert_eq!(
        sample_draw("6F1C0000-0000-4000-8000-000000000000"),
        sample_draw("6f1c0000-0000-4000-8000-000000000000")
    );
    // Lowering the sample keeps a subset.
    let n = |s: f64| Narrowing::of(Some(s), None, None, None);
    for id in ids.iter().take(2_000) {
        assert!(!n(0.3).includes(id) || n(0.6).includes(id));
        assert!(n(1.0).includes(id) && !n(0.0).includes(id));
    }
}

/// Reading never panics, whatever the bytes: a valid config cut, flipped and spliced 20,000
/// ways either reads (and then resolves and narrows) or is refused.
#[test]
fn any_bytes_read_or_are_refused_without_a_panic() {
    let valid = br#"{"config_version":1,"default":{"sample":0.5,"send":["usage","custom"],
        "omit":["metrics.flow_runs.err","custom.deploy_finished.region"],"interval_secs":60},
        "apps":{"acme":[{"versions":">=1.2, <2","sample":1e-1,"omit":["errors.panic"]}]}}"#;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"{}[]\",:.0123456789eE-+ aopst\\\xff";
    let mut read = 0;
    for _ in 0..20_000 {
        let mut bytes = valid.to_vec();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % bytes.len().max(1);
            match next() % 3 {
                0 => bytes[at] = alphabet[(next() as usize) % alphabet.len()],
                1 => bytes.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        if let Ok(c) = CollectionConfig::parse(&bytes) {
            read += 1;
            let n = c.narrowing("acme", "1.5.0");
            assert!((0.0..=1.0).contains(&n.sample()));
            let mut batch = sample_batch(samples()).to_json();
            let wide = batch.clone();
            n.narrow(&mut batch);
            assert!(is_within(&batch, &wide));
        }
    }
    assert!(read > 0, "some mutations still read");
}

/// A batch spooled by an older release is narrowed event by event, by each event's version.
#[test]
fn each_event_is_narrowed_by_its_own_versions_rule() {
    let c =
        config(r#"{"config_version":1,"apps":{"acme":[{"versions":"<1.0.0","omit":["usage"]}]}}"#);
    let mut batch = sample_batch(samples()).to_json();
    let Json::Object(fields) = &mut batch else {
        unreachable!()
    };
    let (_, Json::Array(events)) = fields.iter_mut().find(|(k, _)| k == "events").unwrap() else {
        unreachable!()
    };
    let usage = events
        .iter()
        .position(|e| e.get("event_type").and_then(Json::as_str) == Some("usage"))
        .unwrap();
    let mut old = events[usage].clone();
    if let Json::Object(f) = &mut old {
        for (k, v) in f.iter_mut() {
            if k == "app_version" {
                *v = Json::str("0.9.0");
            }
        }
    }
    events.push(old);
    let usages = |b: &Json| b.compact().matches("\"event_type\":\"usage\"").count();
    assert_eq!(usages(&batch), 2);
    assert!(Narrowing::narrow_each(&mut batch, |v| c.narrowing("acme", v)));
    assert_eq!(usages(&batch), 1, "only the 0.9.0 usage event is left out");
}
