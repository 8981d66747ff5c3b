//! One rule against the fleet at one moment: the subjects for which its condition holds now.
//! No state here; [`super::Alerts`] turns hits into pending, firing and resolved.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use super::Rule;
use super::condition::{Condition, SubjectKind};
use crate::container::{Container, ContainerState, Health};
use crate::deploy::replicas::{LABEL_GROUP, LABEL_REPLICA};
use crate::deploy::revision::{LABEL_SERVICE, REVISION_SEPARATOR};
use crate::ipam::{IpamReport, human_count};
use crate::{EndpointId, Fleet, Link};

/// One subject the condition holds for, with what the triage panel and a notice say of it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Hit {
    pub subject: String,
    pub kind: SubjectKind,
    pub endpoint: Option<EndpointId>,
    pub container_id: Option<String>,
    /// The container's name; an address for a conflict; empty for an endpoint.
    pub container: String,
    pub value: Option<f64>,
    pub exit_code: Option<i64>,
    /// When the thing happened (went down, died, started), when known.
    pub at: Option<DateTime<Utc>>,
    pub detail: String,
}

/// Lines of one container that matched one log rule: (when, the line), oldest first.
pub(super) type LogMatches =
    HashMap<(usize, EndpointId, String), VecDeque<(DateTime<Utc>, String)>>;

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// The subjects rule `index` fires for now. `report` is the fleet's IPAM report, built on first
/// need and shared by every pool rule of one evaluation.
pub(super) fn hits(
    index: usize,
    rule: &Rule,
    fleet: &Fleet,
    now: DateTime<Utc>,
    report: &mut Option<IpamReport>,
    logs: &LogMatches,
) -> Vec<Hit> {
    match &rule.condition {
        Condition::EndpointDown => endpoint_down(rule, fleet),
        Condition::NodeDown | Condition::NodeDrained | Condition::TaskFailing => swarm(rule, fleet),
        Condition::IpConflict => {
            let report = report.get_or_insert_with(|| IpamReport::from_fleet(fleet));
            conflicts(rule, fleet, report, now)
        }
        Condition::PoolUse { .. } => {
            let report = report.get_or_insert_with(|| IpamReport::from_fleet(fleet));
            pool_use(rule, fleet, report)
        }
        Condition::RestartLoop { count, window } => {
            restart_loops(rule, fleet, now, *count, *window)
        }
        Condition::Missing { expect } => missing(rule, fleet, *expect),
        Condition::Log { window, .. } => {
            let since = now - delta(*window);
            let mut out = Vec::new();
            for (e, ep) in fleet.endpoints.iter().enumerate() {
                for c in ep.containers.values() {
                    let Some(lines) = logs.get(&(index, e, c.id.clone())) else {
                        continue;
                    };
                    let recent: Vec<&(DateTime<Utc>, String)> =
                        lines.iter().filter(|(t, _)| *t > since).collect();
                    let Some((at, line)) = recent.last() else {
                        continue;
                    };
                    if !rule.scope.covers_container(ep, c) {
                        continue;
                    }
                    out.push(container_hit(
                        fleet,
                        e,
                        c,
                        Some(*at),
                        Some(recent.len() as f64),
                        None,
                        line.chars().take(200).collect(),
                    ));
                }
            }
            out
        }
        _ => container_state(rule, fleet, now),
    }
}

/// The subject a container's alert is tracked under: `ENDPOINT/NAME`.
fn container_subject(endpoint: &str, c: &Container) -> String {
    format!("{endpoint}/{}", c.name)
}

fn container_hit(
    fleet: &Fleet,
    endpoint: EndpointId,
    c: &Container,
    at: Option<DateTime<Utc>>,
    value: Option<f64>,
    exit_code: Option<i64>,
    detail: String,
) -> Hit {
    let ep = fleet.endpoints.get(endpoint).map_or("?", |e| e.name());
    Hit {
        subject: container_subject(ep, c),
        kind: SubjectKind::Container,
        endpoint: Some(endpoint),
        container_id: Some(c.id.clone()),
        container: c.name.clone(),
        value,
        exit_code,
        at,
        detail,
    }
}

