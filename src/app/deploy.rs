//! The app's side of deploys: the form (opened on the selected container, or empty), checked
//! on every keystroke; the plan confirmation; the rollback key on a container that has a kept
//! revision. Deploys and rollbacks go to the engine as commands; the gate refuses read-only
//! endpoints there, whatever is shown here.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Command};
use crate::journal::{JournalEntry, Recovery};
use crate::model::View;
use crate::model::deploy::carry::Review;
use crate::model::deploy::form::{FIELDS, FormFields, check_form};
use crate::model::deploy::revision::{LABEL_SERVICE, rollback_plan};
use crate::model::deploy::{DeployPlan, Deployer, revision};
use crate::ui::deploy::{DeployForm, PlannedWork};

/// What `[deploy]` says, and who deploys, for the plans the form makes.
#[derive(Debug, Clone)]
pub struct DeployContext {
    pub keep_revisions: usize,
    pub wait_s: u64,
    /// `user@host`, written into each revision's labels.
    pub who: String,
    /// Deploys and rollbacks the journal holds unfinished (read at start): on their service,
    /// `d` finishes one and `b` undoes it.
    pub unfinished: Vec<JournalEntry>,
}

impl App {
    /// The form's starting values: the selected container's service (to update it), else a
    /// blank form aimed at the selected endpoint.
    fn form_defaults(&self) -> FormFields {
        let key = self.target_key();
        let selected = match self.view.view {
            View::Containers => key.and_then(|k| {
                let ep = self.fleet.endpoints.get(k.endpoint)?;
                Some((ep, ep.containers.get(&k.id)?))
            }),
            _ => None,
        };
        match selected {
            Some((ep, c)) => {
                let command = match c.detail.command.as_slice() {
                    [sh, flag, script] if sh == "sh" && flag == "-c" => script.clone(),
                    other => other.join(" "),
                };
                // The network it joined first (its others are carried over by the update);
                // the default bridge is the form's empty network.
                let network = match c.detail.network_mode.as_str() {
                    "" => c
                        .networks
                        .iter()
                        .map(|n| n.network.clone())
                        .find(|n| n != "bridge")
                        .unwrap_or_default(),
                    // No network of its own: the update keeps that mode.
                    "default" | "bridge" | "host" | "none" => String::new(),
                    mode if mode.starts_with("container:") => String::new(),
                    mode => mode.to_string(),
                };
                FormFields {
                    name: c
                        .labels
                        .get(LABEL_SERVICE)
                        .cloned()
                        .unwrap_or_else(|| c.name.clone()),
                    image: c.image.clone(),
                    command,
                    ip: if network.is_empty() { "" } else { "auto" }.into(),
                    network,
                    ports: String::new(),
                    to: ep.name().to_string(),
                }
            }
            None => FormFields {
                ip: "auto".into(),
                to: self
                    .fleet
                    .endpoints
                    .get(self.view.selected_endpoint)
                    .map(|e| e.name().to_string())
                    .unwrap_or_default(),
                ..FormFields::default()
            },
        }
    }

    /// The journal's unfinished operations, said on the status line until one is dealt with.
    pub fn set_unfinished(&mut self, entries: Vec<JournalEntry>) {
        if let Some(first) = entries.first() {
            self.view.message = Some(format!(
                "UNFINISHED {}{}: select it and press d to finish it, b to undo it",
                first.describe(),
                match entries.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            ));
        }
        self.deploy.unfinished = entries;
    }

    /// The selected container's unfinished operation, if the journal holds one: the record
    /// whose service is the container's (by label, or by name).
    fn unfinished_of_selected(&self) -> Option<&JournalEntry> {
        let key = self.target_key()?;
        let ep = self.fleet.endpoints.get(key.endpoint)?;
        let c = ep.containers.get(&key.id)?;
        let service = c
            .labels
            .get(LABEL_SERVICE)
            .map_or(c.name.as_str(), String::as_str);
        self.deploy
            .unfinished
            .iter()
            .find(|e| e.endpoint == ep.name() && e.service == service)
    }

    /// `d` or `b` on a service with an unfinished operation: finishing or undoing it, to confirm.
    fn plan_recovery(&mut self, how: Recovery) -> bool {
        let Some(entry) = self.unfinished_of_selected().cloned() else {
            return false;
        };
        self.view.plan = Some(PlannedWork::Recover(Box::new(entry), how));
        true
    }

    pub(super) fn open_deploy_form(&mut self) {
        if self.plan_recovery(Recovery::Finish) {
            return;
        }
        // A row from the list alone has no command or network mode yet: a form prefilled
        // from it would offer to drop them. The inspect follows within seconds.
        if let Some(name) = self.selected_awaiting_details() {
            self.view.message = Some(format!(
                "{name}: its details (command, networks) are still loading; press d again in a moment"
            ));
            return;
        }
        let mut form = DeployForm::new(&self.form_defaults());
        self.check_deploy_form(&mut form);
        self.view.deploy_form = Some(form);
    }

    /// The selected container's name when the form would update it but its inspect is not in.
    fn selected_awaiting_details(&self) -> Option<String> {
        if self.view.view != View::Containers {
            return None;
        }
        let k = self.target_key()?;
        let ep = self.fleet.endpoints.get(k.endpoint)?;
        let c = ep.containers.get(&k.id)?;
        (!ep.has_details(&k.id)).then(|| c.name.clone())
    }

