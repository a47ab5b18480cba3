//! What sends a request, and with what: the timeouts, retries and breaker settings, the
//! roots trusted, and which client (the host's own transport, the runtime's built-in one or
//! ureq). `transport.rs` holds the policy that uses them; `deletion.rs` the one request
//! made outside it.

use std::sync::Arc;
use std::time::Duration;

use crate::base::paths::FileProblem;
use crate::config::Config;
#[cfg(telemetry_client)]
use crate::config::HttpClient;
use crate::pipeline::deliver::Sender;
#[cfg(feature = "https")]
use crate::pipeline::http::Client;
#[cfg(telemetry_client)]
use crate::pipeline::proxy::Proxy;
#[cfg(telemetry_client)]
use crate::pipeline::roots::{self, ROOTS_WAIT, StoreVars};
#[cfg(feature = "https")]
use crate::pipeline::tls;
#[cfg(feature = "ureq")]
use crate::pipeline::ureq::UreqClient;
use crate::pipeline::url::HttpUrl;
use crate::wire::deliver::HostTransport;

/// Timeouts, retries and breaker settings. [`Default`] is what production uses.
#[derive(Clone, Debug)]
pub(crate) struct TransportOptions {
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest one attempt may take, from DNS to the end of the response.
    pub request_timeout: Duration,
    /// Extra attempts after the first, for retryable failures.
    pub max_retries: u32,
    /// First backoff; doubled for each retry, then jittered.
    pub base_backoff: Duration,
    /// Cap on one backoff (a server's `Retry-After` is honoured even when longer).
    pub max_backoff: Duration,
    /// Consecutive failed sends that open the breaker; 0 disables it.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses sends before letting one through again.
    pub breaker_cooldown: Duration,
    /// Certificates (DER) trusted besides the bundled and the system's roots
    /// (`Config::ca_certificates`, `APP_TELEMETRY_CA_FILE`).
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub extra_roots: Vec<Vec<u8>>,
    /// Why `APP_TELEMETRY_CA_FILE` could not be used: then `https://` sends fail, quietly,
    /// as any TLS failure does (the user asked for that CA; other roots are no substitute).
    #[cfg_attr(not(telemetry_client), allow(dead_code))]
    pub ca_file_problem: Option<FileProblem>,
    /// The host's own transport (`Config::transport`), used instead of the built-in client.
    pub host: Option<HostTransport>,
    /// Which built-in client sends, when no host transport does.
    #[cfg(telemetry_client)]
    pub client: HttpClient,
    /// Where the system's trusted roots are (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
    #[cfg(telemetry_client)]
    pub store: StoreVars,
}

impl TransportOptions {
    /// What sends to `config`'s endpoint use: the defaults, the host's CA certificates and
    /// the user's CA file.
    pub(crate) fn for_config(config: &Config) -> TransportOptions {
        #[cfg_attr(not(telemetry_client), allow(unused_mut))]
        let mut options = TransportOptions {
            extra_roots: config.ca_certificates.clone(),
            host: config.transport.clone(),
            ..TransportOptions::default()
        };
        // A host transport brings its own trust; without a built-in client there is no TLS
        // to configure.
        #[cfg(telemetry_client)]
        {
            options.client = config.http_client;
            options.store = StoreVars::from_env(config.environment());
            if let Some(path) = config.ca_file().filter(|_| options.host.is_none()) {
                match roots::read_ca_file(&path) {
                    Ok(certs) => options.extra_roots.extend(certs),
                    Err(problem) => options.ca_file_problem = Some(problem),
                }
            }
        }
        options
    }

    /// What sends `method` requests to `url` with these options: the host's transport if it
    /// gave one, else the built-in client (through `proxy`, if any).
    pub(crate) fn sender(
        &self,
        method: &'static str,
        url: HttpUrl,
        user_agent: &str,
        #[cfg(telemetry_client)] proxy: Option<Proxy>,
    ) -> Sender {
        if let Some(HostTransport(transport)) = &self.host {
            return Sender::Host {
                transport: Arc::clone(transport),
                method,
                url: url.to_request_url(),
                user_agent: user_agent.to_owned(),
            };
        }
        #[cfg(telemetry_client)]
        match self.client {
            #[cfg(feature = "https")]
            HttpClient::Builtin => Sender::Builtin(Client::with_method(
                method,
                url,
                user_agent,
                self.tls(),
                proxy,
            )),
            #[cfg(feature = "ureq")]
            HttpClient::Ureq => {
                let roots = self.ca_file_problem.is_none().then(|| self.trusted());
                UreqClient::new(method, &url, user_agent, roots.as_deref(), proxy)
                    .map_or(Sender::Nothing, Sender::Ureq)
            }
        }
        #[cfg(not(telemetry_client))]
        {
            let _ = (method, url, user_agent);
            Sender::Nothing
        }
    }

    /// The TLS client configuration for these options, if any.
    #[cfg(feature = "https")]
    pub(crate) fn tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        match self.ca_file_problem {
            Some(_) => None,
            None => tls::client_config(&self.extra_roots, &self.store, ROOTS_WAIT),
        }
    }

    /// The certificates trusted besides the bundled roots: the system's, then the extra ones.
    #[cfg(feature = "ureq")]
    fn trusted(&self) -> Vec<Vec<u8>> {
        let system = roots::system_roots(&self.store, ROOTS_WAIT);
        system.iter().chain(&self.extra_roots).cloned().collect()
    }
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            max_retries: 2,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(5 * 60),
            extra_roots: Vec::new(),
            ca_file_problem: None,
            host: None,
            #[cfg(telemetry_client)]
            client: HttpClient::default(),
            #[cfg(telemetry_client)]
            store: StoreVars::default(),
        }
    }
}
