//! The inspect overlay's document: `docker inspect` of one container as pretty-printed JSON
//! lines. Everything in it came from the container (labels, env, command) and may hold anything,
//! so every line is sanitised on the way in; `Config.Env` values are kept in a masked twin of
//! the document, shown until the operator asks for the real ones.

use serde_json::Value;

use super::logs::Search;
use super::text::sanitize_owned;

/// The most pretty-printed JSON kept: a container with a huge env or label set is cut here,
/// with a note, rather than held whole in the UI's memory.
pub const MAX_BYTES: usize = 1 << 20;

/// What a masked env value shows instead of itself.
pub const MASK: &str = "••••";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InspectDoc {
    /// The container's full id (`Id`), empty if the document has none.
    pub id: String,
    /// The JSON, one pretty-printed line each, sanitised.
    lines: Vec<String>,
    /// Lines whose masked form differs (the `Config.Env` entries): index and masked text.
    masked: Vec<(usize, String)>,
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
        let plain = pretty(&doc);
        mask_env(&mut doc);
        let masked = pretty(&doc);
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
        Self {
            id,
            lines,
            masked: masked_lines,
            cut_bytes,
        }
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
/// (serde_json's own map would sort them, putting `Id` near the end).
fn pretty(doc: &Value) -> String {
    // Serialising a Value cannot fail (its keys are strings).
    let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let Value::Object(map) = doc else {
        return json(doc);
    };
    if map.is_empty() {
        return json(doc);
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
    for (n, k) in keys.iter().enumerate() {
        let value = json(&map[k.as_str()]).replace('\n', "\n  ");
        let comma = if n + 1 < keys.len() { "," } else { "" };
        out.push_str(&format!(
            "  {}: {value}{comma}\n",
            json(&Value::String((*k).clone()))
        ));
    }
    out.push('}');
    out
}

/// `Config.Env`: every value after the first `=` becomes [`MASK`].
fn mask_env(doc: &mut Value) {
    let Some(env) = doc
        .get_mut("Config")
        .and_then(|c| c.get_mut("Env"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in env {
        if let Value::String(s) = entry
            && let Some(eq) = s.find('=')
        {
            s.truncate(eq + 1);
            s.push_str(MASK);
        }
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
}
