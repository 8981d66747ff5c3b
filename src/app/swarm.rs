//! The app's side of the Swarm views: selection, a service's tasks, the scale and image inputs,
//! and the plans that send node and service actions to the gate. As for containers, a
//! read-only endpoint is refused here with its reason and again, for the record, by the gate.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Command, step};
use crate::model::View;
use crate::model::actions::{self as act, ActionRequest, PlanItem};
use crate::model::inspect::InspectTarget;
use crate::model::logs::{LogSource, SERVICE_SOURCE};
use crate::model::swarm::{Availability, ServiceMode};
use crate::ui::containers::visible_offset;
use crate::ui::nodes::shown_nodes;
use crate::ui::services::{ServiceKey, shown_services};
use crate::ui::state::{Confirm, SwarmAsk, SwarmInput};

/// A service an action key means, as the plan names it.
struct Chosen {
    endpoint: usize,
    key: ServiceKey,
    name: String,
    mode: ServiceMode,
    image: String,
    running: usize,
    desired: usize,
}

/// How far a movement key moves the selection in a list `page` rows high.
fn delta_of(action: Action, page: usize) -> Option<isize> {
    let page = isize::try_from(page).unwrap_or(isize::MAX / 4);
    Some(match action {
        Action::Down => 1,
        Action::Up => -1,
        Action::PageDown => page,
        Action::PageUp => -page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        _ => return None,
    })
}

impl App {
    /// What `i` inspects in the nodes and services views: the selected node or service, asked
    /// of the manager whose reading shows it; the endpoint, the target and the title's words.
    pub(super) fn swarm_inspect_target(&self) -> Option<(usize, InspectTarget, String)> {
        let manager = |endpoint: usize| {
            self.fleet
                .endpoints
                .get(endpoint)
                .map_or("?", |e| e.name())
                .to_string()
        };
        match self.view.view {
            View::Nodes => {
                let swarms = self.fleet.swarms();
                let nodes = shown_nodes(&swarms);
                let (swarm, node) =
                    nodes.get(self.view.node_selected.min(nodes.len().saturating_sub(1)))?;
                let endpoint = swarms[*swarm].endpoint;
                let subject = format!("node {} via {}", node.hostname, manager(endpoint));
                Some((endpoint, InspectTarget::Node(node.id.clone()), subject))
            }
            View::Services => {
                let c = self.chosen_service()?;
                let subject = format!("service {} via {}", c.name, manager(c.endpoint));
                Some((
                    c.endpoint,
                    InspectTarget::Service(c.key.service_id),
                    subject,
                ))
            }
            _ => None,
        }
    }

    /// The nodes and services views' handling of an action; false when it is not theirs.
    pub(super) fn swarm_action(&mut self, action: Action) -> bool {
        match self.view.view {
            View::Nodes => self.nodes_action(action),
            View::Services => self.services_action(action),
            _ => false,
        }
    }

    fn nodes_action(&mut self, action: Action) -> bool {
        let page = self.page();
        let swarms = self.fleet.swarms();
        let nodes = shown_nodes(&swarms);
        let v = &mut self.view;
        let mv = |delta: isize, v: &mut crate::ui::ViewState| {
            v.node_selected = step(v.node_selected, delta, nodes.len());
            v.node_offset = visible_offset(v.node_offset, v.node_selected, page);
        };
        if let Some(delta) = delta_of(action, page) {
            mv(delta, v);
            return true;
        }
        let availability = match action {
            Action::Drain => Availability::Drain,
            Action::Activate => Availability::Active,
            Action::ActPause => Availability::Pause,
            _ => return false,
        };
        let Some((swarm, node)) = nodes.get(v.node_selected.min(nodes.len().saturating_sub(1)))
        else {
            v.message = Some("no Swarm node selected".into());
            return true;
        };
        let swarm = &swarms[*swarm];
        let load = swarm.state.node_load(&node.id);
        let what = match availability {
            Availability::Drain => format!(
                "{} task{} move to other nodes",
                load.running,
                if load.running == 1 { "" } else { "s" }
            ),
            Availability::Pause => "its tasks stay, no new ones".into(),
            Availability::Active => "takes new tasks again".into(),
        };
        let state = format!(
            "{}, {}, {}; {what}",
            node.role, node.availability, node.state
        );
        let req = ActionRequest {
            endpoint: swarm.endpoint,
            container_id: node.id.clone(),
            container: node.hostname.clone(),
            action: act::Action::NodeAvailability { availability },
        };
        self.confirm_swarm(req, state);
        true
    }

