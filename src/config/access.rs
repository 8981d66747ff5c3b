//! Which endpoints fleetdeck may change. `read_only` can be set for the whole fleet, for a
//! cluster and for an endpoint; the most specific setting wins, and `--read-only` / `--write`
//! override them all for one run. The engine's gate enforces the result. The file's top-level
//! `read_only` and its `[cluster.NAME]` tables are validated here.

use std::collections::BTreeMap;

use super::error::ConfigError;
use super::raw::RawCluster;
use crate::model::spec::{DEFAULT_CLUSTER, EndpointSpec};

/// `--read-only` or `--write` on the command line: one answer for every endpoint, this run only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessOverride {
    /// `--read-only`: nothing is changed anywhere, whatever the config says.
    ReadOnly,
    /// `--write`: every endpoint is writable, whatever the config says.
    Write,
}

/// The read-only settings above the endpoints, kept so that endpoints added after the file
/// (`--host`, `--contexts`) are resolved by the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Top-level `read_only`.
    pub global: Option<bool>,
    /// `[cluster.NAME] read_only`.
    pub clusters: BTreeMap<String, bool>,
    /// The command-line override of this run.
    pub flag: Option<AccessOverride>,
}

impl AccessPolicy {
    /// The policy as the config files alone make it, without this run's flag.
    pub fn without_flag(&self) -> Self {
        Self {
            flag: None,
            ..self.clone()
        }
    }

    /// Whether an endpoint of `cluster` with its own setting `endpoint` is read-only.
    pub fn read_only(&self, cluster: &str, endpoint: Option<bool>) -> bool {
        effective_read_only(
            self.global,
            self.clusters.get(cluster).copied(),
            endpoint,
            self.flag,
        )
    }
}

/// The precedence of the read-only settings: the command-line flag beats everything; then the
/// endpoint's own setting, then its cluster's, then the global one; nothing set means writable.
pub fn effective_read_only(
    global: Option<bool>,
    cluster: Option<bool>,
    endpoint: Option<bool>,
    flag: Option<AccessOverride>,
) -> bool {
    match flag {
        Some(AccessOverride::ReadOnly) => true,
        Some(AccessOverride::Write) => false,
        None => endpoint.or(cluster).or(global).unwrap_or(false),
    }
}

/// The global and per-cluster `read_only`. A `[cluster.NAME]` that names no endpoint's cluster
/// is an error: a typo there would silently leave a production cluster writable.
pub(super) fn resolve(
    global: Option<bool>,
    clusters: &BTreeMap<String, toml::Spanned<RawCluster>>,
    endpoints: &[EndpointSpec],
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<AccessPolicy, ConfigError> {
    let mut known: Vec<&str> = Vec::new();
    for ep in endpoints {
        if !known.contains(&ep.cluster.as_str()) {
            known.push(&ep.cluster);
        }
    }
    // Endpoints from --host, --contexts or DOCKER_HOST land in "default".
    if !known.contains(&DEFAULT_CLUSTER) {
        known.push(DEFAULT_CLUSTER);
    }
    let mut policy = AccessPolicy {
        global,
        ..AccessPolicy::default()
    };
    for (name, table) in clusters {
        if !known.contains(&name.as_str()) {
            return Err(invalid(
                table.span().start,
                format!("cluster.{name}"),
                format!(
                    "no endpoint is in cluster \"{name}\"; clusters: {}",
                    known.join(", ")
                ),
            ));
        }
        if let Some(ro) = table.get_ref().read_only {
            policy.clusters.insert(name.clone(), ro);
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::AccessOverride::{ReadOnly, Write};
    use super::*;

    const UNSET: Option<bool> = None;
    const RO: Option<bool> = Some(true);
    const RW: Option<bool> = Some(false);

    #[test]
    fn nothing_set_is_writable() {
        assert!(!effective_read_only(UNSET, UNSET, UNSET, None));
    }

    #[test]
    fn each_level_alone_decides() {
        assert!(effective_read_only(RO, UNSET, UNSET, None));
        assert!(effective_read_only(UNSET, RO, UNSET, None));
        assert!(effective_read_only(UNSET, UNSET, RO, None));
        assert!(!effective_read_only(RW, UNSET, UNSET, None));
    }

    #[test]
    fn the_most_specific_setting_wins() {
        // A writable cluster inside a read-only fleet.
        assert!(!effective_read_only(RO, RW, UNSET, None));
        // A read-only cluster inside a writable fleet.
        assert!(effective_read_only(RW, RO, UNSET, None));
        // An endpoint opened up inside a read-only cluster.
        assert!(!effective_read_only(RO, RO, RW, None));
        // An endpoint locked inside a writable cluster.
        assert!(effective_read_only(RW, RW, RO, None));
        // The endpoint beats the global setting when the cluster says nothing.
        assert!(!effective_read_only(RO, UNSET, RW, None));
        assert!(effective_read_only(RW, UNSET, RO, None));
    }

    #[test]
    fn read_only_flag_locks_everything() {
        for g in [UNSET, RO, RW] {
            for c in [UNSET, RO, RW] {
                for e in [UNSET, RO, RW] {
                    assert!(
                        effective_read_only(g, c, e, Some(ReadOnly)),
                        "{g:?} {c:?} {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn write_flag_opens_everything_for_one_run() {
        for g in [UNSET, RO, RW] {
            for c in [UNSET, RO, RW] {
                for e in [UNSET, RO, RW] {
                    assert!(
                        !effective_read_only(g, c, e, Some(Write)),
                        "{g:?} {c:?} {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_policy_looks_up_the_cluster_by_name() {
        let policy = AccessPolicy {
            global: None,
            clusters: [("prod".to_string(), true)].into(),
            flag: None,
        };
        assert!(policy.read_only("prod", None));
        assert!(!policy.read_only("prod", Some(false)));
        assert!(!policy.read_only("staging", None));
    }
}
