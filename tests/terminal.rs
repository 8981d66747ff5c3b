//! The real binary in a real terminal (tmux): it draws, and the terminal is restored on every
//! way out: the quit key, SIGTERM, SIGHUP. No Docker needed: the one endpoint is unreachable on
//! purpose, which must not stop the dashboard either.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(cmd: &str) -> Self {
        let session = format!("fdterm-{}-{}", std::process::id(), rand_suffix());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                "-s",
                &session,
                cmd,
            ])
            .status()
            .expect("tmux is installed (scripts/lab.sh installs it)");
        assert!(ok.success());
        Self { session }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.session, keys])
            .status()
            .unwrap();
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// Runs fleetdeck in a shell that, after it exits, prints its exit code and the terminal mode.
fn session(dir: &std::path::Path) -> (Tmux, String) {
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[[endpoint]]\nname = \"nowhere\"\nurl = \"unix:///run/fleetdeck-no-such.sock\"\n",
    )
    .unwrap();
    let pidfile = dir.join("pid");
    let cmd = format!(
        "sh -c 'echo $$ > {pid}; exec env XDG_STATE_HOME={state} {bin} --config {cfg}'; echo EXITED=$?; stty -a | tr \" \" \"\\n\" | grep -E \"^-?(icanon|echo)$\" | tr \"\\n\" \" \"; echo; sleep 30",
        pid = pidfile.display(),
        state = dir.display(),
        bin = env!("CARGO_BIN_EXE_fleetdeck"),
        cfg = config.display(),
    );
    let t = Tmux::start(&cmd);
    t.wait_for("the dashboard", |s| {
        s.contains("fleetdeck") && s.contains("nowhere")
    });
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    (t, pid)
}

fn assert_restored(screen: &str) {
    assert!(
        screen.contains("icanon echo"),
        "terminal back in cooked mode with echo:\n{screen}"
    );
    assert!(
        !screen.contains("-icanon") && !screen.contains("-echo"),
        "{screen}"
    );
}

#[test]
fn the_dashboard_draws_at_80x24_and_the_quit_key_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = session(dir.path());
    let screen = t.wait_for("the endpoint marked down", |s| s.contains("✖ down"));
    assert!(screen.lines().all(|l| l.chars().count() <= 80));
    t.keys("2");
    t.wait_for("the containers view", |s| s.contains("Containers"));
    t.keys("q");
    let screen = t.wait_for("exit and the terminal mode", |s| {
        s.contains("EXITED=") && s.contains("icanon")
    });
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert_restored(&screen);
}

#[test]
fn sigterm_and_sighup_restore_the_terminal_too() {
    for signal in ["-TERM", "-HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let (t, pid) = session(dir.path());
        Command::new("kill").args([signal, &pid]).status().unwrap();
        let screen = t.wait_for("exit and the terminal mode", |s| {
            s.contains("EXITED=") && s.contains("icanon")
        });
        assert!(screen.contains("EXITED=0"), "{signal}: {screen}");
        assert_restored(&screen);
    }
}
