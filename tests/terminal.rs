//! The real binary in a real terminal (tmux): it draws, and the terminal is restored on every
//! way out: the quit key, SIGTERM, SIGHUP. No Docker needed: the one endpoint is unreachable on
//! purpose, which must not stop the dashboard either.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of the test's own (its own socket, no user config), so options set here
/// touch nobody else's sessions.
struct Tmux {
    session: String,
}

impl Tmux {
    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-f", "/dev/null", "-L", &self.session]);
        c
    }

    fn start(cmd: &str) -> Self {
        let session = format!("fdterm-{}-{}", std::process::id(), rand_suffix());
        let ok = Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &session])
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
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &str) {
        self.tmux()
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
        let _ = self.tmux().arg("kill-server").status();
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

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = self.tmux().args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

/// A host shell in the real binary, in a real terminal: its size, keys (Ctrl-] legacy byte
/// included), a bracketed paste, and hostile output that tmux would act on if a byte of it
/// got through: a title change (the pane title) and an OSC 52 clipboard write (a tmux buffer).
#[test]
fn a_host_shell_in_the_real_terminal_leaks_no_escape_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[[endpoint]]\nname = \"here\"\nurl = \"unix:///run/fleetdeck-no-such.sock\"\n",
    )
    .unwrap();
    let cmd = format!(
        "env SHELL=sh PS1='$ ' XDG_STATE_HOME={state} FLEETDECK_AUDIT={state}/audit.jsonl {bin} --config {cfg}; sleep 30",
        state = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_fleetdeck"),
        cfg = config.display(),
    );
    let t = Tmux::start(&cmd);
    // tmux acts on OSC 52 (a paste buffer appears) only when told to: tell it.
    t.run(&["set", "-s", "set-clipboard", "on"]);
    t.wait_for("the dashboard", |s| s.contains("here"));
    let title_before = t.run(&["display", "-p", "-t", &t.session, "#{pane_title}"]);
    t.keys("E");
    t.wait_for("the host shell's prompt", |s| s.contains("(host) ●"));
    t.keys("stty size");
    t.keys("Enter");
    // 80×24: body 22 rows, pane 60% = 13, minus its border: 11 × 78.
    t.wait_for("the pane's size", |s| s.contains("11 78"));

    t.keys(r"printf '\033]0;PWNED-TITLE\007\033]52;c;UFdORUQtQ0xJUA==\007\033P+q544e\033\\' ; echo done-$((3*3))");
    t.keys("Enter");
    t.wait_for("the hostile printf ran", |s| s.contains("done-9"));
    let title_after = t.run(&["display", "-p", "-t", &t.session, "#{pane_title}"]);
    assert_eq!(title_after, title_before, "the title was not changed");
    assert!(!title_after.contains("PWNED"));
    let buffers = t.run(&["list-buffers"]);
    assert!(!buffers.contains("PWNED"), "no clipboard write: {buffers}");

    // A paste arrives whole (bracketed on the way in) and runs as typed.
    t.run(&["set-buffer", "-b", "fdpaste", "echo pasted-$((5*5))\n"]);
    t.run(&[
        "paste-buffer",
        "-p",
        "-d",
        "-b",
        "fdpaste",
        "-t",
        &t.session,
    ]);
    t.wait_for("the paste ran", |s| s.contains("pasted-25"));

    // Ctrl-] (a legacy terminal's 0x1d) gives the keys back: '3' switches the view.
    t.keys("C-]");
    t.keys("3");
    t.wait_for("the events view", |s| {
        s.contains("3:Events") || s.contains("Events ·")
    });
    t.keys("q");
    t.wait_for("the dashboard gone", |s| !s.contains("(host)"));
}

/// tmux's record of the modes the application in the pane has set: mouse tracking (any
/// motion, SGR encoding). tmux keeps one tracking mode, the last set: any-motion (1003).
fn mouse_flags(t: &Tmux) -> String {
    t.run(&[
        "display",
        "-p",
        "-t",
        &t.session,
        "#{mouse_any_flag}#{mouse_sgr_flag}",
    ])
    .trim()
    .to_string()
}

/// The mouse is captured while the dashboard runs (`[ui] mouse` is on by default) and released
/// on the way out, by the quit key and by SIGTERM: a terminal left capturing would answer each
/// click in the shell afterwards with an escape sequence.
#[test]
fn mouse_capture_is_on_while_it_runs_and_off_after_the_quit_key_and_sigterm() {
    for way_out in ["q", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let (t, pid) = session(dir.path());
        assert_eq!(mouse_flags(&t), "11", "{way_out}: captured while it runs");
        if way_out == "q" {
            t.keys("q");
        } else {
            Command::new("kill").args([way_out, &pid]).status().unwrap();
        }
        let screen = t.wait_for("exit and the terminal mode", |s| {
            s.contains("EXITED=") && s.contains("icanon")
        });
        assert!(screen.contains("EXITED=0"), "{way_out}: {screen}");
        assert_eq!(mouse_flags(&t), "00", "{way_out}: released on exit");
    }
}
