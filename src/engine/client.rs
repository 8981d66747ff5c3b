//! The read-only handle every engine task but the gate talks to a daemon through.
//!
//! [`ReadOnly`] wraps an endpoint's bollard client privately and offers only the requests that
//! change nothing (GETs: inspect, list, info, version, events, logs, top, ping), under the
//! names and signatures bollard gives them, so reading code reads as it would on bollard's
//! `Docker`. It does not deref to `Docker`: a state-changing request cannot be written through
//! it, so a write added to a task that holds one does not compile. Only the gate
//! ([`super::gate`]) keeps a full client, and sends its writes after the read-only check and
//! the audit record; `tests/gate_is_the_only_way.rs` stays as a backstop that scans the
//! sources for bollard's write methods.
//!
//! A read compiles:
//!
//! ```no_run
//! # async fn doc(docker: &fleetdeck::engine::client::ReadOnly) {
//! let _ = docker.inspect_container("web", None).await;
//! # }
//! ```
//!
//! A write through the same handle does not:
//!
//! ```compile_fail
//! # async fn doc(docker: &fleetdeck::engine::client::ReadOnly) {
//! let _ = docker.start_container("web", None).await;
//! # }
//! ```
//!
//! Nor does reaching for the client underneath:
//!
//! ```compile_fail
//! # fn doc(docker: &fleetdeck::engine::client::ReadOnly) {
//! let _: &bollard::Docker = &docker.docker;
//! # }
//! ```

use bollard::container::LogOutput;
use bollard::errors::Error;
use bollard::models::{
    ContainerInspectResponse, ContainerSummary, ContainerTopResponse, EventMessage,
    ExecInspectResponse, ImageInspect, ImageSummary, Network, NetworkInspect, Node, Service,
    SystemInfo, SystemVersion, Task,
};
use bollard::query_parameters::{
    EventsOptions, InspectContainerOptions, InspectNetworkOptions, InspectServiceOptions,
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListNodesOptions,
    ListServicesOptions, ListTasksOptions, LogsOptions, TopOptions,
};
use bollard::{ClientVersion, Docker};
use futures::Stream;

use super::transport::RawGet;

/// An endpoint's client through which only reads can be sent. Clones share the endpoint's
/// connection pool and its negotiated API version.
#[derive(Clone)]
pub struct ReadOnly {
    docker: Docker,
    /// Unix and plain TCP endpoints: the plain-socket GETs the stats polls use, for the
    /// inspects too (see [`ReadOnly::inspect_container`]).
    plain: Option<RawGet>,
}

impl std::fmt::Debug for ReadOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnly")
            .field("docker", &self.docker)
            .field("plain_gets", &self.plain.is_some())
            .finish()
    }
}

impl ReadOnly {
    /// Keeps only the read half of `docker`.
    pub(crate) fn new(docker: Docker) -> Self {
        Self {
            docker,
            plain: None,
        }
    }

    /// The read half of `docker`, sending inspects as plain-socket GETs on `raw` when the
    /// endpoint has them (unix, TCP without TLS).
    pub(crate) fn with_plain_gets(docker: Docker, raw: RawGet) -> Self {
        Self {
            docker,
            plain: raw.is_plain().then_some(raw),
        }
    }

    /// The API version agreed with the daemon (bollard's default until negotiated).
    pub fn client_version(&self) -> ClientVersion {
        self.docker.client_version()
    }

    /// Asks the daemon for its API version (a GET of `/version`) and talks down to it when it
    /// is older, for every clone of this client.
    pub async fn negotiate_version(self) -> Result<Self, Error> {
        Ok(Self::new(self.docker.negotiate_version().await?))
    }

    pub async fn ping(&self) -> Result<String, Error> {
        self.docker.ping().await
    }

    pub async fn version(&self) -> Result<SystemVersion, Error> {
        self.docker.version().await
    }

    pub async fn info(&self) -> Result<SystemInfo, Error> {
        self.docker.info().await
    }

    pub fn events(
        &self,
        options: Option<EventsOptions>,
    ) -> impl Stream<Item = Result<EventMessage, Error>> + use<> {
        self.docker.events(options)
    }

    pub async fn list_containers(
        &self,
        options: Option<ListContainersOptions>,
    ) -> Result<Vec<ContainerSummary>, Error> {
        self.docker.list_containers(options).await
    }

    /// On a unix or plain TCP endpoint a plain inspect goes out on the plain sockets the
    /// stats polls use, decoded into bollard's model as bollard decodes it. Through the
    /// endpoint's hyper pool every inspect in flight is a hyper connection (a dispatch task and
    /// channel and its buffers, about 25 KB), kept idle for the pool's 30 s: a sync's inspects
    /// (8 in flight per endpoint) left 40 endpoints holding 600 of them, 12 of the 28 MB of
    /// heap at the peak of a 1,000-container start-up (heaptrack, BENCHMARKS.md). A plain
    /// socket holds its answer only while it reads it.
    pub async fn inspect_container(
        &self,
        container_name: &str,
        options: Option<InspectContainerOptions>,
    ) -> Result<ContainerInspectResponse, Error> {
        match &self.plain {
            Some(raw) if options.is_none() && plain_path_segment(container_name) => {
                self.plain_get(raw, &format!("/containers/{container_name}/json"))
                    .await
            }
            _ => self.docker.inspect_container(container_name, options).await,
        }
    }

