//! Config files: the example parses, and each kind of mistake produces the exact message an
//! operator needs (file, line, key, what is valid).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;

use fleetdeck::config;
use fleetdeck::model::DockerUrl;

fn error_of(fixture: &str) -> String {
    let path = format!("tests/fixtures/config/{fixture}");
    config::parse_file(Path::new(&path))
        .expect_err("fixture must be rejected")
        .to_string()
}

#[test]
fn example_config_parses_with_every_key() {
    let c = config::parse_file(Path::new("config.example.toml")).unwrap();
    assert_eq!(c.endpoints.len(), 3);
    assert_eq!(c.endpoints[0].cluster, "prod-us");
    assert_eq!(c.endpoints[0].labels["subnet"], "192.168.2.0/24");
    assert!(matches!(c.endpoints[1].url, DockerUrl::Ssh { .. }));
    assert_eq!(c.endpoints[2].cluster, "default");
    // [cluster.prod-us] is read-only; us-east-01 opts out with its own read_only = false.
    let read_only: Vec<bool> = c.endpoints.iter().map(|e| e.read_only).collect();
    assert_eq!(read_only, [false, true, false]);
    assert_eq!(c.clusters(), ["prod-us", "default"]);
    assert_eq!(c.ui.fps, 20);
    assert_eq!(c.influx, None, "[influx] is commented out in the example");
    assert_eq!(c.shell.exec, ["bash", "sh"]);
    assert_eq!(c.shell.height_percent, 60);
    assert_eq!(
        c.endpoints[0].host_shell.as_deref(),
        Some(&["ssh", "-J", "bastion", "ops@10.0.0.5"].map(String::from)[..])
    );
    assert_eq!(c.deploy.dir, Path::new("deploy"));
    assert_eq!((c.deploy.keep_revisions, c.deploy.wait_s), (3, 60));
}

