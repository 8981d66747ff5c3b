//! The read-only gate and the audit log only protect anything if every state-changing Docker
//! request goes through them. This test reads the source: a bollard method that sends a POST,
//! PUT or DELETE may appear only inside `send` in `src/engine/gate.rs`, the function that
//! `Gate::carry_out` (behind `apply` and `open_exec`) calls after the read-only check and the
//! audit record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};

/// bollard 0.21's methods that send POST, PUT or DELETE (found by reading its source for
/// `Method::POST|PUT|DELETE`). `wait_container` and `attach_container` change nothing
/// themselves but are POSTs, and the read-only lab test asserts that a read-only daemon
/// receives no POST at all, so they belong behind the gate too.
const STATE_CHANGING: &[&str] = &[
    "attach_container",
    "build_image",
    "commit_container",
    "connect_network",
    "create_checkpoint",
    "create_config",
    "create_container",
    "create_exec",
    "create_image",
    "create_network",
    "create_plugin",
    "create_secret",
    "create_service",
    "create_volume",
    "delete_checkpoint",
    "delete_config",
    "delete_node",
    "delete_secret",
    "delete_service",
    "disable_plugin",
    "disconnect_network",
    "enable_plugin",
    "import_image",
    "import_image_stream",
    "init_swarm",
    "install_plugin",
    "join_swarm",
    "kill_container",
    "leave_swarm",
    "pause_container",
    "prune_build",
    "prune_containers",
    "prune_images",
    "prune_networks",
    "prune_volumes",
    "push_image",
    "push_plugin",
    "remove_container",
    "remove_image",
    "remove_network",
    "remove_plugin",
    "remove_volume",
    "rename_container",
    "resize_container_tty",
    "resize_exec",
    "restart_container",
    "set_plugin_config",
    "start_container",
    "start_exec",
    "stop_container",
    "tag_image",
    "unpause_container",
    "update_config",
    "update_container",
    "update_node",
    "update_secret",
    "update_service",
    "update_swarm",
    "upgrade_plugin",
    "upload_to_container",
    "wait_container",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines (1-based) of `text` that use one of the methods as a word, outside comment lines.
fn uses(text: &str) -> Vec<(usize, &'static str)> {
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for name in STATE_CHANGING {
            let mut from = 0;
            while let Some(at) = code[from..].find(name) {
                let start = from + at;
                let end = start + name.len();
                let before = code[..start].chars().next_back();
                let after = code[end..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if !word(before) && !word(after) {
                    hits.push((n + 1, *name));
                }
                from = end;
            }
        }
    }
    hits
}

#[test]
fn state_changing_docker_calls_exist_only_in_the_gate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 10, "found the sources");
    let gate = root.join("src/engine/gate.rs");
    let mut outside = Vec::new();
    for file in &files {
        if *file == gate {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (line, name) in uses(&text) {
            outside.push(format!(
                "{}:{line}: {name}",
                file.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        outside.is_empty(),
        "state-changing Docker calls outside the gate (route them through engine::gate::Gate):\n{}",
        outside.join("\n")
    );
}

#[test]
fn inside_the_gate_only_send_makes_them_after_the_checks() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine/gate.rs"))
            .unwrap();
    let start = text
        .find("\nasync fn send(")
        .expect("gate.rs has its send function");
    let end = start + text[start..].find("\n}\n").expect("send ends");
    let send_first = text[..start].lines().count() + 1;
    let send_last = text[..end].lines().count() + 1;
    let hits = uses(&text);
    assert!(!hits.is_empty(), "the scanner sees the gate's own calls");
    let stray: Vec<_> = hits
        .iter()
        .filter(|(line, _)| !(send_first..=send_last).contains(line))
        .collect();
    assert!(
        stray.is_empty(),
        "state-changing calls in gate.rs outside send(): {stray:?}"
    );
    // And send is called from carry_out only (the body of apply, apply_reporting and
    // open_exec), after the
    // read-only check and the audit record.
    let calls: Vec<_> = text.match_indices("send(&docker").collect();
    assert_eq!(calls.len(), 1, "send is called once");
    let apply = text.find("async fn carry_out(").unwrap();
    let checks = text[apply..].find("spec.read_only").unwrap() + apply;
    let audited = text[apply..].find("self.audit.started(").unwrap() + apply;
    assert!(apply < checks && checks < audited && audited < calls[0].0);
}

#[test]
fn the_scanner_finds_a_call_split_over_lines() {
    let hits = uses(
        "let x = docker\n    .restart_container(id, None)\n    .await;\n// stop_container in a comment\nlet restart_containers = 1;",
    );
    assert_eq!(hits, [(2, "restart_container")]);
}

/// The type-level boundary (`engine::client::ReadOnly` for every task, the full client only
/// inside `engine::gate`) holds as long as a full bollard client is made in one place: the
/// transport builds it, for `EndpointClient` alone. A second place would be a way round it.
#[test]
fn a_full_client_is_built_in_one_place() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for what in ["Docker::connect_with", "transport::build("] {
                if code.contains(what) {
                    found.push(format!("{name}:{}: {what}", n + 1));
                }
            }
        }
    }
    found.sort();
    let places: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.split(':').next().unwrap(), f.rsplit(": ").next().unwrap()))
        .collect();
    assert_eq!(
        places,
        [
            ("src/engine/gate/endpoint.rs", "transport::build("),
            ("src/engine/transport.rs", "Docker::connect_with"),
        ],
        "a bollard client is built somewhere else than transport::build, for EndpointClient:\n{}",
        found.join("\n")
    );
}
