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

use crate::model::DockerUrl;
use crate::model::stats::RawStats;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response head longer than this is not a daemon's.
const MAX_HEAD: usize = 16 * 1024;

/// A sample is about 2 KB; this much without a line end is not a stats stream.
const MAX_LINE: usize = 1 << 20;

/// Bytes asked for per `recv`: several seconds of samples, so one call usually empties the
/// socket.
const READ_CHUNK: usize = 16 * 1024;

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

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk, this many bytes to go.
    ChunkData(usize),
    /// After a chunk's data, expecting its CRLF.
    ChunkEnd,
    /// No chunking: the body runs until the connection closes.
    UntilClose,
    /// The last chunk was read.
    Done,
}

/// The body decoder: raw bytes in, the body's lines out. Kept apart from the socket so it can
/// be tested on any split of the bytes.
#[derive(Debug)]
struct Decoder {
    framing: Framing,
    /// Received, not yet decoded (a chunk-size line split by a read).
    raw: Vec<u8>,
    /// Decoded body not yet consumed: whatever follows the last complete line.
    body: Vec<u8>,
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

impl Decoder {
    fn new(chunked: bool) -> Self {
        Self {
            framing: if chunked {
                Framing::ChunkSize
            } else {
                Framing::UntilClose
            },
            raw: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Decodes `bytes` into the body. `Err` on a framing error.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if self.framing == Framing::UntilClose {
            self.body.extend_from_slice(bytes);
            return self.check_line_length();
        }
        self.raw.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            match self.framing {
                Framing::ChunkSize => {
                    let Some(end) = find_crlf(&self.raw[at..]) else {
                        if self.raw.len() - at > 1024 {
                            return Err(());
                        }
                        break;
                    };
                    let line = &self.raw[at..at + end];
                    // A size may carry extensions after ';'.
                    let hex = line.split(|b| *b == b';').next().unwrap_or_default();
                    let hex = std::str::from_utf8(hex).map_err(|_| ())?.trim();
                    let size = usize::from_str_radix(hex, 16).map_err(|_| ())?;
                    at += end + 2;
                    self.framing = if size == 0 {
                        Framing::Done
                    } else {
                        Framing::ChunkData(size)
                    };
                }
                Framing::ChunkData(left) => {
                    let take = left.min(self.raw.len() - at);
                    if take == 0 {
                        break;
                    }
                    self.body.extend_from_slice(&self.raw[at..at + take]);
                    at += take;
                    self.framing = if take == left {
                        Framing::ChunkEnd
                    } else {
                        Framing::ChunkData(left - take)
                    };
                }
                Framing::ChunkEnd => {
                    if self.raw.len() - at < 2 {
                        break;
                    }
                    if &self.raw[at..at + 2] != b"\r\n" {
                        return Err(());
                    }
                    at += 2;
                    self.framing = Framing::ChunkSize;
                }
                Framing::UntilClose | Framing::Done => break,
            }
        }
        self.raw.drain(..at);
        self.check_line_length()
    }

    fn check_line_length(&self) -> Result<(), ()> {
        if self.body.len() > MAX_LINE && !self.body.contains(&b'\n') {
            return Err(());
        }
        Ok(())
    }

    /// The newest complete, non-blank line, consuming every complete line.
    fn newest_line(&mut self) -> Option<Vec<u8>> {
        let last_end = self.body.iter().rposition(|b| *b == b'\n')?;
        let newest = self.body[..last_end]
            .split(|b| *b == b'\n')
            .rev()
            .find(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec);
        self.body.drain(..=last_end);
        newest
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
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
        let chunked = parse_head(&head)?;
        let mut decoder = Decoder::new(chunked);
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

    /// Reads what arrived since the last call, without waiting, and decodes the newest sample.
    pub(super) fn drain(&mut self, now: Instant) -> Drained {
        let mut out = Drained::default();
        let mut buf = [0u8; READ_CHUNK];
        let mut closed = false;
        let mut failed = false;
        loop {
            match self.socket.read(&mut buf) {
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
            out.ended = Some(!matches!(
                self.decoder.framing,
                Framing::Done | Framing::UntilClose
            ));
        } else if self.decoder.framing == Framing::Done {
            out.ended = Some(false);
        } else if now.duration_since(self.last_heard) > self.silence {
            out.ended = Some(true);
        }
        out
    }
}

/// Reads up to the end of the head; answers the head and whatever body bytes came with it.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut got = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before answering",
            ));
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = got.split_off(end + 4);
            return Ok((got, rest));
        }
        if got.len() > MAX_HEAD {
            return Err(io::Error::other("answer head too long"));
        }
    }
}

