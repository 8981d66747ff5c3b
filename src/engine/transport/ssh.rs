//! `ssh://` endpoints over the system `ssh`, the way the Docker CLI does it (`docker system
//! dial-stdio` on the remote side), but with ONE SSH connection per endpoint.
//!
//! bollard's own SSH transport starts a new `ssh` (a new TCP connection, key exchange and login)
//! for every HTTP connection, and sshd allows only `MaxSessions` (10) sessions per connection, so
//! a dashboard with a log tail per container runs out. Here a ControlMaster is started once per
//! endpoint (`ssh -M -N`); every HTTP connection hyper opens is a channel on it
//! (`ssh -S <control socket> … docker system dial-stdio`), and hyper's pool keeps those channels
//! for reuse. Channels are capped at [`MAX_CHANNELS`], below sshd's default `MaxSessions`.
//!
//! Using the system `ssh` means `~/.ssh/config`, the agent, known_hosts, ProxyJump and the like
//! behave exactly as they do for the operator's own `ssh`. Keepalives (`ServerAliveInterval`)
//! end a master whose peer vanished, which ends its channels, so no stream waits forever.

use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// HTTP connections (SSH channels) open at once per endpoint. sshd's default `MaxSessions` is
/// 10 per connection; one stays free.
pub const MAX_CHANNELS: usize = 9;
/// How the channels are shared out. Log streams one tail may hold: each holds a channel for as
/// long as it is open. Stats requests in flight: each waits about a second for the daemon's
/// sampler. The event stream holds one more, and the rest are left to pings, inspects and
/// actions, so a busy tail never makes a healthy endpoint look dead.
pub const MAX_TAIL_STREAMS: usize = 3;
pub const MAX_STATS_IN_FLIGHT: usize = 3;
// The event stream, full tails and stats still leave two channels for pings and inspects.
const _: () = assert!(1 + MAX_TAIL_STREAMS + MAX_STATS_IN_FLIGHT + 2 <= MAX_CHANNELS);
/// Keepalive probes: a master whose peer stops answering exits after about
/// `ALIVE_INTERVAL * ALIVE_COUNT`, ending every channel on it.
const ALIVE_INTERVAL_S: u64 = 5;
const ALIVE_COUNT: u32 = 3;
/// The tail of ssh's stderr kept for error messages.
const STDERR_KEEP: usize = 4096;

/// Where to reach the remote Docker CLI.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// `ssh -F`: a config file used instead of `~/.ssh/config`.
    pub config: Option<PathBuf>,
    /// How long the first connection may take (`ConnectTimeout`, and the wait for the master).
    pub connect_timeout: Duration,
}

impl SshTarget {
    /// `user@host:port` as far as the URL says; ssh may fill in the rest from its config.
    fn label(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s
    }

    /// Options shared by the master and its channels, before the host.
    fn args(&self, ctl: &std::path::Path) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(cfg) = &self.config {
            a.push("-F".into());
            a.push(cfg.into());
        }
        if let Some(u) = &self.user {
            a.push("-l".into());
            a.push(u.into());
        }
        if let Some(p) = self.port {
            a.push("-p".into());
            a.push(p.to_string().into());
        }
        for o in [
            // Never prompt: there is no terminal to prompt on.
            "BatchMode=yes".to_string(),
            format!("ServerAliveInterval={ALIVE_INTERVAL_S}"),
            format!("ServerAliveCountMax={ALIVE_COUNT}"),
            format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
        ] {
            a.push("-o".into());
            a.push(o.into());
        }
        a.push("-S".into());
        a.push(ctl.into());
        a
    }
}

/// The one SSH connection of an endpoint, started on first use and again after it dies.
struct Master {
    target: SshTarget,
    ctl: PathBuf,
    child: tokio::sync::Mutex<Option<Child>>,
    stderr: Arc<Mutex<String>>,
    channels: Arc<Semaphore>,
}

