//! CI and hosted-build detection (rule 6 of docs/consent.md, "The nine rules"): nobody is there
//! to consent.
//!
//! One table of (service, variable, how it must look). Specific services come first so the
//! `Decided by:` line names the service; the generic `CI` variable (set by most of them) comes
//! last. A variable counts when it is set to something other than empty, `0`, `false` or
//! `no`: some people set `CI=false` precisely to say "this is not CI".
//!
//! Not detectable, deliberately left out: `docker build` sets no variable of its own, and
//! Concourse tasks get none by default; both usually also run with `CI` set by the caller.
//! Nix: `NIX_BUILD_TOP` is set in a build sandbox but also in `nix-shell`/`nix develop`,
//! where a person is at the keyboard; those shells also set `IN_NIX_SHELL`, so a Nix build
//! is `NIX_BUILD_TOP` *without* `IN_NIX_SHELL`.

use crate::base::env::Env;
use crate::decision::{CiMatch, CiVariable};

const fn row(service: &'static str, variable: &'static str) -> CiVariable {
    CiVariable {
        service,
        variable,
        matches: CiMatch::Set,
    }
}

const fn row_if(service: &'static str, variable: &'static str, matches: CiMatch) -> CiVariable {
    CiVariable {
        service,
        variable,
        matches,
    }
}

/// Every CI and hosted-build environment detected, in the order they are checked.
pub const CI_ENVIRONMENTS: &[CiVariable] = &[
    // The ones MLflow and Prefect check.
    row("GitHub Actions", "GITHUB_ACTIONS"),
    row("GitLab CI", "GITLAB_CI"),
    row("CircleCI", "CIRCLECI"),
    row("Jenkins", "JENKINS_URL"),
    row("Travis CI", "TRAVIS"),
    row("Azure Pipelines", "TF_BUILD"),
    row("Bitbucket Pipelines", "BITBUCKET_BUILD_NUMBER"),
    row("AWS CodeBuild", "CODEBUILD_BUILD_ARN"),
    row("Buildkite", "BUILDKITE"),
    row("TeamCity", "TEAMCITY_VERSION"),
    row("Google Cloud Run jobs", "CLOUD_RUN_EXECUTION"),
    row("Runbot", "RUNBOT_HOST_URL"),
    row("Runbot", "RUNBOT_BUILD_NAME"),
    row("Runbot", "RUNBOT_WORKER_ID"),
    // More CI services.
    row("Bitbucket Pipelines", "BITBUCKET_COMMIT"),
    row("Hudson", "HUDSON_URL"),
    row("AppVeyor", "APPVEYOR"),
    row("Drone", "DRONE"),
    row_if("Woodpecker", "CI", CiMatch::Equals("woodpecker")),
    row("Semaphore", "SEMAPHORE"),
    row("Buddy", "BUDDY_WORKSPACE_ID"),
    row("Codefresh", "CF_BUILD_ID"),
    row("Bitrise", "BITRISE_IO"),
    row("Cirrus CI", "CIRRUS_CI"),
    row("GoCD", "GO_PIPELINE_LABEL"),
    row("Harness CI", "HARNESS_BUILD_ID"),
    row("Google Cloud Build", "BUILDER_OUTPUT"),
    row("Bamboo", "bamboo_planKey"),
    row("Wercker", "WERCKER_MAIN_PIPELINE_STARTED"),
    row("Sail CI", "SAILCI"),
    row("Screwdriver", "SCREWDRIVER"),
    row("Codemagic", "CM_BUILD_ID"),
    row("Xcode Cloud", "CI_XCODE_PROJECT"),
    row("Xcode Server", "XCS"),
    row("Expo Application Services", "EAS_BUILD"),
    row("Vela", "VELA"),
    row("Agola CI", "AGOLA_GIT_REF"),
    row("Earthly", "EARTHLY_CI"),
    row("Appcircle", "AC_APPCIRCLE"),
    row("Visual Studio App Center", "APPCENTER_BUILD_ID"),
    row_if("Codeship", "CI_NAME", CiMatch::Equals("codeship")),
    row_if("Sourcehut builds", "CI_NAME", CiMatch::Equals("sourcehut")),
    row("dsari", "DSARI"),
    row("Gerrit", "GERRIT_PROJECT"),
    row("Gitea Actions", "GITEA_ACTIONS"),
    row("LayerCI", "LAYERCI"),
    row("Magnum CI", "MAGNUM"),
    row("Prow", "PROW_JOB_ID"),
    row("ReleaseHub", "RELEASE_BUILD_ID"),
    row("Nevercode", "NEVERCODE"),
    row("Strider CD", "STRIDER"),
    row("Shippable", "SHIPPABLE"),
    row("Solano CI", "TDDIUM"),
    row_if("TaskCluster", "TASK_ID", CiMatch::With("RUN_ID")),
    row("JetBrains Space Automation", "JB_SPACE_EXECUTION_NUMBER"),
    // Hosted builds and deploys. Some of these variables (`RENDER`, `VERCEL`, `NETLIFY`) are
    // also set while the built app *runs* on that host, not only while it builds. That is
    // intended: a match only ever turns telemetry off, and a hosted service has nobody at the
    // keyboard to consent either.
    row("Netlify", "NETLIFY"),
    row("Vercel", "VERCEL"),
    row("Vercel", "NOW_BUILDER"),
    row("Heroku CI", "HEROKU_TEST_RUN_ID"),
    row("Render", "RENDER"),
    row("Cloudflare Pages", "CF_PAGES"),
    row("Cloudflare Workers Builds", "WORKERS_CI"),
    row("Alpic", "ALPIC_HOST"),
    row("Capawesome Cloud", "CAPAWESOME_CLOUD"),
    row("RWX", "RWX"),
    // Heroku's build image runs Node from its own path, and sets no variable of its own.
    row_if(
        "Heroku",
        "NODE",
        CiMatch::Contains("/app/.heroku/node/bin/node"),
    ),
    row("Ionic Appflow", "CI_APP_ID"),
    row("Ionic Appflow", "CI_BUILD_ID"),
    row("Ionic Appflow", "CI_BUILD_NUMBER"),
    // Package and build systems running the host as part of a build.
    row_if(
        "Nix build",
        "NIX_BUILD_TOP",
        CiMatch::Without("IN_NIX_SHELL"),
    ),
    row("conda-build", "CONDA_BUILD"),
    row("Snapcraft build", "SNAPCRAFT_PART_INSTALL"),
    row("Bazel test", "TEST_SRCDIR"),
    // Set by most of the above, and by hand in many others: checked last.
    row("CONTINUOUS_INTEGRATION", "CONTINUOUS_INTEGRATION"),
    row("CI", "CI"),
];

