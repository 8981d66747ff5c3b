//! The inspect overlay against real daemons: `docker inspect` of a container made by hand, its
//! id and label in the document, its env value masked on screen until `M`; and `i` in the
//! other views: an endpoint's `docker info` + `docker version`, the IP pools view's network,
//! a Swarm node and service (through the manager, lab5), each holding what the CLI says.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{App, Effects};
use fleetdeck::model::MsgKind;
use fleetdeck::model::inspect::{InspectDoc, InspectTarget};
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::{Harness, RemoveOnDrop, docker, find, lab_config, unique};
use crate::swarm_views::{Cleanup, LAB5, config_for, create_service, dk};

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Sends the overlay's request to the engine and applies messages until its answer; the
/// document, which must have come back.
async fn answer(h: &mut Harness, app: &mut App) -> Box<InspectDoc> {
    let request = app.view.inspect.as_ref().expect("overlay open").request;
    Effects::new(Some(&mut h.tasks), None).run(app);
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
    view.doc
        .expect("answered")
        .unwrap_or_else(|e| panic!("{} failed: {e}", view.subject))
}

/// Every line of the document, trimmed.
fn lines(doc: &InspectDoc, show_env: bool) -> Vec<String> {
    (0..doc.len())
        .filter_map(|i| doc.line(i, show_env).map(|l| l.trim().to_string()))
        .collect()
}

