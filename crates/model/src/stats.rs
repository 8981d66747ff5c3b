//! Container stats as an operator reads them — CPU %, memory used against its limit, network and
//! block-IO rates, PIDs — with a bounded history per container and sums per endpoint and per
//! cluster. Pure maths: no Docker client, no terminal. The engine turns each bollard
//! `ContainerStatsResponse` into a [`RawStats`] and hands it to [`StatsBook::record`].
//!
//! # Formulas
//!
//! They are the docker CLI's (`cli/command/container/stats_helpers.go`), so a figure here is the
//! one `docker stats` prints for the same container:
//!
//! - **CPU %** = `Δ cpu_usage.total_usage / Δ system_cpu_usage × online_cpus × 100`, and 0 unless
//!   both deltas are positive. `system_cpu_usage` is CPU time of the whole host over all its cores,
//!   so the ratio is the container's share of the machine; times the CPU count it reads as
//!   "100 % = one core busy". `online_cpus` falls back to the number of `percpu_usage` entries
//!   (older cgroup v1 daemons), then to 1.
//! - **Memory used** = `usage − total_inactive_file` on cgroup v1, `usage − inactive_file` on v2.
//!   Inactive page cache is reclaimable; counting it would make every container that reads files
//!   look like it leaks. v1 is told apart by the presence of `total_inactive_file` (v1 also has a
//!   non-hierarchical `inactive_file`, which must not win). A figure larger than `usage` is skipped,
//!   as the CLI does, so memory used is never negative.
//! - **Memory %** = used / limit × 100, or 0 when the limit is 0 (no cgroup data). A container
//!   without a limit: the daemon caps the reported limit at the host's memory, so % is the share of
//!   the host, as `docker stats` shows. A daemon that passes the kernel's "unlimited" sentinel
//!   through gives a % near zero; we show that too rather than guess a better denominator.
//! - **Block IO**: `io_service_bytes_recursive` summed by op, `Read`/`Write` on cgroup v1 and
//!   `read`/`write` on v2. Other v1 ops (`Sync`, `Async`, `Discard`, `Total`) are skipped: `Total`
//!   would count every byte twice.
//! - **Network**: rx and tx bytes summed over all interfaces.
//!
//! # Deltas are ours
//!
//! fleetdeck polls with `stream=false&one-shot=true`: no priming sample on the daemon (plain
//! `stream=false` costs twice as much per sample), answered at the daemon's next stats-collector
//! pass (within about a second on Engine 20.10) — but `precpu_stats` then comes back zeroed. So each container keeps its previous
//! [`RawStats`] and every delta is taken against it; the time between two samples is the
//! difference of their `read` stamps, the daemon's own clock, so request latency does not skew the
//! rates. When a daemon does fill `precpu_stats` (streaming), CPU % uses that pair: it is exactly
//! the daemon's window.
//!
//! # Decisions
//!
//! - **First sample** of a container gives no [`StatsSample`]. A rate needs two points, and a
//!   sample of zeros would draw a false dip in the sparkline and pull the aggregates down; the
//!   row shows nothing for one interval instead.
//! - **Counter reset** (a counter lower than last time: container restarted, interface
//!   recreated, device gone): the counter is taken to have restarted from zero, so its delta is its
//!   new value — the rule of Prometheus' `rate()`. Everything counted since the reset happened
//!   after the previous sample, so the rate is never negative and never more than what really
//!   moved; at worst it under-reads for one interval.
//! - **Container restart** (`started_at` changed): every counter of the container restarts from
//!   zero, even one that happens to be larger than before — a new incarnation that has run longer
//!   than the old one would otherwise give a plausible but wrong delta. The host's
//!   `system_cpu_usage` does not reset, so CPU % stays meaningful.
//! - **Time not moving forward** (a duplicate, or the daemon's clock stepped back): no sample;
//!   the new reading becomes the baseline.
//!
//! # Bounded memory
//!
//! A container's [`History`] holds the samples of the last `window`, never more than
//! `window / interval` of them (10 min at 2 s = 300, about 26 KB) nor [`MAX_HISTORY`]; a push
//! drops what fell out of the window, and the oldest past capacity. The window is time, not a
//! count: a container off screen is sampled every 10 s under a 2 s interval, and 300 of its
//! samples were 50 minutes, not 10 (the issue 22 soak: the stats book grew to 25 MB at 1,000
//! containers over 50 minutes instead of 6.5 MB in 10). The book holds only
//! the containers it is told about and forgets them when told: the app calls
//! [`StatsBook::forget`] when a container stops or goes and [`StatsBook::retain`] with the running
//! set after a sync, so memory follows the number of running containers, not uptime.

use std::collections::{BTreeMap, VecDeque};
use std::ops::AddAssign;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::EndpointId;
use super::endpoint::DaemonInfo;

/// How much history a container keeps unless configured otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// Most samples a container keeps whatever window and interval are configured, so a sub-second
/// interval cannot turn a long window into unbounded memory.
pub const MAX_HISTORY: usize = 1800;

/// One `cpu_stats` (or `precpu_stats`) object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuCounters {
    /// `cpu_usage.total_usage`: CPU time used by the container, ns.
    pub total_usage: u64,
    /// `system_cpu_usage`: CPU time used by the whole host over all cores, ns.
    pub system_usage: u64,
    /// `online_cpus`, 0 when the daemon did not send it.
    pub online_cpus: u32,
    /// How many `cpu_usage.percpu_usage` entries there were: the CLI's fallback CPU count.
    pub percpu_count: u32,
}

impl CpuCounters {
    /// CPUs the percentage is scaled by: `online_cpus`, else the per-CPU entries, else 1.
    pub fn cpus(&self) -> u32 {
        if self.online_cpus > 0 {
            self.online_cpus
        } else if self.percpu_count > 0 {
            self.percpu_count
        } else {
            1
        }
    }

    /// One-shot polling gets `precpu_stats` all zero; the host's CPU time is never zero on a
    /// real reading.
    pub fn is_present(&self) -> bool {
        self.system_usage != 0
    }
}

/// Byte counters of one network interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetCounters {
    pub interface: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Bytes read and written by the container's block devices, all devices together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockIo {
    pub read: u64,
    pub write: u64,
}

