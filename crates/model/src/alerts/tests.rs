use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::container::fixtures::container;
use crate::events::{FleetEvent, RestartLoopRule, Severity as EventSeverity};
use crate::stats::RawStats;
use crate::{EndpointSpec, Health, Msg, MsgKind, SyncData};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(100_000 + secs, 0).unwrap()
}

fn fleet() -> Fleet {
    let mut b = EndpointSpec::from_url(Some("b"), "tcp://b:1").unwrap();
    b.cluster = "prod".into();
    Fleet::new([EndpointSpec::from_url(Some("a"), "tcp://a:1").unwrap(), b])
}

fn sync(f: &mut Fleet, endpoint: usize, at: DateTime<Utc>, containers: Vec<Container>) {
    rows(f, (endpoint, at), MsgKind::Synced, containers);
}

/// A sync (`MsgKind::Synced`) or a list (`MsgKind::Listed`) of these rows.
fn rows(
    f: &mut Fleet,
    (endpoint, at): (usize, DateTime<Utc>),
    kind: fn(Box<SyncData>) -> MsgKind,
    containers: Vec<Container>,
) {
    f.apply(Msg {
        endpoint,
        at,
        kind: kind(Box::new(SyncData {
            containers,
            ..SyncData::default()
        })),
    });
}

/// Endpoint 1 ("b") goes down at `at`.
fn down(f: &mut Fleet, at: DateTime<Utc>) {
    f.apply(Msg {
        endpoint: 1,
        at,
        kind: MsgKind::Down {
            reason: "refused".into(),
            retry_in: Duration::from_secs(1),
        },
    });
}

fn rule(name: &str, scope: &str, when: &str) -> Rule {
    Rule::new(
        name,
        Scope::parse(scope).unwrap(),
        Condition::parse(when).unwrap(),
    )
}

fn crashed(id: &str, name: &str, code: i64, finished: DateTime<Utc>) -> Container {
    let mut c = container(id, name, ContainerState::Exited);
    c.exit_code = Some(code);
    c.finished_at = Some(finished);
    c
}

fn death(endpoint: usize, secs: i64, id: &str) -> FleetEvent {
    let mut e = FleetEvent {
        time_nano: t(secs).timestamp_nanos_opt().unwrap(),
        endpoint,
        kind: "container".into(),
        action: "die".into(),
        actor_id: id.into(),
        actor: format!("name-{id}"),
        details: vec![],
        exit_code: Some(1),
        severity: EventSeverity::Info,
        restart_loop: false,
    };
    e.classify();
    e
}

/// The triage fixture of `model::triage`, plus a restart loop and a restarting container.
fn triage_fleet(now: DateTime<Utc>) -> Fleet {
    let mut f = fleet();
    let mut oom = crashed("c4", "hog", 137, now - TimeDelta::minutes(2));
    oom.oom_killed = true;
    let mut sick = container("c5", "sick", ContainerState::Running);
    sick.health = Health::Unhealthy;
    sick.started_at = Some(now - TimeDelta::minutes(30));
    sick.detail.last_health_output = Some("curl: connection refused".into());
    let mut restarting = container("c6", "flappy", ContainerState::Restarting);
    restarting.restart_count = 4;
    let looping = container("c7", "name-c7", ContainerState::Restarting);
    sync(
        &mut f,
        0,
        now,
        vec![
            crashed("c1", "crashed", 2, now - TimeDelta::minutes(5)),
            crashed("c2", "old", 2, now - TimeDelta::hours(3)),
            crashed("c3", "done", 0, now - TimeDelta::minutes(1)),
            oom,
            sick,
            restarting,
            looping,
        ],
    );
    f.apply(Msg {
        endpoint: 0,
        at: now,
        kind: MsgKind::Events(
            [-50, -40, -30]
                .into_iter()
                .map(|s| death(0, (now - t(0)).num_seconds() + s, "c7"))
                .collect(),
        ),
    });
    f.apply(Msg {
        endpoint: 1,
        at: now - TimeDelta::seconds(10),
        kind: MsgKind::Down {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(1),
        },
    });
    f
}

