//! Recovery: an operation the journal holds (one a kill cut short, or whose own recovery
//! failed) finished or undone ([`recover`]) from whatever state the daemon is in now. It
//! looks at the containers, never trusts the step marks alone.

use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;

use super::carry;
use super::steps::{DeployResult, Progress, Steps, connect};
use crate::audit::Phase;
use crate::engine::gate::Gate;
use crate::engine::interrupt::Interrupt;
use crate::journal::{Journal, JournalEntry, Operation, Recovery};
use crate::model::actions::Action;
use crate::model::deploy::revision::{LABEL_REVISION, LABEL_SERVICE};

/// One container as recovery sees it.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    name: String,
    running: bool,
    service: Option<String>,
    revision: Option<u32>,
    /// The networks it is on.
    networks: Vec<String>,
}

impl Steps<'_> {
    /// The container called (or with the id) `which`; `None` when the daemon has none.
    async fn look(&self, which: &str) -> Result<Option<Seen>, String> {
        let docker = self
            .gate
            .reader(self.endpoint)
            .await
            .map_err(|e| format!("cannot reach the endpoint: {e}"))?;
        let found = tokio::time::timeout(
            Duration::from_secs(10),
            docker.inspect_container(which, None::<InspectContainerOptions>),
        )
        .await
        .map_err(|_| format!("no answer for 10 s inspecting {which}"))?;
        let c = match found {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "inspecting {which}: {}",
                    crate::engine::describe(&e)
                ));
            }
        };
        let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
        Ok(Some(Seen {
            id: c.id.clone().unwrap_or_default(),
            name: c
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            running: c.state.as_ref().and_then(|s| s.running).unwrap_or(false),
            service: labels.and_then(|l| l.get(LABEL_SERVICE).cloned()),
            revision: labels
                .and_then(|l| l.get(LABEL_REVISION))
                .and_then(|r| r.parse().ok()),
            networks: carry::networks_of(&c)
                .into_iter()
                .map(|(n, _, _)| n)
                .collect(),
        }))
    }

    /// One step that must work for recovery to go on: `Err` with what failed.
    async fn must(&self, id: &str, name: &str, action: Action) -> Result<(), String> {
        let what = action.describe();
        let r = self.act(id, name, action).await;
        if r.is_ok() {
            Ok(())
        } else {
            Err(format!("{what} {name} {}", r.text()))
        }
    }
}

/// Finishes or undoes an operation that the journal holds (one a kill cut short, or whose
/// own recovery failed), from whatever state the daemon is in now. Every step looks first:
/// a step already done is not done again, so recovery may itself be cut short and run again.
pub async fn recover(
    gate: &Gate,
    entry: JournalEntry,
    how: Recovery,
    progress: Progress<'_>,
    interrupt: &Interrupt,
) -> DeployResult {
    let Some(endpoint) = gate.endpoint_id(&entry.endpoint) else {
        return DeployResult::Refused {
            reason: format!(
                "the journal names endpoint {}, which the config does not have",
                entry.endpoint
            ),
        };
    };
    if gate.is_read_only(endpoint) {
        return DeployResult::Refused {
            reason: format!("endpoint {} is read-only", entry.endpoint),
        };
    }
    let identity = gate.audit().identity();
    let mut steps = Steps::new(
        gate,
        endpoint,
        format!("{}/{}", entry.endpoint, entry.service),
        progress,
        interrupt,
    );
    let journal = Journal::beside(gate.audit().path());
    if let Err(reason) = steps.take_lock(&journal, &entry.endpoint, &entry.service) {
        return DeployResult::Refused { reason };
    }
    // Read again under the lock: another process may have finished it meanwhile.
    let entry = match journal.find(&entry.endpoint, &entry.service) {
        Ok(Some(now)) if now.id == entry.id => now,
        Ok(_) => {
            return DeployResult::Refused {
                reason: format!(
                    "the {} of {}/{} was ended meanwhile by another fleetdeck process; nothing \
                     was changed",
                    entry.op.verb(),
                    entry.endpoint,
                    entry.service
                ),
            };
        }
        Err(reason) => return DeployResult::Refused { reason },
    };
    let verb = match how {
        Recovery::Finish => "resume",
        Recovery::Undo => "undo",
    };
    let subject = gate.subject(
        endpoint,
        "",
        &entry.service,
        &format!("{}-{verb}", entry.op.verb()),
        serde_json::json!({ "of": entry.id, "revision": entry.to.revision }),
    );
    let attempt = match gate.audit().started(subject).await {
        Ok(a) => a,
        Err(e) => {
            return DeployResult::Refused {
                reason: format!(
                    "cannot write the audit log {}: {e}; nothing was changed",
                    gate.audit().path().display()
                ),
            };
        }
    };
    steps.operation = Some(attempt.id.clone());
    steps.attempt = Some(attempt);
    steps.journal = Some((journal, Mutex::new(entry.clone())));
    steps.say(format!(
        "{} the interrupted {}",
        match how {
            Recovery::Finish => "finishing",
            Recovery::Undo => "undoing",
        },
        entry.describe()
    ));
    let result = match (entry.op, how) {
        (Operation::Deploy, Recovery::Finish) => finish_deploy(&steps, &entry).await,
        (Operation::Rollback, Recovery::Finish) => finish_rollback(&steps, &entry).await,
        (_, Recovery::Undo) => {
            undo(&steps, &entry)
                .await
                .map_or_else(DeployResult::unfinished, |id| DeployResult::Done {
                    id,
                    after: Duration::ZERO,
                })
        }
    };
    let result = steps.close(result).await;
    // The interrupted operation's own record gets its end, naming what ended it.
    if !matches!(
        result,
        DeployResult::Failed {
            unfinished: true,
            ..
        }
    ) {
        let original = gate.subject(
            endpoint,
            "",
            &entry.service,
            entry.op.verb(),
            serde_json::json!({}),
        );
        let ended = match (&result, how) {
            (DeployResult::Done { .. }, Recovery::Finish) => "finished",
            (DeployResult::Done { .. }, Recovery::Undo) => "undone",
            _ => "ended",
        };
        let note = format!(
            "stopped {}; {ended} later by {} ({})",
            entry.done.last().map_or_else(
                || "before its first step".to_string(),
                |s| format!("after: {s}")
            ),
            format_args!("{}@{} pid {}", identity.user, identity.host, identity.pid),
            steps.operation.as_deref().unwrap_or_default()
        );
        if let Err(e) = gate
            .audit()
            .conclude(&entry.id, &original, Phase::Interrupted, Some(note))
            .await
        {
            steps.say(format!("warning: cannot write the audit log: {e}"));
        }
    }
    result
}

