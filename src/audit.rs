//! The audit trail of state-changing requests: one JSON object per line, appended to
//! `$XDG_STATE_HOME/fleetdeck/audit.jsonl` (or `$FLEETDECK_AUDIT`).
//!
//! Every attempt is written *before* the request leaves (`"phase":"started"`, fsynced), and
//! completed by a second line with the same `attempt` id once the daemon answered
//! (`succeeded` / `failed`). A request the gate refuses is one `refused` line. So a fleetdeck
//! killed mid-request leaves a `started` line without a result, which `fleetdeck audit` shows
//! as interrupted. fleetdeck only ever appends (O_APPEND, one `write` per line, so concurrent
//! fleetdeck processes never interleave inside a line); it never rewrites or truncates the file.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::model::actions::glob_match;
use crate::model::deploy::revision::service_of_kept as kept_revision_of;
use crate::model::text::sanitize;

/// Environment variable naming the audit file, overriding the state-dir default.
pub const AUDIT_ENV: &str = "FLEETDECK_AUDIT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the request is sent.
    Started,
    Succeeded,
    Failed,
    /// Not sent: the gate said no (read-only endpoint, …). The attempt's only line.
    Refused,
    /// A multi-step operation (a deploy, a rollback) that a signal, a kill or a crash cut
    /// short: what state it left is in `error`.
    Interrupted,
}

/// One line of the audit file. Every line carries the whole context, so `grep` and `jq` on
/// the file need no joins; the `attempt` id links a result to its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub attempt: String,
    pub phase: Phase,
    /// The local account fleetdeck runs as.
    pub user: String,
    #[serde(default)]
    pub uid: Option<u32>,
    /// Who ran `sudo fleetdeck …`, when that is how it was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo_user: Option<String>,
    pub host: String,
    #[serde(default)]
    pub pid: u32,
    pub endpoint: String,
    #[serde(default)]
    pub endpoint_url: String,
    pub container_id: String,
    pub container: String,
    pub action: String,
    #[serde(default)]
    pub params: serde_json::Value,
    /// The attempt id of the operation (a deploy, a rollback) this request is a step of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// What allowed a request to an endpoint the config makes read-only: `"--write"`.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
}

impl AuditRecord {
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Who and where: recorded on every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub uid: Option<u32>,
    pub sudo_user: Option<String>,
    pub host: String,
    pub pid: u32,
}

impl Identity {
    /// The user is the account of the process's uid (from /etc/passwd), not `$USER`, which
    /// anyone can set; `$USER` is only the fallback when the uid has no entry.
    pub fn current() -> Self {
        let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
        let from_passwd = uid.and_then(|uid| {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id: u32 = f.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_string())
            })
        });
        let user = from_passwd
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .or_else(|| uid.map(|u| format!("uid {u}")))
            .unwrap_or_else(|| "unknown".into());
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| {
                std::fs::read_to_string(p)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "unknown".into());
        Self {
            user,
            uid,
            sudo_user: std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty()),
            host,
            pid: std::process::id(),
        }
    }
}

/// What an attempt acts on, as the audit log names it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSubject {
    pub endpoint: String,
    pub endpoint_url: String,
    pub container_id: String,
    pub container: String,
    pub action: String,
    pub params: serde_json::Value,
    /// The operation this request is a step of (its attempt id).
    pub operation: Option<String>,
    /// Set when `--write` overrode the endpoint's read-only setting.
    pub override_by: Option<String>,
}

/// A started attempt, to be completed with [`AuditLog::finished`].
#[derive(Debug)]
pub struct Attempt {
    pub id: String,
    subject: AuditSubject,
    started: Instant,
}

/// The append-only audit file. Cheap to create: nothing is opened until the first line.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    identity: Identity,
    /// Attempt ids: this process's start time and pid, then a counter; unique across hosts'
    /// processes without a random source.
    id_prefix: String,
    counter: AtomicU64,
}