#[test]
fn the_default_rules_list_the_classic_triage_problems_worst_first() {
    let now = t(0);
    let f = triage_fleet(now);
    let mut alerts = Alerts::new(defaults::rules(RestartLoopRule::default()));
    let notices = alerts.evaluate(&f, now);
    type Row = (
        String,
        Option<usize>,
        String,
        Option<i64>,
        Option<DateTime<Utc>>,
        String,
    );
    let row = |label: &str, ep, c: &str, exit, ago: Option<i64>, detail: &str| -> Row {
        (
            label.into(),
            ep,
            c.into(),
            exit,
            ago.map(|s| t(-s)),
            detail.into(),
        )
    };
    let got: Vec<Row> = alerts
        .firing()
        .iter()
        .map(|a| {
            (
                a.label.clone(),
                a.endpoint,
                a.container.clone(),
                a.exit_code,
                a.at,
                a.detail.clone(),
            )
        })
        .collect();
    assert_eq!(notices.len(), got.len(), "one firing notice each");
    assert_eq!(
        got,
        [
            row(
                "endpoint down",
                Some(1),
                "",
                None,
                Some(10),
                "connection refused"
            ),
            row(
                "restart loop",
                Some(0),
                "name-c7",
                Some(1),
                Some(30),
                "3 deaths in the window"
            ),
            row(
                "OOM killed",
                Some(0),
                "hog",
                Some(137),
                Some(120),
                "Exited (137) OOM 2m ago"
            ),
            row(
                "unhealthy",
                Some(0),
                "sick",
                None,
                Some(1800),
                "curl: connection refused"
            ),
            row(
                "exited non-zero",
                Some(0),
                "name-c7",
                Some(1),
                Some(30),
                "Exited (1) 30s ago"
            ),
            row(
                "exited non-zero",
                Some(0),
                "crashed",
                Some(2),
                Some(300),
                "Exited (2) 5m ago"
            ),
            row("restarting", Some(0), "flappy", None, None, "4 restarts"),
        ],
        "critical first, newest first within a severity; the old crash, the clean exit and the \
         looping container's restarting state are not listed"
    );
}

#[test]
fn a_rule_fires_after_its_for_once_and_resolves_once() {
    let mut f = fleet();
    sync(&mut f, 0, t(0), vec![crashed("c1", "job", 3, t(0))]);
    let mut r = rule("job-failed", "fleet", "exited nonzero");
    r.for_ = Duration::from_secs(30);
    r.severity = Severity::Critical;
    let mut alerts = Alerts::new(vec![r]);
    assert!(alerts.evaluate(&f, t(0)).is_empty(), "pending");
    assert!(alerts.evaluate(&f, t(20)).is_empty(), "still pending");
    let n = alerts.evaluate(&f, t(30));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].state, NoticeState::Firing);
    assert_eq!(n[0].subject, "a/job");
    assert_eq!(n[0].endpoint.as_deref(), Some("a"));
    assert_eq!(n[0].container.as_deref(), Some("job"));
    assert_eq!(n[0].value, Some(3.0));
    assert!(
        n[0].text
            .starts_with("CRITICAL a/job: job-failed (Exited (3)"),
        "{}",
        n[0].text
    );
    assert!(alerts.evaluate(&f, t(40)).is_empty(), "no second firing");
    assert_eq!(alerts.firing().len(), 1);
    assert_eq!(alerts.worst(), Some(Severity::Critical));
    sync(&mut f, 0, t(50), vec![]);
    let n = alerts.evaluate(&f, t(50));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].state, NoticeState::Resolved);
    assert!(alerts.evaluate(&f, t(60)).is_empty(), "resolved once");
    assert!(alerts.firing().is_empty());
    assert_eq!(alerts.worst(), None);
}

