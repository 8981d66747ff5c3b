//! The engine's side of the shell pane: one task per open shell that moves bytes. Output
//! becomes `MsgKind::ShellOutput` (raw bytes; only the model's emulator reads them), input
//! and size changes arrive as [`ShellInput`]. It knows nothing of terminals or ratatui.
//!
//! An exec shell is opened by the gate (`Action::Exec`: refused on read-only endpoints,
//! audited) and every resize passes the gate too (`Action::ExecResize`). A host shell is a
//! local pseudo-terminal (`portable-pty`) the gate opens after the same checks.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::gate::Gate;
use super::pty::HostPty;
use super::{deadline, send};
use crate::model::actions::{Action, ActionRequest};
use crate::model::shell::{ShellId, ShellState};
use crate::model::{DockerUrl, EndpointSpec};
use crate::model::{EndpointId, MsgKind};

/// Keystrokes and pastes queued for one shell before the UI is told it is not keeping up.
pub const INPUT_QUEUE: usize = 256;
/// How long an ended exec is asked for its exit code before the pane just says "exited".
const EXIT_CODE_WAIT: Duration = Duration::from_secs(3);

/// What the app sends a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellInput {
    /// Bytes for the shell's stdin, already encoded (keys, pastes, answers to its queries).
    Bytes(Vec<u8>),
    /// The pane's new size.
    Resize { rows: u16, cols: u16 },
}

/// The command a host shell runs for an endpoint: its `host_shell` when configured; else the
/// operator's `$SHELL` (or `/bin/sh`) for a local unix:// daemon, `ssh -t [-p PORT]
/// [USER@]HOST` for an ssh:// one. A tcp:// endpoint has no obvious host login: it needs
/// `host_shell`.
pub fn host_argv(spec: &EndpointSpec, shell_env: Option<String>) -> Result<Vec<String>, String> {
    if let Some(argv) = &spec.host_shell {
        return Ok(argv.clone());
    }
    match &spec.url {
        DockerUrl::Unix(_) => Ok(vec![
            shell_env
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
        ]),
        DockerUrl::Ssh { user, host, port } => {
            let mut argv = vec!["ssh".to_string(), "-t".to_string()];
            // The same ssh config the endpoint's Docker connection uses.
            if let Some(cfg) = &spec.ssh_config {
                argv.extend(["-F".to_string(), cfg.display().to_string()]);
            }
            if let Some(p) = port {
                argv.extend(["-p".to_string(), p.to_string()]);
            }
            argv.push(match user {
                Some(u) => format!("{u}@{host}"),
                None => host.clone(),
            });
            Ok(argv)
        }
        DockerUrl::Tcp { .. } => Err(format!(
            "no host shell for {} ({}): set host_shell = [\"ssh\", \"user@host\"] on the endpoint",
            spec.name, spec.url_text
        )),
    }
}

/// The exec command for a list of shells: the only one as is, or a `sh` probe that execs
/// the first present (names are validated by the config to be plain words or paths).
pub fn exec_command(shells: &[String]) -> Vec<String> {
    match shells {
        [] => vec!["sh".into()],
        [only] => vec![only.clone()],
        [first @ .., last] => {
            let tries: Vec<String> = first
                .iter()
                .map(|s| format!("command -v {s} >/dev/null 2>&1 && exec {s};"))
                .collect();
            vec![
                "sh".into(),
                "-c".into(),
                format!("{} exec {last}", tries.join(" ")),
            ]
        }
    }
}

