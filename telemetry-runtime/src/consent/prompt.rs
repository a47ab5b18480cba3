//! The first-run prompt: a boxed notice and `Enable telemetry? [y/N]` on stderr,
//! once per environment, only for a person at a terminal, and only when nothing above the
//! user's own decision (rules 1–7) already decided.
//!
//! The run that shows the notice sends nothing (rule 9): showing it switches this
//! process off, whatever the answer; the answer takes effect at the next start.
//!
//! On unix the answer is read on the calling thread: `poll` on fd 0 with the timeout (No
//! after 10 s by default), then one `read` of what the terminal delivered, straight from the
//! descriptor. No helper thread is left behind, and after a timeout nothing holds std's
//! stdin lock or swallows the host's next line. Elsewhere a helper thread reads one line
//! with std's stdin; after a timeout it stays blocked there until a line arrives or the
//! process exits, and that line is lost to the host (a documented limitation).

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use crate::config::Config;
use crate::consent::rules;
use crate::decision::{DefaultConsent, Rule};
use crate::files::state::{How, State};
use crate::files::store::StateStore;
use crate::process;

/// What the first-run prompt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptOutcome {
    /// The user answered yes; recorded.
    Accepted,
    /// The user answered anything else (or closed the input); recorded as No.
    Declined,
    /// No answer in time; recorded as No.
    TimedOut,
    /// The prompt was not shown, or its answer was not stored.
    NotShown(NotShown),
}

/// Why the first-run prompt was not shown (or its answer not stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotShown {
    /// A rule above the user's decision (1–7: kill switch, environment, policy, CI, project
    /// file) already decided.
    Decided(Rule),
    /// Stdin or stderr is not a terminal: nobody is there to answer.
    NotATerminal,
    /// Shown before in this environment, or the user already decided, possibly while the
    /// prompt waited (`enable` in another terminal, or another prompt): that decision is
    /// kept and the answer given here is not stored.
    AlreadyAsked,
    /// The state file cannot be read or written, so the answer could not be kept.
    StateUnavailable,
}

/// Shows the first-run prompt if it should be shown (see the module docs), records the
/// answer (audited as `prompt`) and says what happened. A host calls it once at the start of
/// an interactive command. The answer takes effect at the next start: the run that shows the
/// notice never sends anything.
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::consent::{NotShown, PromptOutcome};
/// use telemetry::{Config, first_run_prompt};
///
/// let dir = tempfile::tempdir().unwrap();
/// let config = Config::new("acme", "1.0")
///     .env(Env::from_pairs([("CI", "true")]))
///     .policy_file(dir.path().join("policy.toml")); // not the real /etc/acme/telemetry.toml
/// assert!(matches!(first_run_prompt(&config), PromptOutcome::NotShown(NotShown::Decided(_))));
/// ```
pub fn first_run_prompt(config: &Config) -> PromptOutcome {
    let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
    prompt_with(config, interactive, &mut io::stderr(), read_answer)
}

/// Whether this process showed the first-run notice (then it sends nothing, rule 9).
pub fn notice_shown_this_run() -> bool {
    process::notice_shown()
}

