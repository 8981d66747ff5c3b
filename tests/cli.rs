//! The binary's answer to a bad command line or a bad config: one line on stderr starting
//! `fleetdeck: `, exit 2 (3 for `check`, a monitoring probe where 2 means critical), and nothing of a crash report (no "Location:", no backtrace, no
//! colour), even with RUST_BACKTRACE=1. Needs no Docker: every case fails before a daemon is
//! dialled.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;

/// Runs fleetdeck with `args` and asserts the one-line usage error (exit 2, or 3 for
/// `check`); returns the line.
fn usage_error(args: &[&str]) -> String {
    let code = if args.contains(&"check") { 3 } else { 2 };
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-fleetdeck-test")
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "{args:?}: not one line: {stderr:?}"
    );
    assert!(stderr.starts_with("fleetdeck: "), "{args:?}: {stderr}");
    for crash in ["Location:", "Backtrace", "backtrace", "\u{1b}", "Error:"] {
        assert!(!stderr.contains(crash), "{args:?}: {crash:?} in {stderr:?}");
    }
    stderr.trim_end().to_string()
}

const HOST: [&str; 2] = ["--host", "unix:///nonexistent/fleetdeck-test.sock"];

fn with_host<'a>(args: &[&'a str]) -> Vec<&'a str> {
    HOST.iter().copied().chain(args.iter().copied()).collect()
}

#[test]
fn an_impossible_snapshot_size_is_a_usage_error() {
    assert_eq!(
        usage_error(&with_host(&["snapshot", "--width", "5", "--height", "3"])),
        "fleetdeck: snapshot --width 5 --height 3 is too small; the smallest is --width 20 --height 5"
    );
    usage_error(&with_host(&["snapshot", "--width", "0"]));
    usage_error(&with_host(&["snapshot", "--height", "99999999"]));
}

#[test]
fn bad_arguments_are_one_line_usage_errors() {
    assert_eq!(
        usage_error(&with_host(&["--fps", "500", "check"])),
        "fleetdeck: invalid value '500' for '--fps <N>': 500 is not in 1..=60 (see fleetdeck --help)"
    );
    usage_error(&with_host(&["--view", "graphs"]));
    usage_error(&with_host(&["snapshot", "--view", "graphs"]));
    usage_error(&with_host(&["logs", "lab1/web", "--since", "5y"]));
    usage_error(&["audit", "--since", "yesterday-ish"]);
    usage_error(&with_host(&["stop"]));
    usage_error(&with_host(&[
        "kill", "lab1/web", "--signal", "NOPE", "--yes",
    ]));
    usage_error(&["frobnicate"]);
    usage_error(&["--read-only", "--write", "check"]);
}

#[test]
fn an_unreadable_or_empty_config_is_a_one_line_error() {
    assert_eq!(
        usage_error(&["--config", "/nonexistent/fleetdeck.toml", "check"]),
        "fleetdeck: config error: /nonexistent/fleetdeck.toml: cannot read: No such file or directory (os error 2)"
    );
    usage_error(&["--config", "tests/fixtures", "check"]);
    usage_error(&["--config", "tests/fixtures/config/empty.toml", "check"]);
    usage_error(&["--config", "tests/fixtures/config/wrong-type.toml", "check"]);
}

#[test]
fn control_characters_in_arguments_are_never_echoed_raw() {
    let line = usage_error(&["--host", "tcp://evil\u{1b}]0;pwned\u{7}:1", "check"]);
    assert!(line.contains("\\u{1b}"), "{line}");
    let line = usage_error(&with_host(&["snapshot", "--view", "\u{1b}[2Jclusters"]));
    assert!(line.contains('\u{241b}'), "{line}");
    usage_error(&with_host(&["logs", "nohost\u{1b}[31m/web"]));
}

#[test]
fn help_and_version_still_print_normally() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("fleetdeck "));
}

