//! Following a container's logs: last N lines, then follow, across container restarts and
//! daemon disconnects (resuming from the last line's timestamp, with a marker line). Lines are
//! cleaned (no escape sequence survives) and sent in batches so a container printing thousands
//! of lines a second costs the UI a few messages, not thousands.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::{InspectContainerOptions, LogsOptions};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::client::ReadOnly;
use super::retry::{Backoff, wait_to_retry};
use super::{EndpointClient, EngineError, deadline};
use crate::config::EngineSettings;
use crate::model::logs::{LineJoiner, LogLine, LogStream, TimedLine, service_of};
use crate::model::{EndpointId, Msg, MsgKind};

/// Lines per message at most; a burst becomes a few large messages.
const BATCH_LINES: usize = 512;
/// Bytes of text per message at most, whatever the line count: with lines up to [`MAX_LINE`],
/// 512 of them could be half a gigabyte in one message.
const BATCH_BYTES: usize = 1 << 20;
/// How long a partial batch may wait before it is sent anyway.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// A line longer than this is cut, with a marker (a container printing without newlines cannot
/// grow memory). Far above Docker's 16 KB partial messages, which are joined back into lines.
const MAX_LINE: usize = 1 << 20;

/// What to follow: one container, as source `source` of tail `tail`.
#[derive(Debug, Clone)]
pub struct TailRequest {
    pub tail: u64,
    pub source: usize,
    pub endpoint: EndpointId,
    /// The endpoint's client (the fleet's, or one of a headless command's).
    pub client: EndpointClient,
    pub container_id: String,
    /// Lines of history before following.
    pub last_lines: u64,
    pub follow: bool,
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
}

enum Ended {
    /// The receiver is gone: stop.
    Closed,
    /// The stream ended cleanly (container stopped, or not following).
    Eof,
}