/// The prompt, with the terminal check, the output and the input injected.
pub(crate) fn prompt_with(
    config: &Config,
    interactive: bool,
    err: &mut dyn Write,
    read: impl FnOnce(Duration) -> Option<String>,
) -> PromptOutcome {
    if let Some(decision) = rules::above_user(config, cfg!(telemetry_disabled)) {
        return PromptOutcome::NotShown(NotShown::Decided(decision.rule));
    }
    if !interactive {
        return PromptOutcome::NotShown(NotShown::NotATerminal);
    }
    let today = config.clock.today();
    let Ok(store) = config.state_dir().map(StateStore::new) else {
        return PromptOutcome::NotShown(NotShown::StateUnavailable);
    };
    let version = config.consent_version;
    // Asked before, unless the answer was a "yes" for less than the host collects now.
    let answered = |s: &State| (s.prompted || s.enabled.is_some()) && !s.yes_is_outdated(version);
    let asking_again = match store.read_or_set_aside(today) {
        Ok(state) if answered(&state) => {
            return PromptOutcome::NotShown(NotShown::AlreadyAsked);
        }
        Ok(state) => state.yes_is_outdated(version),
        Err(_) => return PromptOutcome::NotShown(NotShown::StateUnavailable),
    };

    // Rule 9: the run that shows the notice sends nothing, whatever the answer. For an
    // opt-out host `init` may already have turned recording on: off, now, before showing it.
    process::show_notice();
    // Writing to stderr can fail (closed); the prompt then simply gets no answer.
    let _ = notice(config, asking_again, err);
    let answer = read(config.prompt_timeout);
    let outcome = match answer.as_deref().map(|a| a.trim().to_ascii_lowercase()) {
        Some(a) if a == "y" || a == "yes" => PromptOutcome::Accepted,
        Some(_) => PromptOutcome::Declined,
        None => PromptOutcome::TimedOut,
    };
    let yes = outcome == PromptOutcome::Accepted;
    // Store the answer only if nobody decided while we waited (another terminal's `enable`,
    // another prompt): theirs was given later than the question and wins.
    let mut decided_meanwhile = false;
    let saved = store.update(today, How::Prompt, |s| {
        if answered(s) {
            decided_meanwhile = true;
            return Ok(());
        }
        s.decide_as(yes, today, version, config.identity)?;
        s.prompted = true;
        s.prompt_date = Some(today);
        Ok(())
    });
    let app = config.app();
    let _ = match (&outcome, saved) {
        (_, Err(e)) => writeln!(
            err,
            "\nTelemetry stays off (your answer could not be saved: {e})."
        ),
        (_, Ok(_)) if decided_meanwhile => {
            let _ = writeln!(
                err,
                "\nA decision was recorded meanwhile (e.g. in another terminal); it is kept. \
                 ('{app} telemetry status' shows it)"
            );
            return PromptOutcome::NotShown(NotShown::AlreadyAsked);
        }
        (PromptOutcome::Accepted, Ok(_)) => writeln!(
            err,
            "Telemetry enabled from the next run. Thank you! ('{app} telemetry disable' to stop)"
        ),
        (PromptOutcome::TimedOut, Ok(_)) => {
            writeln!(
                err,
                "\nNo answer: telemetry stays off. ('{app} telemetry enable' to allow)"
            )
        }
        (_, Ok(_)) => writeln!(
            err,
            "Telemetry stays off. ('{app} telemetry enable' to allow)"
        ),
    };
    outcome
}

fn notice(config: &Config, asking_again: bool, err: &mut dyn Write) -> io::Result<()> {
    let app = config.app();
    let prefix = config.env_prefix();
    let mut lines = Vec::new();
    if asking_again {
        // The host's own words for what changed; the user agreed to less.
        lines.push(format!("{app} now collects more than when you said yes:"));
        if let Some(change) = &config.consent_change {
            lines.extend(change.lines().map(|l| format!("  {l}")));
        }
        lines.push("Nothing is sent until you say yes again.".to_owned());
        lines.push(String::new());
    }
    lines.extend([
        format!("{app} can send anonymous usage statistics to its maintainers:"),
        "which features are used, how often, OS and versions.".to_owned(),
        "Never names, paths, arguments, messages or your data.".to_owned(),
    ]);
    match config.default {
        DefaultConsent::OptIn => {
            lines.push("Nothing is sent unless you say yes. Change it any time with".to_owned());
        }
        DefaultConsent::OptOut => {
            lines.push("It is on by default, but nothing is sent in this run;".to_owned());
            lines.push("say no (or nothing) to turn it off. Change it any time with".to_owned());
        }
    }
    lines.push(format!("  {app} telemetry enable | disable | status"));
    lines.push(format!("or DO_NOT_TRACK=1 / {prefix}_DISABLE_TELEMETRY=1."));
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut text = format!("╭{}╮\n", "─".repeat(width + 2));
    for line in &lines {
        let pad = width - line.chars().count();
        text.push_str(&format!("│ {line}{} │\n", " ".repeat(pad)));
    }
    text.push_str(&format!("╰{}╯\n", "─".repeat(width + 2)));
    text.push_str("Enable telemetry? [y/N] ");
    err.write_all(text.as_bytes())?;
    err.flush()
}