#[test]
fn check_exits_3_on_a_bad_alert_rule_naming_its_key() {
    let line = usage_error(&["--config", "tests/fixtures/config/bad-alert.toml", "check"]);
    assert!(
        line.starts_with(
            "fleetdeck: config error: tests/fixtures/config/bad-alert.toml:7: alert[0].when: \"memory_pct avg 2m >> 90\": \">>\" is not one of >, >=, <, <="
        ),
        "{line}"
    );
    // The same file is exit 2 for the other commands.
    usage_error(&[
        "--config",
        "tests/fixtures/config/bad-alert.toml",
        "snapshot",
    ]);
    // And a usage error of check is 3 too.
    usage_error(&with_host(&["check", "--jsn"]));
}

/// Runs `fleetdeck --host <nowhere> snapshot ARGS`: (exit code, stdout, stderr).
fn snapshot_of_nowhere(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(with_host(
            &[&["snapshot", "--width", "80", "--height", "24"], args].concat(),
        ))
        .env("XDG_CONFIG_HOME", "/nonexistent-fleetdeck-test")
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .env_remove("DOCKER_HOST")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_snapshot_picture_of_a_down_endpoint_is_still_whole_and_exits_1() {
    let (code, svg, stderr) = snapshot_of_nowhere(&["--format", "svg"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is down"), "{stderr}");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    let text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default())
        .collect();
    assert!(
        text.contains("fleetdeck") && text.contains("0/1 up"),
        "{text}"
    );

    // ANSI goes out with its SGR sequences (and nothing else), not shown as symbols.
    let (code, ansi, _) = snapshot_of_nowhere(&["--format", "ansi"]);
    assert_eq!(code, Some(1));
    assert_eq!(ansi.lines().count(), 24);
    assert!(
        ansi.ends_with("\u{1b}[0m\n") && !ansi.contains('\u{241b}'),
        "{ansi:?}"
    );
    for seq in ansi.split('\u{1b}').skip(1) {
        let end = seq.find('m').unwrap();
        assert!(
            seq.starts_with('[') && seq[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "not SGR: {seq:?}"
        );
    }

    let (code, json, _) = snapshot_of_nowhere(&["--format", "json", "--view", "triage"]);
    assert_eq!(code, Some(1));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["view"], "triage");
    assert_eq!(doc["lines"].as_array().unwrap().len(), 24);
}

#[test]
fn a_bad_snapshot_format_is_a_usage_error_naming_the_valid_ones() {
    let line = usage_error(&with_host(&["snapshot", "--format", "png"]));
    assert!(
        line.contains("'png'") && line.contains("text, svg, ansi, json"),
        "{line}"
    );
}

/// `check` reports each `[[notify]]` target as reachable or not (a connection, nothing sent),
/// and one that cannot be reached is a warning: the alerts it should carry would be lost.
#[test]
fn check_says_whether_each_notify_target_can_be_reached_and_warns_when_one_cannot() {
    let dir = tempfile::tempdir().unwrap();
    // A port that listens (reachable) and one that was listening and is closed (refused).
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = |targets: &str| {
        let path = dir.path().join("fleetdeck.toml");
        std::fs::write(
            &path,
            format!(
                "[alerts]\ndefaults = false\n\n[[endpoint]]\nname = \"nowhere\"\n\
                 url = \"unix:///nonexistent/fleetdeck-test.sock\"\n{targets}"
            ),
        )
        .unwrap();
        path
    };
    let target = |name: &str, port: u16| {
        format!("\n[[notify]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/hook\"\n")
    };
    let check = |path: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .args(["--config", path.to_str().unwrap(), "check", "--json"])
            .env("XDG_STATE_HOME", dir.path())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), doc)
    };
    let port = open.local_addr().unwrap().port();
    let (code, doc) = check(&config(&target("oncall", port)));
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["notify"][0]["name"], "oncall");
    assert_eq!(doc["notify"][0]["status"], "reachable");
    let both = format!("{}{}", target("oncall", port), target("pager", closed_port));
    let (code, doc) = check(&config(&both));
    assert_eq!(code, Some(1), "a warning: {doc}");
    assert_eq!(doc["notify"][1]["status"], "unreachable");
    let error = doc["notify"][1]["error"].as_str().unwrap();
    assert!(error.contains("connection refused"), "{error}");
    // The URL's path (a Slack webhook's secret) is never printed.
    assert!(!doc.to_string().contains("/hook"), "{doc}");
}
