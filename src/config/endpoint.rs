//! `[[endpoint]]`: each daemon's name, URL, TLS material, ssh config, cluster and labels,
//! validated into [`EndpointSpec`]s.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{ConfigError, line_of};
use super::range::in_range;
use super::raw::RawEndpoint;
use crate::model::ipam::{LOCAL_SUBNETS_LABEL, SUBNET_LABEL, parse_local_subnets, parse_prefix};
use crate::model::spec::{DEFAULT_CLUSTER, DockerUrl, EndpointSpec, TlsFiles, check_printable};

/// Every `[[endpoint]]` in the file's order; names must be unique. Relative TLS and ssh config
/// paths are resolved against `base_dir`, the config file's directory.
pub(super) fn resolve(
    raw: Vec<RawEndpoint>,
    base_dir: &Path,
    text: &str,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<Vec<EndpointSpec>, ConfigError> {
    let mut endpoints = Vec::with_capacity(raw.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, ep) in raw.into_iter().enumerate() {
        let spec = validate_endpoint(ep, i, base_dir, &mut seen, text, invalid)?;
        endpoints.push(spec);
    }
    Ok(endpoints)
}

/// The `local_subnets` label, which keeps this host's networks on those subnets out of any
/// shared pool: prefixes, at least one, none of them the subnet the `subnet` label shares.
fn check_local_subnets(
    labels: &BTreeMap<String, toml::Spanned<String>>,
    i: usize,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let Some(value) = labels.get(LOCAL_SUBNETS_LABEL) else {
        return Ok(());
    };
    let refuse = |message: String| {
        Err(invalid(
            value.span().start,
            format!("endpoint[{i}].labels.{LOCAL_SUBNETS_LABEL}"),
            message,
        ))
    };
    let subnets = match parse_local_subnets(value.get_ref()) {
        Ok(subnets) if subnets.is_empty() => {
            return refuse(
                "empty; give prefixes like 10.77.0.0/24, separated by commas, or leave the label \
                 out"
                .into(),
            );
        }
        Ok(subnets) => subnets,
        Err(message) => return refuse(message),
    };
    let shared = labels
        .get(SUBNET_LABEL)
        .and_then(|l| parse_prefix(l.get_ref()));
    if let Some(both) = subnets.iter().find(|s| Some(**s) == shared) {
        return refuse(format!(
            "{both} is also this endpoint's {SUBNET_LABEL} label, which shares it across the \
             cluster; a subnet is either shared or local"
        ));
    }
    Ok(())
}

fn validate_endpoint(
    ep: RawEndpoint,
    i: usize,
    base_dir: &Path,
    seen: &mut HashMap<String, usize>,
    text: &str,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<EndpointSpec, ConfigError> {
    let name = ep.name.get_ref().trim().to_string();
    let name_at = ep.name.span().start;
    check_printable(&name, "an endpoint name")
        .map_err(|m| invalid(name_at, format!("endpoint[{i}].name"), m))?;
    if name.is_empty() || name.contains(['/', '@', ' ']) {
        return Err(invalid(
            name_at,
            format!("endpoint[{i}].name"),
            format!(
                "\"{}\" is not a valid endpoint name; use a non-empty name without '/', '@' or spaces",
                ep.name.get_ref()
            ),
        ));
    }
    if let Some(&first) = seen.get(&name) {
        return Err(invalid(
            name_at,
            format!("endpoint[{i}].name"),
            format!(
                "duplicate endpoint name \"{name}\" (first defined on line {}); endpoint names must be unique",
                line_of(text, first)
            ),
        ));
    }
    seen.insert(name.clone(), name_at);

    let url_text = ep.url.get_ref().trim().to_string();
    let url = DockerUrl::parse(&url_text)
        .map_err(|m| invalid(ep.url.span().start, format!("endpoint[{i}].url"), m))?;

    let tls = match ep.tls {
        None => None,
        Some(tls) => {
            let tls_at = tls.span().start;
            let tls = tls.into_inner();
            if !matches!(url, DockerUrl::Tcp { .. }) {
                return Err(invalid(
                    tls_at,
                    format!("endpoint[{i}].tls"),
                    format!("TLS applies to tcp:// and https:// endpoints, not to \"{url_text}\""),
                ));
            }
            let file = |v: &toml::Spanned<String>, field: &str| -> Result<PathBuf, ConfigError> {
                let p = base_dir.join(v.get_ref());
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(invalid(
                        v.span().start,
                        format!("endpoint[{i}].tls.{field}"),
                        format!("file \"{}\" does not exist", p.display()),
                    ))
                }
            };
            // A DOCKER_CERT_PATH-style directory, or the files one by one (cert and key both or
            // neither: a daemon without --tlsverify needs no client certificate).
            let from_dir = |d: &toml::Spanned<String>| -> Result<TlsFiles, ConfigError> {
                let dir = base_dir.join(d.get_ref());
                let ca = dir.join("ca.pem");
                if !ca.is_file() {
                    return Err(invalid(
                        d.span().start,
                        format!("endpoint[{i}].tls.dir"),
                        format!(
                            "\"{}\" has no ca.pem; expected a DOCKER_CERT_PATH-style directory with ca.pem, cert.pem and key.pem",
                            dir.display()
                        ),
                    ));
                }
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                let pair = cert.is_file() && key.is_file();
                Ok(TlsFiles {
                    ca,
                    cert: pair.then_some(cert),
                    key: pair.then_some(key),
                })
            };
            match (&tls.dir, &tls.ca, &tls.cert, &tls.key) {
                (Some(d), None, None, None) => Some(from_dir(d)?),
                (None, Some(ca), cert, key) if cert.is_some() == key.is_some() => Some(TlsFiles {
                    ca: file(ca, "ca")?,
                    cert: cert.as_ref().map(|c| file(c, "cert")).transpose()?,
                    key: key.as_ref().map(|k| file(k, "key")).transpose()?,
                }),
                _ => {
                    return Err(invalid(
                        tls_at,
                        format!("endpoint[{i}].tls"),
                        "expected either dir = \"…\" (with ca.pem, cert.pem, key.pem) or ca = \"…\" with optionally both cert = \"…\" and key = \"…\"".into(),
                    ));
                }
            }
        }
    };
    if url_text.starts_with("https://") && tls.is_none() {
        return Err(invalid(
            ep.url.span().start,
            format!("endpoint[{i}].url"),
            format!("\"{url_text}\" needs tls = {{ ca = \"…\", cert = \"…\", key = \"…\" }}"),
        ));
    }

    let ssh_config = match &ep.ssh_config {
        None => None,
        Some(v) => {
            if !matches!(url, DockerUrl::Ssh { .. }) {
                return Err(invalid(
                    v.span().start,
                    format!("endpoint[{i}].ssh_config"),
                    format!("ssh_config applies to ssh:// endpoints, not to \"{url_text}\""),
                ));
            }
            let p = base_dir.join(v.get_ref());
            if !p.is_file() {
                return Err(invalid(
                    v.span().start,
                    format!("endpoint[{i}].ssh_config"),
                    format!("file \"{}\" does not exist", p.display()),
                ));
            }
            Some(p)
        }
    };

    let cluster = match ep.cluster {
        None => DEFAULT_CLUSTER.to_string(),
        Some(c) if c.get_ref().trim().is_empty() => {
            return Err(invalid(
                c.span().start,
                format!("endpoint[{i}].cluster"),
                "cluster name must not be empty; leave the key out for \"default\"".into(),
            ));
        }
        Some(c) => {
            check_printable(c.get_ref(), "a cluster name")
                .map_err(|m| invalid(c.span().start, format!("endpoint[{i}].cluster"), m))?;
            c.into_inner().trim().to_string()
        }
    };

    let stats_interval = match &ep.stats_interval_s {
        None => None,
        Some(v) => {
            let key = format!("endpoint[{i}].stats_interval_s");
            Some(Duration::from_secs(in_range(
                v,
                &key,
                1..=3600,
                " (seconds)",
                invalid,
            )?))
        }
    };
    let host_shell = match ep.host_shell {
        None => None,
        Some(argv) if argv.get_ref().first().is_none_or(|p| p.trim().is_empty()) => {
            return Err(invalid(
                argv.span().start,
                format!("endpoint[{i}].host_shell"),
                "needs a program and its arguments, e.g. [\"ssh\", \"-J\", \"bastion\", \"ops@10.0.0.5\"]"
                    .into(),
            ));
        }
        Some(argv) => Some(argv.into_inner()),
    };
    check_local_subnets(&ep.labels, i, invalid)?;
    Ok(EndpointSpec {
        name,
        url_text,
        url,
        cluster,
        labels: ep
            .labels
            .into_iter()
            .map(|(k, v)| (k, v.into_inner()))
            .collect(),
        tls,
        ssh_config,
        stats_interval,
        read_only_setting: ep.read_only,
        read_only: false,
        host_shell,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::parse_str;

    #[test]
    fn tls_takes_a_cert_directory_or_files_and_ssh_config_only_on_ssh() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem", "ssh.conf"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let file = dir.path().join("f.toml");
        let parse = |body: &str| parse_str(body, &file);
        let c =
            parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { dir = \".\" }\n")
                .unwrap();
        let tls = c.endpoints[0].tls.clone().unwrap();
        assert_eq!(tls.cert, Some(dir.path().join("./cert.pem")));
        let c = parse(
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { ca = \"ca.pem\" }\n",
        )
        .unwrap();
        assert_eq!(c.endpoints[0].tls.as_ref().unwrap().cert, None);
        let err = parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { ca = \"ca.pem\", cert = \"cert.pem\" }\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("endpoint[0].tls: expected either dir"),
            "{err}"
        );
        let c = parse(
            "[[endpoint]]\nname = \"a\"\nurl = \"ssh://h:2222\"\nssh_config = \"ssh.conf\"\n",
        )
        .unwrap();
        assert_eq!(c.endpoints[0].ssh_config, Some(dir.path().join("ssh.conf")));
        let err =
            parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h\"\nssh_config = \"ssh.conf\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("endpoint[0].ssh_config: ssh_config applies to ssh:// endpoints"),
            "{err}"
        );
    }
}
