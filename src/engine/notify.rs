//! Alert delivery: notices to `[[notify]]` targets over HTTP, in the background.
//!
//! ```text
//!   rules ──offer(&Notice)──▶ per target: severity filter, dedupe by (rule, subject),
//!                             bounded queue (oldest dropped when full, counted and logged)
//!                                  │ one task per target, in order
//!                                  ▼
//!                             POST (target's deadline) ── 2xx: sent
//!                                  │ connect error, timeout, 408, 429, 5xx: retried with
//!                                  │ exponential backoff and jitter, at most `attempts` times
//!                                  └ other 4xx: given up at once (retrying cannot help)
//! ```
//!
//! - [`NotifierHandle::offer`] never awaits and never touches the network: a dead target cannot
//!   stall the dashboard or the rule engine, and one slow target does not hold up the others.
//! - Each `(rule, subject)` is sent once firing and once resolved per target: a second firing
//!   while the first is unresolved is a duplicate, and a resolved whose firing this target never
//!   took (filtered by severity, or sent before fleetdeck started) is not sent either.
//! - [`NotifierHandle::status`] is what the status bar and `fleetdeck check` show: per target
//!   the last error (cleared by a success), whether it is retrying, queue length and drops.
//! - Requests go through hyper on a connection of their own (a notice is rare; a pool would
//!   hold sockets for nothing); `https://` is verified with rustls against the system's CA
//!   bundle.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::model::alerts::{Notice, NoticeState, NotifyTarget};

mod http;

/// Notices kept per target while it is failing; beyond it the oldest are dropped.
pub const QUEUE_PER_TARGET: usize = 256;

/// How often a notice is tried, and the pauses in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per notice, the first included.
    pub attempts: u32,
    /// The pause after the first failure; doubled after each, up to `max`, each jittered.
    pub first: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// Five tries over about half a minute: long enough for a receiver's restart, short enough
    /// that notices behind a dead target are not held for long.
    fn default() -> Self {
        Self {
            attempts: 5,
            first: Duration::from_secs(1),
            max: Duration::from_secs(15),
        }
    }
}

/// One target's delivery, as the status bar and `check` see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetStatus {
    pub name: String,
    /// Notices waiting, the one being tried included.
    pub queued: usize,
    pub sent: u64,
    /// Pushed out of a full queue.
    pub dropped: u64,
    /// Given up on: refused, or still failing after every try.
    pub failed: u64,
    /// Why the last try failed ("HTTP 500", "connection refused"); `None` once one succeeds.
    pub last_error: Option<String>,
    /// Tries that failed, retried or not: a failure that a retry cured still counts here.
    pub failed_tries: u64,
    /// Why the latest failed try failed, kept after a success.
    pub last_failure: Option<String>,
    /// The notice at the head is failing and will be tried again.
    pub retrying: bool,
    pub last_success: Option<DateTime<Utc>>,
}

impl TargetStatus {
    /// `notify oncall: failing (HTTP 500, retrying)`; `None` while the target is well.
    pub fn problem(&self) -> Option<String> {
        let error = self.last_error.as_ref()?;
        let what = if self.retrying { "retrying" } else { "gave up" };
        Some(format!("notify {}: failing ({error}, {what})", self.name))
    }
}

/// Every target's delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyStatus {
    pub targets: Vec<TargetStatus>,
}

impl NotifyStatus {
    pub fn queued(&self) -> usize {
        self.targets.iter().map(|t| t.queued).sum()
    }

    pub fn dropped(&self) -> u64 {
        self.targets.iter().map(|t| t.dropped).sum()
    }

    /// The status bar's line: the first failing target's problem, and how many others fail.
    pub fn problem(&self) -> Option<String> {
        let mut failing = self.targets.iter().filter_map(TargetStatus::problem);
        let first = failing.next()?;
        Some(match failing.count() {
            0 => first,
            n => format!("{first} (+{n} more failing)"),
        })
    }
}