impl BlockIo {
    /// Sums `io_service_bytes_recursive` entries given as `(op, value)`. Ops compare without case:
    /// cgroup v1 says `Read`, v2 says `read`.
    pub fn sum<'a>(entries: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        entries
            .into_iter()
            .fold(Self::default(), |mut acc, (op, value)| {
                if op.eq_ignore_ascii_case("read") {
                    acc.read = acc.read.saturating_add(value);
                } else if op.eq_ignore_ascii_case("write") {
                    acc.write = acc.write.saturating_add(value);
                }
                acc
            })
    }
}

/// What one stats reading said, reduced to the counters fleetdeck uses. Plain data so this module
/// does not depend on bollard; the engine fills it in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawStats {
    /// `read`: when the daemon took the reading.
    pub read: DateTime<Utc>,
    /// When the container last started (from inspect); a change means a restart. `None` when
    /// unknown: resets are then still caught counter by counter.
    pub started_at: Option<DateTime<Utc>>,
    pub cpu: CpuCounters,
    /// `precpu_stats`; all zero when polling one-shot.
    pub precpu: CpuCounters,
    /// `memory_stats.usage`.
    pub mem_usage: u64,
    /// `memory_stats.limit`.
    pub mem_limit: u64,
    /// `memory_stats.stats["inactive_file"]` (cgroup v2; v1 has a local one too).
    pub inactive_file: Option<u64>,
    /// `memory_stats.stats["total_inactive_file"]`, present only on cgroup v1.
    pub total_inactive_file: Option<u64>,
    pub networks: Vec<NetCounters>,
    pub blkio: BlockIo,
    /// `pids_stats.current`.
    pub pids: u64,
}

impl RawStats {
    pub fn mem_used(&self) -> u64 {
        mem_used(self.mem_usage, self.inactive_file, self.total_inactive_file)
    }
}

/// Derived figures for one container at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StatsSample {
    pub at: DateTime<Utc>,
    pub cpu_pct: f64,
    pub mem_used: u64,
    pub mem_limit: u64,
    pub mem_pct: f64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
    pub pids: u64,
}

impl StatsSample {
    pub fn net_bps(&self) -> f64 {
        self.net_rx_bps + self.net_tx_bps
    }

    pub fn blk_bps(&self) -> f64 {
        self.blk_read_bps + self.blk_write_bps
    }
}

/// How far a monotonic counter moved. A counter lower than before was reset and counts from zero.
pub fn counter_delta(prev: u64, cur: u64) -> u64 {
    if cur >= prev { cur - prev } else { cur }
}

/// The docker CLI's CPU %: container CPU time over host CPU time, scaled to "100 % = one core".
/// `prev` is our previous reading (one-shot) or the daemon's `precpu_stats` (streaming).
pub fn cpu_percent(prev: &CpuCounters, cur: &CpuCounters) -> f64 {
    let cpu_delta = counter_delta(prev.total_usage, cur.total_usage);
    // The host counter going backwards means a reboot: there is no valid window.
    let system_delta = cur.system_usage.saturating_sub(prev.system_usage);
    if cpu_delta == 0 || system_delta == 0 {
        return 0.0;
    }
    cpu_delta as f64 / system_delta as f64 * f64::from(cur.cpus()) * 100.0
}

/// Memory without reclaimable cache, exactly as the docker CLI picks it: v1's
/// `total_inactive_file` if present and below usage, else `inactive_file` if below usage, else
/// usage.
pub fn mem_used(usage: u64, inactive_file: Option<u64>, total_inactive_file: Option<u64>) -> u64 {
    match (total_inactive_file, inactive_file) {
        (Some(v1), _) if v1 < usage => usage - v1,
        (_, Some(v2)) if v2 < usage => usage - v2,
        _ => usage,
    }
}

pub fn mem_percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        0.0
    } else {
        used as f64 / limit as f64 * 100.0
    }
}

/// Bytes received and sent between two readings, summed over interfaces. Each interface is
/// matched by name so one that was recreated counts from zero without disturbing the others; an
/// interface new since `prev` counts from zero too.
pub fn net_deltas(prev: &[NetCounters], cur: &[NetCounters]) -> (u64, u64) {
    cur.iter().fold((0u64, 0u64), |(rx, tx), now| {
        let (rx0, tx0) = prev
            .iter()
            .find(|p| p.interface == now.interface)
            .map_or((0, 0), |p| (p.rx_bytes, p.tx_bytes));
        (
            rx.saturating_add(counter_delta(rx0, now.rx_bytes)),
            tx.saturating_add(counter_delta(tx0, now.tx_bytes)),
        )
    })
}

/// Whether the container started again between two readings.
pub fn restarted(prev: &RawStats, cur: &RawStats) -> bool {
    matches!((prev.started_at, cur.started_at), (Some(a), Some(b)) if a != b)
}

/// The sample two readings of one container give, `prev` being the older. `None` when no time
/// passed between them (see the module notes on resets and restarts).
pub fn sample(prev: &RawStats, cur: &RawStats) -> Option<StatsSample> {
    let secs = (cur.read - prev.read).to_std().ok()?.as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    // After a restart every container counter starts again from zero; the host's does not.
    let (base_cpu, base_nets, base_blk) = if restarted(prev, cur) {
        let cpu = CpuCounters {
            total_usage: 0,
            ..prev.cpu
        };
        (cpu, &[][..], BlockIo::default())
    } else {
        (prev.cpu, &prev.networks[..], prev.blkio)
    };
    let cpu_pct = if cur.precpu.is_present() {
        cpu_percent(&cur.precpu, &cur.cpu)
    } else {
        cpu_percent(&base_cpu, &cur.cpu)
    };
    let (rx, tx) = net_deltas(base_nets, &cur.networks);
    let per_sec = |delta: u64| delta as f64 / secs;
    let mem_used = cur.mem_used();
    Some(StatsSample {
        at: cur.read,
        cpu_pct,
        mem_used,
        mem_limit: cur.mem_limit,
        mem_pct: mem_percent(mem_used, cur.mem_limit),
        net_rx_bps: per_sec(rx),
        net_tx_bps: per_sec(tx),
        blk_read_bps: per_sec(counter_delta(base_blk.read, cur.blkio.read)),
        blk_write_bps: per_sec(counter_delta(base_blk.write, cur.blkio.write)),
        pids: cur.pids,
    })
}

