//! The mouse (`[ui] mouse`, on by default, never on a wall): the wheel scrolls what the arrow
//! keys would (a list, the log, a detail panel), a click selects a table row, a view name in
//! the header or a shell tab. Every place is read against the same layout the views draw with
//! (`ui::header_view_at`, `ui::containers::row_at`, `ui::shell::tab_at`…), so a click lands on
//! the row it was made on.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::{Action, App, step};
use crate::model::View;

/// Lines one notch of the wheel scrolls.
pub const WHEEL_LINES: usize = 3;

impl App {
    /// Handles one mouse event; true when the screen needs redrawing.
    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        if !self.mouse || self.view.wall.is_some() {
            return false;
        }
        // Typing into a line or a form, or deciding on a confirmation: the mouse waits.
        let modal = self.view.deploy_form.is_some()
            || self.view.filter_input.is_some()
            || self.view.search_input.is_some()
            || self.view.command_input.is_some()
            || self.view.swarm_input.is_some()
            || self.view.confirm.is_some()
            || self.view.plan.is_some()
            || self.view.copy_menu.is_some();
        if modal {
            return false;
        }
        match ev.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                if self.view.help {
                    return false;
                }
                let up = ev.kind == MouseEventKind::ScrollUp;
                // Over the shell pane: its scrollback (up is back in time).
                if let (_, Some(pane)) = self.areas()
                    && pane.contains((ev.column, ev.row).into())
                {
                    if let Some(p) = self.shells.active_mut() {
                        let lines = WHEEL_LINES as isize;
                        p.emulator.scroll(if up { lines } else { -lines });
                    }
                    return true;
                }
                let action = if up { Action::Up } else { Action::Down };
                for _ in 0..WHEEL_LINES {
                    self.perform(action);
                }
                true
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if self.view.help {
                    self.view.help = false;
                    return true;
                }
                self.click(ev.column, ev.row)
            }
            _ => false,
        }
    }

    /// The views' part of the screen (below the header, above the shell pane and the footer)
    /// and the shell pane's, as the last frame laid them out.
    fn areas(&self) -> (Rect, Option<Rect>) {
        let body = Rect::new(
            0,
            1,
            self.screen_width,
            self.screen_height.saturating_sub(2),
        );
        if self.shells.is_empty() {
            return (body, None);
        }
        let (view, pane) = crate::ui::shell::split(body, self.shell_percent);
        (view, Some(pane))
    }

    fn click(&mut self, x: u16, y: u16) -> bool {
        if y == 0 {
            let Some(view) =
                crate::ui::header_view_at(&self.fleet, self.view.view, self.screen_width, x)
            else {
                return false;
            };
            self.shells.focused = false;
            self.perform(crate::keymap::show(view));
            return true;
        }
        let (body, pane) = self.areas();
        if let Some(pane) = pane
            && let Some(tab) = crate::ui::shell::tab_at(&self.shells, pane, x, y)
        {
            self.shells.active = tab;
            self.shells.focused = true;
            return true;
        }
        let overlay = self.view.detail.is_some()
            || self.view.processes.is_some()
            || self.view.inspect.is_some();
        if !body.contains((x, y).into()) {
            return false;
        }
        // A click on the view gives it the keys back from a focused shell.
        let unfocused = std::mem::replace(&mut self.shells.focused, false);
        if overlay {
            return unfocused;
        }
        self.select_at(body, y) || unfocused
    }

    /// Selects the row the current view's table draws at screen row `y`.
    fn select_at(&mut self, body: Rect, y: u16) -> bool {
        match self.view.view {
            View::Containers => {
                let rows = self.rows();
                let Some(i) = crate::ui::containers::row_at(&rows, &self.view, body, y) else {
                    return false;
                };
                self.view.selected = i;
                self.view.selected_key = rows.keys.get(i).cloned();
                true
            }
            View::Events => {
                let (rows, current) = self.event_rows();
                let Some(i) = crate::ui::events::index_at(rows.len(), current, &self.view, body, y)
                else {
                    return false;
                };
                // The window stays where it was drawn (the clicked row keeps its place in it);
                // a click pauses following, as moving does, unless it is on the newest event.
                let place = crate::ui::table_line_at(body, y).unwrap_or(0);
                self.view.event_offset = i.saturating_sub(place);
                self.view.event_selected = if i + 1 >= rows.len() {
                    None
                } else {
                    rows.get(i).cloned()
                };
                true
            }
            View::Triage => {
                let n = self.alerting.alerts.firing().len();
                let Some(i) = crate::ui::triage::index_at(n, &self.view, body, y) else {
                    return false;
                };
                self.view.triage_selected = step(i, 0, n);
                true
            }
            View::Nodes => {
                let swarms = self.fleet.swarms();
                let groups = swarm_of(&crate::ui::nodes::shown_nodes(&swarms));
                let v = &mut self.view;
                let Some(i) = crate::ui::nodes::grouped_row_at(
                    &groups,
                    v.node_selected,
                    v.node_offset,
                    body,
                    y,
                ) else {
                    return false;
                };
                v.node_selected = i;
                true
            }
            View::Services => {
                if self.view.service_tasks.is_some() {
                    return false;
                }
                let swarms = self.fleet.swarms();
                let groups = swarm_of(&crate::ui::services::shown_services(&swarms));
                let v = &mut self.view;
                let Some(i) = crate::ui::nodes::grouped_row_at(
                    &groups,
                    v.service_selected,
                    v.service_offset,
                    body,
                    y,
                ) else {
                    return false;
                };
                v.service_selected = i;
                true
            }
            View::Clusters | View::Logs | View::Pools | View::Stats => false,
        }
    }
}

/// The swarm of each row of a table grouped by swarm.
fn swarm_of<T>(rows: &[(usize, T)]) -> Vec<usize> {
    rows.iter().map(|(w, _)| *w).collect()
}
