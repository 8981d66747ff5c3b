//! The spec of a service as data ([`DeploySpec`]) and the syntax of its single fields: image
//! references, container names, ports, addresses, sizes, restart policies; and the digest of a
//! whole spec. Whether a spec fits a host is the plan's business.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{ExtraNetwork, Placement, RunOptions, revision};

// ------------------------------------------------------------------------------------ spec --

/// A service to run as one container, as a deploy file or the form describes it, checked for
/// syntax. Whether it fits a host is [`plan`]'s business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploySpec {
    pub name: String,
    pub image: String,
    /// Empty: the image's own command.
    pub command: Vec<String>,
    /// From `env_files` first, then `env`, which wins.
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PortSpec>,
    /// `None`: Docker's default bridge.
    pub network: Option<String>,
    pub ip: IpChoice,
    pub restart: RestartPolicy,
    pub healthcheck: Option<Healthcheck>,
    /// Billionths of a CPU, as Docker takes `--cpus`.
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub placement: Placement,
    /// Seconds a new container has to be running (and healthy) before it counts as failed.
    pub wait_s: u64,
    /// Networks joined besides `network`, each with its own address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<ExtraNetwork>,
    /// Volumes, user, entrypoint, … (left out of the digest's JSON when empty, so a spec
    /// that sets none keeps the digest it had before these keys existed).
    #[serde(skip_serializing_if = "RunOptions::is_empty")]
    pub run: RunOptions,
    /// `Some(n)`: the service is n containers, `NAME-1`…`NAME-n`, laid over the matching hosts
    /// by `placement.strategy` ([`replicas`]); `None`: one container called `NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Replicas updated at once; each batch is up (and healthy) before the next starts.
    #[serde(skip_serializing_if = "is_one")]
    pub batch: u32,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IpChoice {
    /// Whatever Docker gives (no network, or a network without `ip`).
    Dynamic,
    /// The next free address of the target's pool, cluster-wide on a shared subnet; on an
    /// update, the address the running revision has.
    Auto,
    Fixed(IpAddr),
}

impl fmt::Display for IpChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dynamic => f.write_str(""),
            Self::Auto => f.write_str("auto"),
            Self::Fixed(ip) => write!(f, "{ip}"),
        }
    }
}

/// A published (or only exposed) port: `8080:80`, `127.0.0.1:8080:80/udp`, `80`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: String,
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = &self.host_ip {
            write!(f, "{ip}:")?;
        }
        if let Some(p) = self.host_port {
            write!(f, "{p}:")?;
        }
        write!(f, "{}/{}", self.container_port, self.proto)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    OnFailure { max_retries: Option<u32> },
}

impl RestartPolicy {
    pub const VALID: &'static str = "no, always, unless-stopped, on-failure, on-failure:N";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "no" | "" => Self::No,
            "always" => Self::Always,
            "unless-stopped" => Self::UnlessStopped,
            "on-failure" => Self::OnFailure { max_retries: None },
            other => Self::OnFailure {
                max_retries: Some(other.strip_prefix("on-failure:")?.parse().ok()?),
            },
        })
    }

    /// Docker's name of the policy.
    pub fn docker_name(&self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Always => "always",
            Self::UnlessStopped => "unless-stopped",
            Self::OnFailure { .. } => "on-failure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthcheck {
    /// Run by the container's shell (`CMD-SHELL`).
    pub command: String,
    pub interval_s: u64,
    pub timeout_s: u64,
    pub retries: u32,
    pub start_period_s: u64,
}

/// A problem with a spec, tied to the key that has it. Shown as `FILE: KEY: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub key: String,
    pub message: String,
}

