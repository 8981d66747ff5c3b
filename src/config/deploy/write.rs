//! A [`DeploySpec`] written as a spec file that [`super::load_spec`] reads back to the same
//! spec: keys in the order `deploy/cart.toml` shows them, every string a TOML basic string
//! with control and bidi characters as `\uXXXX` escapes (the file keeps them exactly; a
//! terminal it is printed on never receives them), comments cleaned of them too.

use std::fmt::Write as _;

use crate::model::deploy::{DeploySpec, IpChoice, RestartPolicy};
use crate::model::text::sanitize;

/// The spec as TOML, after `comments` (each a `# ` line). `wait_s` is left out when it is
/// `default_wait_s`, so the file follows the config's default as a hand-written one does.
pub fn spec_toml(spec: &DeploySpec, default_wait_s: u64, comments: &[String]) -> String {
    let mut w = Writer::default();
    for c in comments {
        for line in c.lines() {
            w.out.push_str(format!("# {}", sanitize(line)).trim_end());
            w.out.push('\n');
        }
    }
    w.key("name", string(&spec.name));
    w.key("image", string(&spec.image));
    w.list("command", &spec.command);
    for (k, v) in &spec.env {
        w.key(&format!("env.{}", bare_or_quoted(k)), string(v));
    }
    for (k, v) in &spec.labels {
        w.key(&format!("labels.{}", bare_or_quoted(k)), string(v));
    }
    let ports: Vec<String> = spec.ports.iter().map(ToString::to_string).collect();
    w.list("ports", &ports);
    if let Some(n) = &spec.network {
        w.key("network", string(n));
        if spec.ip != IpChoice::Dynamic {
            w.key("ip", string(&spec.ip.to_string()));
        }
    }
    if !spec.networks.is_empty() {
        let mut text = String::from("[\n");
        for n in &spec.networks {
            let mut fields = vec![format!("name = {}", string(&n.name))];
            if n.ip != IpChoice::Dynamic {
                fields.push(format!("ip = {}", string(&n.ip.to_string())));
            }
            if !n.aliases.is_empty() {
                fields.push(format!("aliases = {}", strings(&n.aliases)));
            }
            let _ = writeln!(text, "  {{ {} }},", fields.join(", "));
        }
        text.push(']');
        w.key("networks", text);
    }
    if spec.restart != RestartPolicy::No {
        let policy = match &spec.restart {
            RestartPolicy::OnFailure {
                max_retries: Some(n),
            } => format!("on-failure:{n}"),
            p => p.docker_name().to_string(),
        };
        w.key("restart", string(&policy));
    }
    let run = &spec.run;
    w.list("volumes", &run.volumes);
    w.one("user", &run.user);
    w.one("working_dir", &run.working_dir);
    if let Some(e) = &run.entrypoint {
        w.key("entrypoint", strings(e));
    }
    w.one("hostname", &run.hostname);
    w.list("extra_hosts", &run.extra_hosts);
    w.list("dns", &run.dns);
    w.list("cap_add", &run.cap_add);
    w.list("cap_drop", &run.cap_drop);
    w.one("stop_signal", &run.stop_signal);
    if let Some(t) = run.stop_timeout_s {
        w.key("stop_timeout_s", t.to_string());
    }
    if spec.wait_s != default_wait_s {
        w.key("wait_s", spec.wait_s.to_string());
    }
    if let Some(n) = spec.replicas {
        w.key("replicas", n.to_string());
        if spec.batch != 1 {
            w.key("batch", spec.batch.to_string());
        }
    }
    let mut out = w.out;

    if let Some(h) = &spec.healthcheck {
        let _ = writeln!(out, "\n[healthcheck]\ncommand = {}", string(&h.command));
        // 0 is no short default of fleetdeck's but Docker's own: say which.
        for (key, value, docker) in [
            ("interval_s", h.interval_s, "30 s"),
            ("timeout_s", h.timeout_s, "30 s"),
            ("retries", u64::from(h.retries), "3"),
        ] {
            let line = format!("{key} = {value}");
            if value == 0 {
                let _ = writeln!(out, "{line:<37}# 0: Docker's default, {docker}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = writeln!(out, "start_period_s = {}", h.start_period_s);
    }
    if spec.nano_cpus.is_some() || spec.memory_bytes.is_some() {
        out.push_str("\n[resources]\n");
        if let Some(n) = spec.nano_cpus {
            let _ = writeln!(out, "cpus = {}", float(n as f64 / 1e9));
        }
        if let Some(m) = spec.memory_bytes {
            let _ = writeln!(out, "memory = {}", string(&memory(m)));
        }
    }
    if let Some(log) = &run.log {
        let _ = writeln!(out, "\n[log]\ndriver = {}", string(&log.driver));
        if !log.options.is_empty() {
            let _ = writeln!(out, "options = {}", inline_table(&log.options));
        }
    }
    let p = &spec.placement;
    let spread = p.strategy == crate::model::deploy::placement::Strategy::Spread;
    if p.endpoint.is_some()
        || p.cluster.is_some()
        || !p.labels.is_empty()
        || !p.constraints.is_empty()
        || !spread
    {
        out.push_str("\n[placement]\n");
        if let Some(e) = &p.endpoint {
            let _ = writeln!(out, "endpoint = {}", string(e));
        }
        if let Some(c) = &p.cluster {
            let _ = writeln!(out, "cluster = {}", string(c));
        }
        if !p.labels.is_empty() {
            let _ = writeln!(out, "labels = {}", inline_table(&p.labels));
        }
        if !p.constraints.is_empty() {
            let rules: Vec<String> = p.constraints.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "constraints = {}", strings(&rules));
        }
        if !spread {
            let _ = writeln!(out, "strategy = {}", string(p.strategy.as_str()));
        }
    }
    out
}

/// The top-level keys, one a line.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn key(&mut self, key: &str, value: String) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    /// A list of strings, left out when empty.
    fn list(&mut self, key: &str, items: &[String]) {
        if !items.is_empty() {
            self.key(key, strings(items));
        }
    }

    fn one(&mut self, key: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.key(key, string(v));
        }
    }
}