    fn chosen_service(&self) -> Option<Chosen> {
        let swarms = self.fleet.swarms();
        let (swarm, svc) = match &self.view.service_tasks {
            Some(key) => swarms
                .iter()
                .find(|w| w.state.cluster_id == key.cluster_id)
                .and_then(|w| Some((w, w.state.service(&key.service_id)?)))?,
            None => {
                let services = shown_services(&swarms);
                let (i, svc) = services.get(
                    self.view
                        .service_selected
                        .min(services.len().saturating_sub(1)),
                )?;
                (&swarms[*i], *svc)
            }
        };
        let (running, desired) = swarm.state.replicas(svc);
        Some(Chosen {
            endpoint: swarm.endpoint,
            key: ServiceKey {
                cluster_id: swarm.state.cluster_id.clone(),
                service_id: svc.id.clone(),
            },
            name: svc.name.clone(),
            mode: svc.mode,
            image: svc.image.clone(),
            running,
            desired,
        })
    }

    fn services_action(&mut self, action: Action) -> bool {
        let page = self.page();
        if self.view.service_tasks.is_some() {
            let v = &mut self.view;
            match action {
                Action::Close => v.service_tasks = None,
                Action::Down => v.tasks_scroll = v.tasks_scroll.saturating_add(1),
                Action::Up => v.tasks_scroll = v.tasks_scroll.saturating_sub(1),
                Action::PageDown => v.tasks_scroll = v.tasks_scroll.saturating_add(page as u16),
                Action::PageUp => v.tasks_scroll = v.tasks_scroll.saturating_sub(page as u16),
                Action::Top => v.tasks_scroll = 0,
                Action::Scale | Action::SetImage | Action::ActRestart | Action::Rollback => {
                    self.service_key(action);
                }
                Action::OpenLogs => self.service_logs(),
                _ => return false,
            }
            return true;
        }
        if let Some(delta) = delta_of(action, page) {
            let count = shown_services(&self.fleet.swarms()).len();
            let v = &mut self.view;
            v.service_selected = step(v.service_selected, delta, count);
            v.service_offset = visible_offset(v.service_offset, v.service_selected, page);
            return true;
        }
        match action {
            Action::Open => {
                if let Some(c) = self.chosen_service() {
                    self.view.service_tasks = Some(c.key);
                    self.view.tasks_scroll = 0;
                }
            }
            Action::Scale | Action::SetImage | Action::ActRestart | Action::Rollback => {
                self.service_key(action);
            }
            Action::OpenLogs => self.service_logs(),
            _ => return false,
        }
        true
    }

    /// `l`: the service's logs, every task's merged by its manager, in the log view.
    fn service_logs(&mut self) {
        let Some(c) = self.chosen_service() else {
            self.view.message = Some("no Swarm service selected".into());
            return;
        };
        let endpoint = self
            .fleet
            .endpoints
            .get(c.endpoint)
            .map_or("?", |e| e.name());
        let source = LogSource {
            endpoint: c.endpoint,
            container_id: format!("{SERVICE_SOURCE}{}", c.key.service_id),
            tag: format!("{endpoint}/{}", c.name),
        };
        self.view.service_tasks = None;
        self.open_tail(vec![source]);
    }