/// One target's queue and counters. Plain data: the notifier keeps it behind a mutex.
#[derive(Debug)]
struct TargetQueue {
    items: VecDeque<Arc<Notice>>,
    capacity: usize,
    /// `(rule, subject)` keys this target has taken a firing notice for and no resolved yet.
    firing: HashSet<(String, String)>,
    in_flight: bool,
    status: TargetStatus,
}

impl TargetQueue {
    fn new(name: &str, capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            firing: HashSet::new(),
            in_flight: false,
            status: TargetStatus {
                name: name.to_string(),
                ..TargetStatus::default()
            },
        }
    }

    /// Queues a notice this target wants, unless it repeats the state already taken for its
    /// key. False when it was not queued. A full queue loses its oldest notice.
    fn offer(&mut self, notice: &Arc<Notice>) -> bool {
        let key = (notice.rule.clone(), notice.subject.clone());
        let new = match notice.state {
            NoticeState::Firing => self.firing.insert(key),
            NoticeState::Resolved => self.firing.remove(&key),
        };
        if !new {
            return false;
        }
        if self.items.len() >= self.capacity {
            self.items.pop_front();
            self.status.dropped += 1;
        }
        self.items.push_back(Arc::clone(notice));
        true
    }

    fn take(&mut self) -> Option<Arc<Notice>> {
        let next = self.items.pop_front();
        self.in_flight = next.is_some();
        next
    }

    fn status(&self) -> TargetStatus {
        TargetStatus {
            queued: self.items.len() + usize::from(self.in_flight),
            ..self.status.clone()
        }
    }
}

/// What the handle and the tasks share. The mutex is held for bookkeeping only, never across
/// an await.
#[derive(Debug)]
struct Shared {
    queues: Mutex<Vec<TargetQueue>>,
    /// One per target: wakes its task when a notice is queued or the notifier closes.
    wake: Vec<Notify>,
    closing: AtomicBool,
}

impl Shared {
    fn queues(&self) -> MutexGuard<'_, Vec<TargetQueue>> {
        // A panic elsewhere while holding the lock leaves consistent counters; keep going.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, target: usize, f: impl FnOnce(&mut TargetQueue) -> T) -> Option<T> {
        self.queues().get_mut(target).map(f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the notifier must be started inside a tokio runtime")]
    NoRuntime,
}

/// The app's, `watch`'s and `check`'s side of delivery. Dropping it stops the tasks at once;
/// [`NotifierHandle::shutdown`] lets them finish first.
#[derive(Debug)]
pub struct NotifierHandle {
    targets: Vec<NotifyTarget>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// Whether each target can be reached now (a connection, and a verified TLS handshake for
/// `https://`; nothing is sent), in config order: what `fleetdeck check` reports, so a probe
/// finds out that alerts could not be delivered before an alert has to be.
pub async fn reach_all(targets: &[NotifyTarget]) -> Vec<Result<(), String>> {
    let client = http::Client::new();
    futures::future::join_all(targets.iter().map(|t| client.reach(t))).await
}

/// Starts one delivery task per target on the current runtime.
pub fn start(targets: &[NotifyTarget]) -> Result<NotifierHandle, NotifyError> {
    start_with(targets, RetryPolicy::default(), QUEUE_PER_TARGET)
}

/// [`start`] with a retry policy and a queue size of one's own (tests).
pub fn start_with(
    targets: &[NotifyTarget],
    retry: RetryPolicy,
    capacity: usize,
) -> Result<NotifierHandle, NotifyError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime)?;
    let shared = Arc::new(Shared {
        queues: Mutex::new(
            targets
                .iter()
                .map(|t| TargetQueue::new(&t.name, capacity))
                .collect(),
        ),
        wake: targets.iter().map(|_| Notify::new()).collect(),
        closing: AtomicBool::new(false),
    });
    let client = Arc::new(http::Client::new());
    let tasks = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            runtime.spawn(run_target(
                i,
                t.clone(),
                Arc::clone(&shared),
                Arc::clone(&client),
                retry,
            ))
        })
        .collect();
    for t in targets {
        tracing::info!(target_name = %t.name, kind = t.kind.as_str(), url = %crate::model::alerts::target::redacted_url(&t.url), "notify target ready");
    }
    Ok(NotifierHandle {
        targets: targets.to_vec(),
        shared,
        tasks,
    })
}