impl AuditLog {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        let identity = Identity::current();
        let started = Utc::now().timestamp_micros();
        Self {
            path: path.into(),
            id_prefix: format!("{started:x}-{:x}", identity.pid),
            identity,
            counter: AtomicU64::new(0),
        }
    }

    /// `$FLEETDECK_AUDIT`, else `$XDG_STATE_HOME/fleetdeck/audit.jsonl` (usually
    /// `~/.local/state/fleetdeck/audit.jsonl`).
    pub fn default_path() -> PathBuf {
        if let Some(p) = std::env::var_os(AUDIT_ENV).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        directories::ProjectDirs::from("", "", "fleetdeck")
            .map(|d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf())
            .unwrap_or_else(std::env::temp_dir)
            .join("audit.jsonl")
    }

    pub fn from_env() -> Self {
        Self::at(Self::default_path())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn record(
        &self,
        phase: Phase,
        attempt: &str,
        subject: &AuditSubject,
        error: Option<String>,
        elapsed_ms: Option<u64>,
    ) -> AuditRecord {
        AuditRecord {
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            attempt: attempt.to_string(),
            phase,
            user: self.identity.user.clone(),
            uid: self.identity.uid,
            sudo_user: self.identity.sudo_user.clone(),
            host: self.identity.host.clone(),
            pid: self.identity.pid,
            endpoint: subject.endpoint.clone(),
            endpoint_url: subject.endpoint_url.clone(),
            container_id: subject.container_id.clone(),
            container: subject.container.clone(),
            action: subject.action.clone(),
            params: subject.params.clone(),
            operation: subject.operation.clone(),
            override_by: subject.override_by.clone(),
            error,
            elapsed_ms,
        }
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.id_prefix)
    }

    /// Writes and fsyncs the `started` line. Only once this returns may the request be sent;
    /// an error means it must not be.
    pub async fn started(&self, subject: AuditSubject) -> std::io::Result<Attempt> {
        let id = self.next_id();
        let rec = self.record(Phase::Started, &id, &subject, None, None);
        self.append(rec).await?;
        Ok(Attempt {
            id,
            subject,
            started: Instant::now(),
        })
    }

    /// Completes an attempt: `Ok` succeeded, `Err(reason)` failed.
    pub async fn finished(
        &self,
        attempt: &Attempt,
        result: Result<(), String>,
    ) -> std::io::Result<()> {
        let elapsed = u64::try_from(attempt.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (phase, error) = match result {
            Ok(()) => (Phase::Succeeded, None),
            Err(e) => (Phase::Failed, Some(e)),
        };
        let rec = self.record(phase, &attempt.id, &attempt.subject, error, Some(elapsed));
        self.append(rec).await
    }

    /// Completes an attempt this process did not start (an operation interrupted in an
    /// earlier run, finished or undone now), so that `fleetdeck audit` pairs its lines.
    pub async fn conclude(
        &self,
        attempt: &str,
        subject: &AuditSubject,
        phase: Phase,
        error: Option<String>,
    ) -> std::io::Result<()> {
        let rec = self.record(phase, attempt, subject, error, None);
        self.append(rec).await
    }

    /// Completes an attempt with a phase of the caller's choosing (an operation that was
    /// interrupted, with the state it left).
    pub async fn finished_as(
        &self,
        attempt: &Attempt,
        phase: Phase,
        error: Option<String>,
    ) -> std::io::Result<()> {
        let elapsed = u64::try_from(attempt.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let rec = self.record(phase, &attempt.id, &attempt.subject, error, Some(elapsed));
        self.append(rec).await
    }

    /// A request the gate did not send, with the reason. Returns the attempt id.
    pub async fn refused(&self, subject: &AuditSubject, reason: &str) -> std::io::Result<String> {
        let id = self.next_id();
        let rec = self.record(Phase::Refused, &id, subject, Some(reason.to_string()), None);
        self.append(rec).await?;
        Ok(id)
    }

    /// Appends one line and fsyncs it, off the async workers (an fsync can take a while).
    pub async fn append(&self, rec: AuditRecord) -> std::io::Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_line(&path, &rec))
            .await
            .map_err(std::io::Error::other)?
    }
}

fn append_line(path: &Path, rec: &AuditRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(rec)?;
    line.push(b'\n');
    let fresh = !path.exists();
    if fresh && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    // One write of the whole line: with O_APPEND the kernel places it at the end atomically,
    // so lines of concurrent fleetdeck processes never mix.
    file.write_all(&line)?;
    file.sync_data()?;
    if fresh && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The new file's directory entry must survive a crash too.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------- reading --

/// The records of an audit file, in file order, and how many lines could not be read (a line
/// torn by a crash or a disk filling up). A missing file is an empty log.
pub fn read(path: &Path) -> std::io::Result<(Vec<AuditRecord>, usize)> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<AuditRecord>(line) {
            Ok(r) => records.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((records, bad))
}

/// One attempt: its first line (`started` or `refused`) and its result, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub first: AuditRecord,
    pub result: Option<AuditRecord>,
}

impl AuditEntry {
    /// "ok", "failed: …", "refused: …", or "interrupted (no result recorded)".
    pub fn result_text(&self) -> String {
        let last = self.result.as_ref().unwrap_or(&self.first);
        let error = last.error.as_deref().unwrap_or("");
        match last.phase {
            Phase::Succeeded => "ok".into(),
            Phase::Failed => format!("failed: {error}"),
            Phase::Refused => format!("refused: {error}"),
            Phase::Interrupted => format!("interrupted: {error}"),
            Phase::Started => "interrupted (no result recorded)".into(),
        }
    }

