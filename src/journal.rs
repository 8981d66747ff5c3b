//! The write-ahead journal of multi-step writes (a deploy, a rollback): before the first
//! state-changing step, an intent record (service, endpoint, from- and to-revision, address,
//! the steps planned) is written to `journal/` beside the audit log and fsynced; each step is
//! marked as it is done; the record is removed when the operation ends, whichever way. A
//! record that is still there was interrupted (a kill, a crash, a lost connection): the next
//! `fleetdeck deploy --resume` finishes it, `fleetdeck rollback` undoes it, and the dashboard
//! shows it until one of them has.
//!
//! One file per endpoint and service, created exclusively (a hard link of a fully written
//! temporary file), so two fleetdeck processes can never run writes on the same service at
//! once, and a reader never sees a half-written record. Files are 0600: a deploy's record
//! holds the container's create spec, env values included, to be able to finish it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::deploy::CreateSpec;

/// The folder of the journal, under the state dir beside the audit log.
pub const JOURNAL_DIR: &str = "journal";

/// What kind of multi-step write a record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Deploy,
    Rollback,
}

impl Operation {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Rollback => "rollback",
        }
    }
}

/// What to do with an operation the journal says was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Carry it through: the new revision (or the rollback's target) runs under the name.
    Finish,
    /// Reverse it: the revision that ran before runs again under the name.
    Undo,
}

/// The revision that runs under the service's name before the operation (and is put back by
/// undoing it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromRevision {
    pub id: String,
    pub revision: u32,
    pub image: String,
    /// The name it is kept under while the new one runs: `NAME--rN`.
    pub kept_name: String,
    pub was_running: bool,
}

/// The revision the operation brings up under the service's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToRevision {
    pub revision: u32,
    pub image: String,
    /// Known once created (a deploy) or from the start (a rollback to a kept revision).
    #[serde(default)]
    pub id: Option<String>,
    /// A rollback's target: the name it is kept under now, and gets back if undone.
    #[serde(default)]
    pub kept_name: Option<String>,
}

/// One interrupted-or-running multi-step write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The audit attempt id of the operation's own record, so finishing or undoing it later
    /// completes that record.
    pub id: String,
    pub op: Operation,
    pub endpoint: String,
    pub service: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// `user@host`, and the process that ran it.
    pub by: String,
    pub pid: u32,
    pub from: Option<FromRevision>,
    pub to: ToRevision,
    #[serde(default)]
    pub ip: Option<String>,
    /// The state-changing steps planned, in order, as the operator reads them.
    pub planned: Vec<String>,
    /// The steps done so far. A step is marked after the daemon answered: a kill between the
    /// two leaves it unmarked though done, so recovery always looks at the daemon's state.
    pub done: Vec<String>,
    /// A deploy's container, exactly as created: to finish it when killed before the create.
    #[serde(default)]
    pub create: Option<CreateSpec>,
    /// Kept revisions to remove once the new one runs, (id, name).
    #[serde(default)]
    pub prune: Vec<(String, String)>,
    pub wait_s: u64,
}

impl JournalEntry {
    /// "deploy of lab1/cart to revision 4 (img:2), started … by …, interrupted after: rename …".
    pub fn describe(&self) -> String {
        let last = self.done.last().map_or_else(
            || "before its first step".to_string(),
            |s| format!("after: {s}"),
        );
        format!(
            "{} of {}/{} to revision {} ({}), started {} by {} (pid {}), stopped {last}",
            self.op.verb(),
            self.endpoint,
            self.service,
            self.to.revision,
            self.to.image,
            self.started,
            self.by,
            self.pid
        )
    }
}