#[test]
fn shell_settings_name_the_bad_value_and_the_valid_ones() {
    let err = |text: &str| {
        config::parse_str(text, Path::new("f.toml"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("[shell]\nheight_percent = 95\n"),
        "f.toml:2: shell.height_percent: 95 is out of range; valid values: 20 to 90"
    );
    assert_eq!(
        err("[shell]\nexec = [\"bash; rm -rf /\"]\n"),
        "f.toml:2: shell.exec: \"bash; rm -rf /\" is not a shell name; use a program name or path (letters, digits, / . _ -)"
    );
    assert_eq!(
        err("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:1\"\nhost_shell = []\n"),
        "f.toml:4: endpoint[0].host_shell: needs a program and its arguments, e.g. [\"ssh\", \"-J\", \"bastion\", \"ops@10.0.0.5\"]"
    );
}

#[test]
fn every_shipped_deploy_spec_parses_and_writes_back_the_same() {
    use fleetdeck::config::deploy::{load_spec, parse_spec, write::spec_toml};
    let mut names = Vec::new();
    for entry in std::fs::read_dir("deploy").unwrap() {
        let path = entry.unwrap().path();
        // deploy/ also ships the systemd unit of `fleetdeck watch`.
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let spec = load_spec(&path, 60).unwrap_or_else(|e| panic!("{e}"));
        let written = spec_toml(&spec, 60, &[]);
        assert_eq!(
            parse_spec(&written, &path, 60).unwrap_or_else(|e| panic!("{e}\n{written}")),
            spec,
            "{written}"
        );
        names.push(spec.name);
    }
    for example in ["cart", "base-app"] {
        assert!(
            names.iter().any(|n| n == example),
            "deploy/ holds {example}: {names:?}"
        );
    }
}

#[test]
fn bad_deploy_settings_name_the_key_and_the_range() {
    let e = config::parse_str("[deploy]\nkeep_revisions = 0\n", Path::new("c.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "c.toml:2: deploy.keep_revisions: 0 is out of range; valid values: 1 to 100"
    );
}

#[test]
fn unknown_key_names_the_line_and_the_valid_keys() {
    assert_eq!(
        error_of("unknown-key.toml"),
        "tests/fixtures/config/unknown-key.toml:3: unknown key \"urll\"; valid keys: name, url, cluster, labels, tls, ssh_config, stats_interval_s, read_only, host_shell"
    );
}

#[test]
fn bad_url_scheme_lists_the_valid_schemes() {
    assert_eq!(
        error_of("bad-scheme.toml"),
        "tests/fixtures/config/bad-scheme.toml:3: endpoint[0].url: unknown scheme \"htp\" in \"htp://10.0.0.5:2376\"; valid schemes: unix, tcp, http, https, ssh"
    );
}

#[test]
fn duplicate_endpoint_names_point_at_both() {
    assert_eq!(
        error_of("duplicate-name.toml"),
        "tests/fixtures/config/duplicate-name.toml:6: endpoint[1].name: duplicate endpoint name \"us-east-01\" (first defined on line 2); endpoint names must be unique"
    );
}

#[test]
fn missing_tls_file_is_named() {
    assert_eq!(
        error_of("missing-tls.toml"),
        "tests/fixtures/config/missing-tls.toml:4: endpoint[0].tls.ca: file \"tests/fixtures/config/certs/nope-ca.pem\" does not exist"
    );
}

#[test]
fn out_of_range_values_give_the_range() {
    assert_eq!(
        error_of("bad-fps.toml"),
        "tests/fixtures/config/bad-fps.toml:2: ui.fps: 500 is out of range; valid values: 1 to 60"
    );
}

#[test]
fn missing_influx_token_variable_is_named() {
    assert_eq!(
        error_of("influx-missing-token.toml"),
        "tests/fixtures/config/influx-missing-token.toml:5: influx.token_env: environment variable \"FLEETDECK_TEST_INFLUX_TOKEN_NEVER_SET\" is not set; export it with the InfluxDB API token before starting fleetdeck"
    );
}

#[test]
fn example_influx_section_parses_once_uncommented() {
    let text = std::fs::read_to_string("config.example.toml").unwrap();
    let start = text
        .find("# [influx]")
        .expect("config.example.toml documents [influx]");
    let uncommented: String = text[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let env = |name: &str| (name == "INFLUX_TOKEN").then(|| "example-token".to_string());
    let c =
        config::parse_str_with_env(&uncommented, Path::new("config.example.toml"), &env).unwrap();
    let influx = c.influx.unwrap();
    assert_eq!(influx.url, "http://127.0.0.1:8086");
    assert_eq!(influx.bucket, "fleetdeck");
    assert_eq!(influx.token.expose(), "example-token");
    assert_eq!(influx.interval.as_secs(), 10);
    assert_eq!(influx.queue_capacity, 100_000);
}

#[test]
fn the_binary_exits_2_on_a_bad_config_before_touching_the_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args([
            "--config",
            "tests/fixtures/config/bad-scheme.toml",
            "snapshot",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "fleetdeck: config error: tests/fixtures/config/bad-scheme.toml:3: endpoint[0].url"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["--host", "ftp://x", "snapshot"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--host ftp://x: unknown scheme \"ftp\"")
    );
    // `check` is a monitoring probe, where 2 means critical: its bad config is 3.
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["--config", "tests/fixtures/config/bad-scheme.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn help_says_where_the_logs_are() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Logs: ") && text.contains("fleetdeck.log"),
        "{text}"
    );
}

#[test]
fn an_unknown_start_view_lists_the_valid_ones() {
    assert_eq!(
        error_of("bad-ui-view.toml"),
        "tests/fixtures/config/bad-ui-view.toml:2: ui.view: unknown view \"graphs\"; valid views: clusters, containers, events, triage, ippool, stats, nodes, services"
    );
}

#[test]
fn an_unknown_wall_view_lists_the_valid_ones() {
    assert_eq!(
        error_of("bad-wall-view.toml"),
        "tests/fixtures/config/bad-wall-view.toml:2: wall.views: unknown view \"graphs\"; valid views: clusters, containers, events, triage, ippool, stats, nodes, services"
    );
}

#[test]
fn a_key_bound_twice_names_both_actions_and_stops_before_the_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["--config", "tests/fixtures/config/duplicate-key.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "fleetdeck: config error: tests/fixtures/config/duplicate-key.toml:3: keys: key \"o\" is bound to both containers.sort and containers.group"
    );
}

#[test]
fn the_example_keys_are_valid_rebindings() {
    let c = config::parse_file(Path::new("config.example.toml")).unwrap();
    assert!(!c.keys.is_empty(), "the example documents [keys]");
    fleetdeck::keymap::Keymap::with_overrides(&c.keys, Path::new("config.example.toml")).unwrap();
}

#[test]
fn clipboard_is_on_by_default_and_takes_only_a_boolean() {
    let c = config::parse_str("", Path::new("f.toml")).unwrap();
    assert!(c.ui.clipboard);
    let c = config::parse_str("[ui]\nclipboard = false\n", Path::new("f.toml")).unwrap();
    assert!(!c.ui.clipboard);
    assert_eq!(
        error_of("bad-clipboard.toml"),
        "tests/fixtures/config/bad-clipboard.toml:2: ui.clipboard: expected a boolean, found string \"yes\""
    );
}

#[test]
fn mouse_is_on_by_default_and_takes_only_a_boolean() {
    let c = config::parse_str("", Path::new("f.toml")).unwrap();
    assert!(c.ui.mouse);
    let c = config::parse_str("[ui]\nmouse = false\n", Path::new("f.toml")).unwrap();
    assert!(!c.ui.mouse);
    assert_eq!(
        error_of("bad-mouse.toml"),
        "tests/fixtures/config/bad-mouse.toml:2: ui.mouse: expected a boolean, found string \"on\""
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_path_and_the_expected_type() {
    assert_eq!(
        error_of("wrong-type.toml"),
        "tests/fixtures/config/wrong-type.toml:12: endpoint[2].read_only: expected a boolean, found string \"yes\""
    );
    let err = |text: &str| {
        config::parse_str(text, Path::new("f.toml"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("[engine]\nrequest_timeout_s = \"10\"\n"),
        "f.toml:2: engine.request_timeout_s: expected u64, found string \"10\""
    );
    assert_eq!(
        err("read_only = 1\n"),
        "f.toml:1: read_only: expected a boolean, found integer 1"
    );
    assert_eq!(
        err("[stats.cluster_interval_s]\n\"prod.us\" = true\n"),
        "f.toml:2: stats.cluster_interval_s.\"prod.us\": expected u64, found boolean true"
    );
    assert_eq!(
        err("[wall]\nviews = \"clusters\"\n"),
        "f.toml:2: wall.views: expected a sequence, found string \"clusters\""
    );
    assert_eq!(
        err("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:1\"\nlabels = { zone = 3 }\n"),
        "f.toml:4: endpoint[0].labels.zone: expected a string, found integer 3"
    );
}

#[test]
fn an_empty_or_comments_only_file_is_an_error_naming_it() {
    for fixture in ["empty.toml", "comments-only.toml"] {
        assert_eq!(
            error_of(fixture),
            format!(
                "tests/fixtures/config/{fixture}: the file is empty (nothing but blanks and comments); add an [[endpoint]], or remove the file to use DOCKER_HOST"
            )
        );
    }
}

#[test]
fn a_config_file_without_endpoints_needs_host_or_contexts() {
    let sources = |hosts: &[&str]| config::Sources {
        config: Some("tests/fixtures/config/no-endpoints.toml".into()),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        ..config::Sources::default()
    };
    assert_eq!(
        config::load(&sources(&[])).unwrap_err().to_string(),
        "tests/fixtures/config/no-endpoints.toml: no [[endpoint]] is defined; add one (see config.example.toml), or add daemons with --host or --contexts"
    );
    let c = config::load(&sources(&["tcp://10.0.0.9:2375"])).unwrap();
    assert_eq!(c.endpoints.len(), 1);
    assert_eq!(c.ui.fps, 10);
}

#[test]
fn control_characters_in_names_and_urls_are_refused_and_shown_escaped() {
    let err = |text: &str| {
        config::parse_str(text, Path::new("f.toml"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("[[endpoint]]\nname = \"lab\\u001b[2J\"\nurl = \"tcp://h:1\"\n"),
        "f.toml:2: endpoint[0].name: \"lab\\u{1b}[2J\" contains control characters; an endpoint name must be printable text"
    );
    assert_eq!(
        err("[[endpoint]]\nname = \"lab\"\nurl = \"tcp://h\\u0007:1\"\n"),
        "f.toml:3: endpoint[0].url: \"tcp://h\\u{7}:1\" contains control characters; a URL must be printable text"
    );
    assert_eq!(
        err("[[endpoint]]\nname = \"lab\"\nurl = \"tcp://h:1\"\ncluster = \"prod\\u202e\"\n"),
        "f.toml:4: endpoint[0].cluster: \"prod\\u{202e}\" contains control characters; a cluster name must be printable text"
    );
    let e = fleetdeck::model::EndpointSpec::from_url(None, "tcp://a\u{1b}[31m:1").unwrap_err();
    assert!(!e.contains('\u{1b}'), "{e}");
}

#[test]
fn a_local_subnets_label_must_list_subnets_none_of_them_shared() {
    let parse = |labels: &str| {
        config::parse_str(
            &format!("[[endpoint]]\nname = \"d1\"\nurl = \"tcp://h:1\"\nlabels = {labels}\n"),
            Path::new("f.toml"),
        )
    };
    let err = |labels: &str| parse(labels).unwrap_err().to_string();
    assert_eq!(
        err(r#"{ local_subnets = "10.77.0.0/24, lan0" }"#),
        "f.toml:4: endpoint[0].labels.local_subnets: \"lan0\" is not a subnet; give prefixes \
         like 10.77.0.0/24, separated by commas"
    );
    assert_eq!(
        err(r#"{ local_subnets = " " }"#),
        "f.toml:4: endpoint[0].labels.local_subnets: empty; give prefixes like 10.77.0.0/24, \
         separated by commas, or leave the label out"
    );
    assert_eq!(
        err(r#"{ subnet = "10.77.0.0/24", local_subnets = "10.78.0.0/24,10.77.0.9/24" }"#),
        "f.toml:4: endpoint[0].labels.local_subnets: 10.77.0.0/24 is also this endpoint's \
         subnet label, which shares it across the cluster; a subnet is either shared or local"
    );
    let ok = parse(r#"{ subnet = "10.78.0.0/24", local_subnets = "10.77.0.0/24" }"#).unwrap();
    assert_eq!(ok.endpoints[0].labels["local_subnets"], "10.77.0.0/24");
}

fn alert_error(rules: &str) -> String {
    let text = format!("[[endpoint]]\nname = \"lab1\"\nurl = \"tcp://h:1\"\n\n{rules}");
    config::parse_str(&text, Path::new("f.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn without_alert_rules_the_built_in_ones_apply_and_can_be_turned_off() {
    let names = |text: &str| -> Vec<String> {
        config::parse_str(text, Path::new("f.toml"))
            .unwrap()
            .alerts
            .rules
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    let builtin = [
        "endpoint-down",
        "ip-conflict",
        "restart-loop",
        "oom-killed",
        "exited-nonzero",
        "unhealthy",
        "restarting",
        "swarm-node-down",
        "swarm-node-drained",
        "swarm-task-failing",
    ];
    assert_eq!(names(""), builtin);
    assert_eq!(names("[alerts]\ndefaults = false\n"), Vec::<String>::new());
    let one = "[[alert]]\nname = \"x\"\nwhen = \"oom killed\"\n";
    assert_eq!(names(one), ["x"], "own rules replace the built-in ones");
    let both = names(&format!("[alerts]\ndefaults = true\n{one}"));
    assert_eq!(both.len(), 11);
    assert_eq!(both[10], "x");
    // The built-in restart loop follows [events].
    let c = config::parse_str(
        "[events]\nrestart_loop_count = 5\nrestart_loop_window_s = 60\n",
        Path::new("f.toml"),
    )
    .unwrap();
    assert_eq!(
        c.alerts.rules[2].condition.to_string(),
        "restarts >= 5 in 1m"
    );
}

#[test]
fn a_rule_is_typed_from_every_key() {
    use fleetdeck::model::alerts::Severity;
    use std::time::Duration;
    let c = config::parse_str(
        "[[endpoint]]\nname = \"lab1\"\nurl = \"tcp://h:1\"\n\n\
         [[alert]]\nname = \"mem-high\"\nscope = \"@lab1\"\nwhen = \"memory_pct avg 2m > 90\"\n\
         for = \"1m\"\nseverity = \"critical\"\ncooldown = \"10m\"\nkeep_firing = \"2m\"\n",
        Path::new("f.toml"),
    )
    .unwrap();
    let r = &c.alerts.rules[0];
    assert_eq!(r.name, "mem-high");
    assert_eq!(r.scope.as_str(), "@lab1");
    assert_eq!(r.condition.to_string(), "memory_pct avg 2m > 90");
    assert_eq!(r.for_, Duration::from_secs(60));
    assert_eq!(r.severity, Severity::Critical);
    assert_eq!(r.cooldown, Duration::from_secs(600));
    assert_eq!(r.keep_firing, Duration::from_secs(120));
    assert!(!c.alerts.defaults);
}

#[test]
fn a_bad_rule_names_the_file_the_key_the_value_and_what_is_valid() {
    let e = alert_error(
        "[[alert]]\nname = \"a\"\nwhen = \"oom\"\n\n[[alert]]\nname = \"b\"\nwhen = \"disk_pct > 9\"\n",
    );
    assert!(
        e.starts_with("f.toml:11: alert[1].when: \"disk_pct > 9\": unknown condition \"disk_pct\"; valid forms: METRIC [avg|max|min|last WINDOW] OP NUMBER (metrics: cpu_pct,"),
        "{e}"
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a\"\nwhen = \"oom\"\nseverity = \"page\"\n"),
        "f.toml:8: alert[0].severity: \"page\" is not a severity; valid severities: warning, critical"
    );
    assert_eq!(
        alert_error(
            "[[alert]]\nname = \"a\"\nwhen = \"oom\"\n[[alert]]\nname = \"a\"\nwhen = \"unhealthy\"\n"
        ),
        "f.toml:9: alert[1].name: \"a\" is already the name of alert[0]; names must be unique"
    );
    assert_eq!(
        alert_error("[alerts]\ndefaults = true\n[[alert]]\nname = \"unhealthy\"\nwhen = \"oom\"\n"),
        "f.toml:8: alert[0].name: \"unhealthy\" is the name of a built-in rule, which [alerts] defaults = true keeps; built-in rules: endpoint-down, ip-conflict, restart-loop, oom-killed, exited-nonzero, unhealthy, restarting, swarm-node-down, swarm-node-drained, swarm-task-failing"
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a b\"\nwhen = \"oom\"\n"),
        "f.toml:6: alert[0].name: \"a b\" is not a rule name; use letters, digits, - _ . (e.g. \"mem-high\"): :silence takes it"
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a\"\nscope = \"@lab9\"\nwhen = \"oom\"\n"),
        "f.toml:7: alert[0].scope: no endpoint named \"lab9\"; endpoints: lab1"
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a\"\nscope = \"colour:red\"\nwhen = \"oom\"\n"),
        "f.toml:7: alert[0].scope: unknown filter field \"colour\"; valid fields: name, image, endpoint (ep), cluster, label, project, state, health, type; a scope is \"fleet\", \"@ENDPOINT\" or a filter like \"cluster:prod label:app=web\""
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a\"\nwhen = \"oom\"\nfor = \"5 minutes\"\n"),
        "f.toml:8: alert[0].for: \"5 minutes\" is not a duration; expected one like 30s, 2m, 1h or 1d"
    );
    assert_eq!(
        alert_error("[[alert]]\nname = \"a\"\nwhen = \"oom\"\nexpect = 3\n"),
        "f.toml:8: alert[0].expect: only a \"missing\" rule takes expect; this one is \"oom\""
    );
    let e = alert_error("[[alert]]\nname = \"a\"\nwhen = \"log =~ '(oops'\"\n");
    assert!(
        e.starts_with("f.toml:7: alert[0].when: \"log =~ '(oops'\": bad regex:"),
        "{e}"
    );
    let e = alert_error("[[alert]]\nname = \"a\"\nwhen = \"oom\"\nfrequency = 3\n");
    assert!(e.contains("unknown key \"frequency\"; valid keys: name, scope, when, for, severity, cooldown, keep_firing, expect"), "{e}");
}

#[test]
fn a_metric_window_must_fit_the_stats_history_and_hold_a_sample() {
    assert_eq!(
        alert_error("[[alert]]\nname = \"m\"\nwhen = \"cpu_pct avg 20m > 90\"\n"),
        "f.toml:7: alert[0].when: \"cpu_pct avg 20m > 90\": the window 20m is longer than the stats history kept (10m; [stats] history_s = 600); raise history_s or shorten the window"
    );
    assert_eq!(
        alert_error(
            "[stats]\ninterval_s = 10\n[[alert]]\nname = \"m\"\nwhen = \"cpu_pct avg 5s > 90\"\n"
        ),
        "f.toml:9: alert[0].when: \"cpu_pct avg 5s > 90\": the window 5s is shorter than the stats interval (10s), so it would hold no sample; use a window of at least 10s"
    );
    assert_eq!(
        alert_error("[stats]\ninterval_s = 0\n[[alert]]\nname = \"m\"\nwhen = \"cpu_pct > 90\"\n"),
        "f.toml:9: alert[0].when: \"cpu_pct > 90\" reads stats, which are off ([stats] interval_s = 0)"
    );
}

#[test]
fn example_alert_rules_parse_once_uncommented() {
    let text = std::fs::read_to_string("config.example.toml").unwrap();
    let start = text
        .find("# [[alert]]")
        .expect("the example documents [[alert]]");
    let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e);
    let uncommented = format!(
        "{}{}{}",
        &text[..start],
        text[start..end]
            .lines()
            .map(|l| if l.trim() == "#" {
                ""
            } else {
                l.strip_prefix("# ").unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        &text[end..]
    );
    let c = config::parse_str(&uncommented, Path::new("config.example.toml")).unwrap();
    let names: Vec<&str> = c.alerts.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 10 + 5, "{names:?}");
    assert_eq!(
        names[10..],
        [
            "mem-high",
            "crash-loop",
            "cart-replicas",
            "pool-full",
            "fatal-logs"
        ]
    );
}
