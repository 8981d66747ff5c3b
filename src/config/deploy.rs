//! Deploy spec files (`deploy/*.toml`): the TOML as written, checked key by key into a
//! [`DeploySpec`]. Errors name the file, the line, the key and what would be accepted, like
//! the config file's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, deserialize_toml, line_of};
use crate::model::deploy::placement::Constraint;
use crate::model::deploy::{
    DeploySpec, Healthcheck, IpChoice, Placement, RestartPolicy, check_image, check_name, parse_ip,
    parse_memory, parse_port,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Spanned<String>,
    image: Spanned<String>,
    command: Option<Spanned<RawCommand>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    env_files: Vec<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    ports: Vec<Spanned<String>>,
    network: Option<Spanned<String>>,
    ip: Option<Spanned<String>>,
    restart: Option<Spanned<String>>,
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    resources: RawResources,
    #[serde(default)]
    placement: RawPlacement,
    wait_s: Option<Spanned<u64>>,
}

/// `command = ["sh", "-c", "…"]`, or one string run by `sh -c`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawCommand {
    Shell(String),
    Argv(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthcheck {
    command: Spanned<String>,
    interval_s: Option<u64>,
    timeout_s: Option<u64>,
    retries: Option<u32>,
    start_period_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResources {
    cpus: Option<Spanned<f64>>,
    memory: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlacement {
    endpoint: Option<String>,
    cluster: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    constraints: Vec<Spanned<String>>,
}

/// The spec file for `SPEC`: the path itself when it is a file, else `DIR/SPEC.toml`.
pub fn find_spec(spec: &str, dir: &Path) -> PathBuf {
    let direct = PathBuf::from(spec);
    if direct.is_file() || spec.ends_with(".toml") || spec.contains('/') {
        return direct;
    }
    dir.join(format!("{spec}.toml"))
}

/// Reads and checks a spec file; env files are relative to it.
pub fn load_spec(path: &Path, default_wait_s: u64) -> Result<DeploySpec, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_spec(&text, path, default_wait_s)
}

pub fn parse_spec(text: &str, path: &Path, default_wait_s: u64) -> Result<DeploySpec, ConfigError> {
    let raw: RawSpec = deserialize_toml(text, path)?;
    let invalid = |offset: usize, key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, offset),
        key: key.to_string(),
        message,
    };
    let base_dir = path.parent().unwrap_or(Path::new("."));

    check_name(raw.name.get_ref()).map_err(|m| invalid(raw.name.span().start, "name", m))?;
    check_image(raw.image.get_ref()).map_err(|m| invalid(raw.image.span().start, "image", m))?;
    let command = match raw.command.as_ref().map(|c| (c.span().start, c.get_ref())) {
        None => Vec::new(),
        Some((_, RawCommand::Shell(s))) => vec!["sh".into(), "-c".into(), s.clone()],
        Some((at, RawCommand::Argv(v))) if v.is_empty() => {
            return Err(invalid(
                at,
                "command",
                "empty; leave it out to run the image's own command".into(),
            ));
        }
        Some((_, RawCommand::Argv(v))) => v.clone(),
    };

    let mut env = BTreeMap::new();
    for file in &raw.env_files {
        let at = file.span().start;
        let file_path = base_dir.join(file.get_ref());
        let content = std::fs::read_to_string(&file_path).map_err(|e| {
            invalid(
                at,
                "env_files",
                format!("cannot read {}: {e}", file_path.display()),
            )
        })?;
        for (n, line) in content.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(invalid(
                    at,
                    "env_files",
                    format!(
                        "{}:{}: \"{line}\" is not KEY=value",
                        file_path.display(),
                        n + 1
                    ),
                ));
            };
            env.insert(k.trim().to_string(), v.to_string());
        }
    }
    env.extend(raw.env);

    let mut ports = Vec::new();
    for p in &raw.ports {
        ports.push(parse_port(p.get_ref()).map_err(|m| invalid(p.span().start, "ports", m))?);
    }
    for (i, a) in ports.iter().enumerate() {
        if let Some(b) = ports[..i]
            .iter()
            .find(|b| b.host_port.is_some() && b.host_port == a.host_port && b.proto == a.proto)
        {
            return Err(invalid(
                raw.ports[i].span().start,
                "ports",
                format!(
                    "host port {} is published twice ({b} and {a})",
                    b.host_port.unwrap_or(0)
                ),
            ));
        }
    }

    let network = match &raw.network {
        Some(n) if n.get_ref().trim().is_empty() => {
            return Err(invalid(
                n.span().start,
                "network",
                "empty; leave it out for Docker's default bridge".into(),
            ));
        }
        Some(n) => Some(n.get_ref().clone()),
        None => None,
    };
    let ip = match &raw.ip {
        None => IpChoice::Dynamic,
        Some(ip) => parse_ip(ip.get_ref()).map_err(|m| invalid(ip.span().start, "ip", m))?,
    };
    if ip != IpChoice::Dynamic && network.is_none() {
        let at = raw.ip.as_ref().map_or(0, |i| i.span().start);
        return Err(invalid(
            at,
            "ip",
            "a fixed or auto address needs a network (set network = \"…\")".into(),
        ));
    }
    let restart = match &raw.restart {
        None => RestartPolicy::No,
        Some(r) => RestartPolicy::parse(r.get_ref()).ok_or_else(|| {
            invalid(
                r.span().start,
                "restart",
                format!(
                    "\"{}\" is not a restart policy; valid values: {}",
                    r.get_ref(),
                    RestartPolicy::VALID
                ),
            )
        })?,
    };
    let healthcheck = match raw.healthcheck {
        None => None,
        Some(h) if h.command.get_ref().trim().is_empty() => {
            return Err(invalid(
                h.command.span().start,
                "healthcheck.command",
                "empty; a shell command that exits 0 when the service is healthy".into(),
            ));
        }
        Some(h) => Some(Healthcheck {
            command: h.command.into_inner(),
            interval_s: h.interval_s.unwrap_or(5).max(1),
            timeout_s: h.timeout_s.unwrap_or(3).max(1),
            retries: h.retries.unwrap_or(3).max(1),
            start_period_s: h.start_period_s.unwrap_or(0),
        }),
    };
    let nano_cpus = match &raw.resources.cpus {
        None => None,
        Some(c) => {
            let v = *c.get_ref();
            if !(v > 0.0 && v <= 1024.0) {
                return Err(invalid(
                    c.span().start,
                    "resources.cpus",
                    format!(
                        "{v} is out of range; valid values: more than 0, up to 1024 (e.g. 0.5)"
                    ),
                ));
            }
            Some((v * 1e9) as i64)
        }
    };
    let memory_bytes = match &raw.resources.memory {
        None => None,
        Some(m) => Some(
            parse_memory(m.get_ref())
                .map_err(|e| invalid(m.span().start, "resources.memory", e))?,
        ),
    };
    let wait_s = match &raw.wait_s {
        None => default_wait_s,
        Some(w) if (1..=3600).contains(w.get_ref()) => *w.get_ref(),
        Some(w) => {
            return Err(invalid(
                w.span().start,
                "wait_s",
                format!("{} is out of range; valid values: 1 to 3600", w.get_ref()),
            ));
        }
    };
    let mut constraints = Vec::new();
    for (i, c) in raw.placement.constraints.iter().enumerate() {
        constraints.push(
            Constraint::parse(c.get_ref())
                .map_err(|m| invalid(c.span().start, &format!("placement.constraints[{i}]"), m))?,
        );
    }
    Ok(DeploySpec {
        name: raw.name.into_inner(),
        image: raw.image.into_inner(),
        command,
        env,
        labels: raw.labels,
        ports,
        network,
        ip,
        restart,
        healthcheck,
        nano_cpus,
        memory_bytes,
        placement: Placement {
            endpoint: raw.placement.endpoint,
            cluster: raw.placement.cluster,
            labels: raw.placement.labels,
            constraints,
        },
        wait_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deploy;

    fn parse(text: &str) -> Result<DeploySpec, String> {
        parse_spec(text, Path::new("deploy/cart.toml"), deploy::DEFAULT_WAIT_S)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_spec_parses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cart.env"), "# comment\nA=1\nB=from-file\n").unwrap();
        let path = dir.path().join("cart.toml");
        std::fs::write(
            &path,
            r#"
name = "cart"
image = "registry.local:5000/shop/cart:2.1"
command = "exec httpd -f"
env = { B = "from-spec" }
env_files = ["cart.env"]
labels = { app = "cart" }
ports = ["8080:80", "127.0.0.1:9090:9090/udp"]
network = "fleetnet"
ip = "auto"
restart = "on-failure:3"
wait_s = 30

[healthcheck]
command = "wget -q -O- localhost/health"
interval_s = 2

[resources]
cpus = 0.5
memory = "256m"

[placement]
cluster = "lab-a"
labels = { subnet = "192.168.2.0/24" }
constraints = ["engine.labels.dc != eu", "node.labels.tier == edge"]
"#,
        )
        .unwrap();
        let s = load_spec(&path, 60).unwrap();
        assert_eq!(s.command, ["sh", "-c", "exec httpd -f"]);
        assert_eq!(s.env["A"], "1");
        assert_eq!(s.env["B"], "from-spec");
        assert_eq!(s.ports.len(), 2);
        assert_eq!(s.ip, IpChoice::Auto);
        assert_eq!(
            s.restart,
            RestartPolicy::OnFailure {
                max_retries: Some(3)
            }
        );
        assert_eq!(s.healthcheck.unwrap().interval_s, 2);
        assert_eq!(s.nano_cpus, Some(500_000_000));
        assert_eq!(s.memory_bytes, Some(256 << 20));
        assert_eq!(s.placement.cluster.as_deref(), Some("lab-a"));
        let constraints: Vec<String> = s
            .placement
            .constraints
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            constraints,
            ["engine.labels.dc != eu", "node.labels.tier == edge"]
        );
        assert_eq!(s.wait_s, 30);
    }

    #[test]
    fn bad_specs_name_file_line_key_and_valid_values() {
        assert_eq!(
            parse("name = \"cart\"\nimage = \"Busybox\"\n").unwrap_err(),
            "deploy/cart.toml:2: image: \"Busybox\" is not an image reference; expected \
             [REGISTRY/]NAME[:TAG][@DIGEST] with a lowercase name, e.g. busybox:1.36 or \
             registry.local:5000/shop/cart:2.1"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\nnetwork = \"n\"\nip = \"10.0.0.300\"\n")
                .unwrap_err(),
            "deploy/cart.toml:4: ip: \"10.0.0.300\" is neither \"auto\" nor an IPv4 address like 192.168.2.30"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\nip = \"auto\"\n").unwrap_err(),
            "deploy/cart.toml:3: ip: a fixed or auto address needs a network (set network = \"…\")"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\nrestart = \"sometimes\"\n").unwrap_err(),
            "deploy/cart.toml:3: restart: \"sometimes\" is not a restart policy; valid values: \
             no, always, unless-stopped, on-failure, on-failure:N"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\nports = [\"80:80\", \"80:81\"]\n")
                .unwrap_err(),
            "deploy/cart.toml:3: ports: host port 80 is published twice (80:80/tcp and 80:81/tcp)"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\nnetwrk = \"x\"\n").unwrap_err(),
            "deploy/cart.toml:3: unknown key \"netwrk\"; valid keys: name, image, command, env, \
             env_files, labels, ports, network, ip, restart, healthcheck, resources, placement, wait_s"
        );
        assert_eq!(
            parse("image = \"busybox\"\n").unwrap_err(),
            "deploy/cart.toml:1: missing required key \"name\""
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\n[placement]\nlabels = 3\n").unwrap_err(),
            "deploy/cart.toml:4: placement.labels: expected a map, found integer 3"
        );
    }

    #[test]
    fn a_bad_constraint_names_the_file_line_index_and_the_valid_forms() {
        assert_eq!(
            parse(
                "name = \"cart\"\nimage = \"busybox\"\n[placement]\ncluster = \"lab-a\"\n\
                 constraints = [\n  \"engine.labels.dc != eu\",\n  \"engine.label.dc == us\",\n]\n"
            )
            .unwrap_err(),
            "deploy/cart.toml:7: placement.constraints[1]: \"engine.label.dc == us\" is not a \
             constraint (\"engine.label.dc\" is none of engine.labels.KEY, node.labels.KEY, \
             config.labels.KEY); valid forms: engine.labels.KEY == VALUE, engine.labels.KEY != \
             VALUE, node.labels.KEY == VALUE, node.labels.KEY != VALUE, config.labels.KEY == \
             VALUE, config.labels.KEY != VALUE"
        );
        assert_eq!(
            parse("name = \"cart\"\nimage = \"busybox\"\n[placement]\nconstraints = \"dc\"\n")
                .unwrap_err(),
            "deploy/cart.toml:4: placement.constraints: expected a sequence, found string \"dc\""
        );
    }

    #[test]
    fn a_spec_name_is_looked_up_in_the_deploy_dir() {
        assert_eq!(
            find_spec("cart", Path::new("/etc/fleetdeck/deploy")),
            PathBuf::from("/etc/fleetdeck/deploy/cart.toml")
        );
        assert_eq!(
            find_spec("./x/cart.toml", Path::new("/d")),
            PathBuf::from("./x/cart.toml")
        );
    }
}
