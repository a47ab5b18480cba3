//! The canary test: proof that nothing of the host, the user or the machine leaves with
//! telemetry, or is written or logged by it (docs/sending.md, "What is sent").
//!
//! `examples/canary.rs` is a host whose module, annotated fns, their arguments, results,
//! error messages and panic message all carry unique canary strings. This test adds more from
//! outside: the temporary directory, the config dir and the working directory are named with
//! canaries, and so are an environment variable, `PROBE_TELEMETRY_ENVIRONMENT`, `HOME`,
//! `USER`, `LOGNAME`, `HOSTNAME` and four words of the command line. It then runs the host
//! as real processes, with telemetry on, against receivers on 127.0.0.1, and checks that every
//! event type was received, before looking for every canary in everything that came out.
//!
//! Each canary ends in a code of 8 random lowercase letters and digits, found nowhere else.
//! The search looks for that code, ignoring case, so a canary is found however it was
//! re-spelled (upper case, `-` turned into `_`, a PascalCase type name, a path cut short).
//! The machine's host name (`/proc/sys/kernel/hostname`, `gethostname`) and the user's name
//! (the runner's `USER` and `LOGNAME`, and the account's name) are looked for too, as whole
//! strings ignoring case, except those shorter than 4 bytes or that occur in the checked-in
//! `TELEMETRY.md` (such as `linux`): those would match short fragments or the vocabulary of
//! the wire format, not a leak.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::receiver::{Receiver, Reply};
use serde_json::Value;

const HOST_SOURCE: &str = include_str!("../examples/canary.rs");
const TELEMETRY_MD: &str = include_str!("../TELEMETRY.md");

/// The code at the end of every canary: this many letters and digits.
const CODE_LEN: usize = 8;

/// Canaries written in `examples/canary.rs`, each with where it is.
const IN_HOST: &[(&str, &str)] = &[
    ("canary_mod_bzzjwbki", "the host's module name"),
    ("canary_fn_echo_cswey4k8", "an annotated fn's name"),
    ("canary_fn_io_dusw7mug", "an annotated fn's name"),
    ("canary_fn_host_error_gq3c5hvi", "an annotated fn's name"),
    ("canary_fn_other_error_gupnhe91", "an annotated fn's name"),
    ("canary_fn_panic_i5emwj8r", "an annotated fn's name"),
    ("canary_fn_cached_ijhf5wq1", "a cached task's name"),
    ("canary_fn_async_is4utqce", "an async task's name"),
    ("canary_flow_ix907nk3", "the flow's name"),
    ("CanaryStructK6xwyv4g", "an annotated method's type"),
    ("canary_method_n5yj2egw", "an annotated method's name"),
    ("canary-result-nqybcb3u", "a task's result"),
    ("canary-io-message-p9x7xx8f", "an io::Error's message"),
    ("canary-host-error-qzyxrdlc", "the host error's message"),
    (
        "canary-other-error-ri3047uv",
        "an undeclared error's message",
    ),
    ("canary-panic-message-rnd9phb3", "a panic message"),
];

/// Canaries this test puts around the host.
const TEMP_DIR: &str = "canary-tmpdir-rogfj0za";
const CONFIG_DIR: &str = "conf-canary-rq32qq35";
const WORK_DIR: &str = "work-canary-rvyu0xt4";
const HOME_DIR: &str = "home-canary-t80p68gg";
const ENV_VALUE: &str = "canary-env-value-tpg9pm5j";
const ENVIRONMENT: &str = "canary-environment-ubm2k4zv";
const USER: &str = "canary-user-vcdm7ym0";
const HOSTNAME: &str = "canary-hostname-whivq9na";
const OPTION_VALUE: &str = "canary-option-value-zejsjdti";
const FLAG_VALUE: &str = "canary-flag-value-zufkbp8k";
const POSITIONAL: &str = "canary-positional-zztty8e1";
const UNKNOWN_FLAG: &str = "--canary-unknown-flag-aufgllw9";