impl Master {
    async fn ensure(&self) -> io::Result<()> {
        let mut guard = self.child.lock().await;
        if let Some(child) = guard.as_mut()
            && child.try_wait()?.is_none()
            && self.ctl.exists()
        {
            return Ok(());
        }
        if let Some(mut old) = guard.take() {
            let _ = old.start_kill();
        }
        let _ = std::fs::remove_file(&self.ctl);
        if let Ok(mut s) = self.stderr.lock() {
            s.clear();
        }
        let mut cmd = Command::new("ssh");
        cmd.args(self.target.args(&self.ctl))
            .args(["-M", "-N", "-o", "ControlPersist=no"])
            .arg("--")
            .arg(&self.target.host)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| spawn_error(&self.target, e))?;
        let reader = child.stderr.take().map(|err| {
            let keep = self.stderr.clone();
            tokio::spawn(async move {
                let mut err = err;
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = keep.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                        if s.len() > STDERR_KEEP {
                            let cut = s.len() - STDERR_KEEP;
                            let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                            s.drain(..cut);
                        }
                    }
                }
            })
        });
        // The control socket appears once the master has logged in; ssh exiting first means it
        // could not. Polled: ssh offers no other signal of "logged in".
        let limit =
            tokio::time::Instant::now() + self.target.connect_timeout + Duration::from_secs(2);
        loop {
            if self.ctl.exists() {
                *guard = Some(child);
                return Ok(());
            }
            if let Some(status) = child.try_wait()? {
                if let Some(r) = reader {
                    let _ = tokio::time::timeout(Duration::from_secs(1), r).await;
                }
                let text = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
                let why = classify(&text, &self.target.label()).unwrap_or_else(|| {
                    format!(
                        "ssh to {} exited ({status}) before logging in",
                        self.target.label()
                    )
                });
                return Err(io::Error::other(why));
            }
            if tokio::time::Instant::now() >= limit {
                let _ = child.start_kill();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "ssh to {}: no answer for {} s",
                        self.target.label(),
                        self.target.connect_timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ctl);
    }
}

fn spawn_error(target: &SshTarget, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach {}: no `ssh` client on this machine (install openssh-client)",
                target.label()
            ),
        )
    } else {
        io::Error::new(e.kind(), format!("ssh to {}: {e}", target.label()))
    }
}

/// On Linux, the ssh processes die with the thread that started them, so a killed fleetdeck
/// leaves no master behind holding a connection open.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Turns ssh's (and the remote docker CLI's) stderr into a reason an operator can act on.
pub fn classify(stderr: &str, label: &str) -> Option<String> {
    let has = |s: &str| stderr.contains(s);
    let last_line = || {
        stderr
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(crate::model::text::sanitize)
            .unwrap_or_default()
    };
    let why = if has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || has("Host key for") && has("has changed")
    {
        format!(
            "host key mismatch: {label} presented a different host key than known_hosts holds \
             (the host was rebuilt, or someone is in the middle; fix known_hosts if expected)"
        )
    } else if has("Host key verification failed") || has("host key is known for") {
        format!(
            "host key of {label} is unknown: not in known_hosts (connect once with `ssh` to \
             check and accept it)"
        )
    } else if has("Permission denied (") || has("Too many authentication failures") {
        format!(
            "authentication failed for {label}: the server refused every key offered \
             (check the user, ssh-agent and IdentityFile)"
        )
    } else if has("permission denied while trying to connect to the Docker daemon socket") {
        format!(
            "permission denied on the Docker socket on {label}: the SSH user needs access to it \
             (the docker group)"
        )
    } else if has("docker: command not found")
        || has("docker: not found")
        || (has("exec: \"docker\"") && has("not found"))
    {
        format!("docker is not installed on {label} (or not on the SSH user's PATH)")
    } else if has("Cannot connect to the Docker daemon") {
        format!("no Docker daemon on {label}: {}", last_line())
    } else if has("Connection refused") {
        format!("ssh to {label}: connection refused (is sshd listening on that port?)")
    } else if has("Connection timed out") || has("Operation timed out") {
        format!("ssh to {label}: no answer (connection timed out)")
    } else if has("Could not resolve hostname") {
        format!("ssh to {label}: cannot resolve the host name")
    } else if has("kex_exchange_identification") || has("Control socket connect") {
        format!("ssh to {label}: the shared SSH connection is gone")
    } else {
        return None;
    };
    Some(why)
}

/// A hyper connector for one endpoint: each connection is a channel on the endpoint's master.
#[derive(Clone)]
pub struct SshConnector {
    master: Arc<Master>,
}

