//! The app's side of the processes overlay (`t`): which container, the engine's poller opened
//! and closed with the overlay, and its answers kept for the screen.

use super::{Action, App, Command};
use crate::model::top::ProcessTable;
use crate::ui::state::ProcessesView;

impl App {
    /// `t`: the open detail panel's container, else the selected row's.
    pub(super) fn open_processes(&mut self) {
        let key = self.target_key();
        let Some(key) = key else {
            self.view.message = Some("no container selected".into());
            return;
        };
        let Some(ep) = self.fleet.endpoints.get(key.endpoint) else {
            return;
        };
        let Some(c) = ep.containers.get(&key.id) else {
            return;
        };
        let watch = self.next_watch;
        self.next_watch += 1;
        self.commands.push(Command::OpenTop {
            watch,
            endpoint: key.endpoint,
            container_id: key.id.clone(),
        });
        self.view.processes = Some(ProcessesView {
            watch,
            container: c.name.clone(),
            endpoint: ep.name().to_string(),
            key,
            table: None,
        });
    }

    /// Keys while the overlay is open: Esc closes it, quit and help still work, the rest wait.
    pub(super) fn processes_action(&mut self, action: Action) {
        match action {
            Action::Close => {
                if let Some(p) = self.view.processes.take() {
                    self.commands.push(Command::CloseTop { watch: p.watch });
                }
            }
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.view.help = true,
            _ => {}
        }
    }

    pub(super) fn apply_processes(
        &mut self,
        watch: u64,
        container_id: &str,
        table: Result<ProcessTable, String>,
    ) -> bool {
        match self.view.processes.as_mut() {
            Some(p) if p.watch == watch && p.key.id == container_id => {
                p.table = Some(table);
                true
            }
            _ => false,
        }
    }
}
