//! The HTTP side: the routes, and the accept loop that serves them (over TLS if asked) with
//! a bound on connections, header and request timeouts, and a graceful shutdown.
//!
//! No handler reads the peer's address or a header beyond `Content-Encoding`; nothing of a
//! request is logged but the reason it was refused.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_http::timeout::TimeoutLayer;

use crate::ingest::{self, MAX_BODY};
use crate::log::Log;
use crate::state::{Ctx, Shared, busy, plain, unauthorized};
use crate::store::Window;
use crate::{dashboard, export, query, report};

/// Connections served at once, at most (fewer if the process may not open that many
/// files); more wait in the kernel's backlog. Many, so that slow clients holding some do not
/// keep the others out: a slow body is cut within seconds (`ingest.rs`).
const MAX_CONNECTIONS: usize = 8192;
/// A client has this long to send a request's headers (also the idle keep-alive limit).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A request has this long from its headers to its answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A TLS client has this long to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections still open this long after a shutdown began are closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/batch", post(ingest::batch))
        .route("/v1/report", get(report_json))
        .route("/v1/report/{chart}", get(export_chart))
        .route("/v1/schema", get(schema))
        .route("/v1/config", get(collection_config))
        .route("/v1/installations/{id}", delete(delete_installation))
        .route("/healthz", get(healthz))
        .route("/", get(dashboard_page))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(shared)
}

/// How long a read or a deletion waits for the write buffer to be written before it answers
/// `503`: a store that keeps failing holds the buffer, and the request should not hang.
const FLUSH_WAIT: Duration = Duration::from_secs(10);
/// How long a read of the store (a report, a health check) may take before it counts as
/// failing: less than the request's own limit, so the failure is seen and said.
const READ_WAIT: Duration = Duration::from_secs(20);

/// Waits until every batch acknowledged so far is in the store, or answers `503`.
async fn flushed(s: &Shared) -> Result<(), Response> {
    match tokio::time::timeout(FLUSH_WAIT, s.writer.flush()).await {
        Ok(()) => Ok(()),
        Err(_) => {
            s.log
                .warn("the write buffer was not written in time: the store is failing or slow");
            Err(busy(5))
        }
    }
}

async fn build_report(
    s: &Arc<Shared>,
    window: Window,
    every: report::Every,
) -> Result<report::Report, Response> {
    // Everything acknowledged before this request is in the report.
    flushed(s).await?;
    // A few reads at once; each holds its slot until its thread is done, even past the
    // wait below, so a hanging store cannot take every blocking thread.
    let slot = match tokio::time::timeout(READ_WAIT, Arc::clone(&s.reading).acquire_owned()).await {
        Ok(Ok(slot)) => slot,
        _ => return Err(busy(5)),
    };
    let shared = Arc::clone(s);
    let built = tokio::time::timeout(
        READ_WAIT,
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            report::build(&*shared.store, &window, shared.min_installations, every)
        }),
    )
    .await;
    let Ok(built) = built else {
        s.reads_failing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        s.log
            .warn("a report took longer than 20 s: the store is slow or failing");
        return Err(busy(5));
    };
    let failed = !matches!(built, Ok(Ok(_)));
    s.reads_failing
        .store(failed, std::sync::atomic::Ordering::Relaxed);
    match built {
        Ok(Ok(mut report)) => {
            report.collection_config = s.collection.as_ref().map(|c| report::ConfigInfo {
                etag: c.etag().to_owned(),
                rules: c.config().describe(),
            });
            if report.skipped_rows > 0 {
                s.log.warn(&format!(
                    "the report skipped {} stored row(s) that hold no valid count",
                    report.skipped_rows
                ));
            }
            Ok(report)
        }
        Ok(Err(e)) => {
            s.log.warn(&format!("could not build a report: {e}"));
            Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store does not answer\n",
            ))
        }
        Err(_) => Err(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the report failed\n",
        )),
    }
}

async fn report_json(State(s): Ctx, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if !s.readers.allow(&headers) {
        return unauthorized();
    }
    let q = match query::read(query.as_deref(), s.today.day(), s.retention_days) {
        Ok(q) => q,
        Err(why) => return bad_request(why),
    };
    match build_report(&s, q.window, q.every).await {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                json,
            )
                .into_response()
        }
        Err(response) => response,
    }
}

fn bad_request(why: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        why,
    )
        .into_response()
}

/// `GET /v1/report/CHART.csv` or `.json`: one chart's data, with the report's query.
async fn export_chart(
    State(s): Ctx,
    Path(chart): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !s.readers.allow(&headers) {
        return unauthorized();
    }
    let q = match query::read(query.as_deref(), s.today.day(), s.retention_days) {
        Ok(q) => q,
        Err(why) => return bad_request(why),
    };
    let (name, csv) = match (chart.strip_suffix(".csv"), chart.strip_suffix(".json")) {
        (Some(name), _) => (name, true),
        (_, Some(name)) => (name, false),
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                "a chart is CHART.csv or CHART.json\n",
            );
        }
    };
    let report = match build_report(&s, q.window, q.every).await {
        Ok(report) => report,
        Err(response) => return response,
    };
    let (body, kind) = if csv {
        (
            export::csv(&report, name),
            "text/csv; charset=utf-8; header=present",
        )
    } else {
        (export::json(&report, name), "application/json")
    };
    match body {
        Some(body) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "no-store"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response(),
        None => plain(StatusCode::NOT_FOUND, "no such chart\n"),
    }
}

