//! The shell pane against real daemons and a real pty, driven headlessly: keys go in through
//! `App::handle_key`, commands run through `Effects` (the loop's own wiring), engine messages
//! come back through the channel, and every check reads the frame rendered into a
//! `TestBackend`. Sizes are the pane's, computed by hand from the screen below.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{self, App};
use fleetdeck::audit::{self, AuditLog, Phase};
use fleetdeck::config::{self, Config};
use fleetdeck::engine::FleetTasks;
use fleetdeck::engine::gate::Gate;
use fleetdeck::model::Msg;
use fleetdeck::model::shell::ShellState;
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use tokio::sync::mpsc;

use crate::support::{Harness, Proxy, RemoveOnDrop, docker, lab_config, sleeper, unique};

/// The whole app over a live engine, drawn into a test terminal.
struct Rig {
    app: App,
    rx: mpsc::Receiver<Msg>,
    tasks: FleetTasks,
    term: Terminal<TestBackend>,
    _audit_dir: tempfile::TempDir,
    audit: std::path::PathBuf,
}

impl Rig {
    /// Starts the engine on `config`, waits until every endpoint has synced, and hands it to
    /// an app on a `width`×`height` screen. The gate writes a private audit log.
    async fn start(config: &Config, width: u16, height: u16) -> Self {
        let mut h = Harness::start(config);
        let n = config.endpoints.len();
        h.wait_for("every endpoint synced", Duration::from_secs(30), |f| {
            f.endpoints.iter().filter(|e| e.is_up()).count() == n
        })
        .await;
        let audit_dir = tempfile::tempdir().unwrap();
        let audit = audit_dir.path().join("audit.jsonl");
        let (fleet, rx, mut tasks) = h.into_parts();
        tasks.set_gate(Arc::new(Gate::new(config, AuditLog::at(&audit))));
        let mut app = App::new(config, Theme::dark());
        app.fleet = fleet;
        let mut rig = Self {
            app,
            rx,
            tasks,
            term: Terminal::new(TestBackend::new(width, height)).unwrap(),
            _audit_dir: audit_dir,
            audit,
        };
        rig.frame();
        rig
    }

    /// One turn of the loop's drawing half: size, commands (shell resizes), draw.
    fn frame(&mut self) {
        let size = self.term.size().unwrap();
        self.app.prepare_frame(size.width, size.height);
        app::Effects::new(Some(&mut self.tasks), None).run(&mut self.app);
        let app = &self.app;
        self.term.draw(|f| app.draw(f)).unwrap();
    }

    fn screen(&self) -> String {
        buffer_to_text(self.term.backend().buffer())
    }

    fn key(&mut self, code: KeyCode, mods: KeyModifiers) {
        self.app.handle_key(KeyEvent::new(code, mods));
        app::Effects::new(Some(&mut self.tasks), None).run(&mut self.app);
    }

    fn ch(&mut self, c: char) {
        self.key(KeyCode::Char(c), KeyModifiers::NONE);
    }

    /// Types `text` and Enter, as keys.
    fn line(&mut self, text: &str) {
        for c in text.chars() {
            self.ch(c);
        }
        self.key(KeyCode::Enter, KeyModifiers::NONE);
    }

