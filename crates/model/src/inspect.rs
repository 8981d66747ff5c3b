//! The inspect overlay's document: `docker inspect` of a container (or of an endpoint, a
//! network, a Swarm node or service) as pretty-printed JSON lines. Everything in it came from
//! the daemon (labels, env, command) and may hold anything, so every line is sanitised on the
//! way in; env values (`Config.Env`, a service's `ContainerSpec.Env`) are kept in a masked twin
//! of the document, shown until the operator asks for the real ones.
//!
//! The document's top-level keys are its sections (`State`, `HostConfig`, …); [`Folding`]
//! says which are folded to one summary line and maps the rows on screen to document lines.

use serde_json::Value;

use super::logs::Search;
use super::text::sanitize_owned;

/// The most pretty-printed JSON kept: a container with a huge env or label set is cut here,
/// with a note, rather than held whole in the UI's memory.
pub const MAX_BYTES: usize = 1 << 20;

/// What a masked env value shows instead of itself.
pub const MASK: &str = "••••";

/// What an inspect overlay shows: the kind of object and, but for the endpoint itself, its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectTarget {
    Container(String),
    /// The daemon: `docker info` and `docker version`, one section each.
    Endpoint,
    Network(String),
    /// A Swarm node, asked of a manager.
    Node(String),
    /// A Swarm service, asked of a manager.
    Service(String),
}

impl InspectTarget {
    /// The kind as the overlay's title names it.
    pub fn kind(&self) -> &'static str {
        match self {
            InspectTarget::Container(_) => "container",
            InspectTarget::Endpoint => "endpoint",
            InspectTarget::Network(_) => "network",
            InspectTarget::Node(_) => "node",
            InspectTarget::Service(_) => "service",
        }
    }
}

/// One top-level key of the document: lines `start..end` (its key line first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub start: usize,
    pub end: usize,
}

