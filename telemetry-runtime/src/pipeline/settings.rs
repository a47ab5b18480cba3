//! What the worker runs with: the settings resolved from the host's `Config` and the
//! environment, and the sizes of the pipeline's buffers.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::calendar::Clock;
use crate::base::env::truthy;
use crate::base::paths::SPOOL_DIR;
use crate::config::Config;
use crate::decision::Identity;
use crate::files::store::StateStore;
use crate::pipeline::client::TransportOptions;
use crate::pipeline::endpoint::Endpoint;
#[cfg(telemetry_client)]
use crate::pipeline::proxy::Proxy;
use crate::pipeline::spool::Spool;
use crate::record::queue;
use crate::wire::event::Environment;
use crate::wire::id::Id;
use crate::wire::text::{Name, Version};

/// Everything the worker needs, resolved from the `Config` and the environment by `init`.
pub(crate) struct Settings {
    /// Where batches go; `None` when no valid endpoint is set (then nothing is sent).
    pub(crate) endpoint: Option<Endpoint>,
    /// `APP_TELEMETRY_DEBUG`: print each batch to stderr instead of sending it.
    pub(crate) debug: bool,
    pub(crate) batch_size: usize,
    pub(crate) batch_interval: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) spool_dir: Option<PathBuf>,
    /// Where the state file is, to record the day of the last delivery.
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) today: Clock,
    pub(crate) app_version: Version,
    pub(crate) user_agent: String,
    pub(crate) installation_id: Option<Id>,
    pub(crate) session_id: Id,
    pub(crate) environment: Environment,
    /// Host-declared names (cargo features, plugins), already checked.
    pub(crate) integrations: Vec<Name>,
    pub(crate) transport: TransportOptions,
    /// The proxy `https://` sends tunnel through, from the environment.
    #[cfg(telemetry_client)]
    pub(crate) proxy: Option<Proxy>,
    /// For re-checking consent before each send; `None` in unit tests.
    pub(crate) config: Option<Config>,
}

/// The defaults of docs/sending.md, "When it is sent".
pub(crate) const DEFAULT_BATCH_SIZE: usize = 100;
pub(crate) const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_secs(300);
/// Settings beyond these are clamped: larger values would only overflow a clock.
const MAX_BATCH_SIZE: u64 = 1_000_000;
pub(crate) const MAX_INTERVAL_SECS: u64 = 86_400;

/// How long a periodic send (not the final flush) may take, retries included.
pub(crate) const PERIODIC_SEND_BUDGET: Duration = Duration::from_secs(10);
/// A full queue sends a batch, but never more often than this: a loop of errors must not
/// turn into a stream of requests and disk writes.
pub(crate) const MIN_SEND_GAP: Duration = Duration::from_secs(5);

impl Settings {
    /// The settings in force for `config`: its own, then `APP_TELEMETRY_*` variables.
    pub(crate) fn from_config(config: &Config, session_id: Id) -> Settings {
        let var = |suffix: &str| config.environment().get(&config.var(suffix));
        let number = |suffix: &str, max: u64| {
            var(suffix)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .map(|n| n.min(max))
        };
        let state_dir = config.resolved_config_dir();
        // Only a user who said yes (`enable` or the prompt) has an installation id.
        let installation_id = state_dir
            .as_ref()
            .and_then(|d| StateStore::new(d).read().ok())
            .filter(|s| s.enabled == Some(true) && config.identity == Identity::Installation)
            .and_then(|s| s.installation_id)
            .map(Id::from);
        let endpoint = config
            .effective_endpoint()
            .and_then(|e| Endpoint::parse(&e).ok());
        #[cfg(telemetry_client)]
        let proxy = endpoint
            .as_ref()
            .and_then(Endpoint::url)
            .and_then(|url| Proxy::for_url(config.environment(), &url));
        Settings {
            // An endpoint that is not allowed (plain http to a remote host, say) sends
            // nothing rather than something unsafe.
            endpoint,
            debug: truthy(var("TELEMETRY_DEBUG").as_deref()),
            batch_size: number("TELEMETRY_BATCH_SIZE", MAX_BATCH_SIZE)
                .map_or(DEFAULT_BATCH_SIZE, |n| n as usize),
            batch_interval: number("TELEMETRY_BATCH_INTERVAL_SECONDS", MAX_INTERVAL_SECS)
                .map_or(DEFAULT_BATCH_INTERVAL, Duration::from_secs),
            heartbeat_interval: config
                .heartbeat_interval
                .min(Duration::from_secs(MAX_INTERVAL_SECS)),
            spool_dir: state_dir.as_ref().map(|d| d.join(SPOOL_DIR)),
            state_dir,
            today: config.clock,
            app_version: Version::new(config.version()),
            user_agent: user_agent(),
            installation_id,
            session_id,
            environment: Environment::from_setting(var("TELEMETRY_ENVIRONMENT").as_deref()),
            integrations: config
                .integrations
                .iter()
                .filter_map(|n| Name::new(n))
                .collect(),
            transport: TransportOptions::for_config(config),
            #[cfg(telemetry_client)]
            proxy,
            config: Some(config.clone()),
        }
    }

    /// Whether the host sends no installation id (`Identity::Anonymous`): then none stored
    /// before, in a spooled batch, is sent either.
    pub(crate) fn anonymous(&self) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.identity == Identity::Anonymous)
    }

    /// Whether anything can ever leave: an endpoint, or debug output.
    pub(crate) fn can_send(&self) -> bool {
        self.debug || self.endpoint.is_some()
    }
}

/// Sizes of the pipeline's buffers, for hosts that want to watch them (and for tests that
/// prove they stay bounded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Discrete events waiting for the worker now.
    pub queue_len: usize,
    /// The most that can wait; beyond it events are dropped and counted.
    pub queue_capacity: usize,
    /// Events dropped because the queue was full, since the process started.
    pub dropped_events: u64,
    /// Batches waiting in the spool.
    pub spool_files: usize,
    /// Their size in bytes.
    pub spool_bytes: u64,
}

/// The sizes now, for the config dir `state_dir`.
pub(crate) fn diagnostics(state_dir: Option<PathBuf>) -> Diagnostics {
    let (spool_files, spool_bytes) =
        state_dir.map_or((0, 0), |d| Spool::new(d.join(SPOOL_DIR)).size());
    Diagnostics {
        queue_len: queue::len(),
        queue_capacity: queue::CAPACITY,
        dropped_events: queue::dropped_total(),
        spool_files,
        spool_bytes,
    }
}

/// How every request of ours announces itself: the crate and its version, nothing of the
/// host.
pub(crate) fn user_agent() -> String {
    format!("telemetry-rs/{}", env!("CARGO_PKG_VERSION"))
}