impl SpecProblem {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

// ------------------------------------------------------------------ syntax of single fields --

/// Docker's image reference grammar (distribution/reference): `[DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]`,
/// path components lowercase.
static IMAGE_REF: LazyLock<Regex> = LazyLock::new(|| {
    let label = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    let pattern = format!(
        r"^(?:{label}(?:\.{label})*(?::[0-9]+)?/)?{component}(?:/{component})*(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?$"
    );
    #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
    Regex::new(&pattern).expect("the image reference pattern compiles")
});

/// Checks an image reference; the message says what one looks like.
pub fn check_image(text: &str) -> Result<(), String> {
    let name_len = text.split(['@', ':']).next().map_or(0, str::len);
    if text.is_empty() {
        return Err("missing: say which image to run, e.g. busybox:1.36".into());
    }
    if name_len > 255 || !IMAGE_REF.is_match(text) {
        return Err(format!(
            "\"{text}\" is not an image reference; expected [REGISTRY/]NAME[:TAG][@DIGEST] \
             with a lowercase name, e.g. busybox:1.36 or registry.local:5000/shop/cart:2.1"
        ));
    }
    Ok(())
}

/// The reference as the daemon lists it among an image's tags: `busybox` is `busybox:latest`,
/// Docker Hub's `docker.io/library/` prefix dropped.
pub fn normalise_image(image: &str) -> String {
    let short = image
        .strip_prefix("docker.io/library/")
        .or_else(|| image.strip_prefix("docker.io/"))
        .unwrap_or(image);
    if short.contains('@') {
        return short.to_string();
    }
    let last = short.rsplit('/').next().unwrap_or(short);
    if last.contains(':') {
        short.to_string()
    } else {
        format!("{short}:latest")
    }
}

/// Container names as Docker accepts them.
pub fn check_name(text: &str) -> Result<(), String> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
        Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$").expect("the name pattern compiles")
    });
    if text.is_empty() {
        return Err("missing: the container's name, e.g. cart".into());
    }
    if !NAME.is_match(text) {
        return Err(format!(
            "\"{text}\" is not a container name: letters, digits, _ . - and not starting with _ . -"
        ));
    }
    if text.contains(revision::REVISION_SEPARATOR) {
        return Err(format!(
            "\"{text}\" contains \"{}\", which marks kept revisions",
            revision::REVISION_SEPARATOR
        ));
    }
    Ok(())
}

/// `8080:80`, `8080:80/udp`, `127.0.0.1:8080:80`, `80` (exposed, not published).
pub fn parse_port(text: &str) -> Result<PortSpec, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a port; expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] \
             or CONTAINER_PORT, e.g. 8080:80"
        )
    };
    let (ports, proto) = match text.trim().rsplit_once('/') {
        Some((p, proto @ ("tcp" | "udp" | "sctp"))) => (p, proto),
        Some(_) => return Err(bad()),
        None => (text.trim(), "tcp"),
    };
    let number = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0);
    let parts: Vec<&str> = match ports.rsplit_once(':') {
        None => vec![ports],
        Some((front, container)) => match front.rsplit_once(':') {
            Some((ip, host)) => vec![ip, host, container],
            None => vec![front, container],
        },
    };
    let (host_ip, host_port, container) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(number(h).ok_or_else(bad)?), *c),
        [ip, h, c] => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>().map_err(|_| bad())?;
            (Some(ip.to_string()), Some(number(h).ok_or_else(bad)?), *c)
        }
        _ => return Err(bad()),
    };
    Ok(PortSpec {
        host_ip,
        host_port,
        container_port: number(container).ok_or_else(bad)?,
        proto: proto.to_string(),
    })
}

/// `ip = "auto"`, a fixed IPv4 address, or nothing.
pub fn parse_ip(text: &str) -> Result<IpChoice, String> {
    match text.trim() {
        "" => Ok(IpChoice::Dynamic),
        "auto" => Ok(IpChoice::Auto),
        other => match other.parse::<IpAddr>() {
            Ok(ip @ IpAddr::V4(_)) => Ok(IpChoice::Fixed(ip)),
            Ok(IpAddr::V6(_)) => Err(format!(
                "\"{other}\": only IPv4 addresses can be fixed here; use \"auto\" or an IPv4 address"
            )),
            Err(_) => Err(format!(
                "\"{other}\" is neither \"auto\" nor an IPv4 address like 192.168.2.30"
            )),
        },
    }
}

