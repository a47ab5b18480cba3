//! The precedence table of the consent rules of docs/consent.md, "The nine rules": every rule
//! alone, every pair of neighbouring rules, and every error deciding off.

use std::fs;

use super::change::{record, reset_with};
use super::rules::*;
use crate::base::calendar::{Clock, Date};
use crate::base::env::Env;
use crate::base::paths::FileProblem;
use crate::base::paths::SPOOL_DIR;
use crate::config::Config;
use crate::decision::{Decision, DefaultConsent, Rule};
use crate::files::state::{How, State};
use crate::files::store::StateStore;

/// Something that makes one rule match.
#[derive(Clone, Copy, Debug)]
enum Given {
    KillSwitch,
    DoNotTrack,
    AppDisable,
    Policy,
    Enabled(bool),
    Ci,
    Project(bool),
    User(bool),
    OptOut,
}
use Given::*;

struct Setup {
    _dir: tempfile::TempDir,
    config: Config,
    compiled_out: bool,
}

fn today() -> Date {
    Date::new(2031, 7, 8).unwrap()
}

fn setup(given: &[Given]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let mut env = Env::empty();
    let mut config = Config::new("acme", "1.0")
        .config_dir(dir.path().join("conf"))
        .policy_file(dir.path().join("policy.toml"))
        .current_dir(&work)
        .clock(Clock::fixed(today()));
    let mut compiled_out = false;
    for g in given {
        match *g {
            KillSwitch => compiled_out = true,
            DoNotTrack => env = env.with("DO_NOT_TRACK", "1"),
            AppDisable => env = env.with("ACME_DISABLE_TELEMETRY", "true"),
            Policy => fs::write(dir.path().join("policy.toml"), "disabled = true\n").unwrap(),
            Enabled(on) => env = env.with("ACME_TELEMETRY_ENABLED", if on { "yes" } else { "0" }),
            Ci => env = env.with("GITHUB_ACTIONS", "true"),
            Project(on) => fs::write(work.join(".telemetry"), format!("consent: {on}\n")).unwrap(),
            User(on) => {
                StateStore::new(dir.path().join("conf"))
                    .update(today(), How::Cli, |s| s.decide(on, today()))
                    .unwrap();
            }
            OptOut => config = config.default_consent(DefaultConsent::OptOut),
        }
    }
    Setup {
        _dir: dir,
        config: config.env(env),
        compiled_out,
    }
}

fn decide(given: &[Given]) -> Decision {
    let s = setup(given);
    resolve_inner(&s.config, s.compiled_out)
}

#[test]
fn every_rule_alone() {
    let cases: &[(&[Given], bool, u8, &str)] = &[
        (
            &[KillSwitch],
            false,
            1,
            "the compile-time kill switch (telemetry_disabled)",
        ),
        (&[DoNotTrack], false, 2, "DO_NOT_TRACK"),
        (&[AppDisable], false, 3, "ACME_DISABLE_TELEMETRY"),
        (
            &[Policy],
            false,
            4,
            "the system policy file (disabled = true)",
        ),
        (&[Enabled(true)], true, 5, "ACME_TELEMETRY_ENABLED"),
        (&[Enabled(false)], false, 5, "ACME_TELEMETRY_ENABLED"),
        (
            &[Ci],
            false,
            6,
            "CI environment: GitHub Actions (GITHUB_ACTIONS)",
        ),
        // A project file's yes is not the user's: the default decides.
        (
            &[Project(true)],
            false,
            9,
            "the default (opt-in: off until enabled)",
        ),
        (&[Project(false)], false, 7, "the project file .telemetry"),
        (&[User(true)], true, 8, "your decision (on 2031-07-08)"),
        (&[User(false)], false, 8, "your decision (on 2031-07-08)"),
        (&[], false, 9, "the default (opt-in: off until enabled)"),
        (
            &[OptOut],
            true,
            9,
            "the default (opt-out: on until disabled)",
        ),
    ];
    for (given, enabled, rule, text) in cases {
        let d = decide(given);
        assert_eq!(
            (d.enabled, d.rule.number()),
            (*enabled, *rule),
            "{given:?}: {d:?}"
        );
        assert_eq!(d.rule.to_string(), *text, "{given:?}");
    }
}