const AROUND_HOST: &[(&str, &str)] = &[
    (TEMP_DIR, "the name of the temporary directory"),
    (CONFIG_DIR, "the name of the config dir"),
    (WORK_DIR, "the name of the working directory"),
    (HOME_DIR, "the name of HOME"),
    (ENV_VALUE, "the value of PROBE_ACCESS_TOKEN"),
    (ENVIRONMENT, "the value of PROBE_TELEMETRY_ENVIRONMENT"),
    (USER, "the value of USER and LOGNAME"),
    (HOSTNAME, "the value of HOSTNAME"),
    (OPTION_VALUE, "the value of an option (`--label VALUE`)"),
    (FLAG_VALUE, "the value of an option (`--mode=VALUE`)"),
    (POSITIONAL, "a positional argument"),
    (UNKNOWN_FLAG, "an undeclared flag"),
];

/// The command line of every `probe run`.
fn run_args() -> Vec<String> {
    [
        "run",
        "--verbose",
        "--label",
        OPTION_VALUE,
        &format!("--mode={FLAG_VALUE}"),
        POSITIONAL,
        UNKNOWN_FLAG,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// What `run_args` must become in the `cli_command` event.
const MASKED_RUN: &str = "probe run --verbose --label ***** --mode ***** ***** *****";

/// A string that must not be found, and what it stands for.
struct Needle {
    /// Lowercase ASCII.
    text: String,
    what: String,
}

fn needles() -> Vec<Needle> {
    let mut needles: Vec<Needle> = IN_HOST
        .iter()
        .chain(AROUND_HOST)
        .map(|(canary, what)| Needle {
            text: code(canary),
            what: format!("canary `{canary}` ({what})"),
        })
        .collect();
    needles.extend(machine_names().into_iter().map(|(name, what)| Needle {
        text: name.to_ascii_lowercase(),
        what: format!("{what} `{name}`"),
    }));
    needles
}

/// The code that ends `canary`, lowercase.
fn code(canary: &str) -> String {
    canary[canary.len() - CODE_LEN..].to_ascii_lowercase()
}

/// The machine's host name and the user's name, where they are long and rare enough to
/// search for (see the module's doc).
fn machine_names() -> Vec<(String, &'static str)> {
    let mut found: Vec<(String, &'static str)> = Vec::new();
    if let Ok(name) = fs::read_to_string("/proc/sys/kernel/hostname") {
        found.push((name.trim().to_owned(), "the machine's host name"));
    }
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length, which is what is passed.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
            found.push((name, "the machine's host name"));
        }
    }
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(name) = std::env::var(var) {
            found.push((name.trim().to_owned(), "the user's name"));
        }
    }
    #[cfg(unix)]
    found.extend(account_name().map(|name| (name, "the user's name")));
    let vocabulary = TELEMETRY_MD.to_ascii_lowercase();
    let mut seen = BTreeSet::new();
    found.retain(|(name, _)| {
        let lower = name.to_ascii_lowercase();
        lower.len() >= 4 && !vocabulary.contains(&lower) && seen.insert(lower)
    });
    found
}

/// The name of the account the test runs as (for when `USER` and `LOGNAME` are unset, as
/// in many containers).
#[cfg(unix)]
fn account_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: `passwd` is plain data, filled in by `getpwuid_r` before it is read; `buf` is
    // writable for the length passed; `pw_name` points into `buf` and is read while it lives.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut entry,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || entry.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(entry.pw_name);
        Some(name.to_string_lossy().into_owned())
    }
}

/// Everything the test looked at: where it came from, and its bytes.
#[derive(Default)]
struct Seen {
    places: Vec<(String, Vec<u8>)>,
}

impl Seen {
    fn add(&mut self, place: impl Into<String>, bytes: &[u8]) {
        self.places.push((place.into(), bytes.to_vec()));
    }

    fn output(&mut self, step: &str, out: &Output) {
        self.add(format!("stdout of {step}"), &out.stdout);
        self.add(format!("stderr of {step}"), &out.stderr);
        let dumped = hex_dumps(&out.stderr);
        if !dumped.is_empty() {
            self.add(
                format!("the bytes ureq hex-dumped to stderr of {step}"),
                &dumped,
            );
        }
    }

