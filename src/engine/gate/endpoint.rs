//! One endpoint's client, owned rather than looked up: whoever sets up work on an endpoint
//! builds one ([`EndpointClient::new`]: the fleet in `spawn_fleet_on`, a [`Gate`](super::Gate)
//! for a headless command, a one-shot read) and clones it into each task. Clones share one
//! connection pool (for SSH, one ControlMaster) and the API version agreed with the daemon.
//!
//! What a task can do with it: read ([`EndpointClient::connect`] hands out a
//! [`ReadOnly`]) and send raw GETs ([`EndpointClient::raw`]). The full bollard client
//! underneath is reachable from the gate's module only, so the compiler keeps a
//! state-changing request out of every other task; it lives here, under the gate, for that
//! reason alone.
//!
//! ```compile_fail
//! # async fn doc(client: &fleetdeck::engine::EndpointClient) {
//! let _ = client.writer().await; // private to the gate
//! # }
//! ```
//!
//! A client is used on the runtime of the work it was built for: a pooled connection is
//! driven by a task of the runtime that opened it and dies with it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;

use crate::config::EngineSettings;
use crate::engine::client::ReadOnly;
use crate::engine::transport::{self, RawGet};
use crate::engine::{EngineError, deadline};
use crate::model::EndpointSpec;

/// The client of one endpoint. Cheap to clone; building it sends nothing.
#[derive(Clone)]
pub struct EndpointClient {
    inner: Arc<Inner>,
}

struct Inner {
    spec: EndpointSpec,
    timeout: Duration,
    /// Built on first use. A build that fails (an unreadable TLS key, say) is tried again by
    /// the next use, so an endpoint whose files are fixed later comes up by itself.
    built: Mutex<Option<(Docker, RawGet)>>,
}

impl std::fmt::Debug for EndpointClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointClient")
            .field("endpoint", &self.inner.spec.name)
            .finish()
    }
}

impl EndpointClient {
    /// The client of `spec`, whose requests run under `settings.request_timeout`.
    pub fn new(spec: &EndpointSpec, settings: &EngineSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                spec: spec.clone(),
                timeout: settings.request_timeout,
                built: Mutex::new(None),
            }),
        }
    }

    pub fn spec(&self) -> &EndpointSpec {
        &self.inner.spec
    }

    fn built(&self) -> Result<(Docker, RawGet), EngineError> {
        let mut built = self.inner.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(both) = built.as_ref() {
            return Ok(both.clone());
        }
        let both = transport::build(&self.inner.spec, self.inner.timeout.as_secs().max(1))?;
        *built = Some(both.clone());
        Ok(both)
    }

    /// The full client with the API version agreed with the daemon.
    async fn negotiated(&self) -> Result<Docker, EngineError> {
        let (docker, _) = self.built()?;
        deadline(self.inner.timeout, docker.negotiate_version()).await
    }

    /// The read half, with the API version agreed with the daemon: an older daemon (Debian's
    /// 20.10 speaks 1.41) is talked to in its own version, never refused for its age. Also the
    /// reachability check every session starts with (one GET of `/version`).
    pub async fn connect(&self) -> Result<ReadOnly, EngineError> {
        let (_, raw) = self.built()?;
        let docker = self.negotiated().await?;
        Ok(ReadOnly::with_plain_gets(docker, raw))
    }

    /// GETs on the same pool, answered raw (stats polls, liveness probes).
    pub(crate) fn raw(&self) -> Result<RawGet, EngineError> {
        self.built().map(|(_, raw)| raw)
    }

    /// The full client, for the gate's writes: nothing outside the gate's module can call this.
    pub(in crate::engine::gate) async fn writer(&self) -> Result<Docker, EngineError> {
        self.negotiated().await
    }
}