/// The first CI or build environment `env` shows, if any.
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::consent::detect_ci;
///
/// let ci = detect_ci(&Env::from_pairs([("CI", "true"), ("GITHUB_ACTIONS", "true")])).unwrap();
/// assert_eq!(ci.variable, "GITHUB_ACTIONS");
/// assert!(detect_ci(&Env::from_pairs([("CI", "false")])).is_none());
/// ```
pub fn detect_ci(env: &Env) -> Option<&'static CiVariable> {
    CI_ENVIRONMENTS.iter().find(|row| row.is_detected(env))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_detected_and_named() {
        for row in CI_ENVIRONMENTS {
            let found = detect_ci(&row.example_env());
            assert_eq!(found, Some(row), "{} ({})", row.service, row.variable);
        }
    }

    #[test]
    fn every_row_ignores_falsy_values() {
        for row in CI_ENVIRONMENTS {
            for falsy in ["", "0", "false", "no"] {
                let mut env = Env::empty().with(row.variable, falsy);
                if let CiMatch::With(other) = row.matches {
                    env = env.with(other, "1");
                }
                assert_eq!(detect_ci(&env), None, "{}={falsy:?}", row.variable);
            }
        }
        assert_eq!(detect_ci(&Env::empty()), None);
    }

    #[test]
    fn the_variables_mlflow_and_prefect_check_are_all_there() {
        for var in [
            "CI",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "CIRCLECI",
            "JENKINS_URL",
            "TRAVIS",
            "TF_BUILD",
            "BITBUCKET_BUILD_NUMBER",
            "CODEBUILD_BUILD_ARN",
            "BUILDKITE",
            "TEAMCITY_VERSION",
            "CLOUD_RUN_EXECUTION",
            "RUNBOT_HOST_URL",
            "RUNBOT_BUILD_NAME",
            "RUNBOT_WORKER_ID",
        ] {
            let row = detect_ci(&Env::empty().with(var, "x")).expect(var);
            assert_eq!(row.variable, var);
        }
    }

    /// Every vendor of the npm package `ci-info` (4.5.0), by the variable it documents for it:
    /// each is detected, and named (not only the generic `CI`).
    #[test]
    fn every_vendor_of_ci_info_is_detected() {
        let vendors: &[(&str, &[(&str, &str)])] = &[
            ("Agola CI", &[("AGOLA_GIT_REF", "main")]),
            ("Appcircle", &[("AC_APPCIRCLE", "true")]),
            ("AppVeyor", &[("APPVEYOR", "True")]),
            ("AWS CodeBuild", &[("CODEBUILD_BUILD_ARN", "arn:x")]),
            ("Azure Pipelines", &[("TF_BUILD", "True")]),
            ("Bamboo", &[("bamboo_planKey", "K")]),
            ("Bitbucket Pipelines", &[("BITBUCKET_COMMIT", "abc")]),
            ("Bitrise", &[("BITRISE_IO", "true")]),
            ("Buddy", &[("BUDDY_WORKSPACE_ID", "1")]),
            ("Buildkite", &[("BUILDKITE", "true")]),
            ("CircleCI", &[("CIRCLECI", "true")]),
            ("Cirrus CI", &[("CIRRUS_CI", "true")]),
            ("Cloudflare Pages", &[("CF_PAGES", "1")]),
            ("Cloudflare Workers Builds", &[("WORKERS_CI", "1")]),
            ("Codefresh", &[("CF_BUILD_ID", "1")]),
            ("Codemagic", &[("CM_BUILD_ID", "1")]),
            ("Codeship", &[("CI_NAME", "codeship")]),
            ("Drone", &[("DRONE", "true")]),
            ("dsari", &[("DSARI", "1")]),
            ("Earthly", &[("EARTHLY_CI", "true")]),
            ("Expo Application Services", &[("EAS_BUILD", "true")]),
            ("Gerrit", &[("GERRIT_PROJECT", "p")]),
            ("Gitea Actions", &[("GITEA_ACTIONS", "true")]),
            ("GitHub Actions", &[("GITHUB_ACTIONS", "true")]),
            ("GitLab CI", &[("GITLAB_CI", "true")]),
            ("GoCD", &[("GO_PIPELINE_LABEL", "1")]),
            (
                "Google Cloud Build",
                &[("BUILDER_OUTPUT", "/builder/outputs")],
            ),
            ("Harness CI", &[("HARNESS_BUILD_ID", "1")]),
            ("Heroku", &[("NODE", "/app/.heroku/node/bin/node")]),
            ("Hudson", &[("HUDSON_URL", "http://h")]),
            ("Jenkins", &[("JENKINS_URL", "http://j"), ("BUILD_ID", "1")]),
            ("LayerCI", &[("LAYERCI", "true")]),
            ("Magnum CI", &[("MAGNUM", "true")]),
            ("Netlify", &[("NETLIFY", "true")]),
            ("Nevercode", &[("NEVERCODE", "true")]),
            ("Prow", &[("PROW_JOB_ID", "1")]),
            ("ReleaseHub", &[("RELEASE_BUILD_ID", "1")]),
            ("Render", &[("RENDER", "true")]),
            ("Sail CI", &[("SAILCI", "true")]),
            ("Screwdriver", &[("SCREWDRIVER", "true")]),
            ("Semaphore", &[("SEMAPHORE", "true")]),
            ("Sourcehut builds", &[("CI_NAME", "sourcehut")]),
            ("Strider CD", &[("STRIDER", "true")]),
            ("TaskCluster", &[("TASK_ID", "1"), ("RUN_ID", "0")]),
            ("TeamCity", &[("TEAMCITY_VERSION", "2024.1")]),
            ("Travis CI", &[("TRAVIS", "true")]),
            ("Vela", &[("VELA", "true")]),
            ("Vercel", &[("NOW_BUILDER", "1")]),
            ("Vercel", &[("VERCEL", "1")]),
            ("Visual Studio App Center", &[("APPCENTER_BUILD_ID", "1")]),
            ("Woodpecker", &[("CI", "woodpecker")]),
            ("Xcode Cloud", &[("CI_XCODE_PROJECT", "App.xcodeproj")]),
            ("Xcode Server", &[("XCS", "1")]),
            ("Alpic", &[("ALPIC_HOST", "a.alpic.ai")]),
            ("Capawesome Cloud", &[("CAPAWESOME_CLOUD", "true")]),
            ("RWX", &[("RWX", "true")]),
            // Variables `ci-info` takes as CI whatever the vendor (not its generic `CI_NAME`:
            // see below).
            ("Ionic Appflow", &[("CI_APP_ID", "a1")]),
            ("Ionic Appflow", &[("CI_BUILD_ID", "1")]),
            ("Ionic Appflow", &[("CI_BUILD_NUMBER", "1")]),
            (
                "CONTINUOUS_INTEGRATION",
                &[("CONTINUOUS_INTEGRATION", "true")],
            ),
        ];
        // ci-info 4.5.0's `vendors.json` lists 55 vendors: each has a row above.
        let listed: std::collections::BTreeSet<&str> = vendors
            .iter()
            .take_while(|(service, _)| *service != "Ionic Appflow")
            .map(|(service, _)| *service)
            .collect();
        assert_eq!(listed.len(), 55, "{listed:?}");
        for (service, pairs) in vendors {
            let env = Env::from_pairs(pairs.iter().copied());
            let row = detect_ci(&env).unwrap_or_else(|| panic!("{service}: {pairs:?}"));
            assert_eq!(row.service, *service, "{pairs:?}");
        }
        // Heroku's variable is matched on what it holds, not on being set.
        assert_eq!(
            detect_ci(&Env::from_pairs([("NODE", "/usr/bin/node")])),
            None
        );
    }

    #[test]
    fn rows_sharing_a_variable_are_told_apart() {
        let woodpecker = detect_ci(&Env::from_pairs([("CI", "woodpecker")])).unwrap();
        let plain = detect_ci(&Env::from_pairs([("CI", "true")])).unwrap();
        let show = |row: &'static CiVariable| crate::decision::Rule::Ci(row).to_string();
        assert_eq!(
            show(woodpecker),
            "CI environment: Woodpecker (CI=woodpecker)"
        );
        assert_eq!(show(plain), "CI environment (CI)");
        let runbot = detect_ci(&Env::from_pairs([("RUNBOT_WORKER_ID", "1")])).unwrap();
        assert_eq!(show(runbot), "CI environment: Runbot (RUNBOT_WORKER_ID)");
        let task = detect_ci(&Env::from_pairs([("TASK_ID", "1"), ("RUN_ID", "2")])).unwrap();
        assert_eq!(
            show(task),
            "CI environment: TaskCluster (TASK_ID with RUN_ID)"
        );
        // Every row reads differently.
        let mut all: Vec<String> = CI_ENVIRONMENTS.iter().map(show).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), CI_ENVIRONMENTS.len());
    }

    #[test]
    fn specific_services_win_over_generic_ci() {
        let env = Env::from_pairs([("CI", "true"), ("GITLAB_CI", "true")]);
        assert_eq!(detect_ci(&env).unwrap().service, "GitLab CI");
        let env = Env::from_pairs([("CI", "woodpecker")]);
        assert_eq!(detect_ci(&env).unwrap().service, "Woodpecker");
        let env = Env::from_pairs([("CI", "1")]);
        assert_eq!(detect_ci(&env).unwrap().service, "CI");
    }

    #[test]
    fn conditional_rows_need_their_condition() {
        // A nix-shell is interactive, not a build.
        let shell = Env::from_pairs([("NIX_BUILD_TOP", "/tmp/x"), ("IN_NIX_SHELL", "impure")]);
        assert_eq!(detect_ci(&shell), None);
        // TASK_ID alone is too common a name.
        assert_eq!(detect_ci(&Env::from_pairs([("TASK_ID", "7")])), None);
        // CI_NAME of an unknown service is not enough.
        assert_eq!(detect_ci(&Env::from_pairs([("CI_NAME", "mine")])), None);
    }
}
