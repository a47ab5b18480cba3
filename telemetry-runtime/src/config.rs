//! What a host passes to `init`: its name and version, where batches go, its default, and
//! (for tests) where the environment, files and today's date come from.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::base::calendar::Clock;
use crate::base::env::Env;
use crate::base::paths::{self, ConfigDirError};
use crate::decision::{DefaultConsent, Identity};
use crate::wire::deliver::{Deliver, HostTransport};

/// How often a running process re-checks rules 2–5 (environment and policy file).
pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(5);
/// How long the first-run prompt waits for an answer before taking it as No.
pub const DEFAULT_PROMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest dropping the guard may take to send what is pending .
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a long-running process sends a `heartbeat` event .
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(600);

/// The host's telemetry settings, built step by step.
///
/// ```
/// use telemetry::config::Env;
/// use telemetry::{Config, DefaultConsent};
///
/// let config = Config::new("acme", "1.2.3")
///     .endpoint("https://telemetry.acme.example/v1/batch")
///     .default_consent(DefaultConsent::OptIn)
///     .env(Env::empty()); // tests: nothing from the real environment
/// assert_eq!(config.app(), "acme");
/// assert_eq!(config.env_prefix(), "ACME");
/// assert_eq!(config.endpoint_url(), Some("https://telemetry.acme.example/v1/batch"));
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) app: String,
    pub(crate) version: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) default: DefaultConsent,
    pub(crate) env: Env,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) policy_file: Option<PathBuf>,
    pub(crate) current_dir: Option<PathBuf>,
    pub(crate) clock: Clock,
    pub(crate) recheck_interval: Duration,
    pub(crate) prompt_timeout: Duration,
    pub(crate) flush_timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) integrations: Vec<&'static str>,
    /// Certificates (DER) trusted for an `https://` endpoint besides the bundled roots.
    pub(crate) ca_certificates: Vec<Vec<u8>>,
    /// The host's own transport, if it gave one.
    pub(crate) transport: Option<HostTransport>,
    /// Which built-in client sends, when the host gave no transport of its own.
    #[cfg(telemetry_client)]
    pub(crate) http_client: HttpClient,
    /// Whether consenting installations get an id.
    pub(crate) identity: Identity,
    /// Where a deletion request goes, `{id}` standing for the installation id.
    pub(crate) deletion_endpoint: Option<String>,
    /// What a "yes" must have been given for (see [`Config::consent_version`]).
    pub(crate) consent_version: u32,
    /// The host's words for what changed since the last version, for the prompt.
    pub(crate) consent_change: Option<String>,
}

/// A built-in HTTP client (see [`Config::http_client`]). Which variants exist follows the
/// cargo features compiled in.
#[cfg(telemetry_client)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpClient {
    /// The runtime's own HTTP/1.1 client over rustls (feature `https`): no `http` crate, so
    /// no change to a host's type inference.
    #[cfg(feature = "https")]
    Builtin,
    /// Blocking ureq 3 over rustls (feature `ureq`): for hosts that already have `http`.
    #[cfg(feature = "ureq")]
    Ureq,
}

#[cfg(telemetry_client)]
impl Default for HttpClient {
    /// The runtime's own client when it is compiled in, else ureq.
    fn default() -> Self {
        #[cfg(feature = "https")]
        {
            HttpClient::Builtin
        }
        #[cfg(not(feature = "https"))]
        {
            HttpClient::Ureq
        }
    }
}

impl fmt::Debug for Config {
    // Paths are shown only as set or not: they usually hold the user's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |p: &Option<PathBuf>| if p.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("Config")
            .field("app", &self.app)
            .field("version", &self.version)
            .field("endpoint", &self.endpoint)
            .field("default", &self.default)
            .field("env", &self.env)
            .field("config_dir", &format_args!("{}", set(&self.config_dir)))
            .field("policy_file", &format_args!("{}", set(&self.policy_file)))
            .field("current_dir", &format_args!("{}", set(&self.current_dir)))
            .field("clock", &self.clock)
            .field("recheck_interval", &self.recheck_interval)
            .field("prompt_timeout", &self.prompt_timeout)
            .field("flush_timeout", &self.flush_timeout)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("integrations", &self.integrations)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("consent_version", &self.consent_version)
            .field("consent_change", &self.consent_change)
            .field("deletion_endpoint", &self.deletion_endpoint.is_some())
            .field("identity", &self.identity)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Settings for the host `app` at `version`, reading the process environment.
    pub fn new(app: impl Into<String>, version: impl Into<String>) -> Self {
        Config {
            app: app.into(),
            version: version.into(),
            endpoint: None,
            default: DefaultConsent::OptIn,
            env: Env::process(),
            config_dir: None,
            policy_file: None,
            current_dir: None,
            clock: Clock::System,
            recheck_interval: DEFAULT_RECHECK_INTERVAL,
            prompt_timeout: DEFAULT_PROMPT_TIMEOUT,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            integrations: Vec::new(),
            ca_certificates: Vec::new(),
            consent_version: 1,
            consent_change: None,
            deletion_endpoint: None,
            identity: Identity::Installation,
            transport: None,
            #[cfg(telemetry_client)]
            http_client: HttpClient::default(),
        }
    }

