//! The inspect overlay's data: `docker inspect` of one container (or the endpoint's `docker
//! info` and `docker version`, a network, a Swarm node or service), asked once when the
//! overlay opens. GETs that change nothing, sent through the endpoint's read-only client, so
//! not through the gate; each request has a client of its own, like `docker top`, so a slow
//! answer holds up nothing else.

use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, InspectServiceOptions,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::client::ReadOnly;
use super::{EndpointClient, EngineError, deadline, send};
use crate::config::EngineSettings;
use crate::model::inspect::{InspectDoc, InspectTarget};
use crate::model::{EndpointId, MsgKind};

pub struct InspectRequest {
    pub request: u64,
    pub endpoint: EndpointId,
    pub client: EndpointClient,
    pub target: InspectTarget,
}

pub async fn inspect_once(
    req: InspectRequest,
    settings: EngineSettings,
    tx: mpsc::Sender<crate::model::Msg>,
) {
    let doc = inspect(&req, &settings).await;
    let kind = MsgKind::Inspect {
        request: req.request,
        target: req.target,
        doc,
    };
    // The UI may be gone; then nobody waits for the answer.
    let _ = send(&tx, req.endpoint, kind).await;
}

async fn inspect(
    req: &InspectRequest,
    settings: &EngineSettings,
) -> Result<Box<InspectDoc>, String> {
    let docker = req.client.connect().await.map_err(|e| e.to_string())?;
    let doc = answer(&docker, &req.target, settings)
        .await
        .map_err(|e| e.to_string())?;
    // Pretty-printing and masking a large document is done here, off the UI task.
    Ok(Box::new(InspectDoc::new(doc)))
}

/// The daemon's answer for `target` as JSON, as `docker inspect` (or `docker info` and
/// `docker version`, one section each) would print it.
async fn answer(
    docker: &ReadOnly,
    target: &InspectTarget,
    settings: &EngineSettings,
) -> Result<Value, EngineError> {
    let limit = settings.request_timeout;
    match target {
        InspectTarget::Container(id) => to_json(
            deadline(
                limit,
                docker.inspect_container(id, None::<InspectContainerOptions>),
            )
            .await?,
        ),
        InspectTarget::Endpoint => {
            let (info, version) = futures::try_join!(
                deadline(limit, docker.info()),
                deadline(limit, docker.version())
            )?;
            Ok(serde_json::json!({
                "Info": to_json(info)?,
                "Version": to_json(version)?,
            }))
        }
        InspectTarget::Network(id) => to_json(
            deadline(
                limit,
                docker.inspect_network(id, None::<InspectNetworkOptions>),
            )
            .await?,
        ),
        InspectTarget::Node(id) => to_json(deadline(limit, docker.inspect_node(id)).await?),
        InspectTarget::Service(id) => to_json(
            deadline(
                limit,
                docker.inspect_service(id, None::<InspectServiceOptions>),
            )
            .await?,
        ),
    }
}

fn to_json(answer: impl serde::Serialize) -> Result<Value, EngineError> {
    serde_json::to_value(answer).map_err(|e| EngineError::Docker(e.to_string()))
}
