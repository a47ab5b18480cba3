//! Runs `examples/acme.rs` as a real process, with an environment built from scratch: the
//! child never inherits `CI`, `DO_NOT_TRACK`, `HOME` or anything else from the test runner.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "example.rs"]
mod example;

/// The path of the `acme` example binary, built (once per test binary) if needed.
pub fn acme_exe() -> &'static Path {
    example::example_exe("acme")
}

/// An isolated place for one test: a config dir (not created), two policy file paths (the
/// variable's and the stand-in for `/etc`, both absent) and a working directory (outside any
/// repository).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Sandbox { dir }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    /// The file `ACME_TELEMETRY_POLICY_FILE` names.
    pub fn policy_file(&self) -> PathBuf {
        self.dir.path().join("policy.toml")
    }

    /// What stands in for `/etc/acme/telemetry.toml` (absent unless a test writes it).
    pub fn system_policy_file(&self) -> PathBuf {
        self.dir.path().join("system-policy.toml")
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// `acme <args>` with only the sandbox's variables and `extra` set.
    pub fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(acme_exe());
        cmd.args(args)
            .env_clear()
            .env("ACME_TELEMETRY_CONFIG_DIR", self.config_dir())
            .env("ACME_TELEMETRY_POLICY_FILE", self.policy_file())
            .env("ACME_EXAMPLE_SYSTEM_POLICY", self.system_policy_file())
            .current_dir(self.work_dir());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn acme(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.command(args, extra).output().expect("run acme")
    }

    /// stdout of a successful `acme <args>`.
    pub fn stdout(&self, args: &[&str], extra: &[(&str, &str)]) -> String {
        let out = self.acme(args, extra);
        assert!(out.status.success(), "acme {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn audit_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.config_dir().join("telemetry_audit.log"))
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}
