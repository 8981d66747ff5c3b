//! Deploys as data: the spec of a service ([`DeploySpec`]), the checks a spec must pass on the
//! host it goes to (image reference, network, fixed or next free IP, port clashes), where it
//! goes ([`placement`]), the [`DeployPlan`] shown before anything happens, and the revision
//! history kept in container labels ([`revision`]). Pure: the engine carries plans out through
//! its gate; the headless commands and the TUI form only call what is here.

pub mod carry;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod form;
pub mod placement;
mod plan;
pub mod replicas;
pub mod revision;
pub mod run;
mod spec;

pub use placement::{DeployTarget, Placement, place};
pub use plan::{
    BaseConfig, CreateSpec, DeployKind, DeployPlan, Deployer, check_address, check_network,
    image_on, plan, port_clashes,
};
pub use revision::{KeptRevision, RevisionInfo};
pub use run::{ExtraNetwork, LogOptions, NetworkAttach, RunOptions};
pub use spec::{
    DeploySpec, Healthcheck, IpChoice, PortSpec, RestartPolicy, SpecProblem, check_image,
    check_name, normalise_image, parse_ip, parse_memory, parse_port, spec_digest,
};

/// What a deploy waits for a new container to be running (and healthy) when the spec does not say.
pub const DEFAULT_WAIT_S: u64 = 60;
/// Stopped revisions kept per service when the config does not say.
pub const DEFAULT_KEEP_REVISIONS: usize = 3;