#[test]
fn a_condition_that_stops_holding_before_its_for_never_fires() {
    let mut f = fleet();
    sync(&mut f, 0, t(0), vec![crashed("c1", "job", 3, t(0))]);
    let mut r = rule("job-failed", "fleet", "exited nonzero");
    r.for_ = Duration::from_secs(30);
    let mut alerts = Alerts::new(vec![r]);
    alerts.evaluate(&f, t(0));
    sync(&mut f, 0, t(10), vec![]);
    assert!(alerts.evaluate(&f, t(10)).is_empty());
    sync(&mut f, 0, t(20), vec![crashed("c1", "job", 3, t(20))]);
    assert!(alerts.evaluate(&f, t(20)).is_empty());
    assert!(
        alerts.evaluate(&f, t(40)).is_empty(),
        "the wait starts again"
    );
    assert_eq!(alerts.evaluate(&f, t(50)).len(), 1);
}

#[test]
fn cooldown_holds_back_a_second_firing_of_the_same_subject() {
    let mut f = fleet();
    let mut r = rule("down", "fleet", "endpoint down");
    r.cooldown = Duration::from_secs(300);
    let mut alerts = Alerts::new(vec![r]);
    down(&mut f, t(0));
    assert_eq!(alerts.evaluate(&f, t(0)).len(), 1);
    sync(&mut f, 1, t(10), vec![]);
    assert_eq!(alerts.evaluate(&f, t(10))[0].state, NoticeState::Resolved);
    down(&mut f, t(20));
    assert!(alerts.evaluate(&f, t(20)).is_empty(), "cooling down");
    assert!(alerts.evaluate(&f, t(300)).is_empty(), "still");
    let n = alerts.evaluate(&f, t(310));
    assert_eq!(n.len(), 1, "fires once the cooldown is over");
    // A one-shot probe does not wait for cooldowns either.
    let mut probe = alerts.clone();
    sync(&mut f, 1, t(320), vec![]);
    probe.evaluate(&f, t(320));
    down(&mut f, t(330));
    assert_eq!(probe.evaluate_once(&f, t(330)).len(), 1);
}

#[test]
fn silence_hides_and_holds_notices_until_it_ends() {
    let mut f = fleet();
    let mut alerts = Alerts::new(vec![rule("job-failed", "fleet", "exited nonzero")]);
    assert_eq!(
        alerts.silence("nope", t(100)).unwrap_err(),
        "no alert rule named \"nope\"; rules: job-failed"
    );
    alerts.silence("job-failed", t(100)).unwrap();
    sync(&mut f, 0, t(0), vec![crashed("c1", "job", 3, t(0))]);
    assert!(alerts.evaluate(&f, t(0)).is_empty());
    assert!(alerts.firing().is_empty());
    assert_eq!(alerts.silences().count(), 1);
    // Once the silence ends, what still fires is sent.
    let n = alerts.evaluate(&f, t(100));
    assert_eq!(n.len(), 1);
    assert_eq!(alerts.firing().len(), 1);
    alerts.silence("job-failed", t(1000)).unwrap();
    assert!(alerts.firing().is_empty());
    assert_eq!(alerts.unsilence("job-failed"), Ok(true));
    assert_eq!(alerts.unsilence("job-failed"), Ok(false));
    assert_eq!(alerts.firing().len(), 1);
}

#[test]
fn acknowledging_marks_an_alert_until_it_resolves() {
    let mut f = fleet();
    sync(&mut f, 0, t(0), vec![crashed("c1", "job", 3, t(0))]);
    let mut alerts = Alerts::new(vec![rule("job-failed", "fleet", "exited nonzero")]);
    alerts.evaluate(&f, t(0));
    assert!(!alerts.acknowledge("job-failed", "a/other"));
    assert!(alerts.acknowledge("job-failed", "a/job"));
    assert!(alerts.firing()[0].acked);
    alerts.evaluate(&f, t(5));
    assert!(alerts.firing()[0].acked, "kept across evaluations");
    sync(&mut f, 0, t(10), vec![]);
    alerts.evaluate(&f, t(10));
    sync(&mut f, 0, t(20), vec![crashed("c1", "job", 3, t(20))]);
    alerts.evaluate(&f, t(20));
    assert!(!alerts.firing()[0].acked, "a new firing is news again");
}