    fn deployer(&self) -> Deployer {
        Deployer {
            who: self.deploy.who.clone(),
            at: self.now,
        }
    }

    fn check_deploy_form(&self, form: &mut DeployForm) {
        match check_form(
            &form.values(),
            &self.fleet,
            self.deploy.keep_revisions,
            self.deploy.wait_s,
            &self.deployer(),
        ) {
            Ok(plan) => {
                form.problems.clear();
                form.plan = Some(plan);
            }
            Err(problems) => {
                form.problems = problems;
                form.plan = None;
            }
        }
    }

    /// A key while the form is open: move between fields, plan, cancel, or type.
    pub(super) fn edit_deploy_form(&mut self, key: KeyEvent) {
        let Some(mut form) = self.view.deploy_form.take() else {
            return;
        };
        let n = FIELDS.len();
        match key.code {
            KeyCode::Esc => {
                self.view.message = Some("deploy cancelled: nothing was sent".into());
                return;
            }
            KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + n - 1) % n,
            KeyCode::Enter => {
                // Checked against the fleet as it is now, not as it was at the last keystroke.
                self.check_deploy_form(&mut form);
                match form.plan.clone() {
                    Some(plan) => {
                        // An update: the engine reads the running revision, and the plan
                        // shows every change once it answers.
                        if plan.review == Review::Pending {
                            self.commands.push(Command::ReviewDeploy {
                                plan: Box::new(plan.clone()),
                            });
                        }
                        self.view.plan = Some(PlannedWork::Deploy(Box::new(plan)));
                        return;
                    }
                    None => {
                        if let Some(i) = form
                            .problems
                            .first()
                            .and_then(|p| FIELDS.iter().position(|f| *f == p.key))
                        {
                            form.focus = i;
                        }
                    }
                }
            }
            _ => {
                if let Some(field) = form.fields.get_mut(form.focus) {
                    field.input(key);
                }
                self.check_deploy_form(&mut form);
            }
        }
        self.view.deploy_form = Some(form);
    }

    /// The rollback key: the plan of going back to the selected service's newest kept
    /// revision, for confirmation.
    pub(super) fn prepare_rollback(&mut self) {
        // An interrupted deploy or rollback of this service: rolling back is undoing it (the
        // gate still refuses a read-only endpoint).
        if self.plan_recovery(Recovery::Undo) {
            return;
        }
        let key = self.target_key();
        let Some((ep, c)) = key.and_then(|k| {
            let ep = self.fleet.endpoints.get(k.endpoint)?;
            Some((ep, ep.containers.get(&k.id)?))
        }) else {
            self.view.message = Some("no container selected".into());
            return;
        };
        if ep.is_read_only() {
            self.view.message = Some(format!(
                "{} is read-only: nothing can be rolled back there",
                ep.name()
            ));
            return;
        }
        if !revision::can_roll_back(ep, c) {
            self.view.message = Some(format!(
                "{}/{} has no kept revision to roll back to (deploy it with fleetdeck first)",
                ep.name(),
                c.name
            ));
            return;
        }
        match rollback_plan(&self.fleet, ep.name(), &c.name, self.deploy.wait_s) {
            Ok(plan) => self.view.plan = Some(PlannedWork::Rollback(Box::new(plan))),
            Err(e) => self.view.message = Some(e),
        }
    }

    /// The engine's reading of the plan on screen: it takes the plan's place (an answer for
    /// another plan, one closed or replaced meanwhile, is dropped). Redraws when taken.
    pub(super) fn apply_review(&mut self, reviewed: Box<DeployPlan>) -> bool {
        let Some(PlannedWork::Deploy(shown)) = &self.view.plan else {
            return false;
        };
        let same = shown.endpoint == reviewed.endpoint
            && shown.name == reviewed.name
            && shown.revision == reviewed.revision
            && shown.review == Review::Pending;
        if same {
            self.view.plan = Some(PlannedWork::Deploy(reviewed));
        }
        same
    }

    /// y or n on a deploy or rollback plan.
    pub(super) fn confirm_plan(&mut self, action: Action) {
        match action {
            Action::Confirm => {
                if let Some(work) = self.view.plan.take() {
                    let (what, command) = match work {
                        PlannedWork::Deploy(plan) => (
                            format!("deploying {}/{}…", plan.endpoint_name, plan.name),
                            Command::Deploy { plan },
                        ),
                        PlannedWork::Rollback(plan) => (
                            format!("rolling back {}/{}…", plan.endpoint_name, plan.service),
                            Command::Rollback { plan },
                        ),
                        PlannedWork::Recover(entry, how) => {
                            self.deploy.unfinished.retain(|e| {
                                e.endpoint != entry.endpoint || e.service != entry.service
                            });
                            (
                                format!(
                                    "{} {}/{}…",
                                    match how {
                                        Recovery::Finish => "finishing",
                                        Recovery::Undo => "undoing",
                                    },
                                    entry.endpoint,
                                    entry.service
                                ),
                                Command::Recover { entry, how },
                            )
                        }
                    };
                    self.view.message = Some(what);
                    self.commands.push(command);
                }
            }
            Action::Close => {
                self.view.plan = None;
                self.view.message = Some("cancelled: nothing was sent".into());
            }
            _ => {}
        }
    }
}
