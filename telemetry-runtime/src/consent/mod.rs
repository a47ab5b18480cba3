//! Who decides, and how the user's decision is asked for and recorded.
//!
//! - [`rules`]: the nine rules, first match wins, and the cheap re-check of rules 2–5;
//! - [`policy`]: the organisation's policy files of rule 4;
//! - [`ci`]: the CI and hosted-build environments of rule 6;
//! - [`change`]: `enable`, `disable`, `reset` and their API forms;
//! - [`prompt`]: the first-run prompt.
//!
//! Uses `files`, `config`, `process`, `decision` and `base`. Deciding never sends anything
//! and writes nothing but a corrupt state file's kept copy; turning off takes effect at once
//! (ARCHITECTURE.md, "Invariants").

pub(crate) mod change;
pub(crate) mod ci;
pub(crate) mod policy;
pub(crate) mod prompt;
pub(crate) mod rules;

#[cfg(test)]
mod tests;
