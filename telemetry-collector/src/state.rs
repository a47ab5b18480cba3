//! What the handlers share: the writer, the store, the settings, who may read; and the
//! small answers every handler gives (plain text, `503` with `Retry-After`, a refusal as
//! JSON).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use telemetry_runtime::Refusal;
use tokio::sync::Semaphore;

use crate::clock::Today;
use crate::config::Tap;
use crate::log::Log;
use crate::store::Store;
use crate::writer::Writer;

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) writer: Writer,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) min_installations: u64,
    pub(crate) retention_days: u32,
    pub(crate) today: Today,
    pub(crate) tap: Option<Tap>,
    pub(crate) log: Log,
    /// The collection config served at `GET /v1/config` and enforced on every batch.
    pub(crate) collection: Option<crate::config::ServedConfig>,
    /// Who may read (the dashboard, `/v1/report`).
    pub(crate) readers: Readers,
    /// Whether the last report failed to read the store (then `/healthz` says so, until a
    /// report reads again).
    pub(crate) reads_failing: AtomicBool,
    /// Batches being parsed at once, at most: parsing is the costly part of a request, and a
    /// flood of large bodies must not take every core and the memory with it.
    pub(crate) parsing: Semaphore,
    /// KiB of bodies being received at once, at most (`ingest.rs`).
    pub(crate) receiving: Semaphore,
    /// Reads of the store (reports, the dashboard, health checks) at once, at most: each
    /// takes a blocking thread, and a flood of them must not take every one.
    pub(crate) reading: Arc<Semaphore>,
    /// One deletion at a time: anyone may ask for one.
    pub(crate) deleting: Semaphore,
    /// The last health check: when, and whether the store answered (`/healthz` asks the
    /// store at most once a second).
    pub(crate) health: tokio::sync::Mutex<Option<(std::time::Instant, bool)>>,
}

/// Who may read the dashboard and the report.
#[derive(Clone)]
pub(crate) enum Readers {
    /// Anyone: `--public`, or no key on a loopback address.
    Anyone,
    /// Whoever gives this key.
    WithKey(String),
}

impl Readers {
    /// Whether `headers` carry what reading needs: `Authorization: Bearer KEY`, or HTTP
    /// Basic with KEY as the password (any user name). Compared in constant time.
    pub(crate) fn allow(&self, headers: &HeaderMap) -> bool {
        use base64::Engine as _;
        use subtle::ConstantTimeEq as _;
        let Readers::WithKey(key) = self else {
            return true;
        };
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let given = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                token.trim().as_bytes().to_vec()
            }
            Some((scheme, encoded)) if scheme.eq_ignore_ascii_case("basic") => {
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
                else {
                    return false;
                };
                match decoded.iter().position(|b| *b == b':') {
                    Some(colon) => decoded[colon + 1..].to_vec(),
                    None => return false,
                }
            }
            _ => return false,
        };
        given.ct_eq(key.as_bytes()).into()
    }
}

/// The answer to a read without the key: `401`, asking a browser for it.
pub(crate) fn unauthorized() -> Response {
    let mut r = plain(
        StatusCode::UNAUTHORIZED,
        "reading needs the key: HTTP Basic (any user, the key as password) or \
         `Authorization: Bearer KEY`\n",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"telemetry\", charset=\"UTF-8\""),
    );
    r
}

/// The state every handler is given.
pub(crate) type Ctx = State<Arc<Shared>>;

pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

pub(crate) fn busy(after_secs: u32) -> Response {
    let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "busy, try again\n");
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(after_secs));
    r
}

/// The value of `key` in a query string; values are only ever names and numbers, so
/// anything percent-encoded is left as it is and then refused by their checks.
pub(crate) fn query_param<'q>(query: Option<&'q str>, key: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// `?app=` as a name (empty when absent), or `None` if it is not one.
pub(crate) fn app_of(query: Option<&str>) -> Option<String> {
    match query_param(query, "app") {
        None | Some("") => Some(String::new()),
        Some(app) if telemetry_runtime::Name::is_valid(app) => Some(app.to_owned()),
        Some(_) => None,
    }
}

/// A refused batch's answer: `{"error": "…", "at": "…"}`, naming the first problem and
/// where it is, never what was sent (docs/compatibility.md, "What a collector does").
pub(crate) fn refused(status: StatusCode, refusal: &Refusal) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{}\n", refusal.to_json()),
    )
        .into_response()
}