/// Runs one exec shell until it ends, its link fails, or the app drops its input sender.
pub async fn run_exec(
    gate: Arc<Gate>,
    shell: ShellId,
    req: ActionRequest,
    mut input: mpsc::Receiver<ShellInput>,
    tx: mpsc::Sender<crate::model::Msg>,
) {
    let endpoint = req.endpoint;
    let (outcome, io) = gate.open_exec(req.clone()).await;
    let Some(mut io) = io else {
        let state = ShellState::Failed(outcome.result.text());
        let _ = send(&tx, endpoint, MsgKind::ShellEnded { shell, state }).await;
        return;
    };
    if send(&tx, endpoint, MsgKind::ShellStarted { shell })
        .await
        .is_err()
    {
        return;
    }
    let ended = loop {
        tokio::select! {
            chunk = io.output.next() => match chunk {
                Some(Ok(out)) => {
                    let bytes = out.into_bytes().to_vec();
                    if send(&tx, endpoint, MsgKind::ShellOutput { shell, bytes }).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => break ShellState::Lost(super::describe(&e)),
                None => break exit_state(&gate, endpoint, &io.exec_id).await,
            },
            cmd = input.recv() => match cmd {
                Some(ShellInput::Bytes(bytes)) => {
                    let written = async {
                        io.input.write_all(&bytes).await?;
                        io.input.flush().await
                    };
                    if let Err(e) = written.await {
                        break ShellState::Lost(format!("cannot write to the shell: {e}"));
                    }
                }
                Some(ShellInput::Resize { rows, cols }) => {
                    let resize = ActionRequest {
                        action: Action::ExecResize { exec_id: io.exec_id.clone(), rows, cols },
                        ..req.clone()
                    };
                    let outcome = gate.apply(resize).await;
                    if !outcome.result.is_ok() {
                        tracing::warn!(shell, result = %outcome.result.text(), "exec resize");
                    }
                }
                // The pane was closed. Docker has no way to end an exec, and closing the
                // attach leaves its shell running (moby#9098), so the pane hangs up the way
                // a person would: Ctrl-C clears the line, Ctrl-D at an empty prompt exits.
                // A program holding the terminal (vi, top) is left to the container.
                None => {
                    let hang_up = async {
                        io.input.write_all(b"\x03\x04").await?;
                        io.input.flush().await?;
                        io.input.shutdown().await
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(2), hang_up).await;
                    return;
                }
            },
        }
    };
    let _ = send(
        &tx,
        endpoint,
        MsgKind::ShellEnded {
            shell,
            state: ended,
        },
    )
    .await;
}

/// The exit code of an exec whose output ended: asked until the daemon no longer reports it
/// running (it can lag the stream by a moment), within [`EXIT_CODE_WAIT`].
async fn exit_state(gate: &Gate, endpoint: EndpointId, exec_id: &str) -> ShellState {
    let Ok(docker) = gate.reader(endpoint).await else {
        return ShellState::Lost("the connection to the daemon closed".into());
    };
    let started = tokio::time::Instant::now();
    loop {
        match deadline(EXIT_CODE_WAIT, docker.inspect_exec(exec_id)).await {
            Ok(i) if i.running != Some(true) => return ShellState::Exited(i.exit_code),
            Ok(_) if started.elapsed() < EXIT_CODE_WAIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(_) => return ShellState::Exited(None),
            Err(e) => return ShellState::Lost(format!("the connection closed ({e})")),
        }
    }
}

/// Runs one host shell until it exits or the app drops its input sender (which kills it).
pub async fn run_host(
    gate: Arc<Gate>,
    shell: ShellId,
    endpoint: EndpointId,
    argv: Vec<String>,
    size: (u16, u16),
    mut input: mpsc::Receiver<ShellInput>,
    tx: mpsc::Sender<crate::model::Msg>,
) {
    let pty = match gate.open_host_shell(endpoint, argv, size.0, size.1).await {
        Ok(p) => p,
        Err(reason) => {
            let state = ShellState::Failed(reason);
            let _ = send(&tx, endpoint, MsgKind::ShellEnded { shell, state }).await;
            return;
        }
    };
    let HostPty {
        master,
        mut child,
        mut reader,
        mut writer,
    } = pty;
    if send(&tx, endpoint, MsgKind::ShellStarted { shell })
        .await
        .is_err()
    {
        let _ = child.kill();
        return;
    }
    // The pty's reads and writes block: each gets a thread, bridged by bounded channels.
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(64);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                // EOF, or EIO once the child has gone: either way, the end.
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if out_tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let (in_tx, in_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for bytes in in_rx {
            if writer
                .write_all(&bytes)
                .and_then(|()| writer.flush())
                .is_err()
            {
                return;
            }
        }
    });
    loop {
        tokio::select! {
            chunk = out_rx.recv() => match chunk {
                Some(bytes) => {
                    if send(&tx, endpoint, MsgKind::ShellOutput { shell, bytes }).await.is_err() {
                        let _ = child.kill();
                        return;
                    }
                }
                None => break,
            },
            cmd = input.recv() => match cmd {
                Some(ShellInput::Bytes(bytes)) => {
                    let _ = in_tx.send(bytes);
                }
                Some(ShellInput::Resize { rows, cols }) => {
                    let size = portable_pty::PtySize { rows, cols, pixel_width: 0, pixel_height: 0 };
                    if let Err(e) = master.resize(size) {
                        tracing::warn!(shell, error = %e, "pty resize");
                    }
                }
                None => {
                    let _ = child.kill();
                    return;
                }
            },
        }
    }
    let status = tokio::task::spawn_blocking(move || child.wait()).await;
    let state = match status {
        Ok(Ok(s)) => ShellState::Exited(Some(i64::from(s.exit_code()))),
        _ => ShellState::Exited(None),
    };
    let _ = send(&tx, endpoint, MsgKind::ShellEnded { shell, state }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_shells_follow_the_endpoint_kind() {
        let unix = EndpointSpec::from_url(Some("l"), "unix:///run/docker.sock").unwrap();
        assert_eq!(
            host_argv(&unix, Some("/bin/zsh".into())).unwrap(),
            ["/bin/zsh"]
        );
        assert_eq!(host_argv(&unix, None).unwrap(), ["/bin/sh"]);
        let ssh = EndpointSpec::from_url(Some("s"), "ssh://ops@10.0.0.5:2222").unwrap();
        assert_eq!(
            host_argv(&ssh, None).unwrap(),
            ["ssh", "-t", "-p", "2222", "ops@10.0.0.5"]
        );
        let mut tcp = EndpointSpec::from_url(Some("t"), "tcp://10.0.0.6:2375").unwrap();
        assert!(
            host_argv(&tcp, None)
                .unwrap_err()
                .contains("set host_shell")
        );
        tcp.host_shell = Some(vec!["ssh".into(), "-J".into(), "bastion".into()]);
        assert_eq!(host_argv(&tcp, None).unwrap(), ["ssh", "-J", "bastion"]);
    }

    #[test]
    fn the_exec_command_prefers_the_first_shell_present() {
        assert_eq!(exec_command(&["sh".into()]), ["sh"]);
        assert_eq!(
            exec_command(&["bash".into(), "sh".into()]),
            [
                "sh",
                "-c",
                "command -v bash >/dev/null 2>&1 && exec bash; exec sh"
            ]
        );
    }
}