#[test]
fn scopes_pick_containers_by_filter_and_endpoints_by_name() {
    let mut f = fleet();
    let mut web = crashed("c1", "web-1", 1, t(0));
    web.labels.insert("app".into(), "web".into());
    sync(
        &mut f,
        0,
        t(0),
        vec![web.clone(), crashed("c2", "db-1", 1, t(0))],
    );
    sync(&mut f, 1, t(0), vec![crashed("c3", "web-2", 1, t(0))]);
    let subjects = |scope: &str| {
        let mut a = Alerts::new(vec![rule("x", scope, "exited nonzero")]);
        a.evaluate(&f, t(0));
        let mut s: Vec<String> = a.firing().iter().map(|f| f.subject.clone()).collect();
        s.sort();
        s
    };
    assert_eq!(subjects("fleet"), ["a/db-1", "a/web-1", "b/web-2"]);
    assert_eq!(subjects("label:app=web"), ["a/web-1"]);
    assert_eq!(subjects("cluster:prod"), ["b/web-2"]);
    assert_eq!(subjects("@a"), ["a/db-1", "a/web-1"]);
    assert_eq!(subjects("name:web !ep:b"), ["a/web-1"]);
    assert!(Scope::parse("colour:red").is_err());
    assert!(Scope::parse("@").is_err());
    assert_eq!(Scope::parse("@lab1").unwrap().endpoint_name(), Some("lab1"));
}

fn raw(secs: i64, mem: u64, cpu_total: u64) -> RawStats {
    RawStats {
        read: t(secs),
        mem_usage: mem,
        mem_limit: 1000,
        cpu: crate::stats::CpuCounters {
            total_usage: cpu_total,
            system_usage: 1_000_000 + secs as u64 * 1_000_000,
            online_cpus: 2,
            percpu_count: 0,
        },
        ..RawStats::default()
    }
}

#[test]
fn metric_rules_aggregate_the_stats_history_over_their_window() {
    let mut f = fleet();
    sync(
        &mut f,
        0,
        t(0),
        vec![container("c1", "hog", ContainerState::Running)],
    );
    let interval = Duration::from_secs(10);
    // Memory 50 %, then 95 % for three samples.
    for (secs, mem) in [(0, 500), (10, 500), (20, 950), (30, 950), (40, 950)] {
        f.stats.record(0, "c1", raw(secs, mem, 0), interval);
    }
    let fired = |when: &str, now: i64| {
        let mut a = Alerts::new(vec![rule("mem", "fleet", when)]);
        a.evaluate(&f, t(now));
        a.firing().first().map(|x| (x.value, x.detail.clone()))
    };
    assert_eq!(
        fired("memory_pct avg 30s > 90", 40),
        Some((Some(95.0), "memory_pct avg 30s = 95.0 (> 90)".into()))
    );
    assert_eq!(
        fired("memory_pct avg 40s > 90", 40),
        None,
        "the 50 % sample counts"
    );
    assert!(fired("memory_pct max 40s > 90", 40).is_some());
    assert!(fired("memory_pct min 40s < 60", 40).is_some());
    assert!(fired("memory_pct > 90", 40).is_some(), "last sample");
    assert_eq!(
        fired("memory_pct avg 30s > 90", 500),
        None,
        "no samples in the window"
    );
    let mut a = Alerts::new(vec![rule("mem", "name:hog", "memory_pct > 90")]);
    assert!(a.needs_full_rate_stats());
    assert_eq!(a.stats_targets(&f), [(0, "c1".to_string())]);
    a.evaluate(&f, t(40));
    assert_eq!(a.firing().len(), 1);
    let none = Alerts::new(defaults::rules(RestartLoopRule::default()));
    assert!(!none.needs_full_rate_stats());
    assert!(none.stats_targets(&f).is_empty());
}

#[test]
fn cpu_of_the_limit_reads_the_containers_own_cpus_limit() {
    let mut f = fleet();
    let mut limited = container("c1", "capped", ContainerState::Running);
    limited.detail.cpu_limit_millis = Some(500);
    let unlimited = container("c2", "free", ContainerState::Running);
    sync(&mut f, 0, t(0), vec![limited, unlimited]);
    let interval = Duration::from_secs(10);
    // A quarter of a core (cpu_pct 25) each: half of a 0.5 CPU limit.
    for id in ["c1", "c2"] {
        f.stats.record(0, id, raw(0, 100, 0), interval);
        f.stats.record(0, id, raw(10, 100, 1_250_000), interval);
    }
    let mut a = Alerts::new(vec![rule("capped", "fleet", "cpu_limit_pct > 49")]);
    a.evaluate(&f, t(10));
    let fired: Vec<(String, Option<f64>)> = a
        .firing()
        .iter()
        .map(|x| (x.subject.clone(), x.value))
        .collect();
    assert_eq!(
        fired,
        [("a/capped".to_string(), Some(50.0))],
        "no limit, no value"
    );
}

