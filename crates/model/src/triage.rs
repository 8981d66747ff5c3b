//! What needs attention now: the built-in alert rules (`alerts::defaults`) evaluated once, as
//! the classic list of problems: endpoints down, IP conflicts, restart loops, OOM kills,
//! containers that exited non-zero in the last hour, unhealthy and restarting containers.
//! Critical first, newest first within each. The dashboard's triage view and wall banner read
//! the app's own [`Alerts`](super::alerts::Alerts) (configured rules, acknowledgements,
//! silences); this is the same list for code that has only a fleet.

use chrono::{DateTime, Utc};

use super::alerts::{Alerts, Firing, defaults};
use super::{EndpointId, Fleet};

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

    /// The problem a built-in rule names.
    fn of_rule(name: &str) -> Option<Self> {
        Some(match name {
            "endpoint-down" => Problem::EndpointDown,
            "ip-conflict" => Problem::IpConflict,
            "restart-loop" => Problem::RestartLoop,
            "oom-killed" => Problem::OomKilled,
            "exited-nonzero" => Problem::ExitedNonZero,
            "unhealthy" => Problem::Unhealthy,
            "restarting" => Problem::Restarting,
            _ => return None,
        })
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
    /// The container's name; a conflict's address.
    pub container: String,
    pub exit_code: Option<i64>,
    pub detail: String,
}

impl TriageItem {
    fn of(f: &Firing) -> Option<Self> {
        Some(Self {
            problem: Problem::of_rule(&f.rule)?,
            at: f.at,
            endpoint: f.endpoint.unwrap_or(0),
            container_id: f.container_id.clone(),
            container: f.container.clone(),
            exit_code: f.exit_code,
            detail: f.detail.clone(),
        })
    }
}

pub fn triage(fleet: &Fleet, now: DateTime<Utc>) -> Vec<TriageItem> {
    let mut alerts = Alerts::new(defaults::rules(fleet.events.restart_rule()));
    alerts.evaluate_once(fleet, now);
    alerts
        .firing()
        .into_iter()
        .filter_map(TriageItem::of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointSpec;
    use crate::container::fixtures::container;
    use crate::{ContainerState, Health};
    use crate::{Msg, MsgKind, SyncData};
    use chrono::TimeDelta;
    use std::time::Duration;

    #[test]
    fn everything_that_needs_attention_is_listed_critical_first_then_newest() {
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
                (Problem::Unhealthy, "sick"),
                (Problem::ExitedNonZero, "crashed"),
            ]
        );
        assert_eq!(items[0].endpoint, 1);
        assert_eq!(items[1].exit_code, Some(137));
    }
    #[test]
    fn a_deployed_service_and_its_kept_revision_on_one_address_are_not_an_ip_conflict() {
        use crate::deploy::fixtures::{lab, labels_for, on_fleetnet, with_history};
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
