//! What else a spec can say of the container, the way `docker run` says it: volumes and bind
//! mounts, further networks, user, working dir, entrypoint, hostname, extra hosts, DNS,
//! capabilities, log driver, stop signal and timeout. Each is checked here for syntax; the
//! gate writes them into the create body as Docker names them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::IpChoice;

/// The `docker run` options beyond image, command, env, ports, network, restart, healthcheck
/// and limits. Empty everywhere is Docker's (or the image's) default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// `SOURCE:TARGET[:ro]` as Docker's `Binds` take it: a named volume (`data:/data`) or an
    /// absolute host path (`/srv/cart:/etc/cart:ro`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `HOST:IP`, as `--add-host` takes it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout_s: Option<i64>,
}

impl RunOptions {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    pub driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A network the container joins besides its first one, as the spec says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraNetwork {
    pub name: String,
    pub ip: IpChoice,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// A network the new container is connected to after it is created, before it starts (the
/// daemons fleetdeck serves take one network at create), as the plan decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttach {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl NetworkAttach {
    /// "backend (10.1.0.5, aliases db, db-main)".
    pub fn describe(&self) -> String {
        let mut extra = Vec::new();
        if let Some(ip) = &self.ipv4 {
            extra.push(ip.clone());
        }
        if !self.aliases.is_empty() {
            extra.push(format!("aliases {}", self.aliases.join(", ")));
        }
        if extra.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, extra.join(", "))
        }
    }
}

static VOLUME_NAME: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
    Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$").expect("the volume name pattern compiles")
});

/// `data:/data`, `/srv/cart:/etc/cart:ro`, `data:/data:rw`.
pub fn check_volume(text: &str) -> Result<(), String> {
    let bad = |why: &str| {
        format!(
            "\"{text}\" {why}; expected SOURCE:TARGET[:ro|:rw] where SOURCE is a volume name \
             or an absolute host path and TARGET an absolute path, e.g. data:/data or \
             /srv/cart:/etc/cart:ro"
        )
    };
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target) = match parts.as_slice() {
        [s, t] => (*s, *t),
        [s, t, "ro" | "rw"] => (*s, *t),
        [_, _, _] => return Err(bad("has a mode other than ro or rw")),
        _ => return Err(bad("is not a volume")),
    };
    if !source.starts_with('/') && !VOLUME_NAME.is_match(source) {
        return Err(bad("names neither a volume nor an absolute path"));
    }
    if !target.starts_with('/') || target.len() < 2 {
        return Err(bad("has a target that is not an absolute path"));
    }
    Ok(())
}

/// `db.local:10.0.0.5`, as `--add-host` takes it.
pub fn check_extra_host(text: &str) -> Result<(), String> {
    let ok = text
        .split_once(':')
        .is_some_and(|(host, ip)| !host.is_empty() && ip.parse::<IpAddr>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!("\"{text}\" is not HOST:IP, e.g. db.local:10.0.0.5"))
    }
}

/// A capability as `--cap-add` takes it: `NET_ADMIN`, `CAP_NET_ADMIN` or `ALL`.
pub fn check_capability(text: &str) -> Result<(), String> {
    static CAP: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
        Regex::new(r"^(?:CAP_)?[A-Z][A-Z_]*$").expect("the capability pattern compiles")
    });
    if CAP.is_match(text) {
        Ok(())
    } else {
        Err(format!(
            "\"{text}\" is not a capability name like NET_ADMIN or SYS_PTRACE (upper case)"
        ))
    }
}

/// A stop signal as Docker takes it: `SIGTERM`, `SIGQUIT`, `15`.
pub fn check_signal(text: &str) -> Result<(), String> {
    crate::signal::parse_signal(text).map(|_| ())
}

/// An absolute path inside the container.
pub fn check_dir(text: &str) -> Result<(), String> {
    if text.starts_with('/') {
        Ok(())
    } else {
        Err(format!("\"{text}\" is not an absolute path like /app"))
    }
}

/// A hostname as Docker accepts it (RFC 1123 labels).
pub fn check_hostname(text: &str) -> Result<(), String> {
    static HOST: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
        Regex::new(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
            .expect("the hostname pattern compiles")
    });
    if text.len() <= 253 && HOST.is_match(text) {
        Ok(())
    } else {
        Err(format!(
            "\"{text}\" is not a hostname: letters, digits and -, in labels separated by dots"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_are_a_name_or_absolute_path_then_an_absolute_target() {
        for ok in ["data:/data", "/srv/x:/x:ro", "my.vol_1:/var/lib/x:rw"] {
            assert_eq!(check_volume(ok), Ok(()), "{ok}");
        }
        for bad in ["data", "data:rel", "./x:/x", "data:/x:rx", "a:b:c:d", ":/x"] {
            assert!(check_volume(bad).is_err(), "{bad}");
        }
        assert!(
            check_volume("data:/x:rx")
                .unwrap_err()
                .contains("a mode other than ro or rw")
        );
    }

    #[test]
    fn the_small_checks_say_what_is_expected() {
        assert_eq!(check_extra_host("db:10.0.0.5"), Ok(()));
        assert!(
            check_extra_host("db=10.0.0.5")
                .unwrap_err()
                .contains("HOST:IP")
        );
        assert_eq!(check_capability("NET_ADMIN"), Ok(()));
        assert!(check_capability("net_admin").is_err());
        assert_eq!(check_dir("/app"), Ok(()));
        assert!(check_dir("app").is_err());
        assert_eq!(check_hostname("cart-1.shop"), Ok(()));
        assert!(check_hostname("-cart").is_err());
        assert_eq!(check_signal("SIGQUIT"), Ok(()));
        assert!(check_signal("SIGNOPE").is_err());
    }

    #[test]
    fn empty_options_serialise_to_nothing_so_old_digests_hold() {
        assert_eq!(serde_json::to_string(&RunOptions::default()).unwrap(), "{}");
        assert!(RunOptions::default().is_empty());
    }
}