#[test]
fn restart_loops_count_deaths_in_the_rules_own_window() {
    let mut f = fleet();
    sync(
        &mut f,
        0,
        t(0),
        vec![container("c1", "flappy", ContainerState::Running)],
    );
    f.apply(Msg {
        endpoint: 0,
        at: t(0),
        kind: MsgKind::Events(vec![
            death(0, 0, "c1"),
            death(0, 200, "c1"),
            death(0, 400, "c1"),
        ]),
    });
    let count = |when: &str, now: i64| {
        let mut a = Alerts::new(vec![rule("loop", "fleet", when)]);
        a.evaluate(&f, t(now));
        a.firing().first().map(|x| (x.subject.clone(), x.value))
    };
    assert_eq!(
        count("restarts >= 3 in 10m", 400),
        Some(("a/flappy".into(), Some(3.0)))
    );
    assert_eq!(count("restarts >= 3 in 5m", 400), None, "two in 5 minutes");
    assert_eq!(
        count("restarts >= 2 in 5m", 400).map(|c| c.1),
        Some(Some(2.0))
    );
    assert_eq!(count("restarts >= 3 in 10m", 1000), None, "aged out");
}

#[test]
fn missing_counts_running_replicas_against_the_highest_number_or_expect() {
    use crate::deploy::replicas::{LABEL_GROUP, LABEL_REPLICA};
    let mut f = fleet();
    let replica = |id: &str, n: u32, state| {
        let mut c = container(id, &format!("cart-{n}"), state);
        c.labels.insert(LABEL_GROUP.into(), "cart".into());
        c.labels.insert(LABEL_REPLICA.into(), n.to_string());
        c
    };
    sync(
        &mut f,
        0,
        t(0),
        vec![
            replica("r1", 1, ContainerState::Running),
            replica("r2", 2, ContainerState::Exited),
        ],
    );
    sync(
        &mut f,
        1,
        t(0),
        vec![replica("r3", 3, ContainerState::Running)],
    );
    let mut a = Alerts::new(vec![rule("cart", "fleet", "missing")]);
    a.evaluate(&f, t(0));
    let fired = a.firing();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].subject, "service cart");
    assert_eq!(fired[0].detail, "2 of 3 replicas running");
    let mut r = rule("cart", "fleet", "missing");
    r.condition = Condition::Missing { expect: Some(2) };
    let mut a = Alerts::new(vec![r]);
    a.evaluate(&f, t(0));
    assert!(a.firing().is_empty(), "two expected, two run");
}

#[test]
fn pool_rules_fire_on_use_and_conflicts() {
    use crate::deploy::fixtures::lab;
    let f = lab();
    let mut a = Alerts::new(vec![
        rule("pool-any", "fleet", "pool_use_pct > 0"),
        rule("pool-full", "fleet", "pool_use_pct > 99"),
    ]);
    a.evaluate(&f, t(0));
    let fired = a.firing();
    assert!(!fired.is_empty());
    assert!(fired.iter().all(|x| x.rule == "pool-any"));
    assert!(
        fired.iter().all(|x| x.subject.starts_with("pool ")),
        "{fired:?}"
    );
    assert!(fired.iter().all(|x| x.value.is_some_and(|v| v > 0.0)));
}

