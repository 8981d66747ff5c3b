//! The session loop: per endpoint, connect, sync, follow the event stream, resync, and on any
//! failure report `Down` and reconnect after a capped backoff cut short by a `/_ping`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::ListContainersOptions;
use chrono::Utc;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::client::ReadOnly;
use super::retry::{Backoff, wait_to_retry};
use super::startup::{EndpointStartup, INSPECT_HOLD_MAX};
use super::sync::{
    events_options, inspect, inspect_all, list_images, list_networks, list_sync, reread_info,
};
use super::{EndpointClient, EngineError, convert, deadline, send, stats, swarm};
use crate::config::EngineSettings;
use crate::model::{Container, EndpointId, Msg, MsgKind};

/// Events drained in one go before acting, so a burst costs one inspect per container.
const EVENT_BATCH: usize = 256;
/// A session that stayed up this long resets the backoff.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);
/// While Swarm is still converging (replicas not all running, an update under way), how often
/// a manager's swarm is read again (Swarm sends no event for a task changing state); doubled
/// for every reading that changed nothing, up to the resync.
const SWARM_FOLLOW: Duration = Duration::from_secs(1);
/// A burst of Swarm events costs one reading of the swarm, this long after the first.
const SWARM_SETTLE: Duration = Duration::from_millis(250);

/// Watches one endpoint forever: connect → sync → follow events, and on any failure report
/// `Down` and try again after the backoff. Returns only when the model side has gone away.
/// Its first session keeps to the fleet's start-up order (`startup`); a failed first attempt
/// lets the others go on without it.
pub async fn run_endpoint(
    id: EndpointId,
    client: EndpointClient,
    settings: EngineSettings,
    tx: mpsc::Sender<Msg>,
    running_tx: watch::Sender<stats::RunningSet>,
    mut startup: EndpointStartup,
) {
    let mut backoff = Backoff::new(settings.backoff_max);
    let mut attempt = 1u32;
    // Carried across sessions: a reconnect asks the daemon for everything since this.
    let mut last_event: Option<i64> = None;
    loop {
        if send(&tx, id, MsgKind::Connecting { attempt })
            .await
            .is_err()
        {
            return;
        }
        let started = Instant::now();
        let reason = match session(
            id,
            &client,
            &settings,
            &tx,
            (&mut last_event, &running_tx),
            &mut startup,
        )
        .await
        {
            Ok(()) => return,
            Err(e) => e.to_string(),
        };
        startup.give_up();
        tracing::warn!(endpoint = %client.spec().name, %reason, "endpoint down");
        if started.elapsed() >= HEALTHY_SESSION {
            backoff.reset();
        }
        let retry_in = backoff.next_delay();
        if send(&tx, id, MsgKind::Down { reason, retry_in })
            .await
            .is_err()
        {
            return;
        }
        wait_to_retry(&client, retry_in).await;
        attempt = attempt.saturating_add(1);
    }
}

/// Sends, turning a closed channel into `Ok(None)` for the session: the UI has exited.
macro_rules! emit {
    ($tx:expr, $id:expr, $kind:expr) => {
        if send($tx, $id, $kind).await.is_err() {
            return Ok(());
        }
    };
}

/// Inspects sent to the model in one message at most: a batch is what came in at once.
const INSPECT_BATCH: usize = 64;