    /// Started and never completed.
    pub fn is_interrupted(&self) -> bool {
        self.first.phase == Phase::Started && self.result.is_none()
    }
}

/// Pairs each attempt's lines, in the order the attempts began.
pub fn merge(records: Vec<AuditRecord>) -> Vec<AuditEntry> {
    let mut entries: Vec<AuditEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for rec in records {
        match index.get(&rec.attempt) {
            Some(&i) if rec.phase != Phase::Started => entries[i].result = Some(rec),
            Some(_) => {} // a repeated start line: keep the first
            None => {
                index.insert(rec.attempt.clone(), entries.len());
                // A result whose start was lost still shows, as its own entry.
                entries.push(AuditEntry {
                    first: rec,
                    result: None,
                });
            }
        }
    }
    entries
}

/// `fleetdeck audit --endpoint/--container/--since`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub endpoint: Option<String>,
    /// A container name (glob allowed) or an id prefix.
    pub container: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let r = &e.first;
        if self.endpoint.as_ref().is_some_and(|ep| *ep != r.endpoint) {
            return false;
        }
        if let Some(c) = &self.container {
            // A service's kept revisions (`NAME--rN`) are the service: the steps a deploy
            // or rollback took on them belong to its history.
            let by_name = glob_match(c, &r.container)
                || kept_revision_of(&r.container).is_some_and(|s| glob_match(c, s));
            let by_id = c.len() >= 4 && r.container_id.starts_with(c.as_str());
            if !by_name && !by_id {
                return false;
            }
        }
        if let Some(since) = self.since
            && r.time().is_none_or(|t| t < since)
        {
            return false;
        }
        true
    }
}

/// Whether an attempt without a result may still be under way: it was started on this host
/// by a fleetdeck process that is still alive.
pub fn in_progress(e: &AuditEntry, this_host: &str) -> bool {
    e.is_interrupted()
        && e.first.host == this_host
        && std::fs::read_to_string(format!("/proc/{}/comm", e.first.pid))
            .is_ok_and(|comm| comm.trim() == "fleetdeck")
}