#[test]
fn the_pool_picture_is_worked_out_again_when_the_fleet_changes() {
    use crate::deploy::fixtures::{lab, on_fleetnet};
    let mut f = lab();
    let mut a = Alerts::new(vec![rule("conflict", "fleet", "ip conflict")]);
    a.evaluate(&f, t(0));
    let subjects =
        |a: &Alerts| -> Vec<String> { a.firing().iter().map(|x| x.subject.clone()).collect() };
    let before = subjects(&a);
    a.evaluate(&f, t(1));
    assert_eq!(subjects(&a), before, "same fleet, same picture");
    // lab2 takes lab1's static address: a conflict, seen once the fleet says it changed.
    let twin = on_fleetnet("x1", "twin", ContainerState::Running, "192.168.2.20", true);
    f.apply(Msg {
        endpoint: 1,
        at: t(2),
        kind: MsgKind::ContainerChanged(Box::new(twin)),
    });
    a.evaluate(&f, t(2));
    let new: Vec<String> = subjects(&a)
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    assert!(
        new.iter()
            .any(|s| s.starts_with("192.168.2.20 is taken 2 times")),
        "{new:?}"
    );
}

#[test]
fn log_rules_follow_only_scoped_containers_and_resolve_after_their_window() {
    let mut f = fleet();
    sync(
        &mut f,
        0,
        t(0),
        vec![
            container("c1", "api", ContainerState::Running),
            container("c2", "db", ContainerState::Running),
        ],
    );
    let mut a = Alerts::new(vec![rule(
        "fatal",
        "name:api",
        "log =~ 'FATAL|panic' in 1m",
    )]);
    assert_eq!(a.log_targets(&f), [(0, "c1".to_string())]);
    a.evaluate(&f, t(0));
    a.observe_log(0, "c1", "all good", t(1));
    a.observe_log(0, "c2", "FATAL in the db", t(1));
    assert!(a.evaluate(&f, t(2)).is_empty(), "db is not in scope");
    a.observe_log(0, "c1", "panic: nil map", t(3));
    a.observe_log(0, "c1", "FATAL \u{1b}[31mboom", t(4));
    let n = a.evaluate(&f, t(5));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].value, Some(2.0));
    assert!(
        a.firing()[0].detail.contains("FATAL ␛[31mboom"),
        "sanitised"
    );
    assert!(a.evaluate(&f, t(60)).is_empty());
    let n = a.evaluate(&f, t(70));
    assert_eq!(n[0].state, NoticeState::Resolved);
}

#[test]
fn evaluating_a_thousand_containers_is_cheap() {
    // Not a benchmark (CI machines vary), a guard: the default rules over 1,000 containers
    // on 4 endpoints must evaluate well inside one tick.
    let mut f = Fleet::new(
        (0..4).map(|i| EndpointSpec::from_url(Some(&format!("e{i}")), "tcp://h:1").unwrap()),
    );
    for e in 0..4 {
        let cs = (0..250)
            .map(|i| {
                let mut c = container(
                    &format!("c{e}-{i}"),
                    &format!("n{i}"),
                    ContainerState::Running,
                );
                if i % 50 == 0 {
                    c.health = Health::Unhealthy;
                }
                c
            })
            .collect();
        sync(&mut f, e, t(0), cs);
    }
    let mut a = Alerts::new(defaults::rules(RestartLoopRule::default()));
    let started = std::time::Instant::now();
    for s in 0..20 {
        a.evaluate(&f, t(s));
    }
    let each = started.elapsed() / 20;
    eprintln!("default rules over 1,000 containers: {each:?} per evaluation");
    assert_eq!(a.firing().len(), 20);
    assert!(each < Duration::from_millis(50), "{each:?} per evaluation");
}

#[test]
fn keep_firing_makes_a_condition_that_comes_and_goes_one_alert() {
    let mut f = fleet();
    let mut r = rule("down", "fleet", "endpoint down");
    r.keep_firing = Duration::from_secs(300);
    let mut alerts = Alerts::new(vec![r]);
    down(&mut f, t(0));
    assert_eq!(alerts.evaluate(&f, t(0)).len(), 1);
    // Back, down, back: the alert stays firing, nothing more is sent.
    for (up, again) in [(10, 20), (30, 40)] {
        sync(&mut f, 1, t(up), vec![]);
        assert!(alerts.evaluate(&f, t(up)).is_empty(), "kept firing");
        assert_eq!(alerts.firing().len(), 1, "still on the triage list");
        down(&mut f, t(again));
        assert!(alerts.evaluate(&f, t(again)).is_empty(), "the same alert");
    }
    sync(&mut f, 1, t(50), vec![]);
    assert!(alerts.evaluate(&f, t(50)).is_empty());
    // It last held at 40.
    assert!(
        alerts.evaluate(&f, t(339)).is_empty(),
        "held 300 s after it last held"
    );
    let n = alerts.evaluate(&f, t(340));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].state, NoticeState::Resolved);
    assert!(alerts.firing().is_empty());
}

