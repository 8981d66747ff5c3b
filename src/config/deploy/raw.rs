//! A spec file's TOML as written: serde structs with spans (so an error can name its line),
//! unknown keys refused. `spec` checks them into a
//! [`DeploySpec`](crate::model::deploy::DeploySpec).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpec {
    pub(super) name: Spanned<String>,
    pub(super) image: Spanned<String>,
    pub(super) command: Option<Spanned<RawCommand>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) env_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) ports: Vec<Spanned<String>>,
    pub(super) network: Option<Spanned<String>>,
    pub(super) ip: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) networks: Vec<RawNetwork>,
    pub(super) restart: Option<Spanned<String>>,
    pub(super) healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    pub(super) resources: RawResources,
    #[serde(default)]
    pub(super) volumes: Vec<Spanned<String>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) working_dir: Option<Spanned<String>>,
    pub(super) entrypoint: Option<Spanned<RawCommand>>,
    pub(super) hostname: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) extra_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) dns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) cap_add: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) cap_drop: Vec<Spanned<String>>,
    pub(super) log: Option<RawLog>,
    pub(super) stop_signal: Option<Spanned<String>>,
    pub(super) stop_timeout_s: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) placement: RawPlacement,
    pub(super) wait_s: Option<Spanned<u64>>,
    pub(super) replicas: Option<Spanned<u32>>,
    pub(super) batch: Option<Spanned<u32>>,
}

/// `command = ["sh", "-c", "…"]`, or one string run by `sh -c`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawCommand {
    Shell(String),
    Argv(Vec<String>),
}

/// `[[networks]]`: a further network, its address (`ip`, as for the first) and aliases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub(super) name: Spanned<String>,
    pub(super) ip: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
}

/// `[log]`: Docker's log driver and its options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) driver: Spanned<String>,
    #[serde(default)]
    pub(super) options: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealthcheck {
    pub(super) command: Spanned<String>,
    pub(super) interval_s: Option<u64>,
    pub(super) timeout_s: Option<u64>,
    pub(super) retries: Option<u32>,
    pub(super) start_period_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResources {
    pub(super) cpus: Option<Spanned<f64>>,
    pub(super) memory: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlacement {
    pub(super) endpoint: Option<String>,
    pub(super) cluster: Option<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) constraints: Vec<Spanned<String>>,
    pub(super) strategy: Option<Spanned<String>>,
}
