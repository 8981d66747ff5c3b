//! The app's side of container actions: which containers a key means (the marked ones, else the
//! selected one or the open detail panel's), the confirmation that names them, read-only
//! refusals said plainly, and the commands that hand the requests to the engine's gate. The gate
//! refuses read-only endpoints again on its side: this is the courtesy, that is the guarantee.

use super::{Action, App, Command};
use crate::model::actions::{self as act, ActionRequest, PlanItem};
use crate::model::query::RowKey;
use crate::ui::state::Confirm;

/// Signals offered when killing, in the order Tab cycles through them.
pub const KILL_SIGNALS: [&str; 5] = ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1"];

impl App {
    /// The containers an action key means.
    fn action_targets(&self) -> Vec<RowKey> {
        if let Some(key) = &self.view.detail {
            return vec![key.clone()];
        }
        if !self.view.marked.is_empty() {
            return self.view.marked.clone();
        }
        self.rows()
            .keys
            .get(self.view.selected)
            .cloned()
            .into_iter()
            .collect()
    }

    fn requests(
        &self,
        keys: &[RowKey],
        action: &act::Action,
    ) -> (Vec<ActionRequest>, Vec<PlanItem>) {
        let mut reqs = Vec::new();
        let mut items = Vec::new();
        for k in keys {
            let Some(ep) = self.fleet.endpoints.get(k.endpoint) else {
                continue;
            };
            let Some(c) = ep.containers.get(&k.id) else {
                continue;
            };
            reqs.push(ActionRequest {
                endpoint: k.endpoint,
                container_id: c.id.clone(),
                container: c.name.clone(),
                action: action.clone(),
            });
            items.push(PlanItem {
                endpoint: ep.name().to_string(),
                container: c.name.clone(),
                state: c.state.as_str().to_string(),
                read_only: ep.is_read_only(),
            });
        }
        (reqs, items)
    }

    /// An action key: refuse what cannot be done and say why, confirm what is destructive,
    /// submit the rest.
    pub(super) fn prepare_action(&mut self, key: Action) {
        let keys = self.action_targets();
        if keys.is_empty() {
            self.view.message = Some("no container selected".into());
            return;
        }
        let action = match key {
            Action::ActStart => act::Action::Start,
            Action::ActStop => act::Action::Stop { timeout_s: None },
            Action::ActRestart | Action::ActRolling => act::Action::Restart { timeout_s: None },
            Action::ActPause => {
                // Toggle: unpause when every target is paused.
                let all_paused = keys.iter().all(|k| {
                    self.fleet
                        .endpoints
                        .get(k.endpoint)
                        .and_then(|e| e.containers.get(&k.id))
                        .is_some_and(|c| c.state == crate::model::ContainerState::Paused)
                });
                if all_paused {
                    act::Action::Unpause
                } else {
                    act::Action::Pause
                }
            }
            Action::ActKill => act::Action::Kill {
                signal: KILL_SIGNALS[0].to_string(),
            },
            Action::ActRemove => act::Action::Remove {
                volumes: false,
                force: false,
            },
            _ => return,
        };
        let (reqs, items) = self.requests(&keys, &action);
        if items.iter().all(|i| i.read_only) {
            let mut eps: Vec<&str> = items.iter().map(|i| i.endpoint.as_str()).collect();
            eps.dedup();
            self.view.message = Some(format!(
                "{} refused: {} {} read-only (--write or read_only = false to allow changes)",
                action.verb(),
                eps.join(", "),
                if eps.len() == 1 { "is" } else { "are" }
            ));
            // Still handed to the gate, which refuses without a connection and writes the
            // refusal to the audit log: who tried what on a read-only endpoint is on record.
            self.commands.push(Command::Actions { requests: reqs });
            return;
        }
        let rolling = key == Action::ActRolling;
        if action.is_destructive() || rolling {
            self.view.confirm = Some(Confirm {
                action,
                requests: reqs,
                items,
                rolling,
            });
        } else {
            self.submit(reqs, false);
        }
    }

    fn submit(&mut self, reqs: Vec<ActionRequest>, rolling: bool) {
        if reqs.iter().all(|r| r.action.is_swarm()) {
            for r in reqs {
                self.view.message = Some(format!("{}: {}…", r.container, r.action.describe()));
                self.commands.push(Command::Swarm { request: r });
            }
            return;
        }
        self.view.message = Some(format!(
            "{} {} container{}…",
            reqs.first().map_or("", |r| r.action.verb()),
            reqs.len(),
            if reqs.len() == 1 { "" } else { "s" }
        ));
        self.commands.push(if rolling {
            Command::RollingRestart { requests: reqs }
        } else {
            Command::Actions { requests: reqs }
        });
    }

    /// Keys while a confirmation is open.
    pub(super) fn confirm_action(&mut self, key: Action) {
        let Some(confirm) = self.view.confirm.as_mut() else {
            return;
        };
        match key {
            Action::Confirm => {
                if let Some(c) = self.view.confirm.take() {
                    self.view.marked.clear();
                    self.submit(c.requests, c.rolling);
                }
            }
            Action::Close => {
                self.view.confirm = None;
                self.view.message = Some("cancelled: nothing was sent".into());
            }
            // Tab: the next signal for kill; with or without volumes for rm.
            Action::NextView => {
                let next = match &confirm.action {
                    act::Action::Kill { signal } => {
                        let i = KILL_SIGNALS.iter().position(|s| s == signal).unwrap_or(0);
                        act::Action::Kill {
                            signal: KILL_SIGNALS[(i + 1) % KILL_SIGNALS.len()].to_string(),
                        }
                    }
                    act::Action::Remove { volumes, force } => act::Action::Remove {
                        volumes: !volumes,
                        force: *force,
                    },
                    other => other.clone(),
                };
                confirm.action = next.clone();
                for r in &mut confirm.requests {
                    r.action = next.clone();
                }
            }
            _ => {}
        }
    }
}