impl SshConnector {
    pub fn new(target: SshTarget) -> io::Result<Self> {
        let ctl = control_path(&target)?;
        Ok(Self {
            master: Arc::new(Master {
                target,
                ctl,
                child: tokio::sync::Mutex::new(None),
                stderr: Arc::new(Mutex::new(String::new())),
                channels: Arc::new(Semaphore::new(MAX_CHANNELS)),
            }),
        })
    }
}

/// The control socket: in a private directory per user (unix socket paths are limited to 108
/// bytes, so the name is short: the process and a hash of the target). ssh removes the socket
/// when its master exits, so nothing piles up.
fn control_path(target: &SshTarget) -> io::Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("fleetdeck-ssh-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // Someone else's directory, or one others can write to, must not hold our sockets.
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a private directory of this user; remove it",
                dir.display()
            ),
        ));
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &target.user,
        &target.host,
        target.port,
        &target.config,
        std::time::SystemTime::now(),
    )
        .hash(&mut h);
    Ok(dir.join(format!(
        "{}-{:012x}",
        std::process::id(),
        h.finish() & 0xffff_ffff_ffff
    )))
}

impl tower_service::Service<Uri> for SshConnector {
    type Response = TokioIo<SshChannel>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let master = self.master.clone();
        Box::pin(async move {
            let permit = master
                .channels
                .clone()
                .acquire_owned()
                .await
                .map_err(io::Error::other)?;
            master.ensure().await?;
            let mut cmd = Command::new("ssh");
            cmd.args(master.target.args(&master.ctl))
                // Only ever a channel on the master: if its socket is gone, fail (the
                // ProxyCommand) rather than silently open a second SSH connection.
                .args(["-o", "ControlMaster=no", "-o", "ProxyCommand=false", "-T"])
                .arg("--")
                .arg(&master.target.host)
                .args(["docker", "system", "dial-stdio"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            die_with_parent(&mut cmd);
            let mut child = cmd.spawn().map_err(|e| spawn_error(&master.target, e))?;
            let (Some(stdin), Some(stdout), Some(mut err)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                return Err(io::Error::other("ssh started without its pipes"));
            };
            let stderr = tokio::spawn(async move {
                let mut text = String::new();
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 || text.len() > STDERR_KEEP {
                        break;
                    }
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                text
            });
            Ok(TokioIo::new(SshChannel {
                _child: child,
                stdin,
                stdout,
                stderr: Some(stderr),
                label: master.target.label(),
                _permit: permit,
            }))
        })
    }
}

/// One HTTP connection: the stdin and stdout of a `docker system dial-stdio` on the master.
pub struct SshChannel {
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// What ssh or the remote docker said; read when the channel ends, to say why.
    stderr: Option<JoinHandle<String>>,
    label: String,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for SshChannel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stdout).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {}
            other => return other,
        }
        // End of stream: if ssh or docker explained why, hand that on instead of a bare EOF.
        let Some(handle) = self.stderr.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let text = match Pin::new(handle).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(t) => t.unwrap_or_default(),
        };
        self.stderr = None;
        match classify(&text, &self.label) {
            Some(why) => Poll::Ready(Err(io::Error::other(why))),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for SshChannel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

impl Connection for SshChannel {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn ssh_failures_read_as_what_to_fix() {
        let l = "root@10.203.3.2:2222";
        let changed = "@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                       Host key verification failed.\n";
        assert!(
            classify(changed, l)
                .unwrap()
                .starts_with("host key mismatch: root@10.203.3.2:2222")
        );
        let unknown = "No ED25519 host key is known for [10.203.3.2]:2222 and you have requested \
                       strict checking.\r\nHost key verification failed.\r\n";
        assert!(
            classify(unknown, l)
                .unwrap()
                .starts_with("host key of root@10.203.3.2:2222 is unknown")
        );
        let auth = "nobody@10.203.3.2: Permission denied (publickey).\r\n";
        assert!(
            classify(auth, l)
                .unwrap()
                .starts_with("authentication failed for")
        );
        let no_docker = "bash: line 1: docker: command not found\n";
        assert!(
            classify(no_docker, l)
                .unwrap()
                .starts_with("docker is not installed on")
        );
        let sock = "Got permission denied while trying to connect to the Docker daemon socket at \
                    unix:///var/run/docker.sock: dial unix: connect: permission denied\n";
        assert!(
            classify(sock, l)
                .unwrap()
                .starts_with("permission denied on the Docker socket")
        );
        assert_eq!(classify("", l), None);
    }
}
