//! The processes overlay against a real daemon: `docker top` of a container with a known
//! process, refreshed while the overlay is open, stopped when it closes.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{App, Effects};
use fleetdeck::model::MsgKind;
use fleetdeck::ui::Theme;

use crate::support::{Harness, RemoveOnDrop, find, lab_config, sleeper, unique};

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_shows_docker_top_of_the_selected_container_and_refreshes_until_esc() {
    let config = lab_config(&["lab1"]);
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("top"));
    sleeper(&config, "lab1", &name, 4242);
    let mut h = Harness::start(&config);
    let mut app = App::new(&config, Theme::dark());
    h.wait_for_with(
        "the container running",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| find(f, "lab1", &name).is_some_and(|c| c.state.as_str() == "running"),
    )
    .await;
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('/'));
    for c in format!("name:{name}").chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('t'));
    let watch = app.view.processes.as_ref().expect("overlay open").watch;
    Effects::new(Some(&mut h.tasks), None).run(&mut app);

    // Two answers holding the container's process: the first, then a refresh.
    let shows_sleep = |app: &App| {
        app.view.processes.as_ref().is_some_and(|p| {
            matches!(&p.table, Some(Ok(t)) if t.rows.iter().any(|r| r.last().is_some_and(|cmd| cmd == "sleep 4242")))
        })
    };
    let mut answers = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while answers < 2 || !shows_sleep(&app) {
        let msg = tokio::time::timeout_at(deadline, h.next_msg())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{answers} answers in 15 s; overlay: {:?}",
                    app.view.processes
                )
            });
        if let MsgKind::Processes { watch: w, .. } = &msg.kind {
            assert_eq!(*w, watch);
            answers += 1;
        }
        app.apply(msg);
    }
    let table = app.view.processes.as_ref().and_then(|p| p.table.clone());
    let table = table.expect("answered").expect("docker top succeeded");
    assert!(table.titles.iter().any(|t| t == "PID"), "{table:?}");

    // Esc closes the overlay and stops the poller: nothing more for this watch.
    key(&mut app, KeyCode::Esc);
    assert!(app.view.processes.is_none());
    Effects::new(Some(&mut h.tasks), None).run(&mut app);
    // A measuring window, three refresh periods long: a poller still running would answer
    // three times; one answer already on its way when Esc was pressed is allowed.
    let quiet_until = tokio::time::Instant::now() + Duration::from_secs(6);
    let mut late = 0;
    while let Ok(msg) = tokio::time::timeout_at(quiet_until, h.next_msg()).await {
        late += usize::from(matches!(msg.kind, MsgKind::Processes { .. }));
    }
    assert!(
        late <= 1,
        "{late} answers after Esc: the poller was not stopped"
    );
}