/// One line from stdin, or `None` after `timeout` (at end of input: `Some("")`, a No).
///
/// Waits with `poll` on fd 0 on this thread, then reads what arrived straight from the
/// descriptor (a terminal in canonical mode delivers one whole line per `read`), bypassing
/// std's buffered `Stdin`, so nothing is left blocked or buffered after a timeout.
#[cfg(unix)]
fn read_answer(timeout: Duration) -> Option<String> {
    use std::time::Instant;

    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let mut fds = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, and its count.
        let ready = unsafe { libc::poll(&mut fds, 1, millis) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Some(String::new()); // cannot wait on stdin: No
        }
        if ready == 0 {
            continue; // the deadline check above ends it
        }
        if fds.revents & libc::POLLNVAL != 0 {
            // Some systems (older macOS) cannot poll a terminal; `select` can. Never `read`
            // without knowing input is there: that would block past the timeout.
            match select_readable(left) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Some(String::new()), // cannot wait on stdin: No
            }
        }
        let mut buf = [0u8; 256];
        // SAFETY: reads at most `buf.len()` bytes into `buf`, which lives across the call.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error().kind();
            if e == io::ErrorKind::Interrupted || e == io::ErrorKind::WouldBlock {
                continue;
            }
            return Some(String::new()); // closed or broken: No
        }
        let n = n as usize; // non-negative, checked above
        if n == 0 {
            return Some(String::from_utf8_lossy(&line).into_owned()); // end of input
        }
        line.extend_from_slice(&buf[..n]);
        if line.contains(&b'\n') || line.len() > 1024 {
            return Some(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

/// Whether fd 0 becomes readable within `timeout`, by `select`.
#[cfg(unix)]
fn select_readable(timeout: Duration) -> io::Result<bool> {
    // SAFETY: `fd_set` and `timeval` are plain data, initialised here (FD_ZERO, then FD_SET
    // of fd 0, which is below FD_SETSIZE); every pointer is valid for the call.
    let ready = unsafe {
        let mut set: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut set);
        libc::FD_SET(0, &mut set);
        let mut tv = libc::timeval {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: timeout.subsec_micros() as libc::suseconds_t, // < 1_000_000: fits
        };
        libc::select(
            1,
            &mut set,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut tv,
        )
    };
    if ready < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ready > 0)
    }
}