/// One connected stretch. `Ok(())` means the receiver is gone; any error means "down".
async fn session(
    id: EndpointId,
    client: &EndpointClient,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    (last_event, running_tx): (&mut Option<i64>, &watch::Sender<stats::RunningSet>),
    startup: &mut EndpointStartup,
) -> Result<(), EngineError> {
    let began = Instant::now();
    let docker = client.connect().await?;
    let connected = began.elapsed();
    let (sync, daemon_time) = list_sync(&docker, settings).await?;
    let listed_in = began.elapsed();
    // Subscribe from the last event seen before a disconnect, so nothing that happened meanwhile
    // is lost; on the first connect, from `backfill` before the sync (by the daemon's clock,
    // which may differ from ours). Replayed events are de-duplicated by the event log, and
    // re-inspecting a container is idempotent.
    let daemon_now = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .unwrap_or_else(Utc::now);
    let since = match *last_event {
        Some(nanos) => format!(
            "{}.{:09}",
            nanos.div_euclid(1_000_000_000),
            nanos.rem_euclid(1_000_000_000)
        ),
        None => {
            let back = chrono::TimeDelta::from_std(settings.event_backfill).unwrap_or_default();
            (daemon_now - back).timestamp().to_string()
        }
    };
    // The daemon's clock when it was asked for its containers: every event up to here is
    // already reflected in the sync.
    let synced_at = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .and_then(|t| t.timestamp_nanos_opt());
    // The rows go to the screen as soon as the list is in; the inspects refine them as they
    // come. The stats collector hears of the running containers only once every inspect is
    // in, so its first round does not compete with them.
    let mut known = Tracked::new(running_tx);
    let mut info = sync.info.clone();
    let listed = sync.containers.clone();
    emit!(tx, id, MsgKind::Listed(Box::new(sync)));
    startup.first_list.take();
    if let Some(lists) = startup.lists.take() {
        lists.wait(INSPECT_HOLD_MAX).await;
    }
    let mut inspects =
        inspect_all(&docker, &listed, settings.request_timeout).ready_chunks(INSPECT_BATCH);
    let mut outcome = InspectOutcome::default();
    while let Some(batch) = inspects.next().await {
        let (mut containers, mut gone) = (Vec::new(), Vec::new());
        for found in batch {
            match found {
                Ok(Ok(c)) => {
                    known.seen(&c);
                    containers.push(c);
                }
                Ok(Err(cid)) => gone.push(cid),
                // One container's inspect failing (a wedged container whose inspect times
                // out while the list answers) must not end the session: the endpoint would
                // go up on the list and down on the inspect at every retry. Its row stays as
                // the list gave it, counted as awaiting details, until a resync inspects it.
                Err(e) => outcome.failed(e),
            }
        }
        outcome.answered += containers.len() + gone.len();
        emit!(tx, id, MsgKind::Inspected { containers, gone });
    }
    drop(inspects);
    if let Some(e) = outcome.into_session_error() {
        return Err(e);
    }
    known.publish();
    startup.first_sync.take();
    tracing::debug!(
        endpoint = %client.spec().name,
        connected_ms = connected.as_millis(),
        listed_ms = listed_in.as_millis(),
        inspected_ms = began.elapsed().as_millis(),
        containers = listed.len(),
        "synced"
    );
    // A manager's swarm: read now, at every resync, soon after Swarm events, and every
    // SWARM_FOLLOW while Swarm is converging.
    let mut swarm_due = info.is_swarm_manager().then(tokio::time::Instant::now);
    let (mut swarm_last, mut swarm_follow) = (None, SWARM_FOLLOW);
    let mut events = docker.events(Some(events_options(since, None)));
    let mut resync = tokio::time::interval(settings.resync);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    // Liveness: a partition makes connections hang, not fail, and an idle event stream looks
    // the same as a dead one. A ping on the same pooled client must come back before
    // `down_after` has passed since the daemon last said anything, so a hung endpoint is down
    // within that bound whatever was in flight.
    let down_after = settings.down_after;
    let mut ping = tokio::time::interval(
        settings
            .ping
            .min(down_after / 3)
            .max(Duration::from_millis(200)),
    );
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut last_answer = Instant::now();

    loop {
        tokio::select! {
            ev = events.next() => {
                last_answer = Instant::now();
                let first = match ev {
                    Some(Ok(ev)) => ev,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(EngineError::StreamClosed),
                };
                let mut batch = vec![first];
                while batch.len() < EVENT_BATCH {
                    match events.next().now_or_never() {
                        Some(Some(Ok(ev))) => batch.push(ev),
                        Some(Some(Err(e))) => return Err(e.into()),
                        Some(None) => return Err(EngineError::StreamClosed),
                        None => break,
                    }
                }
                let converted: Vec<_> = batch.iter().filter_map(|e| convert::event(id, e)).collect();
                latency_read(id, &converted);
                if let Some(newest) = converted.iter().map(|e| e.time_nano).max() {
                    *last_event = Some(last_event.map_or(newest, |l| l.max(newest)));
                }
                // Replayed events from before the sync changed nothing the sync did not see:
                // acting on them would inspect every recent container a second time.
                batch.retain(|e| synced_at.is_none_or(|at| e.time_nano.is_none_or(|t| t > at)));
                if info.is_swarm_manager() && batch.iter().any(is_swarm_event) {
                    let soon = tokio::time::Instant::now() + SWARM_SETTLE;
                    swarm_due = Some(swarm_due.map_or(soon, |d| d.min(soon)));
                }
                // Before the inspects they call for: the model applies the state an event
                // carries at once, so the screen follows the event within a frame, not a round
                // trip later. The inspects then refine it. The daemon is asked for no
                // healthcheck execs (`sync::EVENT_ACTIONS`); one that sends them anyway (an API
                // that ignores the filter) has them dropped by `convert::event`, and a batch of
                // nothing else is not sent: each would wake the dashboard for nothing.
                if !converted.is_empty() {
                    emit!(tx, id, MsgKind::Events(converted));
                }
                if apply_events(&docker, id, settings, tx, &mut known, batch).await?.is_none() {
                    return Ok(());
                }
            }
            _ = resync.tick() => {
                if resync_containers(&docker, id, settings, tx, &mut known).await?.is_none() {
                    return Ok(());
                }
                // Engine labels reload with the daemon's config, node labels change any time.
                let now = reread_info(&docker, settings.request_timeout, &info).await?;
                if now != info {
                    info = now.clone();
                    emit!(tx, id, MsgKind::Info(Box::new(now)));
                }
                if info.is_swarm_manager() {
                    swarm_due = Some(tokio::time::Instant::now());
                }
            }
            _ = tokio::time::sleep_until(swarm_due.unwrap_or_else(tokio::time::Instant::now)), if swarm_due.is_some() => {
                swarm_due = None;
                // Best effort, as the node list is: a manager without quorum still answers the
                // rest, so it is not down; its swarm is shown as last read until it answers.
                match swarm::read_state(&docker, settings.request_timeout).await {
                    Ok(Some(state)) => {
                        // A swarm stuck short of converging (a task that keeps failing) is
                        // read less and less often while nothing changes, down to the resync.
                        swarm_follow = if swarm_last.as_ref() == Some(&state) {
                            (swarm_follow * 2).min(settings.resync)
                        } else {
                            SWARM_FOLLOW
                        };
                        if !state.converged() {
                            swarm_due = Some(tokio::time::Instant::now() + swarm_follow);
                        }
                        swarm_last = Some(state.clone());
                        emit!(tx, id, MsgKind::Swarm(Box::new(state)));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(endpoint = %client.spec().name, error = %e, "reading the swarm failed"),
                }
            }
            _ = ping.tick() => {
                let started = Instant::now();
                let left = down_after.saturating_sub(last_answer.elapsed()).max(Duration::from_millis(100));
                match tokio::time::timeout(left, docker.ping()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(bollard::errors::Error::RequestTimeoutError)) | Err(_) => {
                        return Err(EngineError::Timeout(last_answer.elapsed()));
                    }
                    Ok(Err(e)) => return Err(e.into()),
                }
                last_answer = Instant::now();
                emit!(tx, id, MsgKind::Latency(started.elapsed()));
            }
        }
    }
}