/// Samples a window of `window` holds at one per `interval`, rounded up, within 1..=MAX_HISTORY.
pub fn history_capacity(window: Duration, interval: Duration) -> usize {
    let interval = interval.as_nanos();
    if interval == 0 {
        return MAX_HISTORY;
    }
    let n = window
        .as_nanos()
        .div_ceil(interval)
        .clamp(1, MAX_HISTORY as u128);
    usize::try_from(n).unwrap_or(MAX_HISTORY)
}

/// A bounded ring buffer, oldest first; a push when full drops the oldest. Its storage grows
/// with what it holds, never past `capacity`, and shrinks when it holds far less: a container
/// sampled only off screen (every 10 s) fills a fifth of a 2 s window's ring (its history is
/// cut by time, see [`StatsBook::record`]), and a thousand rings reserved whole up front held
/// 26 MB of heap for samples that had not come.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring<T> {
    buf: VecDeque<T>,
    capacity: usize,
}

/// One container's samples over the history window.
pub type History = Ring<StatsSample>;

impl<T> Ring<T> {
    /// `capacity` is kept within 1..=[`MAX_HISTORY`].
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_HISTORY);
        Self {
            buf: VecDeque::new(),
            capacity,
        }
    }

    pub fn for_window(window: Duration, interval: Duration) -> Self {
        Self::new(history_capacity(window, interval))
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn push(&mut self, value: T) {
        while self.buf.len() >= self.capacity {
            self.buf.pop_front();
        }
        if self.buf.len() == self.buf.capacity() {
            // Doubling, as `VecDeque` would, but never past the bound: 300 samples must not
            // round up to room for 512.
            // (Not `clamp(4, capacity)`: that panics for a ring of fewer than 4.)
            let grown = (self.buf.len() * 2).max(4).min(self.capacity);
            self.buf.reserve_exact(grown - self.buf.len());
        }
        self.buf.push_back(value);
    }

    pub fn latest(&self) -> Option<&T> {
        self.buf.back()
    }

    /// Drops the oldest values while `expired` says so; storage holding four times what is
    /// left is given back down to twice (not exactly: the next pushes would only grow it again).
    pub fn drop_oldest_while(&mut self, expired: impl Fn(&T) -> bool) {
        while self.buf.front().is_some_and(&expired) {
            self.buf.pop_front();
        }
        if self.buf.capacity() >= 4 * self.buf.len().max(4) {
            self.buf.shrink_to(2 * self.buf.len().max(4));
        }
    }

    pub fn oldest(&self) -> Option<&T> {
        self.buf.front()
    }

    /// Oldest to newest.
    pub fn iter(&self) -> std::collections::vec_deque::Iter<'_, T> {
        self.buf.iter()
    }

    /// The newest `n` values, oldest first: what a sparkline `n` cells wide shows.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &T> {
        self.buf.iter().skip(self.buf.len().saturating_sub(n))
    }

    /// One field over time, oldest first, e.g. `history.series(|s| s.cpu_pct)`.
    pub fn series<F: Fn(&T) -> f64>(&self, field: F) -> impl Iterator<Item = f64> {
        self.buf.iter().map(field)
    }

    /// The largest value of a field, for a chart's y-axis; `None` when empty.
    pub fn max<F: Fn(&T) -> f64>(&self, field: F) -> Option<f64> {
        self.buf.iter().map(field).reduce(f64::max)
    }

    /// The newest `width` values of a field times `scale`, rounded, as sparkline bars (which are
    /// integers): `scaled(w, |s| s.cpu_pct, 10.0)` keeps tenths of a percent. Negative and
    /// non-finite values become 0.
    pub fn scaled<F: Fn(&T) -> f64>(&self, width: usize, field: F, scale: f64) -> Vec<u64> {
        self.tail(width)
            .map(|v| {
                let x = field(v) * scale;
                if x.is_finite() && x > 0.0 {
                    x.round() as u64
                } else {
                    0
                }
            })
            .collect()
    }

    /// Changes the capacity (e.g. the sampling interval changed), keeping the newest values.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.clamp(1, MAX_HISTORY);
        while self.buf.len() > self.capacity {
            self.buf.pop_front();
        }
        self.buf.shrink_to(self.capacity);
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

/// Stats state of one container: the baseline for the next delta and what came of the past ones.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStats {
    pub last_raw: Option<RawStats>,
    pub history: History,
}

impl ContainerStats {
    pub fn new(capacity: usize) -> Self {
        Self {
            last_raw: None,
            history: Ring::new(capacity),
        }
    }

    /// Takes a reading: derives a sample from the previous one (none for the first), keeps it in
    /// the history, and makes the reading the new baseline.
    pub fn record(&mut self, raw: RawStats) -> Option<StatsSample> {
        let sample = self.last_raw.as_ref().and_then(|prev| sample(prev, &raw));
        if let Some(s) = sample {
            self.history.push(s);
        }
        self.last_raw = Some(raw);
        sample
    }

    pub fn latest(&self) -> Option<&StatsSample> {
        self.history.latest()
    }
}

/// What a host offers, from its `DaemonInfo`; the denominators of the aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCapacity {
    pub cpus: u64,
    pub memory_bytes: u64,
}

impl HostCapacity {
    /// The daemon reports these as signed integers; a negative one means unknown, taken as 0.
    pub fn new(cpus: i64, memory_bytes: i64) -> Self {
        Self {
            cpus: u64::try_from(cpus).unwrap_or(0),
            memory_bytes: u64::try_from(memory_bytes).unwrap_or(0),
        }
    }
}

impl From<&DaemonInfo> for HostCapacity {
    fn from(info: &DaemonInfo) -> Self {
        Self::new(info.cpus, info.memory_bytes)
    }
}

impl AddAssign for HostCapacity {
    fn add_assign(&mut self, o: Self) {
        self.cpus = self.cpus.saturating_add(o.cpus);
        self.memory_bytes = self.memory_bytes.saturating_add(o.memory_bytes);
    }
}

