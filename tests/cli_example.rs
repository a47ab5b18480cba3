//! The "done means" lines of the consent issue, against the real `acme` example binary.

#[path = "common/acme.rs"]
mod acme;

use acme::Sandbox;

fn first_two_lines(s: &str) -> (String, String) {
    let mut lines = s.lines();
    (
        lines.next().unwrap_or("").to_owned(),
        lines.next().unwrap_or("").to_owned(),
    )
}

#[test]
fn fresh_is_disabled_then_enable_enables() {
    let sb = Sandbox::new();
    let out = sb.stdout(&["telemetry", "status"], &[]);
    assert!(
        out.starts_with("Telemetry: Disabled\nDecided by: the default"),
        "{out}"
    );
    assert!(out.contains("\nInstallation ID: <none>\n"), "{out}");
    assert!(out.contains("\nLast sent: Never\n"), "{out}");
    assert!(!sb.config_dir().exists(), "status while off writes nothing");

    let out = sb.stdout(&["telemetry", "enable"], &[]);
    assert!(out.starts_with("Telemetry enabled."), "{out}");
    let out = sb.stdout(&["telemetry", "status"], &[]);
    assert!(
        out.starts_with("Telemetry: Enabled\nDecided by: your decision"),
        "{out}"
    );
    assert!(!out.contains("<none>"), "an installation id now: {out}");
    assert_eq!(sb.audit_lines().len(), 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(sb.config_dir().join("telemetry_state.toml")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn each_off_switch_disables_and_names_the_rule() {
    let sb = Sandbox::new();
    sb.stdout(&["telemetry", "enable"], &[]);
    let mut cases: Vec<(Vec<(String, String)>, String)> = vec![
        (
            vec![("DO_NOT_TRACK".into(), "1".into())],
            "DO_NOT_TRACK".into(),
        ),
        (
            vec![("ACME_DISABLE_TELEMETRY".into(), "1".into())],
            "ACME_DISABLE_TELEMETRY".into(),
        ),
        (
            vec![("CI".into(), "true".into())],
            "CI environment (CI)".into(),
        ),
        (
            vec![("CI".into(), "woodpecker".into())],
            "CI environment: Woodpecker (CI=woodpecker)".into(),
        ),
        (
            vec![
                ("TASK_ID".into(), "1".into()),
                ("RUN_ID".into(), "2".into()),
            ],
            "CI environment: TaskCluster (TASK_ID with RUN_ID)".into(),
        ),
        (
            vec![("CI_NAME".into(), "codeship".into())],
            "CI environment: Codeship (CI_NAME=codeship)".into(),
        ),
    ];
    // Every row of the table, `Equals` and `With` rows included, each with the environment
    // that shows it; `Decided by:` names the service and the variable as it matched.
    for row in telemetry::consent::CI_ENVIRONMENTS {
        let env = row.example_env();
        let mut vars = vec![(row.variable.to_owned(), env.get(row.variable).unwrap())];
        let how = match row.matches {
            telemetry::consent::CiMatch::Set => row.variable.to_owned(),
            telemetry::consent::CiMatch::Equals(value) => format!("{}={value}", row.variable),
            telemetry::consent::CiMatch::Without(other) => {
                format!("{} without {other}", row.variable)
            }
            telemetry::consent::CiMatch::With(other) => {
                vars.push((other.to_owned(), env.get(other).unwrap()));
                format!("{} with {other}", row.variable)
            }
            telemetry::consent::CiMatch::Contains(text) => {
                format!("{} containing {text}", row.variable)
            }
            other => panic!("a kind of row this test does not know: {other:?}"),
        };
        let rule = if row.service == row.variable {
            format!("CI environment ({how})")
        } else {
            format!("CI environment: {} ({how})", row.service)
        };
        cases.push((vars, rule));
    }
    for (vars, rule) in &cases {
        let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (&**k, &**v)).collect();
        let out = sb.stdout(&["telemetry", "status"], &extra);
        let (first, second) = first_two_lines(&out);
        assert_eq!(first, "Telemetry: Disabled", "{vars:?}");
        assert_eq!(second, format!("Decided by: {rule}"), "{vars:?}");
    }
    // Still enabled without them.
    assert!(
        sb.stdout(&["telemetry", "status"], &[])
            .starts_with("Telemetry: Enabled\n")
    );
}

#[test]
fn app_enabled_overrides_ci_but_not_the_policy_file() {
    let sb = Sandbox::new();
    let on = [
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("ACME_TELEMETRY_ENABLED", "1"),
    ];
    let out = sb.stdout(&["telemetry", "status"], &on);
    assert_eq!(
        first_two_lines(&out),
        (
            "Telemetry: Enabled".into(),
            "Decided by: ACME_TELEMETRY_ENABLED".into()
        )
    );
    // The variable's file cannot hide the system one (`/etc/acme/telemetry.toml`).
    std::fs::write(sb.system_policy_file(), "disabled = true\n").unwrap();
    let mut skip = on.to_vec();
    skip.push(("ACME_TELEMETRY_POLICY_FILE", "/nonexistent/telemetry.toml"));
    let out = sb.stdout(&["telemetry", "status"], &skip);
    assert_eq!(
        first_two_lines(&out),
        (
            "Telemetry: Disabled".into(),
            "Decided by: the system policy file (disabled = true)".into()
        )
    );
    std::fs::remove_file(sb.system_policy_file()).unwrap();
    std::fs::write(sb.policy_file(), "disabled = true\n").unwrap();
    let out = sb.stdout(&["telemetry", "status"], &on);
    assert_eq!(
        first_two_lines(&out),
        (
            "Telemetry: Disabled".into(),
            "Decided by: the system policy file (disabled = true)".into()
        )
    );
}

#[test]
fn a_garbage_state_file_is_kept_aside_and_decides_off() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.config_dir()).unwrap();
    let garbage = "enabled = [[[ \u{7f} not toml at all";
    std::fs::write(sb.config_dir().join("telemetry_state.toml"), garbage).unwrap();
    let out = sb.stdout(&["telemetry", "status"], &[]);
    let (first, second) = first_two_lines(&out);
    assert_eq!(first, "Telemetry: Disabled");
    assert!(
        second.starts_with(
            "Decided by: the state file could not be read (kept as telemetry_state.toml.corrupt-"
        ),
        "{second}"
    );
    let kept: Vec<_> = std::fs::read_dir(sb.config_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), garbage);
    assert!(second.contains(kept[0].file_name().unwrap().to_str().unwrap()));
    // The next runs too, even for a host whose default is on: the user's last word is
    // unknown. Until a new decision, which clears the condition.
    let out = sb.stdout(&["telemetry", "status"], &[]);
    assert_eq!(first_two_lines(&out), (first, second));
    sb.stdout(&["telemetry", "disable"], &[]);
    let out = sb.stdout(&["telemetry", "status"], &[]);
    assert!(out.contains("Decided by: your decision"), "{out}");
    // `reset` forgets the kept copy (it may hold the old installation id).
    sb.stdout(&["telemetry", "reset"], &[]);
    assert!(!kept[0].exists());
    let out = sb.stdout(&["telemetry", "status"], &[]);
    assert!(out.contains("Decided by: the default"), "{out}");
}

