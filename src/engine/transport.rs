//! How requests reach a daemon: one pooled HTTP client per endpoint, shared by everything that
//! talks to it (the session, the stats collector, log tails, the gate).
//!
//! bollard's own unix, TCP and TLS clients are built with `pool_max_idle_per_host(0)`: every
//! request opens a new connection (measured: 1,704 connections in 30 s of one-shot stats polling
//! on 55 containers, a TCP handshake per sample on TCP endpoints). fleetdeck instead hands
//! bollard a custom transport over a `hyper_util` client that keeps idle connections for a
//! while, so a stats round reuses the previous round's connections.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::UnixStream;

use crate::config::{DockerUrl, EndpointSpec};

/// Idle connections are closed after this long: longer than any sampling interval, so a stats
/// round reuses the last round's connections, short enough not to hold sockets on a daemon
/// nobody looks at.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Connects every request of one client to the same unix socket, whatever the URI's host.
#[derive(Clone)]
struct UnixConnector {
    path: Arc<PathBuf>,
}

impl tower_service::Service<Uri> for UnixConnector {
    type Response = TokioIo<UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let path = self.path.clone();
        Box::pin(async move {
            UnixStream::connect(path.as_path())
                .await
                .map(TokioIo::new)
                .map_err(|e| socket_error(&path, e))
        })
    }
}

/// Says which socket and what is wrong with it, in the words an operator would use.
fn socket_error(path: &std::path::Path, e: std::io::Error) -> std::io::Error {
    use std::io::ErrorKind as K;
    let what = match e.kind() {
        K::NotFound => format!("socket {} not found", path.display()),
        K::PermissionDenied => format!("permission denied on socket {}", path.display()),
        K::ConnectionRefused => format!("nothing listens on socket {}", path.display()),
        _ => format!("socket {}: {e}", path.display()),
    };
    std::io::Error::new(e.kind(), what)
}

fn pooled<C>(connector: C) -> Client<C, bollard_body::Body>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// The body type bollard sends, named through its public request type.
mod bollard_body {
    pub type Body = <super::BollardRequest as BodyOf>::Body;
    pub trait BodyOf {
        type Body;
    }
    impl<B> BodyOf for hyper::Request<B> {
        type Body = B;
    }
}

fn custom<C>(
    client: Client<C, bollard_body::Body>,
    addr: &str,
    timeout: u64,
) -> Result<Docker, bollard::errors::Error>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let transport = move |req: BollardRequest| {
        let client = client.clone();
        async move {
            client
                .request(req)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    let version: &ClientVersion = bollard::API_DEFAULT_VERSION;
    Docker::connect_with_custom_transport(transport, Some(addr), timeout, version)
}

/// Builds a new client for an endpoint (no request is made).
fn build(spec: &EndpointSpec, timeout: u64) -> Result<Docker, bollard::errors::Error> {
    let version = bollard::API_DEFAULT_VERSION;
    Ok(match (&spec.url, &spec.tls) {
        (DockerUrl::Unix(path), _) => {
            let connector = UnixConnector {
                path: Arc::new(path.clone()),
            };
            // The host is never used for routing; it only has to make a valid URI.
            custom(pooled(connector), "http://docker", timeout)?
        }
        (DockerUrl::Tcp { host, port }, None) => {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let mut http = HttpConnector::new();
            http.set_nodelay(true);
            http.set_keepalive(Some(Duration::from_secs(30)));
            custom(pooled(http), &format!("http://{host}:{port}"), timeout)?
        }
        (DockerUrl::Tcp { host, port }, Some(t)) => {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let addr = format!("tcp://{host}:{port}");
            Docker::connect_with_ssl(&addr, &t.key, &t.cert, &t.ca, timeout, version)?
        }
        (DockerUrl::Ssh { .. }, _) => {
            Docker::connect_with_ssh(&spec.url_text, timeout, version, None)?
        }
    })
}

/// What makes two endpoint specs share a client: the same address, the same TLS material, the
/// same request timeout.
fn key(spec: &EndpointSpec, timeout: u64) -> String {
    let tls = spec
        .tls
        .as_ref()
        .map(|t| {
            format!(
                "{}|{}|{}",
                t.ca.display(),
                t.cert.display(),
                t.key.display()
            )
        })
        .unwrap_or_default();
    format!("{}|{tls}|{timeout}", spec.url_text)
}

fn registry() -> &'static Mutex<HashMap<String, Docker>> {
    static CLIENTS: OnceLock<Mutex<HashMap<String, Docker>>> = OnceLock::new();
    CLIENTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The endpoint's shared client, built on first use. Clones share one connection pool (and
/// the negotiated API version).
pub(crate) fn client(spec: &EndpointSpec, timeout: u64) -> Result<Docker, bollard::errors::Error> {
    let key = key(spec, timeout);
    let mut clients = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(docker) = clients.get(&key) {
        return Ok(docker.clone());
    }
    let docker = build(spec, timeout)?;
    clients.insert(key, docker.clone());
    Ok(docker)
}
