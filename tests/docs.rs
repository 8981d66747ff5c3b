//! Docs that the code can check stay true by test: `docs/keys.md` is the keymap's `?` help as
//! Markdown (regenerate it with `FLEETDECK_BLESS=1 cargo test --test docs`), and the README's
//! minimal config parses and its pictures are there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use fleetdeck::config;
use fleetdeck::keymap::{KeyOverride, Keymap};

const KEYS_MD: &str = "docs/keys.md";
const BEGIN: &str = "<!-- keys:begin -->";
const END: &str = "<!-- keys:end -->";
const BLESS: &str = "FLEETDECK_BLESS";

/// A table cell: `|` would end the cell, so it is escaped (GitHub honours `\|` in code spans too).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A key label as a code span; one holding a backtick gets a double-backtick fence.
fn key_cell(key: &str) -> String {
    let key = cell(key);
    if key.contains('`') {
        format!("`` {key} ``")
    } else {
        format!("`{key}`")
    }
}

/// The keymap's help, one table per section, in the order and words the `?` overlay uses.
fn keys_markdown(keymap: &Keymap) -> String {
    let mut out = String::new();
    for section in keymap.help().iter().filter(|s| !s.hints.is_empty()) {
        out.push_str(&format!(
            "\n## {}\n\n| key | action |\n| --- | --- |\n",
            section.title
        ));
        for hint in &section.hints {
            out.push_str(&format!(
                "| {} | {} |\n",
                key_cell(&hint.key),
                cell(&hint.action)
            ));
        }
    }
    out.push('\n');
    out
}

/// The first line where two texts differ, both versions, for a failure message a person can act on.
fn first_difference(have: &str, want: &str) -> String {
    let (mut have_lines, mut want_lines) = (have.lines(), want.lines());
    for n in 1.. {
        match (have_lines.next(), want_lines.next()) {
            (None, None) => break,
            (h, w) if h == w => continue,
            (h, w) => {
                return format!(
                    "line {n} of the generated part:\n  docs/keys.md: {}\n  keymap:       {}",
                    h.map_or("(end)".into(), |l| format!("{l:?}")),
                    w.map_or("(end)".into(), |l| format!("{l:?}"))
                );
            }
        }
    }
    "only in whitespace".into()
}

#[test]
fn keys_md_is_the_keymap_help() {
    let text = std::fs::read_to_string(KEYS_MD).unwrap();
    let (head, rest) = text
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("{KEYS_MD} has lost its {BEGIN} marker"));
    let (current, tail) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("{KEYS_MD} has lost its {END} marker"));
    let generated = keys_markdown(&Keymap::default());
    if current == generated {
        return;
    }
    if std::env::var_os(BLESS).is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(KEYS_MD, format!("{head}{BEGIN}{generated}{END}{tail}")).unwrap();
        eprintln!("{KEYS_MD}: rewrote the generated part from Keymap::help()");
        return;
    }
    panic!(
        "{KEYS_MD} differs from the keymap's help (Keymap::help()) at {}\n\
         Regenerate it with: {BLESS}=1 cargo test --test docs",
        first_difference(current, &generated)
    );
}

#[test]
fn a_pipe_key_stays_inside_its_table_cell() {
    let rebind = KeyOverride {
        name: "quit".into(),
        keys: vec!["|".into(), "`".into()],
        line: 1,
    };
    let keymap = Keymap::with_overrides(&[rebind], Path::new("c.toml")).unwrap();
    let md = keys_markdown(&keymap);
    assert!(md.contains("| `` \\|/` `` | quit |\n"), "{md}");
}

#[test]
fn readme_minimal_config_parses() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let block = toml_block(&readme, 1).expect("README.md has a ```toml block: the minimal config");
    let c = config::parse_str(block, Path::new("README.md")).unwrap();
    assert!(!c.endpoints.is_empty());
    // The alert rule set, over the minimal config's endpoints.
    let rules =
        toml_block(&readme, 2).expect("README.md has a second ```toml block: the alert rules");
    let c = config::parse_str(&format!("{block}\n{rules}"), Path::new("README.md")).unwrap();
    let names: Vec<&str> = c.alerts.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["mem-high", "crash-loop", "pool-full", "fatal-logs"]);
}

/// The `n`th (from 1) ```toml block of a Markdown text.
fn toml_block(text: &str, n: usize) -> Option<&str> {
    text.split("```toml\n")
        .nth(n)
        .and_then(|rest| rest.split_once("```"))
        .map(|(toml, _)| toml)
}

/// The README's first screen shows the four pictures, each a file of `assets/` that parses as
/// SVG; `assets/` holds nothing else but the script that draws them; the README stays small.
#[test]
fn the_readme_shows_the_lab_pictures_and_assets_holds_nothing_unused() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(
        readme.len() < 15 * 1024,
        "README.md is {} bytes",
        readme.len()
    );
    let first_screen: String = readme.lines().take(25).collect::<Vec<_>>().join("\n");
    for name in ["clusters", "containers", "pools", "triage"] {
        let link = format!("](assets/{name}.svg)");
        assert!(
            first_screen.contains(&link),
            "{link} not on the first screen"
        );
        let svg = std::fs::read_to_string(format!("assets/{name}.svg")).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
    }
    for entry in std::fs::read_dir("assets").unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "refresh.sh" || readme.contains(&format!("](assets/{name})")),
            "assets/{name} is used by nothing"
        );
    }
}
