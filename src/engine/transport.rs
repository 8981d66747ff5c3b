//! How requests reach a daemon: one pooled HTTP client per endpoint, shared by everything that
//! talks to it (the session, the stats collector, log tails, the gate). It is built here for
//! [`EndpointClient`](super::gate::EndpointClient), which owns it and is handed to each task.
//!
//! bollard's own unix, TCP and TLS clients are built with `pool_max_idle_per_host(0)`: every
//! request opens a new connection (measured: 1,704 connections in 30 s of one-shot stats polling
//! on 55 containers, a TCP handshake per sample on TCP endpoints). fleetdeck instead hands
//! bollard a custom transport over a `hyper_util` client that keeps idle connections for a
//! while, so a stats round reuses the previous round's connections.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::model::{DockerUrl, EndpointSpec};
use bollard::{BollardRequest, ClientVersion, Docker};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::UnixStream;

pub(crate) mod http1;
mod plain;
pub mod ssh;
pub mod tls;

/// Idle connections are closed after this long: longer than any sampling interval, so a stats
/// round reuses the last round's connections, short enough not to hold sockets on a daemon
/// nobody looks at.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// What a pooled connection reads into at a time, and so the most its read buffer keeps. hyper's
/// adaptive default doubles the buffer after every read that fills it and never gives the room
/// back: a connection's buffer averaged 46 KB, and 40 endpoints' pools (8 connections each: the
/// sync's inspects, then the stats rounds) held 8 MB of them. A Docker answer's head is a few
/// hundred bytes and must fit (it does in hyper's default first read too); a larger body (a
/// list, an inspect) takes a few more reads.
const READ_BUF: usize = 8 * 1024;

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
            connect_unix(path.as_path())
                .await
                .map(TokioIo::new)
                .map_err(|e| socket_error(&path, e))
        })
    }
}

/// How long a connect to a busy unix socket is retried before its error counts.
const BUSY_RETRY_FOR: Duration = Duration::from_millis(1500);
/// The first and the longest pause between two tries.
const BUSY_FIRST: Duration = Duration::from_millis(5);
const BUSY_MAX: Duration = Duration::from_millis(200);

/// Connects to a unix socket, riding out a busy listener. A listener whose backlog is full (a
/// proxy with a short backlog under a burst, a daemon slow to accept) makes a non-blocking
/// connect fail at once with EAGAIN, and a signal can interrupt it (EINTR): both are retried
/// for up to [`BUSY_RETRY_FOR`] with short, jittered, growing pauses, so a burst of clients
/// does not retry in lockstep. Anything else (no socket, nothing listening, no permission)
/// fails at once. Every unix connect of the engine goes through here.
pub(crate) async fn connect_unix(path: &std::path::Path) -> std::io::Result<UnixStream> {
    use std::io::ErrorKind;
    let started = tokio::time::Instant::now();
    let mut pause = BUSY_FIRST;
    loop {
        match UnixStream::connect(path).await {
            Err(e)
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted)
                    && started.elapsed() + pause <= BUSY_RETRY_FOR =>
            {
                tokio::time::sleep(jittered(pause)).await;
                pause = (pause * 2).min(BUSY_MAX);
            }
            other => return other,
        }
    }
}

