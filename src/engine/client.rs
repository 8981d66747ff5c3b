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

/// An endpoint's client through which only reads can be sent. Clones share the endpoint's
/// connection pool and its negotiated API version.
#[derive(Debug, Clone)]
pub struct ReadOnly {
    docker: Docker,
}

impl ReadOnly {
    /// Keeps only the read half of `docker`.
    pub(crate) fn new(docker: Docker) -> Self {
        Self { docker }
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

    pub async fn inspect_container(
        &self,
        container_name: &str,
        options: Option<InspectContainerOptions>,
    ) -> Result<ContainerInspectResponse, Error> {
        self.docker.inspect_container(container_name, options).await
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