/// Checks the status is 200 and answers whether the body is chunked.
fn parse_head(head: &[u8]) -> io::Result<bool> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(io::Error::other(format!(
            "daemon answered {}",
            crate::model::text::sanitize(status.trim())
        )));
    }
    Ok(lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().to_ascii_lowercase().contains("chunked")
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(format!("{:x}\r\n{l}\r\n", l.len()).as_bytes());
        }
        out
    }

    #[test]
    fn any_split_of_the_chunks_gives_the_newest_line() {
        let bytes = chunked(&["{\"a\":1}\n", "{\"a\":2}\n", "{\"a\":3}\n"]);
        for cut in 0..bytes.len() {
            let mut d = Decoder::new(true);
            d.feed(&bytes[..cut]).expect("framing");
            let first = d.newest_line();
            d.feed(&bytes[cut..]).expect("framing");
            let second = d.newest_line();
            // The newest line is seen once: in the second read, or in the first when the cut
            // came after it.
            let newest = second.clone().or(first.clone());
            assert_eq!(newest.as_deref(), Some(&b"{\"a\":3}"[..]), "cut at {cut}");
            if let (Some(first), Some(_)) = (&first, &second) {
                assert!(first.starts_with(b"{\"a\":"), "cut at {cut}: {first:?}");
            }
            assert!(d.body.is_empty() && d.raw.is_empty());
        }
    }

    #[test]
    fn a_line_split_across_chunks_is_joined() {
        let mut d = Decoder::new(true);
        d.feed(&chunked(&["{\"a\":", "12}\n"])).expect("framing");
        assert_eq!(d.newest_line().as_deref(), Some(&b"{\"a\":12}"[..]));
    }

    #[test]
    fn the_last_chunk_ends_the_body_and_bad_framing_is_an_error() {
        let mut d = Decoder::new(true);
        d.feed(b"3;ext=1\r\nab\n\r\n0\r\n\r\n").expect("framing");
        assert_eq!(d.framing, Framing::Done);
        assert_eq!(d.newest_line().as_deref(), Some(&b"ab"[..]));
        assert!(Decoder::new(true).feed(b"zz\r\n").is_err());
        assert!(Decoder::new(true).feed(b"2\r\nabXY").is_err());
        assert!(Decoder::new(true).feed(&[b'1'; 2000]).is_err());
    }

    #[test]
    fn blank_lines_are_skipped_and_an_endless_line_is_refused() {
        let mut d = Decoder::new(false);
        d.feed(b"{\"x\":1}\n\n  \n").expect("framing");
        assert_eq!(d.newest_line().as_deref(), Some(&b"{\"x\":1}"[..]));
        let mut d = Decoder::new(false);
        assert!(d.feed(&vec![b'x'; MAX_LINE + 1]).is_err());
    }

    #[test]
    fn heads_say_whether_the_body_is_chunked_and_refuse_errors() {
        let ok =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
        assert!(parse_head(ok).expect("200"));
        assert!(
            !parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n").expect("200")
        );
        let err = parse_head(b"HTTP/1.1 404 Not Found\x1b[2J\r\n").expect_err("404");
        assert!(err.to_string().contains("404"));
        assert!(!err.to_string().contains('\x1b'));
    }
}
