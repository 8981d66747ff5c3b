//! Log tails: lines from one or several containers (across endpoints), cleaned of escape
//! sequences, ordered by timestamp, in a bounded buffer; plus search (plain or regex) and a
//! filter mode. Memory is bounded by the line cap whatever a container prints: the oldest lines
//! go first and are counted.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use regex::Regex;

use super::EndpointId;
use super::text::{SgrSpan, clean_terminal_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// A TTY container: Docker cannot tell stdout from stderr.
    Tty,
    /// fleetdeck's own line ("container restarted", "reconnected").
    Marker,
}

/// One container a tail follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    pub endpoint: EndpointId,
    /// The container; or, after [`SERVICE_SOURCE`], a Swarm service.
    pub container_id: String,
    /// "endpoint/name", the tag shown in merged tails.
    pub tag: String,
}

/// A source whose `container_id` is this and a service id follows a Swarm service's logs,
/// every task's merged, through a manager (`/services/ID/logs`). Docker ids hold no ':'.
pub const SERVICE_SOURCE: &str = "service:";

/// The Swarm service a source's `container_id` names, if it names one.
pub fn service_of(container_id: &str) -> Option<&str> {
    container_id.strip_prefix(SERVICE_SOURCE)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Index into the tail's sources.
    pub source: usize,
    pub at: Option<DateTime<Utc>>,
    pub stream: LogStream,
    pub text: String,
    /// Colours the line asked for, as data for the theme.
    pub sgr: Vec<SgrSpan>,
}

impl LogLine {
    /// Cleans raw container output into a line that can never act on a terminal.
    pub fn from_raw(
        source: usize,
        at: Option<DateTime<Utc>>,
        stream: LogStream,
        raw: &str,
    ) -> Self {
        let (text, sgr) = clean_terminal_text(raw);
        Self {
            source,
            at,
            stream,
            text,
            sgr,
        }
    }

    pub fn marker(source: usize, at: Option<DateTime<Utc>>, text: impl Into<String>) -> Self {
        Self {
            source,
            at,
            stream: LogStream::Marker,
            text: text.into(),
            sgr: Vec::new(),
        }
    }
}

/// Splits Docker's `timestamps=true` prefix ("2026-11-26T17:00:00.123456789Z message").
pub fn split_timestamp(line: &str) -> (Option<DateTime<Utc>>, &str) {
    if let Some((ts, rest)) = line.split_once(' ')
        && let Ok(t) = DateTime::parse_from_rfc3339(ts)
    {
        return (Some(t.with_timezone(&Utc)), rest);
    }
    (None, line)
}

#[derive(Debug, Clone)]
pub enum Search {
    Plain(String),
    Regex(Regex),
}

impl Search {
    /// `regex` selects a regular expression; plain search is case-insensitive.
    pub fn new(pattern: &str, regex: bool) -> Result<Self, String> {
        if regex {
            Regex::new(pattern)
                .map(Search::Regex)
                .map_err(|e| format!("bad regex: {e}"))
        } else {
            Ok(Search::Plain(pattern.to_lowercase()))
        }
    }

    pub fn pattern(&self) -> String {
        match self {
            Search::Plain(p) => p.clone(),
            Search::Regex(r) => r.as_str().to_string(),
        }
    }

