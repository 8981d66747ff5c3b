//! The full sync: one complete look at a daemon (version, info, every container inspected,
//! networks, images), for the one-shot queries; and its two halves, list then inspects, which
//! the session loop sends as they come so the screen shows the rows before the details.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{SystemInfo, SystemVersion};
use bollard::query_parameters::{
    EventsOptions, InspectContainerOptions, ListContainersOptions, ListImagesOptions,
    ListNetworksOptions,
};
use futures::{StreamExt, TryStreamExt};

use super::client::ReadOnly;
use super::{EngineError, agreed_api, convert, deadline, swarm};
use crate::config::EngineSettings;
use crate::model::{Container, DaemonInfo, SyncData};

/// Inspects in flight at once per endpoint during a full sync: enough to load 2,000 containers
/// quickly, few enough not to flood a small daemon.
const INSPECT_CONCURRENCY: usize = 8;

/// Every action a Docker daemon reports, for any type of object (Docker's `docker events`
/// reference, and what moby emits beyond it: `docker cp`'s `archive-path`/`extract-to-dir`,
/// `checkpoint`, `prune`), but a container's `exec_create`/`exec_start`/`exec_detach`/
/// `exec_die`.
///
/// Every healthcheck run is such an exec triple, each event carrying all of the container's
/// labels: on a healthchecked fleet they are most of the stream, and fleetdeck shows and acts on
/// none of them. Asking the daemon for the rest leaves them on the host rather than sending them
/// over the wire (an SSH tunnel, a WAN link) to be decoded and dropped. The daemon matches these
/// as prefixes (`health_status` is among them), so `health_status: healthy` passes; an action a
/// future daemon adds would not, until it is added here, and the test of this list in the lab
/// compares it with everything the daemon reports.
pub const EVENT_ACTIONS: &[&str] = &[
    // containers
    "attach",
    "commit",
    "copy",
    "create",
    "destroy",
    "detach",
    "die",
    "export",
    "health_status",
    "kill",
    "oom",
    "pause",
    "rename",
    "resize",
    "restart",
    "start",
    "stop",
    "top",
    "unpause",
    "update",
    "archive-path",
    "extract-to-dir",
    "checkpoint",
    "prune",
    // images (also create, prune)
    "delete",
    "import",
    "load",
    "pull",
    "push",
    "save",
    "tag",
    "untag",
    // plugins (also remove)
    "enable",
    "disable",
    "install",
    "remove",
    // volumes (also create, destroy, prune)
    "mount",
    "unmount",
    // networks (also create, destroy, remove, update, prune)
    "connect",
    "disconnect",
    // the daemon
    "reload",
    // services, nodes, secrets, configs: create, remove, update
];

/// The events fleetdeck subscribes to from `since` (and up to `until` for a closed stream):
/// every action in [`EVENT_ACTIONS`].
pub(super) fn events_options(since: String, until: Option<String>) -> EventsOptions {
    let actions = EVENT_ACTIONS.iter().map(|a| (*a).to_string()).collect();
    EventsOptions {
        since: Some(since),
        until,
        filters: Some(HashMap::from([("event".to_string(), actions)])),
    }
}

/// One full look at a daemon: version, info, every container inspected, networks, images.
pub async fn full_sync(
    docker: &ReadOnly,
    settings: &EngineSettings,
) -> Result<(SyncData, Option<String>), EngineError> {
    let (mut sync, daemon_time) = list_sync(docker, settings).await?;
    let listed = std::mem::take(&mut sync.containers);
    sync.containers = inspect_all(docker, &listed, settings.request_timeout)
        .try_filter_map(|c| async move { Ok(c.ok()) })
        .try_collect()
        .await?;
    Ok((sync, daemon_time))
}

/// The first half of a sync: version, info, the container list, networks and images: what
/// the screen needs to show every container, without inspecting any. Its containers carry
/// what the list says ([`convert::listed_container`]); [`inspect_all`] brings the rest.
pub async fn list_sync(
    docker: &ReadOnly,
    settings: &EngineSettings,
) -> Result<(SyncData, Option<String>), EngineError> {
    let t = settings.request_timeout;
    // The daemon's clock is read before the list, so every event up to it is in the list.
    let (info, latency, daemon_time) = read_info(docker, t).await?;
    let list = deadline(
        t,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    );
    let (summaries, networks, images) =
        futures::join!(list, list_networks(docker, t), list_images(docker, t));
    let containers = summaries?
        .into_iter()
        .map(convert::listed_container)
        .collect();
    let (networks, images) = (networks?, images?);
    Ok((
        SyncData {
            info,
            containers,
            networks,
            images,
            latency: Some(latency),
            daemon_time: daemon_time.as_deref().and_then(convert::parse_time),
        },
        daemon_time,
    ))
}

/// Inspects every listed container, [`INSPECT_CONCURRENCY`] at a time, yielding each as it
/// comes in: the container, or `Err(id)` for one that vanished since the list.
pub fn inspect_all<'a>(
    docker: &'a ReadOnly,
    listed: &'a [Container],
    t: Duration,
) -> impl futures::Stream<Item = Result<Result<Container, String>, EngineError>> + 'a {
    futures::stream::iter(listed)
        .map(move |c| async move {
            let found = inspect(docker, &c.id, c.list_status.clone(), t).await?;
            Ok::<_, EngineError>(found.ok_or_else(|| c.id.clone()))
        })
        .buffer_unordered(INSPECT_CONCURRENCY)
}