    /// Whether a consenting installation gets a random installation id (the default), or
    /// none at all ([`Identity::Anonymous`]): then no id is made, stored or sent, and
    /// events carry only the per-process session id.
    ///
    /// ```
    /// use telemetry::config::Identity;
    ///
    /// let config = telemetry::Config::new("acme", "1.0").identity(Identity::Anonymous);
    /// # let _ = config;
    /// ```
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// Where `disable --delete-data` and `reset --delete-data` send their `DELETE`, with
    /// `{id}` standing for the installation id. Without it, the batch endpoint with its last
    /// path segment replaced by `installations/{id}` (what `telemetry-collector` answers).
    /// The same rules as for batches apply: `https://`, or `http://` to loopback only.
    ///
    /// ```
    /// let config = telemetry::Config::new("acme", "1.0")
    ///     .endpoint("https://telemetry.acme.example/v1/batch")
    ///     .deletion_endpoint("https://privacy.acme.example/installations/{id}");
    /// # let _ = config;
    /// ```
    pub fn deletion_endpoint(mut self, url: impl Into<String>) -> Self {
        self.deletion_endpoint = Some(url.into());
        self
    }

    /// The version of what the host collects that a user's "yes" covers (default 1). Raise
    /// it when the host starts collecting something new: a "yes" given for a lower version
    /// then counts for nothing (nothing is sent), the first-run prompt asks again (showing
    /// [`Config::consent_change`]), and `status` says why. A "no" is never asked again.
    /// Versions below 1 count as 1.
    ///
    /// ```
    /// let config = telemetry::Config::new("acme", "2.0")
    ///     .consent_version(2)
    ///     .consent_change("Now also counts which export formats are used.");
    /// # let _ = config;
    /// ```
    pub fn consent_version(mut self, version: u32) -> Self {
        self.consent_version = version.max(1);
        self
    }

    /// What changed since the last [`Config::consent_version`], in the host's words: the
    /// prompt shows it when it asks again.
    pub fn consent_change(mut self, what_changed: impl Into<String>) -> Self {
        self.consent_change = Some(what_changed.into());
        self
    }

    /// Where batches are sent: `https://…`, `http://` to a loopback address only, or
    /// `file:///absolute/path` to append them as JSON lines. `APP_TELEMETRY_ENDPOINT`
    /// overrides it.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The default when nobody decided: [`DefaultConsent::OptIn`] unless set.
    pub fn default_consent(mut self, default: DefaultConsent) -> Self {
        self.default = default;
        self
    }