impl NotifierHandle {
    /// Queues `notice` for every target that wants it. Never waits.
    pub fn offer(&self, notice: &Notice) {
        let notice = Arc::new(notice.clone());
        let mut queued = Vec::new();
        {
            let mut queues = self.shared.queues();
            for (i, (target, queue)) in self.targets.iter().zip(queues.iter_mut()).enumerate() {
                if !target.wants(&notice) {
                    continue;
                }
                let dropped_before = queue.status.dropped;
                if queue.offer(&notice) {
                    queued.push(i);
                }
                if queue.status.dropped > dropped_before {
                    tracing::warn!(
                        target_name = %target.name,
                        dropped = queue.status.dropped,
                        "notify queue full: the oldest notice was dropped"
                    );
                }
            }
        }
        for i in queued {
            if let Some(wake) = self.shared.wake.get(i) {
                wake.notify_one();
            }
        }
    }

    pub fn status(&self) -> NotifyStatus {
        NotifyStatus {
            targets: self
                .shared
                .queues()
                .iter()
                .map(TargetQueue::status)
                .collect(),
        }
    }

    /// Stops taking notices and gives the tasks until `grace` to send what is queued (a retry
    /// pause longer than what is left is cut short by the deadline). Returns the final status.
    pub async fn shutdown(mut self, grace: Duration) -> NotifyStatus {
        self.shared.closing.store(true, Ordering::Release);
        for wake in &self.shared.wake {
            wake.notify_one();
        }
        let tasks = std::mem::take(&mut self.tasks);
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(grace, futures::future::join_all(tasks))
            .await
            .is_err()
        {
            for a in aborts {
                a.abort();
            }
        }
        self.status()
    }
}

impl Drop for NotifierHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Sends target `index`'s notices one at a time, in order, until the notifier closes and its
/// queue is empty.
async fn run_target(
    index: usize,
    target: NotifyTarget,
    shared: Arc<Shared>,
    client: Arc<http::Client>,
    retry: RetryPolicy,
) {
    let Some(wake) = shared.wake.get(index) else {
        return;
    };
    loop {
        match shared.with(index, TargetQueue::take).flatten() {
            Some(notice) => {
                deliver(index, &target, &notice, &shared, &client, retry).await;
                shared.with(index, |q| q.in_flight = false);
            }
            None if shared.closing.load(Ordering::Acquire) => return,
            None => wake.notified().await,
        }
    }
}

/// What one try came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Sent,
    /// Worth another try: the receiver may be back soon.
    Retry(String),
    /// Another try would be refused the same way.
    Refused(String),
}

fn judge(result: Result<u16, String>) -> Attempt {
    match result {
        Ok(200..=299) => Attempt::Sent,
        Ok(code @ (408 | 429 | 500..=599)) => Attempt::Retry(format!("HTTP {code}")),
        Ok(code) => Attempt::Refused(format!("HTTP {code}")),
        Err(e) => Attempt::Retry(e),
    }
}

