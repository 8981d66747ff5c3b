//! `fleetdeck service ls ENDPOINT`, `service ps ENDPOINT/SERVICE`, `service update
//! ENDPOINT/SERVICE --image IMAGE`, `service rollback ENDPOINT/SERVICE`: Swarm services on a
//! manager endpoint. Updates and rollbacks are Swarm's own (rolling update, `PreviousSpec`),
//! asked for through the gate and followed from the task states. Exit 0 done, 1 failed,
//! paused, refused or not done in time, 2 bad arguments.

use std::io::Write;
use std::time::Duration;

use tokio::sync::mpsc;

use super::actions::{Confirm, EXIT_FAILED, confirmed};
use super::{EXIT_CONFIG, EXIT_OK};
use crate::config::Config;
use crate::engine::gate::Gate;
use crate::engine::swarm::{self, ServiceResult};
use crate::model::EndpointId;

/// What `fleetdeck service …` asked for.
#[derive(Debug, Clone)]
pub struct ServiceArgs {
    pub command: ServiceCommand,
    /// Skip the confirmation.
    pub yes: bool,
    /// How long an update or rollback is followed.
    pub wait: Duration,
}

#[derive(Debug, Clone)]
pub enum ServiceCommand {
    Ls { endpoint: String },
    Ps { target: String },
    Update { target: String, image: String },
    Rollback { target: String },
}

fn endpoint_id(config: &Config, name: &str) -> Result<EndpointId, String> {
    config
        .endpoints
        .iter()
        .position(|e| e.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
            format!("no endpoint \"{name}\"; endpoints: {}", names.join(", "))
        })
}

fn split(target: &str) -> Result<(&str, &str), String> {
    target
        .split_once('/')
        .filter(|(e, s)| !e.is_empty() && !s.is_empty() && !s.contains('/'))
        .ok_or_else(|| format!("\"{target}\": expected ENDPOINT/SERVICE"))
}

pub async fn run(
    config: &Config,
    gate: &Gate,
    args: &ServiceArgs,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let (cmd, yes, wait) = (&args.command, args.yes, args.wait);
    let (endpoint, service) = match cmd {
        ServiceCommand::Ls { endpoint } => (endpoint.as_str(), None),
        ServiceCommand::Ps { target }
        | ServiceCommand::Update { target, .. }
        | ServiceCommand::Rollback { target } => match split(target) {
            Ok((e, s)) => (e, Some(s)),
            Err(e) => {
                writeln!(err, "fleetdeck: {e}")?;
                return Ok(EXIT_CONFIG);
            }
        },
    };
    let id = match endpoint_id(config, endpoint) {
        Ok(id) => id,
        Err(e) => {
            writeln!(err, "fleetdeck: {e}")?;
            return Ok(EXIT_CONFIG);
        }
    };
    let Some(service) = service else {
        return match swarm::services(gate, id).await {
            Ok(rows) => {
                writeln!(
                    out,
                    "{:<24} {:<14} {:<18} {:<32} UPDATE",
                    "NAME", "ID", "MODE", "IMAGE"
                )?;
                for r in rows {
                    writeln!(
                        out,
                        "{:<24} {:<14} {:<18} {:<32} {}",
                        r.name,
                        &r.id[..r.id.len().min(12)],
                        r.mode,
                        r.image,
                        r.update_state
                    )?;
                }
                Ok(EXIT_OK)
            }
            Err(e) => {
                writeln!(err, "fleetdeck: {endpoint}: {e}")?;
                Ok(EXIT_FAILED)
            }
        };
    };
    let current = match swarm::service(gate, id, service).await {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "fleetdeck: {endpoint}/{service}: {e}")?;
            return Ok(EXIT_FAILED);
        }
    };
    let image = match cmd {
        ServiceCommand::Ps { .. } => {
            return match swarm::tasks(gate, id, &current.id).await {
                Ok(tasks) => {
                    for t in tasks {
                        writeln!(out, "{}", t.line(&current.name))?;
                    }
                    Ok(EXIT_OK)
                }
                Err(e) => {
                    writeln!(err, "fleetdeck: {endpoint}/{service}: {e}")?;
                    Ok(EXIT_FAILED)
                }
            };
        }
        ServiceCommand::Update { image, .. } => {
            if let Err(e) = crate::model::deploy::check_image(image) {
                writeln!(err, "fleetdeck: --image: {e}")?;
                return Ok(EXIT_CONFIG);
            }
            writeln!(
                out,
                "update service {endpoint}/{} ({}) from {} to {image}, Swarm's rolling update",
                current.name, current.mode, current.image
            )?;
            Some(image.as_str())
        }
        _ => {
            writeln!(
                out,
                "roll back service {endpoint}/{} ({}) from {} to its previous spec (Swarm's rollback)",
                current.name, current.mode, current.image
            )?;
            None
        }
    };
    out.flush()?;
    if let Some(code) = confirmed(true, yes, confirm, err) {
        return Ok(code);
    }
    let (tx, mut rx) = mpsc::channel::<String>(1024);
    let prefix = format!("{endpoint}/{}", current.name);
    let progress = move |line: String| {
        let _ = tx.try_send(format!("{prefix}: {line}"));
    };
    let work = swarm::change(gate, id, &current, image, wait, &progress);
    let result = super::deploy::carry_out(work, out, &mut rx).await?;
    match result {
        ServiceResult::Done { image } => {
            writeln!(out, "done: {endpoint}/{} runs {image}", current.name)?;
            Ok(EXIT_OK)
        }
        ServiceResult::Converged { what } => {
            writeln!(out, "done: {what}")?;
            Ok(EXIT_OK)
        }
        ServiceResult::Stopped { reason } | ServiceResult::Failed { reason } => {
            writeln!(out, "FAILED: {reason}")?;
            writeln!(err, "fleetdeck: {endpoint}/{}: {reason}", current.name)?;
            Ok(EXIT_FAILED)
        }
        ServiceResult::Refused { reason } => {
            writeln!(out, "REFUSED: {reason}")?;
            writeln!(err, "fleetdeck: refused: {reason}")?;
            Ok(EXIT_FAILED)
        }
    }
}
