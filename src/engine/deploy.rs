//! Carrying out a [`DeployPlan`](crate::model::deploy::DeployPlan) or a
//! [`RollbackPlan`](crate::model::deploy::revision::RollbackPlan), one step at a time. Every
//! step that changes something is an [`Action`](crate::model::actions::Action) through the
//! [`Gate`](crate::engine::gate::Gate) (read-only refused there, every step in the audit log);
//! this module itself only reads (inspect image, inspect container).
//!
//! An update never leaves the service without a container of its name: the old revision is
//! renamed and stopped, the new one created with the same name and address and started, and
//! if it does not run (and stay running, and become healthy when it has a healthcheck) by the
//! deadline, it is removed and the old one gets its name back and is started again.
//!
//! Crash safety. Before its first change, a deploy or rollback writes its intent to the
//! [`Journal`](crate::journal::Journal) and an operation record to the audit log; each step is
//! marked as done; both are closed when it ends. The first [`Interrupt`] (Ctrl-C, SIGTERM,
//! SIGHUP) stops it from starting new steps and reverses what it did (an unverified new
//! revision is rolled back). A kill leaves the journal record, and [`recover()`] finishes or
//! undoes it from whatever state the daemon is in: it looks at the containers, never trusts
//! the step marks alone.
//!
//! The parts, each importing only those after it: `service` (a service of several replicas,
//! one batch at a time), `new_revision` (a deploy plan carried out), `rollback` (a rollback
//! plan, and the previous revision put back), `recover` (finishing or undoing what the
//! journal holds), `steps` (what every operation shares: the journal and audit records, each
//! change through the gate, the waits), and beside them `carry` (the running revision's
//! settings that an update carries over) and [`from`] (a running container as a spec). This
//! file only names them.

mod carry;
pub mod from;
mod new_revision;
mod recover;
mod rollback;
mod service;
mod steps;

pub use super::interrupt::{Interrupt, Interrupter};
pub use crate::journal::Recovery;
pub use new_revision::{carry_over, deploy};
pub use recover::recover;
pub use rollback::rollback;
pub use service::deploy_service;
pub use steps::{DeployResult, FAILPOINT_ENV, Progress, SETTLE};
