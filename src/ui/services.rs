//! The services view: every service of every swarm (each swarm once), its replicas against
//! what it wants, and how its last update went; `Enter` opens its tasks.
//!
//! ```text
//! ┌ Services · 1 swarm · 3 services · 1 not converged ─────────────────────────────────────┐
//! │NAME              MODE        REPLICAS  IMAGE                 PORTS        UPDATE        │
//! │── swarm 3f2a9c1d04e5 via lab5                                                           │
//! │api               replicated       2/3  busybox:v2            8080:80/tcp  updating 1/3  │
//! │web               replicated       1/1  busybox:local                      rolled back   │
//! │agent             global           2/2  busybox:local                                    │
//! └─────────────────────────────────────────────────────────────────────────────────────────┘
//! ┌ tasks of web via lab5 · l logs · Esc close ────────────────────────────────────────────┐
//! │TASK     NODE      STATE     DESIRED   AGE  ERROR                                        │
//! │web.1    vm        running   running   2m                                                │
//! │web.1    lab7      failed    shutdown  3m   task: non-zero exit (1)                      │
//! └─────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Keys: `s` scale, `u` new image, `r` force update (every task replaced), `b` Swarm's
//! rollback: each confirmed with its plan, through the gate, and followed until converged;
//! `l` the service's logs (every task's, merged by the manager) in the log view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Widget};

use super::Screen;
use super::nodes::{Grouped, count};
use crate::model::container::human_duration;
use crate::model::swarm::{ServiceMode, SwarmService, SwarmView};

/// A service across refreshes: its swarm and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    pub cluster_id: String,
    pub service_id: String,
}

/// The rows of the view in order: (index into the swarms, service).
pub fn shown_services<'a>(swarms: &[SwarmView<'a>]) -> Vec<(usize, &'a SwarmService)> {
    swarms
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.state.services.iter().map(move |svc| (i, svc)))
        .collect()
}

pub fn mode_text(mode: ServiceMode) -> String {
    match mode {
        ServiceMode::Replicated(_) => "replicated".into(),
        ServiceMode::Global => "global".into(),
    }
}

pub struct ServicesView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

impl Widget for ServicesView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let swarms = s.fleet.swarms();
        let services = shown_services(&swarms);
        let unsettled = services
            .iter()
            .filter(|(i, svc)| !swarms[*i].state.converged_service(svc))
            .count();
        let mut title = format!(
            " Services · {} · {} ",
            count(swarms.len(), "swarm"),
            count(services.len(), "service")
        );
        if unsettled > 0 {
            title.push_str(&format!("· {unsettled} not converged "));
        }
        let wide = area.width >= 112;
        let mut widths = vec![
            Constraint::Length(if wide { 24 } else { 16 }),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Fill(1),
        ];
        let mut titles = vec!["NAME", "MODE", "REPLICAS", "IMAGE"];
        if wide {
            widths.push(Constraint::Length(16));
            titles.push("PORTS");
        }
        widths.push(Constraint::Length(if wide { 18 } else { 15 }));
        titles.push("UPDATE");
        let grouped = Grouped {
            screen: s,
            swarms: &swarms,
            title,
            loud: unsettled > 0,
            empty: if swarms.is_empty() {
                "no Swarm manager among the endpoints (or none has answered yet)"
            } else {
                "no services in the swarm"
            },
            groups: services.iter().map(|(w, _)| *w).collect(),
            selected: s.state.service_selected,
            offset: s.state.service_offset,
            titles,
            widths,
        };
        grouped.render(area, buf, |i| {
            let (w, svc) = services[i];
            let swarm = &swarms[w];
            let (running, desired) = swarm.state.replicas(svc);
            let replicas_style = if running < desired {
                t.container_restarting
            } else {
                t.base
            };
            let update_style = match svc.update.as_ref().map(|u| u.state.as_str()) {
                Some("paused" | "rollback_paused" | "rollback_started" | "rollback_completed") => {
                    t.event_warning
                }
                Some("updating") => t.container_restarting,
                _ => t.dim,
            };
            let mut cells = vec![
                Cell::from(svc.name.clone()),
                Cell::from(mode_text(svc.mode)),
                Cell::from(Line::from(format!("{running}/{desired}")).right_aligned())
                    .style(replicas_style),
                Cell::from(svc.image.clone()),
            ];
            if wide {
                cells.push(Cell::from(svc.ports.join(", ")));
            }
            cells.push(Cell::from(swarm.state.update_text(svc)).style(update_style));
            let row = Row::new(cells);
            if swarm.stale { row.style(t.stale) } else { row }
        });
    }
}

/// The tasks of one service, over the list: newest first in each slot.
pub struct TasksPanel<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub key: &'a ServiceKey,
}

impl Widget for TasksPanel<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let swarms = s.fleet.swarms();
        let found = swarms
            .iter()
            .find(|w| w.state.cluster_id == self.key.cluster_id)
            .and_then(|w| w.state.service(&self.key.service_id).map(|svc| (w, svc)));
        Clear.render(area, buf);
        let title = match found {
            Some((w, svc)) => format!(
                " tasks of {} via {} · l logs · Esc close ",
                svc.name,
                s.fleet.endpoints.get(w.endpoint).map_or("?", |e| e.name())
            ),
            None => " gone · Esc close ".into(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focused)
            .title(Span::styled(title, t.title));
        let inner = block.inner(area);
        block.render(area, buf);
        let Some((w, svc)) = found else {
            Paragraph::new(Span::styled("  this service no longer exists", t.error))
                .render(inner, buf);
            return;
        };
        let mut lines = Vec::new();
        if let Some(u) = &svc.update
            && !u.message.is_empty()
        {
            lines.push(Line::styled(
                format!("update: {} ({})", w.state.update_text(svc), u.message),
                t.dim,
            ));
        }
        let wide = inner.width >= 110;
        let widths = [
            Constraint::Length(if wide { 28 } else { 14 }),
            Constraint::Length(if wide { 16 } else { 12 }),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Fill(1),
        ];
        let header = Row::new(
            ["TASK", "NODE", "STATE", "DESIRED", "AGE", "ERROR"]
                .iter()
                .map(|h| Cell::from(*h).style(t.title)),
        );
        let tasks = w.state.tasks_of(&svc.id);
        let rows = tasks
            .iter()
            .skip(usize::from(s.state.tasks_scroll))
            .map(|task| {
                let name = match task.slot {
                    Some(slot) => format!("{}.{slot}", svc.name),
                    None => svc.name.clone(),
                };
                let age = task
                    .since
                    .or(task.created_at)
                    .map(|at| human_duration(s.now - at))
                    .unwrap_or_default();
                let style = if task.is_failed() {
                    t.container_exited_nonzero
                } else if task.is_running() {
                    t.container_running
                } else if task.desired != "running" {
                    t.dim
                } else {
                    t.container_restarting
                };
                Row::new(vec![
                    Cell::from(name),
                    Cell::from(w.state.node_name(&task.node_id)),
                    Cell::from(task.state.clone()),
                    Cell::from(task.desired.clone()),
                    Cell::from(age),
                    Cell::from(task.error.clone()),
                ])
                .style(style)
            });
        let top = lines.len() as u16;
        if top > 0 {
            Paragraph::new(lines).render(inner, buf);
        }
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .render(
                Rect {
                    y: inner.y + top,
                    height: inner.height.saturating_sub(top),
                    ..inner
                },
                buf,
            );
    }
}