    /// Byte ranges of every match in `text`.
    pub fn find_all(&self, text: &str) -> Vec<(usize, usize)> {
        match self {
            Search::Regex(r) => r
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| (m.start(), m.end()))
                .collect(),
            Search::Plain(p) if p.is_empty() => Vec::new(),
            Search::Plain(p) => {
                // Lower-casing can change byte lengths outside ASCII; match on a char-aligned
                // lower-case copy only when lengths agree, else fall back to exact matching.
                let lower = text.to_lowercase();
                let hay = if lower.len() == text.len() {
                    &lower
                } else {
                    text
                };
                hay.match_indices(p.as_str())
                    .map(|(i, m)| (i, i + m.len()))
                    .collect()
            }
        }
    }

    pub fn is_match(&self, text: &str) -> bool {
        !self.find_all(text).is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct LogBuffer {
    pub sources: Vec<LogSource>,
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Bytes of text held at most (lines reach 1 MiB, so the line cap alone bounds little).
    max_bytes: usize,
    /// Bytes of text held now.
    bytes: usize,
    /// Lines dropped from the front because of the caps.
    pub dropped: u64,
    /// Bumped on every change.
    pub revision: u64,
}

impl LogBuffer {
    pub fn new(sources: Vec<LogSource>, capacity: usize) -> Self {
        Self {
            sources,
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            max_bytes: usize::MAX,
            bytes: 0,
            dropped: 0,
            revision: 0,
        }
    }

    /// Also caps the bytes of text held: the oldest lines go first (the newest always stays).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&LogLine> {
        self.lines.get(i)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Bytes held by the text of the lines: what the byte cap bounds.
    pub fn text_bytes(&self) -> usize {
        self.bytes
    }

    /// Adds lines, keeping timestamp order across sources (lines without a timestamp go last),
    /// then trims to the cap.
    pub fn extend(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        for line in lines {
            let at = match line.at {
                // Mostly appends: search only when it belongs before the last line.
                Some(t)
                    if self
                        .lines
                        .back()
                        .and_then(|l| l.at)
                        .is_some_and(|last| t < last) =>
                {
                    self.lines
                        .partition_point(|l| l.at.is_none_or(|x| x <= t) && l.at.is_some())
                }
                _ => self.lines.len(),
            };
            self.bytes += line.text.len();
            self.lines.insert(at, line);
        }
        let mut excess = self.lines.len().saturating_sub(self.capacity);
        let mut kept: usize = self.bytes
            - self
                .lines
                .iter()
                .take(excess)
                .map(|l| l.text.len())
                .sum::<usize>();
        while kept > self.max_bytes && excess + 1 < self.lines.len() {
            kept -= self.lines.get(excess).map_or(0, |l| l.text.len());
            excess += 1;
        }
        if excess > 0 {
            for l in self.lines.drain(..excess) {
                self.bytes -= l.text.len();
            }
            self.dropped += excess as u64;
        }
        self.revision += 1;
    }

    /// Indices of lines matching `search`, oldest first.
    pub fn matches(&self, search: &Search) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| search.is_match(&l.text))
            .map(|(i, _)| i)
            .collect()
    }

    /// The whole buffer as plain text, one line each, with tags when several sources.
    pub fn to_text(&self, timestamps: bool) -> String {
        let mut out = String::new();
        for l in &self.lines {
            if timestamps && let Some(t) = l.at {
                out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                out.push(' ');
            }
            if self.sources.len() > 1
                && let Some(src) = self.sources.get(l.source)
            {
                out.push_str(&format!("[{}] ", src.tag));
            }
            if l.stream == LogStream::Stderr {
                out.push_str("E ");
            }
            out.push_str(&l.text);
            out.push('\n');
        }
        out
    }
}

/// One reassembled line and the time Docker gave its first part.
pub type TimedLine = (Option<DateTime<Utc>>, String);

/// Reassembles Docker's log messages into lines.
///
/// Docker cuts a line over 16 KB into partial messages; with `timestamps=true` each one gets its
/// own time prefix and only the last ends with `\n`. Joined as plain text, the prefixes end up
/// inside the line (`…AAAA2026-12-02T03:02:36.764166095Z AAAA…`). Here a message that continues
/// an unfinished line loses its prefix, and the line keeps the time of its first part.
///
/// A line longer than `max` bytes is cut there, says so with [`CUT_MARKER`], and goes on as a
/// new line: a container printing without newlines cannot grow memory without limit.
#[derive(Debug, Default, Clone)]
pub struct LineJoiner {
    /// The unfinished line and its time.
    partial: Option<(Option<DateTime<Utc>>, Vec<u8>)>,
}

/// Ends a line cut at the length cap; the rest follows as the next line.
pub const CUT_MARKER: &str = " [… line cut here, continued on the next line]";

