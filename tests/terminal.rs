//! The real binary in a real terminal (tmux): it draws, and the terminal is restored on every
//! way out: the quit key, SIGTERM, SIGHUP (mouse capture included). No Docker needed for those:
//! the one endpoint is unreachable on purpose, which must not stop the dashboard either. The
//! copy test needs the lab's lab1 (a `mouse-…` container, removed at the end).

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

/// A container on lab1 for the copy test, removed however the test ends.
struct LabContainer {
    name: String,
}

const LAB1: &str = "unix:///run/fleetdeck-lab/lab1/docker.sock";

impl LabContainer {
    fn run(name: &str) -> (Self, String) {
        let out = Command::new("docker")
            .args(["-H", LAB1, "run", "-d", "--name", name])
            .args(["busybox:local", "sleep", "600"])
            .output()
            .expect("the docker CLI runs");
        assert!(
            out.status.success(),
            "docker run on lab1 (is the lab up? scripts/lab.sh status): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (Self { name: name.into() }, id)
    }
}

impl Drop for LabContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["-H", LAB1, "rm", "-f", &self.name])
            .output();
    }
}

/// `c` then `1` in the real binary, on a real container of the lab: fleetdeck writes exactly
/// one OSC 52 sequence, and its payload is the selected container's id and nothing else.
///
/// Checked twice, from both sides of tmux. The pane's output stream (`pipe-pane -o`, the bytes
/// fleetdeck wrote before tmux read them) holds exactly one `ESC ] 52 ;` and its base64 body
/// decodes to the id: a second sequence, another value, or an unencoded one fails here. And
/// tmux itself, told to act on OSC 52 (`set-clipboard on`), holds exactly one paste buffer
/// afterwards, equal to the id: a sequence tmux cannot parse (wrong terminator, bad base64)
/// leaves no buffer and fails there.
#[test]
fn c_then_1_writes_one_osc_52_holding_exactly_the_selected_containers_id() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("mouse-copy-{}", std::process::id());
    let (_container, id) = LabContainer::run(&name);
    assert_eq!(id.len(), 64, "a full id: {id}");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[[endpoint]]\nname = \"lab1\"\nurl = \"{LAB1}\"\n"),
    )
    .unwrap();
    let cmd = format!(
        "env XDG_STATE_HOME={state} {bin} --config {cfg} --view containers; sleep 30",
        state = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_fleetdeck"),
        cfg = config.display(),
    );
    let t = Tmux::start(&cmd);
    t.run(&["set", "-s", "set-clipboard", "on"]);
    t.wait_for("the containers view", |s| s.contains("Containers ·"));
    t.keys("/");
    t.keys(&format!("name:{name}"));
    t.keys("Enter");
    t.wait_for("the one container", |s| {
        s.contains("· 1 of") && s.contains(&name)
    });
    let stream = dir.path().join("pane-output");
    t.run(&[
        "pipe-pane",
        "-o",
        "-t",
        &t.session,
        &format!("cat > {}", stream.display()),
    ]);
    assert!(t.run(&["list-buffers"]).trim().is_empty(), "no buffer yet");

    t.keys("c");
    t.wait_for("the copy menu", |s| {
        s.contains(&format!("copy from lab1/{name}"))
    });
    t.keys("1");
    t.wait_for("the status line", |s| {
        s.contains(&format!("copied the id of lab1/{name}"))
    });

    // The stream: the status line was drawn after the sequence was written, so it is there
    // once cat has passed it on; wait for the bytes, not for time.
    let deadline = Instant::now() + Duration::from_secs(10);
    let bytes = loop {
        let bytes = std::fs::read(&stream).unwrap_or_default();
        if contains(&bytes, b"copied the id") || Instant::now() > deadline {
            break bytes;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let starts: Vec<usize> = find_all(&bytes, b"\x1b]52;");
    assert_eq!(
        starts.len(),
        1,
        "exactly one OSC 52 in {} bytes",
        bytes.len()
    );
    let body = &bytes[starts[0] + b"\x1b]52;".len()..];
    let end = body
        .iter()
        .position(|b| *b == 0x07)
        .expect("the sequence ends with BEL");
    let payload = std::str::from_utf8(&body[..end]).unwrap();
    let b64 = payload.strip_prefix("c;").expect("the clipboard selection");
    assert_eq!(decode_base64(b64), id.as_bytes(), "the payload is the id");

    // tmux's side: one buffer, the id.
    let buffers = t.run(&["list-buffers", "-F", "#{buffer_name}"]);
    assert_eq!(buffers.lines().count(), 1, "one buffer: {buffers}");
    assert_eq!(t.run(&["show-buffer"]), id);

    t.keys("q");
    t.wait_for("the dashboard gone", |s| !s.contains("Containers ·"));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !find_all(haystack, needle).is_empty()
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Standard base64, decoded here so the check does not use the encoder under test.
fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base64: {text:?}"));
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
