//! TLS endpoints (`tcp://host:2376` with a CA, and usually a client certificate), pooled like
//! the others: bollard's `connect_with_ssl` keeps no idle connections, so every request paid a
//! TCP and TLS handshake. rustls verifies the daemon's certificate against the endpoint's CA,
//! always; there is no switch to turn that off.
//!
//! Handshake failures are translated into what is wrong and what to change, naming the
//! endpoint's address: unknown issuer, expired, name mismatch, missing client certificate.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::model::TlsFiles;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Reads the endpoint's CA, certificate and key into a rustls client configuration.
pub fn client_config(tls: &TlsFiles) -> Result<rustls::ClientConfig, String> {
    let ca = tls.ca.display();
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.ca)
        .and_then(|it| it.collect())
        .map_err(|e| format!("tls.ca \"{ca}\": {e}"))?;
    if certs.is_empty() {
        return Err(format!("tls.ca \"{ca}\" holds no PEM certificate"));
    }
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("tls.ca \"{ca}\": not a usable CA certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots);
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect())
                .map_err(|e| format!("tls.cert \"{}\": {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!(
                    "tls.cert \"{}\" holds no PEM certificate",
                    cert.display()
                ));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("tls.key \"{}\": {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("tls.cert/tls.key do not form a usable pair: {e}"))
        }
        // Each connection gets its own `NoClientCert` (see `TlsConnector::call`).
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The client side without a certificate. rustls asks it only when the daemon's handshake
/// requests one; the answer is still "none", but the question is remembered so the connector
/// can say so at once. Otherwise TLS 1.3 reports the refusal only after the handshake, on the
/// first read, which hyper may see as nothing more than "connection was not ready".
#[derive(Debug, Default)]
struct NoClientCert {
    asked: std::sync::atomic::AtomicBool,
}

impl rustls::client::ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _acceptable_issuers: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// What a TLS failure means, for the endpoint at `addr`.
pub fn explain(addr: &str, e: &rustls::Error, sent_cert: bool) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!(
                "TLS to {addr}: unknown issuer: the daemon's certificate is not signed by the CA in \
                 tls.ca"
            ),
            C::Expired | C::ExpiredContext { .. } => {
                format!("TLS to {addr}: the daemon's certificate has expired")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => format!(
                "TLS to {addr}: the daemon's certificate is not valid yet (check both clocks)"
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "TLS to {addr}: name mismatch: the daemon's certificate is not issued for this \
                 address"
            ),
            other => format!("TLS to {addr}: the daemon's certificate is not accepted: {other:?}"),
        },
        E::AlertReceived(A::CertificateRequired) => format!(
            "TLS to {addr}: missing client certificate: the daemon requires one (set tls.cert \
             and tls.key)"
        ),
        E::AlertReceived(A::HandshakeFailure | A::BadCertificate) if !sent_cert => format!(
            "TLS to {addr}: missing client certificate: the daemon refused the handshake without \
             one (set tls.cert and tls.key)"
        ),
        E::AlertReceived(
            a @ (A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate),
        ) => format!(
            "TLS to {addr}: the daemon refused our client certificate ({a:?}): is it signed by \
             the daemon's CA and still valid?"
        ),
        other => format!("TLS to {addr}: {other}"),
    }
}

/// The rustls error inside an I/O error, if that is what it is.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A hyper connector: TCP (with keepalive), then a verified TLS handshake.
#[derive(Clone)]
pub struct TlsConnector {
    tcp: HttpConnector,
    tls: tokio_rustls::TlsConnector,
    config: Arc<rustls::ClientConfig>,
    host: String,
    port: u16,
    sent_cert: bool,
}

impl TlsConnector {
    pub fn new(
        host: &str,
        port: u16,
        files: &TlsFiles,
        tcp: HttpConnector,
    ) -> Result<Self, String> {
        let config = Arc::new(client_config(files)?);
        Ok(Self {
            tcp,
            tls: tokio_rustls::TlsConnector::from(config.clone()),
            config,
            host: host.to_string(),
            port,
            sent_cert: files.cert.is_some(),
        })
    }

    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl tower_service::Service<Uri> for TlsConnector {
    type Response = TokioIo<TlsWire>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        // Without a certificate of our own, each connection gets its own resolver, to learn
        // whether this daemon asks for one.
        let (tls, no_cert) = if self.sent_cert {
            (self.tls.clone(), None)
        } else {
            let resolver = Arc::new(NoClientCert::default());
            let mut config = (*self.config).clone();
            config.client_auth_cert_resolver = resolver.clone();
            (
                tokio_rustls::TlsConnector::from(Arc::new(config)),
                Some(resolver),
            )
        };
        let addr = self.addr();
        let host = self.host.clone();
        let sent_cert = self.sent_cert;
        Box::pin(async move {
            let uri: Uri = format!("http://{addr}/")
                .parse()
                .map_err(|e| io::Error::other(format!("{addr}: {e}")))?;
            let stream: TcpStream = tower_service::Service::call(&mut tcp, uri)
                .await
                .map_err(|e| io::Error::other(format!("{addr}: {}", crate::engine::innermost(&e))))?
                .into_inner();
            let name = ServerName::try_from(host.clone()).map_err(|e| {
                io::Error::other(format!("\"{host}\" is not a TLS server name: {e}"))
            })?;
            let stream = tls
                .connect(name, stream)
                .await
                .map_err(|e| match rustls_error(&e) {
                    Some(r) => io::Error::other(explain(&addr, r, sent_cert)),
                    None => io::Error::new(e.kind(), format!("TLS to {addr}: {e}")),
                })?;
            if no_cert.is_some_and(|r| r.asked.load(std::sync::atomic::Ordering::SeqCst)) {
                return Err(io::Error::other(explain(
                    &addr,
                    &rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
                    false,
                )));
            }
            Ok(TokioIo::new(TlsWire {
                inner: stream,
                addr,
                sent_cert,
            }))
        })
    }
}

/// A TLS connection whose errors say what they mean: in TLS 1.3 a daemon refuses a missing
/// client certificate only after the handshake, on the first read.
pub struct TlsWire {
    inner: tokio_rustls::client::TlsStream<TcpStream>,
    addr: String,
    sent_cert: bool,
}

impl TlsWire {
    fn map(&self, e: io::Error) -> io::Error {
        match rustls_error(&e) {
            Some(r) => io::Error::new(e.kind(), explain(&self.addr, r, self.sent_cert)),
            None => e,
        }
    }
}

impl AsyncRead for TlsWire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }
}

impl AsyncWrite for TlsWire {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connection for TlsWire {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::explain;
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};

    #[test]
    fn tls_failures_name_the_endpoint_and_the_cause() {
        let a = "10.203.6.2:2376";
        let says = |e: E, sent: bool| explain(a, &e, sent);
        assert!(says(E::InvalidCertificate(C::UnknownIssuer), true).contains("unknown issuer"));
        assert!(says(E::InvalidCertificate(C::Expired), true).contains("has expired"));
        assert!(says(E::InvalidCertificate(C::NotValidForName), true).contains("name mismatch"));
        assert!(
            says(E::AlertReceived(A::CertificateRequired), false)
                .contains("missing client certificate")
        );
        assert!(
            says(E::AlertReceived(A::BadCertificate), true)
                .contains("refused our client certificate")
        );
        assert!(
            says(E::InvalidCertificate(C::UnknownIssuer), true)
                .starts_with("TLS to 10.203.6.2:2376: ")
        );
    }
}