async fn deliver(
    index: usize,
    target: &NotifyTarget,
    notice: &Notice,
    shared: &Shared,
    client: &http::Client,
    retry: RetryPolicy,
) {
    let body = target.body(notice);
    let mut pause = retry.first;
    let attempts = retry.attempts.max(1);
    for attempt in 1..=attempts {
        let outcome = judge(client.post(target, body.clone()).await);
        let (error, again) = match outcome {
            Attempt::Sent => {
                shared.with(index, |q| {
                    q.status.sent += 1;
                    q.status.last_error = None;
                    q.status.retrying = false;
                    q.status.last_success = Some(Utc::now());
                });
                tracing::info!(target_name = %target.name, rule = %notice.rule, subject = %notice.subject, state = notice.state.as_str(), attempt, "notice sent");
                return;
            }
            Attempt::Retry(e) => (e, attempt < attempts),
            Attempt::Refused(e) => (e, false),
        };
        shared.with(index, |q| {
            q.status.last_error = Some(error.clone());
            q.status.last_failure = Some(error.clone());
            q.status.failed_tries += 1;
            q.status.retrying = again;
            if !again {
                q.status.failed += 1;
            }
        });
        if !again {
            tracing::warn!(target_name = %target.name, rule = %notice.rule, subject = %notice.subject, %error, tries = attempt, "notice not delivered: given up");
            return;
        }
        tracing::debug!(target_name = %target.name, attempt, %error, "notice failed; retrying");
        tokio::time::sleep(super::transport::jittered(pause)).await;
        pause = (pause * 2).min(retry.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alerts::Severity;

    fn notice(rule: &str, subject: &str, state: NoticeState) -> Arc<Notice> {
        Arc::new(Notice {
            rule: rule.into(),
            severity: Severity::Warning,
            state,
            scope: "fleet".into(),
            subject: subject.into(),
            endpoint: None,
            container: None,
            value: None,
            at: Utc::now(),
            text: format!("{rule} {subject} {}", state.as_str()),
        })
    }

    #[test]
    fn firing_and_resolved_are_each_queued_once_per_key() {
        let mut q = TargetQueue::new("oncall", 10);
        assert!(q.offer(&notice("mem", "a", NoticeState::Firing)));
        assert!(!q.offer(&notice("mem", "a", NoticeState::Firing)));
        assert!(q.offer(&notice("mem", "b", NoticeState::Firing)));
        assert!(q.offer(&notice("mem", "a", NoticeState::Resolved)));
        assert!(!q.offer(&notice("mem", "a", NoticeState::Resolved)));
        // A new episode after the resolve is news again.
        assert!(q.offer(&notice("mem", "a", NoticeState::Firing)));
        assert_eq!(q.items.len(), 4);
    }

    #[test]
    fn a_resolved_without_its_firing_is_not_sent() {
        let mut q = TargetQueue::new("oncall", 10);
        assert!(!q.offer(&notice("mem", "a", NoticeState::Resolved)));
        assert!(q.items.is_empty());
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts_it() {
        let mut q = TargetQueue::new("oncall", 2);
        for s in ["a", "b", "c"] {
            assert!(q.offer(&notice("mem", s, NoticeState::Firing)));
        }
        let subjects: Vec<&str> = q.items.iter().map(|n| n.subject.as_str()).collect();
        assert_eq!(subjects, ["b", "c"]);
        assert_eq!(q.status().dropped, 1);
        assert_eq!(q.status().queued, 2);
        let _ = q.take();
        assert_eq!(q.status().queued, 2, "the one in flight still counts");
    }

    #[test]
    fn answers_are_judged_retryable_or_not() {
        assert_eq!(judge(Ok(204)), Attempt::Sent);
        assert_eq!(judge(Ok(500)), Attempt::Retry("HTTP 500".into()));
        assert_eq!(judge(Ok(429)), Attempt::Retry("HTTP 429".into()));
        assert_eq!(judge(Ok(404)), Attempt::Refused("HTTP 404".into()));
        assert_eq!(
            judge(Err("connection refused".into())),
            Attempt::Retry("connection refused".into())
        );
    }

    #[test]
    fn the_status_line_names_the_failing_target() {
        let mut status = NotifyStatus {
            targets: vec![
                TargetStatus {
                    name: "chat".into(),
                    ..TargetStatus::default()
                },
                TargetStatus {
                    name: "oncall".into(),
                    last_error: Some("HTTP 500".into()),
                    retrying: true,
                    ..TargetStatus::default()
                },
            ],
        };
        assert_eq!(
            status.problem().as_deref(),
            Some("notify oncall: failing (HTTP 500, retrying)")
        );
        status.targets[0].last_error = Some("HTTP 404".into());
        assert_eq!(
            status.problem().as_deref(),
            Some("notify chat: failing (HTTP 404, gave up) (+1 more failing)")
        );
        status.targets.iter_mut().for_each(|t| t.last_error = None);
        assert_eq!(status.problem(), None);
    }
}
