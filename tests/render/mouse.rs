//! The mouse through the app loop's entry point: injected crossterm mouse events, each click
//! made where the rendered frame shows its target (found in the buffer, not computed), so a
//! click mapped through a layout other than the drawn one lands on the wrong row and fails.

use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use fleetdeck::model::View;
use ratatui::style::Modifier;

use super::*;

fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) -> bool {
    app.handle_mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn click(app: &mut App, (column, row): (u16, u16)) -> bool {
    mouse(app, MouseEventKind::Down(MouseButton::Left), column, row)
}

fn wheel_down(app: &mut App) -> bool {
    mouse(app, MouseEventKind::ScrollDown, 10, 10)
}

fn wheel_up(app: &mut App) -> bool {
    mouse(app, MouseEventKind::ScrollUp, 10, 10)
}

fn selected_name(app: &App) -> String {
    let key = app.view.selected_key.clone().expect("a selection");
    app.fleet.endpoints[key.endpoint].containers[&key.id]
        .name
        .clone()
}

/// The render fixture with 200 containers on us-east-02 instead of its two, so the table
/// scrolls.
fn many_app() -> App {
    let mut app = app();
    sync_many(&mut app, 1, 200);
    app
}

#[test]
fn a_click_on_a_view_name_in_the_header_switches_to_that_view() {
    let mut app = app();
    for (label, view) in [
        ("4:Triage", View::Triage),
        ("2:Containers", View::Containers),
        ("3:Events", View::Events),
        ("1:Clusters", View::Clusters),
    ] {
        let buf = render(&mut app, 200, 50);
        let (x, y) = find_cell(&buf, label);
        assert!(click(&mut app, (x + 1, y)), "{label}");
        assert_eq!(app.view.view, view, "{label}");
    }
    // At 80 columns the other views are numbers only: " 3 " still switches.
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, " 3 ");
    click(&mut app, (x + 1, y));
    assert_eq!(app.view.view, View::Events);
    // The header's left part (the name, the counts) is no view.
    click(&mut app, (2, 0));
    assert_eq!(app.view.view, View::Events);
}

#[test]
fn a_click_selects_the_containers_row_it_lands_on_also_scrolled_and_grouped() {
    let mut app = many_app();
    key(&mut app, KeyCode::Char('2'));
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "worker-1");
    assert!(click(&mut app, (x, y)));
    assert_eq!(selected_name(&app), "worker-1");

    // Scrolled far down: the wheel moves 3 rows a notch, the window follows.
    for _ in 0..20 {
        assert!(wheel_down(&mut app));
    }
    let buf = render(&mut app, 80, 24);
    let text = buffer_to_text(&buf);
    assert!(!text.contains("worker-1"), "scrolled off:\n{text}");
    let (x, y) = find_cell(&buf, "svc-0045");
    click(&mut app, (x, y));
    assert_eq!(selected_name(&app), "svc-0045");
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("svc-0045"),
        "the click did not scroll:\n{text}"
    );

    // Grouped by endpoint: the group headers are lines of the table too (two above web-1).
    key(&mut app, KeyCode::Char('o'));
    key(&mut app, KeyCode::Char('g'));
    let buf = render(&mut app, 80, 24);
    let text = buffer_to_text(&buf);
    assert!(text.contains("── endpoint us-east-01"), "grouped:\n{text}");
    let (x, y) = find_cell(&buf, "web-1 ");
    click(&mut app, (x, y));
    assert_eq!(selected_name(&app), "web-1");
    let (_, header) = find_cell(&buf, "── ");
    let before = app.view.selected;
    assert!(
        !click(&mut app, (4, header)),
        "a group header selects nothing"
    );
    assert_eq!(app.view.selected, before);
    // The table's title row and the frame select nothing either.
    let (_, title) = find_cell(&buf, "NAME");
    assert!(!click(&mut app, (4, title)));
    assert!(!click(&mut app, (4, title - 1)));
}

#[test]
fn the_wheel_moves_three_rows_a_notch_and_scrolls_the_log() {
    use fleetdeck::model::logs::{LogBuffer, LogLine, LogSource, LogStream};
    use fleetdeck::ui::state::LogView;
    let mut app = many_app();
    key(&mut app, KeyCode::Char('2'));
    render(&mut app, 80, 24);
    wheel_down(&mut app);
    assert_eq!(app.view.selected, 3);
    wheel_down(&mut app);
    wheel_up(&mut app);
    assert_eq!(app.view.selected, 3);

    // The log: up pauses following three lines above the bottom.
    let sources = vec![LogSource {
        endpoint: 0,
        container_id: "c1".into(),
        tag: "us-east-01/web-1".into(),
    }];
    let mut buffer = LogBuffer::new(sources, 1000);
    buffer
        .extend((0..100).map(|i| {
            LogLine::from_raw(0, Some(now()), LogStream::Stdout, &format!("line-{i:03}"))
        }));
    app.logs = Some(LogView::new(1, buffer));
    key(&mut app, KeyCode::Char('5'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("line-099"), "{text}");
    wheel_up(&mut app);
    let logs = app.logs.as_ref().unwrap();
    assert!(!logs.follow);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("line-096") && !text.contains("line-097"),
        "three lines up:\n{text}"
    );
}