/// Whether the document has `"key": "value"` as a line (with or without its comma).
fn has(doc: &InspectDoc, key: &str, value: &str) -> bool {
    let want = format!("{}: {}", serde_json::json!(key), serde_json::json!(value));
    lines(doc, false)
        .iter()
        .any(|l| l.strip_suffix(',').unwrap_or(l) == want)
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
    let doc = answer(&mut h, &mut app).await;
    let view = app.view.inspect.clone().expect("still open");
    assert_eq!(view.target, InspectTarget::Container(id.clone()));
    let lines = |show_env: bool| lines(&doc, show_env);
    assert!(has(&doc, "team", "x"), "{:#?}", lines(false));
    assert!(lines(false).iter().all(|l| !l.contains("s3cret")));
    assert!(
        lines(true)
            .iter()
            .any(|l| l == r#""SECRET=s3cret","# || l == r#""SECRET=s3cret""#)
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

/// Feeds the app what the engine says until `pred` holds of the fleet.
async fn synced(
    h: &mut Harness,
    app: &mut App,
    what: &str,
    pred: impl Fn(&fleetdeck::model::Fleet) -> bool,
) {
    h.wait_for_with(
        what,
        Duration::from_secs(30),
        |m| {
            app.apply(m.clone());
        },
        pred,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_on_an_endpoint_shows_its_docker_info_and_version() {
    let config = lab_config(&["lab1"]);
    let mut h = Harness::start(&config);
    let mut app = App::new(&config, Theme::dark());
    synced(&mut h, &mut app, "lab1 up", |f| {
        f.endpoints.iter().all(|e| e.is_up())
    })
    .await;
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Char('i'));
    assert_eq!(
        app.view.inspect.as_ref().unwrap().target,
        InspectTarget::Endpoint
    );
    let doc = answer(&mut h, &mut app).await;
    let name = docker(&config, "lab1", &["info", "-f", "{{.Name}}"]);
    let api = docker(
        &config,
        "lab1",
        &["version", "-f", "{{.Server.APIVersion}}"],
    );
    assert!(has(&doc, "Name", &name), "{:#?}", lines(&doc, false));
    assert!(has(&doc, "ApiVersion", &api), "{:#?}", lines(&doc, false));
    // Two sections, folded: the screen shows their one-line summaries.
    let text = screen(&mut app);
    assert!(
        text.contains("▸ \"Info\": {…}") && text.contains("▸ \"Version\": {…}"),
        "{text}"
    );
    assert!(
        text.contains("inspect · endpoint lab1 (info, version)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_on_an_ip_pool_shows_its_network_inspect_with_the_subnet() {
    use fleetdeck::model::ipam::IpamReport;
    use fleetdeck::ui::pools::shown_pools;
    let config = lab_config(&["lab1", "lab2"]);
    let subnet = docker(
        &config,
        "lab1",
        &[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}}",
            "fleetnet",
        ],
    );
    let id = docker(
        &config,
        "lab1",
        &["network", "inspect", "-f", "{{.Id}}", "fleetnet"],
    );
    let mut h = Harness::start(&config);
    let mut app = App::new(&config, Theme::dark());
    synced(&mut h, &mut app, "fleetnet on both hosts", |f| {
        f.endpoints
            .iter()
            .all(|e| e.networks.iter().any(|n| n.name == "fleetnet"))
    })
    .await;
    key(&mut app, KeyCode::Char('6'));
    let report = IpamReport::from_fleet(&app.fleet);
    let pools = shown_pools(&report, &app.view.pool_filter, app.view.pool_sort);
    let at = pools
        .iter()
        .position(|p| {
            p.subnet.to_string() == subnet && p.members.iter().any(|m| m.network == "fleetnet")
        })
        .unwrap_or_else(|| panic!("no pool of {subnet}"));
    let members = pools[at].members.len();
    app.view.pool_selected = at;
    key(&mut app, KeyCode::Char('i'));
    let doc = answer(&mut h, &mut app).await;
    assert_eq!(doc.id, id, "lab1's fleetnet, the pool's first network");
    assert!(has(&doc, "Name", "fleetnet"), "{:#?}", lines(&doc, false));
    assert!(has(&doc, "Subnet", &subnet), "{:#?}", lines(&doc, false));
    let text = screen(&mut app);
    assert!(
        text.contains("inspect · network fleetnet on lab1"),
        "{text}"
    );
    if members > 1 {
        assert!(
            text.contains(&format!("(first of the pool's {members} networks)")),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_on_swarm_nodes_and_services_asks_the_manager() {
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("inspect-svc");
    // No replicas: nothing to schedule, the service is there to be read.
    let service_id = create_service(
        &mut cleanup,
        &name,
        "busybox:local",
        &["--replicas", "0", "--env", "TOKEN=s3cret"],
    );
    let worker = dk(LAB5, &["node", "inspect", "-f", "{{.ID}}", "lab7"]);
    let mut h = Harness::start(&config);
    let mut app = App::new(&config, Theme::dark());
    synced(&mut h, &mut app, "the swarm with the service", |f| {
        f.swarms().first().is_some_and(|w| {
            w.state.nodes.len() == 2 && w.state.services.iter().any(|s| s.name == name)
        })
    })
    .await;

    key(&mut app, KeyCode::Char('8'));
    let swarms = app.fleet.swarms();
    let nodes = fleetdeck::ui::nodes::shown_nodes(&swarms);
    app.view.node_selected = nodes
        .iter()
        .position(|(_, n)| n.hostname == "lab7")
        .expect("lab7");
    drop(swarms);
    key(&mut app, KeyCode::Char('i'));
    assert_eq!(
        app.view.inspect.as_ref().unwrap().target,
        InspectTarget::Node(worker.clone())
    );
    let doc = answer(&mut h, &mut app).await;
    assert!(has(&doc, "Hostname", "lab7"), "{:#?}", lines(&doc, false));
    assert!(has(&doc, "Role", "worker"), "{:#?}", lines(&doc, false));
    assert!(screen(&mut app).contains("inspect · node lab7 via sw5"));
    key(&mut app, KeyCode::Esc);

    key(&mut app, KeyCode::Char('9'));
    let swarms = app.fleet.swarms();
    let services = fleetdeck::ui::services::shown_services(&swarms);
    app.view.service_selected = services
        .iter()
        .position(|(_, s)| s.name == name)
        .expect("service");
    drop(swarms);
    key(&mut app, KeyCode::Char('i'));
    assert_eq!(
        app.view.inspect.as_ref().unwrap().target,
        InspectTarget::Service(service_id)
    );
    let doc = answer(&mut h, &mut app).await;
    assert!(has(&doc, "Name", &name), "{:#?}", lines(&doc, false));
    assert!(
        lines(&doc, false)
            .iter()
            .any(|l| l.starts_with("\"Image\": \"busybox:local")),
        "{:#?}",
        lines(&doc, false)
    );
    // The service's env is masked as a container's is, until M.
    assert!(lines(&doc, false).iter().all(|l| !l.contains("s3cret")));
    assert!(
        lines(&doc, true)
            .iter()
            .any(|l| l.contains("\"TOKEN=s3cret\""))
    );
    let text = screen(&mut app);
    assert!(
        text.contains(&format!("inspect · service {name} via sw5 · env masked")),
        "{text}"
    );
}