async fn dashboard_page(State(s): Ctx, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if !s.readers.allow(&headers) {
        return unauthorized();
    }
    let q = match query::read(query.as_deref(), s.today.day(), s.retention_days) {
        Ok(q) => q,
        Err(why) => return bad_request(why),
    };
    let (days, every) = (q.days, q.every);
    match build_report(&s, q.window, every).await {
        Ok(report) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                // The page fetches nothing: no script runs, no asset loads.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            dashboard::render(&report, days, every),
        )
            .into_response(),
        Err(response) => response,
    }
}

async fn delete_installation(State(s): Ctx, Path(id): Path<String>) -> Response {
    let Some(id) = telemetry_runtime::normalize_id(&id) else {
        return plain(StatusCode::BAD_REQUEST, "not an installation id\n");
    };
    // Batches acknowledged before the request are written first, so none of them brings the
    // installation back after the `204`.
    // One at a time: anyone may ask, and a deletion is costly when the id is known.
    let Ok(Ok(_one)) = tokio::time::timeout(FLUSH_WAIT, s.deleting.acquire()).await else {
        return busy(5);
    };
    if let Err(response) = flushed(&s).await {
        return response;
    }
    let shared = Arc::clone(&s);
    let deleted = tokio::task::spawn_blocking(move || shared.store.delete_installation(&id)).await;
    match deleted {
        Ok(Ok(())) => {
            s.log.info("deleted an installation's data on request");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Err(e)) => {
            s.log
                .warn(&format!("could not delete an installation's data: {e}"));
            busy(5)
        }
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "the deletion failed\n"),
    }
}

/// The wire's JSON Schema, as this collector reads batches.
/// The collection config (docs/collection.md): the document as given, with its `ETag`;
/// `304` to a client that has it; `404` when this collector serves none (a client then
/// drops any it kept).
async fn collection_config(State(s): Ctx, headers: HeaderMap) -> Response {
    let Some(served) = &s.collection else {
        return plain(
            StatusCode::NOT_FOUND,
            "this collector serves no collection config\n",
        );
    };
    let has_it = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == served.etag() || t == "*")
        });
    let status = if has_it {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let body = if has_it {
        Vec::new()
    } else {
        served.bytes().to_vec()
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ETAG, served.etag()),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn schema() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/schema+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        telemetry_runtime::cli::json_schema(),
    )
        .into_response()
}

/// `200` while the store answers a read and the last report could read it. The store is
/// asked at most once a second, whoever asks how often.
async fn healthz(State(s): Ctx) -> Response {
    let answers = {
        let mut last = s.health.lock().await;
        match *last {
            Some((at, answers)) if at.elapsed() < Duration::from_secs(1) => answers,
            _ => {
                let shared = Arc::clone(&s);
                let pinged = tokio::time::timeout(
                    READ_WAIT,
                    tokio::task::spawn_blocking(move || shared.store.ping()),
                )
                .await;
                let answers = matches!(pinged, Ok(Ok(Ok(()))));
                *last = Some((std::time::Instant::now(), answers));
                answers
            }
        }
    };
    match answers {
        true if !s.reads_failing.load(std::sync::atomic::Ordering::Relaxed) => {
            plain(StatusCode::OK, "ok\n")
        }
        true => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the last report could not read the store\n",
        ),
        false => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        ),
    }
}

/// How many connections to serve at once: [`MAX_CONNECTIONS`], or what the process's limit
/// on open files allows (raised to its hard limit first), less some for the store and logs.
fn connection_slots() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `getrlimit`/`setrlimit` read and write the struct given, nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                    limit = raised;
                }
            }
            let files = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
            return MAX_CONNECTIONS.min(files.saturating_sub(256)).max(64);
        }
    }
    1024
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish
/// (for at most [`DRAIN_TIMEOUT`]).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    shutdown: impl Future<Output = ()>,
    log: Log,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(connection_slots()));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // The peer's address is dropped unread.
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was taken: wait a
                // moment rather than spin.
                log.debug(&format!("accept failed: {}", e.kind()));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        let conn = http.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn).await;
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_app_of_a_batch_is_a_name() {
        use crate::state::app_of;
        assert_eq!(app_of(Some("app=acme")).as_deref(), Some("acme"));
        assert_eq!(app_of(None).as_deref(), Some(""));
        assert_eq!(app_of(Some("app=a%20b")), None);
    }
}