/// Latest samples of a group of containers summed (one endpoint, one cluster), against the hosts
/// they run on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Aggregate {
    /// Containers that had a sample to add.
    pub containers: usize,
    /// Sum of CPU %: 250 means two and a half cores busy.
    pub cpu_pct: f64,
    pub mem_used: u64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
    pub host: HostCapacity,
    /// When the oldest sample in the sum was taken: containers off screen are sampled less
    /// often (`[stats] offscreen_interval_s`), so a total says how fresh its inputs are.
    pub oldest: Option<DateTime<Utc>>,
}

impl Aggregate {
    pub fn add_sample(&mut self, s: &StatsSample) {
        self.oldest = Some(self.oldest.map_or(s.at, |o| o.min(s.at)));
        self.containers += 1;
        self.cpu_pct += s.cpu_pct;
        self.mem_used = self.mem_used.saturating_add(s.mem_used);
        self.net_rx_bps += s.net_rx_bps;
        self.net_tx_bps += s.net_tx_bps;
        self.blk_read_bps += s.blk_read_bps;
        self.blk_write_bps += s.blk_write_bps;
    }

    /// Share of the hosts' CPU capacity in use, 0.0..=1.0: sum of CPU % / (CPUs × 100).
    /// `None` when the CPU count is unknown.
    pub fn cpu_of_host(&self) -> Option<f64> {
        (self.host.cpus > 0).then(|| self.cpu_pct / (self.host.cpus as f64 * 100.0))
    }

    /// Share of the hosts' memory in use, 0.0..=1.0; `None` when host memory is unknown.
    pub fn mem_of_host(&self) -> Option<f64> {
        (self.host.memory_bytes > 0).then(|| self.mem_used as f64 / self.host.memory_bytes as f64)
    }
}

impl AddAssign for Aggregate {
    fn add_assign(&mut self, o: Self) {
        self.oldest = match (self.oldest, o.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.containers += o.containers;
        self.cpu_pct += o.cpu_pct;
        self.mem_used = self.mem_used.saturating_add(o.mem_used);
        self.net_rx_bps += o.net_rx_bps;
        self.net_tx_bps += o.net_tx_bps;
        self.blk_read_bps += o.blk_read_bps;
        self.blk_write_bps += o.blk_write_bps;
        self.host += o.host;
    }
}

impl std::iter::Sum for Aggregate {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut acc, a| {
            acc += a;
            acc
        })
    }
}

/// What "top" ranks containers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Cpu,
    Memory,
    /// rx + tx.
    Network,
    /// Block read + write.
    Io,
}

impl SortKey {
    pub fn value(self, s: &StatsSample) -> f64 {
        match self {
            Self::Cpu => s.cpu_pct,
            Self::Memory => s.mem_used as f64,
            Self::Network => s.net_bps(),
            Self::Io => s.blk_bps(),
        }
    }
}

/// Stats of every container fleetdeck samples, by endpoint then container id.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsBook {
    window: Duration,
    by_endpoint: BTreeMap<EndpointId, BTreeMap<String, ContainerStats>>,
}

impl Default for StatsBook {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

impl StatsBook {
    /// `window`: how much history each container keeps.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            by_endpoint: BTreeMap::new(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Takes a reading of a container sampled every `interval`. Returns the new sample, or `None`
    /// for a container's first reading (no deltas yet) or when no time passed since the last.
    pub fn record(
        &mut self,
        endpoint: EndpointId,
        id: &str,
        raw: RawStats,
        interval: Duration,
    ) -> Option<StatsSample> {
        let capacity = history_capacity(self.window, interval);
        let containers = self.by_endpoint.entry(endpoint).or_default();
        if !containers.contains_key(id) {
            containers.insert(id.to_owned(), ContainerStats::new(capacity));
        }
        let stats = containers.get_mut(id)?;
        if stats.history.capacity() != capacity {
            stats.history.set_capacity(capacity);
        }
        let sample = stats.record(raw);
        // The window is time: a container sampled less often than `interval` (off screen)
        // keeps `window` of history too, not `capacity` samples' worth of it.
        if let Some(newest) = stats.history.latest().map(|s| s.at) {
            let window = chrono::TimeDelta::from_std(self.window).unwrap_or(chrono::TimeDelta::MAX);
            stats
                .history
                .drop_oldest_while(|s| newest.signed_duration_since(s.at) >= window);
        }
        sample
    }

    pub fn get(&self, endpoint: EndpointId, id: &str) -> Option<&ContainerStats> {
        self.by_endpoint.get(&endpoint)?.get(id)
    }

    pub fn latest(&self, endpoint: EndpointId, id: &str) -> Option<&StatsSample> {
        self.get(endpoint, id)?.latest()
    }

    pub fn history(&self, endpoint: EndpointId, id: &str) -> Option<&History> {
        self.get(endpoint, id).map(|c| &c.history)
    }

    /// Drops a container that stopped or went away; true if it was there.
    pub fn forget(&mut self, endpoint: EndpointId, id: &str) -> bool {
        let Some(containers) = self.by_endpoint.get_mut(&endpoint) else {
            return false;
        };
        let found = containers.remove(id).is_some();
        if containers.is_empty() {
            self.by_endpoint.remove(&endpoint);
        }
        found
    }

    /// Keeps only the containers `keep` says yes to, e.g. those still running after a sync.
    pub fn retain(&mut self, mut keep: impl FnMut(EndpointId, &str) -> bool) {
        self.by_endpoint.retain(|&endpoint, containers| {
            containers.retain(|id, _| keep(endpoint, id));
            !containers.is_empty()
        });
    }

    /// Containers held, sampled yet or not.
    pub fn len(&self) -> usize {
        self.by_endpoint.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_endpoint.is_empty()
    }

    /// Every container held, by endpoint then id.
    pub fn iter(&self) -> impl Iterator<Item = (EndpointId, &str, &ContainerStats)> {
        self.by_endpoint.iter().flat_map(|(&endpoint, containers)| {
            containers
                .iter()
                .map(move |(id, stats)| (endpoint, id.as_str(), stats))
        })
    }

