//! fleetdeck: a terminal cockpit for fleets of Docker daemons.
//!
//! Map of the crate (arrows only ever point this way: frontends → engine/ui → config → model;
//! `model` imports nothing from the crate, and `tests/structure.rs` keeps it so):
//! - [`config`]: the TOML file, Docker contexts and `--host` URLs → validated endpoints and
//!   settings (model types: [`model::EndpointSpec`], [`model::View`]); theme files → plain
//!   values ([`config::theme::ThemeSpec`]) that [`ui`] turns into styles.
//! - [`engine`]: one task per Docker daemon (bollard); connects, syncs, follows events, resyncs,
//!   reconnects forever; reports owned [`model::Msg`]s; moves the bytes of the shell pane's
//!   exec and host shells ([`engine::shell`]). No ratatui here. Its gate
//!   ([`engine::gate`]) is the only way to a state-changing Docker request: read-only
//!   endpoints are refused there, and every attempt is audited. [`engine::deploy`] carries out
//!   deploy and rollback plans step by step through it, and reads a running container back
//!   as a spec ([`engine::deploy::from`], which [`config::deploy::write`] writes as TOML);
//!   [`engine::swarm`] asks Swarm for its own service updates and rollbacks and follows the
//!   tasks.
//! - [`model`]: the fleet as data and the pure logic over it (apply messages, filter, sort;
//!   deploy specs, placement, plans and revision history in [`model::deploy`]); what each
//!   endpoint is ([`model::spec`]) and the names of the views ([`model::view`]).
//! - [`ui`]: widgets that draw the model with the theme; used by the TUI and by `snapshot`.
//! - [`app`]: the interactive loop: owns the model, maps keys to actions, redraws on change.
//! - [`keymap`]: the one table from keys to actions, which also writes the footer hints and the
//!   `?` help; outside the app loop so that `snapshot` draws the same footer without it.
//! - [`headless`]: `check`, `snapshot` and the write commands, for scripts, cron and tests;
//!   never the app loop.
//! - [`export`]: container and endpoint stats to InfluxDB v2, batched from a bounded queue by a
//!   background task the UI never waits on.
//! - [`audit`]: the append-only audit trail of every state-changing request (attempted,
//!   refused, succeeded, failed) and its reader for `fleetdeck audit`.
//! - [`journal`]: the write-ahead record of a deploy or rollback under way, so that one cut
//!   short by a kill can be finished (`deploy --resume`) or undone (`rollback`).
//! - [`cli`]: the command line; [`launch`]: what the `fleetdeck` binary runs (parse it, load
//!   the config, then the dashboard or a headless command).

pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod engine;
pub mod export;
pub mod headless;
pub mod journal;
pub mod keymap;
pub mod launch;
pub use fleetdeck_model as model;
pub mod ui;
