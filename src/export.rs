//! Stats export to InfluxDB v2, or to anything that speaks its `/api/v2/write` (VictoriaMetrics).
//!
//! Two halves:
//! - **Points**: pure functions from a container's [`StatsSample`] or an endpoint's [`Aggregate`]
//!   to an influxdb2 [`DataPoint`]. No I/O; unit-tested on the line protocol they produce.
//! - **Exporter**: a bounded queue and one background task that sends it in batches. The app
//!   holds an [`ExporterHandle`]: [`offer`](ExporterHandle::offer) never awaits and never blocks
//!   on the network, [`status`](ExporterHandle::status) feeds the status bar.
//!
//! ```text
//!   app loop ──offer(points)──▶ Queue (VecDeque of line-protocol lines, ≤ capacity)
//!      ▲                          │  oldest dropped when full, counted in `dropped`
//!      └──status()────────────────┤
//!                                 ▼  every interval (sooner once a batch is full)
//!                        task: take ≤ BATCH_POINTS ─▶ POST /api/v2/write (deadline)
//!                                 ok: sent += n     fail: lines go back to the front
//! ```
//!
//! # Wiring
//!
//! - When [`StatsBook::record`] returns a sample: `handle.offer(container_point_in(&fleet,
//!   endpoint, &id, &sample))` — each sample is exported once, at the stats resolution.
//! - Every `settings.interval`: `handle.offer(endpoint_points(&fleet, &book, Utc::now()))`.
//! - The status bar: `handle.status()` (a lock held for a copy of a few counters).
//! - On quit: `handle.shutdown(grace).await` makes one last attempt; dropping the handle
//!   instead stops the task at once.
//!
//! # Decisions
//!
//! - The queue holds serialised lines (~270 bytes a point with realistic names), not
//!   `DataPoint`s, whose two maps of owned strings take ~1.3 KB on the heap: 100 000 queued
//!   points are ~30 MB rather than ~135 MB.
//! - Lines in flight are out of the queue but still count against its capacity; when newer points
//!   overflow it while a request is out, the oldest in-flight lines are marked to be dropped if
//!   that request fails (if it succeeds they were delivered). So "oldest dropped" holds exactly,
//!   and queued + sent + dropped always adds up to what was offered.
//! - A failed send keeps its lines and is retried at the next interval, not sooner: a server that
//!   refuses connections instantly must not be hammered. A request has a deadline
//!   ([`InfluxSettings::request_timeout`]), so a server that accepts and stalls costs one
//!   interval, never the UI.
//! - A batch the server rejects as malformed (400, 413, 422) is dropped rather than retried
//!   forever; everything else (connection errors, 401, 404, 5xx, timeouts) is retried.
//! - Non-finite floats are left out of a point (line protocol has no NaN: one would make the
//!   server reject the whole batch), and so are empty tags (not allowed either).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
pub use influxdb2::models::DataPoint;
use influxdb2::models::WriteDataPoint;
use influxdb2::models::data_point::DataPointBuilder;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use crate::config::InfluxSettings;
use crate::model::stats::{Aggregate, HostCapacity, StatsBook, StatsSample};
use crate::model::{Container, Endpoint, EndpointId, Fleet};

pub const CONTAINER_MEASUREMENT: &str = "container";
pub const ENDPOINT_MEASUREMENT: &str = "endpoint";
/// Most points in one write request; InfluxDB's own advice is 5000 lines.
pub const BATCH_POINTS: usize = 5000;
const DROP_WARNING_EVERY: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ points --

/// What identifies a container's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerTags<'a> {
    pub endpoint: &'a str,
    pub cluster: &'a str,
    pub container: &'a str,
    pub image: &'a str,
    pub short_id: &'a str,
}

impl<'a> ContainerTags<'a> {
    pub fn of(endpoint: &'a Endpoint, container: &'a Container) -> Self {
        Self {
            endpoint: endpoint.name(),
            cluster: endpoint.cluster(),
            container: &container.name,
            image: &container.image,
            short_id: container.short_id(),
        }
    }
}

/// A tag value as line protocol can carry it: no line breaks, no trailing backslash (it would
/// escape the separator after it). Empty means "leave the tag out".
fn clean_tag(value: &str) -> Cow<'_, str> {
    let trimmed = value.trim().trim_end_matches('\\');
    if trimmed.contains(['\n', '\r']) {
        Cow::Owned(trimmed.replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(trimmed)
    }
}