#[test]
fn a_relative_config_dir_decides_off_and_says_so() {
    let sb = Sandbox::new();
    let out = sb.stdout(
        &["telemetry", "status"],
        &[("ACME_TELEMETRY_CONFIG_DIR", "conf")],
    );
    assert_eq!(
        first_two_lines(&out),
        (
            "Telemetry: Disabled".into(),
            "Decided by: ACME_TELEMETRY_CONFIG_DIR is not an absolute path".into()
        )
    );
    assert!(!sb.work_dir().join("conf").exists());
}

#[test]
fn help_run_and_bad_commands() {
    let sb = Sandbox::new();
    let help = sb.stdout(&["--help"], &[]);
    assert!(
        help.contains("run")
            && help.contains("telemetry")
            && help.contains("Manage usage telemetry"),
        "{help}"
    );
    let run = sb.acme(&["run"], &[]);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "pipeline finished: 8 words\n"
    );
    assert!(
        run.stderr.is_empty(),
        "no prompt without a terminal: {run:?}"
    );
    let bad = sb.acme(&["telemetry", "frobnicate"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    // clap's own words for it.
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unrecognized subcommand 'frobnicate'"));
    let bad = sb.acme(&["telemetry", "enable", "--now"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        !sb.config_dir().exists(),
        "a rejected command writes nothing"
    );
}

/// acme is a clap program: its masking allowlist is read from its clap definition, with the
/// choices of `--env` kept (the host opted in for that argument) and every free value masked.
#[test]
fn the_recorded_command_follows_the_clap_definition() {
    let sb = Sandbox::new();
    let out = sb.acme(
        &[
            "run",
            "--pipeline",
            "nightly",
            "--env",
            "staging",
            "--verbose",
            "/home/alice/data.csv",
        ],
        // On for this run, shown on stderr instead of sent.
        &[
            ("ACME_TELEMETRY_ENABLED", "1"),
            ("ACME_TELEMETRY_DEBUG", "1"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // After acme's own `--verbose` line, what telemetry would send.
    let shown = stderr
        .split_once("telemetry (debug, not sent):")
        .map_or("", |(_, batch)| batch);
    assert!(
        shown.contains("\"command\": \"acme run --pipeline ***** --env staging --verbose *****\""),
        "{shown}"
    );
    assert!(
        !shown.contains("nightly") && !shown.contains("alice"),
        "{shown}"
    );
}