/// The readable table of `fleetdeck audit`: one row per attempt, local time, text from the
/// file sanitised (names came from daemons). `this_host` tells attempts still under way on
/// this machine from interrupted ones.
pub fn render_table(entries: &[&AuditEntry], this_host: &str) -> String {
    let mut rows: Vec<[String; 7]> = vec![
        [
            "TIME",
            "USER",
            "HOST",
            "ENDPOINT",
            "CONTAINER",
            "ACTION",
            "RESULT",
        ]
        .map(String::from),
    ];
    for e in entries {
        let r = &e.first;
        let time = r
            .time()
            .map(|t| {
                t.with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| r.time.clone());
        let user = match &r.sudo_user {
            Some(s) => format!("{} (sudo {s})", r.user),
            None => r.user.clone(),
        };
        let mut action = r.action.clone();
        if let Some(by) = &r.override_by {
            action.push_str(&format!(" (override {by})"));
        }
        if let Some(params) = r.params.as_object().filter(|p| !p.is_empty()) {
            let ps: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            action.push_str(&format!(" {}", ps.join(" ")));
        }
        let mut result = if in_progress(e, this_host) {
            format!("in progress (pid {})", r.pid)
        } else {
            e.result_text()
        };
        if let Some(ms) = e.result.as_ref().and_then(|r| r.elapsed_ms) {
            result.push_str(&format!(" ({ms} ms)"));
        }
        rows.push(
            [
                time,
                user,
                r.host.clone(),
                r.endpoint.clone(),
                r.container.clone(),
                action,
                result,
            ]
            .map(|s| sanitize(&s).into_owned()),
        );
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str) -> AuditSubject {
        AuditSubject {
            endpoint: "lab1".into(),
            endpoint_url: "unix:///x.sock".into(),
            container_id: format!("{name}0123456789"),
            container: name.into(),
            action: "stop".into(),
            params: serde_json::json!({ "timeout_s": 3 }),
            operation: None,
            override_by: None,
        }
    }

    #[tokio::test]
    async fn an_attempt_is_a_started_line_then_its_result() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("sub/audit.jsonl"));
        let ok = log.started(subject("web")).await.unwrap();
        let bad = log.started(subject("db")).await.unwrap();
        // Before any result, both are on disk.
        let (records, _) = read(log.path()).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.phase == Phase::Started));
        log.finished(&ok, Ok(())).await.unwrap();
        log.finished(&bad, Err("daemon answered 500: boom".into()))
            .await
            .unwrap();
        log.refused(&subject("cache"), "endpoint lab1 is read-only")
            .await
            .unwrap();
        let (records, bad_lines) = read(log.path()).unwrap();
        assert_eq!((records.len(), bad_lines), (5, 0));
        assert_eq!(records[0].user, log.identity().user);
        assert_eq!(records[0].params["timeout_s"], 3);
        let entries = merge(records);
        let results: Vec<_> = entries.iter().map(|e| e.result_text()).collect();
        assert_eq!(
            results,
            [
                "ok",
                "failed: daemon answered 500: boom",
                "refused: endpoint lab1 is read-only"
            ]
        );
        assert!(entries[0].result.as_ref().unwrap().elapsed_ms.is_some());
    }

    #[tokio::test]
    async fn a_start_without_result_is_interrupted_and_a_torn_line_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::at(&path);
        let _never_finished = log.started(subject("web")).await.unwrap();
        // A crash in the middle of writing a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":\"2024-")
            .unwrap();
        let (records, bad) = read(&path).unwrap();
        assert_eq!(bad, 1);
        let entries = merge(records);
        assert_eq!(entries.len(), 1);
        assert!(entries[0].is_interrupted());
        assert_eq!(entries[0].result_text(), "interrupted (no result recorded)");
        let table = render_table(&entries.iter().collect::<Vec<_>>(), "elsewhere");
        assert!(table.starts_with("TIME"), "{table}");
        assert!(
            table.contains("lab1") && table.contains("stop timeout_s=3"),
            "{table}"
        );
    }

    #[test]
    fn filters_select_by_endpoint_container_and_time() {
        let rec = |ep: &str, name: &str, time: &str| AuditEntry {
            first: AuditRecord {
                time: time.into(),
                attempt: name.into(),
                phase: Phase::Refused,
                user: "ops".into(),
                uid: Some(1000),
                sudo_user: None,
                host: "h".into(),
                pid: 1,
                endpoint: ep.into(),
                endpoint_url: String::new(),
                container_id: format!("abcdef{name}"),
                container: name.into(),
                action: "kill".into(),
                params: serde_json::json!({}),
                operation: None,
                override_by: None,
                error: Some("read-only".into()),
                elapsed_ms: None,
            },
            result: None,
        };
        let a = rec("lab1", "web-1", "2024-05-01T10:00:00.000Z");
        let b = rec("lab2", "db", "2024-05-01T12:00:00.000Z");
        let f = AuditFilter {
            endpoint: Some("lab1".into()),
            ..Default::default()
        };
        assert!(f.matches(&a) && !f.matches(&b));
        let f = AuditFilter {
            container: Some("web-*".into()),
            ..Default::default()
        };
        assert!(f.matches(&a) && !f.matches(&b));
        let f = AuditFilter {
            container: Some("abcdefdb".into()),
            ..Default::default()
        };
        assert!(!f.matches(&a) && f.matches(&b));
        let f = AuditFilter {
            since: DateTime::parse_from_rfc3339("2024-05-01T11:00:00Z")
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            ..Default::default()
        };
        assert!(!f.matches(&a) && f.matches(&b));
        // A service's kept revisions are part of its history; another service's are not.
        let kept = rec("lab1", "web--r3", "2024-05-01T10:00:00.000Z");
        let other = rec("lab1", "web-2--r3", "2024-05-01T10:00:00.000Z");
        let f = AuditFilter {
            container: Some("web".into()),
            ..Default::default()
        };
        assert!(f.matches(&kept) && !f.matches(&other));
    }

    #[test]
    fn the_identity_names_a_user_and_a_host() {
        let id = Identity::current();
        assert!(!id.user.is_empty() && !id.host.is_empty());
        assert_eq!(id.pid, std::process::id());
    }

    #[test]
    fn hostile_names_in_the_file_cannot_reach_the_terminal() {
        let e = AuditEntry {
            first: AuditRecord {
                time: "x".into(),
                attempt: "1".into(),
                phase: Phase::Started,
                user: "u".into(),
                uid: None,
                sudo_user: None,
                host: "h".into(),
                pid: 1,
                endpoint: "e".into(),
                endpoint_url: String::new(),
                container_id: "c".into(),
                container: "evil\u{1b}]0;pwned\u{7}".into(),
                action: "rm".into(),
                params: serde_json::Value::Null,
                operation: None,
                override_by: None,
                error: None,
                elapsed_ms: None,
            },
            result: None,
        };
        let table = render_table(&[&e], "elsewhere");
        assert!(!table.contains('\u{1b}'), "{table:?}");
    }
}