/// A TOML basic string: `"`, `\` and every control or bidi character escaped.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What [`sanitize`] would replace: control and bidi characters.
fn needs_escape(c: char) -> bool {
    let mut buf = [0; 4];
    let text: &str = c.encode_utf8(&mut buf);
    sanitize(text) != text
}

fn strings(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| string(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A key as TOML takes it bare (`A-Za-z0-9_-`), else quoted.
fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { string(key) }
}

fn inline_table(map: &std::collections::BTreeMap<String, String>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{} = {}", bare_or_quoted(k), string(v)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

/// A float TOML reads as one (`2.0`, not `2`); Rust writes the shortest form that reads back.
fn float(v: f64) -> String {
    let text = v.to_string();
    if text.contains(['.', 'e', 'E']) || !v.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

/// Bytes in the largest unit that holds them whole: `64m`, `2g`, `1048577`.
fn memory(bytes: i64) -> String {
    for (unit, size) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::deploy::parse_spec;

    const CART: &str = r#"
name = "cart"
image = "registry.local:5000/shop/cart:2.1"
command = "exec httpd -f"
env = { B = "from-spec", "my.key" = "x" }
labels = { app = "cart" }
ports = ["8080:80", "127.0.0.1:9090:9090/udp", "7000"]
network = "fleetnet"
ip = "auto"
restart = "unless-stopped"
volumes = ["cart-data:/data"]
entrypoint = "/entry"
cap_drop = ["MKNOD"]
wait_s = 30

[[networks]]
name = "backend"
aliases = ["cart-backend"]

[healthcheck]
command = "wget -q -O- localhost/health"

[resources]
cpus = 2
memory = "1572864k"

[placement]
cluster = "lab-a"
labels = { subnet = "192.168.2.0/24" }
constraints = ["engine.labels.dc != eu"]
"#;

    #[test]
    fn a_written_spec_reads_back_the_same_and_in_the_cart_order() {
        let spec = parse_spec(CART, Path::new("cart.toml"), 60).unwrap();
        let text = spec_toml(&spec, 60, &["a comment".into()]);
        assert_eq!(
            text,
            r#"# a comment
name = "cart"
image = "registry.local:5000/shop/cart:2.1"
command = ["sh", "-c", "exec httpd -f"]
env.B = "from-spec"
env."my.key" = "x"
labels.app = "cart"
ports = ["8080:80/tcp", "127.0.0.1:9090:9090/udp", "7000/tcp"]
network = "fleetnet"
ip = "auto"
networks = [
  { name = "backend", aliases = ["cart-backend"] },
]
restart = "unless-stopped"
volumes = ["cart-data:/data"]
entrypoint = ["/entry"]
cap_drop = ["MKNOD"]
wait_s = 30

[healthcheck]
command = "wget -q -O- localhost/health"
interval_s = 5
timeout_s = 3
retries = 3
start_period_s = 0

[resources]
cpus = 2.0
memory = "1536m"

[placement]
cluster = "lab-a"
labels = { subnet = "192.168.2.0/24" }
constraints = ["engine.labels.dc != eu"]
"#
        );
        assert_eq!(parse_spec(&text, Path::new("cart.toml"), 60).unwrap(), spec);
        // The config's default wait is not written into the file.
        assert!(!spec_toml(&spec, 30, &[]).contains("wait_s"));
    }

    #[test]
    fn replicas_batch_and_strategy_are_written_and_read_back() {
        let text = CART
            .replace("[placement]\n", "[placement]\nstrategy = \"pack\"\n")
            .replacen("wait_s = 30\n", "wait_s = 30\nreplicas = 4\nbatch = 2\n", 1);
        let spec = parse_spec(&text, Path::new("cart.toml"), 60).unwrap();
        assert_eq!((spec.replicas, spec.batch), (Some(4), 2));
        let written = spec_toml(&spec, 60, &[]);
        assert!(
            written.contains("replicas = 4\nbatch = 2\n")
                && written.contains("strategy = \"pack\""),
            "{written}"
        );
        assert_eq!(
            parse_spec(&written, Path::new("cart.toml"), 60).unwrap(),
            spec
        );
    }

    #[test]
    fn control_and_bidi_characters_are_escapes_in_the_file() {
        assert_eq!(
            string("a\"b\\c\nd\u{1b}[2J\u{9b}\u{202e}é"),
            r#""a\"b\\c\nd\u001B[2J\u009B\u202Eé""#
        );
        assert_eq!(bare_or_quoted("max-size"), "max-size");
        assert_eq!(bare_or_quoted("a.b"), "\"a.b\"");
        assert_eq!(memory(1 << 30), "1g");
        assert_eq!(memory(1_048_577), "1048577");
        assert_eq!(float(0.29), "0.29");
    }
}