fn tag(b: DataPointBuilder, key: &str, value: &str) -> DataPointBuilder {
    let value = clean_tag(value);
    if value.is_empty() {
        b
    } else {
        b.tag(key, value.into_owned())
    }
}

fn float(b: DataPointBuilder, key: &str, value: f64) -> DataPointBuilder {
    if value.is_finite() {
        b.field(key, value)
    } else {
        b
    }
}

fn int(b: DataPointBuilder, key: &str, value: u64) -> DataPointBuilder {
    b.field(key, i64::try_from(value).unwrap_or(i64::MAX))
}

/// One container's sample: measurement `container`, tags `endpoint`, `cluster`, `container`,
/// `image`, `id`; fields `cpu_pct`, `mem_used`, `mem_limit` (bytes), `net_rx`, `net_tx`,
/// `blk_read`, `blk_write` (bytes per second), `pids`; timestamp the sample's, in ns.
/// `None` only for a time line protocol cannot express (after 2262).
pub fn container_point(tags: &ContainerTags<'_>, sample: &StatsSample) -> Option<DataPoint> {
    let mut b = DataPoint::builder(CONTAINER_MEASUREMENT);
    b = tag(b, "endpoint", tags.endpoint);
    b = tag(b, "cluster", tags.cluster);
    b = tag(b, "container", tags.container);
    b = tag(b, "image", tags.image);
    b = tag(b, "id", tags.short_id);
    b = float(b, "cpu_pct", sample.cpu_pct);
    b = int(b, "mem_used", sample.mem_used);
    b = int(b, "mem_limit", sample.mem_limit);
    b = float(b, "net_rx", sample.net_rx_bps);
    b = float(b, "net_tx", sample.net_tx_bps);
    b = float(b, "blk_read", sample.blk_read_bps);
    b = float(b, "blk_write", sample.blk_write_bps);
    b = int(b, "pids", sample.pids);
    b.timestamp(sample.at.timestamp_nanos_opt()?).build().ok()
}

/// One endpoint's sums at `at`: measurement `endpoint`, tags `endpoint`, `cluster`; fields
/// `containers` (how many were summed), `cpu_pct` (250 = two and a half cores), `mem_used`,
/// `net_rx`, `net_tx`, `blk_read`, `blk_write`, and `host_cpus`, `host_mem` when the daemon
/// reported them.
pub fn endpoint_point(
    endpoint: &str,
    cluster: &str,
    usage: &Aggregate,
    at: DateTime<Utc>,
) -> Option<DataPoint> {
    let mut b = DataPoint::builder(ENDPOINT_MEASUREMENT);
    b = tag(b, "endpoint", endpoint);
    b = tag(b, "cluster", cluster);
    b = int(b, "containers", usage.containers as u64);
    b = float(b, "cpu_pct", usage.cpu_pct);
    b = int(b, "mem_used", usage.mem_used);
    b = float(b, "net_rx", usage.net_rx_bps);
    b = float(b, "net_tx", usage.net_tx_bps);
    b = float(b, "blk_read", usage.blk_read_bps);
    b = float(b, "blk_write", usage.blk_write_bps);
    if usage.host.cpus > 0 {
        b = int(b, "host_cpus", usage.host.cpus);
    }
    if usage.host.memory_bytes > 0 {
        b = int(b, "host_mem", usage.host.memory_bytes);
    }
    b.timestamp(at.timestamp_nanos_opt()?).build().ok()
}

/// The point for a sample just recorded for container `id` of `endpoint`; `None` when the fleet
/// no longer knows the container (it went between the reading and now).
pub fn container_point_in(
    fleet: &Fleet,
    endpoint: EndpointId,
    id: &str,
    sample: &StatsSample,
) -> Option<DataPoint> {
    let ep = fleet.endpoints.get(endpoint)?;
    let container = ep.containers.get(id)?;
    container_point(&ContainerTags::of(ep, container), sample)
}

/// The containers a stats message holds samples of, read before the model takes the message;
/// `None` for any other message.
pub fn sampled(msg: &crate::model::Msg) -> Option<(EndpointId, Vec<String>)> {
    match &msg.kind {
        crate::model::MsgKind::Stats { samples, .. } => Some((
            msg.endpoint,
            samples.iter().map(|(id, _)| id.clone()).collect(),
        )),
        _ => None,
    }
}

