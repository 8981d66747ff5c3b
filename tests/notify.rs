//! Alert delivery (`engine::notify`) against a real HTTP receiver on 127.0.0.1: bodies of each
//! kind, the severity filter, dedupe, retries on 500 and a dead port, no retry on 404, a full
//! queue, and the flush at shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "lab/webhook.rs"]
mod webhook;

use std::time::{Duration, Instant};

use chrono::Utc;
use fleetdeck::engine::notify::{self, NotifierHandle, NotifyStatus, RetryPolicy};
use fleetdeck::model::alerts::{Notice, NoticeState, NotifyTarget, Severity, TargetKind};
use webhook::Receiver;

fn target(name: &str, url: String, kind: TargetKind, min: Severity) -> NotifyTarget {
    NotifyTarget {
        name: name.into(),
        url,
        kind,
        min_severity: min,
        headers: vec![("Authorization".into(), "Bearer t0k".into())],
        timeout: Duration::from_secs(5),
    }
}

fn notice(rule: &str, subject: &str, severity: Severity, state: NoticeState) -> Notice {
    Notice {
        rule: rule.into(),
        severity,
        state,
        scope: "fleet".into(),
        subject: subject.into(),
        endpoint: Some("lab1".into()),
        container: Some(subject.into()),
        value: Some(93.5),
        at: Utc::now(),
        text: format!("{} {subject}: {rule} {}", severity.as_str(), state.as_str()),
    }
}

const FAST: RetryPolicy = RetryPolicy {
    attempts: 4,
    first: Duration::from_millis(300),
    max: Duration::from_secs(1),
};

async fn wait_status(
    n: &NotifierHandle,
    what: &str,
    limit: Duration,
    pred: impl Fn(&NotifyStatus) -> bool,
) -> NotifyStatus {
    let deadline = Instant::now() + limit;
    loop {
        let s = n.status();
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}\n{s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhook_gets_the_notice_as_json_and_slack_only_critical_text() {
    let rx = Receiver::start();
    let targets = [
        target(
            "hook",
            rx.url("/hook"),
            TargetKind::Webhook,
            Severity::Warning,
        ),
        target(
            "chat",
            rx.url("/chat"),
            TargetKind::Slack,
            Severity::Critical,
        ),
    ];
    let n = notify::start_with(&targets, FAST, 16).unwrap();
    let warn = notice("mem", "web-1", Severity::Warning, NoticeState::Firing);
    let crit = notice("oom", "web-2", Severity::Critical, NoticeState::Firing);
    n.offer(&warn);
    n.offer(&crit);
    // Repeats of a state already sent are not news.
    n.offer(&warn);
    n.offer(&crit);
    let resolved = notice("oom", "web-2", Severity::Critical, NoticeState::Resolved);
    n.offer(&resolved);
    n.offer(&resolved);
    wait_status(&n, "everything sent", Duration::from_secs(10), |s| {
        s.queued() == 0 && s.targets.iter().map(|t| t.sent).sum::<u64>() == 5
    })
    .await;
    let hook = rx.delivered("/hook");
    let bodies: Vec<serde_json::Value> = hook.iter().map(webhook::Request::json).collect();
    assert_eq!(
        bodies,
        vec![
            serde_json::to_value(&warn).unwrap(),
            serde_json::to_value(&crit).unwrap(),
            serde_json::to_value(&resolved).unwrap(),
        ]
    );
    assert_eq!(bodies[0]["severity"], "warning");
    assert_eq!(bodies[0]["value"], 93.5);
    assert_eq!(hook[0].header("content-type"), Some("application/json"));
    assert_eq!(hook[0].header("authorization"), Some("Bearer t0k"));
    assert!(
        hook[0]
            .header("user-agent")
            .is_some_and(|u| u.starts_with("fleetdeck/"))
    );
    let chat: Vec<serde_json::Value> = rx
        .delivered("/chat")
        .iter()
        .map(webhook::Request::json)
        .collect();
    assert_eq!(
        chat,
        vec![
            serde_json::json!({ "text": crit.text }),
            serde_json::json!({ "text": resolved.text }),
        ]
    );
    assert_eq!(n.status().problem(), None);
}

#[tokio::test]
async fn a_receiver_answering_500_then_200_gets_the_notice_exactly_once() {
    let rx = Receiver::start();
    rx.answer_next(&[500, 500]);
    let n = notify::start_with(
        &[target(
            "oncall",
            rx.url("/h"),
            TargetKind::Webhook,
            Severity::Warning,
        )],
        FAST,
        16,
    )
    .unwrap();
    n.offer(&notice(
        "mem",
        "web-1",
        Severity::Critical,
        NoticeState::Firing,
    ));
    let failing = wait_status(&n, "a failure reported", Duration::from_secs(5), |s| {
        s.targets[0].retrying
    })
    .await;
    assert_eq!(
        failing.problem().as_deref(),
        Some("notify oncall: failing (HTTP 500, retrying)")
    );
    let done = wait_status(&n, "sent after the retries", Duration::from_secs(10), |s| {
        s.targets[0].sent == 1
    })
    .await;
    assert_eq!(done.problem(), None, "a success clears the error");
    let statuses: Vec<u16> = rx.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(rx.delivered("/h").len(), 1);
}

#[tokio::test]
async fn a_refused_notice_is_not_retried_and_a_dead_target_is_given_up_on() {
    let rx = Receiver::start();
    rx.answer_next(&[404]);
    // A port nothing listens on: bound, then closed.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/h", dead.local_addr().unwrap());
    drop(dead);
    let n = notify::start_with(
        &[
            target(
                "gone",
                rx.url("/gone"),
                TargetKind::Webhook,
                Severity::Warning,
            ),
            target("dead", dead_url, TargetKind::Webhook, Severity::Warning),
        ],
        RetryPolicy {
            attempts: 3,
            first: Duration::from_millis(10),
            max: Duration::from_millis(20),
        },
        16,
    )
    .unwrap();
    n.offer(&notice("mem", "a", Severity::Warning, NoticeState::Firing));
    let s = wait_status(&n, "both given up", Duration::from_secs(10), |s| {
        s.targets.iter().all(|t| t.failed == 1)
    })
    .await;
    assert_eq!(rx.requests().len(), 1, "a 404 is not retried");
    assert_eq!(s.targets[0].last_error.as_deref(), Some("HTTP 404"));
    let dead = &s.targets[1];
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("connection refused")),
        "{dead:?}"
    );
    assert!(!dead.retrying);
    assert_eq!(
        s.problem().as_deref(),
        Some("notify gone: failing (HTTP 404, gave up) (+1 more failing)")
    );
}

