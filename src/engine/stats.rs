//! Container stats, collected two ways by the same per-endpoint loop:
//!
//! - **Polling** (intervals slower than 1 s, SSH endpoints, and containers off screen): every
//!   interval, one `stats?stream=false&one-shot=true` request per due container, all sent
//!   together on the endpoint's pooled connections; deltas are computed by the model from the
//!   previous reading. Off-screen containers are polled every `[stats] offscreen_interval_s`
//!   (10 s by default), or not at all.
//! - **Streaming** (at 1 s, the daemon's own cadence, on plain unix and TCP connections): one
//!   long `stream=true` request per on-screen container (up to [`MAX_STREAMS`]), each delivering
//!   the daemon's sample every second. The daemon pays per sample either way and slightly less
//!   for streams; the client saves a request and a response head per sample, and reads every
//!   stream once a round without waiting rather than as each sample arrives (`stream.rs`).
//!   Figures in BENCHMARKS.md.
//!
//! Each round's samples reach the model in one message. The set of running containers comes
//! from the endpoint's session (its event stream), so collection starts and stops with the
//! containers. A slow daemon only delays its own samples.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::Utc;
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

mod stream;

use super::retry::{Backoff, wait_to_retry};
use super::transport::{self, RawGet};
use super::{EndpointClient, EngineError, agreed_api, convert};
use crate::config::EngineSettings;
use crate::model::EndpointSpec;
use crate::model::stats::{BlockIo, CpuCounters, NetCounters, RawStats};
use crate::model::{EndpointId, Msg, MsgKind};

/// Stats requests in flight at once per endpoint. The daemon answers a one-shot request at its
/// stats collector's next tick (up to a second later, measured on Engine 20.10), and one tick
/// serves every request waiting, so requests are sent together rather than a few at a time:
/// a round then costs about one second, not one second per handful of containers.
const CONCURRENCY: usize = 64;

/// Over SSH every request in flight is a channel on the endpoint's one connection, and sshd
/// allows only a few: leave room for the event stream, log tails and actions.
const SSH_CONCURRENCY: usize = super::transport::ssh::MAX_STATS_IN_FLIGHT;

fn concurrency_for(spec: &EndpointSpec) -> usize {
    match spec.url {
        crate::model::DockerUrl::Ssh { .. } => SSH_CONCURRENCY,
        _ => CONCURRENCY,
    }
}

/// The running containers of an endpoint, as its session last saw them.
pub type RunningSet = Arc<HashSet<String>>;

/// What the operator can see of an endpoint's containers, when the dashboard says so. `None`
/// (headless, an exporter configured, the stats view ranking everything) samples every running
/// container every interval.
pub type Focus = Option<Arc<Sight>>;

/// The dashboard's view of one endpoint, for its stats collector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sight {
    /// Sampled every interval: the rows on screen, the open detail's container, and those a
    /// metric rule reads.
    pub on_screen: HashSet<String>,
    /// The screen shows totals of every container (the clusters view's CPU and MEM of each
    /// host), so a container off screen without a rate yet is read every round until it has
    /// one, not at the off-screen pace (see [`due`]).
    pub totals: bool,
}

impl Sight {
    pub fn rows(on_screen: HashSet<String>) -> Self {
        Self {
            on_screen,
            totals: false,
        }
    }
}

/// Whether a container is sampled in round `round`. Containers off screen are sampled one
/// round in `offscreen_every` (`[stats] offscreen_interval_s` over the interval; 0: never), each
/// in a fixed slice of the cycle so the daemon's load stays even. The daemon pays per sample
/// (BENCHMARKS.md), and a clusters view or a wall needs the totals, not every container's last
/// second.
///
/// `readings`: how many of its readings this collector has sent so far. A rate needs two, so
/// while the screen shows totals, a container with fewer is sampled every round: otherwise an
/// off-screen one waits up to two cycles (20 s at 2 s) for its first figure, and the clusters
/// view shows its host as "-" meanwhile. On a screen without totals (the containers table) it
/// waits for its slice: a dashboard opened on 1,000 containers does not read every one of them
/// twice in its first rounds for figures nobody sees, and the catch-up comes when a view with
/// totals is opened.
pub fn due(id: &str, focus: &Focus, round: u64, readings: u8, offscreen_every: u64) -> bool {
    match focus {
        None => true,
        Some(sight) if sight.on_screen.contains(id) => true,
        Some(_) if offscreen_every == 0 => false,
        Some(sight) => {
            (sight.totals && readings < 2) || slice(id, offscreen_every) == round % offscreen_every
        }
    }
}

/// A container's fixed round within the off-screen cycle.
fn slice(id: &str, every: u64) -> u64 {
    id.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % every
}