/// The points of the samples [`sampled`] named, once the model has recorded them: each sample
/// is exported once, at the stats resolution.
pub fn sampled_points(fleet: &Fleet, endpoint: EndpointId, ids: &[String]) -> Vec<DataPoint> {
    ids.iter()
        .filter_map(|id| {
            let sample = fleet.stats.latest(endpoint, id)?;
            container_point_in(fleet, endpoint, id, sample)
        })
        .collect()
}

/// One point per endpoint that is up: the latest samples of its containers summed, against its
/// host. An endpoint that is down sends nothing rather than stale sums.
pub fn endpoint_points(fleet: &Fleet, book: &StatsBook, at: DateTime<Utc>) -> Vec<DataPoint> {
    fleet
        .endpoints
        .iter()
        .enumerate()
        .filter(|(_, ep)| ep.is_up())
        .filter_map(|(id, ep)| {
            let host = ep.info.as_ref().map(HostCapacity::from).unwrap_or_default();
            endpoint_point(ep.name(), ep.cluster(), &book.endpoint_usage(id, host), at)
        })
        .collect()
}

/// A point as the line protocol the server receives, newline included.
pub fn line_protocol(point: &DataPoint) -> String {
    String::from_utf8_lossy(&line_bytes(point).unwrap_or_default()).into_owned()
}

fn line_bytes(point: &DataPoint) -> Option<Box<[u8]>> {
    let mut buf = Vec::with_capacity(256);
    point.write_data_point_to(&mut buf).ok()?;
    Some(buf.into_boxed_slice())
}

// ------------------------------------------------------------------- queue --

type Line = Box<[u8]>;

/// What the status bar shows about the export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportStatus {
    /// Points waiting, those in an unfinished request included.
    pub queued: usize,
    /// Points lost: pushed out of a full queue, or in a batch the server rejected.
    pub dropped: u64,
    /// Points the server accepted.
    pub sent: u64,
    /// Why the last attempt failed; `None` once a send succeeds.
    pub last_error: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
}

/// How a send ended, as far as the queue is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent,
    /// Keep the lines and try again later.
    Failed(String),
    /// The server refused the batch as such: retrying it would fail forever.
    Rejected(String),
}

/// The bounded queue, with its counters. Plain data: the exporter wraps it in a mutex.
#[derive(Debug)]
struct Queue {
    lines: VecDeque<Line>,
    capacity: usize,
    /// Lines taken by the request in progress.
    in_flight: usize,
    /// How many of the in-flight lines (the oldest of all) newer points have displaced: dropped
    /// if the request fails.
    doomed: usize,
    dropped: u64,
    sent: u64,
    last_error: Option<String>,
    last_success: Option<DateTime<Utc>>,
}

impl Queue {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            lines: VecDeque::with_capacity(capacity.min(BATCH_POINTS)),
            capacity,
            in_flight: 0,
            doomed: 0,
            dropped: 0,
            sent: 0,
            last_error: None,
            last_success: None,
        }
    }

    fn queued(&self) -> usize {
        self.lines.len() + self.in_flight - self.doomed
    }

    fn push(&mut self, line: Line) {
        self.lines.push_back(line);
        if self.queued() > self.capacity {
            if self.doomed < self.in_flight {
                self.doomed += 1;
            } else {
                self.lines.pop_front();
                self.dropped += 1;
            }
        }
    }

    /// The oldest lines, up to `max`, for one request. Only one batch is out at a time.
    fn take(&mut self, max: usize) -> Vec<Line> {
        let n = max.min(self.lines.len());
        self.in_flight = n;
        self.doomed = 0;
        self.lines.drain(..n).collect()
    }

    fn settle(&mut self, batch: Vec<Line>, outcome: Outcome, now: DateTime<Utc>) {
        let doomed = std::mem::take(&mut self.doomed);
        self.in_flight = 0;
        match outcome {
            Outcome::Sent => {
                self.sent += batch.len() as u64;
                self.last_success = Some(now);
                self.last_error = None;
            }
            Outcome::Rejected(e) => {
                self.dropped += batch.len() as u64;
                self.last_error = Some(e);
            }
            Outcome::Failed(e) => {
                self.dropped += doomed.min(batch.len()) as u64;
                for line in batch.into_iter().skip(doomed).rev() {
                    self.lines.push_front(line);
                }
                self.last_error = Some(e);
            }
        }
    }

    fn status(&self) -> ExportStatus {
        ExportStatus {
            queued: self.queued(),
            dropped: self.dropped,
            sent: self.sent,
            last_error: self.last_error.clone(),
            last_success: self.last_success,
        }
    }
}