/// `512m`, `2g`, `1048576` → bytes (Docker's units: b, k, m, g, powers of 1024).
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), ""),
    };
    let factor: i64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => 0,
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && factor > 0)
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("\"{text}\" is not a size like 512m, 2g or 1048576 (bytes)"))
}

/// A short digest of the spec: two deploys of the same spec carry the same digest.
pub fn spec_digest(spec: &DeploySpec) -> String {
    use sha2::{Digest, Sha256};
    // Placement is where, not what: moving a service does not change its digest.
    let mut what = spec.clone();
    what.placement = Placement::default();
    let json = serde_json::to_vec(&what).unwrap_or_default();
    let hash = Sha256::digest(&json);
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::spec;
    use super::*;

    #[test]
    fn image_references_follow_dockers_grammar() {
        for ok in [
            "busybox",
            "busybox:local",
            "library/busybox:1.36.1",
            "registry.local:5000/shop/cart:2.1",
            "localhost/a_b__c-d.e:tag",
            "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_image("Busybox:1"),
            Err(
                "\"Busybox:1\" is not an image reference; expected [REGISTRY/]NAME[:TAG][@DIGEST] \
                 with a lowercase name, e.g. busybox:1.36 or registry.local:5000/shop/cart:2.1"
                    .into()
            )
        );
        for bad in [
            "busy box",
            "busybox:",
            ":tag",
            "a//b",
            "busybox@sha256:12",
            "-x",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_image(""),
            Err("missing: say which image to run, e.g. busybox:1.36".into())
        );
    }

    #[test]
    fn image_names_are_normalised_as_the_daemon_lists_them() {
        assert_eq!(normalise_image("busybox"), "busybox:latest");
        assert_eq!(normalise_image("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(normalise_image("reg:5000/app"), "reg:5000/app:latest");
        assert_eq!(normalise_image("reg:5000/app:2"), "reg:5000/app:2");
    }

    #[test]
    fn ports_ips_sizes_and_policies_parse_with_exact_messages() {
        assert_eq!(
            parse_port("127.0.0.1:8080:80/udp").unwrap().to_string(),
            "127.0.0.1:8080:80/udp"
        );
        assert_eq!(parse_port("8080:80").unwrap().host_port, Some(8080));
        assert_eq!(parse_port("80").unwrap().host_port, None);
        assert_eq!(
            parse_port("80:http"),
            Err(
                "\"80:http\" is not a port; expected [HOST_IP:]HOST_PORT:CONTAINER_PORT\
                 [/tcp|udp|sctp] or CONTAINER_PORT, e.g. 8080:80"
                    .into()
            )
        );
        assert!(parse_port("8080:80/icmp").is_err());
        assert!(parse_port("0:80").is_err());
        assert_eq!(parse_ip("auto"), Ok(IpChoice::Auto));
        assert_eq!(
            parse_ip("192.168.2.300"),
            Err(
                "\"192.168.2.300\" is neither \"auto\" nor an IPv4 address like 192.168.2.30"
                    .into()
            )
        );
        assert!(parse_ip("fd00::1").is_err());
        assert_eq!(parse_memory("512m"), Ok(512 << 20));
        assert_eq!(parse_memory("2GB"), Ok(2 << 30));
        assert!(parse_memory("lots").is_err());
        assert_eq!(
            RestartPolicy::parse("on-failure:5"),
            Some(RestartPolicy::OnFailure {
                max_retries: Some(5)
            })
        );
        assert_eq!(RestartPolicy::parse("sometimes"), None);
        assert!(check_name("cart--r3").is_err());
        assert!(check_name("cart-2").is_ok());
    }

    #[test]
    fn the_spec_digest_ignores_placement_but_not_the_image() {
        let a = spec("cart");
        let mut b = a.clone();
        b.placement.endpoint = Some("lab2".into());
        assert_eq!(spec_digest(&a), spec_digest(&b));
        b.image = "busybox:v2".into();
        assert_ne!(spec_digest(&a), spec_digest(&b));
        assert_eq!(spec_digest(&a).len(), 12);
    }
}
