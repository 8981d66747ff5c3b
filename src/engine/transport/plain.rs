//! One-shot GETs (stats polls) on plain sockets, unix or TCP without TLS, with a small
//! keep-alive pool per endpoint.
//!
//! Through the endpoint's hyper pool a poll costs a hyper connection: a dispatch task and
//! channel, an 8 KB read buffer and a write buffer, about 26 KB, kept idle for the pool's
//! 30 s. A one-shot stats request waits up to a second for the daemon's collector tick, so a
//! round sends all its polls at once, and at start-up every container is polled: 40 daemons
//! of 25 containers left a thousand such connections (26 MB) idle after the first rounds.
//! Here a poll in flight holds its socket, the request (a hundred bytes, written at once) and,
//! only once the answer starts to arrive, the bytes of that answer (about 2 KB); an idle
//! socket holds nothing but itself. The answer is read by [`super::http1`], the reader the
//! stats streams use too.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

use super::http1::{Answer, AnswerReader, ReadError};

/// Idle sockets kept after a round, at least.
const MIN_IDLE: usize = 8;

/// Rounds whose size the pool remembers: after a round it keeps as many idle sockets as the
/// largest of the last this many needed (at least [`MIN_IDLE`]). Off screen, a container is
/// polled one round in `offscreen_interval_s / interval` (5 at the default 2 s and 10 s, 10
/// at 1 s), each in its own slice, so the rounds' sizes cycle: an endpoint of 55 containers
/// off screen polls about 11 a round, more or fewer as the slices fall. Keeping only the last
/// round's size (tried first) closed sockets that the next, larger slice opened again: on 40
/// endpoints over the small lab, 117 new connections in 20 s of steady state. Remembering a whole cycle (10 rounds)
/// opens none, and a start-up burst (every container, twice) is closed 10 rounds later
/// rather than after the 30 s idle time.
const RECENT_ROUNDS: usize = 10;

/// Idle sockets kept at most: the collector's own cap on requests in flight per endpoint,
/// which a round never exceeds.
const MAX_IDLE: usize = 64;

/// What a read asks for at once: a one-shot answer (2 to 5 KB) in one or two reads.
const READ_CHUNK: usize = 4 * 1024;

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Unix(Arc<PathBuf>),
    Tcp { host: String, port: u16 },
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.write_all(bytes).await,
            Conn::Tcp(s) => s.write_all(bytes).await,
        }
    }

    async fn readable(&self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.readable().await,
            Conn::Tcp(s) => s.readable().await,
        }
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.try_read(buf),
            Conn::Tcp(s) => s.try_read(buf),
        }
    }

    /// Whether an idle socket is still good: nothing to read and not closed. A daemon that
    /// closed it (or restarted) shows as end of file or an error.
    fn still_open(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

#[derive(Default)]
struct State {
    /// Most recently returned last.
    idle: Vec<Idle>,
    /// Requests in flight, and the most at once since the last time there were none: a
    /// round's size, since the collector sends a round's polls together and waits for them.
    in_flight: usize,
    peak: usize,
    /// The peaks of the last [`RECENT_ROUNDS`] rounds, the newest at `round % RECENT_ROUNDS`.
    recent: [usize; RECENT_ROUNDS],
    round: usize,
    /// A task closes sockets left idle too long, while there are any.
    reaping: bool,
}

/// The plain-socket pool of one endpoint.
pub(crate) struct PlainPool {
    target: Target,
    idle_for: Duration,
    state: Mutex<State>,
}

impl PlainPool {
    pub(crate) fn new(target: Target, idle_for: Duration) -> Arc<Self> {
        Arc::new(Self {
            target,
            idle_for,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sockets idle now (for tests and the benchmark's notes).
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.state().idle.len()
    }

    /// `GET path` (with its query): the status and the whole body. A pooled socket is used
    /// when there is a good one; one the daemon closed while idle fails before any byte of
    /// an answer and the request goes out again on the next, or a new one, as hyper does with
    /// its idle connections (a GET is safe to repeat). A body over `max_body` bytes is an
    /// error ([`super::http1::MAX_LINE`] for a stats answer).
    pub(crate) async fn get(
        self: &Arc<Self>,
        path: &str,
        max_body: usize,
    ) -> io::Result<(u16, Vec<u8>)> {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: fleetdeck\r\n\r\n");
        let _flight = Flight::start(self);
        while let Some(mut conn) = self.checkout() {
            match exchange(&mut conn, request.as_bytes(), max_body).await {
                Ok(answer) => return Ok(self.checkin(conn, answer)),
                Err(ReadError::ClosedBeforeAnswer) => {}
                Err(ReadError::Bad(e)) => return Err(e),
            }
        }
        let mut conn = self.connect().await?;
        match exchange(&mut conn, request.as_bytes(), max_body).await {
            Ok(answer) => Ok(self.checkin(conn, answer)),
            Err(ReadError::ClosedBeforeAnswer) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before message completed",
            )),
            Err(ReadError::Bad(e)) => Err(e),
        }
    }

    /// The most recently used idle socket that is still open; older ones past their idle
    /// time are closed on the way.
    fn checkout(&self) -> Option<Conn> {
        let mut state = self.state();
        let now = Instant::now();
        let idle_for = self.idle_for;
        state
            .idle
            .retain(|i| now.duration_since(i.since) < idle_for);
        while let Some(i) = state.idle.pop() {
            if i.conn.still_open() {
                return Some(i.conn);
            }
        }
        None
    }

    fn checkin(self: &Arc<Self>, conn: Conn, answer: Answer) -> (u16, Vec<u8>) {
        if answer.reusable {
            let mut state = self.state();
            if state.idle.len() < MAX_IDLE {
                state.idle.push(Idle {
                    conn,
                    since: Instant::now(),
                });
                if !state.reaping {
                    state.reaping = true;
                    tokio::spawn(reap(Arc::downgrade(self)));
                }
            }
        }
        (answer.status, answer.body)
    }

    async fn connect(&self) -> io::Result<Conn> {
        match &self.target {
            Target::Unix(path) => super::connect_unix(path)
                .await
                .map(Conn::Unix)
                .map_err(|e| connect_error(super::socket_error(path, e).to_string())),
            Target::Tcp { host, port } => {
                let s = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| connect_error(format!("tcp connect error: {e}")))?;
                s.set_nodelay(true)?;
                Ok(Conn::Tcp(s))
            }
        }
    }
}

/// The words hyper's pool used for a failed connect, so an operator reads the same error
/// whichever path a poll took.
fn connect_error(cause: String) -> io::Error {
    io::Error::other(format!("client error (Connect): {cause}"))
}

/// Counts a request in flight for as long as it lives (a request cut short by its deadline
/// too), and at the end of a round trims the idle sockets to what the round used.
struct Flight<'a>(&'a PlainPool);