    /// `s`, `u`, `r`, `b` on a service: ask for the number or image, or confirm at once.
    fn service_key(&mut self, action: Action) {
        let Some(c) = self.chosen_service() else {
            self.view.message = Some("no Swarm service selected".into());
            return;
        };
        let input = |ask, text: String| SwarmInput {
            ask,
            endpoint: c.endpoint,
            service_id: c.key.service_id.clone(),
            service: c.name.clone(),
            text,
            error: None,
        };
        match action {
            Action::Scale => {
                if c.mode == ServiceMode::Global {
                    self.view.message = Some(format!(
                        "{} is a global service: one task on every node, nothing to scale",
                        c.name
                    ));
                    return;
                }
                self.view.swarm_input = Some(input(SwarmAsk::Scale, c.desired.to_string()));
            }
            Action::SetImage => {
                self.view.swarm_input = Some(input(SwarmAsk::Image, c.image.clone()));
            }
            Action::ActRestart => {
                let state = format!(
                    "{}/{} running; every task replaced, as its update config says",
                    c.running, c.desired
                );
                self.confirm_service(&c, act::Action::ServiceForceUpdate, state);
            }
            Action::Rollback => {
                let state = format!(
                    "now {}; back to its previous spec (Swarm's rollback)",
                    c.image
                );
                self.confirm_service(&c, act::Action::ServiceRollback, state);
            }
            _ => {}
        }
    }

    fn confirm_service(&mut self, c: &Chosen, action: act::Action, state: String) {
        let req = ActionRequest {
            endpoint: c.endpoint,
            container_id: c.key.service_id.clone(),
            container: c.name.clone(),
            action,
        };
        self.confirm_swarm(req, state);
    }

    /// Keys while the scale or image input is open.
    pub(super) fn edit_swarm_input(&mut self, key: KeyEvent) {
        let Some(input) = self.view.swarm_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => {
                self.view.swarm_input = None;
                self.view.message = Some("cancelled: nothing was sent".into());
            }
            KeyCode::Backspace => {
                input.text.pop();
                input.error = None;
            }
            KeyCode::Char(ch) => {
                input.text.push(ch);
                input.error = None;
            }
            KeyCode::Enter => {
                let text = input.text.trim().to_string();
                let parsed = match input.ask {
                    SwarmAsk::Scale => text
                        .parse::<u64>()
                        .map(|replicas| act::Action::ServiceScale { replicas })
                        .map_err(|_| format!("\"{text}\": a number of replicas, 0 or more")),
                    SwarmAsk::Image => crate::model::deploy::check_image(&text).map(|()| {
                        act::Action::ServiceUpdate {
                            image: text.clone(),
                        }
                    }),
                };
                let action = match parsed {
                    Ok(a) => a,
                    Err(e) => {
                        input.error = Some(e);
                        return;
                    }
                };
                let Some(input) = self.view.swarm_input.take() else {
                    return;
                };
                let c = self.chosen_service();
                let state = match (&action, &c) {
                    (act::Action::ServiceScale { replicas }, Some(c)) => {
                        format!("{}/{} running; to {replicas}", c.running, c.desired)
                    }
                    (act::Action::ServiceUpdate { image }, Some(c)) => {
                        format!("{} to {image}, Swarm's rolling update", c.image)
                    }
                    _ => String::new(),
                };
                let req = ActionRequest {
                    endpoint: input.endpoint,
                    container_id: input.service_id,
                    container: input.service,
                    action,
                };
                self.confirm_swarm(req, state);
            }
            _ => {}
        }
    }

    /// The plan of a Swarm action, to confirm; on a read-only endpoint the refusal instead
    /// (still handed to the gate, which records it).
    fn confirm_swarm(&mut self, req: ActionRequest, state: String) {
        let Some(ep) = self.fleet.endpoints.get(req.endpoint) else {
            return;
        };
        let item = PlanItem {
            endpoint: ep.name().to_string(),
            container: req.container.clone(),
            state,
            read_only: ep.is_read_only(),
        };
        if item.read_only {
            self.view.message = Some(format!(
                "{} refused: {} is read-only (--write or read_only = false to allow changes)",
                req.action.verb(),
                item.endpoint
            ));
            self.commands.push(Command::Swarm { request: req });
            return;
        }
        self.view.confirm = Some(Confirm {
            action: req.action.clone(),
            requests: vec![req],
            items: vec![item],
            rolling: false,
        });
    }
}