impl LineJoiner {
    /// One message of the stream in (a frame, with its time prefix if Docker added one); the
    /// lines it completes out. Bytes after the last `\n` wait for the next message. Works on
    /// bytes: Docker cuts partial messages by length, through the middle of a character.
    pub fn push(&mut self, message: &[u8], max: usize) -> Vec<TimedLine> {
        let max = max.max(4);
        let (at, mut rest) = split_timestamp_bytes(message);
        // A continuation's own time is dropped: the line keeps its first part's.
        let at = if self.partial.is_some() { None } else { at };
        let mut out = Vec::new();
        loop {
            let (mut piece, ended) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    let piece = &rest[..i];
                    rest = &rest[i + 1..];
                    (piece, true)
                }
                None => (std::mem::take(&mut rest), false),
            };
            let (line_at, line) = self.partial.get_or_insert_with(|| (at, Vec::new()));
            while line.len() + piece.len() > max {
                let mut cut = max.saturating_sub(line.len()).min(piece.len());
                // Not inside a character (UTF-8 continuation bytes are 0b10xxxxxx).
                while cut > 0 && piece.get(cut).is_some_and(|b| b & 0xc0 == 0x80) {
                    cut -= 1;
                }
                // Nothing but continuation bytes (not text at all): cut anyway, or nothing
                // would ever be taken and this would loop for good.
                if cut == 0 && line.is_empty() {
                    cut = max.min(piece.len());
                }
                line.extend_from_slice(&piece[..cut]);
                piece = &piece[cut..];
                let mut full = lossy(std::mem::take(line));
                full.push_str(CUT_MARKER);
                out.push((*line_at, full));
            }
            line.extend_from_slice(piece);
            if !ended {
                break;
            }
            if let Some((at, line)) = self.partial.take() {
                out.push((at, lossy(line)));
            }
            if rest.is_empty() {
                break;
            }
        }
        out
    }

    /// The unfinished line, when the stream ends.
    pub fn flush(&mut self) -> Option<TimedLine> {
        self.partial
            .take()
            .filter(|(_, line)| !line.is_empty())
            .map(|(at, line)| (at, lossy(line)))
    }
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`split_timestamp`] on raw bytes: the prefix is ASCII, the rest may be anything.
fn split_timestamp_bytes(message: &[u8]) -> (Option<DateTime<Utc>>, &[u8]) {
    // "2026-11-26T17:00:00.123456789Z " is 31 bytes; a zone offset makes it longer.
    let head = &message[..message.len().min(40)];
    if let Some(space) = head.iter().position(|b| *b == b' ')
        && let Ok(ts) = std::str::from_utf8(&head[..space])
        && let Ok(t) = DateTime::parse_from_rfc3339(ts)
    {
        return (Some(t.with_timezone(&Utc)), &message[space + 1..]);
    }
    (None, message)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_that_are_no_text_are_cut_too_and_never_hang_the_joiner() {
        // A TTY container writing 3 MB of 0x80 bytes with no line end: one bollard item.
        let mut j = LineJoiner::default();
        let junk = vec![0x80u8; 3_000_000];
        let lines = j.push(&junk, 1 << 20);
        assert_eq!(lines.len(), 2, "two full lines cut, the rest waits");
        let tail = j.flush().expect("the rest");
        let total: usize = lines
            .iter()
            .map(|(_, l)| l.trim_end_matches(CUT_MARKER).chars().count())
            .sum::<usize>()
            + tail.1.chars().count();
        assert_eq!(total, 3_000_000, "every byte shown once, as a stand-in");
    }

    use super::*;

    fn line(source: usize, secs: i64, text: &str) -> LogLine {
        LogLine::from_raw(
            source,
            DateTime::from_timestamp(secs, 0),
            LogStream::Stdout,
            text,
        )
    }

    #[test]
    fn merged_lines_interleave_by_timestamp() {
        let mut b = LogBuffer::new(vec![], 100);
        b.extend([line(0, 1, "a1"), line(0, 3, "a3"), line(0, 5, "a5")]);
        b.extend([line(1, 2, "b2"), line(1, 4, "b4"), line(1, 6, "b6")]);
        let texts: Vec<_> = b.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a1", "b2", "a3", "b4", "a5", "b6"]);
    }

    #[test]
    fn the_cap_bounds_memory_and_counts_what_was_dropped() {
        let mut b = LogBuffer::new(vec![], 1000);
        for i in 0..50_000 {
            b.extend([line(0, i, "x".repeat(100).as_str())]);
        }
        assert_eq!(b.len(), 1000);
        assert_eq!(b.dropped, 49_000);
        assert_eq!(b.text_bytes(), 100_000);
        assert_eq!(
            b.iter().next().unwrap().at,
            DateTime::from_timestamp(49_000, 0)
        );
    }

    #[test]
    fn the_byte_cap_drops_the_oldest_lines_but_never_the_newest() {
        let mut b = LogBuffer::new(vec![], 1000).with_max_bytes(100_000);
        for i in 0..10 {
            b.extend([line(0, i, "x".repeat(40_000).as_str())]);
        }
        assert_eq!((b.len(), b.dropped, b.text_bytes()), (2, 8, 80_000));
        b.extend([line(0, 10, "y".repeat(300_000).as_str())]);
        assert_eq!((b.len(), b.dropped, b.text_bytes()), (1, 10, 300_000));
        b.extend([line(0, 11, "z")]);
        assert_eq!((b.len(), b.text_bytes()), (1, 1));
    }

    #[test]
    fn timestamps_are_split_from_docker_lines() {
        let (t, rest) = split_timestamp("2026-11-26T17:00:00.123456789Z hello world");
        assert_eq!(rest, "hello world");
        assert_eq!(t.unwrap().timestamp_subsec_nanos(), 123_456_789);
        assert_eq!(split_timestamp("no stamp here"), (None, "no stamp here"));
    }

    #[test]
    fn plain_and_regex_search_find_every_match() {
        let plain = Search::new("err", false).unwrap();
        assert_eq!(plain.find_all("ERR: error"), [(0, 3), (5, 8)]);
        let re = Search::new(r"\d+ms", true).unwrap();
        assert_eq!(re.find_all("took 12ms, then 7ms"), [(5, 9), (16, 19)]);
        assert!(Search::new("(", true).unwrap_err().starts_with("bad regex"));
        let mut b = LogBuffer::new(vec![], 10);
        b.extend([
            line(0, 1, "ok"),
            line(0, 2, "ERROR x"),
            line(0, 3, "fine"),
            line(0, 4, "error y"),
        ]);
        assert_eq!(b.matches(&plain), [1, 3]);
    }

    /// Docker's frames for one line of `len` bytes of `fill` at second `secs`: 16 KB partial
    /// messages, each with its own time prefix, the last ending with a newline.
    fn docker_frames(secs: u32, fill: char, len: usize) -> Vec<Vec<u8>> {
        let text: String = std::iter::repeat_n(fill, len).collect();
        let parts: Vec<&[u8]> = text.as_bytes().chunks(16 * 1024).collect();
        let last = parts.len() - 1;
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut frame = format!("2026-12-02T03:02:{secs:02}.{i:09}Z ").into_bytes();
                frame.extend_from_slice(p);
                if i == last {
                    frame.push(b'\n');
                }
                frame
            })
            .collect()
    }

    #[test]
    fn partial_messages_are_joined_without_their_time_prefixes() {
        let mut j = LineJoiner::default();
        let mut lines = Vec::new();
        for secs in [1, 2] {
            for frame in docker_frames(secs, 'A', 40_000) {
                lines.extend(j.push(&frame, 1 << 20));
            }
        }
        assert_eq!(lines.len(), 2);
        for ((at, text), secs) in lines.iter().zip([1, 2]) {
            assert_eq!(text.len(), 40_000);
            assert!(
                text.chars().all(|c| c == 'A'),
                "a time prefix inside the line"
            );
            // The line's time is its first part's.
            assert_eq!(at.unwrap().timestamp_subsec_nanos(), 0);
            assert_eq!(at.unwrap().timestamp() % 60, secs);
        }
        assert_eq!(j.flush(), None);
    }

    #[test]
    fn short_messages_and_messages_without_prefix_pass_through() {
        let mut j = LineJoiner::default();
        let (at, text) = &j.push(b"2026-11-26T17:00:00.5Z hello\n", 100)[0];
        assert_eq!(text, "hello");
        assert!(at.is_some());
        assert_eq!(
            j.push(b"no prefix\n", 100),
            [(None, "no prefix".to_string())]
        );
        assert_eq!(j.push(b"hel", 100), []);
        assert_eq!(
            j.push(b"lo\nwor", 100),
            [(None, "hello".to_string())],
            "without prefixes, plain text is joined as it comes"
        );
        assert_eq!(j.flush(), Some((None, "wor".to_string())));
        assert_eq!(j.flush(), None);
    }

    #[test]
    fn an_endless_line_is_cut_at_the_cap_and_says_so() {
        let mut j = LineJoiner::default();
        let mut lines = Vec::new();
        // 100,000 two-byte characters, cut by Docker through characters.
        for frame in docker_frames(3, 'é', 100_000) {
            lines.extend(j.push(&frame, 60_001));
        }
        assert_eq!(
            lines.len(),
            4,
            "200 KB at a 60 KB cap: three cut lines and the rest"
        );
        for (_, text) in &lines[..3] {
            assert!(text.ends_with(CUT_MARKER));
            assert!(text.len() <= 60_001 + CUT_MARKER.len());
        }
        let joined: String = lines
            .iter()
            .map(|(_, t)| t.trim_end_matches(CUT_MARKER))
            .collect();
        assert_eq!(
            joined.chars().count(),
            100_000,
            "nothing lost, nothing added"
        );
        assert!(joined.chars().all(|c| c == 'é'));
        assert!(lines.iter().all(|(at, _)| at == &lines[0].0));
    }

    #[test]
    fn hostile_output_is_inert_in_the_buffer_and_in_saved_text() {
        let mut b = LogBuffer::new(vec![], 10);
        b.extend([line(
            0,
            1,
            "\x1b]0;pwned\x07\x1b[2Jgot you\x1b]52;c;Zm9v\x07",
        )]);
        let text = b.to_text(false);
        assert_eq!(text, "got you\n");
        assert!(!text.contains('\x1b') && !text.contains('\x07'));
    }
}