impl<'a> Flight<'a> {
    fn start(pool: &'a PlainPool) -> Self {
        let mut state = pool.state();
        state.in_flight += 1;
        state.peak = state.peak.max(state.in_flight);
        Self(pool)
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            // A round is over: keep what the recent rounds needed, at least MIN_IDLE; close
            // the rest, the most long idle first.
            let slot = state.round % RECENT_ROUNDS;
            state.recent[slot] = state.peak;
            state.round = state.round.wrapping_add(1);
            let keep = state
                .recent
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(MIN_IDLE);
            let surplus = state.idle.len().saturating_sub(keep);
            state.idle.drain(..surplus);
            state.peak = 0;
        }
    }
}

/// Closes sockets idle for the pool's idle time, then ends when none is left (or the pool is
/// gone).
async fn reap(pool: Weak<PlainPool>) {
    loop {
        let next = {
            let Some(pool) = pool.upgrade() else { return };
            let mut state = pool.state();
            let now = Instant::now();
            let idle_for = pool.idle_for;
            state
                .idle
                .retain(|i| now.duration_since(i.since) < idle_for);
            match state.idle.iter().map(|i| i.since).min() {
                Some(oldest) => oldest + idle_for,
                None => {
                    state.reaping = false;
                    return;
                }
            }
        };
        tokio::time::sleep_until(next).await;
    }
}