impl Section {
    /// A scalar (`"Id": "…"`) is one line and has nothing to fold.
    pub fn foldable(&self) -> bool {
        self.end - self.start > 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InspectDoc {
    /// The container's full id (`Id`), empty if the document has none.
    pub id: String,
    /// The JSON, one pretty-printed line each, sanitised.
    lines: Vec<String>,
    /// Lines whose masked form differs (the env entries): index and masked text.
    masked: Vec<(usize, String)>,
    /// The top-level keys, in order, as far as the kept lines go.
    sections: Vec<Section>,
    /// Bytes of pretty JSON left out because of [`MAX_BYTES`].
    pub cut_bytes: usize,
}

impl InspectDoc {
    /// The document from the engine's answer. The top-level keys come in `docker inspect`'s
    /// order (Id first); inside them, in alphabetical order (serde_json's map).
    pub fn new(mut doc: Value) -> Self {
        let id = doc
            .get("Id")
            .and_then(Value::as_str)
            .map(|s| sanitize_owned(s.to_string()))
            .unwrap_or_default();
        let (plain, sections) = pretty(&doc);
        mask_env(&mut doc);
        let (masked, _) = pretty(&doc);
        // Masking changes no line breaks (JSON strings hold none), so the lines pair up.
        let mut lines = Vec::new();
        let mut masked_lines = Vec::new();
        let mut kept = 0usize;
        let mut cut_bytes = 0usize;
        for (i, (line, masked)) in plain.lines().zip(masked.lines()).enumerate() {
            if cut_bytes > 0 || kept + line.len() + 1 > MAX_BYTES {
                cut_bytes += line.len() + 1;
                continue;
            }
            kept += line.len() + 1;
            if line != masked {
                masked_lines.push((i, sanitize_owned(masked.to_string())));
            }
            lines.push(sanitize_owned(line.to_string()));
        }
        // A cut keeps the sections it reached, the last one up to the cut.
        let sections = sections
            .into_iter()
            .filter(|s| s.start < lines.len())
            .map(|s| Section {
                start: s.start,
                end: s.end.min(lines.len()),
            })
            .collect();
        Self {
            id,
            lines,
            masked: masked_lines,
            sections,
            cut_bytes,
        }
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Whether any line has a masked twin (the document holds env values).
    pub fn has_env(&self) -> bool {
        !self.masked.is_empty()
    }

    /// The section holding line `line`, by index.
    fn section_of(&self, line: usize) -> Option<usize> {
        let after = self.sections.partition_point(|s| s.start <= line);
        let i = after.checked_sub(1)?;
        (line < self.sections[i].end).then_some(i)
    }

    /// Lines of the document, the note about a cut one included.
    pub fn len(&self) -> usize {
        self.lines.len() + usize::from(self.cut_bytes > 0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line `i` as shown: env values masked unless `show_env`.
    pub fn line(&self, i: usize, show_env: bool) -> Option<std::borrow::Cow<'_, str>> {
        if i == self.lines.len() && self.cut_bytes > 0 {
            return Some(
                format!(
                    "… {} more bytes not shown (the overlay keeps {} KiB)",
                    self.cut_bytes,
                    MAX_BYTES / 1024
                )
                .into(),
            );
        }
        let line = self.lines.get(i)?;
        if !show_env && let Ok(m) = self.masked.binary_search_by_key(&i, |(j, _)| *j) {
            return Some(self.masked[m].1.as_str().into());
        }
        Some(line.as_str().into())
    }

    /// The first line holding `search` after `from` (wrapping round), as shown.
    pub fn next_match(
        &self,
        search: &Search,
        from: Option<usize>,
        show_env: bool,
    ) -> Option<usize> {
        let n = self.len();
        let start = from.map_or(0, |f| f + 1);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.line(i, show_env).is_some_and(|l| search.is_match(&l)))
    }
}

/// `docker inspect`'s order of a container's top-level keys; any others follow alphabetically.
const TOP_LEVEL: [&str; 23] = [
    "Id",
    "Created",
    "Path",
    "Args",
    "State",
    "Image",
    "ResolvConfPath",
    "HostnamePath",
    "HostsPath",
    "LogPath",
    "Name",
    "RestartCount",
    "Driver",
    "Platform",
    "MountLabel",
    "ProcessLabel",
    "AppArmorProfile",
    "ExecIDs",
    "HostConfig",
    "GraphDriver",
    "Mounts",
    "Config",
    "NetworkSettings",
];

/// Pretty JSON as serde_json writes it, with the top-level keys in [`TOP_LEVEL`] order
/// (serde_json's own map would sort them, putting `Id` near the end), and the lines each
/// top-level key spans.
fn pretty(doc: &Value) -> (String, Vec<Section>) {
    // Serialising a Value cannot fail (its keys are strings).
    let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let Value::Object(map) = doc else {
        return (json(doc), Vec::new());
    };
    if map.is_empty() {
        return (json(doc), Vec::new());
    }
    let rank = |k: &str| {
        TOP_LEVEL
            .iter()
            .position(|t| *t == k)
            .unwrap_or(TOP_LEVEL.len())
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| rank(k)); // stable: the rest stay alphabetical
    let mut out = String::from("{\n");
    let mut sections = Vec::with_capacity(keys.len());
    let mut line = 1;
    for (n, k) in keys.iter().enumerate() {
        let value = json(&map[k.as_str()]).replace('\n', "\n  ");
        let comma = if n + 1 < keys.len() { "," } else { "" };
        let end = line + 1 + value.matches('\n').count();
        sections.push(Section { start: line, end });
        line = end;
        out.push_str(&format!(
            "  {}: {value}{comma}\n",
            json(&Value::String((*k).clone()))
        ));
    }
    out.push('}');
    (out, sections)
}

/// Where env lists sit: a container's, and a Swarm service's (current and previous spec).
const ENV_PATHS: [&[&str]; 3] = [
    &["Config", "Env"],
    &["Spec", "TaskTemplate", "ContainerSpec", "Env"],
    &["PreviousSpec", "TaskTemplate", "ContainerSpec", "Env"],
];

/// Every env list of [`ENV_PATHS`]: each value after the first `=` becomes [`MASK`].
fn mask_env(doc: &mut Value) {
    for path in ENV_PATHS {
        let env = path
            .iter()
            .try_fold(&mut *doc, |v, key| v.get_mut(*key))
            .and_then(Value::as_array_mut);
        for entry in env.into_iter().flatten() {
            if let Value::String(s) = entry
                && let Some(eq) = s.find('=')
            {
                s.truncate(eq + 1);
                s.push_str(MASK);
            }
        }
    }
}

/// Which sections of an [`InspectDoc`] are folded to one line, and the rows that leaves on
/// screen. Rows are what the overlay scrolls through; a folded section is one row (its key
/// line with a summary), an open one all its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folding {
    /// Per section of the document.
    folded: Vec<bool>,
}

impl Folding {
    /// Every section folded: the document opens as a list of its top-level keys, one line each.
    pub fn new(doc: &InspectDoc) -> Self {
        Self {
            folded: doc.sections.iter().map(Section::foldable).collect(),
        }
    }

    fn is_folded(&self, section: usize) -> bool {
        self.folded.get(section).copied().unwrap_or(false)
    }

    /// Rows on screen: the document less what folded sections hide.
    pub fn rows(&self, doc: &InspectDoc) -> usize {
        let hidden: usize = (doc.sections.iter().enumerate())
            .filter(|(i, _)| self.is_folded(*i))
            .map(|(_, s)| s.end - s.start - 1)
            .sum();
        doc.len() - hidden
    }

    /// The document line row `row` shows (a folded section's row shows its key line).
    pub fn line_at(&self, doc: &InspectDoc, row: usize) -> Option<usize> {
        let (mut line, mut at_row) = (0, 0);
        for (i, s) in doc.sections.iter().enumerate() {
            let shown = if self.is_folded(i) {
                1
            } else {
                s.end - s.start
            };
            if row < at_row + (s.start - line) + shown {
                return Some(line + (row - at_row));
            }
            at_row += s.start - line + shown;
            line = s.end;
        }
        let line = line + (row - at_row);
        (line < doc.len()).then_some(line)
    }

    /// The row that shows document line `line`: its own, or its folded section's.
    pub fn row_of(&self, doc: &InspectDoc, line: usize) -> usize {
        let (mut at_line, mut row) = (0, 0);
        for (i, s) in doc.sections.iter().enumerate() {
            if line < s.end {
                return if line < s.start {
                    row + (line - at_line)
                } else if self.is_folded(i) {
                    row + (s.start - at_line)
                } else {
                    row + (line - at_line)
                };
            }
            let shown = if self.is_folded(i) {
                1
            } else {
                s.end - s.start
            };
            row += s.start - at_line + shown;
            at_line = s.end;
        }
        row + (line.saturating_sub(at_line))
    }

    /// Row `row` as shown: env values masked unless `show_env`; a section's key line marked
    /// `▾` when open, `▸` with its size when folded (`▸ "HostConfig": {…} 42 lines`).
    pub fn row_text<'a>(
        &self,
        doc: &'a InspectDoc,
        row: usize,
        show_env: bool,
    ) -> Option<std::borrow::Cow<'a, str>> {
        let line = self.line_at(doc, row)?;
        let text = doc.line(line, show_env)?;
        let Some(i) = doc
            .section_of(line)
            .filter(|i| doc.sections[*i].start == line)
        else {
            return Some(text);
        };
        let s = doc.sections[i];
        if !s.foldable() {
            return Some(text);
        }
        // Key lines are indented two spaces: the marker takes their place.
        let key = text.strip_prefix("  ").unwrap_or(&text);
        Some(if self.is_folded(i) {
            let body = match key.chars().last() {
                Some('{') => "…}",
                Some('[') => "…]",
                _ => "…",
            };
            format!("▸ {key}{body} {} lines", s.end - s.start).into()
        } else {
            format!("▾ {key}").into()
        })
    }

