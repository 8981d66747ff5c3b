//! One Docker daemon as the operator asked for it: its name, where it listens (`DockerUrl`),
//! its TLS files and per-endpoint settings. The config builds these; the engine dials them and
//! the fleet model keeps one per endpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_CLUSTER: &str = "default";
pub const VALID_SCHEMES: &str = "unix, tcp, http, https, ssh";

/// Where a Docker daemon listens, as fleetdeck will dial it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerUrl {
    Unix(PathBuf),
    /// Plain TCP, or TLS when the endpoint carries TLS files.
    Tcp {
        host: String,
        port: u16,
    },
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

impl DockerUrl {
    /// Parses `unix:///path`, `tcp://host[:port]`, `http(s)://host[:port]`, `ssh://[user@]host[:port]`.
    /// The error text is the part after "key: ".
    pub fn parse(url: &str) -> Result<Self, String> {
        check_printable(url, "a URL")?;
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "\"{url}\" is not a URL; expected SCHEME://ADDRESS with scheme one of: {VALID_SCHEMES}"
            ));
        };
        match scheme {
            "unix" => {
                if !rest.starts_with('/') {
                    return Err(format!(
                        "\"{url}\": a unix URL needs an absolute socket path, like unix:///var/run/docker.sock"
                    ));
                }
                Ok(Self::Unix(PathBuf::from(rest)))
            }
            "tcp" | "http" | "https" => {
                let default_port = if scheme == "https" { 2376 } else { 2375 };
                let hostport = rest.trim_end_matches('/');
                let (host, port) = split_host_port(hostport, url)?;
                Ok(Self::Tcp {
                    host,
                    port: port.unwrap_or(default_port),
                })
            }
            "ssh" => {
                let rest = rest.trim_end_matches('/');
                let (user, hostport) = match rest.rsplit_once('@') {
                    Some((user, hostport)) => (Some(user.to_string()), hostport),
                    None => (None, rest),
                };
                let (host, port) = split_host_port(hostport, url)?;
                Ok(Self::Ssh { user, host, port })
            }
            other => Err(format!(
                "unknown scheme \"{other}\" in \"{url}\"; valid schemes: {VALID_SCHEMES}"
            )),
        }
    }

    /// A short, human name for an endpoint given only as a URL (`--host`, `DOCKER_HOST`).
    pub fn derived_name(&self) -> String {
        match self {
            Self::Unix(path) => {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("local");
                let parent = path
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|s| s.to_str());
                match (stem, parent) {
                    // /run/fleetdeck-lab/lab1/docker.sock → lab1; /var/run/docker.sock → local
                    ("docker", Some(dir)) if !matches!(dir, "run" | "var" | "docker") => {
                        dir.to_string()
                    }
                    ("docker", _) => "local".to_string(),
                    (stem, _) => stem.to_string(),
                }
            }
            Self::Tcp { host, .. } | Self::Ssh { host, .. } => host.clone(),
        }
    }
}

/// Names and URLs fleetdeck prints (in `check`, the dashboard, error messages) must be plain
/// printable text: an ESC in an endpoint name would reach the operator's terminal as a command.
/// The error shows the value escaped (`\u{1b}`), never raw.
pub fn check_printable(value: &str, what: &str) -> Result<(), String> {
    match super::text::sanitize(value) {
        std::borrow::Cow::Borrowed(_) => Ok(()),
        std::borrow::Cow::Owned(_) => Err(format!(
            "\"{}\" contains control characters; {what} must be printable text",
            value.escape_debug()
        )),
    }
}

fn split_host_port(hostport: &str, url: &str) -> Result<(String, Option<u16>), String> {
    if hostport.is_empty() {
        return Err(format!("\"{url}\" has no host"));
    }
    // [::1]:2375
    if let Some(rest) = hostport.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("\"{url}\" has an unclosed '[' in its host"));
        };
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p, url)?),
            None if after.is_empty() => None,
            None => return Err(format!("\"{url}\" has junk after the host")),
        };
        return Ok((host.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            Ok((host.to_string(), Some(parse_port(port, url)?)))
        }
        _ => Ok((hostport.to_string(), None)),
    }
}

