//! Integration tests against real Docker daemons from the project's lab (`scripts/lab.sh up`).
//! One binary, one lab for the whole run. lab1 is reached over its unix socket, lab2 and lab3
//! over TCP; lab4 is the daemon the chaos test kills and restarts, so no other test uses it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "lab/support.rs"]
mod support;

#[path = "lab/actions.rs"]
mod actions;
#[path = "lab/alerts_check.rs"]
mod alerts_check;
#[path = "lab/alerts_watch.rs"]
mod alerts_watch;
#[path = "lab/audit.rs"]
mod audit;
#[path = "lab/busy_socket.rs"]
mod busy_socket;
#[path = "lab/chaos.rs"]
mod chaos;
#[path = "lab/compose.rs"]
mod compose;
#[path = "lab/crash_safe.rs"]
mod crash_safe;
#[path = "lab/deploy.rs"]
mod deploy;
#[path = "lab/events.rs"]
mod events;
#[path = "lab/fleet_sync.rs"]
mod fleet_sync;
#[path = "lab/headless_cli.rs"]
mod headless_cli;
#[path = "lab/inspect.rs"]
mod inspect;
#[path = "lab/lan_pools.rs"]
mod lan_pools;
#[path = "lab/logs.rs"]
mod logs;
#[path = "lab/partition.rs"]
mod partition;
#[path = "lab/placement.rs"]
mod placement;
#[path = "lab/polls.rs"]
mod polls;
#[path = "lab/pools.rs"]
mod pools;
#[path = "lab/read_only.rs"]
mod read_only;
#[path = "lab/remote.rs"]
mod remote;
#[path = "lab/replicas.rs"]
mod replicas;
#[path = "lab/shell.rs"]
mod shell;
#[path = "lab/spec_keys.rs"]
mod spec_keys;
#[path = "lab/stats.rs"]
mod stats;
#[path = "lab/swarm.rs"]
mod swarm;
#[path = "lab/swarm_views.rs"]
mod swarm_views;
#[path = "lab/sync_phases.rs"]
mod sync_phases;
#[path = "lab/top.rs"]
mod top;
#[path = "lab/webhook.rs"]
mod webhook;