/// What a session knows of its containers: the list status of each (to spot changes at
/// resync) and which are running, published for the stats collector once the sync is in.
struct Tracked<'a> {
    status: HashMap<String, String>,
    running: HashSet<String>,
    publish: &'a watch::Sender<stats::RunningSet>,
    publishing: bool,
}

impl<'a> Tracked<'a> {
    fn new(publish: &'a watch::Sender<stats::RunningSet>) -> Self {
        Self {
            status: HashMap::new(),
            running: HashSet::new(),
            publish,
            publishing: false,
        }
    }

    /// From now on the running set goes to the stats collector, starting with this one.
    fn publish(&mut self) {
        self.publishing = true;
        self.publish
            .send_replace(std::sync::Arc::new(self.running.clone()));
    }

    fn seen(&mut self, c: &Container) {
        self.status.insert(c.id.clone(), c.list_status.clone());
        let changed = if c.state == crate::model::ContainerState::Running {
            self.running.insert(c.id.clone())
        } else {
            self.running.remove(&c.id)
        };
        if changed && self.publishing {
            self.publish
                .send_replace(std::sync::Arc::new(self.running.clone()));
        }
    }

    fn gone(&mut self, id: &str) {
        self.status.remove(id);
        if self.running.remove(id) && self.publishing {
            self.publish
                .send_replace(std::sync::Arc::new(self.running.clone()));
        }
    }
}

/// An event that changes what a manager's swarm reading says: a service or node changed, or
/// a container of a Swarm task did.
fn is_swarm_event(ev: &EventMessage) -> bool {
    match ev.typ {
        Some(EventMessageTypeEnum::SERVICE | EventMessageTypeEnum::NODE) => true,
        Some(EventMessageTypeEnum::CONTAINER) => ev
            .actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
            .is_some_and(|a| a.contains_key("com.docker.swarm.task.id")),
        _ => false,
    }
}