/// Samples one endpoint's running containers every `interval`, forever (until the receiver of
/// `tx` goes away). Reconnects on its own when the daemon goes away.
pub async fn collect(
    id: EndpointId,
    client: EndpointClient,
    settings: EngineSettings,
    (interval, offscreen_every): (Duration, u64),
    mut running: watch::Receiver<RunningSet>,
    focus: watch::Receiver<Focus>,
    tx: mpsc::Sender<Msg>,
) {
    let spec = client.spec();
    let mut round = 0u64;
    // Readings sent per container, counted up to 2 (see `due`); the model keeps its baselines
    // across reconnections, so this does too.
    let mut readings: HashMap<String, u8> = HashMap::new();
    let mut backoff = Backoff::new(settings.backoff_max);
    loop {
        // Nothing to do until the session has seen a running container.
        if running.borrow().is_empty() && running.changed().await.is_err() {
            return;
        }
        let connected = client
            .connect()
            .await
            .and_then(|docker| Ok((client.raw()?, agreed_api(&docker))));
        let (raw, api) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(endpoint = %spec.name, "stats: {e}");
                wait_to_retry(&client, backoff.next_delay()).await;
                continue;
            }
        };
        backoff.reset();
        // The first round at once, then on the fleet's shared beat (see [`shared_beat`]).
        let mut tick = tokio::time::interval_at(shared_beat(interval), interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = true;
        let mut streams = Streams::new(
            spec.url.clone(),
            api.clone(),
            if streams_for(spec, interval) {
                MAX_STREAMS
            } else {
                0
            },
            settings.request_timeout,
        );
        loop {
            if !std::mem::take(&mut first) {
                tick.tick().await;
            }
            if tx.is_closed() {
                return;
            }
            round = round.wrapping_add(1);
            let mut ok = Newest::default();
            // Streams opened (or not) since the last round: a container whose stream failed
            // is left to polling below.
            let mut stream_failures = streams.settle(round);
            // Streamed: running and on screen (everything when there is no screen), up to the
            // cap, less those whose stream just failed. Polled: the rest, when due. New streams
            // open before the polls go out: a stream's first answer comes at the daemon's next
            // collector pass, as a poll's would.
            let (wanted, polled): (HashSet<String>, Vec<String>) = {
                let focus = focus.borrow();
                let running = running.borrow();
                let on_screen =
                    |id: &String| focus.as_ref().is_none_or(|f| f.on_screen.contains(id));
                let wanted = streams.choose(&running, on_screen, round);
                readings.retain(|id, _| running.contains(id));
                let count = |id: &String| readings.get(id).copied().unwrap_or(0);
                let polled = running
                    .iter()
                    .filter(|id| {
                        !wanted.contains(*id) && due(id, &focus, round, count(id), offscreen_every)
                    })
                    .cloned()
                    .collect();
                (wanted, polled)
            };
            streams.follow(&wanted);
            let mut failed = 0;
            if !polled.is_empty() {
                let samples =
                    sample_all(&raw, &api, &polled, &settings, concurrency_for(spec)).await;
                failed = samples.iter().filter(|s| s.is_err()).count();
                for (cid, sample) in samples.into_iter().flatten() {
                    ok.add(cid, sample);
                }
            }
            stream_failures += streams.take(&mut ok, round);
            let ok = ok.into_vec();
            for (cid, _) in &ok {
                let n = readings.entry(cid.clone()).or_insert(0);
                *n = n.saturating_add(1).min(2);
            }
            let polls_dead = failed == polled.len();
            let streams_dead = streams.is_empty();
            if ok.is_empty() && (failed + stream_failures) > 0 && polls_dead && streams_dead {
                // Every request failed and every stream ended in failure (those are left to
                // polling for a while, so none was reopened): the daemon is gone or
                // unreachable; reconnect.
                break;
            }
            if !ok.is_empty()
                && tx
                    .send(Msg {
                        endpoint: id,
                        at: Utc::now(),
                        kind: MsgKind::Stats {
                            interval,
                            samples: ok,
                        },
                    })
                    .await
                    .is_err()
            {
                return;
            }
        }
        wait_to_retry(&client, backoff.next_delay()).await;
    }
}

/// When a collector's rounds fall after its first: on multiples of `interval` of the wall clock,
/// so every endpoint's collector takes its rounds at the same instants, and at least half an
/// interval after now (the first round, taken at once, and the next are not back to back).
///
/// Each collector keeps its own loop (a slow daemon delays only its own rounds), but on one
/// beat the engine's thread wakes once per interval to send every endpoint's polls together,
/// reads their answers as they come back together, and the dashboard takes the rounds in one
/// wake-up. Each on its own phase, forty endpoints at 2 s were twenty wake-ups a second of
/// each thread (BENCHMARKS.md, "Scale").
fn shared_beat(interval: Duration) -> tokio::time::Instant {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    tokio::time::Instant::now() + wait_for_beat(wall, interval)
}