impl JournalEntry {
    /// What finishing or undoing it means, for the operator to confirm: the record, the steps
    /// planned and done, and what will run afterwards.
    pub fn recovery_lines(&self, how: Recovery) -> Vec<String> {
        let mut out = vec![format!("unfinished: {}", self.describe())];
        out.push(format!("  planned  {}", self.planned.join("; ")));
        out.push(format!(
            "  done     {}",
            if self.done.is_empty() {
                "nothing recorded".to_string()
            } else {
                self.done.join("; ")
            }
        ));
        let back = self.from.as_ref().map_or_else(
            || format!("no container named {} (it was a new service)", self.service),
            |f| {
                format!(
                    "revision {} ({}) runs as {} again",
                    f.revision, f.image, self.service
                )
            },
        );
        out.push(match how {
            Recovery::Finish => format!(
                "  resume   revision {} ({}) runs as {}; if it does not come up, {back}",
                self.to.revision, self.to.image, self.service
            ),
            Recovery::Undo => format!("  undo     {back}"),
        });
        out
    }
}

/// The journal folder.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// Held for the life of an operation on one service: no other fleetdeck process can take it
/// (`flock`), and the kernel lets go of it when the holder dies, however it dies. So a record
/// whose lock is free was cut short; one whose lock is held is under way.
#[derive(Debug)]
pub struct JournalLock {
    _file: std::fs::File,
}

/// Why a journal record could not be begun.
#[derive(Debug)]
pub enum BeginError {
    /// A record for this endpoint and service is there already: an unfinished operation (or
    /// one under way in another process).
    Pending(Box<JournalEntry>),
    /// One is there but cannot be read.
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for BeginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pending(e) => write!(f, "an unfinished {}", e.describe()),
            Self::Unreadable { path, reason } => write!(
                f,
                "the journal record {} cannot be read ({reason}); move it away once the \
                 service is checked by hand",
                path.display()
            ),
            Self::Io(e) => write!(f, "cannot write the journal: {e}"),
        }
    }
}

impl Journal {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `journal/` in the folder of the audit log.
    pub fn beside(audit_path: &Path) -> Self {
        let dir = audit_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from(JOURNAL_DIR), |d| d.join(JOURNAL_DIR));
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record's file: `ENDPOINT--SERVICE.json`, anything but `[A-Za-z0-9._-]` escaped.
    pub fn path_of(&self, endpoint: &str, service: &str) -> PathBuf {
        self.dir
            .join(format!("{}--{}.json", escape(endpoint), escape(service)))
    }

    /// Takes the lock of a service's operations; `None` when another process holds it.
    pub fn lock(&self, endpoint: &str, service: &str) -> std::io::Result<Option<JournalLock>> {
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(format!(".{}--{}.lock", escape(endpoint), escape(service)));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        // SAFETY: flock(2) on a descriptor this function owns; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(JournalLock { _file: file }));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        }
    }

    /// Whether a process is working on the service now (its lock is held).
    pub fn under_way(&self, endpoint: &str, service: &str) -> bool {
        matches!(self.lock(endpoint, service), Ok(None))
    }

    /// Writes a new record; refused when one for the same endpoint and service exists.
    pub fn begin(&self, entry: &JournalEntry) -> Result<(), BeginError> {
        let path = self.path_of(&entry.endpoint, &entry.service);
        std::fs::create_dir_all(&self.dir).map_err(BeginError::Io)?;
        let tmp = self.write_temp(entry).map_err(BeginError::Io)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => sync_dir(&self.dir).map_err(BeginError::Io),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_entry(&path) {
                Ok(old) => Err(BeginError::Pending(Box::new(old))),
                Err(reason) => Err(BeginError::Unreadable { path, reason }),
            },
            Err(e) => Err(BeginError::Io(e)),
        }
    }

    /// Rewrites the record (a step done, the new container's id learnt): atomically, by
    /// renaming a fully written file over it.
    pub fn update(&self, entry: &JournalEntry) -> std::io::Result<()> {
        let path = self.path_of(&entry.endpoint, &entry.service);
        let tmp = self.write_temp(entry)?;
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)
    }

    /// Marks a step done.
    pub fn mark(&self, entry: &mut JournalEntry, step: impl Into<String>) -> std::io::Result<()> {
        entry.done.push(step.into());
        self.update(entry)
    }

    /// Removes the record: the operation ended, one way or the other.
    pub fn finish(&self, endpoint: &str, service: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path_of(endpoint, service)) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The record for a service, if there is one.
    pub fn find(&self, endpoint: &str, service: &str) -> Result<Option<JournalEntry>, String> {
        let path = self.path_of(endpoint, service);
        if !path.exists() {
            return Ok(None);
        }
        read_entry(&path).map(Some).map_err(|reason| {
            format!(
                "the journal record {} cannot be read: {reason}",
                path.display()
            )
        })
    }

    /// Every record there is, oldest first; unreadable ones as their path and why.
    pub fn pending(&self) -> Vec<Result<JournalEntry, String>> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Result<JournalEntry, String>> = dir
            .filter_map(Result::ok)
            .map(|d| d.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| read_entry(&p).map_err(|e| format!("{}: {e}", p.display())))
            .collect();
        out.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => a.started.cmp(&b.started),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(a), Err(b)) => a.cmp(b),
        });
        out
    }

    fn write_temp(&self, entry: &JournalEntry) -> std::io::Result<PathBuf> {
        let tmp = self.dir.join(format!(
            ".{}--{}.{}.tmp",
            escape(&entry.endpoint),
            escape(&entry.service),
            std::process::id()
        ));
        let mut bytes = serde_json::to_vec_pretty(entry)?;
        bytes.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(tmp)
    }
}

