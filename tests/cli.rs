//! The management commands as a library call, with injected environment and writers.

use telemetry::config::Env;

mod common;

use common::isolated_config as config;

#[test]
fn the_cli_library_writes_to_the_given_writers() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), Env::empty()).endpoint("https://t.example/v1");
    let run = |args: &[&str]| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = telemetry::cli::run_with(&config, args, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 0);
    assert!(err.is_empty());
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines[0], "Telemetry: Disabled");
    assert_eq!(
        lines[1],
        "Decided by: the default (opt-in: off until enabled)"
    );
    assert_eq!(lines[2], "Installation ID: <none>");
    assert!(lines[3].starts_with("Session ID: ") && lines[3].len() == "Session ID: ".len() + 36);
    assert_eq!(lines[4], "Last sent: Never");
    assert_eq!(lines[5], "Endpoint: https://t.example/v1");

    assert_eq!(run(&["enable"]).0, 0);
    let (_, json, _) = run(&["status", "--json"]);
    assert!(
        json.starts_with("{\"enabled\":true,\"decided_by\":\"your decision"),
        "{json}"
    );
    assert!(
        json.contains("\"rule_number\":8") && json.contains("\"last_sent\":null"),
        "{json}"
    );
    let (code, out, _) = run(&["reset"]);
    assert_eq!(code, 0, "{out}");
    assert!(run(&["status"]).1.contains("Installation ID: <none>"));

    for (args, code, needle) in [
        (&["help"][..], 0, ""),
        (&["preview"], 0, "Nothing is waiting to be sent"),
        (&["schema"], 0, ""),
        (&["schema", "--json"], 0, ""),
        (&["schema", "--yaml"], 2, "unexpected argument '--yaml'"),
        (&["nope"], 2, "unknown command 'nope'"),
        (&["status", "--yaml"], 2, "unexpected argument '--yaml'"),
        (&["disable", "now"], 2, "unexpected argument 'now'"),
    ] {
        let (got, out, err) = run(args);
        assert_eq!(got, code, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        if args == ["help"] {
            assert!(out.contains("Usage: acme telemetry <command>"));
        }
    }
}

/// A `.telemetry` that says `consent: true` (a cloned repository's, say) is not the user's
/// consent: over no decision and over `disable`, telemetry stays off, and `status` says the
/// file was passed over and why.
#[test]
fn a_project_file_can_only_turn_telemetry_off() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("repo");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join(".telemetry"), "consent: true\n").unwrap();
    let config = config(dir.path(), Env::empty())
        .endpoint("https://t.example/v1")
        .current_dir(&work);
    let run = |args: &[&str]| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        telemetry::cli::run_with(&config, args, &mut out, &mut err);
        String::from_utf8(out).unwrap()
    };
    let note = "Note: the project file .telemetry says consent: true, which is not your \
                consent; a project file can only turn telemetry off";
    let out = run(&["status"]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "Telemetry: Disabled",
            "Decided by: the default (opt-in: off until enabled)",
            note
        ],
        "{out}"
    );
    run(&["disable"]);
    let out = run(&["status"]);
    assert!(
        out.starts_with("Telemetry: Disabled\nDecided by: your decision"),
        "{out}"
    );
    assert!(out.contains(note), "{out}");
    assert!(run(&["status", "--json"]).contains("\"project_yes_ignored\":true"));
    // The user's yes is what turns it on; the file is then not what decided, and the note
    // still says it was not used.
    run(&["enable"]);
    let out = run(&["status"]);
    assert!(
        out.starts_with("Telemetry: Enabled\nDecided by: your decision"),
        "{out}"
    );
    // A `consent: false` still decides off, over the user's yes.
    std::fs::write(work.join(".telemetry"), "consent: false\n").unwrap();
    let out = run(&["status"]);
    assert!(
        out.starts_with("Telemetry: Disabled\nDecided by: the project file .telemetry\n"),
        "{out}"
    );
    assert!(!out.contains("Note:"), "{out}");
}