/// From `wall` (time since the Unix epoch) to the first multiple of `interval` at least half an
/// interval later.
fn wait_for_beat(wall: Duration, interval: Duration) -> Duration {
    let every = interval.as_nanos().max(1);
    let half = every / 2;
    let phase = (wall.as_nanos() + half) % every;
    let wait = half + (every - phase) % every;
    Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX))
}

/// At this sampling interval or faster, on-screen containers are streamed rather than polled.
/// The daemon's stats collector passes about once a second whatever is asked, so a stream
/// delivers what a 1 s poll would, for less: BENCHMARKS.md has the daemon's side (streaming
/// cost 6–13 % less than one-shot polling at 1 s) and the client's (no request to write, no
/// response head to parse, no pool checkout per sample). Slower intervals poll, which a stream
/// cannot do: it would cost the daemon a sample a second anyway.
pub const STREAM_AT_OR_BELOW: Duration = Duration::from_secs(1);

/// Open streams per endpoint, at most: each holds a connection (and a file descriptor).
/// Containers beyond it are polled every round.
pub const MAX_STREAMS: usize = 64;

fn streams_for(spec: &EndpointSpec, interval: Duration) -> bool {
    // Over SSH every stream would be a channel, and sshd allows only a few. Streams are read
    // off the reactor on plain sockets only (see [`stream`]): TLS endpoints poll.
    interval <= STREAM_AT_OR_BELOW
        && spec.tls.is_none()
        && !matches!(spec.url, crate::model::DockerUrl::Ssh { .. })
}

/// One round's readings, the newest per container: a stream's queued reading and a poll of
/// the same container must not both reach the model, older after newer.
#[derive(Default)]
struct Newest(std::collections::HashMap<String, RawStats>);

impl Newest {
    fn add(&mut self, id: String, sample: RawStats) {
        match self.0.get(&id) {
            Some(have) if have.read >= sample.read => {}
            _ => {
                self.0.insert(id, sample);
            }
        }
    }

    fn into_vec(self) -> Vec<(String, RawStats)> {
        self.0.into_iter().collect()
    }
}

/// A container that leaves the screen keeps its stream for this many rounds (a minute at 1 s),
/// so an operator scrolling or a wall rotating its views does not open and close connections
/// every few seconds; after that it is polled at the off-screen rate.
const STREAM_KEEP_ROUNDS: u64 = 60;

/// A container whose stream failed is polled, not streamed, for this many rounds.
const STREAM_RETRY_ROUNDS: u64 = 10;

/// What an opening stream reports to its collector.
enum StreamNews {
    /// Stream number `.1` is open (its head read), or failed to open.
    Opened(String, u64, std::io::Result<stream::Stream>),
}

/// The open stats streams of one endpoint. Opening one is a task (connect, ask, read the
/// head); an open one is read by the collector once a round, without waiting (see
/// [`stream`]).
struct Streams {
    url: crate::model::DockerUrl,
    api: String,
    cap: usize,
    timeout: Duration,
    /// Each wanted container's stream: its number (so a late "opened" of an old stream cannot
    /// replace its successor) and its state.
    open: std::collections::HashMap<String, (u64, StreamState)>,
    opened: u64,
    /// Containers whose stream failed, and the round until which they are polled instead.
    failed: std::collections::HashMap<String, u64>,
    /// Running containers seen on screen lately, and the last round they were.
    seen: std::collections::HashMap<String, u64>,
    tx: mpsc::UnboundedSender<StreamNews>,
    rx: mpsc::UnboundedReceiver<StreamNews>,
    /// What every stream is read into, in turn: allocated (and zeroed) once, not each read.
    buf: Vec<u8>,
}

enum StreamState {
    Opening(tokio::task::AbortHandle),
    Open(Box<stream::Stream>),
}

