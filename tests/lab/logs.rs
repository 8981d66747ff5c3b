//! Log tails against real containers: stdout/stderr told apart, TTY containers, restarts,
//! a flood within the cap with keys still answered, hostile escape sequences made inert, and a
//! merged tail across two endpoints in timestamp order.

use std::process::Command as Process;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{self, App};
use fleetdeck::model::View;
use fleetdeck::model::logs::{LogBuffer, LogSource, LogStream};
use fleetdeck::model::{Msg, MsgKind};
use fleetdeck::ui::{Theme, buffer_to_text};

use crate::support::{Harness, TimedKeys, docker, lab_config, unique};

fn source(h: &Harness, endpoint: &str, name: &str) -> LogSource {
    let (i, ep) = h.fleet.endpoint_by_name(endpoint).unwrap();
    let c = ep.containers.values().find(|c| c.name == name).unwrap();
    LogSource {
        endpoint: i,
        container_id: c.id.clone(),
        tag: format!("{endpoint}/{name}"),
    }
}

/// Feeds log messages of `tail` into `buffer` while waiting.
fn collect(buffer: &mut LogBuffer, tail: u64) -> impl FnMut(&Msg) + '_ {
    move |m| {
        if let MsgKind::Log { tail: t, lines } = &m.kind
            && *t == tail
        {
            buffer.extend(lines.clone());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_and_stderr_are_told_apart_and_restarts_are_followed() {
    let config = lab_config(&["lab1"]);
    let name = unique("both");
    docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            "echo out-line; echo err-line >&2; sleep 300",
        ],
    );
    let tty = unique("tty");
    docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "-t",
            "--name",
            &tty,
            "busybox:local",
            "sh",
            "-c",
            "echo tty-line; sleep 300",
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("both containers known", Duration::from_secs(20), |f| {
        crate::support::find(f, "lab1", &name).is_some()
            && crate::support::find(f, "lab1", &tty).is_some()
    })
    .await;
    let sources = vec![source(&h, "lab1", &name), source(&h, "lab1", &tty)];
    h.tasks.open_tail(7, &sources, 100);
    let mut buffer = LogBuffer::new(sources, 1000);
    let found = |b: &LogBuffer, text: &str| {
        b.iter()
            .find(|l| l.text == text)
            .map(|l| (l.source, l.stream))
    };
    {
        let mut sink = collect(&mut buffer, 7);
        let limit = Duration::from_secs(10);
        let deadline = tokio::time::Instant::now() + limit;
        // Wait on the buffer itself: lines are not part of the fleet model.
        let mut local = LogBuffer::new(vec![], 1000);
        while !(found(&local, "out-line").is_some()
            && found(&local, "err-line").is_some()
            && found(&local, "tty-line").is_some())
        {
            let msg = tokio::time::timeout_at(deadline, h.next_msg())
                .await
                .expect("lines within 10 s");
            sink(&msg);
            if let MsgKind::Log { lines, .. } = &msg.kind {
                local.extend(lines.clone());
            }
        }
    }
    assert_eq!(found(&buffer, "out-line"), Some((0, LogStream::Stdout)));
    assert_eq!(found(&buffer, "err-line"), Some((0, LogStream::Stderr)));
    assert_eq!(found(&buffer, "tty-line"), Some((1, LogStream::Tty)));

    // A restart is followed: a marker, then the new run's lines.
    docker(&config, "lab1", &["restart", "-t", "1", &name]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let restarted = buffer
            .iter()
            .any(|l| l.stream == LogStream::Marker && l.text.contains("restarted"));
        let again = buffer.iter().filter(|l| l.text == "out-line").count() >= 2;
        if restarted && again {
            break;
        }
        let msg = tokio::time::timeout_at(deadline, h.next_msg())
            .await
            .expect("restart followed within 15 s");
        if let MsgKind::Log { tail: 7, lines } = msg.kind {
            buffer.extend(lines);
        }
    }
    docker(&config, "lab1", &["rm", "-f", &name, &tty]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_stays_within_the_cap_and_keys_are_still_answered() {
    let mut config = lab_config(&["lab2"]);
    config.logs.max_lines = 2_000;
    let name = unique("flood");
    // About 5,000 lines a second for 10 s, after a pause that lets the tail open first.
    let script = "sleep 2; for s in $(seq 1 100); do seq 1 500 | sed \"s/^/flood $s ................................................ /\"; usleep 100000; done; echo flood-done; sleep 300";
    docker(
        &config,
        "lab2",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            script,
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("flood container known", Duration::from_secs(20), |f| {
        crate::support::find(f, "lab2", &name).is_some()
    })
    .await;
    let (fleet, rx, mut tasks) = h.into_parts();
    let mut app = App::new(&config, Theme::dark());
    app.fleet = fleet;
    let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel();
    let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let input = TimedKeys {
        rx: key_rx,
        waits: waits.clone(),
    };
    let send = move |code: KeyCode| {
        let _ = key_tx.send((
            Instant::now(),
            Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        ));
    };
    let keys = {
        let name = name.clone();
        let flood_config = config.clone();
        tokio::spawn(async move {
            for c in format!("2/{name}").chars() {
                send(KeyCode::Char(c));
            }
            send(KeyCode::Enter);
            send(KeyCode::Char('l'));
            // Keys throughout the flood (about 12 s): each must be read promptly.
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                send(KeyCode::Char('t'));
            }
            // Quit once the daemon has the last line, plus a moment for it to reach the tail.
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                let out = docker(&flood_config, "lab2", &["logs", "--tail", "3", &name]);
                if out.contains("flood-done") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            send(KeyCode::Char('q'));
        })
    };
    let effects = app::Effects::new(Some(&mut tasks), None);
    crate::support::run_dashboard(&mut app, input, rx, effects, (120, 40)).await;
    keys.await.unwrap();

    let logs = app.logs.as_ref().expect("a tail was open");
    assert_eq!(app.view.view, View::Logs);
    let b = &logs.buffer;
    eprintln!(
        "lines held {}, dropped {}, bytes {}",
        b.len(),
        b.dropped,
        b.text_bytes()
    );
    assert!(b.len() <= 2_000, "the cap holds");
    assert!(
        b.dropped > 0,
        "the flood was larger than the cap (dropped {})",
        b.dropped
    );
    assert!(b.text_bytes() <= 2_000 * 100, "memory bounded by the cap");
    let waits = waits.lock().unwrap();
    let worst = waits.iter().max().copied().unwrap_or_default();
    eprintln!("{} keys, worst wait {worst:?}", waits.len());
    assert_eq!(
        waits.len(),
        "2/".len() + name.len() + "\n".len() + "l".len() + 60 + "q".len()
    );
    assert!(
        b.len() as u64 + b.dropped >= 50_000,
        "the whole flood went through the tail: {} + {}",
        b.len(),
        b.dropped
    );
    assert!(
        worst < Duration::from_millis(500),
        "keys were not starved: worst wait {worst:?}"
    );
    docker(&config, "lab2", &["rm", "-f", &name]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_in_logs_are_inert_on_screen_and_in_headless_output() {
    let config = lab_config(&["lab3"]);
    let name = unique("evil");
    let script = r#"printf '\033]0;pwned\007\033[2J\033[Hsafe text\033]52;c;cHduZWQ=\007 \033[31mred\033[0m\n\233 31m c1\n'; sleep 300"#;
    docker(
        &config,
        "lab3",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            script,
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("evil container known", Duration::from_secs(20), |f| {
        crate::support::find(f, "lab3", &name).is_some()
    })
    .await;
    // Headless: the bytes written carry no ESC, BEL or C1 control.
    let dir = tempfile::tempdir().unwrap();
    let path =
        crate::support::write_config(dir.path(), &[("lab3", "tcp://10.203.3.2:2375", "lab-b")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = Process::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .args([
                "--config",
                path.to_str().unwrap(),
                "logs",
                &format!("lab3/{name}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if String::from_utf8_lossy(&out.stdout).contains("safe text") || Instant::now() > deadline {
            break out;
        }
    };
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("safe text red"), "{text:?}");
    assert!(
        !text.bytes().any(|b| b == 0x1b || b == 0x07),
        "no ESC or BEL: {text:?}"
    );
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "no C1: {text:?}"
    );

    // On screen: the rendered cells hold the text and nothing that could act.
    let (fleet, rx, mut tasks) = h.into_parts();
    let mut app = App::new(&config, Theme::dark());
    app.fleet = fleet;
    for c in format!("2/{name}").chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.handle_key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE));
    let mut effects = app::Effects::new(Some(&mut tasks), None);
    let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let input = tokio_stream_from(key_rx);
    // Run the loop until the line shows, then quit.
    let quitter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = key_tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        ))));
    });
    effects_open(&mut app, &mut effects);
    let term = crate::support::run_dashboard(&mut app, input, rx, effects, (100, 20)).await;
    quitter.await.unwrap();
    let screen = buffer_to_text(term.backend().buffer());
    assert!(screen.contains("safe text red"), "{screen}");
    for cell in term.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "a control character reached a cell: {:?}",
            cell.symbol()
        );
    }
    docker(&config, "lab3", &["rm", "-f", &name]);
}

