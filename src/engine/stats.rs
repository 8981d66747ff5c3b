//! Container stats by one-shot polling: every interval, one `stats?stream=false&one-shot=true`
//! request per running container, a few at a time, on the endpoint's own connection; deltas are
//! computed by the model from the previous reading. Streaming (one long request per container)
//! is what peers do and what moby#21837 measured as expensive for the daemon; the figures for
//! this choice are in BENCHMARKS.md.
//!
//! The set of running containers comes from the endpoint's session (its event stream), so
//! collection starts and stops with the containers. A slow daemon only delays its own samples.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::{mpsc, watch};

use super::{Backoff, EngineError, connect, convert, deadline};
use crate::config::{EndpointSpec, EngineSettings};
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
        crate::config::DockerUrl::Ssh { .. } => SSH_CONCURRENCY,
        _ => CONCURRENCY,
    }
}

/// The running containers of an endpoint, as its session last saw them.
pub type RunningSet = Arc<HashSet<String>>;

/// The containers of an endpoint the operator can see, when the dashboard says so. `None`
/// (headless, an exporter configured, the stats view ranking everything) samples every running
/// container every interval.
pub type Focus = Option<Arc<HashSet<String>>>;

/// Containers off screen are sampled once every this many intervals, a fifth of them each round
/// so the daemon's load stays even. The daemon pays per sample (BENCHMARKS.md), and a clusters
/// view or a wall needs the totals, not every container's last second.
pub const OFFSCREEN_EVERY: u64 = 5;

/// Whether a container is sampled in round `round`.
pub fn due(id: &str, focus: &Focus, round: u64) -> bool {
    match focus {
        None => true,
        Some(on_screen) => on_screen.contains(id) || slice(id) == round % OFFSCREEN_EVERY,
    }
}

/// A container's fixed round within the off-screen cycle.
fn slice(id: &str) -> u64 {
    id.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % OFFSCREEN_EVERY
}

/// Samples one endpoint's running containers every `interval`, forever (until the receiver of
/// `tx` goes away). Reconnects on its own when the daemon goes away.
pub async fn collect(
    id: EndpointId,
    spec: EndpointSpec,
    settings: EngineSettings,
    interval: Duration,
    mut running: watch::Receiver<RunningSet>,
    focus: watch::Receiver<Focus>,
    tx: mpsc::Sender<Msg>,
) {
    let mut round = 0u64;
    let mut backoff = Backoff::new(settings.backoff_max);
    loop {
        // Nothing to do until the session has seen a running container.
        if running.borrow().is_empty() && running.changed().await.is_err() {
            return;
        }
        let docker = match connect(&spec, &settings).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(endpoint = %spec.name, "stats: {e}");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        backoff.reset();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                return;
            }
            round = round.wrapping_add(1);
            let ids: Vec<String> = {
                let focus = focus.borrow();
                running
                    .borrow()
                    .iter()
                    .filter(|id| due(id, &focus, round))
                    .cloned()
                    .collect()
            };
            if ids.is_empty() {
                continue;
            }
            let samples = sample_all(&docker, &ids, &settings, concurrency_for(&spec)).await;
            let failed = samples.iter().filter(|s| s.is_err()).count();
            let ok: Vec<(String, RawStats)> = samples.into_iter().flatten().collect();
            if failed == ids.len() {
                // Every request failed: the daemon is gone or unreachable; reconnect.
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
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

async fn sample_all(
    docker: &Docker,
    ids: &[String],
    settings: &EngineSettings,
    concurrency: usize,
) -> Vec<Result<(String, RawStats), EngineError>> {
    futures::stream::iter(ids.iter().cloned())
        .map(|cid| async move {
            let raw = sample(docker, &cid, settings).await?;
            Ok((cid, raw))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// One reading of one container.
pub async fn sample(
    docker: &Docker,
    id: &str,
    settings: &EngineSettings,
) -> Result<RawStats, EngineError> {
    let stream = docker.stats(
        id,
        Some(StatsOptions {
            stream: false,
            one_shot: true,
        }),
    );
    let mut responses: Vec<ContainerStatsResponse> =
        deadline(settings.request_timeout, stream.try_collect()).await?;
    let resp = responses
        .pop()
        .ok_or_else(|| EngineError::Docker("empty stats answer".into()))?;
    Ok(raw_stats(resp))
}

fn cpu(c: Option<bollard::models::ContainerCpuStats>) -> CpuCounters {
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
}

/// Docker's stats answer → the model's counters.
pub fn raw_stats(r: ContainerStatsResponse) -> RawStats {
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
            .unwrap_or_else(Utc::now),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_screen_containers_every_round_the_rest_once_per_cycle_spread_evenly() {
        let ids: Vec<String> = (0..200).map(|i| format!("{i:064x}")).collect();
        let on_screen: HashSet<String> = ids[..10].iter().cloned().collect();
        let focus: Focus = Some(Arc::new(on_screen));
        let mut per_round = Vec::new();
        let mut times = std::collections::HashMap::new();
        for round in 0..OFFSCREEN_EVERY {
            let due_now: Vec<_> = ids.iter().filter(|id| due(id, &focus, round)).collect();
            per_round.push(due_now.len());
            for id in due_now {
                *times.entry(id.clone()).or_insert(0u64) += 1;
            }
        }
        for (i, id) in ids.iter().enumerate() {
            let want = if i < 10 { OFFSCREEN_EVERY } else { 1 };
            assert_eq!(times.get(id).copied().unwrap_or(0), want, "{id}");
        }
        // 10 on screen + about 190 / 5 = 38 others per round, never all 190 at once.
        assert!(
            per_round.iter().all(|&n| (10 + 20..=10 + 60).contains(&n)),
            "{per_round:?}"
        );
        // No focus known: everything, every round.
        assert!(ids.iter().all(|id| due(id, &None, 3)));
    }
}