#[test]
fn every_pair_of_neighbouring_rules() {
    // The higher rule wins; where possible the two would decide differently.
    let cases: &[(&[Given], bool, u8)] = &[
        (&[KillSwitch, DoNotTrack], false, 1),
        (&[KillSwitch, Enabled(true)], false, 1),
        (&[DoNotTrack, AppDisable], false, 2),
        (&[AppDisable, Policy], false, 3),
        (&[Policy, Enabled(true)], false, 4),
        (&[Enabled(true), Ci], true, 5),
        (&[Enabled(false), Ci], false, 5),
        (&[Ci, Project(true)], false, 6),
        (&[Project(true), User(false)], false, 8),
        (&[Project(true), OptOut], true, 9),
        (&[Project(false), User(true)], false, 7),
        (&[User(true), OptOut], true, 8),
        (&[User(false), OptOut], false, 8),
        (&[User(true)], true, 8), // OptIn default below
    ];
    for (given, enabled, rule) in cases {
        let d = decide(given);
        assert_eq!(
            (d.enabled, d.rule.number()),
            (*enabled, *rule),
            "{given:?}: {d:?}"
        );
    }
}

#[test]
fn everything_at_once_and_each_rule_removed_in_turn() {
    let all = [
        KillSwitch,
        DoNotTrack,
        AppDisable,
        Policy,
        Enabled(true),
        Ci,
        Project(false),
        User(true),
        OptOut,
    ];
    // Dropping the first k ingredients leaves rule k+1 (or the next present one) in charge.
    let expected = [
        (false, 1),
        (false, 2),
        (false, 3),
        (false, 4),
        (true, 5),
        (false, 6),
        (false, 7),
        (true, 8),
        (true, 9),
    ];
    for (k, (enabled, rule)) in expected.iter().enumerate() {
        let d = decide(&all[k..]);
        assert_eq!(
            (d.enabled, d.rule.number()),
            (*enabled, *rule),
            "from {:?}",
            all[k]
        );
    }
}

#[test]
fn errors_decide_off_and_say_so() {
    // A bad policy file.
    let s = setup(&[User(true)]);
    fs::write(s.config.resolved_policy_file().unwrap(), "disabled = maybe").unwrap();
    let d = resolve_inner(&s.config, false);
    assert_eq!(
        (d.enabled, d.rule.clone()),
        (false, Rule::PolicyUnreadable(FileProblem::Invalid))
    );
    assert!(d.rule.is_error());

    // A policy file that is a directory (cannot be read).
    let s = setup(&[User(true)]);
    fs::create_dir(s.config.resolved_policy_file().unwrap()).unwrap();
    assert_eq!(
        resolve_inner(&s.config, false).rule,
        Rule::PolicyUnreadable(FileProblem::NotARegularFile)
    );

    // A bad ACME_TELEMETRY_ENABLED.
    let s = setup(&[User(true)]);
    let config = s
        .config
        .clone()
        .env(Env::from_pairs([("ACME_TELEMETRY_ENABLED", "maybe")]));
    let d = resolve_inner(&config, false);
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "ACME_TELEMETRY_ENABLED has a value other than 1/true/yes or 0/false/no"
    );

    // A bad project file.
    let s = setup(&[User(true)]);
    fs::write(
        s.config.current_dir.clone().unwrap().join(".telemetry"),
        "consent: perhaps",
    )
    .unwrap();
    assert_eq!(
        resolve_inner(&s.config, false).rule,
        Rule::ProjectUnreadable(FileProblem::Invalid)
    );

    // A corrupt state file: off, and kept aside.
    let s = setup(&[OptOut]);
    let conf = s.config.resolved_config_dir().unwrap();
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("telemetry_state.toml"), "\u{0}\u{1}garbage").unwrap();
    let d = resolve_inner(&s.config, false);
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "the state file could not be read (kept as telemetry_state.toml.corrupt-2031-07-08)"
    );
    assert!(
        conf.join("telemetry_state.toml.corrupt-2031-07-08")
            .exists()
    );

    // The next run: the state file is gone, but its kept copy still decides off (rule 9
    // would say on for this opt-out host, maybe after the user said no).
    let d = resolve_inner(&s.config, false);
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "the state file could not be read (kept as telemetry_state.toml.corrupt-2031-07-08)"
    );
    // A new decision ends it.
    {
        let _process = crate::process::test_lock();
        record(&s.config, false, How::Cli).unwrap();
    }
    assert_eq!(
        resolve_inner(&s.config, false).rule,
        Rule::User(Some(today()))
    );

    // No config dir at all, or a relative one.
    let dir = tempfile::tempdir().unwrap();
    let config = Config::new("acme", "1.0")
        .env(Env::empty())
        .policy_file(dir.path().join("policy.toml"))
        .current_dir(dir.path())
        .default_consent(DefaultConsent::OptOut);
    let d = resolve_inner(&config, false);
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "no config directory could be determined"
    );
    let config = config.env(Env::from_pairs([
        ("ACME_TELEMETRY_CONFIG_DIR", "conf"),
        ("HOME", "/nowhere"),
    ]));
    let d = resolve_inner(&config, false);
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "ACME_TELEMETRY_CONFIG_DIR is not an absolute path"
    );
    assert!(!dir.path().join("conf").exists());
}

