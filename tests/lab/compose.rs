//! Grouping by compose project across daemons: a two-container project, one container on lab1
//! and one on lab2 (labelled as Docker Compose labels them), listed under one header, and found
//! by the filter's `project:`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::App;
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::{Harness, RemoveOnDrop, docker, find, lab_config, unique};

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_project_on_two_daemons_is_one_group_and_one_filter() {
    let config = lab_config(&["lab1", "lab2"]);
    let project = unique("proj");
    let mut names = Vec::new();
    let mut cleanups = Vec::new();
    for (host, service) in [("lab1", "web"), ("lab2", "db")] {
        let mut cleanup = RemoveOnDrop::new(&config, host);
        let name = cleanup.add(format!("{project}-{service}-1"));
        docker(
            &config,
            host,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--label",
                &format!("com.docker.compose.project={project}"),
                "--label",
                &format!("com.docker.compose.service={service}"),
                "busybox:local",
                "sleep",
                "4242",
            ],
        );
        names.push((host, name));
        cleanups.push(cleanup);
    }
    let mut h = Harness::start(&config);
    let mut app = App::new(&config, Theme::dark());
    h.wait_for_with(
        "both containers running",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            names.iter().all(|(host, name)| {
                find(f, host, name).is_some_and(|c| c.state.as_str() == "running")
            })
        },
    )
    .await;
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('/'));
    for c in format!("project:{project}").chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    // o: endpoint, cluster, service, project.
    for _ in 0..4 {
        key(&mut app, KeyCode::Char('o'));
    }
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    app.prepare_frame(120, 30);
    term.draw(|f| app.draw(f)).unwrap();
    let text = buffer_to_text(term.backend().buffer());
    let header = text
        .find(&format!("── project {project}: 2 running of 2"))
        .unwrap_or_else(|| panic!("no project header:\n{text}"));
    for (_, name) in &names {
        let at = text
            .find(name.as_str())
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(at > header, "{name} under the header:\n{text}");
    }
    assert!(
        !text.contains("(no compose project)"),
        "the filter shows the project only:\n{text}"
    );
}