    /// Latest samples of one endpoint's containers summed, against its host.
    pub fn endpoint_usage(&self, endpoint: EndpointId, host: HostCapacity) -> Aggregate {
        let mut agg = Aggregate {
            host,
            ..Aggregate::default()
        };
        if let Some(containers) = self.by_endpoint.get(&endpoint) {
            for s in containers.values().filter_map(ContainerStats::latest) {
                agg.add_sample(s);
            }
        }
        agg
    }

    /// The sum over several endpoints (a cluster), each with its host.
    pub fn cluster_usage(
        &self,
        endpoints: impl IntoIterator<Item = (EndpointId, HostCapacity)>,
    ) -> Aggregate {
        endpoints
            .into_iter()
            .map(|(endpoint, host)| self.endpoint_usage(endpoint, host))
            .sum()
    }

    /// The `n` containers with the highest latest value of `key`, highest first; ties in endpoint
    /// then id order so the list does not shuffle between frames. Unsampled containers are left out.
    pub fn top(&self, key: SortKey, n: usize) -> Vec<(EndpointId, &str)> {
        self.top_where(key, n, |_, _| true)
    }

    /// Like [`top`](Self::top) over the containers `keep` says yes to (one endpoint, a filter).
    pub fn top_where(
        &self,
        key: SortKey,
        n: usize,
        keep: impl Fn(EndpointId, &str) -> bool,
    ) -> Vec<(EndpointId, &str)> {
        let mut ranked: Vec<(f64, EndpointId, &str)> = self
            .iter()
            .filter(|&(endpoint, id, _)| keep(endpoint, id))
            .filter_map(|(endpoint, id, stats)| {
                stats.latest().map(|s| (key.value(s), endpoint, id))
            })
            .collect();
        // `iter` is already in (endpoint, id) order and the sort is stable.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.truncate(n);
        ranked.into_iter().map(|(_, e, id)| (e, id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1_000_000_000;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn cpu(total_usage: u64, system_usage: u64) -> CpuCounters {
        CpuCounters {
            total_usage,
            system_usage,
            online_cpus: 2,
            percpu_count: 0,
        }
    }

    fn nic(interface: &str, rx_bytes: u64, tx_bytes: u64) -> NetCounters {
        NetCounters {
            interface: interface.into(),
            rx_bytes,
            tx_bytes,
        }
    }

    /// A reading at `secs` with the given CPU counters and otherwise quiet.
    fn raw(secs: i64, total_usage: u64, system_usage: u64) -> RawStats {
        RawStats {
            read: t(secs),
            started_at: Some(t(-100)),
            cpu: cpu(total_usage, system_usage),
            mem_usage: 100,
            mem_limit: 1000,
            ..RawStats::default()
        }
    }

    fn sampled(cpu_pct: f64, mem_used: u64, net: f64, io: f64) -> StatsSample {
        StatsSample {
            cpu_pct,
            mem_used,
            net_rx_bps: net,
            blk_write_bps: io,
            ..StatsSample::default()
        }
    }

    #[test]
    fn cpu_percent_follows_the_docker_cli_formula() {
        // 2 s of container CPU over 4 s of host CPU on 2 CPUs: one core's worth, 100 %.
        let pct = cpu_percent(&cpu(GB, 10 * GB), &cpu(3 * GB, 14 * GB));
        assert!((pct - 100.0).abs() < 1e-9, "{pct}");
        // The same on 8 CPUs is 400 %.
        let eight = CpuCounters {
            online_cpus: 8,
            ..cpu(3 * GB, 14 * GB)
        };
        assert!((cpu_percent(&cpu(GB, 10 * GB), &eight) - 400.0).abs() < 1e-9);
    }

    #[test]
    fn cpu_count_falls_back_to_percpu_entries_then_to_one() {
        let mut c = cpu(0, 0);
        assert_eq!(c.cpus(), 2);
        c.online_cpus = 0;
        c.percpu_count = 4;
        assert_eq!(c.cpus(), 4);
        c.percpu_count = 0;
        assert_eq!(c.cpus(), 1);
    }

    #[test]
    fn cpu_percent_is_zero_without_a_positive_window() {
        // Idle container.
        assert_eq!(cpu_percent(&cpu(GB, 10 * GB), &cpu(GB, 14 * GB)), 0.0);
        // Host counter did not move or went back (reboot).
        assert_eq!(cpu_percent(&cpu(GB, 10 * GB), &cpu(2 * GB, 10 * GB)), 0.0);
        assert_eq!(cpu_percent(&cpu(GB, 10 * GB), &cpu(2 * GB, 9 * GB)), 0.0);
    }

    #[test]
    fn the_first_reading_gives_no_sample_and_the_second_does() {
        let mut c = ContainerStats::new(10);
        assert_eq!(c.record(raw(0, GB, 10 * GB)), None);
        assert!(c.history.is_empty());
        assert!(c.last_raw.is_some());
        let s = c.record(raw(2, 3 * GB, 14 * GB)).unwrap();
        assert!((s.cpu_pct - 100.0).abs() < 1e-9);
        assert_eq!(s.at, t(2));
        assert_eq!(c.history.len(), 1);
        assert_eq!(c.latest(), Some(&s));
    }

    #[test]
    fn one_shot_readings_use_our_baseline_and_streaming_ones_the_daemons() {
        // One-shot: precpu is all zero, so CPU comes from the previous reading we kept.
        let prev = raw(0, GB, 10 * GB);
        let cur = raw(2, 3 * GB, 14 * GB);
        assert!(!cur.precpu.is_present());
        assert!((sample(&prev, &cur).unwrap().cpu_pct - 100.0).abs() < 1e-9);
        // Streaming: the daemon's own pair wins (half a core over its 2 s window of host time).
        let streamed = RawStats {
            precpu: cpu(5 * GB / 2, 12 * GB),
            ..cur
        };
        assert!((sample(&prev, &streamed).unwrap().cpu_pct - 50.0).abs() < 1e-9);
    }

    #[test]
    fn cgroup_v1_memory_subtracts_total_inactive_file() {
        // v1 sends both keys; the hierarchical total is the one the CLI uses.
        assert_eq!(mem_used(1000, Some(100), Some(300)), 700);
        let r = RawStats {
            mem_usage: 1000,
            mem_limit: 2000,
            inactive_file: Some(100),
            total_inactive_file: Some(300),
            ..RawStats::default()
        };
        assert_eq!(r.mem_used(), 700);
    }

    #[test]
    fn cgroup_v2_memory_subtracts_inactive_file() {
        assert_eq!(mem_used(1000, Some(100), None), 900);
        assert_eq!(mem_used(1000, None, None), 1000);
    }

    #[test]
    fn memory_used_is_never_negative() {
        // A cache figure above usage is skipped, as the CLI does: v1 falls through to v2's key.
        assert_eq!(mem_used(1000, Some(100), Some(5000)), 900);
        assert_eq!(mem_used(1000, Some(5000), Some(5000)), 1000);
        assert_eq!(mem_used(0, Some(1), None), 0);
    }

    #[test]
    fn memory_percent_is_against_the_limit_and_zero_without_one() {
        assert!((mem_percent(250, 1000) - 25.0).abs() < 1e-9);
        assert_eq!(mem_percent(250, 0), 0.0);
        // The kernel's "unlimited" passed through: a tiny %, as docker would show it.
        assert!(mem_percent(GB, i64::MAX as u64) < 1e-6);
    }

    #[test]
    fn block_io_sums_reads_and_writes_whatever_the_op_case() {
        // cgroup v1: capitalised, one set per device, plus ops that must not be counted.
        let v1 = [
            ("Read", 100),
            ("Write", 10),
            ("Sync", 110),
            ("Async", 0),
            ("Discard", 0),
            ("Total", 110),
            ("Read", 1),
            ("Write", 2),
        ];
        assert_eq!(
            BlockIo::sum(v1),
            BlockIo {
                read: 101,
                write: 12
            }
        );
        // cgroup v2: lowercase.
        let v2 = [("read", 7), ("write", 9), ("read", 3)];
        assert_eq!(BlockIo::sum(v2), BlockIo { read: 10, write: 9 });
        assert_eq!(BlockIo::sum([]), BlockIo::default());
    }

    #[test]
    fn rates_are_deltas_over_the_daemons_clock_summed_over_interfaces() {
        let prev = RawStats {
            networks: vec![nic("eth0", 1000, 500), nic("eth1", 0, 0)],
            blkio: BlockIo {
                read: 4000,
                write: 0,
            },
            ..raw(0, 0, 10)
        };
        let cur = RawStats {
            networks: vec![nic("eth0", 3000, 1500), nic("eth1", 2000, 500)],
            blkio: BlockIo {
                read: 8000,
                write: 4000,
            },
            pids: 7,
            ..raw(4, 0, 20)
        };
        let s = sample(&prev, &cur).unwrap();
        assert_eq!(s.net_rx_bps, 1000.0); // (2000 + 2000) / 4 s
        assert_eq!(s.net_tx_bps, 375.0); // (1000 + 500) / 4 s
        assert_eq!(s.blk_read_bps, 1000.0);
        assert_eq!(s.blk_write_bps, 1000.0);
        assert_eq!(s.pids, 7);
        assert_eq!((s.mem_used, s.mem_limit), (100, 1000));
        assert!((s.mem_pct - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_counter_reset_counts_from_zero_and_never_gives_a_negative_rate() {
        let prev = RawStats {
            networks: vec![nic("eth0", 10 * GB, 10 * GB)],
            blkio: BlockIo {
                read: 10 * GB,
                write: 10 * GB,
            },
            ..raw(0, 50 * GB, 100 * GB)
        };
        // No started_at change seen, but every counter went down.
        let cur = RawStats {
            networks: vec![nic("eth0", 2000, 0)],
            blkio: BlockIo {
                read: 4000,
                write: 0,
            },
            ..raw(2, GB, 104 * GB)
        };
        let s = sample(&prev, &cur).unwrap();
        assert_eq!(s.net_rx_bps, 1000.0);
        assert_eq!(s.net_tx_bps, 0.0);
        assert_eq!(s.blk_read_bps, 2000.0);
        assert_eq!(s.blk_write_bps, 0.0);
        // CPU from zero too: 1 s of CPU over 4 s of host time on 2 CPUs.
        assert!((s.cpu_pct - 50.0).abs() < 1e-9);
        assert_eq!(counter_delta(u64::MAX, 3), 3);
    }

    #[test]
    fn a_recreated_interface_counts_from_zero_without_disturbing_the_others() {
        let prev = [nic("eth0", 1000, 1000), nic("eth1", GB, GB)];
        let cur = [
            nic("eth0", 1500, 1100),
            nic("eth1", 10, 20),
            nic("eth2", 5, 5),
        ];
        assert_eq!(net_deltas(&prev, &cur), (500 + 10 + 5, 100 + 20 + 5));
        // An interface that disappeared contributes nothing.
        assert_eq!(net_deltas(&prev, &cur[..1]), (500, 100));
    }

    #[test]
    fn a_container_restart_restarts_every_delta_from_zero() {
        let prev = RawStats {
            networks: vec![nic("eth0", 1000, 1000)],
            blkio: BlockIo {
                read: 1000,
                write: 1000,
            },
            ..raw(0, GB, 100 * GB)
        };
        // The new incarnation already counted more than the old one did: a naive delta would
        // look plausible and be wrong.
        let cur = RawStats {
            started_at: Some(t(1)),
            networks: vec![nic("eth0", 3000, 1200)],
            blkio: BlockIo {
                read: 1200,
                write: 1000,
            },
            ..raw(2, 2 * GB, 104 * GB)
        };
        assert!(restarted(&prev, &cur));
        let s = sample(&prev, &cur).unwrap();
        assert_eq!((s.net_rx_bps, s.net_tx_bps), (1500.0, 600.0));
        assert_eq!((s.blk_read_bps, s.blk_write_bps), (600.0, 500.0));
        // The host counter does not reset: 2 s of CPU over 4 s on 2 CPUs.
        assert!((s.cpu_pct - 100.0).abs() < 1e-9);
        // Unknown start times are not a restart.
        let unknown = RawStats {
            started_at: None,
            ..cur.clone()
        };
        assert!(!restarted(&prev, &unknown));
    }

    #[test]
    fn time_not_moving_forward_gives_no_sample_and_becomes_the_baseline() {
        let mut c = ContainerStats::new(10);
        c.record(raw(10, GB, 10 * GB));
        assert_eq!(c.record(raw(10, 2 * GB, 12 * GB)), None); // duplicate stamp
        assert_eq!(c.record(raw(5, 3 * GB, 14 * GB)), None); // clock stepped back
        assert_eq!(c.last_raw.as_ref().map(|r| r.read), Some(t(5)));
        let s = c.record(raw(7, 5 * GB, 18 * GB)).unwrap();
        assert!((s.cpu_pct - 100.0).abs() < 1e-9);
        assert_eq!(c.history.len(), 1);
    }

    #[test]
    fn the_ring_never_grows_past_capacity_and_keeps_the_newest() {
        let mut r = Ring::new(30);
        for i in 0..300u32 {
            r.push(i);
            assert!(r.len() <= 30);
        }
        assert_eq!(r.len(), 30);
        assert_eq!(r.capacity(), 30);
        assert_eq!(r.latest(), Some(&299));
        assert_eq!(r.oldest(), Some(&270));
        assert!(r.iter().copied().eq(270..300));
    }

    #[test]
    fn the_ring_reserves_storage_as_it_fills_and_never_past_its_bound() {
        let mut r = Ring::new(300);
        assert_eq!(r.buf.capacity(), 0);
        (0..10u32).for_each(|i| r.push(i));
        assert!(r.buf.capacity() < 32, "{}", r.buf.capacity());
        (0..1000u32).for_each(|i| r.push(i));
        assert_eq!(r.buf.capacity(), 300);
        assert!(r.iter().copied().eq(700..1000));
        for bound in 1..=4 {
            let mut small = Ring::new(bound);
            (0..10u32).for_each(|i| small.push(i));
            assert_eq!(small.buf.capacity(), bound);
            assert!(small.iter().copied().eq(10 - bound as u32..10));
        }
    }

    #[test]
    fn the_ring_serves_sparklines_and_chart_axes() {
        let mut h = History::new(5);
        assert_eq!(h.max(|s| s.cpu_pct), None);
        for (i, pct) in [1.0, 7.25, 3.0, -1.0, f64::NAN, 2.04]
            .into_iter()
            .enumerate()
        {
            h.push(StatsSample {
                at: t(i as i64),
                cpu_pct: pct,
                ..StatsSample::default()
            });
        }
        let cpu: Vec<f64> = h.series(|s| s.cpu_pct).collect();
        assert_eq!(cpu.len(), 5);
        assert_eq!(cpu[0], 7.25);
        assert_eq!(h.max(|s| s.cpu_pct), Some(7.25));
        assert_eq!(h.scaled(3, |s| s.cpu_pct, 10.0), vec![0, 0, 20]);
        assert_eq!(h.scaled(99, |s| s.cpu_pct, 10.0), vec![73, 30, 0, 0, 20]);
        let stamps: Vec<_> = h.tail(2).map(|s| s.at).collect();
        assert_eq!(stamps, vec![t(4), t(5)]);
    }

    #[test]
    fn a_sample_fits_the_memory_budget_the_module_notes_promise() {
        // 300 samples (10 min at 2 s) at this size are the "about 26 KB" per container.
        assert!(std::mem::size_of::<StatsSample>() <= 88);
    }

    #[test]
    fn shrinking_the_ring_keeps_the_newest() {
        let mut r = Ring::new(10);
        (0..10).for_each(|i| r.push(i));
        r.set_capacity(3);
        assert!(r.iter().copied().eq(7..10));
        r.set_capacity(0);
        assert_eq!(r.capacity(), 1);
        assert_eq!(r.latest(), Some(&9));
        r.clear();
        assert!(r.is_empty());
    }

    #[test]
    fn history_capacity_is_window_over_interval_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(history_capacity(s(600), s(2)), 300);
        assert_eq!(history_capacity(s(600), Duration::from_millis(1500)), 400);
        assert_eq!(history_capacity(s(10), s(3)), 4); // rounded up
        assert_eq!(history_capacity(s(1), s(5)), 1);
        assert_eq!(history_capacity(s(600), Duration::ZERO), MAX_HISTORY);
        assert_eq!(history_capacity(s(86_400), s(1)), MAX_HISTORY);
        assert_eq!(Ring::<u8>::new(usize::MAX).capacity(), MAX_HISTORY);
        assert_eq!(History::for_window(s(600), s(2)).capacity(), 300);
    }

    #[test]
    fn the_book_records_keeps_bounded_history_and_forgets() {
        let two = Duration::from_secs(2);
        let mut book = StatsBook::default();
        assert_eq!(book.window(), DEFAULT_WINDOW);
        assert_eq!(book.record(0, "web", raw(0, 0, 0), two), None);
        for i in 1..=3000u32 {
            let secs = i64::from(i) * 2;
            let s = book.record(
                0,
                "web",
                raw(secs, u64::from(i) * GB, u64::from(i) * 4 * GB),
                two,
            );
            assert!(s.is_some());
        }
        let h = book.history(0, "web").unwrap();
        assert_eq!((h.len(), h.capacity()), (300, 300));
        assert_eq!(h.latest().unwrap().at, t(6000));
        assert_eq!(book.latest(0, "web").map(|s| s.at), Some(t(6000)));
        assert!((book.latest(0, "web").unwrap().cpu_pct - 50.0).abs() < 1e-9);

        book.record(1, "db", raw(0, 0, 0), two);
        book.record(1, "cache", raw(0, 0, 0), two);
        assert_eq!(book.len(), 3);
        assert!(book.forget(1, "db"));
        assert!(!book.forget(1, "db"));
        assert!(!book.forget(9, "web"));
        book.retain(|endpoint, id| endpoint == 0 && id == "web");
        assert_eq!(book.len(), 1);
        assert!(book.get(1, "cache").is_none());
        assert!(book.forget(0, "web"));
        assert!(book.is_empty());
    }

    #[test]
    fn a_container_sampled_less_often_keeps_the_window_not_the_capacity() {
        // Off screen under a 2 s interval: a reading every 10 s, a 600 s window.
        let two = Duration::from_secs(2);
        let mut book = StatsBook::default();
        for i in 0..=360i64 {
            let n = u64::try_from(i).unwrap();
            book.record(0, "web", raw(i * 10, n * GB, n * 4 * GB), two);
        }
        let h = book.history(0, "web").unwrap();
        assert_eq!(h.capacity(), 300, "the bound is still the interval's");
        assert_eq!(h.len(), 60, "ten minutes of samples, not 300");
        assert_eq!(h.oldest().unwrap().at, t(3010));
        assert_eq!(h.latest().unwrap().at, t(3600));
    }

    #[test]
    fn a_ring_gives_back_storage_it_no_longer_needs() {
        let mut r = Ring::new(300);
        for i in 0..300 {
            r.push(i);
        }
        r.drop_oldest_while(|v| *v < 290);
        assert_eq!(r.len(), 10);
        assert_eq!(r.oldest(), Some(&290));
        assert!(r.buf.capacity() < 40, "{}", r.buf.capacity());
        r.drop_oldest_while(|_| true);
        assert!(r.is_empty());
        r.push(1);
        assert_eq!(r.latest(), Some(&1));
    }

    #[test]
    fn a_new_interval_resizes_the_history_keeping_the_newest() {
        let mut book = StatsBook::new(Duration::from_secs(20));
        for i in 0..20 {
            book.record(0, "web", raw(i, 0, 0), Duration::from_secs(1));
        }
        assert_eq!(book.history(0, "web").unwrap().len(), 19);
        book.record(0, "web", raw(25, 0, 0), Duration::from_secs(5));
        let h = book.history(0, "web").unwrap();
        assert_eq!((h.len(), h.capacity()), (4, 4));
        assert_eq!(h.latest().unwrap().at, t(25));
    }

    /// A book whose containers each have exactly the given latest sample.
    fn book_of(samples: &[(EndpointId, &str, StatsSample)]) -> StatsBook {
        let mut book = StatsBook::default();
        for &(endpoint, id, s) in samples {
            let c = book
                .by_endpoint
                .entry(endpoint)
                .or_default()
                .entry(id.to_owned())
                .or_insert_with(|| ContainerStats::new(10));
            c.history.push(s);
        }
        book
    }

    #[test]
    fn endpoint_usage_sums_latest_samples_against_its_host() {
        let mut book = book_of(&[
            (0, "a", sampled(150.0, 2 * GB, 10.0, 1.0)),
            (0, "b", sampled(50.0, GB, 5.0, 2.0)),
            (1, "c", sampled(25.0, GB, 0.0, 0.0)),
        ]);
        // A container with no sample yet adds nothing.
        book.record(0, "new", raw(0, 0, 0), Duration::from_secs(2));
        let host = HostCapacity::new(4, 12 * GB as i64);
        let agg = book.endpoint_usage(0, host);
        assert_eq!(agg.containers, 2);
        assert_eq!(agg.cpu_pct, 200.0);
        assert_eq!(agg.mem_used, 3 * GB);
        assert_eq!((agg.net_rx_bps, agg.blk_write_bps), (15.0, 3.0));
        assert_eq!(agg.cpu_of_host(), Some(0.5)); // two of four cores
        assert_eq!(agg.mem_of_host(), Some(0.25));
        // Unknown host: no fraction rather than a division by zero.
        let blind = book.endpoint_usage(0, HostCapacity::new(-1, 0));
        assert_eq!((blind.cpu_of_host(), blind.mem_of_host()), (None, None));
        assert_eq!(book.endpoint_usage(7, host).containers, 0);
    }

    #[test]
    fn cluster_usage_sums_its_endpoints_and_their_hosts() {
        let book = book_of(&[
            (0, "a", sampled(150.0, 2 * GB, 0.0, 0.0)),
            (1, "b", sampled(50.0, 2 * GB, 0.0, 0.0)),
            (2, "elsewhere", sampled(400.0, 8 * GB, 0.0, 0.0)),
        ]);
        let info = DaemonInfo {
            cpus: 2,
            memory_bytes: 4 * GB as i64,
            ..DaemonInfo::default()
        };
        let host = HostCapacity::from(&info);
        let agg = book.cluster_usage([(0, host), (1, host)]);
        assert_eq!(agg.containers, 2);
        assert_eq!(agg.cpu_pct, 200.0);
        assert_eq!(agg.host, HostCapacity::new(4, 8 * GB as i64));
        assert_eq!(agg.cpu_of_host(), Some(0.5));
        assert_eq!(agg.mem_of_host(), Some(0.5));
        assert_eq!(book.cluster_usage([]), Aggregate::default());
    }

    #[test]
    fn top_ranks_by_the_chosen_key_highest_first() {
        let book = book_of(&[
            (0, "a", sampled(10.0, 5 * GB, 100.0, 0.0)),
            (0, "b", sampled(90.0, GB, 0.0, 30.0)),
            (1, "c", sampled(50.0, 3 * GB, 300.0, 10.0)),
            (1, "d", sampled(50.0, 0, 200.0, 20.0)),
        ]);
        assert_eq!(
            book.top(SortKey::Cpu, 3),
            vec![(0, "b"), (1, "c"), (1, "d")]
        );
        assert_eq!(book.top(SortKey::Memory, 2), vec![(0, "a"), (1, "c")]);
        assert_eq!(book.top(SortKey::Network, 1), vec![(1, "c")]);
        assert_eq!(
            book.top(SortKey::Io, 9),
            vec![(0, "b"), (1, "d"), (1, "c"), (0, "a")]
        );
        assert_eq!(
            book.top_where(SortKey::Cpu, 9, |endpoint, _| endpoint == 1),
            vec![(1, "c"), (1, "d")]
        );
        assert!(book.top(SortKey::Cpu, 0).is_empty());
    }

    #[test]
    fn network_and_io_keys_add_both_directions() {
        let s = StatsSample {
            net_rx_bps: 1.0,
            net_tx_bps: 2.0,
            blk_read_bps: 3.0,
            blk_write_bps: 4.0,
            ..StatsSample::default()
        };
        assert_eq!(SortKey::Network.value(&s), 3.0);
        assert_eq!(SortKey::Io.value(&s), 7.0);
    }
}