// ---------------------------------------------------------------- exporter --

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("influx.url: {0}")]
    Url(String),
    #[error("cannot build the InfluxDB client: {0}")]
    Client(String),
    #[error("the exporter must be started inside a tokio runtime")]
    NoRuntime,
}

/// What the app and the task share. The mutex is only ever held for queue bookkeeping, never
/// across an await.
#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Notify,
    /// Set by `flush_now` and `shutdown`: send even while backing off after a failure.
    forced: AtomicBool,
    closing: AtomicBool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock leaves consistent counters; keep going.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The background half: sends the queue in batches, every interval, sooner when a batch is full.
pub struct Exporter {
    client: influxdb2::Client,
    settings: InfluxSettings,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Spawns the exporter on the current tokio runtime. Nothing is sent until points are
    /// offered; an unreachable server is not an error here, only in [`ExportStatus::last_error`].
    pub fn start(settings: &InfluxSettings) -> Result<ExporterHandle, ExportError> {
        // influxdb2 panics on a URL it cannot parse: check it first, whatever built the settings.
        crate::config::influx::check_url(&settings.url).map_err(ExportError::Url)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ExportError::NoRuntime)?;
        let client = influxdb2::ClientBuilder::new(
            settings.url.as_str(),
            settings.org.as_str(),
            settings.token.expose(),
        )
        .build()
        .map_err(|e| ExportError::Client(e.to_string()))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::new(settings.queue_capacity)),
            wake: Notify::new(),
            forced: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        });
        let exporter = Self {
            client,
            settings: settings.clone(),
            shared: Arc::clone(&shared),
        };
        tracing::info!(
            url = %settings.url,
            bucket = %settings.bucket,
            interval_s = settings.interval.as_secs_f64(),
            queue = settings.queue_capacity,
            "influx export started"
        );
        let task = runtime.spawn(exporter.run());
        Ok(ExporterHandle {
            shared,
            task: Some(task),
        })
    }

    async fn run(self) {
        let interval = self.settings.interval.max(Duration::from_millis(10));
        let mut tick = tokio::time::interval_at(Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failing: Option<String> = None;
        let mut dropped_logged = 0;
        let mut last_drop_warning: Option<Instant> = None;
        loop {
            let by_tick = tokio::select! {
                _ = tick.tick() => true,
                () = self.shared.wake.notified() => false,
            };
            let closing = self.shared.closing.load(Ordering::Acquire);
            let forced = self.shared.forced.swap(false, Ordering::AcqRel);
            // After a failure only the interval (or an explicit request) retries: a full queue
            // waking us must not turn a dead server into a busy loop.
            if by_tick || forced || closing || failing.is_none() {
                self.send_all(&mut failing).await;
            }
            let dropped = self.shared.queue().dropped;
            if dropped > dropped_logged {
                // At most one warning a minute through a long outage; the count is in the status.
                if last_drop_warning.is_none_or(|t: Instant| t.elapsed() >= DROP_WARNING_EVERY) {
                    tracing::warn!(
                        dropped,
                        new = dropped - dropped_logged,
                        "influx export dropped points (queue full or batch rejected)"
                    );
                    last_drop_warning = Some(Instant::now());
                    dropped_logged = dropped;
                }
            }
            if closing {
                break;
            }
        }
    }

    /// Sends batches until the queue is empty or one fails. `failing` is the error of the last
    /// failed attempt, `None` after a success: a failure is logged as a warning when it starts
    /// or changes, not once an interval for as long as the server is away.
    async fn send_all(&self, failing: &mut Option<String>) {
        loop {
            let batch = self.shared.queue().take(BATCH_POINTS);
            if batch.is_empty() {
                return;
            }
            let n = batch.len();
            let outcome = self.send(&batch).await;
            match &outcome {
                Outcome::Sent => {
                    if let Some(error) = failing.take() {
                        tracing::info!(points = n, %error, "influx export recovered");
                    } else {
                        tracing::debug!(points = n, "influx batch sent");
                    }
                }
                Outcome::Rejected(e) => {
                    tracing::error!(points = n, error = %e, "influx server rejected a batch; dropped");
                }
                Outcome::Failed(e) if failing.as_ref() == Some(e) => {
                    tracing::debug!(points = n, error = %e, "influx export still failing");
                }
                Outcome::Failed(e) => {
                    tracing::warn!(points = n, error = %e, "influx export failed; will retry");
                    *failing = Some(e.clone());
                }
            }
            let failed = matches!(outcome, Outcome::Failed(_));
            self.shared.queue().settle(batch, outcome, Utc::now());
            if failed {
                return;
            }
        }
    }

    async fn send(&self, batch: &[Line]) -> Outcome {
        let body: Vec<u8> = batch.concat();
        let timeout = self.settings.request_timeout;
        let write =
            self.client
                .write_line_protocol(&self.settings.org, &self.settings.bucket, body);
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(influxdb2::RequestError::Http { status, text }))
                if matches!(status.as_u16(), 400 | 413 | 422) =>
            {
                Outcome::Rejected(format!("{status}: {}", text.trim()))
            }
            Ok(Err(influxdb2::RequestError::Http { status, text })) => {
                Outcome::Failed(format!("{status}: {}", text.trim()))
            }
            Ok(Err(influxdb2::RequestError::ReqwestProcessing { source })) => {
                tracing::debug!(error = %source, "influx request failed");
                let what = if source.is_connect() {
                    "cannot connect to"
                } else {
                    "request failed to"
                };
                Outcome::Failed(format!(
                    "{what} {}: {}",
                    self.settings.url,
                    root_cause(&source)
                ))
            }
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(_) => Outcome::Failed(format!(
                "no answer from {} within {} s",
                self.settings.url,
                timeout.as_secs_f64()
            )),
        }
    }
}