impl Streams {
    fn new(url: crate::model::DockerUrl, api: String, cap: usize, timeout: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            url,
            api,
            cap,
            timeout,
            open: std::collections::HashMap::new(),
            opened: 0,
            failed: std::collections::HashMap::new(),
            seen: std::collections::HashMap::new(),
            tx,
            rx,
            buf: if cap > 0 {
                vec![0; stream::READ_CHUNK]
            } else {
                Vec::new()
            },
        }
    }

    /// Which running containers to stream: those on screen now or within the last
    /// [`STREAM_KEEP_ROUNDS`] rounds (see [`pick`] for the cap), leaving out those whose stream
    /// failed in the last [`STREAM_RETRY_ROUNDS`] rounds: they are polled meanwhile.
    fn choose(
        &mut self,
        running: &HashSet<String>,
        on_screen: impl Fn(&String) -> bool,
        round: u64,
    ) -> HashSet<String> {
        if self.cap == 0 {
            return HashSet::new();
        }
        for id in running.iter().filter(|id| on_screen(id)) {
            match self.seen.get_mut(id) {
                Some(at) => *at = round,
                None => {
                    self.seen.insert(id.clone(), round);
                }
            }
        }
        self.seen
            .retain(|id, at| running.contains(id) && round - *at <= STREAM_KEEP_ROUNDS);
        self.failed.retain(|_, until| *until > round);
        let failed = &self.failed;
        pick(
            self.cap,
            |id| self.open.contains_key(id),
            self.seen.keys().filter(|id| !failed.contains_key(*id)),
        )
    }

    fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Opens a stream for each wanted container without one; closes the others.
    fn follow(&mut self, wanted: &HashSet<String>) {
        self.open.retain(|id, (_, state)| {
            let keep = wanted.contains(id);
            if let (false, StreamState::Opening(task)) = (keep, state) {
                task.abort();
            }
            keep
        });
        for id in wanted {
            if self.open.contains_key(id) {
                continue;
            }
            self.opened += 1;
            let number = self.opened;
            let path = format!("/v{}/containers/{id}/stats?stream=true", self.api);
            let url = self.url.clone();
            let timeout = self.timeout;
            let tx = self.tx.clone();
            let cid = id.clone();
            let task = tokio::spawn(async move {
                // A sample a second; silence for this long means the connection is gone.
                let silence = timeout + STREAM_AT_OR_BELOW * 3;
                let opened = stream::Stream::open(&url, &path, timeout, silence).await;
                let _ = tx.send(StreamNews::Opened(cid, number, opened));
            });
            self.open.insert(
                id.clone(),
                (number, StreamState::Opening(task.abort_handle())),
            );
        }
    }

    /// Takes in the streams opened since the last call; forgets those that failed to open.
    /// Answers how many failed.
    fn settle(&mut self, round: u64) -> usize {
        let mut failures = 0;
        while let Ok(StreamNews::Opened(id, number, result)) = self.rx.try_recv() {
            let Some((n, state)) = self.open.get_mut(&id) else {
                continue;
            };
            if *n != number {
                continue;
            }
            match result {
                Ok(s) => *state = StreamState::Open(Box::new(s)),
                Err(e) => {
                    tracing::debug!(container = %id, "stats stream: {e}");
                    self.open.remove(&id);
                    failures += 1;
                    self.failed.insert(id, round + STREAM_RETRY_ROUNDS);
                }
            }
        }
        failures
    }

    /// [`Streams::settle`], then reads every open stream once, without waiting, and adds its
    /// newest sample to `into`; forgets ended streams. Answers how many streams failed. Once a
    /// round, after the polls: each read is a `recv` per stream.
    fn take(&mut self, into: &mut Newest, round: u64) -> usize {
        let mut failures = self.settle(round);
        let now = std::time::Instant::now();
        let mut ended = Vec::new();
        for (id, (_, state)) in &mut self.open {
            let StreamState::Open(s) = state else {
                continue;
            };
            let drained = s.drain(now, &mut self.buf);
            if let Some(sample) = drained.sample {
                into.add(id.clone(), sample);
            }
            if let Some(failed) = drained.ended {
                ended.push((id.clone(), failed));
            }
        }
        for (id, failed) in ended {
            self.open.remove(&id);
            if failed {
                failures += 1;
                self.failed.insert(id, round + STREAM_RETRY_ROUNDS);
            }
        }
        failures
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        for (_, state) in self.open.values() {
            if let StreamState::Opening(task) = state {
                task.abort();
            }
        }
    }
}

/// Which of `candidates` to stream: those already streamed first (no churn of connections as
/// a screen scrolls), then new ones, up to `cap`.
fn pick<'a>(
    cap: usize,
    is_open: impl Fn(&str) -> bool,
    candidates: impl Iterator<Item = &'a String>,
) -> HashSet<String> {
    let (mut kept, new): (Vec<&String>, Vec<&String>) = candidates.partition(|id| is_open(id));
    kept.truncate(cap);
    let room = cap - kept.len();
    kept.into_iter()
        .chain(new.into_iter().take(room))
        .cloned()
        .collect()
}

/// One round of one-shot polls of `ids`, sent as the collector sends a round (the same
/// requests, deadline, concurrency and errors): for a reading outside the collector, and for
/// the lab's tests of the poll transport.
pub async fn poll_round(
    client: &EndpointClient,
    ids: &[String],
    settings: &EngineSettings,
) -> Result<Vec<Result<(String, RawStats), EngineError>>, EngineError> {
    let api = agreed_api(&client.connect().await?);
    let raw = client.raw()?;
    Ok(sample_all(&raw, &api, ids, settings, concurrency_for(client.spec())).await)
}

