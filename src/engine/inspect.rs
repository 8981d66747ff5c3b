//! The inspect overlay's data: `docker inspect` of one container, asked once when the overlay
//! opens. A GET that changes nothing, so it does not go through the gate; it uses its own
//! client, like `docker top`, so a slow answer holds up nothing else.

use bollard::query_parameters::InspectContainerOptions;
use tokio::sync::mpsc;

use super::{EndpointClient, deadline, send};
use crate::config::EngineSettings;
use crate::model::inspect::InspectDoc;
use crate::model::{EndpointId, MsgKind};

pub struct InspectRequest {
    pub request: u64,
    pub endpoint: EndpointId,
    pub client: EndpointClient,
    pub container_id: String,
}

pub async fn inspect_once(
    req: InspectRequest,
    settings: EngineSettings,
    tx: mpsc::Sender<crate::model::Msg>,
) {
    let doc = inspect(&req, &settings).await;
    let kind = MsgKind::Inspect {
        request: req.request,
        container_id: req.container_id,
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
    let answer = deadline(
        settings.request_timeout,
        docker.inspect_container(&req.container_id, None::<InspectContainerOptions>),
    )
    .await
    .map_err(|e| e.to_string())?;
    let doc = serde_json::to_value(&answer).map_err(|e| e.to_string())?;
    // Pretty-printing and masking a large document is done here, off the UI task.
    Ok(Box::new(InspectDoc::new(doc)))
}