/// How a sync's inspects went: how many the daemon answered (found or gone) and the first
/// failure. Some failing while others answer is a container's trouble (its row waits for the
/// next resync); all failing is the daemon's, and ends the session as before.
#[derive(Default)]
struct InspectOutcome {
    answered: usize,
    first_error: Option<EngineError>,
}

impl InspectOutcome {
    fn failed(&mut self, e: EngineError) {
        tracing::warn!(error = %e, "a container's inspect failed; its row keeps the list's data");
        self.first_error.get_or_insert(e);
    }

    /// The session's error when no inspect was answered and at least one failed.
    fn into_session_error(self) -> Option<EngineError> {
        if self.answered == 0 {
            self.first_error
        } else {
            None
        }
    }
}

/// How long the newest event of a batch took from the daemon's clock to here, at debug level
/// under `fleetdeck::latency` (`FLEETDECK_LOG=fleetdeck::latency=debug`): the first leg of
/// event → screen, beside the app loop's "container news received" and "frame drawn".
fn latency_read(id: EndpointId, events: &[crate::model::events::FleetEvent]) {
    if !tracing::enabled!(target: "fleetdeck::latency", tracing::Level::DEBUG) {
        return;
    }
    if let Some(ev) = events.iter().max_by_key(|e| e.time_nano) {
        let lag_us = Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or(0)
            .saturating_sub(ev.time_nano)
            / 1000;
        tracing::debug!(target: "fleetdeck::latency", endpoint = id, events = events.len(),
            action = %ev.action, actor = %ev.actor, lag_us, "events read");
    }
}

/// Which follow-up a batch of events calls for.
#[derive(Default)]
struct EventWork {
    containers: Vec<String>,
    networks: bool,
    images: bool,
}

fn plan_events(batch: &[EventMessage]) -> EventWork {
    let mut work = EventWork::default();
    let mut seen = HashSet::new();
    let mut touch = |id: &str, work: &mut EventWork| {
        if !id.is_empty() && seen.insert(id.to_string()) {
            work.containers.push(id.to_string());
        }
    };
    for ev in batch {
        let action = ev.action.as_deref().unwrap_or("");
        // "exec_start: sh -c …", "health_status: healthy"
        let verb = action.split(':').next().unwrap_or("").trim();
        let actor = ev.actor.as_ref();
        let actor_id = actor.and_then(|a| a.id.as_deref()).unwrap_or("");
        match ev.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                // `kill` too: it changes nothing an inspect would show (the `die` that follows
                // a fatal signal does, and is inspected), and inspecting a container while the
                // daemon tears it down waits on it, which held up reading that very `die` by
                // 10-80 ms: the session reads no event while an inspect is in flight.
                let ignored = matches!(
                    verb,
                    "kill"
                        | "exec_create"
                        | "exec_start"
                        | "exec_detach"
                        | "exec_die"
                        | "attach"
                        | "detach"
                        | "resize"
                        | "top"
                        | "archive-path"
                        | "extract-to-dir"
                        | "export"
                        | "commit"
                        | "copy"
                );
                if !ignored {
                    touch(actor_id, &mut work);
                }
            }
            Some(EventMessageTypeEnum::NETWORK) => {
                work.networks = true;
                if let Some(c) = actor
                    .and_then(|a| a.attributes.as_ref())
                    .and_then(|a| a.get("container"))
                {
                    touch(c, &mut work);
                }
            }
            Some(EventMessageTypeEnum::IMAGE) => work.images = true,
            _ => {}
        }
    }
    work
}

/// Acts on a batch of events. `Ok(None)` when the receiver is gone.
async fn apply_events(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    known: &mut Tracked<'_>,
    batch: Vec<EventMessage>,
) -> Result<Option<()>, EngineError> {
    let work = plan_events(&batch);
    let t = settings.request_timeout;
    for cid in work.containers {
        let status = known.status.get(&cid).cloned().unwrap_or_default();
        let Some(kind) = refresh(docker, cid, status, t, known).await else {
            continue;
        };
        if send(tx, id, kind).await.is_err() {
            return Ok(None);
        }
    }
    if work.networks {
        let nets = list_networks(docker, t).await?;
        if send(tx, id, MsgKind::Networks(nets)).await.is_err() {
            return Ok(None);
        }
    }
    if work.images {
        let images = list_images(docker, t).await?;
        if send(tx, id, MsgKind::Images(images)).await.is_err() {
            return Ok(None);
        }
    }
    Ok(Some(()))
}

