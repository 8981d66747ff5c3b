//! The inspect overlay against a real daemon: `docker inspect` of a container made by hand, its
//! id and label in the document, its env value masked on screen until `M`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{App, Effects};
use fleetdeck::model::MsgKind;
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::{Harness, RemoveOnDrop, docker, find, lab_config, unique};

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn screen(app: &mut App) -> String {
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    app.prepare_frame(80, 24);
    term.draw(|f| app.draw(f)).unwrap();
    buffer_to_text(term.backend().buffer())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_shows_docker_inspect_of_the_selected_container_with_env_masked_until_m() {
    let config = lab_config(&["lab1"]);
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("inspect"));
    let id = docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "-e",
            "SECRET=s3cret",
            "--label",
            "team=x",
            "busybox:local",
            "sleep",
            "4242",
        ],
    );
    let id = id.trim().to_string();
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
    key(&mut app, KeyCode::Char('i'));
    let request = app.view.inspect.as_ref().expect("overlay open").request;
    Effects::new(Some(&mut h.tasks), None).run(&mut app);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let msg = tokio::time::timeout_at(deadline, h.next_msg())
            .await
            .unwrap_or_else(|_| panic!("no inspect answer in 15 s: {:?}", app.view.inspect));
        let answer = matches!(&msg.kind, MsgKind::Inspect { request: r, .. } if *r == request);
        app.apply(msg);
        if answer {
            break;
        }
    }
    let view = app.view.inspect.clone().expect("still open");
    let doc = view
        .doc
        .expect("answered")
        .expect("docker inspect succeeded");
    assert_eq!(doc.id, id);
    let lines = |show_env: bool| -> Vec<String> {
        (0..doc.len())
            .filter_map(|i| doc.line(i, show_env).map(|l| l.into_owned()))
            .collect()
    };
    assert!(
        lines(false).iter().any(|l| l.trim() == r#""team": "x""#),
        "{:#?}",
        lines(false)
    );
    assert!(lines(false).iter().all(|l| !l.contains("s3cret")));
    assert!(
        lines(true)
            .iter()
            .any(|l| l.trim() == r#""SECRET=s3cret","# || l.trim() == r#""SECRET=s3cret""#)
    );

    // On screen: the env entry found by search shows masked, then M shows its value.
    let first = screen(&mut app);
    assert!(first.contains(&format!("\"Id\": \"{id}\"")), "{first}");
    key(&mut app, KeyCode::Char('/'));
    for c in "SECRET=".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let masked = screen(&mut app);
    assert!(masked.contains("\"SECRET=••••\""), "{masked}");
    assert!(!masked.contains("s3cret"), "{masked}");
    key(&mut app, KeyCode::Char('M'));
    let shown = screen(&mut app);
    assert!(shown.contains("\"SECRET=s3cret\""), "{shown}");

    key(&mut app, KeyCode::Esc);
    assert!(app.view.inspect.is_none());
}