    /// `GET /vX.Y{path}` on the plain sockets, answered as bollard answers: the decoded body,
    /// or the daemon's status and message.
    async fn plain_get<T: serde::de::DeserializeOwned>(
        &self,
        raw: &RawGet,
        path: &str,
    ) -> Result<T, Error> {
        let api = super::api_text(&self.docker.client_version());
        let (status, body) = raw.document(&format!("/v{api}{path}")).await?;
        if !(200..300).contains(&status) {
            return Err(Error::DockerResponseServerError {
                status_code: status,
                message: daemon_message(&body),
            });
        }
        Ok(serde_json::from_slice(&body)?)
    }

    pub async fn top_processes(
        &self,
        container_name: &str,
        options: Option<TopOptions>,
    ) -> Result<ContainerTopResponse, Error> {
        self.docker.top_processes(container_name, options).await
    }

    pub fn logs(
        &self,
        container_name: &str,
        options: Option<LogsOptions>,
    ) -> impl Stream<Item = Result<LogOutput, Error>> + use<> {
        self.docker.logs(container_name, options)
    }

    /// A Swarm service's logs, every task's merged (on a manager).
    pub fn service_logs<'a>(
        &'a self,
        service_id: &'a str,
        options: Option<LogsOptions>,
    ) -> impl Stream<Item = Result<LogOutput, Error>> + 'a {
        self.docker.service_logs(service_id, options)
    }

    /// An exec's state and exit code (the exec itself is created and started by the gate).
    pub async fn inspect_exec(&self, exec_id: &str) -> Result<ExecInspectResponse, Error> {
        self.docker.inspect_exec(exec_id).await
    }

    pub async fn list_images(
        &self,
        options: Option<impl Into<ListImagesOptions>>,
    ) -> Result<Vec<ImageSummary>, Error> {
        self.docker.list_images(options).await
    }

    pub async fn inspect_image(&self, image_name: &str) -> Result<ImageInspect, Error> {
        self.docker.inspect_image(image_name).await
    }

    pub async fn list_networks(
        &self,
        options: Option<ListNetworksOptions>,
    ) -> Result<Vec<Network>, Error> {
        self.docker.list_networks(options).await
    }

    pub async fn inspect_network(
        &self,
        network_name: &str,
        options: Option<InspectNetworkOptions>,
    ) -> Result<NetworkInspect, Error> {
        self.docker.inspect_network(network_name, options).await
    }

    pub async fn list_nodes(&self, options: Option<ListNodesOptions>) -> Result<Vec<Node>, Error> {
        self.docker.list_nodes(options).await
    }

    /// A Swarm node (on a manager).
    pub async fn inspect_node(&self, node_name: &str) -> Result<Node, Error> {
        self.docker.inspect_node(node_name).await
    }

    pub async fn list_services(
        &self,
        options: Option<ListServicesOptions>,
    ) -> Result<Vec<Service>, Error> {
        self.docker.list_services(options).await
    }

    pub async fn inspect_service(
        &self,
        service_name: &str,
        options: Option<InspectServiceOptions>,
    ) -> Result<Service, Error> {
        self.docker.inspect_service(service_name, options).await
    }

    pub async fn list_tasks(&self, options: Option<ListTasksOptions>) -> Result<Vec<Task>, Error> {
        self.docker.list_tasks(options).await
    }
}

/// Whether `name` can go into a request path as it is: a container's ID or name, which the
/// daemon allows only `[a-zA-Z0-9][a-zA-Z0-9_.-]` in. Anything else goes through bollard.
fn plain_path_segment(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(super::transport::unreserved)
}

/// What bollard makes of an error answer's body: the daemon's `message`, else the body as
/// text.
fn daemon_message(body: &[u8]) -> String {
    super::transport::daemon_said(body)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_and_names_the_daemon_allows_go_into_a_plain_path() {
        for ok in ["0123abcd", "web-1", "my_app.v2"] {
            assert!(plain_path_segment(ok), "{ok}");
        }
        for bad in ["", "a/b", "a b", "a?b", "a%2f", "é"] {
            assert!(!plain_path_segment(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_error_answer_says_the_daemons_message_as_bollard_does() {
        assert_eq!(
            daemon_message(br#"{"message":"No such container: x"}"#),
            "No such container: x"
        );
        assert_eq!(daemon_message(b"page not found"), "page not found");
    }
}
