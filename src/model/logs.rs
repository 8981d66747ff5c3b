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
    pub container_id: String,
    /// "endpoint/name", the tag shown in merged tails.
    pub tag: String,
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
    /// Lines dropped from the front because of the cap.
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
            dropped: 0,
            revision: 0,
        }
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

    /// Bytes held by the text of the lines: what the cap bounds.
    pub fn text_bytes(&self) -> usize {
        self.lines.iter().map(|l| l.text.len()).sum()
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
            self.lines.insert(at, line);
        }
        let excess = self.lines.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.lines.drain(..excess);
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

/// Reassembles lines from stream chunks: Docker frames do not respect line ends.
#[derive(Debug, Default, Clone)]
pub struct LineSplitter {
    partial: String,
}

impl LineSplitter {
    /// Returns the complete lines in `chunk`; a trailing partial line waits for the next chunk.
    /// A partial line longer than `max` is cut, so a container without newlines cannot grow it.
    pub fn push(&mut self, chunk: &str, max: usize) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let rest = self.partial.split_off(i + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            out.push(line);
        }
        while self.partial.len() > max.max(4) {
            let mut cut = max.max(4);
            while !self.partial.is_char_boundary(cut) {
                cut -= 1;
            }
            let rest = self.partial.split_off(cut);
            out.push(std::mem::replace(&mut self.partial, rest));
        }
        out
    }

    pub fn flush(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn lines_are_reassembled_across_chunks_and_bounded() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push("hel", 100), Vec::<String>::new());
        assert_eq!(s.push("lo\nwor", 100), ["hello"]);
        assert_eq!(s.push("ld\n\n", 100), ["world", ""]);
        assert_eq!(s.push(&"y".repeat(250), 100).len(), 2);
        assert_eq!(s.flush().unwrap().len(), 50);
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