    /// Reads variables from `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Uses `dir` as the config dir, before `APP_TELEMETRY_CONFIG_DIR` and the platform's.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(dir.into());
        self
    }

    /// Reads the system policy from `path` instead of `/etc/APP/telemetry.toml` (for tests;
    /// `APP_TELEMETRY_POLICY_FILE`, when set, is read in addition either way).
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy_file = Some(path.into());
        self
    }

    /// Looks for the `.telemetry` project file from `dir` instead of the current directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Takes today's date from `clock` (dates in the state file and audit log).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How often a running process re-checks rules 2–5 while telemetry is on
    /// ([`DEFAULT_RECHECK_INTERVAL`] unless set).
    pub fn recheck_interval(mut self, interval: Duration) -> Self {
        self.recheck_interval = interval;
        self
    }

    /// How long the first-run prompt waits ([`DEFAULT_PROMPT_TIMEOUT`] unless set).
    pub fn prompt_timeout(mut self, timeout: Duration) -> Self {
        self.prompt_timeout = timeout;
        self
    }

    /// The longest dropping the guard may take to send what is pending
    /// ([`DEFAULT_FLUSH_TIMEOUT`] unless set). What is not delivered by then waits in the
    /// spool for the next process.
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// How often a long-running process sends a `heartbeat` event
    /// ([`DEFAULT_HEARTBEAT_INTERVAL`] unless set).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Declares a name the `session` event lists under `integrations`: a cargo feature or
    /// plugin the host enabled, written in its source. Only 1–32 lowercase letters, digits,
    /// `_` and `-` (starting with a letter) are kept; anything else is left out.
    ///
    /// ```
    /// let config = telemetry::Config::new("acme", "1.0")
    ///     .integration("postgres")
    ///     .integration(if cfg!(feature = "s3") { "s3" } else { "local-files" });
    /// # let _ = config;
    /// ```
    pub fn integration(mut self, name: &'static str) -> Self {
        self.integrations.push(name);
        self
    }

    /// Also trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) for an
    /// `https://` endpoint, besides the bundled web roots: for a collector behind a private
    /// certificate authority or with a self-signed certificate. Other PEM blocks are skipped;
    /// if `pem` holds no certificate, nothing changes. With the built-in transport only
    /// (cargo feature `https`): a host transport brings its own trust.
    ///
    /// ```
    /// let ca = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    /// let config = telemetry::Config::new("acme", "1.0")
    ///     .endpoint("https://telemetry.internal.example/v1/batch")
    ///     .ca_certificates(ca);
    /// # let _ = config;
    /// ```
    #[cfg(telemetry_client)]
    pub fn ca_certificates(mut self, pem: impl AsRef<[u8]>) -> Self {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        self.ca_certificates.extend(
            CertificateDer::pem_slice_iter(pem.as_ref())
                .filter_map(Result::ok)
                .map(|der| der.as_ref().to_vec()),
        );
        self
    }

    /// Sends through the host's own client instead of the built-in one (and, with
    /// `default-features = false`, compiles no HTTP or TLS crate at all). The runtime keeps
    /// the policy: which endpoints are allowed, retries, backoff, `Retry-After`, stopping on
    /// a 4xx, the breaker and the exit bound. See [`Deliver`].
    pub fn transport(mut self, transport: impl Deliver + 'static) -> Self {
        self.transport = Some(HostTransport(std::sync::Arc::new(transport)));
        self
    }

    /// Which built-in HTTP client sends batches (and a deletion request) when the host gave
    /// no [`transport`](Self::transport) of its own: the runtime's own (cargo feature
    /// `https`, the default) or ureq (feature `ureq`, for hosts that already have the `http`
    /// crate). Both follow the same rules (docs/sending.md, "Choosing the HTTP client").
    ///
    /// ```
    /// use telemetry::config::HttpClient;
    ///
    /// let config = telemetry::Config::new("acme", "1.0").http_client(HttpClient::default());
    /// # let _ = config;
    /// ```
    #[cfg(telemetry_client)]
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http_client = client;
        self
    }

    /// The CA file the user named (`APP_TELEMETRY_CA_FILE`), if any.
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub(crate) fn ca_file(&self) -> Option<PathBuf> {
        crate::base::paths::ca_file(&self.app, &self.env)
    }

    /// The host's name.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The host's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The host's name as the prefix of its variables (`acme` → `ACME`).
    pub fn env_prefix(&self) -> String {
        paths::env_prefix(&self.app)
    }

    /// The endpoint given to [`endpoint`](Self::endpoint), if any.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The endpoint in effect: `APP_TELEMETRY_ENDPOINT` if set, else the configured one.
    pub fn effective_endpoint(&self) -> Option<String> {
        self.env
            .get(&self.var("TELEMETRY_ENDPOINT"))
            .filter(|e| !e.is_empty())
            .or_else(|| self.endpoint.clone())
    }

    /// The config dir in effect, if one can be determined.
    pub fn resolved_config_dir(&self) -> Option<PathBuf> {
        self.state_dir().ok()
    }

    /// The config dir in effect, or why there is none.
    pub(crate) fn state_dir(&self) -> Result<PathBuf, ConfigDirError> {
        match &self.config_dir {
            Some(dir) => Ok(dir.clone()),
            None => paths::config_dir(&self.app, &self.env),
        }
    }

    /// The system policy file: the one given to [`policy_file`](Self::policy_file), else
    /// `/etc/APP/telemetry.toml`. `APP_TELEMETRY_POLICY_FILE` is read in addition.
    pub fn resolved_policy_file(&self) -> Option<PathBuf> {
        self.policy_file
            .clone()
            .or_else(|| paths::system_policy_file(&self.app, &self.env))
    }

    /// Every policy file consent reads: the system one, and `APP_TELEMETRY_POLICY_FILE`.
    /// Either saying `disabled = true` decides off.
    pub(crate) fn policy_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.resolved_policy_file().into_iter().collect();
        if let Some(path) = paths::env_policy_file(&self.app, &self.env)
            && !files.contains(&path)
        {
            files.push(path);
        }
        files
    }

    /// The environment consent reads.
    pub fn environment(&self) -> &Env {
        &self.env
    }

    /// `APP_suffix`.
    pub(crate) fn var(&self, suffix: &str) -> String {
        paths::var(&self.app, suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_paths() {
        let config = Config::new("acme", "1.0")
            .env(Env::empty())
            .config_dir("/home/jane.doe/.config/acme")
            .policy_file("/home/jane.doe/policy.toml")
            .current_dir("/home/jane.doe/src");
        let text = format!("{config:?}");
        assert!(!text.contains("jane"), "{text}");
        assert!(text.contains("config_dir: <set>"), "{text}");
    }
}
