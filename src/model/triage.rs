//! What needs attention now, newest first: endpoints down, restart loops, OOM kills, containers
//! that exited non-zero in the last hour, unhealthy and restarting containers. The on-call's
//! first screen; the wall display's alert banner reads the same list.

use chrono::{DateTime, TimeDelta, Utc};

use super::{ContainerState, EndpointId, Fleet, Health, Link};

/// How far back a non-zero exit still counts as news.
pub const RECENT_EXIT: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    EndpointDown,
    IpConflict,
    RestartLoop,
    OomKilled,
    ExitedNonZero,
    Unhealthy,
    Restarting,
}

impl Problem {
    pub fn label(self) -> &'static str {
        match self {
            Problem::EndpointDown => "endpoint down",
            Problem::IpConflict => "IP conflict",
            Problem::RestartLoop => "restart loop",
            Problem::OomKilled => "OOM killed",
            Problem::ExitedNonZero => "exited non-zero",
            Problem::Unhealthy => "unhealthy",
            Problem::Restarting => "restarting",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageItem {
    pub problem: Problem,
    /// When it happened (went down, last death, finished, started).
    pub at: Option<DateTime<Utc>>,
    pub endpoint: EndpointId,
    /// `None` for endpoint-level problems.
    pub container_id: Option<String>,
    pub container: String,
    pub exit_code: Option<i64>,
    pub detail: String,
}

pub fn triage(fleet: &Fleet, now: DateTime<Utc>) -> Vec<TriageItem> {
    let mut items = Vec::new();
    for (i, ep) in fleet.endpoints.iter().enumerate() {
        if let Link::Down { reason, .. } = &ep.link {
            items.push(TriageItem {
                problem: Problem::EndpointDown,
                at: ep.down_since,
                endpoint: i,
                container_id: None,
                container: String::new(),
                exit_code: None,
                detail: reason.clone(),
            });
        }
    }
    let report = super::ipam::IpamReport::from_fleet(fleet);
    let pool_conflicts = report.pools.iter().flat_map(|p| p.conflicts.iter());
    for conflict in pool_conflicts.chain(report.conflicts.iter()) {
        let endpoint = conflict.endpoints().first().copied().unwrap_or(0);
        items.push(TriageItem {
            problem: Problem::IpConflict,
            // A conflict has no moment of its own; it is current.
            at: Some(now),
            endpoint,
            container_id: None,
            container: conflict
                .address()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            exit_code: None,
            detail: conflict.to_string(),
        });
    }
    let loops = fleet.events.restart_loops(now);
    for l in &loops {
        items.push(TriageItem {
            problem: Problem::RestartLoop,
            at: Some(DateTime::from_timestamp_nanos(l.last_nano)),
            endpoint: l.endpoint,
            container_id: Some(l.container_id.clone()),
            container: l.container.clone(),
            exit_code: l.last_exit_code,
            detail: format!("{} deaths in the window", l.deaths),
        });
    }
    for (i, ep) in fleet.endpoints.iter().enumerate() {
        for c in ep.containers.values() {
            let looping = loops
                .iter()
                .any(|l| l.endpoint == i && l.container_id == c.id);
            let item = |problem, at, detail: String| TriageItem {
                problem,
                at,
                endpoint: i,
                container_id: Some(c.id.clone()),
                container: c.name.clone(),
                exit_code: c.exit_code,
                detail,
            };
            let exited = matches!(c.state, ContainerState::Exited | ContainerState::Dead);
            if c.oom_killed {
                items.push(item(Problem::OomKilled, c.finished_at, c.status_text(now)));
            } else if exited
                && c.exit_code.is_some_and(|code| code != 0)
                && c.finished_at.is_some_and(|t| now - t <= RECENT_EXIT)
            {
                items.push(item(
                    Problem::ExitedNonZero,
                    c.finished_at,
                    c.status_text(now),
                ));
            }
            if c.health == Health::Unhealthy && c.state == ContainerState::Running {
                let why = c.detail.last_health_output.clone().unwrap_or_default();
                items.push(item(Problem::Unhealthy, c.started_at, why));
            }
            if c.state == ContainerState::Restarting && !looping {
                items.push(item(
                    Problem::Restarting,
                    c.finished_at,
                    format!("{} restarts", c.restart_count),
                ));
            }
        }
    }
    // Newest first; undated items last; ties by severity then name for a stable screen.
    items.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then(a.problem.cmp(&b.problem))
            .then(a.endpoint.cmp(&b.endpoint))
            .then(a.container.cmp(&b.container))
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EndpointSpec;
    use crate::model::container::fixtures::container;
    use crate::model::{Msg, MsgKind, SyncData};
    use std::time::Duration;

    #[test]
    fn everything_that_needs_attention_is_listed_newest_first() {
        let now = DateTime::from_timestamp(100_000, 0).unwrap();
        let mut f = Fleet::new([
            EndpointSpec::from_url(Some("a"), "tcp://a:1").unwrap(),
            EndpointSpec::from_url(Some("b"), "tcp://b:1").unwrap(),
        ]);
        let mut crashed = container("c1", "crashed", ContainerState::Exited);
        crashed.exit_code = Some(2);
        crashed.finished_at = Some(now - TimeDelta::minutes(5));
        let mut old_crash = container("c2", "old", ContainerState::Exited);
        old_crash.exit_code = Some(2);
        old_crash.finished_at = Some(now - TimeDelta::hours(3));
        let mut clean_exit = container("c3", "done", ContainerState::Exited);
        clean_exit.exit_code = Some(0);
        clean_exit.finished_at = Some(now - TimeDelta::minutes(1));
        let mut oom = container("c4", "hog", ContainerState::Exited);
        oom.exit_code = Some(137);
        oom.oom_killed = true;
        oom.finished_at = Some(now - TimeDelta::minutes(2));
        let mut sick = container("c5", "sick", ContainerState::Running);
        sick.health = Health::Unhealthy;
        sick.started_at = Some(now - TimeDelta::minutes(30));
        f.apply(Msg {
            endpoint: 0,
            at: now,
            kind: MsgKind::Synced(Box::new(SyncData {
                containers: vec![crashed, old_crash, clean_exit, oom, sick],
                ..SyncData::default()
            })),
        });
        f.apply(Msg {
            endpoint: 1,
            at: now - TimeDelta::seconds(10),
            kind: MsgKind::Down {
                reason: "connection refused".into(),
                retry_in: Duration::from_secs(1),
            },
        });
        let items = triage(&f, now);
        let got: Vec<(Problem, &str)> = items
            .iter()
            .map(|i| (i.problem, i.container.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Problem::EndpointDown, ""),
                (Problem::OomKilled, "hog"),
                (Problem::ExitedNonZero, "crashed"),
                (Problem::Unhealthy, "sick"),
            ]
        );
        assert_eq!(items[0].endpoint, 1);
        assert_eq!(items[1].exit_code, Some(137));
    }
    #[test]
    fn a_deployed_service_and_its_kept_revision_on_one_address_are_not_an_ip_conflict() {
        use crate::model::deploy::fixtures::{lab, labels_for, on_fleetnet, with_history};
        let now = DateTime::from_timestamp(100_000, 0).unwrap();
        let mut fleet = lab();
        with_history(&mut fleet, "fdsvc", 2, &[1]);
        let conflicts = |fleet: &Fleet| -> Vec<String> {
            triage(fleet, now)
                .into_iter()
                .filter(|i| i.problem == Problem::IpConflict && i.container == "192.168.2.30")
                .map(|i| i.detail)
                .collect()
        };
        assert_eq!(conflicts(&fleet), Vec::<String>::new());
        // Another service's kept revision on that address is still one.
        let mut other = on_fleetnet(
            "o1",
            "cart--r1",
            ContainerState::Exited,
            "192.168.2.30",
            true,
        );
        other.labels = labels_for("cart", 1, "busybox:v1");
        fleet.endpoints[0]
            .containers
            .insert(other.id.clone(), other);
        assert_eq!(conflicts(&fleet).len(), 1);
    }
}
