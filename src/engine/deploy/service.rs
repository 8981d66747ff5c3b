//! A service of several replicas, rolled over one batch at a time: each replica is deployed
//! like a service of one (its own journal record, lock, audit record and automatic rollback),
//! the replicas of a batch at once, and the next batch starts only when all of them are up.
//! The first batch that fails is rolled back whole and nothing after it starts: the replicas
//! before it stay on the new revision, those after it on the old one, and the result says
//! which is where. Replicas beyond the wanted count are removed last.

use std::time::{Duration, Instant};

use futures::future::join_all;

use super::new_revision::deploy;
use super::rollback::rollback;
use super::steps::{DeployResult, Progress};
use crate::engine::gate::Gate;
use crate::engine::interrupt::Interrupt;
use crate::model::actions::{Action, ActionRequest};
use crate::model::deploy::replicas::ServicePlan;
use crate::model::deploy::revision::{CurrentRevision, KeptRevision, RollbackPlan, kept_name};
use crate::model::deploy::{DeployKind, DeployPlan};

/// Rolls `plan` over its replicas; `Done` when every replica runs the new revision.
pub async fn deploy_service(
    gate: &Gate,
    plan: &ServicePlan,
    progress: Progress<'_>,
    interrupt: &Interrupt,
) -> DeployResult {
    let started = Instant::now();
    let mut updated: Vec<&str> = Vec::new();
    let batches: Vec<&[DeployPlan]> = plan.batches().collect();
    for (n, batch) in batches.iter().enumerate() {
        let names: Vec<&str> = batch.iter().map(|p| p.name.as_str()).collect();
        let left: Vec<&str> = batches[n..]
            .iter()
            .flat_map(|b| b.iter().map(|p| p.name.as_str()))
            .collect();
        if let Some(why) = interrupt.reason() {
            return DeployResult::Interrupted {
                reason: format!(
                    "{why} before batch {} of {}; {}",
                    n + 1,
                    batches.len(),
                    where_they_are(&updated, &left)
                ),
            };
        }
        progress(format!(
            "{}: batch {} of {}: {}",
            plan.name,
            n + 1,
            batches.len(),
            names.join(", ")
        ));
        let results = join_all(batch.iter().map(|p| deploy(gate, p, progress, interrupt))).await;
        if results.iter().all(DeployResult::is_ok) {
            updated.extend(&names);
            continue;
        }
        // The batch failed: the replicas of it that came up go back too.
        let mut unfinished = results.iter().any(|r| {
            matches!(
                r,
                DeployResult::Failed {
                    unfinished: true,
                    ..
                }
            )
        });
        let mut back = Vec::new();
        for (p, r) in batch.iter().zip(&results) {
            let DeployResult::Done { id, .. } = r else {
                continue;
            };
            let undone = undo_replica(gate, p, id, progress).await;
            if !undone.is_ok() {
                unfinished |= matches!(
                    undone,
                    DeployResult::Failed {
                        unfinished: true,
                        ..
                    }
                );
                back.push(format!(
                    "{} could not be put back: {}",
                    p.name,
                    words(&undone)
                ));
            }
        }
        let failures: Vec<String> = batch
            .iter()
            .zip(&results)
            .filter(|(_, r)| !r.is_ok())
            .map(|(p, r)| format!("{} on {}: {}", p.name, p.endpoint_name, words(r)))
            .collect();
        let after: Vec<&str> = batches[n + 1..]
            .iter()
            .flat_map(|b| b.iter().map(|p| p.name.as_str()))
            .collect();
        let mut reason = format!(
            "{}; batch {} of {} ({}) rolled back{}; {}",
            failures.join("; "),
            n + 1,
            batches.len(),
            names.join(", "),
            if back.is_empty() {
                String::new()
            } else {
                format!(" but {}", back.join("; "))
            },
            where_they_are(&updated, &[&names[..], &after[..]].concat()),
        );
        if !plan.remove.is_empty() {
            reason.push_str("; no replica was removed");
        }
        let interrupted = results
            .iter()
            .any(|r| matches!(r, DeployResult::Interrupted { .. }));
        return if unfinished || !back.is_empty() {
            DeployResult::Failed { reason, unfinished }
        } else if interrupted {
            DeployResult::Interrupted { reason }
        } else {
            DeployResult::RolledBack { reason }
        };
    }
    // Scaled down: the replicas beyond the count go, with their kept revisions.
    let mut left_over = Vec::new();
    for r in &plan.remove {
        for (id, name) in &r.containers {
            let o = gate
                .apply(ActionRequest {
                    endpoint: r.endpoint,
                    container_id: id.clone(),
                    container: name.clone(),
                    action: Action::Remove {
                        volumes: false,
                        force: true,
                    },
                })
                .await;
            progress(format!(
                "{}/{name}: remove (scaled down): {}",
                r.endpoint_name,
                o.result.text()
            ));
            if !o.result.is_ok() {
                left_over.push(format!("{}/{name}", r.endpoint_name));
            }
        }
    }
    if !left_over.is_empty() {
        return DeployResult::Failed {
            reason: format!(
                "every replica runs the new revision, but {} could not be removed (deploy \
                 again to retry)",
                left_over.join(", ")
            ),
            unfinished: false,
        };
    }
    DeployResult::Done {
        id: String::new(),
        after: started.elapsed(),
    }
}

