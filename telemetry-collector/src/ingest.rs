//! `POST /v1/batch`: a batch in, as cheaply refused as possible and answered `200` only once
//! it is durable.
//!
//! In order: the headers (its encoding, `?app=`, its length) are checked; room in the write
//! buffer is taken for it (or `503` at once, its body unread); the body is read at no less
//! than a minimum rate (a sender that drips is cut); it is parsed and read by its meaning on
//! a bounded pool of threads; and the request waits until the writer says the batch is
//! durable (`writer.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use telemetry_runtime::Refusal;

use crate::config::ServedConfig;
use crate::model::{MAX_INSTALLATIONS, prepare};
use crate::parse;
use crate::state::{Ctx, Shared, app_of, busy, plain, refused};
use crate::writer::Refused;

/// The largest batch body accepted.
pub const MAX_BODY: usize = 1 << 20;
/// A body has this long to end or bring `MIN_RATE × BODY_GRACE` bytes, again and again.
const BODY_GRACE: Duration = Duration::from_secs(2);
/// Bytes a second a body must arrive at, over every [`BODY_GRACE`]: a runtime's batch is a
/// few KiB, sent at once.
const MIN_RATE: f64 = 16.0 * 1024.0;
/// How long a request waits for its batch to be durable before it is answered `503` (it may
/// still be stored: a retry is stored once).
const ACK_WAIT: Duration = Duration::from_secs(10);

/// Why a body was not read whole.
enum BodyError {
    TooLarge,
    TooSlow,
    Broken,
    /// Bodies arriving at once already hold [`RECEIVING_KIB`].
    Busy,
}

/// Bytes of bodies being received at once, at most (in KiB): what bounds the memory a flood
/// of fast senders can take before the write buffer's own bound applies.
pub(crate) const RECEIVING_KIB: usize = 64 * 1024;

/// Reads `body`, at most `limit` bytes. It must keep coming: within every [`BODY_GRACE`]
/// (counted from the headers, then from the last time it did) it ends or brings
/// `MIN_RATE × BODY_GRACE` more bytes, so neither a slow drip nor a burst followed by a
/// pause holds a connection long. Its bytes count against what all requests may be
/// receiving at once, rounded up to the KiB over the whole body (not per piece: a body sent
/// in one-byte chunks costs what its bytes cost).
async fn read_body(s: &Shared, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = body;
    let quota = (MIN_RATE * BODY_GRACE.as_secs_f64()) as usize;
    let mut window = (Instant::now(), 0usize);
    let mut bytes = Vec::new();
    let mut held = Vec::new();
    let mut held_kib = 0usize;
    loop {
        let left = BODY_GRACE.saturating_sub(window.0.elapsed());
        let frame = match tokio::time::timeout(left, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => return Ok(Bytes::from(bytes)),
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > limit {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
            let kib = bytes.len().div_ceil(1024);
            if kib > held_kib {
                let more = u32::try_from(kib - held_kib).unwrap_or(u32::MAX);
                match s.receiving.try_acquire_many(more) {
                    Ok(permit) => held.push(permit),
                    Err(_) => return Err(BodyError::Busy),
                }
                held_kib = kib;
            }
            window.1 += data.len();
            if window.1 >= quota {
                window = (Instant::now(), 0);
            }
        }
    }
}

/// The length the headers announce, if they do.
fn announced(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

pub(crate) async fn batch(State(s): Ctx, RawQuery(query): RawQuery, request: Request) -> Response {
    let refuse = |status, refusal: Refusal| {
        s.log.debug(&format!("refused a batch: {refusal}"));
        refused(status, &refusal)
    };
    let headers = request.headers();
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|e| e.as_bytes() != b"identity")
    {
        let why = Refusal::new("batches are sent uncompressed", "");
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, why);
    }
    let Some(app) = app_of(query.as_deref()) else {
        let why = Refusal::new("the query parameter is not a name", "app");
        return refuse(StatusCode::BAD_REQUEST, why);
    };
    let size = announced(headers);
    if size.is_some_and(|n| n > MAX_BODY) {
        let why = Refusal::new("the body is over 1 MiB", "");
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, why);
    }
    // A full buffer refuses before a byte of the body is read.
    if !s.writer.has_room(size.unwrap_or(0)) {
        s.log.debug("refused a batch: the write buffer is full");
        return busy(1);
    }
    let body = match read_body(&s, request.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            let why = Refusal::new("the body is over 1 MiB", "");
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, why);
        }
        Err(BodyError::TooSlow) => {
            s.log.debug("refused a batch: its body came too slowly");
            return plain(StatusCode::REQUEST_TIMEOUT, "the body came too slowly\n");
        }
        Err(BodyError::Broken) => {
            let why = Refusal::new("the body could not be read", "");
            return refuse(StatusCode::BAD_REQUEST, why);
        }
        Err(BodyError::Busy) => {
            s.log
                .debug("refused a batch: too many bodies arriving at once");
            return busy(1);
        }
    };
    // The room it takes until it is in the store, now that it is here.
    let reservation = match s.writer.reserve(body.len()) {
        Ok(r) => r,
        Err(Refused::Busy) => {
            s.log.debug("refused a batch: the write buffer is full");
            return busy(1);
        }
        Err(Refused::Closed) => return busy(5),
    };
    let prepared = match read(&s, body.clone(), app).await {
        Ok(Some(prepared)) => prepared,
        // Only events the retention has already deleted the like of, or that the collection
        // config leaves out: acknowledged, so the host stops resending it, and not kept.
        Ok(None) => {
            return plain(
                StatusCode::OK,
                "not kept: older than the retention, or left out by the collection config\n",
            );
        }
        Err(refusal) => return refuse(StatusCode::BAD_REQUEST, refusal),
    };
    let acked = match reservation.store(prepared) {
        Ok(acked) => acked,
        Err(_) => return busy(5),
    };
    match tokio::time::timeout(ACK_WAIT, acked).await {
        Ok(Ok(true)) => {
            if let Some(tap) = &s.tap {
                tap(&body);
            }
            plain(StatusCode::OK, "stored\n")
        }
        _ => {
            s.log
                .debug("answered a batch 503: it was not made durable in time");
            busy(5)
        }
    }
}