    fn received(&mut self, name: &str, receiver: &Receiver) {
        for (i, head) in receiver.heads().iter().enumerate() {
            self.add(format!("request head #{i} at the {name}"), head.as_bytes());
        }
        for (i, body) in receiver.bodies().iter().enumerate() {
            self.add(format!("request body #{i} at the {name}"), body);
        }
    }

    /// Every file under `root`, named relative to it.
    fn files(&mut self, root: &Path, when: &str) {
        for path in files_under(root) {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let bytes = fs::read(&path).unwrap();
            self.add(format!("file {name} ({when})"), &bytes);
        }
    }
}

/// The log target whose `trace` records are hex dumps of what the HTTP client sends and
/// receives, 16 bytes a line: `504f 5354 202f 7631 2f62 6174 6368 2048  POST./v1/batch.H`.
const HEX_DUMP: &str = "[TRACE ureq_proto::util] ";

/// The bytes of every hex dump line in `stderr`, joined, so a string cut across two lines
/// (or shown as `.` in the text column) is found too.
fn hex_dumps(stderr: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in String::from_utf8_lossy(stderr).lines() {
        let Some(row) = line.strip_prefix(HEX_DUMP) else {
            continue;
        };
        // 8 groups of 4 hex digits (`--` past the end of the data), each and a space.
        let hex: String = row.chars().take(40).filter(|c| *c != ' ').collect();
        for pair in hex.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).unwrap_or("--");
            if let Ok(byte) = u8::from_str_radix(pair, 16) {
                bytes.push(byte);
            }
        }
    }
    bytes
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// One line per needle found in a place, with some bytes around it.
fn leaks(needles: &[Needle], places: &[(String, Vec<u8>)]) -> Vec<String> {
    const CONTEXT: usize = 40;
    let mut found = Vec::new();
    for (place, bytes) in places {
        let lower = bytes.to_ascii_lowercase();
        for needle in needles {
            let text = needle.text.as_bytes();
            if text.is_empty() {
                continue;
            }
            if let Some(at) = lower.windows(text.len()).position(|w| w == text) {
                let from = at.saturating_sub(CONTEXT);
                let to = (at + text.len() + CONTEXT).min(bytes.len());
                let around = String::from_utf8_lossy(&bytes[from..to]);
                found.push(format!(
                    "{} found in {place} at byte {at}: …{}…",
                    needle.what,
                    around.escape_debug()
                ));
            }
        }
    }
    found
}

/// The host, run with an environment built from scratch inside `root`.
struct Host {
    root: PathBuf,
}

impl Host {
    fn config_dir(&self) -> PathBuf {
        self.root.join(CONFIG_DIR)
    }

    fn work_dir(&self) -> PathBuf {
        self.root.join(WORK_DIR)
    }

