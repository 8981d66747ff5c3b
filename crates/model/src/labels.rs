//! The labels fleetdeck writes on the containers it deploys: read by the deploy code (revision
//! history), the IP pools (a service's kept revisions hold its address) and the views. A
//! module of their own, so none of those names another for them.

pub const LABEL_SERVICE: &str = "fleetdeck.deploy.service";
pub const LABEL_REVISION: &str = "fleetdeck.deploy.revision";
pub const LABEL_IMAGE: &str = "fleetdeck.deploy.image";
pub const LABEL_DIGEST: &str = "fleetdeck.deploy.spec-digest";
pub const LABEL_TIME: &str = "fleetdeck.deploy.time";
pub const LABEL_BY: &str = "fleetdeck.deploy.by";
/// The labels each revision gets anew ([`RevisionInfo::labels`]): never carried over from the
/// revision it replaces. (A replica's group and number are, see `replicas`.)
pub const REVISION_LABELS: [&str; 6] = [
    LABEL_SERVICE,
    LABEL_REVISION,
    LABEL_IMAGE,
    LABEL_DIGEST,
    LABEL_TIME,
    LABEL_BY,
];