fn parse_port(port: &str, url: &str) -> Result<u16, String> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("\"{url}\" has an invalid port \"{port}\"; expected 1-65535"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA the daemon's certificate must be signed by (always verified).
    pub ca: PathBuf,
    /// The client certificate and key; a daemon run with `--tlsverify` requires them.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// One Docker daemon fleetdeck watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    pub name: String,
    /// The URL as the operator wrote it, for display.
    pub url_text: String,
    pub url: DockerUrl,
    pub cluster: String,
    pub labels: BTreeMap<String, String>,
    pub tls: Option<TlsFiles>,
    /// `ssh -F FILE` for an `ssh://` endpoint; `None` uses ~/.ssh/config like `ssh` does.
    pub ssh_config: Option<PathBuf>,
    /// This endpoint's stats interval, overriding its cluster's and the global one.
    pub stats_interval: Option<Duration>,
    /// The endpoint's own `read_only`, as written (before the cluster, global and flag rules).
    pub read_only_setting: Option<bool>,
    /// Resolved: fleetdeck must never send this daemon a state-changing request. The engine's
    /// gate refuses them; the UI hides the actions and shows a lock.
    pub read_only: bool,
    /// `host_shell`: the argv a host shell runs for this endpoint, instead of `$SHELL` (unix://)
    /// or `ssh user@host` (ssh://).
    pub host_shell: Option<Vec<String>>,
}

impl EndpointSpec {
    pub fn from_url(name: Option<&str>, url_text: &str) -> Result<Self, String> {
        if let Some(name) = name {
            check_printable(name, "an endpoint name")?;
        }
        let url = DockerUrl::parse(url_text)?;
        let name = name.map_or_else(|| url.derived_name(), str::to_string);
        Ok(Self {
            name,
            url_text: url_text.to_string(),
            url,
            cluster: DEFAULT_CLUSTER.to_string(),
            labels: BTreeMap::new(),
            tls: None,
            ssh_config: None,
            stats_interval: None,
            read_only_setting: None,
            read_only: false,
            host_shell: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_scheme_parse() {
        assert_eq!(
            DockerUrl::parse("unix:///var/run/docker.sock"),
            Ok(DockerUrl::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            DockerUrl::parse("tcp://10.0.0.5:2376"),
            Ok(DockerUrl::Tcp {
                host: "10.0.0.5".into(),
                port: 2376
            })
        );
        assert_eq!(
            DockerUrl::parse("tcp://dockerhost"),
            Ok(DockerUrl::Tcp {
                host: "dockerhost".into(),
                port: 2375
            })
        );
        assert_eq!(
            DockerUrl::parse("ssh://ops@host.example:2222"),
            Ok(DockerUrl::Ssh {
                user: Some("ops".into()),
                host: "host.example".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            DockerUrl::parse("tcp://[::1]:2375"),
            Ok(DockerUrl::Tcp {
                host: "::1".into(),
                port: 2375
            })
        );
    }

    #[test]
    fn bad_urls_say_what_is_valid() {
        assert_eq!(
            DockerUrl::parse("npipe:////./pipe/docker_engine"),
            Err("unknown scheme \"npipe\" in \"npipe:////./pipe/docker_engine\"; valid schemes: unix, tcp, http, https, ssh".into())
        );
        assert!(
            DockerUrl::parse("tcp://h:99999")
                .unwrap_err()
                .contains("invalid port")
        );
        assert!(
            DockerUrl::parse("localhost")
                .unwrap_err()
                .contains("not a URL")
        );
    }

    #[test]
    fn names_are_derived_from_urls() {
        let name = |u: &str| DockerUrl::parse(u).unwrap().derived_name();
        assert_eq!(name("unix:///var/run/docker.sock"), "local");
        assert_eq!(name("unix:///run/fleetdeck-lab/lab1/docker.sock"), "lab1");
        assert_eq!(name("unix:///tmp/podman.sock"), "podman");
        assert_eq!(name("tcp://10.0.0.5:2376"), "10.0.0.5");
        assert_eq!(name("ssh://ops@db-01"), "db-01");
    }
}
