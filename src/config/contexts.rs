//! Docker CLI contexts as endpoints, so `docker context` users get their fleet for free.
//!
//! Layout (Docker CLI): `$DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json` holds
//! `{"Name": …, "Endpoints": {"docker": {"Host": …}}}`; TLS material, when there is any, sits in
//! `$DOCKER_CONFIG/contexts/tls/<same id>/docker/{ca,cert,key}.pem`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::model::{EndpointSpec, TlsFiles};

const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, MetaEndpoint>,
}

#[derive(Debug, Deserialize)]
struct MetaEndpoint {
    #[serde(rename = "Host")]
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CliConfig {
    #[serde(rename = "currentContext")]
    current_context: Option<String>,
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join(".docker"))
        .unwrap_or_else(|| PathBuf::from(".docker"))
}

/// Every context under `config_dir`, sorted by name. A context whose metadata cannot be read is
/// an error naming the file: silently dropping a host is worse than refusing to start.
pub fn import_all(config_dir: &Path) -> Result<Vec<EndpointSpec>, ConfigError> {
    let meta_dir = config_dir.join("contexts").join("meta");
    let entries = match std::fs::read_dir(&meta_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: meta_dir,
                source,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path().join("meta.json");
        if !file.is_file() {
            continue;
        }
        let id = entry.file_name();
        out.push(read_context(
            &file,
            &config_dir.join("contexts").join("tls").join(id),
        )?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn read_context(file: &Path, tls_dir: &Path) -> Result<EndpointSpec, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| ConfigError::Source {
        origin: file.display().to_string(),
        message: format!("not a Docker context: {e}"),
    })?;
    let host = meta
        .endpoints
        .get("docker")
        .and_then(|e| e.host.clone())
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    let mut spec =
        EndpointSpec::from_url(Some(&meta.name), &host).map_err(|message| ConfigError::Source {
            origin: format!(
                "docker context \"{}\" ({})",
                crate::model::text::sanitize(&meta.name),
                file.display()
            ),
            message,
        })?;
    let docker_tls = tls_dir.join("docker");
    let (ca, cert, key) = (
        docker_tls.join("ca.pem"),
        docker_tls.join("cert.pem"),
        docker_tls.join("key.pem"),
    );
    if ca.is_file() && cert.is_file() && key.is_file() {
        spec.tls = Some(TlsFiles {
            ca,
            cert: Some(cert),
            key: Some(key),
        });
    }
    Ok(spec)
}

/// The endpoint used when nothing was configured: `DOCKER_HOST`, else the Docker CLI's current
/// context (`DOCKER_CONTEXT` or `currentContext` in config.json), else the local socket.
pub fn implicit_endpoint() -> Result<EndpointSpec, ConfigError> {
    if let Ok(host) = std::env::var("DOCKER_HOST")
        && !host.is_empty()
    {
        let mut spec =
            EndpointSpec::from_url(None, &host).map_err(|message| ConfigError::Source {
                origin: "DOCKER_HOST".into(),
                message,
            })?;
        if let Some(dir) = std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from)
            && std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty())
        {
            spec.tls = Some(TlsFiles {
                ca: dir.join("ca.pem"),
                cert: Some(dir.join("cert.pem")),
                key: Some(dir.join("key.pem")),
            });
        }
        return Ok(spec);
    }
    let config_dir = docker_config_dir();
    let current = std::env::var("DOCKER_CONTEXT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
            serde_json::from_str::<CliConfig>(&text)
                .ok()?
                .current_context
        })
        .filter(|c| c != "default");
    if let Some(name) = current {
        let contexts = import_all(&config_dir)?;
        return contexts
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ConfigError::Source {
                origin: "current Docker context".into(),
                message: format!(
                    "context \"{name}\" is selected but not found under {}",
                    config_dir.join("contexts").display()
                ),
            });
    }
    EndpointSpec::from_url(None, DEFAULT_SOCKET).map_err(|message| ConfigError::Source {
        origin: "default socket".into(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_context(root: &Path, id: &str, name: &str, host: &str, tls: bool) {
        let meta = root.join("contexts/meta").join(id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
        if tls {
            let dir = root.join("contexts/tls").join(id).join("docker");
            std::fs::create_dir_all(&dir).unwrap();
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(dir.join(f), "x").unwrap();
            }
        }
    }

    #[test]
    fn every_context_becomes_an_endpoint_with_its_tls_material() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "aaa", "prod-east", "tcp://10.0.0.5:2376", true);
        write_context(dir.path(), "bbb", "dev", "ssh://ops@dev-01", false);
        let eps = import_all(dir.path()).unwrap();
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].name, "dev");
        assert!(eps[0].tls.is_none());
        assert_eq!(eps[1].name, "prod-east");
        assert_eq!(eps[1].url_text, "tcp://10.0.0.5:2376");
        assert_eq!(
            eps[1].tls.as_ref().unwrap().ca,
            dir.path().join("contexts/tls/aaa/docker/ca.pem")
        );
    }

    #[test]
    fn no_contexts_dir_means_no_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        assert!(import_all(dir.path()).unwrap().is_empty());
    }
}