/// Writes the request and reads one whole answer. The buffer for the answer is taken only
/// once the socket is readable: a poll waiting for the daemon's tick holds none.
async fn exchange(conn: &mut Conn, request: &[u8], max_body: usize) -> Result<Answer, ReadError> {
    let mut reader = AnswerReader::new(max_body);
    if let Err(e) = conn.write_all(request).await {
        // A reused socket the daemon closed can fail the write (EPIPE, a reset).
        return Err(match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                ReadError::ClosedBeforeAnswer
            }
            _ => ReadError::Bad(e),
        });
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        conn.readable().await.map_err(ReadError::Bad)?;
        if buf.is_empty() {
            buf.resize(READ_CHUNK, 0);
        }
        match conn.try_read(&mut buf) {
            Ok(0) => return reader.closed(),
            Ok(n) => {
                if reader.feed(&buf[..n])? {
                    return reader
                        .finish()
                        .ok_or_else(|| ReadError::Bad(io::Error::other("answer incomplete")));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !reader.heard => {
                return Err(ReadError::ClosedBeforeAnswer);
            }
            Err(e) => return Err(ReadError::Bad(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::http1::MAX_LINE;
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// A tiny keep-alive HTTP server on a unix socket: answers every request with `answer`,
    /// counts the connections it accepted, and closes a connection after `close_after`
    /// answers on it.
    async fn server(
        dir: &std::path::Path,
        answer: &'static [u8],
        close_after: usize,
    ) -> (PathBuf, Arc<std::sync::atomic::AtomicUsize>) {
        let path = dir.join("d.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    for _ in 0..close_after {
                        // Read one request head.
                        loop {
                            let mut line = String::new();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        if w.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (path, accepted)
    }

    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n1\r\n\n\r\n0\r\n\r\n";

    fn pool(path: &std::path::Path) -> Arc<PlainPool> {
        PlainPool::new(
            Target::Unix(Arc::new(path.to_path_buf())),
            Duration::from_secs(30),
        )
    }

    #[tokio::test]
    async fn rounds_reuse_their_sockets_and_a_burst_leaves_only_a_few_idle() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, accepted) = server(dir.path(), CHUNKED, usize::MAX).await;
        let pool = pool(&path);
        let round = |n: usize| {
            let pool = pool.clone();
            async move {
                let gets = (0..n).map(|_| {
                    let pool = pool.clone();
                    async move { pool.get("/v1.41/containers/x/stats", MAX_LINE).await }
                });
                for got in futures::future::join_all(gets).await {
                    let (status, body) = got.expect("answer");
                    assert_eq!((status, body.as_slice()), (200, &b"{\"a\":1}\n"[..]));
                }
            }
        };
        let opened = || accepted.load(std::sync::atomic::Ordering::SeqCst);
        // A start-up burst: 20 at once, 20 sockets.
        round(20).await;
        assert_eq!(opened(), 20);
        assert_eq!(pool.idle_count(), 20);
        // Smaller rounds reuse them; the burst's surplus stays for RECENT_ROUNDS rounds (a
        // larger slice of the off-screen cycle may come back), then is closed.
        for _ in 1..RECENT_ROUNDS {
            round(3).await;
            assert_eq!(pool.idle_count(), 20);
        }
        round(3).await;
        assert_eq!(opened(), 20);
        assert_eq!(pool.idle_count(), MIN_IDLE);
        // Rounds that vary within what was kept open nothing.
        for n in [MIN_IDLE, 2, 5, MIN_IDLE] {
            round(n).await;
        }
        assert_eq!(opened(), 20, "steady rounds open nothing");
        // A larger round opens what it lacks, and is remembered.
        round(12).await;
        assert_eq!(opened(), 24);
        round(1).await;
        assert_eq!(pool.idle_count(), 12);
    }

    #[tokio::test]
    async fn a_socket_the_daemon_closed_is_not_reused_and_the_request_still_answers() {
        let dir = tempfile::tempdir().expect("dir");
        // One answer per connection, without saying so: the next request on it meets EOF.
        let (path, accepted) = server(dir.path(), CHUNKED, 1).await;
        let pool = pool(&path);
        for _ in 0..3 {
            let (status, _) = pool.get("/x", MAX_LINE).await.expect("answer");
            assert_eq!(status, 200);
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn connection_close_and_error_statuses() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, accepted) = server(
            dir.path(),
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 38\r\n\r\n{\"message\":\"No such container: nope\"}\n",
            usize::MAX,
        )
        .await;
        let pool = pool(&path);
        for _ in 0..2 {
            let (status, body) = pool.get("/x", MAX_LINE).await.expect("answer");
            assert_eq!(status, 404);
            assert!(body.starts_with(b"{\"message\":\"No such container: nope\"}"));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn a_truncated_answer_and_a_missing_socket_are_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, _) = server(
            dir.path(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\"",
            1,
        )
        .await;
        let err = pool(&path)
            .get("/x", MAX_LINE)
            .await
            .expect_err("cut short");
        assert!(err.to_string().contains("closed in the middle"), "{err}");
        let err = pool(&dir.path().join("none.sock"))
            .get("/x", MAX_LINE)
            .await
            .expect_err("no socket");
        assert!(
            err.to_string()
                .starts_with("client error (Connect): socket "),
            "{err}"
        );
    }
}
