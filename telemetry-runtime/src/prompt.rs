//! The first-run prompt of SPEC §8: a boxed notice and `Enable telemetry? [y/N]` on stderr,
//! once per environment, only for a person at a terminal, and only when nothing above the
//! user's own decision (rules 1–7) already decided.
//!
//! The answer is read on a helper thread so it can time out (No after 10 s by default). If it
//! times out, that thread stays blocked on stdin until a line arrives or the process exits;
//! the host should not read stdin concurrently with the prompt anyway.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::config::Config;
use crate::consent::{self, Rule};
use crate::state::{How, StateStore};

static SHOWN_THIS_RUN: AtomicBool = AtomicBool::new(false);

/// What the first-run prompt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptOutcome {
    /// The user answered yes; recorded.
    Accepted,
    /// The user answered anything else (or closed the input); recorded as No.
    Declined,
    /// No answer in time; recorded as No.
    TimedOut,
    /// The prompt was not shown.
    NotShown(NotShown),
}

/// Why the first-run prompt was not shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotShown {
    /// A rule above the user's decision (1–7: kill switch, environment, policy, CI, project
    /// file) already decided.
    Decided(Rule),
    /// Stdin or stderr is not a terminal: nobody is there to answer.
    NotATerminal,
    /// Shown before in this environment, or the user already decided.
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
/// use telemetry_runtime::{Config, Env, NotShown, PromptOutcome, first_run_prompt};
///
/// let config = Config::new("acme", "1.0").env(Env::from_pairs([("CI", "true")]));
/// assert!(matches!(first_run_prompt(&config), PromptOutcome::NotShown(NotShown::Decided(_))));
/// ```
pub fn first_run_prompt(config: &Config) -> PromptOutcome {
    let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
    prompt_with(config, interactive, &mut io::stderr(), read_answer)
}

/// Whether this process showed the first-run notice (then it sends nothing, SPEC §4 rule 9).
pub fn notice_shown_this_run() -> bool {
    SHOWN_THIS_RUN.load(Ordering::Relaxed)
}

/// The prompt, with the terminal check, the output and the input injected.
pub(crate) fn prompt_with(
    config: &Config,
    interactive: bool,
    err: &mut dyn Write,
    read: impl FnOnce(Duration) -> Option<String>,
) -> PromptOutcome {
    if let Some(decision) = consent::above_user(config, cfg!(telemetry_disabled)) {
        return PromptOutcome::NotShown(NotShown::Decided(decision.rule));
    }
    if !interactive {
        return PromptOutcome::NotShown(NotShown::NotATerminal);
    }
    let today = config.clock.today();
    let Some(store) = config.resolved_config_dir().map(StateStore::new) else {
        return PromptOutcome::NotShown(NotShown::StateUnavailable);
    };
    match store.read_or_set_aside(today) {
        Ok(state) if state.prompted || state.enabled.is_some() => {
            return PromptOutcome::NotShown(NotShown::AlreadyAsked);
        }
        Ok(_) => {}
        Err(_) => return PromptOutcome::NotShown(NotShown::StateUnavailable),
    }

    SHOWN_THIS_RUN.store(true, Ordering::Relaxed);
    // Writing to stderr can fail (closed); the prompt then simply gets no answer.
    let _ = notice(config.app(), err);
    let answer = read(config.prompt_timeout);
    let outcome = match answer.as_deref().map(|a| a.trim().to_ascii_lowercase()) {
        Some(a) if a == "y" || a == "yes" => PromptOutcome::Accepted,
        Some(_) => PromptOutcome::Declined,
        None => PromptOutcome::TimedOut,
    };
    let yes = outcome == PromptOutcome::Accepted;
    let saved = store.update(today, How::Prompt, |s| {
        s.prompted = true;
        s.prompt_date = Some(today);
        s.decide(yes, today);
    });
    let app = config.app();
    let _ = match (&outcome, saved) {
        (_, Err(e)) => writeln!(
            err,
            "\nTelemetry stays off (your answer could not be saved: {e})."
        ),
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

fn notice(app: &str, err: &mut dyn Write) -> io::Result<()> {
    let prefix = crate::paths::env_prefix(app);
    let lines = [
        format!("{app} can send anonymous usage statistics to its maintainers:"),
        "which features are used, how often, OS and versions.".to_owned(),
        "Never names, paths, arguments, messages or your data.".to_owned(),
        "Nothing is sent unless you say yes. Change it any time with".to_owned(),
        format!("  {app} telemetry enable | disable | status"),
        format!("or DO_NOT_TRACK=1 / {prefix}_DISABLE_TELEMETRY=1."),
    ];
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

/// One line from stdin, or `None` after `timeout` (or at end of input: treated as No).
fn read_answer(timeout: Duration) -> Option<String> {
    let (tx, rx) = mpsc::channel();
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
mod tests {
    use super::*;
    use crate::calendar::{Clock, Date};
    use crate::env::Env;

    fn config(dir: &std::path::Path) -> Config {
        Config::new("acme", "1.0")
            .env(Env::empty())
            .config_dir(dir.join("conf"))
            .policy_file(dir.join("policy.toml"))
            .current_dir(dir)
            .clock(Clock::fixed(Date::new(2032, 3, 4).unwrap()))
    }

    fn run(config: &Config, interactive: bool, answer: Option<&str>) -> (PromptOutcome, String) {
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
        consent::record(&config, false, How::Cli).unwrap();
        let (got, _) = run(&config, true, Some("y\n"));
        assert_eq!(got, PromptOutcome::NotShown(NotShown::AlreadyAsked));
    }
}
