//! A daemon that is down at start-up, then dies mid-run: its rows stay (stale), the rest of the
//! dashboard keeps working, and it comes back by itself; and a daemon back after a long backoff
//! is on screen within 3 s. Only these tests touch lab4, and they take turns.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::App;
use fleetdeck::model::View;
use fleetdeck::model::{ContainerState, Link, Msg, MsgKind};
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::{Harness, RemoveOnDrop, find, lab_config, lab_sh, sleeper, unique};

/// lab4 is killed and restarted by the tests here: one at a time.
static LAB4: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts lab4 again when dropped, whatever happened, for the next test and the next run.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(crate::support::repo_root().join("scripts/lab.sh"))
            .args(["start", "lab4"])
            .status();
    }
}

fn draw(app: &mut App, term: &mut Terminal<TestBackend>) -> String {
    let size = term.size().unwrap();
    app.prepare_frame(size.width, size.height);
    term.draw(|f| app.draw(f)).unwrap();
    buffer_to_text(term.backend().buffer())
}

fn press(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_down_at_start_joins_then_dies_goes_stale_and_recovers() {
    let _turn = LAB4.lock().await;
    let config = lab_config(&["lab1", "lab4"]);
    // Whatever happens below, lab4 must be running again for the next run.
    let _restart = Restart;

    lab_sh(&["stop", "lab4"]);
    let mut app = App::new(&config, Theme::dark());
    let mut term = Terminal::new(TestBackend::new(180, 300)).unwrap();
    let mut h = Harness::start(&config);

    // Down at start-up: reported as down with a reason, lab1 unaffected.
    h.wait_for_with(
        "lab4 down at start-up, lab1 up",
        Duration::from_secs(20),
        |m: &Msg| {
            app.apply(m.clone());
        },
        |f| matches!(f.endpoints[1].link, Link::Down { .. }) && f.endpoints[0].is_up(),
    )
    .await;
    let screen = draw(&mut app, &mut term);
    assert!(screen.contains("✖ down"), "{screen}");

    // It joins when its daemon starts, without restarting anything here.
    lab_sh(&["start", "lab4"]);
    h.wait_for_with(
        "lab4 joins",
        Duration::from_secs(30),
        |m: &Msg| {
            app.apply(m.clone());
        },
        |f| f.endpoints[1].is_up() && !f.endpoints[1].containers.is_empty(),
    )
    .await;
    let containers_before = h.fleet.endpoints[1].containers.len();

    // Killed mid-run: goes down, keeps its rows, marked stale.
    lab_sh(&["stop", "lab4"]);
    h.wait_for_with(
        "lab4 marked down after kill",
        Duration::from_secs(10),
        |m: &Msg| {
            app.apply(m.clone());
        },
        |f| matches!(f.endpoints[1].link, Link::Down { .. }),
    )
    .await;
    let lab4 = &h.fleet.endpoints[1];
    assert!(lab4.is_stale());
    assert_eq!(
        lab4.containers.len(),
        containers_before,
        "rows of a vanished daemon stay"
    );
    assert!(lab4.last_contact.is_some());

    // The rest of the dashboard keeps working: lab1 still follows events, keys still act.
    // Removed even if an assertion fails: leftovers on lab1 push lab4's rows off the screen
    // this test reads.
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("alive"));
    sleeper(&config, "lab1", &name, 300);
    h.wait_for_with(
        "lab1 still live while lab4 is down",
        Duration::from_secs(5),
        |m: &Msg| {
            app.apply(m.clone());
        },
        |f| find(f, "lab1", &name).is_some_and(|c| c.state == ContainerState::Running),
    )
    .await;
    press(&mut app, '2');
    assert_eq!(app.view.view, View::Containers);
    let screen = draw(&mut app, &mut term);
    assert!(
        screen.contains(&name),
        "new lab1 container listed:\n{screen}"
    );
    assert!(
        screen.contains("stale"),
        "lab4 rows marked stale:\n{screen}"
    );
    press(&mut app, '1');
    let screen = draw(&mut app, &mut term);
    assert!(
        screen.contains("last contact"),
        "down endpoint says when it was last heard:\n{screen}"
    );

    // Back by itself after the daemon restarts.
    lab_sh(&["start", "lab4"]);
    h.wait_for_with(
        "lab4 recovers",
        Duration::from_secs(30),
        |m: &Msg| {
            app.apply(m.clone());
        },
        |f| f.endpoints[1].is_up() && !f.endpoints[1].is_stale(),
    )
    .await;
    let screen = draw(&mut app, &mut term);
    assert!(!screen.contains("✖ down"), "{screen}");
}

/// The reconnect backoff grows to `backoff_max` (30 s by default) so a daemon that is down is
/// not asked for a full session every half second; but a daemon that is back must not wait out
/// the rest of it. A cheap probe every 2 s cuts the wait short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_back_after_a_long_backoff_is_up_within_3_s() {
    let _turn = LAB4.lock().await;
    let mut config = lab_config(&["lab4"]);
    // The default cap, not the lab's tight one: the wait that used to hide a daemon for 30 s.
    config.engine.backoff_max = Duration::from_secs(30);
    let _restart = Restart;
    let mut h = Harness::start(&config);
    h.wait_for("lab4 up", Duration::from_secs(30), |f| {
        f.endpoints[0].is_up()
    })
    .await;

    lab_sh(&["stop", "lab4"]);
    // Down, and backed off to a wait far longer than 3 s: 0.5 + 1 + 2 + 4 + 8 s of tries
    // first.
    let long = Duration::from_secs(16);
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let MsgKind::Down { retry_in, .. } = h.next_msg().await.kind
                && retry_in >= long
            {
                break;
            }
        }
    })
    .await
    .expect("lab4 down with a backoff of 16 s or more within 60 s");

    // Returns once the daemon answers on its socket and its TCP port.
    lab_sh(&["start", "lab4"]);
    let answered = Instant::now();
    h.wait_for(
        "lab4 up again after its daemon answers",
        Duration::from_secs(40),
        |f| f.endpoints[0].is_up(),
    )
    .await;
    let took = answered.elapsed();
    eprintln!("lab4 back on screen {took:?} after its daemon answered");
    assert!(
        took <= Duration::from_secs(3),
        "lab4 took {took:?} to be up again after its daemon answered"
    );
}