fn effects_open(app: &mut App, effects: &mut app::Effects<'_>) {
    // Keys pressed before the loop started queued their commands; carry them out now.
    if let Some(tasks) = effects.tasks.as_deref_mut() {
        for cmd in std::mem::take(&mut app.commands) {
            if let app::Command::OpenTail {
                tail,
                sources,
                last_lines,
            } = cmd
            {
                tasks.open_tail(tail, &sources, last_lines);
            }
        }
    }
}

fn tokio_stream_from<T>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Unpin {
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_tail_across_two_endpoints_interleaves_by_timestamp() {
    let config = lab_config(&["lab1", "lab2"]);
    let a = unique("ma");
    let b = unique("mb");
    // Both wait for the same wall-clock second, then alternate: a at +0, +0.4, …; b at +0.2, +0.6, ….
    let start = chrono::Utc::now().timestamp() + 4;
    let wait = format!("while [ $(date +%s) -lt {start} ]; do usleep 20000; done");
    docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            &a,
            "busybox:local",
            "sh",
            "-c",
            &format!("{wait}; for i in 1 2 3 4 5; do echo a$i; usleep 400000; done; sleep 300"),
        ],
    );
    docker(
        &config,
        "lab2",
        &[
            "run",
            "-d",
            "--name",
            &b,
            "busybox:local",
            "sh",
            "-c",
            &format!(
                "{wait}; usleep 200000; for i in 1 2 3 4 5; do echo b$i; usleep 400000; done; sleep 300"
            ),
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("both known", Duration::from_secs(20), |f| {
        crate::support::find(f, "lab1", &a).is_some()
            && crate::support::find(f, "lab2", &b).is_some()
    })
    .await;
    let sources = vec![source(&h, "lab1", &a), source(&h, "lab2", &b)];
    h.tasks.open_tail(9, &sources, 100);
    let mut buffer = LogBuffer::new(sources, 1000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while buffer
        .iter()
        .filter(|l| l.stream != LogStream::Marker)
        .count()
        < 10
    {
        let msg = tokio::time::timeout_at(deadline, h.next_msg())
            .await
            .expect("ten lines within 15 s");
        if let MsgKind::Log { tail: 9, lines } = msg.kind {
            buffer.extend(lines);
        }
    }
    let texts: Vec<&str> = buffer.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4", "a5", "b5"]
    );
    let times: Vec<_> = buffer.iter().map(|l| l.at.unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    docker(&config, "lab1", &["rm", "-f", &a]);
    docker(&config, "lab2", &["rm", "-f", &b]);
}

/// Docker cuts a line over 16 KB into partial messages, each with its own time prefix: joined as
/// plain text the prefixes landed inside the line (`…AAAA2026-12-02T03:02:36.764166095Z AAAA…`).
#[test]
fn lines_over_16_kb_come_out_whole_without_time_prefixes_inside() {
    let config = lab_config(&["lab1"]);
    let mut cleanup = crate::support::RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("long-lines"));
    docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            "i=0; while [ $i -lt 100 ]; do head -c 40000 /dev/zero | tr '\\0' A; echo; \
             i=$((i+1)); done",
        ],
    );
    // The container exits once it has printed everything: its log is then complete.
    assert_eq!(docker(&config, "lab1", &["wait", &name]), "0");

    let dir = tempfile::tempdir().unwrap();
    let path = crate::support::write_config(
        dir.path(),
        &[("lab1", &crate::support::lab_url(&config, "lab1"), "lab")],
    );
    let target = format!("lab1/{name}");
    // Docker's tail counts its 16 KB parts, not lines: ask for all of them.
    for extra in [&[][..], &["--timestamps"][..]] {
        let mut args = vec!["logs", target.as_str(), "--tail", "1000"];
        args.extend_from_slice(extra);
        let out = crate::support::fleetdeck(&path, &dir.path().join("audit.jsonl"), &args);
        assert!(
            out.status.success(),
            "{}",
            crate::support::output_text(&out)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100, "{extra:?}: one line per line printed");
        for (i, line) in lines.iter().enumerate() {
            // With --timestamps, one time before the line, none inside it.
            let body = match extra {
                [] => *line,
                _ => {
                    let (stamp, body) = line.split_once(' ').unwrap();
                    assert!(stamp.ends_with('Z') && stamp.len() == 24, "{stamp}");
                    body
                }
            };
            let stray: String = body.chars().filter(|c| *c != 'A').take(80).collect();
            assert!(
                body.len() == 40_000 && stray.is_empty(),
                "{extra:?} line {i}: {} bytes, not only A: {stray:?}",
                body.len()
            );
        }
    }
}