async fn sample_all(
    raw: &RawGet,
    api: &str,
    ids: &[String],
    settings: &EngineSettings,
    concurrency: usize,
) -> Vec<Result<(String, RawStats), EngineError>> {
    futures::stream::iter(ids.iter().cloned())
        .map(|cid| async move {
            let raw = sample(raw, api, &cid, settings).await?;
            Ok((cid, raw))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// One reading of one container: a one-shot stats GET (on the endpoint's plain-socket pool
/// for unix and plain TCP endpoints, else its hyper pool), decoded straight into the counters
/// fleetdeck uses (see [`parse`]).
async fn sample(
    raw: &RawGet,
    api: &str,
    id: &str,
    settings: &EngineSettings,
) -> Result<RawStats, EngineError> {
    let path = format!("/v{api}/containers/{id}/stats?stream=false&one-shot=true");
    let (status, body) =
        match tokio::time::timeout(settings.request_timeout, raw.one_shot(&path)).await {
            Ok(r) => r.map_err(|e| EngineError::Docker(e.to_string()))?,
            Err(_) => return Err(EngineError::Timeout(settings.request_timeout)),
        };
    if !(200..300).contains(&status) {
        return Err(EngineError::Docker(daemon_message(status, &body)));
    }
    parse(&body).map_err(|e| EngineError::Docker(format!("stats answer for {id}: {e}")))
}

/// The daemon's `{"message": …}` on an error status, else the status.
fn daemon_message(status: u16, body: &[u8]) -> String {
    transport::daemon_said(body).unwrap_or_else(|| format!("HTTP {status}"))
}

/// The parts of a stats answer fleetdeck uses; serde skips the rest (cgroup v1's forty memory
/// counters, throttling data, the seven other blkio lists…) without allocating for it.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    read: Option<Cow<'a, str>>,
    cpu_stats: Option<Cpu>,
    precpu_stats: Option<Cpu>,
    memory_stats: Option<Memory>,
    #[serde(borrow)]
    networks: Option<BTreeMap<Cow<'a, str>, Net>>,
    #[serde(borrow)]
    blkio_stats: Option<Blkio<'a>>,
    pids_stats: Option<Pids>,
}

#[derive(Deserialize)]
struct Cpu {
    cpu_usage: Option<CpuUsage>,
    system_cpu_usage: Option<u64>,
    online_cpus: Option<u32>,
}

#[derive(Deserialize)]
struct CpuUsage {
    total_usage: Option<u64>,
    percpu_usage: Option<Count>,
}

/// The length of a JSON array, without keeping its items.
struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0u32;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct Memory {
    usage: Option<u64>,
    limit: Option<u64>,
    stats: Option<MemoryStats>,
}

#[derive(Deserialize)]
struct MemoryStats {
    inactive_file: Option<u64>,
    total_inactive_file: Option<u64>,
}

#[derive(Deserialize)]
struct Net {
    rx_bytes: Option<u64>,
    tx_bytes: Option<u64>,
}

#[derive(Deserialize)]
struct Blkio<'a> {
    #[serde(borrow)]
    io_service_bytes_recursive: Option<Vec<BlkioEntry<'a>>>,
}

#[derive(Deserialize)]
struct BlkioEntry<'a> {
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
    value: Option<u64>,
}

#[derive(Deserialize)]
struct Pids {
    current: Option<u64>,
}

fn cpu(c: Option<Cpu>) -> CpuCounters {
    let Some(c) = c else {
        return CpuCounters::default();
    };
    let usage = c.cpu_usage;
    CpuCounters {
        total_usage: usage.as_ref().and_then(|u| u.total_usage).unwrap_or(0),
        system_usage: c.system_cpu_usage.unwrap_or(0),
        online_cpus: c.online_cpus.unwrap_or(0),
        percpu_count: usage.and_then(|u| u.percpu_usage).map_or(0, |n| n.0),
    }
}

