//! A unix socket whose listener is busy: a proxy with a listen backlog of 1 that accepts
//! slowly, in front of lab1's socket. A burst of connects overflows the backlog, and Linux
//! answers a non-blocking connect on a full backlog with EAGAIN at once: a client that takes
//! that for fatal calls a busy but healthy daemon down.

use fleetdeck::engine;
use fleetdeck::model::EndpointSpec;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::lab_config;

const LAB1_SOCKET: &str = "/run/fleetdeck-lab/lab1/docker.sock";

/// Relays every connection to `target`, accepting one every `accept_every` from a listen
/// backlog of 1. Stops accepting when dropped.
struct SlowProxy {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl SlowProxy {
    fn start(path: &std::path::Path, target: &'static str, accept_every: Duration) -> Self {
        let listener = UnixListener::bind(path).unwrap();
        // std listens with a long backlog; listening again sets it.
        // SAFETY: a plain syscall on a socket this function owns.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 1) }, 0);
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, n) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                // A slow accepter: the backlog fills between two accepts.
                std::thread::sleep(accept_every);
                let Ok((inbound, _)) = listener.accept() else {
                    continue;
                };
                n.fetch_add(1, Ordering::SeqCst);
                inbound.set_nonblocking(false).unwrap();
                let outbound = UnixStream::connect(target).unwrap();
                relay(inbound, outbound);
            }
        });
        Self { stop, accepted }
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes.
fn relay(a: UnixStream, b: UnixStream) {
    let pipe = |mut from: UnixStream, mut to: UnixStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    };
    pipe(a.try_clone().unwrap(), b.try_clone().unwrap());
    pipe(b, a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_unix_socket_is_retried_not_reported_down() {
    let mut config = lab_config(&["lab1"]);
    config.engine.request_timeout = Duration::from_secs(10);
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("busy.sock");
    let proxy = SlowProxy::start(&socket, LAB1_SOCKET, Duration::from_millis(10));
    let spec =
        EndpointSpec::from_url(Some("busy"), &format!("unix://{}", socket.display())).unwrap();

    // 50 one-shot looks at the daemon at once: 50 connects on an empty pool.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (spec, settings) = (spec.clone(), config.engine.clone());
        set.spawn(async move { engine::probe(&spec, &settings).await.map(|_| ()) });
    }
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined.unwrap() {
            failures.push(e.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 50 requests failed ({} connections accepted); first: {:?}",
        failures.len(),
        proxy.accepted.load(Ordering::SeqCst),
        failures.first()
    );
}