    /// Runs the loop (messages in, commands out, frames drawn) until `pred` holds on the
    /// rendered screen, or fails after `limit` showing the screen.
    async fn until(&mut self, what: &str, limit: Duration, pred: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            self.frame();
            if pred(self) {
                return;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => {
                    app::Effects::new(Some(&mut self.tasks), None).apply(&mut self.app, msg);
                    while let Ok(msg) = self.rx.try_recv() {
                        app::Effects::new(Some(&mut self.tasks), None).apply(&mut self.app, msg);
                    }
                    app::Effects::new(Some(&mut self.tasks), None).run(&mut self.app);
                }
                Ok(None) => panic!("engine stopped while waiting for: {what}"),
                Err(_) => panic!(
                    "timed out after {limit:?} waiting for: {what}\nshells: {:?}\nscreen:\n{}",
                    self.app
                        .shells
                        .panes
                        .iter()
                        .map(|p| (&p.title, &p.state))
                        .collect::<Vec<_>>(),
                    self.screen()
                ),
            }
        }
    }

    async fn shows(&mut self, text: &str) {
        let t = text.to_string();
        self.until(
            &format!("\"{text}\" on screen"),
            Duration::from_secs(20),
            |r| r.screen().contains(&t),
        )
        .await;
    }

    /// Selects a container in the containers view by filtering on its name.
    fn select(&mut self, endpoint: &str, name: &str) {
        self.key(KeyCode::Esc, KeyModifiers::NONE);
        self.ch('2');
        self.ch('/');
        for c in format!("ep:{endpoint} {name}").chars() {
            self.ch(c);
        }
        self.key(KeyCode::Enter, KeyModifiers::NONE);
    }

    fn active_state(&self) -> Option<ShellState> {
        self.app.shells.active().map(|p| p.state.clone())
    }

    /// The focus key as a legacy terminal reports Ctrl-] (crossterm: Ctrl-5).
    fn focus_key(&mut self) {
        self.key(KeyCode::Char('5'), KeyModifiers::CONTROL);
    }
}