#[test]
fn the_built_in_rules_that_flap_in_a_crash_loop_keep_firing() {
    let rules = defaults::rules(RestartLoopRule::default());
    let keep = |name: &str| {
        rules
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.keep_firing)
            .unwrap()
    };
    for name in ["exited-nonzero", "restarting", "oom-killed"] {
        assert_eq!(keep(name), defaults::KEEP_FLAPPING, "{name}");
    }
    for name in ["endpoint-down", "restart-loop", "unhealthy"] {
        assert_eq!(keep(name), Duration::ZERO, "{name}");
    }
}

fn listed(f: &mut Fleet, endpoint: usize, at: DateTime<Utc>, containers: Vec<Container>) {
    rows(f, (endpoint, at), MsgKind::Listed, containers);
}

fn inspected(f: &mut Fleet, endpoint: usize, at: DateTime<Utc>, containers: Vec<Container>) {
    f.apply(Msg {
        endpoint,
        at,
        kind: MsgKind::Inspected {
            containers,
            gone: vec![],
        },
    });
}

#[test]
fn rules_on_inspect_only_fields_neither_fire_nor_resolve_before_the_inspect() {
    let mut f = fleet();
    let mut alerts = Alerts::new(vec![
        rule("crash", "fleet", "exited nonzero"),
        rule("oom", "fleet", "oom killed"),
        rule("sick", "fleet", "unhealthy"),
    ]);
    // The list says exit code 137 (and the health, for a running one); whether it was an OOM
    // kill only the inspect says, so nothing fires on the list alone.
    let mut hog = container("c1", "hog", ContainerState::Exited);
    hog.exit_code = Some(137);
    hog.list_status = "Exited (137) 2 minutes ago".into();
    let mut api = container("c2", "api", ContainerState::Running);
    api.health = Health::Unhealthy;
    listed(&mut f, 0, t(0), vec![hog.clone(), api.clone()]);
    assert!(
        alerts.evaluate(&f, t(0)).is_empty(),
        "no verdict from a list"
    );
    assert!(alerts.firing().is_empty());
    // The inspects come in: the OOM kill, not a plain crash, and the unhealthy one.
    hog.oom_killed = true;
    hog.finished_at = Some(t(-120));
    api.started_at = Some(t(-600));
    inspected(&mut f, 0, t(1), vec![hog.clone(), api.clone()]);
    let n = alerts.evaluate(&f, t(1));
    let mut subjects: Vec<_> = n
        .iter()
        .map(|n| (n.rule.as_str(), n.subject.as_str()))
        .collect();
    subjects.sort();
    assert_eq!(subjects, [("oom", "a/hog"), ("sick", "a/api")]);
    // A reconnect lists them again: until their inspects are back, the alerts hold.
    listed(
        &mut f,
        0,
        t(10),
        vec![
            {
                let mut c = container("c1", "hog", ContainerState::Exited);
                c.list_status = "Exited (137) 2 minutes ago".into();
                c
            },
            {
                let mut c = container("c2", "api", ContainerState::Running);
                c.list_status = "Up 10 minutes (unhealthy)".into();
                c
            },
        ],
    );
    assert!(alerts.evaluate(&f, t(10)).is_empty(), "held, not resolved");
    assert_eq!(alerts.firing().len(), 2);
    // Inspected again and healthy now: the unhealthy alert resolves, the OOM one stays.
    api.health = Health::Healthy;
    inspected(&mut f, 0, t(11), vec![hog, api]);
    let n = alerts.evaluate(&f, t(11));
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].state, NoticeState::Resolved);
    assert_eq!(n[0].subject, "a/api");
    assert_eq!(alerts.firing().len(), 1);
}
