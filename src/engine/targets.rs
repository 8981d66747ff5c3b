//! Which containers the headless commands' targets name: `ENDPOINT/NAME` (a name, a glob or an
//! id prefix) and `@CLUSTER/GLOB`, looked up by listing every container (running or not) of the
//! endpoints involved. Read-only requests only; acting on the result is the gate's business.

use bollard::query_parameters::ListContainersOptions;

use super::{EndpointClient, deadline};
use crate::config::Config;
use crate::model::EndpointId;
use crate::model::actions::{Action, ActionRequest, PlanItem, Target, glob_match, is_glob};
use crate::model::text::sanitize_owned;

/// One container a target matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetMatch {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub container_id: String,
    pub container: String,
    /// Docker's state word: running, exited, paused…
    pub state: String,
    pub read_only: bool,
}

impl TargetMatch {
    pub fn request(&self, action: Action) -> ActionRequest {
        ActionRequest {
            endpoint: self.endpoint,
            container_id: self.container_id.clone(),
            container: self.container.clone(),
            action,
        }
    }

    pub fn plan_item(&self) -> PlanItem {
        PlanItem {
            endpoint: self.endpoint_name.clone(),
            container: self.container.clone(),
            state: self.state.clone(),
            read_only: self.read_only,
        }
    }
}

/// A container as the listing showed it.
struct Listed {
    id: String,
    name: String,
    state: String,
}

/// What the targets came to: the containers, each once, in target order; and the endpoints
/// that could not be listed (their containers are unknown, and that is a failure to report).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub matches: Vec<TargetMatch>,
    pub unreachable: Vec<(String, String)>,
}

/// Resolves the targets. `Err` is a mistake in the arguments (an unknown endpoint or cluster, a
/// target that matches nothing on endpoints that answered), reported before anything is done.
pub async fn resolve(config: &Config, targets: &[Target]) -> Result<Resolved, String> {
    // Which endpoints each target covers.
    let mut scopes: Vec<Vec<EndpointId>> = Vec::new();
    for t in targets {
        let ids: Vec<EndpointId> = match t {
            Target::Endpoint { endpoint, .. } => {
                match config.endpoints.iter().position(|e| e.name == *endpoint) {
                    Some(id) => vec![id],
                    None => {
                        let names: Vec<&str> =
                            config.endpoints.iter().map(|e| e.name.as_str()).collect();
                        return Err(format!(
                            "no endpoint \"{endpoint}\"; endpoints: {}",
                            names.join(", ")
                        ));
                    }
                }
            }
            Target::Cluster { cluster, .. } => {
                let ids: Vec<EndpointId> = config
                    .endpoints
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.cluster == *cluster)
                    .map(|(i, _)| i)
                    .collect();
                if ids.is_empty() {
                    return Err(format!(
                        "no cluster \"{cluster}\"; clusters: {}",
                        config.clusters().join(", ")
                    ));
                }
                ids
            }
        };
        scopes.push(ids);
    }

    // List each endpoint involved once, all at the same time.
    let mut involved: Vec<EndpointId> = scopes.iter().flatten().copied().collect();
    involved.sort_unstable();
    involved.dedup();
    let listings = futures::future::join_all(involved.iter().map(|&id| async move {
        let spec = &config.endpoints[id];
        let result = async {
            let docker = EndpointClient::new(spec, &config.engine).connect().await?;
            deadline(
                config.engine.request_timeout,
                docker.list_containers(Some(ListContainersOptions {
                    all: true,
                    ..Default::default()
                })),
            )
            .await
        }
        .await;
        (id, result)
    }))
    .await;

    let mut out = Resolved::default();
    let mut listed: Vec<(EndpointId, Vec<Listed>)> = Vec::new();
    for (id, result) in listings {
        match result {
            Ok(summaries) => {
                let mut rows: Vec<Listed> = summaries
                    .into_iter()
                    .filter_map(|s| {
                        Some(Listed {
                            id: s.id?,
                            name: s
                                .names
                                .unwrap_or_default()
                                .first()
                                .map(|n| n.trim_start_matches('/').to_string())
                                .unwrap_or_default(),
                            state: s.state.map(|st| st.to_string()).unwrap_or_default(),
                        })
                    })
                    .collect();
                rows.sort_by(|a, b| a.name.cmp(&b.name));
                listed.push((id, rows));
            }
            Err(e) => out
                .unreachable
                .push((config.endpoints[id].name.clone(), e.to_string())),
        }
    }

    for (t, ids) in targets.iter().zip(&scopes) {
        let pattern = t.pattern();
        let mut hits = 0;
        let mut all_answered = true;
        for &id in ids {
            let Some((_, rows)) = listed.iter().find(|(l, _)| *l == id) else {
                all_answered = false;
                continue;
            };
            let mut matching: Vec<&Listed> = rows
                .iter()
                .filter(|c| glob_match(pattern, &c.name))
                .collect();
            // An exact name that is no container's may be an id prefix (ENDPOINT/ID only).
            if matching.is_empty() && !is_glob(pattern) && matches!(t, Target::Endpoint { .. }) {
                let by_id: Vec<_> = rows.iter().filter(|c| c.id.starts_with(pattern)).collect();
                if by_id.len() == 1 {
                    matching = by_id;
                }
            }
            for c in matching {
                hits += 1;
                if out
                    .matches
                    .iter()
                    .any(|m| m.endpoint == id && m.container_id == c.id)
                {
                    continue;
                }
                let spec = &config.endpoints[id];
                out.matches.push(TargetMatch {
                    endpoint: id,
                    endpoint_name: spec.name.clone(),
                    container_id: c.id.clone(),
                    container: sanitize_owned(c.name.clone()),
                    state: c.state.clone(),
                    read_only: spec.read_only,
                });
            }
        }
        if hits == 0 && all_answered {
            let scope = match t {
                Target::Endpoint { endpoint, .. } => format!("on {endpoint}"),
                Target::Cluster { cluster, .. } => format!("in cluster {cluster}"),
            };
            return Err(format!("no container matches \"{pattern}\" {scope}"));
        }
    }
    Ok(out)
}
