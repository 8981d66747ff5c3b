//! A stats stream read in rounds instead of as it arrives.
//!
//! The daemon writes each streamed container's sample once a second, each at its own moment.
//! Read as it arrives (a task and a pooled connection per stream), every sample woke the engine
//! thread: about 70 wake-ups a second for 55 containers, and a quarter of the engine's CPU went
//! on switching in and out (BENCHMARKS.md, session 4). Here the connection is opened
//! asynchronously, then taken off the reactor: the kernel keeps what the daemon writes, and the
//! collector reads every stream without blocking once per round, parsing only the newest
//! sample. Fifty streams cost one wake-up a second and one `recv` each.
//!
//! Plain connections only (unix sockets and TCP): a TLS endpoint's containers are polled, and
//! so are an SSH endpoint's.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::engine::transport::http1::{Decoder, Framing, Head, read_head};
use crate::model::DockerUrl;
use crate::model::stats::RawStats;
use tokio::io::AsyncWriteExt;

/// Bytes asked for per `recv`: several seconds of samples, so one call usually empties the
/// socket.
pub(super) const READ_CHUNK: usize = 16 * 1024;

enum Socket {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Unix(s) => s.read(buf),
            Socket::Tcp(s) => s.read(buf),
        }
    }
}

/// What one round read from a stream.
#[derive(Debug, Default)]
pub(super) struct Drained {
    /// The newest sample, if one arrived since the last round.
    pub sample: Option<RawStats>,
    /// The stream is over: `Some(false)` when the daemon ended it (the container stopped),
    /// `Some(true)` when it failed (a broken connection, a bad answer, silence).
    pub ended: Option<bool>,
}

/// One open stats stream, off the reactor.
pub(super) struct Stream {
    socket: Socket,
    decoder: Decoder,
    /// When bytes last arrived: a stream silent for long is dead.
    last_heard: Instant,
    silence: Duration,
}

impl Stream {
    /// Connects, asks for `path` (a `stats?stream=true` path) and reads the answer's head, all
    /// within `timeout`. A status other than 200 is an error with the daemon's message.
    pub(super) async fn open(
        url: &DockerUrl,
        path: &str,
        timeout: Duration,
        silence: Duration,
    ) -> io::Result<Self> {
        tokio::time::timeout(timeout, Self::open_now(url, path, silence))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))?
    }

    async fn open_now(url: &DockerUrl, path: &str, silence: Duration) -> io::Result<Self> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: fleetdeck\r\nAccept: application/json\r\n\r\n"
        );
        let (head, rest, socket) = match url {
            DockerUrl::Unix(p) => {
                let mut s = crate::engine::transport::connect_unix(p).await?;
                s.write_all(request.as_bytes()).await?;
                let (head, rest) = read_head(&mut s).await?;
                (head, rest, Socket::Unix(s.into_std()?))
            }
            DockerUrl::Tcp { host, port } => {
                let mut s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                s.write_all(request.as_bytes()).await?;
                let (head, rest) = read_head(&mut s).await?;
                (head, rest, Socket::Tcp(s.into_std()?))
            }
            DockerUrl::Ssh { .. } => {
                return Err(io::Error::other("stats streams are not read over SSH"));
            }
        };
        let framing = parse_head(&head)?;
        let mut decoder = Decoder::new(framing);
        decoder
            .feed(&rest)
            .map_err(|()| io::Error::other("bad chunk framing"))?;
        Ok(Self {
            socket,
            decoder,
            last_heard: Instant::now(),
            silence,
        })
    }

    /// Reads what arrived since the last call into `buf` (not empty: a read of nothing is the
    /// daemon closing; [`READ_CHUNK`] usually empties the socket in one call), without
    /// waiting, and decodes the newest sample.
    pub(super) fn drain(&mut self, now: Instant, buf: &mut [u8]) -> Drained {
        let mut out = Drained::default();
        let mut closed = false;
        let mut failed = false;
        loop {
            match self.socket.read(buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    self.last_heard = now;
                    if self.decoder.feed(&buf[..n]).is_err() {
                        failed = true;
                        break;
                    }
                    if n < buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if let Some(line) = self.decoder.newest_line() {
            // An answer that does not parse ends the stream as failed: the container is then
            // polled (whose errors are reported) rather than silently unsampled.
            match super::parse(&line) {
                Ok(sample) => out.sample = Some(sample),
                Err(_) => failed = true,
            }
        }
        if failed {
            out.ended = Some(true);
        } else if closed {
            // A close in the middle of a chunked body is a broken connection.
            out.ended = Some(!self.decoder.ends_cleanly_on_close());
        } else if self.decoder.framing == Framing::Done {
            out.ended = Some(false);
        } else if now.duration_since(self.last_heard) > self.silence {
            out.ended = Some(true);
        }
        out
    }
}

/// Checks the status is 200 and answers how the body is framed.
fn parse_head(head: &[u8]) -> io::Result<Framing> {
    let head = Head::parse(head)?;
    if head.status != 200 {
        return Err(io::Error::other(format!(
            "daemon answered {}",
            head.status_line
        )));
    }
    Ok(head.framing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_say_whether_the_body_is_chunked_and_refuse_errors() {
        let ok =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
        assert_eq!(parse_head(ok).expect("200"), Framing::ChunkSize);
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n").expect("200"),
            Framing::UntilClose
        );
        let err = parse_head(b"HTTP/1.1 404 Not Found\x1b[2J\r\n").expect_err("404");
        assert!(err.to_string().contains("404"));
        assert!(!err.to_string().contains('\x1b'));
    }
}