#[test]
fn a_busy_lock_decides_off_at_once() {
    let s = setup(&[OptOut]);
    let conf = s.config.resolved_config_dir().unwrap();
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("telemetry_state.toml"), "garbage").unwrap();
    let lock = fs::File::create(conf.join(crate::base::paths::LOCK_FILE)).unwrap();
    lock.lock().unwrap();
    let start = std::time::Instant::now();
    let d = resolve_inner(&s.config, false);
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    assert!(!d.enabled);
    assert_eq!(
        d.rule.to_string(),
        "the state file is busy (locked by another process)"
    );
    assert!(conf.join("telemetry_state.toml").exists());
}

#[test]
fn a_higher_rule_never_touches_a_corrupt_state_file() {
    let s = setup(&[DoNotTrack]);
    let conf = s.config.resolved_config_dir().unwrap();
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("telemetry_state.toml"), "garbage").unwrap();
    assert_eq!(resolve_inner(&s.config, false).rule, Rule::DoNotTrack);
    assert!(conf.join("telemetry_state.toml").exists());
}

#[test]
fn resolving_writes_nothing() {
    for given in [&[][..], &[OptOut], &[Ci], &[Project(true)]] {
        let s = setup(given);
        resolve_inner(&s.config, false);
        assert!(
            !s.config.resolved_config_dir().unwrap().exists(),
            "{given:?}"
        );
    }
}

#[test]
fn falsy_values_do_not_match_rules_2_and_3() {
    for value in ["", "0", "false", "FALSE", "no", "No"] {
        let env = Env::from_pairs([("DO_NOT_TRACK", value), ("ACME_DISABLE_TELEMETRY", value)]);
        let s = setup(&[User(true)]);
        let d = resolve_inner(&s.config.clone().env(env), false);
        assert_eq!(d.rule.number(), 8, "{value:?}");
    }
    for value in ["1", "true", "yes", "anything"] {
        let env = Env::from_pairs([("DO_NOT_TRACK", value)]);
        let s = setup(&[User(true)]);
        assert_eq!(
            resolve_inner(&s.config.clone().env(env), false).rule,
            Rule::DoNotTrack
        );
    }
}

#[test]
fn the_app_prefix_comes_from_the_host_name() {
    let s = setup(&[]);
    let config = Config::new("my-tool", "1")
        .config_dir(s.config.resolved_config_dir().unwrap())
        .policy_file(s.config.resolved_policy_file().unwrap())
        .current_dir(s.config.current_dir.clone().unwrap())
        .env(Env::from_pairs([("MY_TOOL_DISABLE_TELEMETRY", "1")]));
    assert_eq!(
        resolve_inner(&config, false).rule.to_string(),
        "MY_TOOL_DISABLE_TELEMETRY"
    );
}

#[test]
fn the_policy_file_comes_from_the_environment_too() {
    let s = setup(&[User(true)]);
    let policy = s
        .config
        .resolved_config_dir()
        .unwrap()
        .with_extension("policy");
    fs::write(&policy, "# org-wide\ndisabled = true\nother = 1\n").unwrap();
    // The system file (injected: never the real /etc) is absent here.
    let config = s.config.clone().env(Env::from_pairs([(
        "ACME_TELEMETRY_POLICY_FILE",
        policy.to_str().unwrap(),
    )]));
    assert_eq!(resolve_inner(&config, false).rule, Rule::Policy);
    fs::write(&policy, "disabled = false\n").unwrap();
    assert_eq!(resolve_inner(&config, false).rule.number(), 8);
}