#[test]
fn a_click_selects_the_event_and_the_triage_row_it_lands_on() {
    let mut app = app();
    key(&mut app, KeyCode::Char('3'));
    let buf = render(&mut app, 120, 30);
    let (x, y) = find_cell(&buf, "health: unhealthy");
    assert!(click(&mut app, (x, y)));
    let selected = app.view.event_selected.clone().expect("following paused");
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("paused"), "{text}");
    key(&mut app, KeyCode::Enter);
    let detail = app.view.detail.clone().expect("detail opened");
    assert_eq!(
        app.fleet.endpoints[detail.endpoint].containers[&detail.id].name, "api-1",
        "{selected:?}"
    );

    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('4'));
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "unhealthy");
    assert!(click(&mut app, (x, y)));
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "unhealthy");
    assert!(
        buf[(x, y)].modifier.contains(Modifier::REVERSED),
        "the clicked alert is the selected one"
    );
}

#[test]
fn a_click_selects_the_node_and_the_service_it_lands_on_under_swarm_lines() {
    let mut app = swarm_app();
    key(&mut app, KeyCode::Char('8'));
    let buf = render(&mut app, 200, 50);
    let (x, y) = find_cell(&buf, "us-east-02     manager");
    assert!(click(&mut app, (x, y)));
    assert_eq!(app.view.node_selected, 1);
    let (_, swarm_line) = find_cell(&buf, "── swarm");
    assert!(!click(&mut app, (3, swarm_line)));
    assert_eq!(app.view.node_selected, 1);

    key(&mut app, KeyCode::Char('9'));
    let buf = render(&mut app, 200, 50);
    let (x, y) = find_cell(&buf, "rolled back");
    assert!(click(&mut app, (x, y)));
    let buf = render(&mut app, 200, 50);
    let (x, y) = find_cell(&buf, "rolled back");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn a_click_on_a_shell_tab_makes_it_the_focused_one() {
    use fleetdeck::model::shell::{Emulator, ShellTarget};
    let mut app = app();
    app.prepare_frame(80, 24);
    let (rows, cols) = app.shell_terminal_size();
    for (endpoint, title) in [(1, "us-east-02 (host)"), (0, "eu-host (host)")] {
        app.shells.open(
            ShellTarget::Host { endpoint },
            title.into(),
            Emulator::new(rows, cols, 10),
        );
    }
    app.shells.focused = false;
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "us-east-02 (host)");
    let before = app.shells.active;
    assert!(click(&mut app, (x + 3, y)));
    assert_eq!(app.shells.active, 0);
    assert_ne!(before, 0, "the fixture opened the second tab last");
    assert!(app.shells.focused);
    let (x, y) = find_cell(&buf, "eu-host");
    click(&mut app, (x, y));
    assert_eq!(app.shells.active, 1);
    // The wheel over the pane scrolls the shell's scrollback, not the view.
    let selected = app.view.selected_endpoint;
    assert!(mouse(&mut app, MouseEventKind::ScrollDown, x, y + 3));
    assert_eq!(app.view.selected_endpoint, selected);
    // A click on the view gives it the keys back.
    assert!(app.shells.focused);
    assert!(click(&mut app, (10, 5)));
    assert!(!app.shells.focused);
}

#[test]
fn with_mouse_off_or_on_a_wall_no_mouse_event_does_anything() {
    let mut config = config();
    config.ui.mouse = false;
    let mut off = app_with(&config);
    let buf = render(&mut off, 200, 50);
    let (x, y) = find_cell(&buf, "4:Triage");
    assert!(!click(&mut off, (x + 1, y)));
    assert!(!wheel_down(&mut off));
    assert_eq!(off.view.view, View::Clusters);

    let mut app = app();
    app.enable_wall(&config.wall);
    let before = app.view.view;
    render(&mut app, 200, 50);
    for at in [(5, 0), (20, 0), (40, 10)] {
        assert!(!click(&mut app, at));
    }
    assert!(!wheel_down(&mut app));
    assert_eq!(app.view.view, before);
}