/// The innermost error: reqwest's own text repeats the whole URL and every layer
/// ("error sending request for url (…): error trying to connect: tcp connect error: …"),
/// too long for a status bar; the root says what happened ("Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The app's side of the exporter. Dropping it stops the task at once (queued points are lost);
/// [`shutdown`](Self::shutdown) tries to send them first.
#[derive(Debug)]
pub struct ExporterHandle {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl ExporterHandle {
    /// Queues points for the next batch and returns: no await, no I/O, the lock held only for
    /// the pushes. A full queue drops its oldest points.
    pub fn offer(&self, points: impl IntoIterator<Item = DataPoint>) {
        // Serialise before taking the lock.
        let lines: Vec<Line> = points.into_iter().filter_map(|p| line_bytes(&p)).collect();
        if lines.is_empty() {
            return;
        }
        let full_batch = {
            let mut queue = self.shared.queue();
            for line in lines {
                queue.push(line);
            }
            queue.lines.len() >= BATCH_POINTS
        };
        if full_batch {
            self.shared.wake.notify_one();
        }
    }

    pub fn status(&self) -> ExportStatus {
        self.shared.queue().status()
    }

    /// Asks the task to send now rather than at the next interval, even while backing off.
    pub fn flush_now(&self) {
        self.shared.forced.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Makes one last attempt to send what is queued, waiting at most `grace`, then stops.
    pub async fn shutdown(mut self, grace: Duration) -> ExportStatus {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
                tracing::warn!("influx export stopped before its last batch was sent");
            }
        }
        self.status()
    }
}

