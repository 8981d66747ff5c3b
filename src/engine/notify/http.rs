//! One POST to a notify target: hyper's HTTP/1 client on a TCP connection of its own, with
//! rustls for `https://` (verified against the system's CA bundle, never optional).

use std::sync::{Arc, OnceLock};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::model::alerts::NotifyTarget;

/// Where CA bundles live on the common distributions; `SSL_CERT_FILE` comes first.
const CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Biggest answer read (and thrown away): a receiver cannot make fleetdeck hold more.
const MAX_ANSWER: usize = 64 * 1024;

/// Shared by every target's task: the TLS configuration is read once, when first needed.
#[derive(Debug, Default)]
pub(super) struct Client {
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl Client {
    pub(super) fn new() -> Self {
        Self::default()
    }

    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.tls.get_or_init(tls_config).clone()
    }

    /// POSTs `body` as JSON to the target within its deadline; the answer's status code, or
    /// why there was none ("connection refused", "no answer within 10 s").
    pub(super) async fn post(&self, target: &NotifyTarget, body: Vec<u8>) -> Result<u16, String> {
        match tokio::time::timeout(target.timeout, self.try_post(target, body)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {} s",
                target.timeout.as_secs_f64()
            )),
        }
    }

    async fn try_post(&self, target: &NotifyTarget, body: Vec<u8>) -> Result<u16, String> {
        let (uri, host) = parse(target)?;
        let authority = uri
            .authority()
            .map_or_else(|| host.clone(), |a| a.as_str().to_string());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("fleetdeck/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in &target.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        exchange(self.open(&uri, &host).await?, req).await
    }

    /// Whether the target can be reached: a connection and, for `https://`, a verified TLS
    /// handshake, within its deadline; nothing is sent (`fleetdeck check` asks this).
    pub(super) async fn reach(&self, target: &NotifyTarget) -> Result<(), String> {
        let attempt = async {
            let (uri, host) = parse(target)?;
            self.open(&uri, &host).await.map(drop)
        };
        match tokio::time::timeout(target.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no connection within {} s",
                target.timeout.as_secs_f64()
            )),
        }
    }

    /// A connection to the target's host: plain TCP, or TLS over it for `https://`.
    async fn open(&self, uri: &hyper::Uri, host: &str) -> Result<Box<dyn Io>, String> {
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connect to {host}:{port}: {}", plain_io(&e)))?;
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(Box::new(tcp));
        }
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("\"{host}\" is not a TLS server name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls()?)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {host}:{port}: {e}"))?;
        Ok(Box::new(tls))
    }
}

/// A connection either way (TCP or TLS over it).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The target's URL and host (without IPv6 brackets).
fn parse(target: &NotifyTarget) -> Result<(hyper::Uri, String), String> {
    let uri: hyper::Uri = target.url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let host = uri
        .host()
        .ok_or("the URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((uri, host))
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

/// Sends the request on `io` and reads the answer (up to [`MAX_ANSWER`] of its body, so the
/// receiver sees a clean end of the exchange).
async fn exchange<S>(io: S, req: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let conn = tokio::spawn(conn);
    let answer = sender.send_request(req).await;
    let result = match answer {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let mut body = resp.into_body();
            let mut read = 0;
            while read < MAX_ANSWER {
                match body.frame().await {
                    Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                    _ => break,
                }
            }
            Ok(status)
        }
        Err(e) => Err(match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        }),
    };
    conn.abort();
    result
}

/// rustls with the system's CA bundle. An error (no bundle found) fails every `https://`
/// attempt with this reason, in the status line, rather than fleetdeck's start.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = env
        .into_iter()
        .chain(CA_BUNDLES.iter().map(std::path::PathBuf::from));
    let mut roots = rustls::RootCertStore::empty();
    let mut tried = Vec::new();
    for path in candidates {
        tried.push(path.display().to_string());
        let Ok(certs) = CertificateDer::pem_file_iter(&path) else {
            continue;
        };
        let certs: Vec<CertificateDer<'static>> = certs.filter_map(Result::ok).collect();
        let (added, _) = roots.add_parsable_certificates(certs);
        if added > 0 {
            break;
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "no CA certificates for https (looked in {}; set SSL_CERT_FILE)",
            tried.join(", ")
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