fn read_entry(path: &Path) -> Result<JournalEntry, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // "." and ".." alone are not names to write.
    if out.chars().all(|c| c == '.') {
        out = out.replace('.', "%2E");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(service: &str) -> JournalEntry {
        JournalEntry {
            id: "a-1".into(),
            op: Operation::Deploy,
            endpoint: "lab1".into(),
            service: service.into(),
            started: "2026-12-02T04:00:00Z".into(),
            by: "root@host".into(),
            pid: 7,
            from: None,
            to: ToRevision {
                revision: 1,
                image: "img:1".into(),
                id: None,
                kept_name: None,
            },
            ip: None,
            planned: vec!["create".into(), "start".into()],
            done: Vec::new(),
            create: None,
            prune: Vec::new(),
            wait_s: 10,
        }
    }

    #[test]
    fn a_record_is_begun_once_marked_read_back_and_finished() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path().join("journal"));
        let mut e = entry("cart");
        j.begin(&e).unwrap();
        match j.begin(&entry("cart")) {
            Err(BeginError::Pending(old)) => assert_eq!(*old, e),
            other => panic!("expected the pending record, got {other:?}"),
        }
        j.mark(&mut e, "create cart").unwrap();
        let back = j.find("lab1", "cart").unwrap().unwrap();
        assert_eq!(back.done, ["create cart"]);
        assert_eq!(j.pending().len(), 1);
        j.finish("lab1", "cart").unwrap();
        assert!(j.find("lab1", "cart").unwrap().is_none());
        assert!(j.pending().is_empty());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(j.dir()).unwrap().count(), 0);
    }

    #[test]
    fn records_are_private_and_names_cannot_escape_the_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path());
        let mut e = entry("..");
        e.endpoint = "../etc/x".into();
        j.begin(&e).unwrap();
        let path = j.path_of("../etc/x", "..");
        assert_eq!(path.parent(), Some(dir.path()));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn one_process_holds_a_services_lock_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path());
        // flock locks belong to the open file: a second open in this process contends too.
        let held = j.lock("lab1", "cart").unwrap().expect("free at first");
        assert!(j.lock("lab1", "cart").unwrap().is_none());
        assert!(j.under_way("lab1", "cart"));
        assert!(!j.under_way("lab1", "other"));
        drop(held);
        assert!(!j.under_way("lab1", "cart"));
        // The lock file is no record.
        assert!(j.pending().is_empty());
    }

    #[test]
    fn the_journal_lives_beside_the_audit_log() {
        let j = Journal::beside(Path::new("/var/x/audit.jsonl"));
        assert_eq!(j.dir(), Path::new("/var/x/journal"));
    }

    #[test]
    fn a_torn_record_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path());
        std::fs::write(j.path_of("lab1", "cart"), b"{\"id\":").unwrap();
        assert!(matches!(
            j.begin(&entry("cart")),
            Err(BeginError::Unreadable { .. })
        ));
        assert!(j.find("lab1", "cart").is_err());
        assert!(j.pending()[0].is_err());
    }
}