/// What the daemon says about itself (`docker version`, `docker info`), with its Swarm nodes
/// when it is a manager; also the round trip of the first request and the daemon's clock.
pub(super) async fn read_info(
    docker: &ReadOnly,
    t: Duration,
) -> Result<(DaemonInfo, Duration, Option<String>), EngineError> {
    // Both at once: at start-up every round trip to a busy daemon counts.
    let started = Instant::now();
    let timed_version = async {
        let version = deadline(t, docker.version()).await;
        (version, started.elapsed())
    };
    let ((version, latency), info) = futures::join!(timed_version, deadline(t, docker.info()));
    let (version, info) = (version?, info?);
    let daemon_time = info.system_time.clone();
    Ok((
        describe(docker, t, info, version).await,
        latency,
        daemon_time,
    ))
}

/// What the daemon says about itself at a resync: `docker info` (and the Swarm nodes on a
/// manager), with the version fields of the session's first read (`known`). What `info` says
/// can change under a running daemon (engine labels on a reload, the Swarm role, node labels);
/// the version cannot (a restarted daemon ends the session, and the next one reads it again).
/// `docker version` is not free: on Engine 20.10 each call costs the daemon about 9 ms of CPU,
/// two thirds of it a fork and exec of `runc --version` and `docker-init --version`.
pub(super) async fn reread_info(
    docker: &ReadOnly,
    t: Duration,
    known: &DaemonInfo,
) -> Result<DaemonInfo, EngineError> {
    let info = deadline(t, docker.info()).await?;
    let version = SystemVersion {
        version: Some(known.engine_version.clone()),
        api_version: Some(known.server_api_version.clone()),
        ..Default::default()
    };
    Ok(describe(docker, t, info, version).await)
}

/// A daemon's `docker info` and `docker version` as the model keeps them, with its Swarm nodes
/// when it is a manager.
async fn describe(
    docker: &ReadOnly,
    t: Duration,
    info: SystemInfo,
    version: SystemVersion,
) -> DaemonInfo {
    let manager = info.swarm.as_ref().and_then(|s| s.control_available) == Some(true);
    let mut out = convert::daemon_info(info, version, agreed_api(docker));
    if manager {
        out.swarm_nodes = swarm::nodes(docker, t).await;
    }
    out
}

/// `None` when the container vanished between list and inspect.
pub(super) async fn inspect(
    docker: &ReadOnly,
    id: &str,
    list_status: String,
    limit: Duration,
) -> Result<Option<Container>, EngineError> {
    match deadline(
        limit,
        docker.inspect_container(id, None::<InspectContainerOptions>),
    )
    .await
    {
        Ok(c) => Ok(Some(convert::container(c, list_status))),
        Err(EngineError::Docker(msg)) if msg.starts_with("daemon answered 404") => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn list_networks(
    docker: &ReadOnly,
    limit: Duration,
) -> Result<Vec<crate::model::NetworkInfo>, EngineError> {
    let mut nets: Vec<_> = deadline(limit, docker.list_networks(None::<ListNetworksOptions>))
        .await?
        .into_iter()
        .map(convert::network)
        .collect();
    nets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nets)
}

pub(super) async fn list_images(
    docker: &ReadOnly,
    limit: Duration,
) -> Result<Vec<crate::model::ImageInfo>, EngineError> {
    let mut images: Vec<_> = deadline(limit, docker.list_images(None::<ListImagesOptions>))
        .await?
        .into_iter()
        .map(convert::image)
        .collect();
    images.sort_by(|a, b| a.tags.cmp(&b.tags).then(a.id.cmp(&b.id)));
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon matches the `event` filter by prefix once `health_status` is in it: no entry
    /// may be a prefix of an exec action, and every action fleetdeck applies to its model at
    /// once must be there.
    #[test]
    fn the_event_filter_keeps_every_action_fleetdeck_acts_on_and_no_exec() {
        let options = events_options("10".into(), Some("20".into()));
        let filters = options.filters.unwrap_or_default();
        let actions = &filters["event"];
        for exec in [
            "exec_create: sh -c true",
            "exec_start: sh",
            "exec_die",
            "exec_detach",
        ] {
            assert!(
                !actions.iter().any(|a| exec.starts_with(a.as_str())),
                "{exec} would pass the filter"
            );
        }
        for needed in [
            "die",
            "start",
            "stop",
            "kill",
            "oom",
            "health_status",
            "destroy",
            "rename",
            "pause",
            "unpause",
            "create",
            "connect",
            "disconnect",
            "pull",
            "delete",
            "reload",
            "update",
            "remove",
        ] {
            assert!(
                actions.iter().any(|a| a == needed),
                "{needed} is filtered out"
            );
        }
        assert_eq!(options.since.as_deref(), Some("10"));
        assert_eq!(options.until.as_deref(), Some("20"));
    }
}