/// Follows one container until the receiver goes away (or, without `follow`, until the history
/// has been read). Never returns early on a disconnect: it reconnects with backoff.
pub async fn follow(req: TailRequest, settings: EngineSettings, tx: mpsc::Sender<Msg>) {
    let mut last_at = req.since;
    let mut first = true;
    let mut backoff = Backoff::new(settings.backoff_max);
    loop {
        let docker = match req.client.connect().await {
            Ok(d) => d,
            Err(e) => {
                if marker(
                    &tx,
                    &req,
                    format!(
                        "── cannot reach {}: {e}; retrying ──",
                        req.client.spec().name
                    ),
                )
                .await
                .is_err()
                {
                    return;
                }
                wait_to_retry(&req.client, backoff.next_delay()).await;
                continue;
            }
        };
        if !first
            && marker(&tx, &req, "── reconnected ──".to_string())
                .await
                .is_err()
        {
            return;
        }
        backoff.reset();
        loop {
            let result = read_stream(&docker, &req, first, &mut last_at, &tx).await;
            first = false;
            match result {
                Ok(Ended::Closed) => return,
                Ok(Ended::Eof) if !req.follow => return,
                // A service's stream ends when the service is gone: nothing to wait for.
                Ok(Ended::Eof) if service_of(&req.container_id).is_some() => {
                    let _ = marker(&tx, &req, "── the service's logs ended ──".into()).await;
                    return;
                }
                Ok(Ended::Eof) => {
                    // The container stopped: wait for it to run again, or to be removed.
                    match wait_running(&docker, &req, &settings, &tx).await {
                        Ok(true) => {
                            if marker(&tx, &req, "── container restarted ──".into())
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Ok(false) => return,
                        Err(_) => break,
                    }
                }
                Err(e) => {
                    if marker(&tx, &req, format!("── connection lost: {e}; retrying ──"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    break;
                }
            }
        }
        wait_to_retry(&req.client, backoff.next_delay()).await;
    }
}

/// Says once, in the tail, why this source is not followed.
pub async fn not_followed(req: TailRequest, why: String, tx: mpsc::Sender<Msg>) {
    let _ = marker(&tx, &req, format!("── {why} ──")).await;
}

async fn marker(tx: &mpsc::Sender<Msg>, req: &TailRequest, text: String) -> Result<(), ()> {
    send(
        tx,
        req,
        vec![LogLine::marker(req.source, Some(Utc::now()), text)],
    )
    .await
}

async fn send(tx: &mpsc::Sender<Msg>, req: &TailRequest, lines: Vec<LogLine>) -> Result<(), ()> {
    tx.send(Msg {
        endpoint: req.endpoint,
        at: Utc::now(),
        kind: MsgKind::Log {
            tail: req.tail,
            lines,
        },
    })
    .await
    .map_err(|_| ())
}

async fn read_stream(
    docker: &ReadOnly,
    req: &TailRequest,
    first: bool,
    last_at: &mut Option<DateTime<Utc>>,
    tx: &mpsc::Sender<Msg>,
) -> Result<Ended, EngineError> {
    let opts = LogsOptions {
        follow: req.follow,
        stdout: true,
        stderr: true,
        timestamps: true,
        // Docker's `since` has whole seconds: lines of that second come again and are skipped
        // below by their full timestamp.
        since: last_at.map_or(0, |t| i32::try_from(t.timestamp()).unwrap_or(0)),
        until: 0,
        tail: if first && last_at.is_none() {
            req.last_lines.to_string()
        } else {
            "all".into()
        },
    };
    let resume_after = *last_at;
    type Lines<'a> = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send + 'a>,
    >;
    let mut stream: Lines<'_> = match service_of(&req.container_id) {
        Some(service) => Box::pin(docker.service_logs(service, Some(opts))),
        None => Box::pin(docker.logs(&req.container_id, Some(opts))),
    };
    let mut out = StdJoiners::default();
    let mut batch: Vec<LogLine> = Vec::new();
    let mut batch_bytes = 0usize;
    loop {
        let next = if batch.is_empty() {
            stream.next().await
        } else {
            match tokio::time::timeout(BATCH_WAIT, stream.next()).await {
                Ok(item) => item,
                Err(_) => {
                    batch_bytes = 0;
                    if send(tx, req, std::mem::take(&mut batch)).await.is_err() {
                        return Ok(Ended::Closed);
                    }
                    continue;
                }
            }
        };
        let (kind, bytes) = match next {
            Some(Ok(LogOutput::StdOut { message })) => (LogStream::Stdout, message),
            Some(Ok(LogOutput::StdErr { message })) => (LogStream::Stderr, message),
            Some(Ok(LogOutput::Console { message })) => (LogStream::Tty, message),
            Some(Ok(LogOutput::StdIn { .. })) => continue,
            Some(Err(e)) => {
                let _ = send(tx, req, std::mem::take(&mut batch)).await;
                return Err(e.into());
            }
            None => {
                for (kind, rest) in out.flush() {
                    push_line(&mut batch, req, kind, rest, resume_after, last_at);
                }
                if !batch.is_empty() && send(tx, req, batch).await.is_err() {
                    return Ok(Ended::Closed);
                }
                return Ok(Ended::Eof);
            }
        };
        // One frame is one of Docker's log messages (or a TTY's line): the joiner strips its
        // time prefix and joins a long line's partial messages.
        for line in out.get(kind).push(&bytes, MAX_LINE) {
            batch_bytes += line.1.len();
            push_line(&mut batch, req, kind, line, resume_after, last_at);
        }
        if batch.len() >= BATCH_LINES || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            if send(tx, req, std::mem::take(&mut batch)).await.is_err() {
                return Ok(Ended::Closed);
            }
        }
    }
}

fn push_line(
    batch: &mut Vec<LogLine>,
    req: &TailRequest,
    kind: LogStream,
    (at, text): TimedLine,
    resume_after: Option<DateTime<Utc>>,
    last_at: &mut Option<DateTime<Utc>>,
) {
    if let (Some(t), Some(after)) = (at, resume_after)
        && t <= after
    {
        return;
    }
    if at.is_some() {
        *last_at = at;
    }
    batch.push(LogLine::from_raw(req.source, at, kind, &text));
}

/// One joiner per stream, so interleaved stdout and stderr messages never mix within a line.
#[derive(Default)]
struct StdJoiners {
    out: LineJoiner,
    err: LineJoiner,
    tty: LineJoiner,
}

impl StdJoiners {
    fn get(&mut self, kind: LogStream) -> &mut LineJoiner {
        match kind {
            LogStream::Stderr => &mut self.err,
            LogStream::Tty => &mut self.tty,
            _ => &mut self.out,
        }
    }

    fn flush(&mut self) -> Vec<(LogStream, TimedLine)> {
        let mut v = Vec::new();
        for (kind, s) in [
            (LogStream::Stdout, &mut self.out),
            (LogStream::Stderr, &mut self.err),
            (LogStream::Tty, &mut self.tty),
        ] {
            if let Some(rest) = s.flush() {
                v.push((kind, rest));
            }
        }
        v
    }
}

/// After a followed stream ends: `Ok(true)` once the container runs again, `Ok(false)` if it was
/// removed (or the receiver is gone), `Err` if the daemon stopped answering.
async fn wait_running(
    docker: &ReadOnly,
    req: &TailRequest,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
) -> Result<bool, EngineError> {
    let mut said_stopped = false;
    loop {
        match deadline(
            settings.request_timeout,
            docker.inspect_container(&req.container_id, None::<InspectContainerOptions>),
        )
        .await
        {
            Ok(c) => {
                let running = c.state.and_then(|s| s.running).unwrap_or(false);
                if running {
                    return Ok(true);
                }
                if !said_stopped {
                    said_stopped = true;
                    if marker(
                        tx,
                        req,
                        "── container stopped; waiting for it to start ──".into(),
                    )
                    .await
                    .is_err()
                    {
                        return Ok(false);
                    }
                }
            }
            Err(EngineError::Docker(msg)) if msg.starts_with("daemon answered 404") => {
                let _ = marker(tx, req, "── container removed ──".into()).await;
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        if tx.is_closed() {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
