//! The processes overlay's data: `docker top` of one container, asked again every
//! [`REFRESH`](crate::model::top::REFRESH) until the overlay closes (the task is aborted). A GET
//! that changes nothing, so it does not go through the gate; it uses its own client, like a
//! log tail, so a slow answer holds up nothing else.

use std::time::Duration;

use tokio::sync::mpsc;

use super::client::ReadOnly;
use super::{EndpointClient, deadline, send};
use crate::config::EngineSettings;
use crate::model::top::ProcessTable;
use crate::model::{EndpointId, MsgKind};

pub struct TopRequest {
    pub watch: u64,
    pub endpoint: EndpointId,
    pub client: EndpointClient,
    pub container_id: String,
}

pub async fn watch(
    req: TopRequest,
    settings: EngineSettings,
    every: Duration,
    tx: mpsc::Sender<crate::model::Msg>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut client: Option<ReadOnly> = None;
    loop {
        tick.tick().await;
        let table = match top(&req, &settings, &mut client).await {
            Ok(table) => Ok(table),
            Err(e) => {
                // Connect again next time: the daemon may have gone and come back.
                client = None;
                Err(e)
            }
        };
        let kind = MsgKind::Processes {
            watch: req.watch,
            container_id: req.container_id.clone(),
            table,
        };
        if send(&tx, req.endpoint, kind).await.is_err() {
            return;
        }
    }
}

async fn top(
    req: &TopRequest,
    settings: &EngineSettings,
    client: &mut Option<ReadOnly>,
) -> Result<ProcessTable, String> {
    let docker = match client {
        Some(d) => d,
        None => client.insert(req.client.connect().await.map_err(|e| e.to_string())?),
    };
    let answer = deadline(
        settings.request_timeout,
        docker.top_processes(
            &req.container_id,
            None::<bollard::query_parameters::TopOptions>,
        ),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(ProcessTable::new(
        answer.titles.unwrap_or_default(),
        answer.processes.unwrap_or_default(),
    ))
}