/// One line from stdin on a helper thread, or `None` after `timeout` (at end of input:
/// `Some("")`, a No). After a timeout the thread stays blocked on stdin (see module docs).
#[cfg(not(unix))]
fn read_answer(timeout: Duration) -> Option<String> {
    use std::thread;

    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = thread::Builder::new()
        .name("telemetry-prompt".into())
        .spawn(move || {
            let mut line = String::new();
            let answer = match io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => String::new(), // closed: No
                Ok(_) => line,
            };
            let _ = tx.send(answer);
        });
    if spawned.is_err() {
        return None;
    }
    rx.recv_timeout(timeout).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::base::calendar::{Clock, Date};
    use crate::base::env::Env;
    use crate::consent::change;

    pub(crate) fn config(dir: &std::path::Path) -> Config {
        Config::new("acme", "1.0")
            .env(Env::empty())
            .config_dir(dir.join("conf"))
            .policy_file(dir.join("policy.toml"))
            .current_dir(dir)
            .clock(Clock::fixed(Date::new(2032, 3, 4).unwrap()))
    }

    fn run(config: &Config, interactive: bool, answer: Option<&str>) -> (PromptOutcome, String) {
        let _process = crate::process::test_lock();
        let mut err = Vec::new();
        let outcome = prompt_with(config, interactive, &mut err, |_| answer.map(str::to_owned));
        (outcome, String::from_utf8(err).unwrap())
    }

    #[test]
    fn answers_are_recorded_and_audited_once() {
        for (answer, outcome, enabled) in [
            (Some("y\n"), PromptOutcome::Accepted, true),
            (Some("YES\n"), PromptOutcome::Accepted, true),
            (Some("n\n"), PromptOutcome::Declined, false),
            (Some("\n"), PromptOutcome::Declined, false),
            (None, PromptOutcome::TimedOut, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let config = config(dir.path());
            let (got, err) = run(&config, true, answer);
            assert_eq!(got, outcome, "{answer:?}");
            assert!(err.contains("Enable telemetry? [y/N]"), "{err}");
            assert!(err.starts_with('╭'), "{err}");
            let store = StateStore::new(dir.path().join("conf"));
            let state = store.read().unwrap();
            assert_eq!(state.enabled, Some(enabled));
            assert!(state.prompted);
            assert_eq!(state.prompt_date, Date::new(2032, 3, 4));
            assert_eq!(state.installation_id.is_some(), enabled);
            let word = if enabled { "enabled" } else { "disabled" };
            assert_eq!(
                store.audit_lines().unwrap(),
                [format!("2032-03-04 unset -> {word} (prompt)")]
            );
            // Once per environment.
            let (again, err) = run(&config, true, Some("y\n"));
            assert_eq!(again, PromptOutcome::NotShown(NotShown::AlreadyAsked));
            assert!(err.is_empty());
        }
    }

    #[test]
    fn never_without_a_terminal_or_when_a_higher_rule_decided() {
        let dir = tempfile::tempdir().unwrap();
        let base = config(dir.path());
        let (got, err) = run(&base, false, Some("y\n"));
        assert_eq!(got, PromptOutcome::NotShown(NotShown::NotATerminal));
        assert!(err.is_empty());
        for (var, value) in [
            ("CI", "true"),
            ("GITLAB_CI", "true"),
            ("DO_NOT_TRACK", "1"),
            ("ACME_DISABLE_TELEMETRY", "1"),
            ("ACME_TELEMETRY_ENABLED", "1"),
        ] {
            let config = base.clone().env(Env::from_pairs([(var, value)]));
            let (got, err) = run(&config, true, Some("y\n"));
            assert!(
                matches!(got, PromptOutcome::NotShown(NotShown::Decided(_))),
                "{var}"
            );
            assert!(err.is_empty());
        }
        std::fs::write(dir.path().join(".telemetry"), "consent: false").unwrap();
        let (got, _) = run(&base, true, Some("y\n"));
        assert_eq!(
            got,
            PromptOutcome::NotShown(NotShown::Decided(Rule::Project))
        );
        assert!(
            !dir.path().join("conf").exists(),
            "nothing written when not shown"
        );
    }

    #[test]
    fn not_after_an_explicit_decision() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        {
            let _process = crate::process::test_lock();
            change::record(&config, false, How::Cli).unwrap();
        }
        let (got, _) = run(&config, true, Some("y\n"));
        assert_eq!(got, PromptOutcome::NotShown(NotShown::AlreadyAsked));
    }

    #[test]
    fn a_decision_made_while_the_prompt_waits_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let _process = crate::process::test_lock();
        let mut err = Vec::new();
        // `acme telemetry enable` in another terminal during the 10 s wait; then "n" here.
        let outcome = prompt_with(&config, true, &mut err, |_| {
            change::record(&config, true, How::Cli).unwrap();
            Some("n\n".to_owned())
        });
        assert_eq!(outcome, PromptOutcome::NotShown(NotShown::AlreadyAsked));
        let store = StateStore::new(dir.path().join("conf"));
        assert_eq!(store.read().unwrap().enabled, Some(true));
        assert_eq!(
            store.audit_lines().unwrap(),
            ["2032-03-04 unset -> enabled (cli)"]
        );
        assert!(String::from_utf8(err).unwrap().contains("it is kept"));
        // Two prompts at once: the second answer is not stored either.
        let dir = tempfile::tempdir().unwrap();
        let config = self::config(dir.path());
        let outcome = prompt_with(&config, true, &mut Vec::new(), |_| {
            let inner = prompt_with(&config, true, &mut Vec::new(), |_| Some("y\n".into()));
            assert_eq!(inner, PromptOutcome::Accepted);
            Some("n\n".to_owned())
        });
        assert_eq!(outcome, PromptOutcome::NotShown(NotShown::AlreadyAsked));
        let store = StateStore::new(dir.path().join("conf"));
        assert_eq!(store.read().unwrap().enabled, Some(true));
        assert_eq!(store.audit_lines().unwrap().len(), 1);
    }
}