/// "cart-1 on the new revision; cart-2, cart-3 as they were".
fn where_they_are(updated: &[&str], untouched: &[&str]) -> String {
    match (updated.is_empty(), untouched.is_empty()) {
        (true, _) => format!("{} as they were", untouched.join(", ")),
        (false, true) => format!("{} on the new revision", updated.join(", ")),
        (false, false) => format!(
            "{} on the new revision; {} as they were",
            updated.join(", "),
            untouched.join(", ")
        ),
    }
}

/// A result in a few words.
fn words(r: &DeployResult) -> String {
    match r {
        DeployResult::Done { .. } => "done".into(),
        DeployResult::RolledBack { reason } => format!("failed and rolled back ({reason})"),
        DeployResult::Failed { reason, .. } => format!("failed ({reason})"),
        DeployResult::Refused { reason } => format!("refused ({reason})"),
        DeployResult::Interrupted { reason } => format!("interrupted ({reason})"),
    }
}

/// Takes back a replica's update that succeeded in a batch that failed: the previous revision
/// runs again; a replica that was new is removed.
async fn undo_replica(
    gate: &Gate,
    p: &DeployPlan,
    new_id: &str,
    progress: Progress<'_>,
) -> DeployResult {
    match &p.kind {
        DeployKind::Update {
            old_id,
            old_image,
            old_revision,
            ..
        } => {
            let plan = RollbackPlan {
                endpoint: p.endpoint,
                endpoint_name: p.endpoint_name.clone(),
                service: p.name.clone(),
                current: Some(CurrentRevision {
                    id: new_id.to_string(),
                    revision: p.revision,
                    image: p.image.clone(),
                    running: true,
                }),
                target: KeptRevision {
                    id: old_id.clone(),
                    name: kept_name(&p.name, *old_revision),
                    revision: *old_revision,
                    image: old_image.clone(),
                    at: None,
                    by: None,
                    running: false,
                },
                wait_s: p.wait_s,
            };
            let back = rollback(gate, &plan, progress, &Interrupt::never()).await;
            if !back.is_ok() {
                return back;
            }
            // The revision of the batch that failed is no revision to go back to: it is not
            // kept, so a later `rollback NAME` goes to the one before, as for the replicas
            // whose own update failed.
            let o = gate
                .apply(ActionRequest {
                    endpoint: p.endpoint,
                    container_id: new_id.to_string(),
                    container: kept_name(&p.name, p.revision),
                    action: Action::Remove {
                        volumes: false,
                        force: true,
                    },
                })
                .await;
            progress(format!(
                "{}/{}: remove (its batch failed): {}",
                p.endpoint_name,
                kept_name(&p.name, p.revision),
                o.result.text()
            ));
            back
        }
        DeployKind::New => {
            let o = gate
                .apply(ActionRequest {
                    endpoint: p.endpoint,
                    container_id: new_id.to_string(),
                    container: p.name.clone(),
                    action: Action::Remove {
                        volumes: false,
                        force: true,
                    },
                })
                .await;
            progress(format!(
                "{}/{}: remove (its batch failed): {}",
                p.endpoint_name,
                p.name,
                o.result.text()
            ));
            if o.result.is_ok() {
                DeployResult::Done {
                    id: String::new(),
                    after: Duration::ZERO,
                }
            } else {
                DeployResult::Failed {
                    reason: o.result.text(),
                    unfinished: false,
                }
            }
        }
    }
}