/// Docker's stats answer (the JSON body) → the model's counters.
pub fn parse(body: &[u8]) -> Result<RawStats, serde_json::Error> {
    let r: Answer<'_> = serde_json::from_slice(body)?;
    let mem = r.memory_stats;
    let mem_stats = mem.as_ref().and_then(|m| m.stats.as_ref());
    // BTreeMap: interfaces come out sorted by name, as the model expects.
    let networks = r
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, n)| NetCounters {
            interface: name.into_owned(),
            rx_bytes: n.rx_bytes.unwrap_or(0),
            tx_bytes: n.tx_bytes.unwrap_or(0),
        })
        .collect();
    let blkio = r
        .blkio_stats
        .and_then(|b| b.io_service_bytes_recursive)
        .unwrap_or_default();
    Ok(RawStats {
        read: r
            .read
            .as_deref()
            .and_then(convert::parse_time)
            .unwrap_or_else(Utc::now),
        started_at: None,
        cpu: cpu(r.cpu_stats),
        precpu: cpu(r.precpu_stats),
        mem_usage: mem.as_ref().and_then(|m| m.usage).unwrap_or(0),
        mem_limit: mem.as_ref().and_then(|m| m.limit).unwrap_or(0),
        inactive_file: mem_stats.and_then(|s| s.inactive_file),
        total_inactive_file: mem_stats.and_then(|s| s.total_inactive_file),
        networks,
        blkio: BlockIo::sum(
            blkio
                .iter()
                .map(|e| (e.op.as_deref().unwrap_or(""), e.value.unwrap_or(0))),
        ),
        pids: r.pids_stats.and_then(|p| p.current).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_fall_on_the_wall_clock_s_multiples_of_the_interval_half_an_interval_on() {
        let ms = Duration::from_millis;
        let at = |wall: u64, interval: u64| {
            let wait = wait_for_beat(ms(wall), ms(interval));
            (ms(wall) + wait).as_millis()
        };
        // Every collector, whenever it started, lands on the same instants.
        assert_eq!(at(1_000_000_100, 2_000), 1_000_002_000);
        assert_eq!(at(1_000_000_999, 2_000), 1_000_002_000);
        assert_eq!(at(1_000_001_000, 2_000), 1_000_002_000);
        // Less than half an interval before a beat: the next one.
        assert_eq!(at(1_000_001_001, 2_000), 1_000_004_000);
        assert_eq!(at(1_000_002_000, 2_000), 1_000_004_000);
        assert_eq!(at(999_999_999_999, 1_000), 1_000_000_001_000);
        // Whatever the start, between half an interval and one and a half on.
        for wall in (0..5_000).step_by(7) {
            let wait = wait_for_beat(ms(1_700_000_000_000 + wall), ms(2_000));
            assert!(wait >= ms(1_000) && wait <= ms(3_000), "{wait:?} at {wall}");
        }
    }

    const V1_LAB: &str = include_str!("../../tests/fixtures/stats/v1-lab.json");
    const V1_IO: &str = include_str!("../../tests/fixtures/stats/v1-io-two-networks.json");
    const V2: &str = include_str!("../../tests/fixtures/stats/v2.json");

    /// What the counters were when fleetdeck decoded answers with bollard's full model: the
    /// reference the lean decoder must agree with.
    fn through_bollard(body: &str) -> RawStats {
        let r: bollard::models::ContainerStatsResponse =
            serde_json::from_str(body).expect("bollard decodes it");
        let cpu = |c: Option<bollard::models::ContainerCpuStats>| {
            let c = c.unwrap_or_default();
            let usage = c.cpu_usage.unwrap_or_default();
            CpuCounters {
                total_usage: usage.total_usage.unwrap_or(0),
                system_usage: c.system_cpu_usage.unwrap_or(0),
                online_cpus: c.online_cpus.unwrap_or(0),
                percpu_count: usage
                    .percpu_usage
                    .map_or(0, |v| u32::try_from(v.len()).unwrap_or(u32::MAX)),
            }
        };
        let mem = r.memory_stats.unwrap_or_default();
        let mem_stats = mem.stats.unwrap_or_default();
        let mut networks: Vec<NetCounters> = r
            .networks
            .unwrap_or_default()
            .into_iter()
            .map(|(name, n)| NetCounters {
                interface: name,
                rx_bytes: n.rx_bytes.unwrap_or(0),
                tx_bytes: n.tx_bytes.unwrap_or(0),
            })
            .collect();
        networks.sort_by(|a, b| a.interface.cmp(&b.interface));
        let blkio = r
            .blkio_stats
            .and_then(|b| b.io_service_bytes_recursive)
            .unwrap_or_default();
        RawStats {
            read: r
                .read
                .as_deref()
                .and_then(convert::parse_time)
                .expect("read time"),
            started_at: None,
            cpu: cpu(r.cpu_stats),
            precpu: cpu(r.precpu_stats),
            mem_usage: mem.usage.unwrap_or(0),
            mem_limit: mem.limit.unwrap_or(0),
            inactive_file: mem_stats.get("inactive_file").copied(),
            total_inactive_file: mem_stats.get("total_inactive_file").copied(),
            networks,
            blkio: BlockIo::sum(
                blkio
                    .iter()
                    .map(|e| (e.op.as_deref().unwrap_or(""), e.value.unwrap_or(0))),
            ),
            pids: r.pids_stats.and_then(|p| p.current).unwrap_or(0),
        }
    }

    #[test]
    fn the_lean_decoder_agrees_with_bollards_model_on_real_answers() {
        for (name, body) in [("v1-lab", V1_LAB), ("v1-io", V1_IO), ("v2", V2)] {
            let ours = parse(body.as_bytes()).expect(name);
            assert_eq!(ours, through_bollard(body), "{name}");
        }
    }

    #[test]
    fn cgroup_v1_answer_with_block_io_and_two_networks() {
        let r = parse(V1_IO.as_bytes()).unwrap();
        assert_eq!(r.cpu.percpu_count, 2);
        assert_eq!(r.cpu.online_cpus, 2);
        assert_eq!(r.precpu.total_usage, 0);
        assert_eq!(r.total_inactive_file, Some(8192));
        assert_eq!(r.inactive_file, Some(4096));
        // Read and Write summed over both devices; Sync/Async/Total are not counted twice.
        assert_eq!(r.blkio.read, 4_096_000 + 1000);
        assert_eq!(r.blkio.write, 20_971_520 + 24);
        let names: Vec<_> = r.networks.iter().map(|n| n.interface.as_str()).collect();
        assert_eq!(names, ["eth0", "eth1"]);
        assert_eq!(r.networks[1].tx_bytes, 2000);
    }

    #[test]
    fn cgroup_v2_answer() {
        let r = parse(V2.as_bytes()).unwrap();
        assert_eq!(r.cpu.total_usage, 5_237_600_000);
        assert_eq!(r.cpu.percpu_count, 0);
        assert_eq!(r.cpu.online_cpus, 4);
        assert_eq!(r.mem_usage, 52_166_656);
        assert_eq!(r.mem_limit, 8_232_734_720);
        assert_eq!(r.inactive_file, Some(13_103_104));
        assert_eq!(r.total_inactive_file, None);
        assert_eq!(r.mem_used(), 52_166_656 - 13_103_104);
        assert_eq!((r.blkio.read, r.blkio.write), (11_534_336, 40_960));
        assert_eq!(r.pids, 7);
        assert_eq!(r.read.timestamp_subsec_nanos(), 123_456_789);
    }

    #[test]
    fn a_container_without_networks_or_counters_still_decodes() {
        let r = parse(br#"{"read":"2026-11-26T23:30:01Z","networks":null,"blkio_stats":{},"memory_stats":{}}"#)
            .unwrap();
        assert!(r.networks.is_empty());
        assert_eq!((r.mem_usage, r.pids, r.blkio.read), (0, 0, 0));
        assert!(parse(b"{\"read\": 3}").is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn streams_go_to_open_ones_first_then_new_ones_up_to_the_cap() {
        let ids: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
        let open = |id: &str| id == "c4" || id == "c5";
        let picked = pick(3, open, ids.iter());
        assert_eq!(picked.len(), 3);
        assert!(picked.contains("c4") && picked.contains("c5"), "{picked:?}");
        assert!(pick(0, open, ids.iter()).is_empty());
        assert_eq!(pick(64, open, ids.iter()).len(), 6);
        // More open than the cap (the cap is a hard limit).
        assert_eq!(pick(1, |_| true, ids.iter()).len(), 1);
    }

    #[test]
    fn a_round_keeps_the_newest_reading_of_each_container() {
        let at = |secs| RawStats {
            read: chrono::DateTime::from_timestamp(secs, 0).unwrap(),
            ..RawStats::default()
        };
        let mut round = Newest::default();
        round.add("a".into(), at(10));
        round.add("a".into(), at(9)); // a stream's queued reading after a newer poll
        round.add("b".into(), at(5));
        round.add("b".into(), at(6));
        let mut got = round.into_vec();
        got.sort_by(|x, y| x.0.cmp(&y.0));
        let secs: Vec<_> = got
            .iter()
            .map(|(id, r)| (id.as_str(), r.read.timestamp()))
            .collect();
        assert_eq!(secs, [("a", 10), ("b", 6)]);
    }

    #[test]
    fn a_container_off_screen_keeps_its_stream_for_a_while_then_is_polled() {
        let mut streams = Streams::new(
            crate::model::DockerUrl::Unix("/nonexistent".into()),
            "1.41".into(),
            MAX_STREAMS,
            Duration::from_secs(1),
        );
        let running: HashSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let only = |ids: &'static [&'static str]| move |id: &String| ids.contains(&id.as_str());
        assert_eq!(streams.choose(&running, only(&["a", "b"]), 1).len(), 2);
        // "b" scrolls off at round 2: still streamed for STREAM_KEEP_ROUNDS rounds.
        let wanted = streams.choose(&running, only(&["a"]), 2);
        assert!(wanted.contains("b"));
        let wanted = streams.choose(&running, only(&["a"]), 1 + STREAM_KEEP_ROUNDS);
        assert!(wanted.contains("b"));
        let wanted = streams.choose(&running, only(&["a"]), 2 + STREAM_KEEP_ROUNDS);
        assert_eq!(wanted, HashSet::from(["a".to_string()]));
        // A container that stops is dropped at once, on screen or not.
        let running: HashSet<String> = HashSet::from(["b".to_string()]);
        assert!(
            streams
                .choose(&running, only(&["a"]), 3 + STREAM_KEEP_ROUNDS)
                .is_empty()
        );
        // A failed stream leaves its container to polling for a while.
        streams.failed.insert("b".into(), 10 + STREAM_KEEP_ROUNDS);
        assert!(
            streams
                .choose(&running, only(&["b"]), 4 + STREAM_KEEP_ROUNDS)
                .is_empty()
        );
        assert!(
            streams
                .choose(&running, only(&["b"]), 10 + STREAM_KEEP_ROUNDS)
                .contains("b")
        );
        // Polling-only endpoints never stream.
        let mut none = Streams::new(
            crate::model::DockerUrl::Unix("/nonexistent".into()),
            "1.41".into(),
            0,
            Duration::from_secs(1),
        );
        assert!(none.choose(&running, only(&["b"]), 1).is_empty());
    }

    #[test]
    fn only_fast_non_ssh_endpoints_stream() {
        let unix = EndpointSpec::from_url(Some("a"), "unix:///run/docker.sock").unwrap();
        let ssh = EndpointSpec::from_url(Some("b"), "ssh://ops@host").unwrap();
        assert!(streams_for(&unix, Duration::from_secs(1)));
        assert!(streams_for(&unix, Duration::from_millis(500)));
        assert!(!streams_for(&unix, Duration::from_secs(2)));
        assert!(!streams_for(&ssh, Duration::from_secs(1)));
    }

    #[test]
    fn error_answers_say_what_the_daemon_said() {
        assert_eq!(
            daemon_message(404, br#"{"message":"No such container: abc"}"#),
            "No such container: abc"
        );
        assert_eq!(daemon_message(502, b"<html>"), "HTTP 502");
    }

    #[test]
    fn on_screen_containers_every_round_the_rest_once_per_cycle_spread_evenly() {
        let ids: Vec<String> = (0..200).map(|i| format!("{i:064x}")).collect();
        let on_screen: HashSet<String> = ids[..10].iter().cloned().collect();
        let focus: Focus = Some(Arc::new(Sight::rows(on_screen)));
        let mut per_round = Vec::new();
        let mut times = std::collections::HashMap::new();
        const EVERY: u64 = 5;
        for round in 0..EVERY {
            let due_now: Vec<_> = ids
                .iter()
                .filter(|id| due(id, &focus, round, 2, EVERY))
                .collect();
            per_round.push(due_now.len());
            for id in due_now {
                *times.entry(id.clone()).or_insert(0u64) += 1;
            }
        }
        for (i, id) in ids.iter().enumerate() {
            let want = if i < 10 { EVERY } else { 1 };
            assert_eq!(times.get(id).copied().unwrap_or(0), want, "{id}");
        }
        // 10 on screen + about 190 / 5 = 38 others per round, never all 190 at once.
        assert!(
            per_round.iter().all(|&n| (10 + 20..=10 + 60).contains(&n)),
            "{per_round:?}"
        );
        // No focus known: everything, every round.
        assert!(ids.iter().all(|id| due(id, &None, 3, 2, EVERY)));
        // Off-screen sampling off: only what is on screen, even before a first reading.
        let focus = &focus;
        let sampled: Vec<_> = (0..EVERY)
            .flat_map(|round| ids.iter().filter(move |id| due(id, focus, round, 0, 0)))
            .collect();
        assert!(sampled.iter().all(|id| on_screen_ids(&ids).contains(id)));
        assert_eq!(sampled.len(), 10 * EVERY as usize);
    }

    fn on_screen_ids(ids: &[String]) -> HashSet<&String> {
        ids[..10].iter().collect()
    }

    #[test]
    fn a_container_off_screen_is_read_two_rounds_running_where_its_host_s_total_shows() {
        let ids: Vec<String> = (0..50).map(|i| format!("{i:064x}")).collect();
        // Two rounds from the start: how many readings each container has.
        let first_rounds = |focus: &Focus| {
            let mut readings = std::collections::HashMap::new();
            for round in 1..=2 {
                for id in &ids {
                    let n: &mut u8 = readings.entry(id.clone()).or_default();
                    if due(id, focus, round, *n, 5) {
                        *n += 1;
                    }
                }
            }
            readings
        };
        let totals: Focus = Some(Arc::new(Sight {
            on_screen: HashSet::new(),
            totals: true,
        }));
        // Two readings each after two rounds: every container has a rate, every host a figure.
        let readings = first_rounds(&totals);
        assert!(readings.values().all(|&n| n == 2), "{readings:?}");
        // Then the off-screen cycle: a fifth of them a round.
        let later = ids.iter().filter(|id| due(id, &totals, 3, 2, 5)).count();
        assert!(later < ids.len() / 2, "{later} of {} due", ids.len());
        // A table of rows shows no totals: the first rounds read only their slices.
        let rows: Focus = Some(Arc::new(Sight::rows(HashSet::new())));
        let readings = first_rounds(&rows);
        let read: u32 = readings.values().map(|&n| u32::from(n)).sum();
        assert!(
            (1..25).contains(&read),
            "{read} readings of 50 off-screen containers in two rounds"
        );
        assert!(readings.values().all(|&n| n <= 1), "{readings:?}");
    }
}