/// `body` read by its meaning and prepared for the store, on a thread of the bounded pool:
/// `None` if all of it is older than the retention.
async fn read(
    s: &Arc<Shared>,
    body: Bytes,
    app: String,
) -> Result<Option<crate::model::Prepared>, Refusal> {
    let Ok(_slot) = s.parsing.acquire().await else {
        return Err(Refusal::new("the collector is stopping", ""));
    };
    let today = s.today.day();
    let retention_days = s.retention_days;
    let log = s.log.clone();
    let collection = s.collection.clone();
    let work = move || {
        let parsed = parse::batch(&body)?;
        if !parsed.left_out.is_empty() {
            let l = parsed.left_out;
            log.debug(&format!(
                "left out of a batch, as unknown to this release: {} field(s), {} event(s), \
                 {} value(s)",
                l.fields, l.event_types, l.values
            ));
        }
        // Hours run from the retention's start to the end of tomorrow by the collector's
        // clock (a client's clock may run a little ahead); a batch dated later is refused
        // whole, so that whatever is counted is counted in every total alike.
        let latest_hour = (today + 2) * 24 - 1;
        if parsed.events.iter().any(|e| e.hour > latest_hour) {
            return Err(Refusal::new(
                "an event is dated more than a day ahead of the collector's clock",
                "events",
            ));
        }
        let config = collection.as_ref().map(ServedConfig::config);
        let prepared = prepare(
            parsed,
            &app,
            today,
            today - i64::from(retention_days),
            config,
        );
        if prepared.parts.len() > MAX_INSTALLATIONS {
            return Err(Refusal::new(
                "more than 16 installations in one batch",
                "events",
            ));
        }
        // Nothing left of it (all too old, or all left out by the collection config):
        // acknowledged, so the host stops resending it, and not kept.
        let empty = prepared.parts.is_empty() && prepared.too_old + prepared.narrowed_away > 0;
        Ok((!empty).then_some(prepared))
    };
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(Refusal::new("the batch could not be read", "")))
}
