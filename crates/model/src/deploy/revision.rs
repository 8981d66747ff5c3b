//! The revision history of a deployed service, kept where every operator sees it: in the
//! labels of its containers. The live container is called `NAME`; each kept (stopped) earlier
//! revision is called `NAME--rN` and carries its own labels: service, revision, image, spec
//! digest, time, who.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{Container, ContainerState, Endpoint, EndpointId, Fleet};

pub use crate::labels::{
    LABEL_BY, LABEL_DIGEST, LABEL_IMAGE, LABEL_REVISION, LABEL_SERVICE, LABEL_TIME, REVISION_LABELS,
};
/// Between the service name and the revision in a kept container's name.
pub const REVISION_SEPARATOR: &str = "--r";

/// What a revision's labels say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    pub service: String,
    pub revision: u32,
    pub image: String,
    pub spec_digest: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

impl RevisionInfo {
    pub fn labels(&self) -> BTreeMap<String, String> {
        [
            (LABEL_SERVICE, self.service.clone()),
            (LABEL_REVISION, self.revision.to_string()),
            (LABEL_IMAGE, self.image.clone()),
            (LABEL_DIGEST, self.spec_digest.clone()),
            (
                LABEL_TIME,
                self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            (LABEL_BY, self.by.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// The name a kept revision is given: `cart--r4`.
pub fn kept_name(service: &str, revision: u32) -> String {
    format!("{service}{REVISION_SEPARATOR}{revision}")
}

/// The service a kept revision's name is of: `cart--r4` → `cart`.
pub fn service_of_kept(name: &str) -> Option<&str> {
    let (service, n) = name.rsplit_once(REVISION_SEPARATOR)?;
    (!service.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then_some(service)
}

/// The revision a container carries in its labels, when fleetdeck deployed it.
pub fn revision_of(c: &Container) -> Option<u32> {
    c.labels.get(LABEL_REVISION)?.parse().ok()
}

/// A stopped earlier revision of a service, ready to be rolled back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRevision {
    pub id: String,
    pub name: String,
    pub revision: u32,
    pub image: String,
    pub at: Option<String>,
    pub by: Option<String>,
    /// Running though renamed aside: a deploy or rollback was cut short between its rename
    /// and its stop. Never so in [`kept_revisions`].
    pub running: bool,
}

/// The kept revisions of `service` on a host, newest first: stopped containers labelled as
/// that service, under another name than the service's own.
pub fn kept_revisions(ep: &Endpoint, service: &str) -> Vec<KeptRevision> {
    let mut out: Vec<KeptRevision> = ep
        .containers
        .values()
        .filter(|c| {
            c.name != service
                && c.labels.get(LABEL_SERVICE).map(String::as_str) == Some(service)
                && !is_running(c.state)
        })
        .filter_map(set_aside)
        .collect();
    out.sort_by_key(|k| std::cmp::Reverse(k.revision));
    out
}

/// A container labelled as a revision of a service, as a revision to go back to.
fn set_aside(c: &Container) -> Option<KeptRevision> {
    Some(KeptRevision {
        id: c.id.clone(),
        name: c.name.clone(),
        revision: revision_of(c)?,
        image: c
            .labels
            .get(LABEL_IMAGE)
            .cloned()
            .unwrap_or_else(|| c.image.clone()),
        at: c.labels.get(LABEL_TIME).cloned(),
        by: c.labels.get(LABEL_BY).cloned(),
        running: is_running(c.state),
    })
}

fn is_running(state: ContainerState) -> bool {
    matches!(
        state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// The revision under the service's own name when a rollback is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentRevision {
    pub id: String,
    pub revision: u32,
    pub image: String,
    /// Whether it runs now (and so must be stopped first).
    pub running: bool,
}

/// A rollback decided: the live revision steps aside (stopped, renamed to its kept name) and
/// the newest kept one takes the service's name and runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub service: String,
    /// `None` when no container has the service's name: a deploy or rollback was killed
    /// between moving one revision aside and putting another in its place.
    pub current: Option<CurrentRevision>,
    pub target: KeptRevision,
    pub wait_s: u64,
}

impl RollbackPlan {
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![match &self.current {
            Some(c) => format!(
                "roll back {}/{} from revision {} ({}) to revision {} ({})",
                self.endpoint_name,
                self.service,
                c.revision,
                c.image,
                self.target.revision,
                self.target.image
            ),
            None => format!(
                "restore {}/{}: no container has its name; revision {} ({}) takes it again",
                self.endpoint_name, self.service, self.target.revision, self.target.image
            ),
        }];
        if let Some(c) = &self.current {
            out.push(format!(
                "  keeps    {} stopped (the current revision)",
                kept_name(&self.service, c.revision)
            ));
        }
        out.push(format!(
            "  starts   {} as {}{}",
            self.target.name,
            self.service,
            match (&self.target.at, &self.target.by) {
                (Some(at), Some(by)) => format!(" (deployed {at} by {by})"),
                _ => String::new(),
            }
        ));
        out.push(format!("  waits    {} s for it to run", self.wait_s));
        out
    }
}

/// Whether a container has a kept revision to go back to (the TUI's rollback key).
pub fn can_roll_back(ep: &Endpoint, c: &Container) -> bool {
    c.labels.contains_key(LABEL_SERVICE)
        && c.name == c.labels[LABEL_SERVICE]
        && !kept_revisions(ep, &c.name).is_empty()
}

/// Plans `fleetdeck rollback ENDPOINT/NAME`.
pub fn rollback_plan(
    fleet: &Fleet,
    endpoint: &str,
    service: &str,
    wait_s: u64,
) -> Result<RollbackPlan, String> {
    let (id, ep) = fleet.endpoint_by_name(endpoint).ok_or_else(|| {
        let names: Vec<&str> = fleet.endpoints.iter().map(Endpoint::name).collect();
        format!(
            "no endpoint \"{endpoint}\"; endpoints: {}",
            names.join(", ")
        )
    })?;
    if !ep.synced {
        return Err(format!(
            "{endpoint} could not be listed{}",
            ep.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    let current = ep.containers.values().find(|c| c.name == service);
    let target = match current {
        Some(_) => kept_revisions(ep, service).into_iter().next(),
        // Nothing under the service's name: the newest revision set aside takes it back,
        // whether it still runs (cut short before its stop) or not.
        None => newest_set_aside(ep, service),
    };
    let target = target.ok_or_else(|| match current {
        Some(_) => format!("{endpoint}/{service} has no kept revision to roll back to"),
        None => format!(
            "{endpoint} has no container named {service}, and no kept revision of it to restore"
        ),
    })?;
    Ok(RollbackPlan {
        endpoint: id,
        endpoint_name: endpoint.to_string(),
        service: service.to_string(),
        current: current.map(|c| CurrentRevision {
            id: c.id.clone(),
            revision: revision_of(c).unwrap_or(0),
            image: c.image.clone(),
            running: is_running(c.state),
        }),
        target,
        wait_s,
    })
}

/// The newest revision of `service` under another name, running or not.
fn newest_set_aside(ep: &Endpoint, service: &str) -> Option<KeptRevision> {
    ep.containers
        .values()
        .filter(|c| {
            c.name != service
                && c.labels.get(LABEL_SERVICE).map(String::as_str) == Some(service)
                && c.state != ContainerState::Removing
        })
        .filter_map(set_aside)
        .max_by_key(|k| k.revision)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn rollback_goes_to_the_newest_kept_revision() {
        let mut fleet = lab();
        with_history(&mut fleet, "cart", 3, &[1, 2]);
        let p = rollback_plan(&fleet, "lab1", "cart", 30).unwrap();
        assert_eq!(p.target.revision, 2);
        assert_eq!(
            p.lines(),
            vec![
                "roll back lab1/cart from revision 3 (busybox:v3) to revision 2 (busybox:v2)",
                "  keeps    cart--r3 stopped (the current revision)",
                "  starts   cart--r2 as cart (deployed 2026-11-26T12:00:00Z by ops@deck)",
                "  waits    30 s for it to run",
            ]
        );
        let ep = &fleet.endpoints[0];
        assert!(can_roll_back(ep, &ep.containers["live"]));
        assert!(!can_roll_back(ep, &ep.containers["k1"]));
        assert_eq!(
            rollback_plan(&fleet, "lab1", "web-1", 30).unwrap_err(),
            "lab1/web-1 has no kept revision to roll back to"
        );
        assert_eq!(
            rollback_plan(&fleet, "lab1", "nope", 30).unwrap_err(),
            "lab1 has no container named nope, and no kept revision of it to restore"
        );
    }

    #[test]
    fn with_no_container_under_its_name_the_newest_revision_set_aside_is_restored() {
        // A deploy of revision 3 killed after renaming revision 2 aside, before stopping it.
        let mut fleet = lab();
        with_history(&mut fleet, "cart", 2, &[1]);
        let ep = &mut fleet.endpoints[0];
        let live = ep.containers.get_mut("live").unwrap();
        live.name = kept_name("cart", 2);
        let p = rollback_plan(&fleet, "lab1", "cart", 30).unwrap();
        assert_eq!(p.current, None);
        assert_eq!((p.target.revision, p.target.running), (2, true));
        assert_eq!(
            p.lines()[0],
            "restore lab1/cart: no container has its name; revision 2 (busybox:v2) takes it again"
        );
        // And when it was stopped too, the same.
        fleet.endpoints[0].containers.get_mut("live").unwrap().state = ContainerState::Exited;
        let p = rollback_plan(&fleet, "lab1", "cart", 30).unwrap();
        assert_eq!((p.target.revision, p.target.running), (2, false));
    }

    #[test]
    fn kept_names_give_their_service() {
        assert_eq!(service_of_kept("cart--r12"), Some("cart"));
        assert_eq!(service_of_kept("a--rb--r2"), Some("a--rb"));
        assert_eq!(service_of_kept("cart--r"), None);
        assert_eq!(service_of_kept("cart--rx"), None);
        assert_eq!(service_of_kept("--r2"), None);
        assert_eq!(service_of_kept("cart"), None);
    }

    // ------------------------------------- the IP pools and a deployed service's revisions --

    mod kept_revisions_in_the_pools {
        use ipnet::IpNet;

        use crate::deploy::fixtures::{lab, labels_for, on_fleetnet, with_history};
        use crate::ipam::{Conflict, Holding, IpamReport};
        use crate::{Container, ContainerState, Fleet};

        fn ip(s: &str) -> std::net::IpAddr {
            s.parse().unwrap()
        }

        fn duplicates(fleet: &Fleet) -> Vec<String> {
            IpamReport::from_fleet(fleet)
                .pools
                .iter()
                .flat_map(|p| &p.conflicts)
                .filter(|c| matches!(c, Conflict::DuplicateAddress { .. }))
                .map(ToString::to_string)
                .collect()
        }

        fn labelled(
            id: &str,
            name: &str,
            state: ContainerState,
            service: &str,
            revision: u32,
        ) -> Container {
            let mut c = on_fleetnet(id, name, state, "192.168.2.30", true);
            c.labels = labels_for(service, revision, "busybox:v1");
            c
        }

        #[test]
        fn a_service_and_its_kept_revisions_on_one_address_are_one_holder() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[1, 2]);
            assert_eq!(duplicates(&fleet), Vec::<String>::new());
            // The pool still shows every revision holding or claiming the address.
            let report = IpamReport::from_fleet(&fleet);
            let pool = report
                .pools
                .iter()
                .find(|p| p.subnet == "192.168.2.0/24".parse::<IpNet>().unwrap())
                .unwrap();
            let holders: Vec<(&str, Holding, Option<&str>)> = pool
                .allocations()
                .into_iter()
                .filter(|a| a.ip == ip("192.168.2.30"))
                .map(|a| (a.container_name.as_str(), a.holding, a.service.as_deref()))
                .collect();
            assert_eq!(holders.len(), 3, "{holders:?}");
            assert!(holders.contains(&("fdsvc--r2", Holding::Claimed, Some("fdsvc"))));
            assert!(holders.contains(&("fdsvc", Holding::Used, Some("fdsvc"))));
        }

        #[test]
        fn kept_revisions_alone_after_the_live_one_is_lost_are_one_holder() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[1, 2]);
            fleet.endpoints[0].containers.remove("live");
            assert_eq!(duplicates(&fleet), Vec::<String>::new());
        }

        #[test]
        fn two_running_containers_of_one_service_on_one_address_still_conflict() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[2]);
            let twin = labelled("twin", "fdsvc--r2b", ContainerState::Running, "fdsvc", 2);
            fleet.endpoints[0].containers.insert(twin.id.clone(), twin);
            assert_eq!(duplicates(&fleet).len(), 1);
        }

        #[test]
        fn a_kept_revision_of_another_service_on_the_address_still_conflicts() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[]);
            let other = labelled("o1", "cart--r1", ContainerState::Exited, "cart", 1);
            fleet.endpoints[0]
                .containers
                .insert(other.id.clone(), other);
            assert_eq!(
                duplicates(&fleet),
                [
                    "192.168.2.30 is taken 2 times: fdsvc on lab1 (running, static); \
                  cart--r1 on lab1 (exited, static, claimed)"
                ]
            );
        }

        #[test]
        fn the_same_service_on_another_host_of_the_lan_still_conflicts() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[]);
            let elsewhere = labelled("e1", "fdsvc--r1", ContainerState::Exited, "fdsvc", 1);
            fleet.endpoints[1]
                .containers
                .insert(elsewhere.id.clone(), elsewhere);
            assert_eq!(duplicates(&fleet).len(), 1);
        }
    }
}
