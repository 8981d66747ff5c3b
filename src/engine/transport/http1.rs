//! The one HTTP/1.1 reader of the engine's plain sockets (issue 17): a response head, then a
//! body framed by `Content-Length`, chunks or the connection's close. Stats streams
//! (`engine::stats::stream`) read bodies line by line with it; one-shot polls
//! ([`super::plain`]) read a whole answer and ask whether the socket can be used again.
//! Everything here is fed bytes, not sockets, so it is tested on any split of them.

use std::io;

/// A response head longer than this is not a daemon's.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// A sample is about 2 KB; this much without a line end is not a stats answer.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Framing {
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk, this many bytes to go.
    ChunkData(usize),
    /// After a chunk's data, expecting its CRLF.
    ChunkEnd,
    /// After the last chunk: trailer lines up to an empty one. Read to the end so a socket
    /// used again starts at the next answer's head.
    Trailers,
    /// `Content-Length`: this many bytes to go.
    Length(usize),
    /// No chunking, no length: the body runs until the connection closes.
    UntilClose,
    /// The body is complete.
    Done,
}

/// The body decoder: raw bytes in, the body out. Kept apart from the socket so it can be
/// tested on any split of the bytes.
#[derive(Debug)]
pub(crate) struct Decoder {
    pub(crate) framing: Framing,
    /// Received, not yet decoded (a chunk-size line split by a read).
    raw: Vec<u8>,
    /// Decoded body not yet consumed.
    pub(crate) body: Vec<u8>,
    /// Bytes that came after the end of the body: a socket holding them is not reused.
    pub(crate) surplus: bool,
    /// The most body kept without a line end ([`MAX_LINE`] unless the reader says otherwise).
    max_line: usize,
}

impl Decoder {
    pub(crate) fn new(framing: Framing) -> Self {
        Self {
            max_line: MAX_LINE,
            framing: match framing {
                Framing::Length(0) => Framing::Done,
                f => f,
            },
            raw: Vec::new(),
            body: Vec::new(),
            surplus: false,
        }
    }

    /// Decodes `bytes` into the body. `Err` on a framing error.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), ()> {
        match self.framing {
            Framing::UntilClose => {
                self.body.extend_from_slice(bytes);
                return self.check_line_length();
            }
            Framing::Length(left) => {
                let take = left.min(bytes.len());
                self.body.extend_from_slice(&bytes[..take]);
                self.surplus |= take < bytes.len();
                self.framing = if take == left {
                    Framing::Done
                } else {
                    Framing::Length(left - take)
                };
                return self.check_line_length();
            }
            Framing::Done => {
                self.surplus |= !bytes.is_empty();
                return Ok(());
            }
            _ => {}
        }
        self.raw.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            match self.framing {
                Framing::ChunkSize | Framing::Trailers => {
                    let Some(end) = find_crlf(&self.raw[at..]) else {
                        if self.raw.len() - at > 1024 {
                            return Err(());
                        }
                        break;
                    };
                    if self.framing == Framing::Trailers {
                        // A trailer line is skipped; the empty one ends the answer.
                        at += end + 2;
                        if end == 0 {
                            self.framing = Framing::Done;
                        }
                        continue;
                    }
                    let line = &self.raw[at..at + end];
                    // A size may carry extensions after ';'.
                    let hex = line.split(|b| *b == b';').next().unwrap_or_default();
                    let hex = std::str::from_utf8(hex).map_err(|_| ())?.trim();
                    let size = usize::from_str_radix(hex, 16).map_err(|_| ())?;
                    at += end + 2;
                    self.framing = if size == 0 {
                        Framing::Trailers
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
                Framing::Done => {
                    self.surplus |= at < self.raw.len();
                    at = self.raw.len();
                    break;
                }
                Framing::UntilClose | Framing::Length(_) => break,
            }
        }
        self.raw.drain(..at);
        if self.raw.is_empty() {
            // A chunked body's raw bytes pass through here: give the room back.
            self.raw = Vec::new();
        }
        self.check_line_length()
    }

    /// Whether the body ended cleanly: its last chunk (the trailers may be lost with the
    /// connection) or its length read, or the close that ends an unframed body.
    pub(crate) fn ends_cleanly_on_close(&self) -> bool {
        matches!(
            self.framing,
            Framing::Done | Framing::Trailers | Framing::UntilClose
        )
    }

    fn check_line_length(&self) -> Result<(), ()> {
        if self.body.len() > self.max_line && !self.body.contains(&b'\n') {
            return Err(());
        }
        Ok(())
    }