/// The re-checks before every send read a policy file again only when it changed; one
/// modified in the last few seconds every time, since a filesystem that keeps times to the
/// second cannot tell two writes within it apart.
#[test]
fn a_policy_file_is_read_again_only_when_it_changed() {
    use std::time::{Duration, SystemTime};
    let s = setup(&[User(true)]);
    let policy = s.config.resolved_policy_file().unwrap();
    let reads = || {
        super::policy::READS
            .lock()
            .unwrap()
            .iter()
            .filter(|p| **p == policy)
            .count()
    };
    let file = || fs::OpenOptions::new().write(true).open(&policy).unwrap();
    let a_minute_ago = SystemTime::now() - Duration::from_secs(60);

    fs::write(&policy, "disabled = true\n").unwrap();
    assert_eq!(recheck(&s.config).unwrap().rule, Rule::Policy);
    assert_eq!(recheck(&s.config).unwrap().rule, Rule::Policy);
    assert_eq!(reads(), 2, "just written: read every time");

    file().set_modified(a_minute_ago).unwrap();
    assert_eq!(recheck(&s.config).unwrap().rule, Rule::Policy);
    assert_eq!(recheck(&s.config).unwrap().rule, Rule::Policy);
    assert_eq!(
        reads(),
        3,
        "settled and unchanged: read once more, then remembered"
    );

    // Rewritten in place to the same length, its modified time put back: the change time,
    // which no writer can set, still tells (once the kernel's clock for file times, which
    // may tick only every few milliseconds, has moved on).
    std::thread::sleep(Duration::from_millis(50));
    let rewrite = file();
    std::io::Write::write_all(&mut &rewrite, b"disabled = 1234\n").unwrap();
    rewrite.set_modified(a_minute_ago).unwrap();
    assert_eq!(
        recheck(&s.config).unwrap().rule,
        Rule::PolicyUnreadable(FileProblem::Invalid)
    );
    assert_eq!(reads(), 4);
    fs::write(&policy, "disabled = false\n").unwrap();
    assert_eq!(recheck(&s.config), None);
}

#[test]
fn the_variable_cannot_hide_the_system_policy_file() {
    let s = setup(&[User(true), Policy]);
    let config = s.config.clone().env(Env::from_pairs([(
        "ACME_TELEMETRY_POLICY_FILE",
        "/nonexistent/telemetry.toml",
    )]));
    assert_eq!(resolve_inner(&config, false).rule, Rule::Policy);
    // Either file saying `disabled = true` decides, whatever the other one says.
    let other = s
        .config
        .resolved_config_dir()
        .unwrap()
        .with_extension("policy");
    fs::write(&other, "disabled = maybe").unwrap();
    let config = s.config.clone().env(Env::from_pairs([(
        "ACME_TELEMETRY_POLICY_FILE",
        other.to_str().unwrap(),
    )]));
    assert_eq!(resolve_inner(&config, false).rule, Rule::Policy);
}

#[test]
fn project_file_is_found_up_to_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let deep = repo.join("a").join("b");
    fs::create_dir_all(&deep).unwrap();
    fs::create_dir(repo.join(".git")).unwrap();
    // Above the repository root: never applies.
    fs::write(dir.path().join(".telemetry"), "consent: true").unwrap();
    assert_eq!(find_project_file(&deep), None);
    fs::write(repo.join(".telemetry"), "consent: false").unwrap();
    assert_eq!(find_project_file(&deep), Some(repo.join(".telemetry")));
    fs::write(deep.join(".telemetry"), "consent: true").unwrap();
    assert_eq!(find_project_file(&deep), Some(deep.join(".telemetry")));
    // Outside a repository: the current directory only.
    let loose = dir.path().join("loose").join("x");
    fs::create_dir_all(&loose).unwrap();
    assert_eq!(find_project_file(&loose), None);
    assert_eq!(
        find_project_file(dir.path()),
        Some(dir.path().join(".telemetry"))
    );
}

#[test]
fn project_file_syntax() {
    assert_eq!(parse_project("consent: true"), Ok(Some(true)));
    assert_eq!(
        parse_project("# team choice\nconsent = \"false\"\n"),
        Ok(Some(false))
    );
    assert_eq!(parse_project("other: 1\n\n"), Ok(None));
    assert_eq!(parse_project("consent: maybe"), Err(()));
    assert_eq!(parse_project("just words"), Err(()));
}