/// Somewhere between half and all of `pause`.
pub(super) fn jittered(pause: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A fresh random hasher key per call: randomness enough to spread retries, no extra crate.
    let noise = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let half = pause / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(noise % nanos)
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

/// Idle hyper connections kept per endpoint that has plain sockets (unix, TCP without TLS).
/// Its polls and inspects go out on those ([`plain`]); what is left on the hyper pool is the
/// session's sync (version, info, the lists, at once), log tails and the odd query, so a
/// sync's burst of connections need not sit idle for [`POOL_IDLE`] at 25 KB each. TLS and
/// SSH endpoints keep every idle connection: their stats rounds reuse them.
const PLAIN_ENDPOINT_MAX_IDLE: usize = 2;

fn pooled<C>(connector: C, max_idle: usize) -> Client<C, bollard_body::Body>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(max_idle)
        .pool_timer(TokioTimer::new())
        .http1_read_buf_exact_size(READ_BUF)
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

type Send1 = dyn Fn(
        BollardRequest,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<hyper::Response<hyper::body::Incoming>, std::io::Error>>
                + Send,
        >,
    > + Send
    + Sync;

/// A GET on the endpoint's pooled client that hands back the raw answer, for the one hot path
/// that does not need bollard's typed model: stats polling, where decoding every answer into
/// bollard's full `ContainerStatsResponse` (about 40 owned strings a sample, through a
/// line-framed stream decoder) cost more CPU than the rest of a sample together.
#[derive(Clone)]
pub(crate) struct RawGet {
    base: Arc<str>,
    send: Arc<Send1>,
    /// Unix and plain TCP endpoints: the sockets one-shot polls go out on instead.
    plain: Option<Arc<plain::PlainPool>>,
}

impl RawGet {
    /// `path` with its query, e.g. `/v1.41/containers/ID/stats?stream=false`. Answers the
    /// status and the whole body.
    pub(crate) async fn get(&self, path: &str) -> std::io::Result<(u16, hyper::body::Bytes)> {
        use http_body_util::BodyExt;
        let resp = self.open(path).await?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        Ok((status, body))
    }

    /// Whether [`RawGet::one_shot`] goes out on plain sockets (unix, TCP without TLS) rather
    /// than through the endpoint's hyper pool.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain.is_some()
    }

    /// A GET answered whole and small (a one-shot stats poll): on the endpoint's plain-socket
    /// pool when it has one (unix, TCP without TLS: see [`plain`]), else as [`RawGet::get`].
    pub(crate) async fn one_shot(&self, path: &str) -> std::io::Result<(u16, hyper::body::Bytes)> {
        self.one_shot_up_to(path, http1::MAX_LINE).await
    }

    /// [`RawGet::one_shot`] for a larger document (an inspect): on plain sockets a body of up
    /// to [`http1::MAX_DOCUMENT`] bytes is read.
    pub(crate) async fn document(&self, path: &str) -> std::io::Result<(u16, hyper::body::Bytes)> {
        self.one_shot_up_to(path, http1::MAX_DOCUMENT).await
    }

    async fn one_shot_up_to(
        &self,
        path: &str,
        max_body: usize,
    ) -> std::io::Result<(u16, hyper::body::Bytes)> {
        match &self.plain {
            Some(pool) => {
                let (status, body) = pool.get(path, max_body).await?;
                Ok((status, body.into()))
            }
            None => self.get(path).await,
        }
    }

    /// The same GET, answered as soon as the head arrives: the body is read as it comes (a
    /// stats stream).
    pub(crate) async fn open(
        &self,
        path: &str,
    ) -> std::io::Result<hyper::Response<hyper::body::Incoming>> {
        let uri: Uri = format!("{}{path}", self.base)
            .parse()
            .map_err(std::io::Error::other)?;
        let req = hyper::Request::get(uri)
            .body(bollard::body_full(hyper::body::Bytes::new()))
            .map_err(std::io::Error::other)?;
        (self.send)(req).await
    }
}

/// Whether a byte stands as it is in a request path segment: letters, digits, `-`, `_`, `.`,
/// which is every byte of the IDs and names Docker gives containers, services and nodes.
pub(crate) fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// The daemon's own words in an error answer (`{"message": …}`), if the body is that.
pub(crate) fn daemon_said(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    serde_json::from_slice::<Message>(body)
        .ok()
        .map(|m| m.message)
}

fn custom<C>(
    client: Client<C, bollard_body::Body>,
    addr: &str,
    timeout: u64,
    plain: Option<plain::Target>,
) -> Result<(Docker, RawGet), bollard::errors::Error>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let raw_client = client.clone();
    let raw = RawGet {
        plain: plain.map(|target| plain::PlainPool::new(target, POOL_IDLE)),
        base: Arc::from(addr),
        send: Arc::new(move |req: BollardRequest| {
            let client = raw_client.clone();
            Box::pin(async move {
                client.request(req).await.map_err(|e| {
                    // hyper_util's own text is only "client error (Connect)": keep the causes.
                    let mut text = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        text.push_str(": ");
                        text.push_str(&c.to_string());
                        cause = c.source();
                    }
                    std::io::Error::other(text)
                })
            })
        }),
    };
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
    let docker = Docker::connect_with_custom_transport(transport, Some(addr), timeout, version)?;
    Ok((docker, raw))
}

/// TCP with keepalive probes: behind a partition an idle stream (events, a quiet log tail)
/// otherwise waits forever; with these the kernel gives up on it after about 15 s.
fn tcp() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_keepalive(Some(Duration::from_secs(5)));
    http.set_keepalive_interval(Some(Duration::from_secs(5)));
    http.set_keepalive_retries(Some(2));
    // No connect timeout of its own: every request's deadline bounds the connect too, and
    // reports it as what it is to an operator, "no answer for N s".
    http
}

/// Builds a new client for an endpoint (no request is made): bollard's, and the raw GETs on
/// the same pool. Only [`EndpointClient`](super::gate::EndpointClient) calls this, once per
/// endpoint; it keeps the bollard client from every task but the gate.
pub(super) fn build(
    spec: &EndpointSpec,
    timeout: u64,
) -> Result<(Docker, RawGet), bollard::errors::Error> {
    Ok(match (&spec.url, &spec.tls) {
        (DockerUrl::Unix(path), _) => {
            let path = Arc::new(path.clone());
            let plain = plain::Target::Unix(path.clone());
            let connector = UnixConnector { path };
            // The host is never used for routing; it only has to make a valid URI.
            custom(
                pooled(connector, PLAIN_ENDPOINT_MAX_IDLE),
                "http://docker",
                timeout,
                Some(plain),
            )?
        }
        (DockerUrl::Tcp { host, port }, None) => {
            let plain = plain::Target::Tcp {
                host: host.clone(),
                port: *port,
            };
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let addr = format!("http://{host}:{port}");
            custom(
                pooled(tcp(), PLAIN_ENDPOINT_MAX_IDLE),
                &addr,
                timeout,
                Some(plain),
            )?
        }
        (DockerUrl::Tcp { host, port }, Some(t)) => {
            let connector = tls::TlsConnector::new(host, *port, t, tcp()).map_err(|e| {
                bollard::errors::Error::IOError {
                    err: std::io::Error::other(format!("endpoint {}: {e}", spec.name)),
                }
            })?;
            custom(
                pooled(connector, usize::MAX),
                "http://docker",
                timeout,
                None,
            )?
        }
        (DockerUrl::Ssh { user, host, port }, _) => {
            let connector = ssh::SshConnector::new(ssh::SshTarget {
                user: user.clone(),
                host: host.clone(),
                port: *port,
                config: spec.ssh_config.clone(),
                connect_timeout: Duration::from_secs(timeout),
            })
            .map_err(|err| bollard::errors::Error::IOError { err })?;
            custom(
                pooled(connector, usize::MAX),
                "http://docker",
                timeout,
                None,
            )?
        }
    })
}