/// Moves the revision that ran before aside again (renamed to its kept name, stopped).
async fn set_from_aside(steps: &Steps<'_>, entry: &JournalEntry) -> Result<(), String> {
    let Some(from) = &entry.from else {
        return Ok(());
    };
    let Some(old) = steps.look(&from.id).await? else {
        // Gone (removed by hand): nothing to move aside.
        return Ok(());
    };
    if old.name == entry.service {
        steps
            .must(
                &old.id,
                &entry.service,
                Action::Rename {
                    to: from.kept_name.clone(),
                },
            )
            .await?;
    }
    if old.running {
        steps
            .must(&old.id, &from.kept_name, Action::Stop { timeout_s: None })
            .await?;
    }
    Ok(())
}

async fn finish_deploy(steps: &Steps<'_>, entry: &JournalEntry) -> DeployResult {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    if let Err(e) = set_from_aside(steps, entry).await {
        return DeployResult::unfinished(format!("moving the previous revision aside: {e}"));
    }
    let new = match steps.look(name).await {
        Err(e) => return DeployResult::unfinished(e),
        Ok(Some(c))
            if c.service.as_deref() == Some(name.as_str())
                && c.revision == Some(entry.to.revision) =>
        {
            c
        }
        Ok(Some(c)) => {
            return DeployResult::unfinished(format!(
                "{name} is held by container {}, not revision {} of this deploy: check it by hand",
                short(&c.id),
                entry.to.revision
            ));
        }
        Ok(None) => {
            let Some(create) = &entry.create else {
                return DeployResult::unfinished(
                    "the journal holds no container spec to create it from".into(),
                );
            };
            if let Err(e) = steps
                .must(
                    "",
                    name,
                    Action::Create {
                        spec: Box::new(create.clone()),
                    },
                )
                .await
            {
                return recovered_or_not(steps, entry, e).await;
            }
            match steps.look(name).await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    return DeployResult::unfinished(format!(
                        "{name} was created but cannot be found"
                    ));
                }
                Err(e) => return DeployResult::unfinished(e),
            }
        }
    };
    steps.learn_new_id(&new.id);
    if !new.running {
        // Created, perhaps cut short before it joined all its networks.
        let wanted = entry.create.as_ref().map_or(&[][..], |c| &c.networks[..]);
        for net in wanted.iter().filter(|n| !new.networks.contains(&n.name)) {
            if let Err(e) = steps.must(&new.id, name, connect(net)).await {
                return recovered_or_not(steps, entry, e).await;
            }
        }
        if let Err(e) = steps.must(&new.id, name, Action::Start).await {
            return recovered_or_not(steps, entry, e).await;
        }
    }
    match steps.wait_up(&new.id, name, limit, true).await {
        Ok(after) => {
            steps.say(format!(
                "revision {} is up after {:.1} s",
                entry.to.revision,
                after.as_secs_f64()
            ));
            for (id, kept) in &entry.prune {
                steps
                    .act(
                        id,
                        kept,
                        Action::Remove {
                            volumes: false,
                            force: false,
                        },
                    )
                    .await;
            }
            DeployResult::Done { id: new.id, after }
        }
        Err(reason) => recovered_or_not(steps, entry, reason).await,
    }
}