    fn spool_files(&self) -> Vec<PathBuf> {
        files_under(&self.config_dir().join("telemetry_spool"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect()
    }

    fn run(&self, args: &[String], endpoint: Option<&str>, extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(common::example_exe("canary"));
        cmd.args(args)
            .env_clear()
            .env("PROBE_TELEMETRY_CONFIG_DIR", self.config_dir())
            // Both absent: no policy, and never the real /etc/probe/telemetry.toml.
            .env("PROBE_TELEMETRY_POLICY_FILE", self.root.join("policy.toml"))
            .env(
                "PROBE_EXAMPLE_SYSTEM_POLICY",
                self.root.join("system-policy.toml"),
            )
            .env("PROBE_TELEMETRY_ENVIRONMENT", ENVIRONMENT)
            .env("PROBE_ACCESS_TOKEN", ENV_VALUE)
            .env("HOME", self.root.join(HOME_DIR))
            .env("USER", USER)
            .env("LOGNAME", USER)
            .env("HOSTNAME", HOSTNAME)
            .env("PWD", self.work_dir())
            .current_dir(self.work_dir());
        if let Some(url) = endpoint {
            cmd.env("PROBE_TELEMETRY_ENDPOINT", url);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run examples/canary.rs");
        assert!(
            out.status.success(),
            "probe {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn events(bodies: &[Vec<u8>]) -> Vec<Value> {
    bodies
        .iter()
        .flat_map(|b| {
            let batch: Value = serde_json::from_slice(b).expect("a batch is JSON");
            batch["events"].as_array().expect("events").clone()
        })
        .collect()
}

#[test]
fn no_canary_is_sent_spooled_previewed_written_or_logged() {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_DIR}-"))
        .tempdir()
        .unwrap();
    let host = Host {
        root: tmp.path().to_path_buf(),
    };
    fs::create_dir(host.work_dir()).unwrap();
    fs::create_dir(host.root.join(HOME_DIR)).unwrap();
    let mut seen = Seen::default();

    // 1. The user says yes.
    let out = host.run(&words(&["telemetry", "enable"]), None, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Telemetry enabled"));
    seen.output("`probe telemetry enable`", &out);

    // 2. A run whose endpoint keeps failing: its batch stays in the spool.
    let failing = Receiver::with_script(vec![Reply::Status(503); 64]);
    let out = host.run(&run_args(), Some(&failing.url()), &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("telemetry on"));
    seen.output("`probe run` against the failing receiver", &out);
    assert!(failing.requests() >= 1, "the failing endpoint was tried");
    seen.received("failing receiver", &failing);
    let spooled: Vec<Vec<u8>> = host
        .spool_files()
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(!spooled.is_empty(), "the unsent batch is spooled");
    seen.files(&host.root, "after the failing run");

    // 3. `preview` shows the spooled batch and sends nothing.
    let live = Receiver::start();
    let out = host.run(&words(&["telemetry", "preview"]), Some(&live.url()), &[]);
    let previewed: Value = serde_json::from_slice(&out.stdout).expect("preview prints JSON");
    assert!(!previewed["events"].as_array().unwrap().is_empty());
    seen.output("`probe telemetry preview`", &out);

    // 4. Debug output: each batch on stderr, nothing sent.
    let out = host.run(
        &run_args(),
        Some(&live.url()),
        &[("PROBE_TELEMETRY_DEBUG", "1")],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("telemetry (debug, not sent)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    seen.output("`probe run` with PROBE_TELEMETRY_DEBUG=1", &out);
    assert_eq!(live.connections(), 0, "preview and debug send nothing");

    // 5. A run against a live receiver, which also delivers the spooled batch.
    let out = host.run(&run_args(), Some(&live.url()), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Every record of every level reaches the host's logger as `[LEVEL target] …`; the
    // runtime and its TLS stack log nothing at all, so there is nothing to leak there.
    assert!(
        !["[ERROR ", "[WARN ", "[INFO ", "[DEBUG ", "[TRACE "]
            .iter()
            .any(|level| stderr.contains(level)),
        "telemetry logged something: {stderr}"
    );
    seen.output("`probe run` against the live receiver", &out);
    let bodies = live.bodies();
    assert!(bodies.len() >= 2, "{} batches received", bodies.len());
    // What the failing receiver got (its bodies are not kept) is what was spooled, and the
    // spool is sent byte for byte: so every byte sent in step 2 is searched below too.
    for batch in &spooled {
        assert!(
            bodies.contains(batch),
            "the spooled batch is delivered as is"
        );
    }
    assert!(host.spool_files().is_empty(), "the spool was emptied");
    seen.received("live receiver", &live);

    // 6. `status`.
    let out = host.run(&words(&["telemetry", "status"]), Some(&live.url()), &[]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.starts_with("Telemetry: Enabled\n"), "{status}");
    assert!(
        !status.contains("Last sent: Never"),
        "a delivery is recorded: {status}"
    );
    seen.output("`probe telemetry status`", &out);
    seen.files(&host.root, "at the end");

    // The host really drove every event type, and errors of every kind.
    let events = events(&bodies);
    let types: BTreeSet<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for expected in [
        "session",
        "usage",
        "error",
        "heartbeat",
        "cli_command",
        "custom",
    ] {
        assert!(types.contains(expected), "no `{expected}` event: {types:?}");
    }
    let error_types: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["errors"]["exception_types"].as_object())
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    for expected in [
        "panic",
        "std::io::Error(Other)",
        "host::DeclaredError",
        "other",
    ] {
        assert!(
            error_types.contains(expected),
            "{expected}: {error_types:?}"
        );
    }
    for event in &events {
        match event["event_type"].as_str() {
            Some("session") => assert_eq!(event["environment"], "other"),
            Some("cli_command") => assert_eq!(event["command"], MASKED_RUN),
            Some("custom") => assert_eq!(event["name"], "probe_finished"),
            Some("usage") => {
                for feature in [
                    "flow_decorator",
                    "async_tasks",
                    "methods",
                    "retries",
                    "caching",
                ] {
                    assert_eq!(event["features"][feature], true, "{feature}: {event}");
                }
            }
            _ => {}
        }
    }

    // Summed over every `usage` event; `metric` is a JSON pointer into `metrics`.
    let total = |metric: &str| -> u64 {
        events
            .iter()
            .filter(|e| e["event_type"] == "usage")
            .filter_map(|e| e["metrics"].pointer(metric)?.as_u64())
            .sum()
    };
    assert!(total("/retry_attempts") > 0, "retries ran");
    assert!(total("/cache_hits") > 0, "the cache was hit");
    assert!(total("/task_runs/panics") > 0, "a task panicked");

    // And nothing of the host, the user or the machine anywhere.
    let needles = needles();
    println!(
        "searched {} places for {} strings ({} of them machine or user names)",
        seen.places.len(),
        needles.len(),
        needles.len() - IN_HOST.len() - AROUND_HOST.len()
    );
    let found = leaks(&needles, &seen.places);
    assert!(
        found.is_empty(),
        "{} leak(s) in {} places searched:\n{}",
        found.len(),
        seen.places.len(),
        found.join("\n")
    );
}

#[test]
fn the_canaries_are_unique_and_planted_in_the_host() {
    let mut codes = BTreeSet::new();
    for (canary, _) in IN_HOST.iter().chain(AROUND_HOST) {
        let code = code(canary);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()), "{canary}");
        // Letters beyond `f`, so a code can never be part of a UUID or a hex number.
        assert!(code.bytes().any(|b| b > b'f'), "{canary}");
        assert!(codes.insert(code), "{canary} shares its code");
    }
    for (canary, what) in IN_HOST {
        assert!(HOST_SOURCE.contains(canary), "{canary} ({what})");
    }
    // The host must not name itself with a canary: its name is sent in `cli_command`.
    assert!(!MASKED_RUN.contains("canary"));
}

#[test]
fn the_search_finds_a_canary_however_it_is_spelled() {
    let needles = needles();
    for spelling in [
        "canary-positional-zztty8e1",
        "CANARY_POSITIONAL_ZZTTY8E1",
        "Zztty8e1",
        "/tmp/x/canary-tmpdir-rogfj0za-abc/",
    ] {
        let places = [("a place".to_owned(), format!("[{spelling}]").into_bytes())];
        let found = leaks(&needles, &places);
        assert_eq!(found.len(), 1, "{spelling}: {found:?}");
        assert!(found[0].contains("found in a place at byte "), "{found:?}");
    }
    // A canary cut across two lines of the HTTP client's hex dump.
    let dump = format!(
        "{HEX_DUMP}706f 7369 7469 6f6e 616c 2d7a 7a74 7479  positional-zztty\n\
         {HEX_DUMP}3865 31-- ---- ---- ---- ---- ---- ----  8e1.............\n"
    );
    let raw = [("a log".to_owned(), dump.clone().into_bytes())];
    assert!(
        leaks(&needles, &raw).is_empty(),
        "cut in two, not found as text"
    );
    let dumped = [("a dump".to_owned(), hex_dumps(dump.as_bytes()))];
    assert_eq!(leaks(&needles, &dumped).len(), 1, "{dumped:?}");
    let clean = [(
        "a batch".to_owned(),
        br#"{"command":"probe run --label *****","os":"linux"}"#.to_vec(),
    )];
    assert!(leaks(&needles, &clean).is_empty());
}
