//! Talking to Docker daemons. One task per endpoint connects, negotiates the API version, syncs,
//! follows the event stream and resyncs periodically, and reports everything as owned
//! [`Msg`]s into one bounded channel. It never gives up on an endpoint: failures become
//! `Down` messages and a capped exponential backoff, cut short by a cheap `/_ping` every 2 s
//! once the daemon answers again. Knows nothing of terminals or ratatui.
//!
//! Every state-changing request goes through [`gate::Gate`] (read-only refusal, audit log);
//! nothing else in the crate may call a state-changing Docker method. Each endpoint has one
//! [`EndpointClient`], built by [`spawn_fleet_on`] and cloned into its tasks; a task reads
//! through the [`client::ReadOnly`] it hands out, and only the gate can reach its full client,
//! so a write elsewhere does not compile.
//!
//! The parts: `session` is one endpoint's connect/sync/follow/reconnect loop, `sync` the full
//! look at a daemon it starts with, `fleet` spawns the per-endpoint tasks and holds them
//! ([`FleetTasks`]), `runtime` the engine's own thread ([`EngineThread`]), and `queries` the
//! one-shot calls of the command line ([`probe`], [`sync_all_once`], [`resolve_container`]).

pub mod client;
mod convert;
pub mod deploy;
mod fleet;
pub mod gate;
pub mod inspect;
pub mod interrupt;
pub mod logs;
pub mod notify;
pub mod pty;
mod queries;
mod retry;
mod runtime;
mod session;
pub mod shell;
mod startup;
pub mod stats;
pub mod swarm;
mod sync;
pub mod targets;
pub mod top;
mod transport;

pub use fleet::{FleetTasks, spawn_fleet, spawn_fleet_on};
pub use gate::EndpointClient;
pub use queries::{Probe, probe, resolve_container, sync_all_once};
pub use retry::Backoff;
pub use runtime::EngineThread;
pub use session::run_endpoint;
pub use sync::full_sync;

use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::model::{EndpointId, Msg, MsgKind};
use client::ReadOnly;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Docker(String),
    /// A request or the liveness check got no answer in time: the daemon is hung, or the path to
    /// it is (a partition drops packets; connections then hang rather than fail).
    #[error("no answer for {} s", .0.as_secs_f64().round())]
    Timeout(Duration),
    #[error("event stream closed by the daemon")]
    StreamClosed,
}

impl From<bollard::errors::Error> for EngineError {
    fn from(e: bollard::errors::Error) -> Self {
        EngineError::Docker(describe(&e))
    }
}

/// The deepest cause of an error: "socket … not found" rather than "client error (Connect)".
fn innermost(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

/// A short reason an operator can act on, not a debug dump.
fn describe(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::SocketNotFoundError(path) => format!("socket {path} not found"),
        E::RequestTimeoutError => "request timed out".into(),
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("daemon answered {status_code}: {}", message.trim()),
        E::HyperLegacyError { err } => innermost(err),
        E::HyperResponseError { err } => innermost(err),
        other => {
            let mut msg = other.to_string();
            let mut src: Option<&dyn std::error::Error> = std::error::Error::source(other);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            msg
        }
    }
}

async fn deadline<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, fut).await {
        // bollard's own per-request timeout (the same limit) says only "request timed out".
        Ok(Err(bollard::errors::Error::RequestTimeoutError)) => Err(EngineError::Timeout(limit)),
        Ok(r) => r.map_err(EngineError::from),
        Err(_) => Err(EngineError::Timeout(limit)),
    }
}

fn agreed_api(docker: &ReadOnly) -> String {
    api_text(&docker.client_version())
}

/// "1.41": the API version a client agreed on, as a request path takes it after `/v`. The
/// plain-socket reads (stats, inspects, the gate's service read) build their paths with it.
fn api_text(v: &bollard::ClientVersion) -> String {
    format!("{}.{}", v.major_version, v.minor_version)
}

struct Closed;

async fn send(tx: &mpsc::Sender<Msg>, endpoint: EndpointId, kind: MsgKind) -> Result<(), Closed> {
    tx.send(Msg {
        endpoint,
        at: Utc::now(),
        kind,
    })
    .await
    .map_err(|_| Closed)
}
