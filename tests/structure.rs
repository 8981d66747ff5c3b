//! The import graph keeps the shape `docs/architecture.md` draws, by test: `model` is the leaf
//! (it names nothing in the crate outside itself), the top-level modules import each other
//! without a cycle, and inside a top-level module no two submodules import each other in a
//! ring. A failure names each offending edge and the file and line that make it.
//!
//! The check reads the sources (`src/**/*.rs`, no compiler): comments and string literals are
//! skipped, and a path counts wherever it is written — `use` trees with groups, `crate::a::b`
//! in an expression or a type, and `super::`/`self::` resolved against the file's module and
//! any inline `mod` blocks around them. `#[cfg(test)]` modules are counted like any other code:
//! a test that needs another module's types is still an arrow in the graph. `lib.rs` and
//! `main.rs` are the roots that wire the modules together and are left out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arrows `docs/architecture.md` forbids outright (`*`: any module of the crate).
const FORBIDDEN: &[(&str, &str)] = &[
    ("model", "*"),
    ("config", "ui"),
    ("engine", "ui"),
    ("ui", "engine"),
    ("headless", "app"),
];

/// Edges still tolerated, with the reason. Each one listed must still exist (so a fixed one
/// is struck off here), and none may start in `model`.
const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[
    // None left: the last ones (gate -> deploy for Interrupt, actions <-> deploy for signal
    // names, ipam <-> deploy for the revision labels) were broken by moving what both named
    // into modules of their own.
];

/// One reference from a file to a module path of the crate.
#[derive(Debug, Clone)]
struct Reference {
    file: String,
    line: usize,
    /// The full path from the crate root, e.g. `["config", "EndpointSpec"]`.
    path: Vec<String>,
}

/// A source file and the module path it defines (`src/engine/gate.rs` → `["engine", "gate"]`).
struct SourceFile {
    rel: String,
    module: Vec<String>,
    /// Where `crate::` points from this file: `[]` in fleetdeck, `["model"]` in the model's
    /// own crate (`crates/model`, which fleetdeck re-exports as `model`).
    crate_root: Vec<String>,
    text: String,
}