impl Drop for ExporterHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }

    fn sample() -> StatsSample {
        StatsSample {
            at: at(),
            cpu_pct: 12.5,
            mem_used: 104_857_600,
            mem_limit: 536_870_912,
            mem_pct: 19.53125,
            net_rx_bps: 1024.0,
            net_tx_bps: 2048.5,
            blk_read_bps: 0.0,
            blk_write_bps: 4096.0,
            pids: 7,
        }
    }

    const TAGS: ContainerTags<'static> = ContainerTags {
        endpoint: "us-east-01",
        cluster: "prod-us",
        container: "web-1",
        image: "nginx:1.25",
        short_id: "0123456789ab",
    };

    #[test]
    fn container_point_carries_every_tag_and_field() {
        let p = container_point(&TAGS, &sample()).unwrap();
        assert_eq!(
            line_protocol(&p),
            "container,cluster=prod-us,container=web-1,endpoint=us-east-01,id=0123456789ab,image=nginx:1.25 \
             blk_read=0,blk_write=4096,cpu_pct=12.5,mem_limit=536870912i,mem_used=104857600i,\
             net_rx=1024,net_tx=2048.5,pids=7i 1714564800000000000\n"
        );
    }

    #[test]
    fn tag_values_are_escaped_and_empty_ones_left_out() {
        let tags = ContainerTags {
            cluster: "prod us,east",
            image: "",
            endpoint: "a=b\\",
            ..TAGS
        };
        let line = line_protocol(&container_point(&tags, &sample()).unwrap());
        assert!(
            line.starts_with(
                "container,cluster=prod\\ us\\,east,container=web-1,endpoint=a\\=b,id=0123456789ab "
            ),
            "{line}"
        );
        assert!(!line.contains("image="), "{line}");
    }

    #[test]
    fn non_finite_values_are_left_out_so_the_batch_stays_valid() {
        let s = StatsSample {
            cpu_pct: f64::NAN,
            net_rx_bps: f64::INFINITY,
            ..sample()
        };
        let line = line_protocol(&container_point(&TAGS, &s).unwrap());
        assert!(
            !line.contains("cpu_pct") && !line.contains("net_rx="),
            "{line}"
        );
        assert!(
            !line.to_lowercase().contains("nan") && !line.contains("inf"),
            "{line}"
        );
        assert!(line.contains("net_tx=2048.5"), "{line}");
    }

    #[test]
    fn huge_counters_saturate_instead_of_wrapping() {
        let s = StatsSample {
            mem_limit: u64::MAX,
            ..sample()
        };
        let line = line_protocol(&container_point(&TAGS, &s).unwrap());
        assert!(line.contains(&format!("mem_limit={}i", i64::MAX)), "{line}");
    }

    #[test]
    fn endpoint_point_sums_and_host_capacity() {
        let mut usage = Aggregate {
            host: HostCapacity::new(8, 16 << 30),
            ..Aggregate::default()
        };
        usage.add_sample(&sample());
        usage.add_sample(&StatsSample {
            cpu_pct: 50.0,
            ..sample()
        });
        let p = endpoint_point("us-east-01", "prod-us", &usage, at()).unwrap();
        assert_eq!(
            line_protocol(&p),
            "endpoint,cluster=prod-us,endpoint=us-east-01 \
             blk_read=0,blk_write=8192,containers=2i,cpu_pct=62.5,host_cpus=8i,host_mem=17179869184i,\
             mem_used=209715200i,net_rx=2048,net_tx=4097 1714564800000000000\n"
        );
    }

    #[test]
    fn endpoint_point_without_host_info_leaves_capacity_out() {
        let p = endpoint_point("lab1", "lab-a", &Aggregate::default(), at()).unwrap();
        let line = line_protocol(&p);
        assert!(line.contains("containers=0i"), "{line}");
        assert!(!line.contains("host_"), "{line}");
    }

    #[test]
    fn fleet_points_name_the_container_and_skip_endpoints_that_are_down() {
        use crate::model::EndpointSpec;
        use crate::model::container::fixtures::container;
        use crate::model::stats::RawStats;
        use crate::model::{ContainerState, DaemonInfo, Link};

        let mut up = EndpointSpec::from_url(Some("lab1"), "unix:///run/lab1.sock").unwrap();
        up.cluster = "lab-a".into();
        let down = EndpointSpec::from_url(Some("lab4"), "unix:///run/lab4.sock").unwrap();
        let mut fleet = Fleet::new([up, down]);
        let id = "0123456789abcdef0123";
        fleet.endpoints[0].link = Link::Up;
        fleet.endpoints[0].info = Some(DaemonInfo {
            cpus: 4,
            ..DaemonInfo::default()
        });
        fleet.endpoints[0]
            .containers
            .insert(id.into(), container(id, "web-1", ContainerState::Running));

        let mut book = StatsBook::default();
        let reading = |secs: i64, pids: u64| RawStats {
            read: at() + chrono::TimeDelta::seconds(secs),
            pids,
            ..RawStats::default()
        };
        let every = Duration::from_secs(2);
        assert_eq!(book.record(0, id, reading(0, 3), every), None);
        let sample = book.record(0, id, reading(2, 5), every).unwrap();

        let p = container_point_in(&fleet, 0, id, &sample).unwrap();
        let line = line_protocol(&p);
        assert!(
            line.starts_with(
                "container,cluster=lab-a,container=web-1,endpoint=lab1,id=0123456789ab,image=busybox:local "
            ),
            "{line}"
        );
        assert!(line.contains("pids=5i"), "{line}");
        assert!(container_point_in(&fleet, 0, "gone", &sample).is_none());
        assert!(container_point_in(&fleet, 7, id, &sample).is_none());

        let lines: Vec<String> = endpoint_points(&fleet, &book, at())
            .iter()
            .map(line_protocol)
            .collect();
        assert_eq!(lines.len(), 1, "lab4 is not up: {lines:?}");
        assert!(
            lines[0].starts_with("endpoint,cluster=lab-a,endpoint=lab1 "),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("containers=1i") && lines[0].contains("host_cpus=4i"),
            "{lines:?}"
        );
    }

    fn line(n: u8) -> Line {
        vec![n].into_boxed_slice()
    }

    fn contents(q: &Queue) -> Vec<u8> {
        q.lines.iter().map(|l| l[0]).collect()
    }

    #[test]
    fn a_full_queue_drops_its_oldest_points() {
        let mut q = Queue::new(3);
        for n in 1..=5 {
            q.push(line(n));
        }
        assert_eq!(contents(&q), [3, 4, 5]);
        assert_eq!(q.status().queued, 3);
        assert_eq!(q.status().dropped, 2);
    }

    #[test]
    fn a_failed_batch_goes_back_to_the_front_in_order() {
        let mut q = Queue::new(10);
        for n in 1..=5 {
            q.push(line(n));
        }
        let batch = q.take(3);
        q.push(line(6));
        assert_eq!(q.status().queued, 6);
        q.settle(batch, Outcome::Failed("refused".into()), at());
        assert_eq!(contents(&q), [1, 2, 3, 4, 5, 6]);
        let s = q.status();
        assert_eq!((s.queued, s.dropped, s.sent), (6, 0, 0));
        assert_eq!(s.last_error.as_deref(), Some("refused"));
    }

    #[test]
    fn overflow_during_a_request_dooms_the_oldest_in_flight_points() {
        let mut q = Queue::new(4);
        for n in 1..=4 {
            q.push(line(n));
        }
        let batch = q.take(3); // 1, 2, 3 out; 4 waiting
        q.push(line(5));
        q.push(line(6)); // capacity 4: 1 and 2 are displaced
        assert_eq!(q.status().queued, 4);
        assert_eq!(
            q.status().dropped,
            0,
            "not lost yet: the request may succeed"
        );
        q.settle(batch, Outcome::Failed("timeout".into()), at());
        assert_eq!(contents(&q), [3, 4, 5, 6]);
        assert_eq!(q.status().dropped, 2);
    }

    #[test]
    fn overflow_during_a_successful_request_loses_nothing() {
        let mut q = Queue::new(2);
        q.push(line(1));
        q.push(line(2));
        let batch = q.take(2);
        q.push(line(3));
        q.push(line(4));
        q.push(line(5)); // more than the in-flight two: the oldest waiting one goes
        q.settle(batch, Outcome::Sent, at());
        assert_eq!(contents(&q), [4, 5]);
        let s = q.status();
        assert_eq!((s.queued, s.sent, s.dropped), (2, 2, 1));
        assert_eq!(s.last_success, Some(at()));
        assert_eq!(s.last_error, None);
    }

    #[test]
    fn a_rejected_batch_is_dropped_not_retried() {
        let mut q = Queue::new(10);
        q.push(line(1));
        q.push(line(2));
        let batch = q.take(10);
        q.settle(batch, Outcome::Rejected("400 Bad Request".into()), at());
        let s = q.status();
        assert_eq!((s.queued, s.dropped, s.sent), (0, 2, 0));
        assert!(q.take(10).is_empty());
    }

    #[test]
    fn starting_without_a_runtime_is_an_error_not_a_panic() {
        let settings = InfluxSettings {
            url: "http://127.0.0.1:9".into(),
            org: "o".into(),
            bucket: "b".into(),
            token_env: "T".into(),
            token: crate::config::InfluxToken::new("t"),
            interval: Duration::from_secs(1),
            queue_capacity: 10,
            request_timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            Exporter::start(&settings),
            Err(ExportError::NoRuntime)
        ));
        let bad = InfluxSettings {
            url: "not a url".into(),
            ..settings
        };
        assert!(matches!(Exporter::start(&bad), Err(ExportError::Url(_))));
    }
}