#[tokio::test]
async fn offering_never_waits_and_a_full_queue_drops_the_oldest() {
    // A receiver that never answers: the first notice hangs in flight until its deadline.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut t = target(
        "slow",
        format!("http://{}/h", silent.local_addr().unwrap()),
        TargetKind::Webhook,
        Severity::Warning,
    );
    t.timeout = Duration::from_secs(30);
    let n = notify::start_with(&[t], FAST, 10).unwrap();
    let started = Instant::now();
    for i in 0..1000 {
        n.offer(&notice(
            "mem",
            &format!("c{i}"),
            Severity::Warning,
            NoticeState::Firing,
        ));
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "1000 offers took {took:?}"
    );
    let s = n.status();
    assert!(
        s.queued() <= 11,
        "bounded: 10 queued and one in flight: {s:?}"
    );
    assert!(s.dropped() >= 989, "{s:?}");
    drop(silent);
}

#[tokio::test]
async fn shutdown_sends_what_is_queued_within_its_deadline() {
    let rx = Receiver::start();
    let n = notify::start_with(
        &[target(
            "oncall",
            rx.url("/h"),
            TargetKind::Webhook,
            Severity::Warning,
        )],
        FAST,
        64,
    )
    .unwrap();
    for i in 0..5 {
        n.offer(&notice(
            "mem",
            &format!("c{i}"),
            Severity::Warning,
            NoticeState::Firing,
        ));
    }
    let s = n.shutdown(Duration::from_secs(5)).await;
    assert_eq!(s.targets[0].sent, 5, "{s:?}");
    assert_eq!(rx.delivered("/h").len(), 5);

    // A target that keeps failing does not hold the shutdown past its deadline.
    rx.answer_next(&[500; 20]);
    let n = notify::start_with(
        &[target(
            "oncall",
            rx.url("/h"),
            TargetKind::Webhook,
            Severity::Warning,
        )],
        RetryPolicy {
            attempts: 10,
            first: Duration::from_secs(5),
            max: Duration::from_secs(5),
        },
        64,
    )
    .unwrap();
    n.offer(&notice("mem", "x", Severity::Warning, NoticeState::Firing));
    let started = Instant::now();
    let s = n.shutdown(Duration::from_millis(500)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(s.targets[0].sent, 0);
}

/// Quitting the dashboard: a notice the rules raised after the last tick, and those still
/// queued, are delivered before fleetdeck exits, and the operator is told.
#[tokio::test]
async fn quitting_the_dashboard_delivers_what_the_rules_raised_since_the_last_tick() {
    use fleetdeck::app::{App, Effects};
    use fleetdeck::model::{Msg, MsgKind};

    let rx = Receiver::start();
    let config = fleetdeck::config::parse_str(
        "[[endpoint]]\nname = \"a\"\nurl = \"tcp://127.0.0.1:1\"\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let mut app = App::new(&config, fleetdeck::ui::Theme::monochrome());
    let oncall = || {
        let oncall = target(
            "oncall",
            rx.url("/h"),
            TargetKind::Webhook,
            Severity::Warning,
        );
        Some(notify::start_with(&[oncall], FAST, 64).unwrap())
    };
    let mut effects = Effects::new(None, None);
    effects.notifier = oncall();
    // Nothing queued: quitting says nothing.
    assert_eq!(effects.finish(&mut app, Duration::from_secs(2)).await, None);

    effects.notifier = oncall();
    app.apply(Msg {
        endpoint: 0,
        at: Utc::now(),
        kind: MsgKind::Down {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(1),
        },
    });
    // The rules fire on this tick; the loop's next tick, which would hand the notice over,
    // never comes: the operator quits.
    app.tick(Utc::now());
    let line = effects.finish(&mut app, Duration::from_secs(2)).await;
    assert_eq!(
        line.as_deref(),
        Some("queued at quit (up to 2 s to deliver): 1 alert notice sent")
    );
    let got = rx.delivered("/h");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["state"], "firing", "{}", got[0].json());
    assert_eq!(got[0].json()["endpoint"], "a", "{}", got[0].json());
}