async fn finish_rollback(steps: &Steps<'_>, entry: &JournalEntry) -> DeployResult {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    if let Err(e) = set_from_aside(steps, entry).await {
        return DeployResult::unfinished(format!("moving the current revision aside: {e}"));
    }
    let Some(target_id) = &entry.to.id else {
        return DeployResult::unfinished(
            "the journal does not name the revision to roll back to".into(),
        );
    };
    let target = match steps.look(target_id).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return recovered_or_not(
                steps,
                entry,
                format!(
                    "revision {} ({}) is gone",
                    entry.to.revision,
                    short(target_id)
                ),
            )
            .await;
        }
        Err(e) => return DeployResult::unfinished(e),
    };
    if target.name != *name
        && let Err(e) = steps
            .must(
                &target.id,
                &target.name,
                Action::Rename { to: name.clone() },
            )
            .await
    {
        return recovered_or_not(steps, entry, e).await;
    }
    if !target.running
        && let Err(e) = steps.must(&target.id, name, Action::Start).await
    {
        return recovered_or_not(steps, entry, e).await;
    }
    match steps.wait_up(&target.id, name, limit, true).await {
        Ok(after) => DeployResult::Done {
            id: target.id,
            after,
        },
        Err(reason) => recovered_or_not(steps, entry, reason).await,
    }
}

/// Finishing failed for `reason`: undone, so the revision that ran before runs again.
async fn recovered_or_not(steps: &Steps<'_>, entry: &JournalEntry, reason: String) -> DeployResult {
    steps.say(format!(
        "AUTOMATIC ROLLBACK: revision {} failed ({reason}); putting back what ran before",
        entry.to.revision
    ));
    match undo(steps, entry).await {
        Ok(_) => DeployResult::RolledBack {
            reason: format!(
                "revision {} failed: {reason}; {} runs the previous revision again",
                entry.to.revision, entry.service
            ),
        },
        Err(e) => DeployResult::unfinished(format!(
            "revision {} failed ({reason}) and undoing failed too: {e}",
            entry.to.revision
        )),
    }
}

/// Puts back what ran before the operation: whatever this operation put under the service's
/// name goes (a deploy's new container removed; a rollback's target renamed back to its kept
/// name and stopped), and the previous revision gets the name back, running if it ran.
/// Returns the id now under the name (empty when nothing ran there before).
async fn undo(steps: &Steps<'_>, entry: &JournalEntry) -> Result<String, String> {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    let from_id = entry.from.as_ref().map(|f| f.id.as_str());
    match entry.op {
        Operation::Deploy => {
            if let Some(c) = steps.look(name).await?
                && Some(c.id.as_str()) != from_id
            {
                if c.service.as_deref() != Some(name.as_str())
                    || c.revision != Some(entry.to.revision)
                {
                    return Err(format!(
                        "{name} is held by container {}, not revision {} of this deploy: check it by hand",
                        short(&c.id),
                        entry.to.revision
                    ));
                }
                steps
                    .must(
                        &c.id,
                        name,
                        Action::Remove {
                            volumes: false,
                            force: true,
                        },
                    )
                    .await?;
            }
        }
        Operation::Rollback => {
            if let (Some(id), Some(kept)) = (&entry.to.id, &entry.to.kept_name)
                && let Some(t) = steps.look(id).await?
            {
                if t.running {
                    steps
                        .must(&t.id, &t.name, Action::Stop { timeout_s: None })
                        .await?;
                }
                if t.name != *kept {
                    steps
                        .must(&t.id, &t.name, Action::Rename { to: kept.clone() })
                        .await?;
                }
            }
        }
    }
    let Some(from) = &entry.from else {
        steps.say(format!(
            "undone: nothing ran as {name} before, nothing does now"
        ));
        return Ok(String::new());
    };
    let old = steps
        .look(&from.id)
        .await?
        .ok_or_else(|| format!("revision {} ({}) is gone", from.revision, short(&from.id)))?;
    if old.name != *name {
        steps
            .must(&old.id, &old.name, Action::Rename { to: name.clone() })
            .await?;
    }
    if from.was_running {
        if !old.running {
            steps.must(&old.id, name, Action::Start).await?;
        }
        steps.wait_up(&old.id, name, limit, false).await?;
    }
    steps.say(format!(
        "revision {} ({}) runs as {name} again{}",
        from.revision,
        from.image,
        entry
            .ip
            .as_deref()
            .map(|ip| format!(" at {ip}"))
            .unwrap_or_default()
    ));
    Ok(old.id)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