    /// The newest complete, non-blank line, consuming every complete line.
    pub(crate) fn newest_line(&mut self) -> Option<Vec<u8>> {
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

/// A response head, as far as fleetdeck reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    /// The status line, sanitised: what an error says the daemon answered.
    pub(crate) status_line: String,
    pub(crate) framing: Framing,
    /// Whether the daemon keeps the connection open after this answer (HTTP/1.1 without
    /// `Connection: close`, or HTTP/1.0 with `keep-alive`).
    pub(crate) keep_alive: bool,
}

impl Head {
    /// Parses a head (without its final empty line or with it).
    pub(crate) fn parse(head: &[u8]) -> io::Result<Self> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default().trim();
        let mut words = status_line.split_whitespace();
        let version = words.next().unwrap_or_default();
        let status = words
            .next()
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|_| version.starts_with("HTTP/1."))
            .ok_or_else(|| {
                io::Error::other(format!(
                    "not an HTTP answer: {}",
                    crate::model::text::sanitize(status_line)
                ))
            })?;
        let mut chunked = false;
        let mut length = None;
        let mut keep_alive = version != "HTTP/1.0";
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().to_ascii_lowercase());
            if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked |= v.contains("chunked");
            } else if k.eq_ignore_ascii_case("content-length") {
                length = Some(
                    v.parse::<usize>()
                        .map_err(|_| io::Error::other("bad Content-Length"))?,
                );
            } else if k.eq_ignore_ascii_case("connection") {
                if v.split(',').any(|t| t.trim() == "close") {
                    keep_alive = false;
                } else if v.split(',').any(|t| t.trim() == "keep-alive") {
                    keep_alive = true;
                }
            }
        }
        // No body for these whatever the headers say (RFC 9112 section 6.3).
        let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
        let framing = match (bodiless, chunked, length) {
            (true, _, _) => Framing::Done,
            (_, true, _) => Framing::ChunkSize,
            (_, _, Some(n)) => Framing::Length(n),
            _ => Framing::UntilClose,
        };
        Ok(Self {
            status,
            status_line: crate::model::text::sanitize(status_line).into_owned(),
            framing,
            keep_alive,
        })
    }
}

/// Where the head ends in `got`: the index just past its empty line.
pub(crate) fn head_end(got: &[u8]) -> Option<usize> {
    got.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Reads up to the end of the head; answers the head and whatever body bytes came with it.
pub(crate) async fn read_head<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
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
        if let Some(end) = head_end(&got) {
            let rest = got.split_off(end);
            return Ok((got, rest));
        }
        if got.len() > MAX_HEAD {
            return Err(io::Error::other("answer head too long"));
        }
    }
}

/// A whole answer, read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The socket may carry the next request: the daemon keeps it open, the body was framed
    /// and read to its end, and nothing came after it.
    pub(crate) reusable: bool,
}

/// One answer read from bytes as they arrive: the head, then the body to its end.
#[derive(Debug)]
pub(crate) struct AnswerReader {
    /// The head so far, until it is complete.
    head: Vec<u8>,
    body: Option<(Head, Decoder)>,
    /// Whether any byte of the answer arrived: a reused socket that closes before one did was
    /// closed by the daemon while idle, and the request can be sent again on a new one.
    pub(crate) heard: bool,
    /// The longest body taken: a one-shot stats answer is about 2 KB ([`MAX_LINE`]), an
    /// inspect tens of KB ([`MAX_DOCUMENT`]).
    max_body: usize,
}

/// The longest one-shot answer other than a stats sample (an inspect: tens of KB, more with
/// thousands of labels or environment variables) that is read.
pub(crate) const MAX_DOCUMENT: usize = 64 << 20;

impl Default for AnswerReader {
    fn default() -> Self {
        Self::new(MAX_LINE)
    }
}

/// Why an answer could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The connection closed before any byte of the answer.
    ClosedBeforeAnswer,
    Bad(io::Error),
}

impl AnswerReader {
    /// A reader that takes a body of at most `max_body` bytes.
    pub(crate) fn new(max_body: usize) -> Self {
        Self {
            head: Vec::new(),
            body: None,
            heard: false,
            max_body,
        }
    }