fn endpoint_down(rule: &Rule, fleet: &Fleet) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, ep) in fleet.endpoints.iter().enumerate() {
        if let Link::Down { reason, .. } = &ep.link
            && rule.scope.covers_endpoint(ep)
        {
            out.push(Hit {
                subject: ep.name().to_string(),
                kind: SubjectKind::Endpoint,
                endpoint: Some(i),
                container_id: None,
                container: String::new(),
                value: None,
                exit_code: None,
                at: ep.down_since,
                detail: reason.clone(),
            });
        }
    }
    out
}

/// Swarm nodes and services, each swarm once, from the manager its views read (a swarm with
/// no manager up is the endpoint-down rule's news, not this one's).
fn swarm(rule: &Rule, fleet: &Fleet) -> Vec<Hit> {
    let mut out = Vec::new();
    for view in crate::swarm::swarms(&fleet.endpoints) {
        let Some(ep) = fleet.endpoints.get(view.endpoint) else {
            continue;
        };
        if view.stale || !rule.scope.covers_endpoint(ep) {
            continue;
        }
        let hit = |subject: String, name: &str, at, detail: String| Hit {
            subject,
            kind: SubjectKind::Swarm,
            endpoint: Some(view.endpoint),
            container_id: None,
            container: name.to_string(),
            value: None,
            exit_code: None,
            at,
            detail,
        };
        match rule.condition {
            Condition::NodeDown => {
                for n in view.state.nodes.iter().filter(|n| n.state != "ready") {
                    out.push(hit(
                        format!("node {}", n.hostname),
                        &n.hostname,
                        None,
                        format!("{} node {}", n.role, n.state),
                    ));
                }
            }
            Condition::NodeDrained => {
                for n in view
                    .state
                    .nodes
                    .iter()
                    .filter(|n| n.availability != "active")
                {
                    out.push(hit(
                        format!("node {}", n.hostname),
                        &n.hostname,
                        None,
                        format!("availability {}", n.availability),
                    ));
                }
            }
            Condition::TaskFailing => {
                for (service, task) in view.state.failing_tasks() {
                    let slot = task
                        .slot
                        .map_or_else(|| task.node_id.clone(), |s| s.to_string());
                    out.push(hit(
                        format!("service {} slot {slot}", service.name),
                        &service.name,
                        task.since,
                        format!("task {}: {}", task.state, task.error),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

fn conflicts(rule: &Rule, fleet: &Fleet, report: &IpamReport, now: DateTime<Utc>) -> Vec<Hit> {
    let pool_conflicts = report.pools.iter().flat_map(|p| p.conflicts.iter());
    let mut out = Vec::new();
    for conflict in pool_conflicts.chain(report.conflicts.iter()) {
        let endpoints = conflict.endpoints();
        let in_scope = endpoints
            .iter()
            .filter_map(|e| fleet.endpoints.get(*e))
            .any(|ep| rule.scope.covers_endpoint(ep));
        if !in_scope {
            continue;
        }
        let text = conflict.to_string();
        out.push(Hit {
            subject: text.clone(),
            kind: SubjectKind::Pool,
            endpoint: endpoints.first().copied(),
            container_id: None,
            container: conflict
                .address()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            value: None,
            exit_code: None,
            // A conflict has no moment of its own; it is current.
            at: Some(now),
            detail: text,
        });
    }
    out
}

fn pool_use(rule: &Rule, fleet: &Fleet, report: &IpamReport) -> Vec<Hit> {
    let Condition::PoolUse { cmp, threshold } = rule.condition else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pool in &report.pools {
        let in_scope = pool.members.iter().any(|m| {
            fleet
                .endpoints
                .get(m.endpoint)
                .is_some_and(|ep| rule.scope.covers_pool_member(ep, &m.network))
        });
        let pct = pool.counts.utilisation() * 100.0;
        if !in_scope || !cmp.holds(pct, threshold) {
            continue;
        }
        let first = pool.members.first();
        let subject = match first {
            Some(m) if !pool.is_shared() => {
                format!("pool {}/{} {}", m.endpoint_name, m.network, pool.subnet)
            }
            _ => format!("pool {} {}", pool.cluster, pool.subnet),
        };
        out.push(Hit {
            subject,
            kind: SubjectKind::Pool,
            endpoint: first.map(|m| m.endpoint),
            container_id: None,
            container: pool.subnet.to_string(),
            value: Some(pct),
            exit_code: None,
            at: None,
            detail: format!(
                "{pct:.1} % taken ({} of {}), {} {threshold}",
                human_count(pool.counts.taken()),
                human_count(pool.counts.range_size),
                cmp.symbol()
            ),
        });
    }
    out
}

fn restart_loops(
    rule: &Rule,
    fleet: &Fleet,
    now: DateTime<Utc>,
    count: usize,
    window: std::time::Duration,
) -> Vec<Hit> {
    // (endpoint, id) → (deaths, newest death, its exit code, name).
    type Deaths = BTreeMap<(EndpointId, String), (usize, i64, Option<i64>, String)>;
    let mut deaths = Deaths::new();
    let log_rule = fleet.events.restart_rule();
    if log_rule.count == count && log_rule.window == window {
        // The event log tracks exactly this rule, beyond its own capacity.
        for l in fleet.events.restart_loops(now) {
            deaths.insert(
                (l.endpoint, l.container_id),
                (l.deaths, l.last_nano, l.last_exit_code, l.container),
            );
        }
    } else {
        let since = (now - delta(window))
            .timestamp_nanos_opt()
            .unwrap_or(i64::MIN);
        let mut destroyed: Vec<(EndpointId, &str)> = Vec::new();
        for ev in fleet.events.iter().rev() {
            if ev.time_nano < since {
                break;
            }
            if ev.kind != "container" {
                continue;
            }
            match ev.verb() {
                "destroy" => destroyed.push((ev.endpoint, &ev.actor_id)),
                "die" if !destroyed.contains(&(ev.endpoint, ev.actor_id.as_str())) => {
                    let entry = deaths.entry((ev.endpoint, ev.actor_id.clone())).or_insert((
                        0,
                        ev.time_nano,
                        ev.exit_code,
                        ev.actor.clone(),
                    ));
                    entry.0 += 1;
                }
                _ => {}
            }
        }
        deaths.retain(|_, d| d.0 >= count);
    }
    let mut out = Vec::new();
    for ((e, id), (n, last, exit, name)) in deaths {
        let Some(ep) = fleet.endpoints.get(e) else {
            continue;
        };
        // The container's name now (a rename since its deaths), else the events'.
        let (in_scope, name) = match ep.containers.get(&id) {
            Some(c) => (rule.scope.covers_container(ep, c), c.name.clone()),
            None => (rule.scope.covers_named(ep, &name), name),
        };
        if !in_scope {
            continue;
        }
        out.push(Hit {
            subject: format!("{}/{name}", ep.name()),
            kind: SubjectKind::Container,
            endpoint: Some(e),
            container_id: Some(id),
            container: name,
            value: Some(n as f64),
            exit_code: exit,
            at: Some(DateTime::from_timestamp_nanos(last)),
            detail: format!("{n} deaths in the window"),
        });
    }
    out
}

fn missing(rule: &Rule, fleet: &Fleet, expect: Option<u32>) -> Vec<Hit> {
    struct Service {
        endpoint: EndpointId,
        in_scope: bool,
        highest: u32,
        running: u32,
    }
    let mut services: BTreeMap<&str, Service> = BTreeMap::new();
    for (e, ep) in fleet.endpoints.iter().enumerate() {
        for c in ep.containers.values() {
            // Kept revisions stand stopped on purpose; they are not replicas.
            if c.name.contains(REVISION_SEPARATOR) || c.state == ContainerState::Removing {
                continue;
            }
            let Some(name) = c
                .labels
                .get(LABEL_GROUP)
                .or_else(|| c.labels.get(LABEL_SERVICE))
            else {
                continue;
            };
            let number = c
                .labels
                .get(LABEL_REPLICA)
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1);
            let s = services.entry(name).or_insert(Service {
                endpoint: e,
                in_scope: false,
                highest: 0,
                running: 0,
            });
            s.in_scope |= rule.scope.covers_container(ep, c);
            s.highest = s.highest.max(number);
            if c.state == ContainerState::Running {
                s.running += 1;
            }
        }
    }
    services
        .into_iter()
        .filter_map(|(name, s)| {
            let expected = expect.unwrap_or(s.highest);
            (s.in_scope && s.running < expected).then(|| Hit {
                subject: format!("service {name}"),
                kind: SubjectKind::Service,
                endpoint: Some(s.endpoint),
                container_id: None,
                container: name.to_string(),
                value: Some(f64::from(s.running)),
                exit_code: None,
                at: None,
                detail: format!("{} of {expected} replicas running", s.running),
            })
        })
        .collect()
}

/// The subjects of rule `rule` that can be neither fired nor resolved now: containers in its
/// scope listed but not inspected yet, for the conditions that read what only inspect says.
/// Whatever state such a subject's alert is in, it keeps until the inspect comes in.
pub(super) fn undecided(rule: &Rule, fleet: &Fleet) -> Vec<String> {
    if !matches!(
        rule.condition,
        Condition::Metric { .. }
            | Condition::ExitedNonZero { .. }
            | Condition::OomKilled
            | Condition::Unhealthy
            | Condition::Restarting
    ) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for ep in &fleet.endpoints {
        for id in &ep.awaiting_details {
            if let Some(c) = ep.containers.get(id)
                && rule.scope.covers_container(ep, c)
            {
                out.push(container_subject(ep.name(), c));
            }
        }
    }
    out
}

/// Conditions on one container's own state or stats.
fn container_state(rule: &Rule, fleet: &Fleet, now: DateTime<Utc>) -> Vec<Hit> {
    let loops = matches!(rule.condition, Condition::Restarting)
        .then(|| fleet.events.restart_loops(now))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (e, ep) in fleet.endpoints.iter().enumerate() {
        let host_cpus = ep
            .info
            .as_ref()
            .map_or(0, |i| u64::try_from(i.cpus).unwrap_or(0));
        for c in ep.containers.values() {
            // Listed but not inspected yet: what these conditions read (exit code, OOM, health
            // output, restart count, CPU limit) has not arrived, so it holds no verdict.
            if !rule.scope.covers_container(ep, c) || !ep.has_details(&c.id) {
                continue;
            }
            let hit = |at, value, exit_code, detail| {
                container_hit(fleet, e, c, at, value, exit_code, detail)
            };
            let exited = matches!(c.state, ContainerState::Exited | ContainerState::Dead);
            match &rule.condition {
                Condition::OomKilled if c.oom_killed => {
                    out.push(hit(c.finished_at, None, c.exit_code, c.status_text(now)))
                }
                Condition::ExitedNonZero { within }
                    if exited
                        && !c.oom_killed
                        && c.exit_code.is_some_and(|code| code != 0)
                        && within
                            .is_none_or(|w| c.finished_at.is_some_and(|t| now - t <= delta(w))) =>
                {
                    out.push(hit(
                        c.finished_at,
                        c.exit_code.map(|x| x as f64),
                        c.exit_code,
                        c.status_text(now),
                    ));
                }
                Condition::Unhealthy
                    if c.health == Health::Unhealthy && c.state == ContainerState::Running =>
                {
                    let why = c.detail.last_health_output.clone().unwrap_or_default();
                    out.push(hit(c.started_at, None, None, why));
                }
                Condition::Restarting
                    if c.state == ContainerState::Restarting
                        && !loops
                            .iter()
                            .any(|l| l.endpoint == e && l.container_id == c.id) =>
                {
                    out.push(hit(
                        c.finished_at,
                        Some(c.restart_count as f64),
                        c.exit_code,
                        format!("{} restarts", c.restart_count),
                    ));
                }
                Condition::Metric {
                    metric,
                    agg,
                    window,
                    cmp,
                    threshold,
                } if c.state == ContainerState::Running => {
                    let Some(history) = fleet.stats.history(e, &c.id) else {
                        continue;
                    };
                    let since = now - delta(*window);
                    let latest = history.latest().map(|s| s.at);
                    let values = history
                        .iter()
                        .filter(|s| {
                            if window.is_zero() {
                                Some(s.at) == latest
                            } else {
                                s.at > since
                            }
                        })
                        .filter_map(|s| metric.value(s, host_cpus, c.detail.cpu_limit_millis));
                    let Some(value) = agg.apply(values) else {
                        continue;
                    };
                    if cmp.holds(value, *threshold) {
                        let how = super::condition::metric_label(*metric, *agg, *window);
                        out.push(hit(
                            latest,
                            Some(value),
                            None,
                            format!("{how} = {value:.1} ({} {threshold})", cmp.symbol()),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}