fn run_busybox(
    config: &Config,
    endpoint: &str,
    cleanup: &mut RemoveOnDrop,
    prefix: &str,
) -> String {
    let name = cleanup.add(unique(prefix));
    sleeper(config, endpoint, &name, 600);
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_pane_has_the_panes_size_colours_signals_and_gives_focus_back() {
    let config = lab_config(&["lab1"]);
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = run_busybox(&config, "lab1", &mut cleanup, "sh");
    let mut rig = Rig::start(&config, 100, 30).await;
    rig.until("the container listed", Duration::from_secs(20), |r| {
        crate::support::find(&r.app.fleet, "lab1", &name).is_some()
    })
    .await;
    rig.select("lab1", &name);
    rig.ch('e');
    assert!(rig.app.shells.focused, "a new shell has the keys");
    rig.until("the shell runs", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Running)
    })
    .await;

    // 100×30: body 28 rows, pane 60% = 16 rows, minus its border: 14 × 98.
    rig.line("stty size");
    rig.shows("14 98").await;

    // A taller window: body 38, pane 22, terminal 20 × 118, sent with resize_exec.
    rig.term.backend_mut().resize(120, 40);
    // The loop redraws on a resize event before it reads the next key: so does the test.
    rig.frame();
    rig.line("clear; stty size");
    rig.shows("20 118").await;
    assert_eq!(rig.app.shell_terminal_size(), (20, 118));

    // Colours reach the cells as styles.
    rig.line("clear; printf '\\033[31mRED\\033[0m \\033[1;32mGREEN\\033[0m\\n'");
    rig.shows("RED GREEN").await;
    let buf = rig.term.backend().buffer().clone();
    let (x, y) = (0..buf.area.height)
        .find_map(|y| {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            row.find("RED GREEN").map(|x| (x as u16, y))
        })
        .unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Indexed(1), "RED is red");
    assert_eq!(buf[(x + 4, y)].fg, Color::Indexed(2), "GREEN is green");
    assert!(
        buf[(x + 4, y)].modifier.contains(Modifier::BOLD),
        "and bold"
    );

    // A full-screen program draws, refreshes, and quits back to the prompt.
    rig.line("top");
    rig.shows("Load average").await;
    rig.ch('q');
    rig.line("clear; echo after-top-$((1+2))");
    rig.shows("after-top-3").await;

    // Ctrl-C interrupts a foreground sleep and the prompt comes back.
    rig.line("sleep 1000");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !docker(&config, "lab1", &["top", &name]).contains("sleep 1000") {
        assert!(
            std::time::Instant::now() < deadline,
            "sleep 1000 never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.key(KeyCode::Char('c'), KeyModifiers::CONTROL);
    rig.line("echo back-$((6*7))");
    rig.shows("back-42").await;

    // The focus key returns the keys to the dashboard: '3' switches view, it is not typed.
    rig.focus_key();
    assert!(!rig.app.shells.focused);
    rig.ch('3');
    assert_eq!(rig.app.view.view, fleetdeck::model::View::Events);
    rig.focus_key();
    assert!(rig.app.shells.focused, "and the same key goes back");

    // The exit status is shown when the shell ends.
    rig.line("exit 3");
    rig.until("the shell ended", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Exited(Some(3)))
    })
    .await;
    rig.shows("exited 3").await;
    assert!(
        !rig.app.shells.focused,
        "an ended shell gives the keys back"
    );

    // Audited: the exec, and each resize, each with a start and a result.
    let (records, _) = audit::read(&rig.audit).unwrap();
    let exec: Vec<_> = records.iter().filter(|r| r.action == "exec").collect();
    assert_eq!(
        exec.iter().map(|r| r.phase).collect::<Vec<_>>(),
        [Phase::Started, Phase::Succeeded]
    );
    assert_eq!(exec[0].container, name);
    assert!(
        records
            .iter()
            .any(|r| r.action == "exec-resize" && r.phase == Phase::Succeeded)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shells_on_two_endpoints_run_side_by_side_as_tabs() {
    let config = lab_config(&["lab1", "lab3"]);
    let mut on1 = RemoveOnDrop::new(&config, "lab1");
    let mut on3 = RemoveOnDrop::new(&config, "lab3");
    let a = run_busybox(&config, "lab1", &mut on1, "tab");
    let b = run_busybox(&config, "lab3", &mut on3, "tab");
    let id_a = docker(&config, "lab1", &["inspect", "-f", "{{.Id}}", &a])[..12].to_string();
    let id_b = docker(&config, "lab3", &["inspect", "-f", "{{.Id}}", &b])[..12].to_string();
    let mut rig = Rig::start(&config, 100, 30).await;
    rig.until("both containers listed", Duration::from_secs(20), |r| {
        crate::support::find(&r.app.fleet, "lab1", &a).is_some()
            && crate::support::find(&r.app.fleet, "lab3", &b).is_some()
    })
    .await;
    rig.select("lab1", &a);
    rig.ch('e');
    rig.until("the first shell runs", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Running)
    })
    .await;
    rig.line("echo one-$(hostname)");
    rig.shows(&format!("one-{id_a}")).await;

    rig.focus_key();
    rig.select("lab3", &b);
    rig.ch('e');
    assert_eq!(rig.app.shells.panes.len(), 2);
    rig.until("the second shell runs", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Running)
    })
    .await;
    rig.line("echo two-$(hostname)");
    rig.shows(&format!("two-{id_b}")).await;
    rig.shows(&format!("lab1/{a}")).await; // both tabs are listed
    rig.shows(&format!("lab3/{b}")).await;

    // Back to the first tab: still alive, and still its own container.
    rig.focus_key();
    rig.ch('{');
    rig.focus_key();
    rig.line("clear; echo again-$(hostname)");
    rig.shows(&format!("again-{id_a}")).await;
    assert!(
        rig.app
            .shells
            .panes
            .iter()
            .all(|p| p.state == ShellState::Running)
    );

    // Closing a tab hangs up its exec: the shell process is gone from the container.
    rig.focus_key();
    rig.key(KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(rig.app.shells.panes.len(), 1);
    rig.frame();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while docker(&config, "lab1", &["top", &a]).lines().count() > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the exec shell outlived its tab"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a local process has exactly this argv (NUL-separated, as in /proc/PID/cmdline).
fn local_process_runs(argv: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == argv.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_shell_runs_in_a_local_pty_with_the_panes_size() {
    let config = lab_config(&["lab1"]);
    let mut rig = Rig::start(&config, 100, 30).await;
    rig.app.host_shell_env = Some("sh".into());
    rig.ch('1');
    rig.ch('E');
    rig.until("the host shell runs", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Running)
    })
    .await;
    rig.line("stty size");
    rig.shows("14 98").await;
    rig.term.backend_mut().resize(90, 36);
    rig.frame();
    // 90×36: body 34, pane 20 rows, terminal 18 × 88.
    rig.line("clear; stty size");
    rig.shows("18 88").await;
    // A Ctrl-C typed before the shell has started the sleep would be lost with the line it
    // flushes: wait for the process first.
    let seconds = 100_000 + std::process::id() % 100_000;
    rig.line(&format!("sleep {seconds}"));
    let argv = format!("sleep\0{seconds}\0");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !local_process_runs(&argv) {
        assert!(
            std::time::Instant::now() < deadline,
            "the sleep never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.key(KeyCode::Char('c'), KeyModifiers::CONTROL);
    rig.line("echo typed-$((40+2))");
    rig.shows("typed-42").await;
    rig.line("exit 7");
    rig.until("the host shell ended", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Exited(Some(7)))
    })
    .await;
    let (records, _) = audit::read(&rig.audit).unwrap();
    let host: Vec<_> = records
        .iter()
        .filter(|r| r.action == "host-shell")
        .collect();
    assert_eq!(
        host.iter().map(|r| r.phase).collect::<Vec<_>>(),
        [Phase::Started, Phase::Succeeded]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_on_a_read_only_endpoint_sends_nothing() {
    let lab = lab_config(&["lab3"]);
    let proxy = Proxy::start("10.203.3.2:2375").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &path,
        format!(
            "[engine]\nrequest_timeout_s = 5\n\n[[endpoint]]\nname = \"ro3\"\nurl = \"{}\"\nread_only = true\n\
             host_shell = [\"sh\"]\n",
            proxy.url()
        ),
    )
    .unwrap();
    let config = config::parse_file(&path).unwrap();
    let mut cleanup = RemoveOnDrop::new(&lab, "lab3");
    let name = run_busybox(&lab, "lab3", &mut cleanup, "rosh");
    let mut rig = Rig::start(&config, 100, 30).await;
    rig.until("the container listed", Duration::from_secs(20), |r| {
        crate::support::find(&r.app.fleet, "ro3", &name).is_some()
    })
    .await;
    rig.select("ro3", &name);
    rig.ch('e');
    rig.until("the exec refused", Duration::from_secs(20), |r| {
        matches!(r.active_state(), Some(ShellState::Failed(_)))
    })
    .await;
    assert_eq!(
        rig.active_state(),
        Some(ShellState::Failed(
            "refused: endpoint ro3 is read-only".into()
        ))
    );
    rig.shows("read-only").await;
    assert!(
        !rig.app.shells.focused,
        "a refused shell gives the keys back"
    );
    // A host shell there is refused too.
    rig.ch('E');
    rig.until("the host shell refused", Duration::from_secs(20), |r| {
        r.app.shells.panes.len() == 2 && matches!(r.active_state(), Some(ShellState::Failed(_)))
    })
    .await;
    let changing: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect();
    assert!(changing.is_empty(), "the read-only daemon got {changing:?}");
    let (records, _) = audit::read(&rig.audit).unwrap();
    let refused: Vec<_> = records
        .iter()
        .filter(|r| r.phase == Phase::Refused)
        .map(|r| r.action.as_str())
        .collect();
    assert_eq!(refused, ["exec", "host-shell"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_going_away_closes_its_exec_pane_with_a_message() {
    let lab = lab_config(&["lab3"]);
    let proxy = Proxy::start("10.203.3.2:2375").await;
    let mut config = lab.clone();
    config.endpoints[0] =
        fleetdeck::model::EndpointSpec::from_url(Some("via-proxy"), &proxy.url()).unwrap();
    let mut cleanup = RemoveOnDrop::new(&lab, "lab3");
    let name = run_busybox(&lab, "lab3", &mut cleanup, "cut");
    let mut rig = Rig::start(&config, 100, 30).await;
    rig.until("the container listed", Duration::from_secs(20), |r| {
        crate::support::find(&r.app.fleet, "via-proxy", &name).is_some()
    })
    .await;
    rig.select("via-proxy", &name);
    rig.ch('e');
    rig.until("the shell runs", Duration::from_secs(20), |r| {
        r.active_state() == Some(ShellState::Running)
    })
    .await;
    proxy.cut();
    rig.until("the pane closed", Duration::from_secs(20), |r| {
        matches!(r.active_state(), Some(ShellState::Lost(_)))
    })
    .await;
    rig.shows("closed:").await;
    proxy.restore();
}
