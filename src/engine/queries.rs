//! One-shot queries for the command line: probe a daemon, sync every endpoint once, find a
//! container by name.

use std::time::{Duration, Instant};

use bollard::models::EventMessage;
use bollard::query_parameters::ListContainersOptions;
use chrono::Utc;
use futures::TryStreamExt;
use tokio::task::JoinSet;

use super::client::ReadOnly;
use super::sync::{self, full_sync};
use super::{EndpointClient, EngineError, agreed_api, convert, deadline, swarm};
use crate::config::{Config, EngineSettings};
use crate::model::EndpointSpec;
use crate::model::{EndpointId, Msg, MsgKind};

/// Finds a container on an endpoint by exact name, else by id prefix.
pub async fn resolve_container(
    client: &EndpointClient,
    settings: &EngineSettings,
    name_or_id: &str,
) -> Result<String, EngineError> {
    let docker = client.connect().await?;
    let all = deadline(
        settings.request_timeout,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    )
    .await?;
    let by_name = all.iter().find(|c| {
        c.names
            .iter()
            .flatten()
            .any(|n| n.trim_start_matches('/') == name_or_id)
    });
    let by_id = || {
        let hits: Vec<_> = all
            .iter()
            .filter(|c| c.id.as_deref().is_some_and(|id| id.starts_with(name_or_id)))
            .collect();
        (hits.len() == 1).then(|| hits[0])
    };
    by_name
        .or_else(by_id)
        .and_then(|c| c.id.clone())
        .ok_or_else(|| EngineError::Docker(format!("no container named \"{name_or_id}\"")))
}

/// What `check` reports about a daemon: it answered, in which versions, how fast.
#[derive(Debug, Clone)]
pub struct Probe {
    pub engine_version: String,
    /// The API version fleetdeck and the daemon agreed on.
    pub api_version: String,
    pub latency: Duration,
}

/// Connects, negotiates and pings once, on a client of its own.
pub async fn probe(spec: &EndpointSpec, settings: &EngineSettings) -> Result<Probe, EngineError> {
    let docker = EndpointClient::new(spec, settings).connect().await?;
    let version = deadline(settings.request_timeout, docker.version()).await?;
    let started = Instant::now();
    deadline(settings.request_timeout, docker.ping()).await?;
    Ok(Probe {
        engine_version: crate::model::text::sanitize_owned(version.version.unwrap_or_default()),
        api_version: agreed_api(&docker),
        latency: started.elapsed(),
    })
}

/// Connects to every endpoint concurrently and syncs each once, as `Msg`s ready for the model,
/// on clients of its own. An endpoint that fails yields a `Down` message with its reason.
pub async fn sync_all_once(config: &Config) -> Vec<Msg> {
    let mut set = JoinSet::new();
    for (id, spec) in config.endpoints.iter().enumerate() {
        let spec = spec.clone();
        let settings = config.engine.clone();
        set.spawn(async move {
            let result = async {
                let docker = EndpointClient::new(&spec, &settings).connect().await?;
                let (sync, daemon_time) = full_sync(&docker, &settings).await?;
                let events = recent_events(&docker, id, &settings, daemon_time).await?;
                // A manager's swarm too, for `snapshot --view nodes|services`; best effort.
                let swarm = match sync.info.is_swarm_manager() {
                    true => swarm::read_state(&docker, settings.request_timeout)
                        .await
                        .ok()
                        .flatten(),
                    false => None,
                };
                Ok::<_, EngineError>((sync, events, swarm))
            }
            .await;
            (id, result)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        let Ok((id, result)) = joined else { continue };
        let at = Utc::now();
        match result {
            Ok((sync, events, swarm)) => {
                out.push(Msg {
                    endpoint: id,
                    at,
                    kind: MsgKind::Synced(Box::new(sync)),
                });
                if let Some(state) = swarm {
                    out.push(Msg {
                        endpoint: id,
                        at,
                        kind: MsgKind::Swarm(Box::new(state)),
                    });
                }
                out.push(Msg {
                    endpoint: id,
                    at,
                    kind: MsgKind::Events(events),
                });
            }
            Err(e) => out.push(Msg {
                endpoint: id,
                at,
                kind: MsgKind::Down {
                    reason: e.to_string(),
                    retry_in: Duration::ZERO,
                },
            }),
        }
    }
    out.sort_by_key(|m| m.endpoint);
    out
}

/// The events of the backfill window up to now, as a closed stream (`until` makes the daemon
/// end it), for one-shot commands.
async fn recent_events(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    daemon_time: Option<String>,
) -> Result<Vec<crate::model::events::FleetEvent>, EngineError> {
    let now = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .unwrap_or_else(Utc::now);
    let back = chrono::TimeDelta::from_std(settings.event_backfill).unwrap_or_default();
    let stream = docker.events(Some(sync::events_options(
        (now - back).timestamp().to_string(),
        Some(now.timestamp().to_string()),
    )));
    let events: Vec<EventMessage> =
        deadline(settings.request_timeout, stream.try_collect()).await?;
    Ok(events
        .iter()
        .filter_map(|e| convert::event(id, e))
        .collect())
}