/// Inspects one container again: what changed, or that it is gone. `None` when the inspect
/// failed: the session goes on (the daemon answers the event stream or the list, so it is
/// there) and a container whose inspect fails (a wedged one) keeps its row as it was until a
/// later event, or a resync that finds its list status changed, inspects it again, rather
/// than the endpoint going down at every event or resync.
async fn refresh(
    docker: &ReadOnly,
    cid: String,
    list_status: String,
    limit: Duration,
    known: &mut Tracked<'_>,
) -> Option<MsgKind> {
    match inspect(docker, &cid, list_status, limit).await {
        Ok(Some(c)) => {
            known.seen(&c);
            Some(MsgKind::ContainerChanged(Box::new(c)))
        }
        Ok(None) => {
            known.gone(&cid);
            Some(MsgKind::ContainerGone { id: cid })
        }
        Err(e) => {
            tracing::warn!(container = %cid, error = %e, "a container's inspect failed; its row stays as it was");
            None
        }
    }
}

/// The safety net under the event stream: list everything, inspect only what looks different,
/// drop what is gone.
async fn resync_containers(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    known: &mut Tracked<'_>,
) -> Result<Option<()>, EngineError> {
    let t = settings.request_timeout;
    let summaries = deadline(
        t,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    )
    .await?;
    let mut present = HashSet::new();
    for s in summaries {
        let Some(cid) = s.id.clone() else { continue };
        present.insert(cid.clone());
        let status = s.status.clone().unwrap_or_default();
        let changed = known.status.get(&cid).is_none_or(|old| {
            let old_summary = bollard::models::ContainerSummary {
                state: s.state,
                status: Some(old.clone()),
                ..Default::default()
            };
            convert::list_fingerprint(&old_summary) != convert::list_fingerprint(&s)
        });
        if !changed {
            continue;
        }
        let Some(kind) = refresh(docker, cid, status, t, known).await else {
            continue;
        };
        if send(tx, id, kind).await.is_err() {
            return Ok(None);
        }
    }
    let gone: Vec<String> = known
        .status
        .keys()
        .filter(|k| !present.contains(*k))
        .cloned()
        .collect();
    for cid in gone {
        known.gone(&cid);
        if send(tx, id, MsgKind::ContainerGone { id: cid })
            .await
            .is_err()
        {
            return Ok(None);
        }
    }
    let nets = list_networks(docker, t).await?;
    if send(tx, id, MsgKind::Networks(nets)).await.is_err() {
        return Ok(None);
    }
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    #[test]
    fn one_failing_inspect_among_answers_keeps_the_session_all_failing_ends_it() {
        let mut some = InspectOutcome::default();
        some.failed(EngineError::Timeout(Duration::from_secs(10)));
        some.answered += 3;
        assert!(
            some.into_session_error().is_none(),
            "a wedged container is not a down daemon"
        );
        let mut all = InspectOutcome::default();
        all.failed(EngineError::StreamClosed);
        all.failed(EngineError::Timeout(Duration::from_secs(10)));
        assert!(matches!(
            all.into_session_error(),
            Some(EngineError::StreamClosed)
        ));
        assert!(
            InspectOutcome::default().into_session_error().is_none(),
            "nothing to inspect"
        );
    }

    fn ev(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attrs: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some(id.into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_burst_of_events_inspects_each_container_once() {
        use EventMessageTypeEnum::*;
        let batch = vec![
            ev(CONTAINER, "create", "a", &[]),
            ev(CONTAINER, "start", "a", &[]),
            ev(CONTAINER, "exec_start: sh -c true", "b", &[]),
            ev(CONTAINER, "health_status: unhealthy", "b", &[]),
            ev(NETWORK, "connect", "net1", &[("container", "c")]),
            ev(CONTAINER, "die", "a", &[("exitCode", "3")]),
        ];
        let work = plan_events(&batch);
        assert_eq!(work.containers, ["a", "b", "c"]);
        assert!(work.networks);
        assert!(!work.images);
    }

    #[test]
    fn a_kill_alone_is_not_inspected_its_die_is() {
        use EventMessageTypeEnum::*;
        let kill = ev(CONTAINER, "kill", "a", &[("signal", "9")]);
        assert!(
            plan_events(std::slice::from_ref(&kill))
                .containers
                .is_empty()
        );
        let die = ev(CONTAINER, "die", "a", &[("exitCode", "137")]);
        assert_eq!(plan_events(&[kill, die]).containers, ["a"]);
    }
}