    /// Takes the next bytes read. `Ok(true)` once the answer is complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<bool, ReadError> {
        self.heard |= !bytes.is_empty();
        let rest;
        let body_bytes = if self.body.is_some() {
            bytes
        } else {
            self.head.extend_from_slice(bytes);
            let Some(end) = head_end(&self.head) else {
                if self.head.len() > MAX_HEAD {
                    return Err(ReadError::Bad(io::Error::other("answer head too long")));
                }
                return Ok(false);
            };
            rest = self.head.split_off(end);
            let head = Head::parse(&self.head).map_err(ReadError::Bad)?;
            self.head = Vec::new();
            let mut decoder = Decoder::new(head.framing);
            decoder.max_line = self.max_body;
            self.body = Some((head, decoder));
            &rest[..]
        };
        let Some((_, decoder)) = &mut self.body else {
            return Ok(false);
        };
        if decoder.feed(body_bytes).is_err() {
            return Err(ReadError::Bad(io::Error::other("bad chunk framing")));
        }
        // A one-shot stats answer is about 2 KB: a daemon (or whatever answers on its socket)
        // sending more than MAX_LINE is not answering a stats poll, and must not be buffered
        // for the whole request timeout, 64 polls at a time.
        if decoder.body.len() > self.max_body {
            return Err(ReadError::Bad(io::Error::other(format!(
                "answer body over {} KB: not what was asked for",
                self.max_body >> 10
            ))));
        }
        Ok(decoder.framing == Framing::Done)
    }

    /// The connection closed: the answer if that ends it (an unframed body, or a chunked one
    /// whose trailers were cut), else the error.
    pub(crate) fn closed(self) -> Result<Answer, ReadError> {
        match self.body {
            None if !self.heard => Err(ReadError::ClosedBeforeAnswer),
            None => Err(ReadError::Bad(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed in the middle of the answer's head",
            ))),
            Some((head, decoder)) if decoder.ends_cleanly_on_close() => Ok(Answer {
                status: head.status,
                body: decoder.body,
                reusable: false,
            }),
            Some(_) => Err(ReadError::Bad(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed in the middle of the answer",
            ))),
        }
    }

    /// The complete answer, once [`AnswerReader::feed`] said so.
    pub(crate) fn finish(self) -> Option<Answer> {
        let (head, decoder) = self.body?;
        (decoder.framing == Framing::Done).then_some(Answer {
            status: head.status,
            reusable: head.keep_alive && !decoder.surplus,
            body: decoder.body,
        })
    }
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
            let mut d = Decoder::new(Framing::ChunkSize);
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
        let mut d = Decoder::new(Framing::ChunkSize);
        d.feed(&chunked(&["{\"a\":", "12}\n"])).expect("framing");
        assert_eq!(d.newest_line().as_deref(), Some(&b"{\"a\":12}"[..]));
    }

    #[test]
    fn the_last_chunk_ends_the_body_and_bad_framing_is_an_error() {
        let mut d = Decoder::new(Framing::ChunkSize);
        d.feed(b"3;ext=1\r\nab\n\r\n0\r\n\r\n").expect("framing");
        assert_eq!(d.framing, Framing::Done);
        assert!(!d.surplus);
        assert_eq!(d.newest_line().as_deref(), Some(&b"ab"[..]));
        // Trailers are read past; the last chunk without its final CRLF is not the end yet.
        let mut d = Decoder::new(Framing::ChunkSize);
        d.feed(b"1\r\na\r\n0\r\nX-T: 1\r\n").expect("framing");
        assert_eq!(d.framing, Framing::Trailers);
        assert!(d.ends_cleanly_on_close());
        d.feed(b"\r\n").expect("framing");
        assert_eq!(d.framing, Framing::Done);
        assert!(Decoder::new(Framing::ChunkSize).feed(b"zz\r\n").is_err());
        assert!(Decoder::new(Framing::ChunkSize).feed(b"2\r\nabXY").is_err());
        assert!(
            Decoder::new(Framing::ChunkSize)
                .feed(&[b'1'; 2000])
                .is_err()
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_an_endless_line_is_refused() {
        let mut d = Decoder::new(Framing::UntilClose);
        d.feed(b"{\"x\":1}\n\n  \n").expect("framing");
        assert_eq!(d.newest_line().as_deref(), Some(&b"{\"x\":1}"[..]));
        let mut d = Decoder::new(Framing::UntilClose);
        assert!(d.feed(&vec![b'x'; MAX_LINE + 1]).is_err());
    }

    #[test]
    fn heads_say_how_the_body_is_framed_and_whether_the_socket_stays_open() {
        let head = |s: &str| Head::parse(s.as_bytes()).expect(s);
        let h =
            head("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked");
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (200, Framing::ChunkSize, true)
        );
        let h = head("HTTP/1.1 404 Not Found\r\ncontent-length: 42\r\nConnection: close\r\n\r\n");
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (404, Framing::Length(42), false)
        );
        assert_eq!(h.status_line, "HTTP/1.1 404 Not Found");
        let h = head("HTTP/1.0 200 OK\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        assert!(head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive").keep_alive);
        assert_eq!(head("HTTP/1.1 204 No Content").framing, Framing::Done);
        let err = Head::parse(b"HTTP/1.1 x\x1b[2J\r\n").expect_err("no status");
        assert!(!err.to_string().contains('\x1b'));
        assert!(Head::parse(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\nContent-Length: -1").is_err());
    }

    /// A daemon's chunked one-shot answer, then the same with a length.
    fn answers() -> [(Vec<u8>, &'static [u8]); 2] {
        let body: &'static [u8] = b"{\"read\":\"2026-12-03T00:00:00Z\"}\n";
        let mut chunked_answer =
            b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        chunked_answer.extend_from_slice(&chunked(&["{\"read\":", "\"2026-12-03T00:00:00Z\"}\n"]));
        chunked_answer.extend_from_slice(b"0\r\n\r\n");
        let length_answer = [
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            body,
        ]
        .concat();
        [(chunked_answer, body), (length_answer, body)]
    }

    #[test]
    fn any_split_of_a_whole_answer_reads_the_same_body_and_keeps_the_socket() {
        for (bytes, body) in answers() {
            for cut in 0..=bytes.len() {
                let mut r = AnswerReader::default();
                let first = r.feed(&bytes[..cut]).expect("first part");
                assert_eq!(first, cut == bytes.len(), "cut at {cut}");
                if !first {
                    assert!(r.feed(&bytes[cut..]).expect("second part"), "cut at {cut}");
                }
                let a = r.finish().expect("complete");
                assert_eq!((a.status, a.body.as_slice(), a.reusable), (200, body, true));
            }
            // Byte by byte.
            let mut r = AnswerReader::default();
            let ends: Vec<bool> = bytes.iter().map(|b| r.feed(&[*b]).expect("byte")).collect();
            assert_eq!(ends.iter().filter(|e| **e).count(), 1);
            assert_eq!(ends.last(), Some(&true));
        }
    }

    #[test]
    fn connection_close_or_bytes_after_the_body_retire_the_socket() {
        let mut r = AnswerReader::default();
        let done = r
            .feed(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
            .expect("answer");
        assert!(done);
        let a = r.finish().expect("complete");
        assert_eq!(
            (a.status, a.body.as_slice(), a.reusable),
            (404, &b"{}"[..], false)
        );
        let mut r = AnswerReader::default();
        assert!(
            r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}XX")
                .expect("answer")
        );
        assert!(!r.finish().expect("complete").reusable);
    }

    #[test]
    fn a_truncated_answer_is_an_error_and_an_unframed_one_ends_at_the_close() {
        for (bytes, _) in answers() {
            // Cut anywhere before the body's last byte: an error, never a short body.
            for cut in 1..bytes.len() - 5 {
                let mut r = AnswerReader::default();
                assert!(!r.feed(&bytes[..cut]).expect("part"), "cut at {cut}");
                assert!(matches!(r.closed(), Err(ReadError::Bad(_))), "cut at {cut}");
            }
        }
        // Nothing at all: the daemon closed an idle socket, worth one more try elsewhere.
        assert!(matches!(
            AnswerReader::default().closed(),
            Err(ReadError::ClosedBeforeAnswer)
        ));
        // No length, no chunks: the close ends the body, and the socket is not reused.
        let mut r = AnswerReader::default();
        assert!(!r.feed(b"HTTP/1.0 200 OK\r\n\r\n{\"a\":1}").expect("answer"));
        let a = r.closed().expect("complete at the close");
        assert_eq!((a.body.as_slice(), a.reusable), (&b"{\"a\":1}"[..], false));
    }

    #[test]
    fn an_answer_body_over_the_cap_is_refused_not_buffered() {
        // Lines in it, a huge declared length: the line check alone would not stop it.
        let mut r = AnswerReader::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n";
        assert!(!r.feed(head).expect("head"));
        let lines = b"{\"read\":\"x\"}\n".repeat(1024);
        let mut refused = false;
        for _ in 0..=MAX_LINE / lines.len() + 1 {
            if r.feed(&lines).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "a body past MAX_LINE is an error");
    }

    #[test]
    fn a_document_reader_takes_a_single_line_body_over_a_stats_answers_cap() {
        // An inspect of a container with a great many labels: one line of 2 MB.
        let body = format!("{{\"Labels\":\"{}\"}}", "x".repeat(2 << 20));
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stats = AnswerReader::default();
        assert!(
            stats.feed(answer.as_bytes()).is_err(),
            "a stats reader refuses it"
        );
        let mut document = AnswerReader::new(MAX_DOCUMENT);
        assert!(document.feed(answer.as_bytes()).expect("read whole"));
        let a = document.finish().expect("complete");
        assert_eq!(
            (a.status, a.body.len(), a.reusable),
            (200, body.len(), true)
        );
    }
}