    /// Folds or opens the section holding `line`; false when the line is in none that folds.
    pub fn toggle(&mut self, doc: &InspectDoc, line: usize) -> bool {
        let Some(i) = doc.section_of(line).filter(|i| doc.sections[*i].foldable()) else {
            return false;
        };
        if let Some(f) = self.folded.get_mut(i) {
            *f = !*f;
        }
        true
    }

    /// Opens the section holding `line`, so a search match in it shows.
    pub fn reveal(&mut self, doc: &InspectDoc, line: usize) {
        if let Some(f) = doc.section_of(line).and_then(|i| self.folded.get_mut(i)) {
            *f = false;
        }
    }

    pub fn fold_all(&mut self, doc: &InspectDoc) {
        *self = Self::new(doc);
    }

    pub fn unfold_all(&mut self) {
        self.folded.fill(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(doc: &InspectDoc, show_env: bool) -> String {
        (0..doc.len())
            .filter_map(|i| doc.line(i, show_env).map(|l| l.into_owned()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn env_values_are_masked_until_shown_and_names_stay() {
        let doc = InspectDoc::new(json!({
            "Id": "abc",
            "Config": {"Env": ["DB_PASSWORD=hunter2=x", "PATH=/bin", "EMPTY"], "Labels": {"a": "PATH=/bin"}},
        }));
        assert_eq!(doc.id, "abc");
        let masked = text(&doc, false);
        assert!(masked.contains("\"DB_PASSWORD=••••\""), "{masked}");
        assert!(masked.contains("\"PATH=••••\"") && masked.contains("\"EMPTY\""));
        assert!(!masked.contains("hunter2"), "{masked}");
        // Only Config.Env is masked: a label that looks like an env entry is left alone.
        assert!(masked.contains("\"a\": \"PATH=/bin\""), "{masked}");
        assert!(text(&doc, true).contains("\"DB_PASSWORD=hunter2=x\""));
    }

    #[test]
    fn top_level_keys_come_in_docker_inspect_order_and_the_json_stays_valid() {
        let v = json!({"Config": {"Env": ["A=1"]}, "Zeta": [1, 2], "Id": "abc", "Name": "/web"});
        let doc = InspectDoc::new(v.clone());
        let all = text(&doc, true);
        assert!(
            all.starts_with("{\n  \"Id\": \"abc\",\n  \"Name\": \"/web\""),
            "{all}"
        );
        assert!(all.find("\"Config\"") < all.find("\"Zeta\""), "{all}");
        assert_eq!(serde_json::from_str::<Value>(&all).ok(), Some(v));
    }

    #[test]
    fn hostile_values_are_inert() {
        let doc = InspectDoc::new(json!({"Config": {"Labels": {"x": "a\u{9b}2J\u{202e}b"}}}));
        let all = text(&doc, true);
        assert!(!all.chars().any(|c| c.is_control() && c != '\n'), "{all:?}");
        assert!(!all.contains('\u{202e}'));
    }

    #[test]
    fn a_huge_document_is_cut_with_a_note() {
        let env: Vec<String> = (0..40_000)
            .map(|i| format!("K{i}={}", "v".repeat(30)))
            .collect();
        let doc = InspectDoc::new(json!({"Config": {"Env": env}}));
        let kept: usize = (0..doc.len() - 1)
            .filter_map(|i| doc.line(i, true))
            .map(|l| l.len() + 1)
            .sum();
        assert!(kept <= MAX_BYTES && doc.cut_bytes > 0);
        let note = doc.line(doc.len() - 1, false).unwrap_or_default();
        assert!(note.contains("more bytes not shown"), "{note}");
    }

    #[test]
    fn search_finds_the_next_line_and_wraps() {
        let doc = InspectDoc::new(json!({"A": "needle", "B": "x", "C": "Needle"}));
        let s = Search::new("needle", false).unwrap_or(Search::Plain("needle".into()));
        let first = doc.next_match(&s, None, false);
        let second = doc.next_match(&s, first, false);
        assert!(first.is_some() && second > first);
        assert_eq!(doc.next_match(&s, second, false), first);
    }

    /// Rows as shown, one string each.
    fn rows(doc: &InspectDoc, f: &Folding) -> Vec<String> {
        (0..f.rows(doc))
            .filter_map(|r| f.row_text(doc, r, false).map(|l| l.into_owned()))
            .collect()
    }

    fn sample() -> InspectDoc {
        InspectDoc::new(json!({
            "Id": "abc",
            "State": {"Status": "running", "Pid": 42},
            "Args": ["a", "b", "c"],
            "Config": {"Env": ["A=1"], "Image": "busybox"},
        }))
    }

    #[test]
    fn sections_are_the_top_level_keys_and_open_folded_one_line_each() {
        let doc = sample();
        // { Id Args(5 lines) State(4) Config(6) }, in docker inspect's order.
        let spans: Vec<(usize, usize)> = doc.sections().iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(spans, vec![(1, 2), (2, 7), (7, 11), (11, 17)]);
        let f = Folding::new(&doc);
        assert_eq!(
            rows(&doc, &f),
            vec![
                "{",
                "  \"Id\": \"abc\",",
                "▸ \"Args\": […] 5 lines",
                "▸ \"State\": {…} 4 lines",
                "▸ \"Config\": {…} 6 lines",
                "}",
            ]
        );
        assert_eq!(f.rows(&doc), 6);
    }

    #[test]
    fn toggling_opens_and_folds_the_section_under_a_line() {
        let doc = sample();
        let mut f = Folding::new(&doc);
        assert!(f.toggle(&doc, 7), "State opens");
        let shown = rows(&doc, &f);
        assert_eq!(shown[2], "▸ \"Args\": […] 5 lines");
        assert_eq!(shown[3], "▾ \"State\": {");
        assert_eq!(shown[4].trim(), "\"Pid\": 42,");
        assert_eq!(shown[7], "▸ \"Config\": {…} 6 lines");
        assert_eq!(f.rows(&doc), 9);
        // A line inside the open section folds it again; a scalar or the brace folds nothing.
        assert!(f.toggle(&doc, 9));
        assert_eq!(f, Folding::new(&doc));
        assert!(!f.toggle(&doc, 1) && !f.toggle(&doc, 0) && !f.toggle(&doc, 17));
        assert_eq!(f, Folding::new(&doc));
    }

    #[test]
    fn rows_map_to_lines_and_back_around_folded_sections() {
        let doc = sample();
        let mut f = Folding::new(&doc);
        f.toggle(&doc, 3); // Args open, State and Config folded
        let lines: Vec<Option<usize>> = (0..=f.rows(&doc)).map(|r| f.line_at(&doc, r)).collect();
        let want = [0, 1, 2, 3, 4, 5, 6, 7, 11, 17];
        assert_eq!(
            lines,
            want.iter()
                .map(|l| Some(*l))
                .chain([None])
                .collect::<Vec<_>>()
        );
        for (row, line) in want.iter().enumerate() {
            assert_eq!(f.row_of(&doc, *line), row, "line {line}");
        }
        // Lines hidden in a folded section map to its row.
        assert_eq!(f.row_of(&doc, 9), 7);
        assert_eq!(f.row_of(&doc, 15), 8);
        f.unfold_all();
        assert_eq!(f.rows(&doc), doc.len());
        assert!((0..doc.len()).all(|l| f.line_at(&doc, l) == Some(l) && f.row_of(&doc, l) == l));
        f.fold_all(&doc);
        assert_eq!(f, Folding::new(&doc));
    }

    #[test]
    fn a_search_match_in_a_folded_section_unfolds_it() {
        let doc = sample();
        let mut f = Folding::new(&doc);
        let s = Search::Plain("busybox".into());
        let line = doc.next_match(&s, None, false).unwrap_or_default();
        assert_eq!(
            doc.line(line, false).unwrap_or_default().trim(),
            "\"Image\": \"busybox\""
        );
        assert_eq!(
            f.line_at(&doc, f.row_of(&doc, line)),
            Some(11),
            "hidden under Config"
        );
        f.reveal(&doc, line);
        let row = f.row_of(&doc, line);
        assert_eq!(f.line_at(&doc, row), Some(line));
        assert!(
            f.row_text(&doc, row, false)
                .unwrap_or_default()
                .contains("busybox")
        );
        // Only that section opened.
        assert!(rows(&doc, &f).contains(&"▸ \"State\": {…} 4 lines".to_string()));
    }

    #[test]
    fn a_cut_document_keeps_the_sections_it_reached_and_the_note_stays_a_row() {
        let env: Vec<String> = (0..40_000)
            .map(|i| format!("K{i}={}", "v".repeat(30)))
            .collect();
        let doc = InspectDoc::new(json!({"Id": "x", "Config": {"Env": env}, "Zeta": {"a": 1}}));
        let last = doc.sections().last().copied();
        assert_eq!(doc.sections().len(), 2, "Zeta is past the cut");
        assert_eq!(last.map(|s| s.end), Some(doc.len() - 1));
        let mut f = Folding::new(&doc);
        let shown = rows(&doc, &f);
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown[3].contains("more bytes not shown"), "{shown:?}");
        f.unfold_all();
        assert_eq!(f.rows(&doc), doc.len());
    }

    #[test]
    fn a_service_env_is_masked_like_a_container_env() {
        let doc = InspectDoc::new(json!({
            "ID": "svc",
            "Spec": {"TaskTemplate": {"ContainerSpec": {"Env": ["TOKEN=t0p"], "Image": "web"}}},
            "PreviousSpec": {"TaskTemplate": {"ContainerSpec": {"Env": ["TOKEN=old"]}}},
        }));
        assert!(doc.has_env());
        let masked = text(&doc, false);
        assert!(
            masked.contains("\"TOKEN=••••\"") && !masked.contains("t0p") && !masked.contains("old")
        );
        assert!(text(&doc, true).contains("\"TOKEN=t0p\""));
        assert!(!InspectDoc::new(json!({"Name": "lan0"})).has_env());
    }
}
