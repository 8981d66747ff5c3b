//! A spec file read and checked key by key into a [`DeploySpec`]: errors name the file, the
//! line, the key and what would be accepted, like the config file's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::{RawCommand, RawSpec};
use super::run::run_options;
use crate::config::error::{ConfigError, deserialize_toml, line_of};
use crate::config::range::in_range;
use crate::model::deploy::placement::{Constraint, Strategy};
use crate::model::deploy::run::check_hostname;
use crate::model::deploy::{
    DeploySpec, ExtraNetwork, Healthcheck, IpChoice, Placement, RestartPolicy, check_image,
    check_name, parse_ip, parse_memory, parse_port,
};

/// The most replicas a spec may ask for.
const MAX_REPLICAS: u32 = 100;

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
    // The same, for the range check, which names its key with a `String`.
    let invalid_at = |offset: usize, key: String, message: String| invalid(offset, &key, message);
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

    let mut networks = Vec::new();
    for (i, n) in raw.networks.iter().enumerate() {
        let at = n.name.span().start;
        let key = format!("networks[{i}]");
        if n.name.get_ref().trim().is_empty() {
            return Err(invalid(
                at,
                &format!("{key}.name"),
                "empty; the network's name".into(),
            ));
        }
        let ip = match &n.ip {
            None => IpChoice::Dynamic,
            Some(ip) => parse_ip(ip.get_ref())
                .map_err(|m| invalid(ip.span().start, &format!("{key}.ip"), m))?,
        };
        if let Some(a) = n.aliases.iter().find(|a| check_hostname(a).is_err()) {
            return Err(invalid(
                at,
                &format!("{key}.aliases"),
                format!(
                    "\"{a}\" is not a name other containers can resolve (letters, digits, - and .)"
                ),
            ));
        }
        networks.push(ExtraNetwork {
            name: n.name.get_ref().trim().to_string(),
            ip,
            aliases: n.aliases.clone(),
        });
    }
    let run = run_options(&raw, &invalid)?;

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
        // Left out, fleetdeck's short defaults; 0 is Docker's own default (30 s, 3 retries),
        // as a container made by hand without the option has it.
        Some(h) => Some(Healthcheck {
            command: h.command.into_inner(),
            interval_s: h.interval_s.unwrap_or(5),
            timeout_s: h.timeout_s.unwrap_or(3),
            retries: h.retries.unwrap_or(3),
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
            // Rounded, as Docker reads --cpus: 0.29 is 290000000, not 289999999.
            Some((v * 1e9).round() as i64)
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
        Some(w) => in_range(w, "wait_s", 1..=3600, "", &invalid_at)?,
    };
    let mut constraints = Vec::new();
    for (i, c) in raw.placement.constraints.iter().enumerate() {
        constraints.push(
            Constraint::parse(c.get_ref())
                .map_err(|m| invalid(c.span().start, &format!("placement.constraints[{i}]"), m))?,
        );
    }
    let strategy = match &raw.placement.strategy {
        None => Strategy::default(),
        Some(t) => Strategy::parse(t.get_ref()).ok_or_else(|| {
            invalid(
                t.span().start,
                "placement.strategy",
                format!(
                    "\"{}\" is not a strategy; valid values: {}",
                    t.get_ref(),
                    Strategy::VALID
                ),
            )
        })?,
    };
    let replicas = match &raw.replicas {
        None => None,
        Some(r) => Some(in_range(r, "replicas", 1..=MAX_REPLICAS, "", &invalid_at)?),
    };
    let batch = match (&raw.batch, replicas) {
        (None, _) => 1,
        (Some(b), None) => {
            return Err(invalid(
                b.span().start,
                "batch",
                "only a service of several replicas is rolled over in batches (set replicas)"
                    .into(),
            ));
        }
        (Some(b), Some(n)) => in_range(b, "batch", 1..=n, " (replicas)", &invalid_at)?,
    };
    // One fixed address cannot go to several containers.
    if replicas.is_some_and(|n| n > 1) {
        let fixed = |c: &IpChoice| matches!(c, IpChoice::Fixed(_));
        if fixed(&ip) {
            let at = raw.ip.as_ref().map_or(0, |i| i.span().start);
            return Err(invalid(
                at,
                "ip",
                "a fixed address cannot go to several replicas; use ip = \"auto\"".into(),
            ));
        }
        if let Some((i, _)) = networks.iter().enumerate().find(|(_, n)| fixed(&n.ip)) {
            return Err(invalid(
                raw.networks[i].name.span().start,
                &format!("networks[{i}].ip"),
                "a fixed address cannot go to several replicas; use ip = \"auto\"".into(),
            ));
        }
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
            strategy,
        },
        wait_s,
        networks,
        run,
        replicas,
        batch,
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

    /// The error of a spec of `cart` (busybox) with `body` added.
    fn bad(body: &str) -> String {
        parse(&format!("name = \"cart\"\nimage = \"busybox\"\n{body}")).unwrap_err()
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
             env_files, labels, ports, network, ip, networks, restart, healthcheck, resources, \
             volumes, user, working_dir, entrypoint, hostname, extra_hosts, dns, cap_add, \
             cap_drop, log, stop_signal, stop_timeout_s, placement, wait_s, replicas, batch"
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
    fn the_docker_run_keys_parse() {
        let s = parse(
            r#"
name = "cart"
image = "busybox"
network = "fleetnet"
volumes = ["cart-data:/data", "/srv/cart:/etc/cart:ro"]
user = "1000:1000"
working_dir = "/app"
entrypoint = ["/bin/sh", "-c"]
hostname = "cart-1"
extra_hosts = ["db.internal:10.0.0.5"]
dns = ["10.0.0.53"]
cap_add = ["NET_ADMIN"]
cap_drop = ["MKNOD"]
stop_signal = "SIGQUIT"
stop_timeout_s = 30

[[networks]]
name = "backend"
ip = "10.1.0.5"
aliases = ["cart-backend"]

[[networks]]
name = "metrics"

[log]
driver = "json-file"
options = { max-size = "10m" }
"#,
        )
        .unwrap();
        assert_eq!(s.run.volumes, ["cart-data:/data", "/srv/cart:/etc/cart:ro"]);
        assert_eq!(s.run.user.as_deref(), Some("1000:1000"));
        assert_eq!(
            s.run.entrypoint.as_deref(),
            Some(&["/bin/sh".to_string(), "-c".into()][..])
        );
        assert_eq!(s.run.cap_add, ["NET_ADMIN"]);
        assert_eq!(s.run.stop_timeout_s, Some(30));
        assert_eq!(s.run.log.as_ref().unwrap().options["max-size"], "10m");
        assert_eq!(s.networks.len(), 2);
        assert_eq!(
            s.networks[0].ip,
            IpChoice::Fixed("10.1.0.5".parse().unwrap())
        );
        assert_eq!(s.networks[0].aliases, ["cart-backend"]);
        assert_eq!(s.networks[1].ip, IpChoice::Dynamic);
    }

    #[test]
    fn zero_healthcheck_values_are_dockers_defaults_and_cpus_round_as_docker_does() {
        let s = parse(
            "name = \"cart\"\nimage = \"busybox\"\n[healthcheck]\ncommand = \"true\"\n\
             interval_s = 2\ntimeout_s = 0\nretries = 0\n[resources]\ncpus = 0.29\n",
        )
        .unwrap();
        let h = s.healthcheck.unwrap();
        assert_eq!((h.interval_s, h.timeout_s, h.retries), (2, 0, 0));
        assert_eq!(s.nano_cpus, Some(290_000_000));
    }

    #[test]
    fn bad_docker_run_keys_name_the_key() {
        assert_eq!(
            bad("volumes = [\"data\"]\n"),
            "deploy/cart.toml:3: volumes: \"data\" is not a volume; expected SOURCE:TARGET[:ro|:rw] \
             where SOURCE is a volume name or an absolute host path and TARGET an absolute path, \
             e.g. data:/data or /srv/cart:/etc/cart:ro"
        );
        assert_eq!(
            bad("cap_add = [\"net_admin\"]\n"),
            "deploy/cart.toml:3: cap_add: \"net_admin\" is not a capability name like NET_ADMIN \
             or SYS_PTRACE (upper case)"
        );
        assert_eq!(
            bad("[[networks]]\nname = \"b\"\nip = \"nope\"\n"),
            "deploy/cart.toml:5: networks[0].ip: \"nope\" is neither \"auto\" nor an IPv4 address \
             like 192.168.2.30"
        );
        assert_eq!(
            bad("stop_timeout_s = 9999\n"),
            "deploy/cart.toml:3: stop_timeout_s: 9999 is out of range; valid values: 0 to 3600"
        );
        assert!(
            bad("working_dir = \"app\"\n").contains("working_dir: \"app\" is not an absolute path")
        );
        assert!(bad("[log]\nopts = 1\n").contains("unknown key \"opts\""));
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
    fn replicas_batch_and_strategy_are_checked() {
        assert_eq!(
            bad("replicas = 0\n"),
            "deploy/cart.toml:3: replicas: 0 is out of range; valid values: 1 to 100"
        );
        assert_eq!(
            bad("replicas = 2\nbatch = 3\n"),
            "deploy/cart.toml:4: batch: 3 is out of range; valid values: 1 to 2 (replicas)"
        );
        assert!(bad("batch = 2\n").contains("batch: only a service of several replicas"));
        assert_eq!(
            bad("network = \"n\"\nip = \"10.0.0.5\"\nreplicas = 2\n"),
            "deploy/cart.toml:4: ip: a fixed address cannot go to several replicas; use ip = \"auto\""
        );
        assert_eq!(
            bad("[placement]\nstrategy = \"random\"\n"),
            "deploy/cart.toml:4: placement.strategy: \"random\" is not a strategy; valid values: \
             spread, pack"
        );
        let s = parse(
            "name = \"cart\"\nimage = \"busybox\"\nreplicas = 4\nbatch = 2\n[placement]\nstrategy = \"pack\"\n",
        )
        .unwrap();
        assert_eq!((s.replicas, s.batch), (Some(4), 2));
        assert_eq!(s.placement.strategy, Strategy::Pack);
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