#[test]
fn recheck_sees_rules_2_to_5_only() {
    assert_eq!(recheck(&setup(&[Ci, User(false)]).config), None);
    for (given, rule) in [
        (DoNotTrack, 2),
        (AppDisable, 3),
        (Policy, 4),
        (Enabled(false), 5),
    ] {
        let d = recheck(&setup(&[given]).config).unwrap();
        assert_eq!((d.enabled, d.rule.number()), (false, rule));
    }
}

#[test]
fn set_and_reset_consent_audit_each_change_once() {
    let _process = crate::process::test_lock();
    let s = setup(&[]);
    let store = StateStore::new(s.config.resolved_config_dir().unwrap());
    // Reset with nothing stored creates nothing.
    reset_with(&s.config).unwrap();
    assert!(!store.dir().exists());
    let on = record(&s.config, true, How::Cli).unwrap();
    let id = on.new.installation_id.unwrap();
    record(&s.config, true, How::Cli).unwrap();
    let off = record(&s.config, false, How::Api).unwrap();
    assert_eq!(off.new.installation_id, Some(id));
    fs::create_dir_all(store.dir().join(SPOOL_DIR)).unwrap();
    // A kept corrupt copy holds the old installation id: reset deletes it too.
    let kept = store.dir().join("telemetry_state.toml.corrupt-2031-07-01");
    fs::write(
        &kept,
        format!("installation_id = \"{}\"", on.new.installation_id.unwrap()),
    )
    .unwrap();
    let reset = reset_with(&s.config).unwrap();
    assert!(!kept.exists());
    assert_eq!(reset.new, State::default());
    assert!(
        !store.dir().join(SPOOL_DIR).exists(),
        "disable/reset delete the spool"
    );
    assert_eq!(
        store.audit_lines().unwrap(),
        [
            "2031-07-08 unset -> enabled (cli)",
            "2031-07-08 enabled -> disabled (api)",
            "2031-07-08 disabled -> unset (reset)",
        ]
    );
    assert_eq!(resolve_inner(&s.config, false).rule.number(), 9);
}

/// A yes given for an earlier consent version counts for nothing, for an opt-out host too;
/// a no holds for every version; a yes for the current version (or a later one) counts.
#[test]
fn a_yes_counts_only_for_the_consent_version_it_was_given_for() {
    let resolve_at =
        |s: &Setup, version: u32| resolve_inner(&s.config.clone().consent_version(version), false);
    let s = setup(&[User(true)]);
    assert!(resolve_at(&s, 1).enabled);
    let d = resolve_at(&s, 2);
    assert_eq!(
        (d.enabled, d.rule.clone()),
        (
            false,
            Rule::OutdatedYes {
                agreed: 1,
                current: 2
            }
        )
    );
    assert_eq!(
        (d.rule.number(), d.rule.key()),
        (8, "user_decision_outdated")
    );
    let s = setup(&[User(true), OptOut]);
    assert!(!resolve_at(&s, 2).enabled);
    let s = setup(&[User(false)]);
    assert_eq!(resolve_at(&s, 5).rule, Rule::User(Some(today())));

    // Saying yes again records the version, audited; it then also counts for lower ones.
    let s = setup(&[User(true)]);
    let v3 = s.config.clone().consent_version(3);
    let change = record(&v3, true, How::Cli).unwrap();
    assert_eq!(change.new.consent_version, Some(3));
    assert!(resolve_at(&s, 3).enabled && resolve_at(&s, 2).enabled);
    assert!(!resolve_at(&s, 4).enabled);
    let store = StateStore::new(s.config.resolved_config_dir().unwrap());
    let audit = store.audit_lines().unwrap();
    assert!(
        audit
            .last()
            .unwrap()
            .ends_with("enabled -> enabled (consent version 3) (cli)"),
        "{audit:?}"
    );
    // An older release saying yes again keeps the higher version.
    let v2 = s.config.clone().consent_version(2);
    assert_eq!(
        record(&v2, true, How::Cli).unwrap().new.consent_version,
        Some(3)
    );
    // A no forgets the version: it holds for all of them.
    let change = record(&v3, false, How::Cli).unwrap();
    assert_eq!(change.new.consent_version, None);
    assert!(!resolve_at(&s, 1).enabled);
}