/// fleetdeck's sources and the model crate's, the latter as the module `model` (its `lib.rs`
/// is that module's file). fleetdeck's `lib.rs` and `main.rs` are left out.
fn source_files() -> Vec<SourceFile> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for (dir, crate_root) in [
        ("src", vec![]),
        ("crates/model/src", vec!["model".to_string()]),
    ] {
        let root = manifest.join(dir);
        let mut paths = Vec::new();
        collect_rs(&root, &mut paths);
        paths.sort();
        for path in paths {
            let rel = path.strip_prefix(&root).unwrap();
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = module.pop().unwrap();
            let stem = last.strip_suffix(".rs").unwrap().to_string();
            let is_root = module.is_empty() && (stem == "lib" || stem == "main");
            if is_root && crate_root.is_empty() {
                continue;
            }
            if stem != "mod" && !is_root {
                module.push(stem);
            }
            let mut full = crate_root.clone();
            full.extend(module);
            files.push(SourceFile {
                rel: format!("{dir}/{}", rel.display()),
                module: full,
                crate_root: crate_root.clone(),
                text: std::fs::read_to_string(&path).unwrap(),
            });
        }
    }
    assert!(
        files.iter().any(|f| f.module == ["model"]),
        "the model crate's sources were not found"
    );
    files
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file with comments, string and char literals blanked out (newlines kept, so
/// line numbers stay true).
fn code_only(src: &str) -> String {
    let s: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(s[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !prev_is_ident(&s, i)
            && raw_string_start(&s, if c == 'b' { i + 1 } else { i }).is_some()
        {
            let start = if c == 'b' { i + 1 } else { i };
            let hashes = raw_string_start(&s, start).unwrap();
            // r, hashes, opening quote
            let open = start + 1 + hashes + 1;
            while i < open {
                out.push(' ');
                i += 1;
            }
            loop {
                if i >= s.len() {
                    break;
                }
                if s[i] == '"' && (0..hashes).all(|k| s.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(s[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < s.len() {
                    out.push(blank(s[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1b}') or a lifetime ('a): only the former is blanked.
            let end = if next == Some('\\') {
                (i + 2..s.len()).find(|&j| s[j] == '\'')
            } else if s.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(s: &[char], i: usize) -> bool {
    i > 0 && (s[i - 1].is_alphanumeric() || s[i - 1] == '_')
}

/// At `r` (of `r"`, `r#"`…): the number of `#`s, if a raw string starts here.
fn raw_string_start(s: &[char], i: usize) -> Option<usize> {
    if s.get(i) != Some(&'r') {
        return None;
    }
    let mut j = i + 1;
    while s.get(j) == Some(&'#') {
        j += 1;
    }
    (s.get(j) == Some(&'"')).then_some(j - i - 1)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other,
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(s[start..i].iter().collect()), line));
        } else if c == ':' && s.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            let t = match c {
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                _ => Tok::Other,
            };
            out.push((t, line));
            i += 1;
        }
    }
    out
}

/// Every path from the crate root that a file names through `crate::`, `super::` or `self::`.
fn references(file: &SourceFile) -> Vec<Reference> {
    let toks = tokens(&code_only(&file.text));
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(name), _)) => Some(name.as_str()),
        _ => None,
    };
    let mut refs = Vec::new();
    // Inline `mod name {` blocks open at a brace depth; `super` climbs out of them first.
    let mut inline_mods: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut k = 0;
    while k < toks.len() {
        match &toks[k].0 {
            Tok::Open => {
                depth += 1;
                k += 1;
                continue;
            }
            Tok::Close => {
                if inline_mods.last().is_some_and(|(_, d)| *d == depth) {
                    inline_mods.pop();
                }
                depth = depth.saturating_sub(1);
                k += 1;
                continue;
            }
            _ => {}
        }
        if ident(k) == Some("mod")
            && let Some(name) = ident(k + 1)
            && toks.get(k + 2).map(|t| &t.0) == Some(&Tok::Open)
        {
            inline_mods.push((name.to_string(), depth + 1));
            k += 2;
            continue;
        }
        let starts_path = matches!(ident(k), Some("crate" | "super" | "self"))
            && toks.get(k + 1).map(|t| &t.0) == Some(&Tok::PathSep)
            && (k == 0 || toks[k - 1].0 != Tok::PathSep);
        if !starts_path {
            k += 1;
            continue;
        }
        let line = toks[k].1;
        let mut here: Vec<String> = file.module.clone();
        here.extend(inline_mods.iter().map(|(m, _)| m.clone()));
        let mut base: Vec<String> = match ident(k) {
            Some("crate") => {
                k += 2;
                file.crate_root.clone()
            }
            Some("self") => {
                k += 2;
                here
            }
            _ => {
                while ident(k) == Some("super")
                    && toks.get(k + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                {
                    here.pop();
                    k += 2;
                }
                here
            }
        };
        let mut paths = Vec::new();
        k = use_tree(&toks, k, &mut base, &mut paths);
        for path in paths {
            refs.push(Reference {
                file: file.rel.clone(),
                line,
                path,
            });
        }
    }
    refs
}

/// Reads the rest of a path or use tree at `k` (after `prefix::`), pushing each full path it
/// names; returns the index after it.
fn use_tree(
    toks: &[(Tok, usize)],
    mut k: usize,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let depth_at_start = prefix.len();
    loop {
        match toks.get(k).map(|t| &t.0) {
            Some(Tok::Ident(name)) => {
                if name != "self" {
                    prefix.push(name.clone());
                }
                k += 1;
                if toks.get(k).map(|t| &t.0) == Some(&Tok::PathSep) {
                    k += 1;
                    continue;
                }
                out.push(prefix.clone());
                break;
            }
            Some(Tok::Open) => {
                k += 1;
                loop {
                    match toks.get(k).map(|t| &t.0) {
                        Some(Tok::Close) => {
                            k += 1;
                            break;
                        }
                        Some(Tok::Comma) => k += 1,
                        None => break,
                        _ => {
                            let mut inner = prefix.clone();
                            let next = use_tree(toks, k, &mut inner, out);
                            // Skip whatever the subtree did not read (`as name`, a `*`).
                            k = next.max(k + 1);
                            while !matches!(
                                toks.get(k).map(|t| &t.0),
                                Some(Tok::Comma | Tok::Close) | None
                            ) {
                                k += 1;
                            }
                        }
                    }
                }
                break;
            }
            _ => {
                // A glob (`*`) or the end: the prefix itself is the reference.
                out.push(prefix.clone());
                break;
            }
        }
    }
    prefix.truncate(depth_at_start);
    k
}

/// `(from, to) → the first file:line that makes the edge`, for modules at `level` path
/// segments (1: `engine`, 2: `engine::gate`). A reference is cut to the deepest module that
/// exists at that level, so an item of `engine.rs` counts as `engine`.
type Edges = BTreeMap<(String, String), Vec<String>>;

fn edges(level: usize) -> Edges {
    let files = source_files();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let cut = |path: &[String]| -> Option<String> {
        let mut best = None;
        for n in 1..=level.min(path.len()) {
            if modules.contains(&path[..n]) {
                best = Some(path[..n].join("::"));
            }
        }
        best
    };
    let mut edges = Edges::new();
    for file in &files {
        let Some(from) = cut(&file.module) else {
            continue;
        };
        for r in references(file) {
            let Some(to) = cut(&r.path) else { continue };
            if to != from {
                let sites = edges.entry((from.clone(), to)).or_default();
                let site = format!("{}:{}", r.file, r.line);
                if !sites.contains(&site) {
                    sites.push(site);
                }
            }
        }
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(edges: &Edges) -> Vec<BTreeSet<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(v: &'a str, graph: &BTreeMap<&'a str, Vec<&'a str>>, st: &mut State<'a>) {
        let i = st.index.len();
        st.index.insert(v, i);
        st.low.insert(v, i);
        st.stack.push(v);
        st.on_stack.insert(v);
        for &w in &graph[v] {
            if !st.index.contains_key(w) {
                visit(w, graph, st);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on_stack.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut scc = BTreeSet::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on_stack.remove(w);
                scc.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                st.out.push(scc);
            }
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in graph.keys() {
        if !st.index.contains_key(v) {
            visit(v, &graph, &mut st);
        }
    }
    st.out
}

/// Each cycle with the edges inside it and the files that make them.
fn describe(cycles: &[BTreeSet<String>], edges: &Edges) -> String {
    let mut text = String::new();
    for scc in cycles {
        let names: Vec<&str> = scc.iter().map(String::as_str).collect();
        writeln!(text, "cycle among {}:", names.join(", ")).unwrap();
        for ((from, to), sites) in edges {
            if scc.contains(from) && scc.contains(to) {
                let more = if sites.len() > 1 {
                    format!(" (+{} more)", sites.len() - 1)
                } else {
                    String::new()
                };
                writeln!(text, "  {from} -> {to}   {}{more}", sites[0]).unwrap();
            }
        }
    }
    text
}

/// The edges at `level`, less the known exceptions (each of which must still be there).
fn edges_less_exceptions(level: usize) -> Edges {
    let mut edges = edges(level);
    for (from, to, why) in KNOWN_EXCEPTIONS {
        if from.matches("::").count() + 1 != level {
            continue;
        }
        assert!(
            edges.remove(&(from.to_string(), to.to_string())).is_some(),
            "the known exception {from} -> {to} ({why}) no longer exists: strike it off the list"
        );
    }
    edges
}

#[test]
fn model_imports_nothing_from_the_crate_outside_itself() {
    assert!(
        KNOWN_EXCEPTIONS.iter().all(|(from, _, _)| *from != "model"),
        "no exception may let model import another module of the crate"
    );
    let out: Vec<String> = edges_less_exceptions(1)
        .into_iter()
        .filter(|((from, _), _)| from == "model")
        .map(|((_, to), sites)| format!("  model -> {to}   {}", sites.join(", ")))
        .collect();
    assert!(
        out.is_empty(),
        "model must be the leaf (docs/architecture.md), but it imports:\n{}",
        out.join("\n")
    );
}

#[test]
fn no_arrow_the_architecture_forbids() {
    let out: Vec<String> = edges_less_exceptions(1)
        .into_iter()
        .filter(|((from, to), _)| {
            FORBIDDEN
                .iter()
                .any(|(f, t)| f == from && (*t == "*" || t == to))
        })
        .map(|((from, to), sites)| format!("  {from} -> {to}   {}", sites.join(", ")))
        .collect();
    assert!(
        out.is_empty(),
        "arrows docs/architecture.md forbids:\n{}",
        out.join("\n")
    );
}

#[test]
fn the_theme_imports_nothing_from_the_crate() {
    // ui::theme turns plain colour values into styles; config parses the files, so the theme
    // must not need config (or anything else) back.
    let out: Vec<String> = source_files()
        .iter()
        .filter(|f| {
            f.module
                .starts_with(&["ui".to_string(), "theme".to_string()])
        })
        .flat_map(references)
        .filter(|r| !r.path.starts_with(&["ui".to_string(), "theme".to_string()]))
        .map(|r| format!("  {}:{} -> {}", r.file, r.line, r.path.join("::")))
        .collect();
    assert!(
        out.is_empty(),
        "ui::theme imports from the crate:\n{}",
        out.join("\n")
    );
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let edges = edges_less_exceptions(1);
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "the top-level modules import each other in a ring:\n{}",
        describe(&found, &edges)
    );
}

#[test]
fn submodules_of_one_module_import_each_other_without_a_cycle() {
    // Only siblings: a submodule reaching its parent's items (`super::X`) and the parent
    // declaring it are not a tangle.
    let edges: Edges = edges_less_exceptions(2)
        .into_iter()
        .filter(|((from, to), _)| {
            let (Some((a, _)), Some((b, _))) = (from.split_once("::"), to.split_once("::")) else {
                return false;
            };
            a == b
        })
        .collect();
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "submodules import each other in a ring:\n{}",
        describe(&found, &edges)
    );
}

/// The paths a file names, written out (`model::Fleet`) and sorted.
fn sorted_paths(file: &SourceFile) -> Vec<String> {
    let mut got: Vec<String> = references(file).iter().map(|r| r.path.join("::")).collect();
    got.sort();
    got
}

#[test]
fn the_reader_sees_the_path_forms_the_crate_uses() {
    let file = SourceFile {
        rel: "src/engine/gate.rs".into(),
        module: vec!["engine".into(), "gate".into()],
        crate_root: vec![],
        text: r#"
            use crate::{config::{self, EndpointSpec}, model::Fleet as F};
            use super::shell::Pty; // crate::ui::Nope
            fn f() { let s = "crate::ui::Nope"; let c = '"'; crate::audit::log(s, c); }
            #[cfg(test)]
            mod tests {
                use super::super::targets::*;
            }
        "#
        .into(),
    };
    let got = sorted_paths(&file);
    assert_eq!(
        got,
        [
            "audit::log",
            "config",
            "config::EndpointSpec",
            "engine::shell::Pty",
            "engine::targets",
            "model::Fleet",
        ]
    );
}

#[test]
fn in_the_model_crate_crate_means_model() {
    let file = SourceFile {
        rel: "crates/model/src/deploy/plan.rs".into(),
        module: vec!["model".into(), "deploy".into(), "plan".into()],
        crate_root: vec!["model".into()],
        text: "use crate::{Fleet, ipam::Pool}; use super::spec::Spec;".into(),
    };
    let got = sorted_paths(&file);
    assert_eq!(
        got,
        [
            "model::Fleet",
            "model::deploy::spec::Spec",
            "model::ipam::Pool"
        ]
    );
    let model: Vec<String> = source_files()
        .into_iter()
        .filter(|f| f.module.first().is_some_and(|m| m == "model"))
        .map(|f| f.rel)
        .collect();
    assert!(
        model.iter().any(|r| r == "crates/model/src/lib.rs")
            && model.iter().any(|r| r == "crates/model/src/deploy/plan.rs"),
        "{model:?}"
    );
}
