//! The interactive loop. The [`App`] owns the fleet model and the view state; it selects over
//! terminal input, engine messages and a one-second clock, maps keys through the [`Keymap`] to
//! actions, and redraws only when something changed, coalesced to the frame cap. Input is polled
//! first and messages are drained in bounded batches, so a flood of data never starves keys.

mod actions;
pub mod alerts;
pub mod clipboard;
pub mod command;
mod deploy;
mod effects;
mod event_loop;
pub mod input;
mod inspect;
mod logs;
mod mouse;
mod pools;
mod processes;
mod redraw;
pub mod shell;
mod stats;
mod swarm;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;

use crate::config::Config;
use crate::keymap;
pub use crate::keymap::{Action, Keymap, Scope};
use crate::model::View;
use crate::model::changes::Mark;
use crate::model::events::EventLog;
use crate::model::filter::Filter;
use crate::model::query::{RowKey, RowList};
use crate::model::{Fleet, Msg};
use crate::ui::containers::{body_rows, visible_offset};
use crate::ui::state::{EventRef, FilterInput};
use crate::ui::{HelpSection, Screen, Theme, ViewState};
pub use deploy::DeployContext;
pub use effects::Effects;
pub use event_loop::run;

/// Engine messages applied per loop turn before input is looked at again.
const MSG_BATCH: usize = 512;

pub struct App {
    pub fleet: Fleet,
    pub view: ViewState,
    pub theme: Theme,
    pub keymap: Keymap,
    pub now: DateTime<Utc>,
    pub quit: bool,
    /// Height of the last drawn frame, for paging and keeping the selection on screen.
    pub height: u16,
    pub width: u16,
    help: Vec<HelpSection>,
    /// The open log tail.
    pub logs: Option<crate::ui::state::LogView>,
    next_tail: u64,
    /// Id of the next processes overlay's poller.
    next_watch: u64,
    /// Id of the next inspect overlay's request.
    next_inspect: u64,
    log_settings: crate::config::LogSettings,
    /// Work for the engine or the file system, carried out by the loop (keeps `App` pure).
    pub commands: Vec<Command>,
    /// The InfluxDB exporter's counters, copied once a second for the header.
    pub export_status: Option<crate::export::ExportStatus>,
    /// Why alert delivery is failing (`notify oncall: failing (HTTP 500, retrying)`), copied
    /// once a second for the footer; `None` while it works or nothing is configured.
    pub delivery_problem: Option<String>,
    /// The containers-table rows of the last frame that fit on screen.
    on_screen: Vec<RowKey>,
    /// The shell pane's tabs (exec and host shells) and their emulators.
    pub shells: crate::model::shell::Shells,
    shell_settings: crate::config::ShellSettings,
    /// The pane's share of the body, in percent (`[shell] height_percent`, `+`/`-`).
    pub shell_percent: u16,
    /// `$SHELL` as fleetdeck started: what a host shell on a unix:// endpoint runs.
    pub host_shell_env: Option<String>,
    /// The whole terminal's size at the last frame (`width`/`height` are what the views get).
    pub screen_width: u16,
    pub screen_height: u16,
    /// `[deploy]` settings and who deploys, for the deploy form's plans.
    pub deploy: DeployContext,
    /// `[ui] clipboard`: whether the copy keys may write to the terminal (OSC 52).
    clipboard: bool,
    /// `[ui] mouse`: whether mouse events act (the terminal only sends them when captured).
    pub mouse: bool,
    /// The alert rules and what they fire: the triage panel and the wall banner.
    pub alerting: alerts::AlertState,
    /// The containers table as last worked out, and how far into the fleet's change log it
    /// reflects.
    rows: std::cell::RefCell<Option<(Mark, std::sync::Arc<RowList>)>>,
    /// What time had put on screen in the last frame (see `redraw`): `None` when every tick
    /// draws.
    drawn_times: Option<Vec<String>>,
    /// The stats figures of the rows on screen in the last frame (see `redraw`): `None` when
    /// every stats round draws.
    drawn_figures: Option<Vec<String>>,
}

/// Fleet changes the app keeps for the containers table, which redoes only the rows they
/// touched. More than this between two frames (the table was not on screen, a burst) and the
/// table is sorted again whole.
const ROW_CHANGES: usize = 1024;

/// Side effects the app asks the loop to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    OpenTail {
        tail: u64,
        sources: Vec<crate::model::logs::LogSource>,
        last_lines: u64,
    },
    CloseTail {
        tail: u64,
    },
    /// `docker top` of a container every 2 s, answered as `MsgKind::Processes` under `watch`.
    OpenTop {
        watch: u64,
        endpoint: crate::model::EndpointId,
        container_id: String,
    },
    CloseTop {
        watch: u64,
    },
    /// `docker inspect` of a container (or endpoint, network, Swarm node or service), once,
    /// answered as `MsgKind::Inspect` under `request`.
    OpenInspect {
        request: u64,
        endpoint: crate::model::EndpointId,
        target: crate::model::inspect::InspectTarget,
    },
    CloseInspect {
        request: u64,
    },
    /// Actions for the engine's gate, each answered by `MsgKind::ActionDone`.
    Actions {
        requests: Vec<crate::model::actions::ActionRequest>,
    },
    /// A rolling restart: one at a time, waiting for running and healthy.
    RollingRestart {
        requests: Vec<crate::model::actions::ActionRequest>,
    },
    /// A Swarm action for the gate, followed until Swarm has got there; answered by
    /// `MsgKind::ActionNote`s.
    Swarm {
        request: crate::model::actions::ActionRequest,
    },
    /// Read a deploy plan against the running revision it replaces; answered as
    /// `MsgKind::DeployReviewed`.
    ReviewDeploy {
        plan: Box<crate::model::deploy::DeployPlan>,
    },
    /// A confirmed deploy plan, carried out by the engine through the gate.
    Deploy {
        plan: Box<crate::model::deploy::DeployPlan>,
    },
    /// A confirmed rollback.
    Rollback {
        plan: Box<crate::model::deploy::revision::RollbackPlan>,
    },
    /// A confirmed finish or undo of an operation the journal holds unfinished.
    Recover {
        entry: Box<crate::journal::JournalEntry>,
        how: crate::journal::Recovery,
    },
    /// Write `contents` to `file_name` in the log save directory.
    Save {
        file_name: String,
        contents: String,
    },
    /// An exec shell through the gate (`request.action` is `Action::Exec`).
    OpenExecShell {
        shell: crate::model::shell::ShellId,
        request: crate::model::actions::ActionRequest,
    },
    /// A host shell for `endpoint` running `argv`, sized (rows, cols).
    OpenHostShell {
        shell: crate::model::shell::ShellId,
        endpoint: crate::model::EndpointId,
        argv: Vec<String>,
        size: (u16, u16),
    },
    ShellInput {
        shell: crate::model::shell::ShellId,
        input: crate::engine::shell::ShellInput,
    },
    CloseShell {
        shell: crate::model::shell::ShellId,
    },
    /// Put `text` on the operator's clipboard through the terminal (OSC 52); `label` says what
    /// it is in the status line.
    Copy {
        text: String,
        label: String,
    },
}

impl App {
    pub fn new(config: &Config, theme: Theme) -> Self {
        let keymap = Keymap::default();
        let help = keymap.help();
        Self {
            fleet: Fleet::new(config.endpoints.iter().cloned())
                .with_event_log(EventLog::new(
                    config.events.history,
                    config.events.restart_loop,
                ))
                .with_stats_window(config.stats.window)
                .with_change_log(ROW_CHANGES),
            view: ViewState {
                mask_env: config.ui.mask_env,
                view: config.ui.view,
                ..ViewState::default()
            },
            theme,
            keymap,
            now: Utc::now(),
            quit: false,
            height: 24,
            width: 80,
            help,
            logs: None,
            next_tail: 1,
            next_watch: 1,
            next_inspect: 1,
            log_settings: config.logs.clone(),
            commands: Vec::new(),
            on_screen: Vec::new(),
            export_status: None,
            delivery_problem: None,
            shells: crate::model::shell::Shells::default(),
            shell_settings: config.shell.clone(),
            shell_percent: config.shell.height_percent,
            host_shell_env: std::env::var("SHELL").ok(),
            screen_width: 80,
            screen_height: 24,
            deploy: DeployContext {
                keep_revisions: config.deploy.keep_revisions,
                wait_s: config.deploy.wait_s,
                who: "fleetdeck".into(),
                unfinished: Vec::new(),
            },
            clipboard: config.ui.clipboard,
            mouse: config.ui.mouse,
            alerting: alerts::AlertState::new(crate::model::alerts::Alerts::new(
                config.alerts.rules.clone(),
            )),
            rows: std::cell::RefCell::new(None),
            drawn_times: None,
            drawn_figures: None,
        }
    }

    /// The container a key acts on: the open detail panel's, else the selected row's.
    fn target_key(&self) -> Option<RowKey> {
        self.view
            .detail
            .clone()
            .or_else(|| self.rows().keys.get(self.view.selected).cloned())
    }

    /// Whether the container an action key would act on sits on a read-only endpoint.
    fn selection_is_read_only(&self) -> bool {
        let key = self.target_key();
        match key {
            Some(k) => self
                .fleet
                .endpoints
                .get(k.endpoint)
                .is_some_and(|e| e.is_read_only()),
            None => self.fleet.endpoints.iter().all(|e| e.is_read_only()),
        }
    }

    /// Uses a keymap with the config's `[keys]` applied (see `Keymap::with_overrides`).
    pub fn set_keymap(&mut self, keymap: Keymap) {
        self.help = keymap.help();
        self.keymap = keymap;
    }

    /// Turns this app into a wall display: views rotate, only the quit key does anything.
    pub fn enable_wall(&mut self, settings: &crate::config::WallSettings) {
        let views = settings.views.clone();
        let first = views.first().copied().unwrap_or(View::Clusters);
        let rotate =
            chrono::TimeDelta::from_std(settings.rotate).unwrap_or(chrono::TimeDelta::seconds(15));
        self.view.view = first;
        self.view.wall = Some(crate::ui::state::WallState {
            views,
            index: 0,
            rotate: settings.rotate,
            next_at: self.now + rotate,
            quit_key: settings.quit_key,
        });
    }

    /// The clock moved: the wall rotates when its time has come.
    /// Moves the clock on; true when that changed the screen by itself (a wall rotated).
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        self.now = now;
        // Time alone moves rules on: `for`, windows, cooldowns, recent exits ageing out.
        let alerts_changed = self.evaluate_alerts();
        if let Some(wall) = self.view.wall.as_mut()
            && now >= wall.next_at
            && !wall.views.is_empty()
        {
            wall.index = (wall.index + 1) % wall.views.len();
            let rotate =
                chrono::TimeDelta::from_std(wall.rotate).unwrap_or(chrono::TimeDelta::seconds(15));
            wall.next_at = now + rotate;
            self.view.view = wall.views[wall.index];
            return true;
        }
        alerts_changed
    }

    /// Folds an engine message in; true when the screen needs redrawing.
    pub fn apply(&mut self, msg: Msg) -> bool {
        if let crate::model::MsgKind::Log { tail, lines } = msg.kind {
            if self.alert_log_lines(tail, &lines) {
                return false;
            }
            return self.apply_log_lines(tail, lines);
        }
        if let crate::model::MsgKind::Processes {
            watch,
            container_id,
            table,
        } = msg.kind
        {
            return self.apply_processes(watch, &container_id, table);
        }
        if let crate::model::MsgKind::Inspect {
            request,
            target,
            doc,
        } = msg.kind
        {
            return self.apply_inspect(request, &target, doc);
        }
        if let crate::model::MsgKind::DeployReviewed(plan) = msg.kind {
            return self.apply_review(plan);
        }
        if matches!(
            msg.kind,
            crate::model::MsgKind::ShellStarted { .. }
                | crate::model::MsgKind::ShellOutput { .. }
                | crate::model::MsgKind::ShellEnded { .. }
        ) {
            return self.apply_shell(msg.kind);
        }
        if let crate::model::MsgKind::Down { reason, .. } = &msg.kind {
            self.lose_shells(msg.endpoint, reason);
        }
        let action_news = matches!(
            msg.kind,
            crate::model::MsgKind::ActionDone { .. } | crate::model::MsgKind::ActionNote { .. }
        );
        // Readings wait for the tick: evaluating per stats message would cost a pass over
        // every rule for each endpoint's round, and no rule reads a ping's round trip.
        let stats = matches!(msg.kind, crate::model::MsgKind::Stats { .. });
        let latency = matches!(msg.kind, crate::model::MsgKind::Latency(_));
        let reading = msg.kind.is_reading();
        let endpoint = msg.endpoint;
        let changed = self.fleet.apply(msg);
        self.alerting.dirty |= changed && !reading;
        if action_news && let Some(progress) = self.fleet.actions.latest() {
            self.view.message = Some(progress.status_line());
        }
        // On the plain table, a round that changes no figure on screen draws no frame; a round
        // trip is drawn only by the clusters view.
        changed
            && if stats {
                self.figures_moved(endpoint)
            } else if latency {
                self.view.view == View::Clusters
            } else {
                true
            }
    }

    fn scope(&self) -> Scope {
        if self.view.confirm.is_some() || self.view.plan.is_some() {
            return Scope::Confirm;
        }
        if self.view.processes.is_some() {
            return Scope::Processes;
        }
        if self.view.inspect.is_some() {
            return Scope::Inspect;
        }
        let overlay = match self.view.view {
            View::Pools => self.view.pool_detail.is_some(),
            View::Stats => self.view.stats_detail.is_some(),
            View::Services => self.view.service_tasks.is_some(),
            View::Nodes => false,
            _ => self.view.detail.is_some(),
        };
        keymap::scope_of(self.view.view, overlay)
    }

    /// Rows of the containers table under the current filter, grouping and sort: worked out
    /// again whole only when the query changed; a change of the fleet moves only the rows it
    /// touched (a frame at 50,000 containers must not sort them all).
    fn rows(&self) -> std::sync::Arc<RowList> {
        let (filter, group, sort) = (&self.view.filter, self.view.group, self.view.sort);
        let mut cache = self.rows.borrow_mut();
        if let Some((mark, list)) = cache.as_mut()
            && list.is_for(filter, group, sort)
            && let Some(changes) = self.fleet.changes.since(*mark)
        {
            let changes: Vec<_> = changes.filter(|c| list.follows(c)).collect();
            if !changes.is_empty() {
                std::sync::Arc::make_mut(list).update(&self.fleet, changes);
            }
            *mark = self.fleet.changes.mark();
            return list.clone();
        }
        let list = std::sync::Arc::new(RowList::build(&self.fleet, filter, group, sort));
        *cache = Some((self.fleet.changes.mark(), list.clone()));
        list
    }

    fn page(&self) -> usize {
        // header + footer + table borders and header
        body_rows(self.height.saturating_sub(2)).max(1)
    }

    /// Handles one key; true when the screen needs redrawing.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        if key.kind != KeyEventKind::Press {
            return false;
        }
        if let Some(wall) = &self.view.wall {
            // A wall ignores passers-by: only its quit key (if any) does anything.
            if wall.quit_key.is_some_and(|q| key.code == KeyCode::Char(q))
                && !key.modifiers.contains(KeyModifiers::CONTROL)
            {
                self.quit = true;
            }
            return false;
        }
        if self.shells.focused {
            return self.shell_key(key);
        }
        if self.view.deploy_form.is_some() {
            self.edit_deploy_form(key);
            return true;
        }
        if self.view.filter_input.is_some() {
            self.edit_filter(key);
            return true;
        }
        if self.view.search_input.is_some() {
            self.edit_search(key);
            return true;
        }
        if self.view.command_input.is_some() {
            self.edit_command(key);
            return true;
        }
        if self.view.swarm_input.is_some() {
            self.edit_swarm_input(key);
            return true;
        }
        if self.view.copy_menu.is_some() {
            self.copy_menu_key(key);
            return true;
        }
        let had_message = self.view.message.take().is_some();
        if self.view.help {
            // Any key closes help; quit keys still quit.
            let action = self.keymap.action(Scope::Global, &key);
            self.view.help = false;
            if action == Some(Action::Quit) {
                self.quit = true;
            }
            return true;
        }
        match self.keymap.action(self.scope(), &key) {
            Some(action) => {
                self.perform(action);
                true
            }
            None => had_message,
        }
    }

    pub fn perform(&mut self, action: Action) {
        if self.view.plan.is_some() {
            self.confirm_plan(action);
            return;
        }
        if self.view.confirm.is_some() {
            self.confirm_action(action);
            return;
        }
        if self.view.processes.is_some() {
            self.processes_action(action);
            return;
        }
        if self.view.inspect.is_some() {
            self.inspect_action(action);
            return;
        }
        if self.shell_action(action) {
            return;
        }
        if self.view.view == View::Logs && self.view.detail.is_none() && self.log_action(action) {
            return;
        }
        if self.view.view == View::Pools && self.pools_action(action) {
            return;
        }
        if self.view.view == View::Stats && self.stats_action(action) {
            return;
        }
        if self.swarm_action(action) {
            return;
        }
        let v = &mut self.view;
        match action {
            Action::ShowLogs => self.switch(View::Logs),
            Action::ActStart
            | Action::ActStop
            | Action::ActRestart
            | Action::ActPause
            | Action::ActKill
            | Action::ActRemove
            | Action::ActRolling => self.prepare_action(action),
            // Handled by `shell_action` above.
            Action::Confirm
            | Action::Exec
            | Action::HostShell
            | Action::ShellFocus
            | Action::ShellNext
            | Action::ShellPrev
            | Action::ShellClose
            | Action::ShellGrow
            | Action::ShellShrink
            | Action::ShellScrollUp
            | Action::ShellScrollDown => {}
            Action::Deploy => self.open_deploy_form(),
            Action::Rollback => self.prepare_rollback(),
            Action::CommandLine => {
                v.command_input = Some(FilterInput::default());
            }
            Action::ShowPools => self.switch(View::Pools),
            Action::ShowStats => self.switch(View::Stats),
            Action::ShowNodes => self.switch(View::Nodes),
            Action::ShowServices => self.switch(View::Services),
            // Handled by `swarm_action` above.
            Action::Scale | Action::SetImage | Action::Drain | Action::Activate => {}
            Action::OpenLogs => self.open_logs(false),
            Action::OpenLogsFiltered => self.open_logs(true),
            Action::Mark => self.toggle_mark(),
            Action::MarkAll => self.mark_all(),
            Action::Processes => self.open_processes(),
            Action::Inspect => self.open_inspect(),
            // Only meaningful in the inspect overlay, handled there.
            Action::ToggleFold | Action::FoldAll | Action::UnfoldAll => {}
            Action::Copy => self.open_copy_menu(),
            Action::CopyName => self.copy_name(),
            // Only meaningful in the log view, handled there.
            Action::MarkLines => {}
            // Only meaningful in the log view, handled above.
            Action::SearchNext
            | Action::SearchPrev
            | Action::ToggleMatchOnly
            | Action::ToggleTimestamps
            | Action::ToggleWrap
            | Action::SaveLogs => {}
            Action::Quit => self.quit = true,
            Action::ToggleHelp => v.help = !v.help,
            Action::ShowClusters => self.switch(View::Clusters),
            Action::ShowContainers => self.switch(View::Containers),
            Action::ShowEvents => self.switch(View::Events),
            Action::ShowTriage => self.switch(View::Triage),
            Action::Follow => {
                v.event_selected = match v.event_selected {
                    Some(_) => None,
                    // Pause on the newest event, so the screen stops moving.
                    None => self
                        .fleet
                        .filtered_events(&v.event_filter)
                        .last()
                        .map(EventRef::of),
                };
            }
            Action::NextView => {
                let i = View::ALL.iter().position(|x| *x == v.view).unwrap_or(0);
                self.switch(View::ALL[(i + 1) % View::ALL.len()]);
            }
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::PageDown => self.move_by(self.page() as isize),
            Action::PageUp => self.move_by(-(self.page() as isize)),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Open => self.open(),
            Action::Close => {
                if v.detail.is_some() {
                    v.detail = None;
                } else if v.view == View::Events {
                    v.event_filter = Filter::default();
                } else if !v.filter.is_empty() {
                    v.filter = Filter::default();
                    v.selected = 0;
                    v.offset = 0;
                }
            }
            Action::Filter => {
                let current = match v.view {
                    View::Events => &v.event_filter,
                    _ => &v.filter,
                };
                v.filter_input = Some(FilterInput {
                    text: current.as_str().to_string(),
                    error: None,
                });
            }
            Action::SortNext => v.sort.column = v.sort.column.next(),
            Action::SortReverse => v.sort.descending = !v.sort.descending,
            Action::GroupNext => v.group = v.group.next(),
            Action::ToggleEnvMask => v.mask_env = !v.mask_env,
            Action::Acknowledge => self.acknowledge_selected(),
        }
    }

    fn switch(&mut self, view: View) {
        self.view.view = view;
        self.view.detail = None;
    }

    fn move_by(&mut self, delta: isize) {
        if self.view.detail.is_some() {
            let max = self.detail_max_scroll();
            let next = i64::from(self.view.detail_scroll) + delta.clamp(-10_000, 10_000) as i64;
            self.view.detail_scroll = next.clamp(0, i64::from(max)) as u16;
            return;
        }
        let v = &mut self.view;
        match v.view {
            View::Clusters => {
                let n = self.fleet.endpoints.len();
                v.selected_endpoint = step(v.selected_endpoint, delta, n);
            }
            View::Containers => {
                let rows = self.rows();
                let v = &mut self.view;
                v.selected = step(v.selected, delta, rows.len());
                v.selected_key = rows.keys.get(v.selected).cloned();
                let height = self.page();
                self.view.offset = visible_offset(self.view.offset, self.view.selected, height);
            }
            View::Events => {
                let (rows, current) = self.event_rows();
                let next = step(current, delta, rows.len());
                // Reaching the bottom resumes following.
                self.view.event_selected = if next + 1 >= rows.len() {
                    None
                } else {
                    rows.get(next).cloned()
                };
                let page = self.page();
                self.view.event_offset = visible_offset(self.view.event_offset, next, page);
            }
            // Handled by `log_action` and `pools_action`.
            View::Logs | View::Pools | View::Stats | View::Nodes | View::Services => {}
            View::Triage => {
                let n = self.alerting.alerts.firing().len();
                self.view.triage_selected = step(self.view.triage_selected, delta, n);
                let page = self.page();
                self.view.triage_offset =
                    visible_offset(self.view.triage_offset, self.view.triage_selected, page);
            }
        }
    }

    /// The events the filter shows, and the selected one's index (following: the newest).
    fn event_rows(&self) -> (Vec<EventRef>, usize) {
        let rows: Vec<EventRef> = self
            .fleet
            .filtered_events(&self.view.event_filter)
            .map(EventRef::of)
            .collect();
        let current = self
            .view
            .event_selected
            .as_ref()
            .and_then(|sel| rows.iter().position(|r| r == sel))
            .unwrap_or(rows.len().saturating_sub(1));
        (rows, current)
    }

    /// Opens the detail panel of a container, from anywhere (events, triage).
    fn jump_to_container(&mut self, endpoint: usize, id: &str, name: &str) {
        let exists = self
            .fleet
            .endpoints
            .get(endpoint)
            .is_some_and(|e| e.containers.contains_key(id));
        if !exists {
            let ep = self.fleet.endpoints.get(endpoint).map_or("?", |e| e.name());
            self.view.message = Some(format!("{name} no longer exists on {ep}"));
            return;
        }
        let key = RowKey {
            endpoint,
            id: id.to_string(),
        };
        self.switch(View::Containers);
        self.view.selected_key = Some(key.clone());
        self.view.detail = Some(key);
        self.view.detail_scroll = 0;
    }

    fn open(&mut self) {
        match self.view.view {
            View::Clusters => {
                if let Some(ep) = self.fleet.endpoints.get(self.view.selected_endpoint) {
                    let text = format!("ep:{}", ep.name());
                    if let Ok(filter) = Filter::parse(&text) {
                        self.view.filter = filter;
                    }
                    self.view.selected = 0;
                    self.view.offset = 0;
                    self.switch(View::Containers);
                }
            }
            View::Containers => {
                let rows = self.rows();
                if let Some(key) = rows.keys.get(self.view.selected) {
                    self.view.detail = Some(key.clone());
                    self.view.detail_scroll = 0;
                }
            }
            View::Events => {
                let rows: Vec<_> = self
                    .fleet
                    .filtered_events(&self.view.event_filter)
                    .collect();
                let i = crate::ui::events::selected_index(&rows, self.view.event_selected.as_ref());
                let Some(ev) = rows.get(i) else { return };
                let target = (ev.kind == "container")
                    .then(|| (ev.endpoint, ev.actor_id.clone(), ev.actor.clone()));
                match target {
                    Some((ep, id, name)) => self.jump_to_container(ep, &id, &name),
                    None => {
                        self.view.message =
                            Some(format!("a {} event has no container to open", ev.kind));
                    }
                }
            }
            View::Logs | View::Pools | View::Stats | View::Nodes | View::Services => {}
            View::Triage => {
                let Some(item) = self.selected_alert() else {
                    return;
                };
                use crate::model::alerts::SubjectKind;
                match (&item.container_id, item.endpoint) {
                    (Some(id), Some(ep)) => self.jump_to_container(ep, id, &item.container),
                    _ if item.kind == SubjectKind::Pool => self.switch(View::Pools),
                    _ if item.kind == SubjectKind::Swarm => {
                        let nodes = item.subject.starts_with("node ");
                        self.switch(if nodes { View::Nodes } else { View::Services });
                    }
                    (_, Some(ep)) if item.kind == SubjectKind::Endpoint => {
                        self.view.selected_endpoint = ep;
                        self.switch(View::Clusters);
                    }
                    _ => {
                        // A service: its containers, wherever they run.
                        let text = format!(
                            "label:{}={}",
                            crate::model::deploy::replicas::LABEL_GROUP,
                            item.container
                        );
                        if let Ok(filter) = Filter::parse(&text) {
                            self.view.filter = filter;
                        }
                        self.view.selected = 0;
                        self.view.offset = 0;
                        self.switch(View::Containers);
                    }
                }
            }
        }
    }

    fn edit_command(&mut self, key: KeyEvent) {
        let Some(input) = self.view.command_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.view.command_input = None,
            KeyCode::Tab => {
                let options = alerts::complete(&input.text, &self.alerting.alerts)
                    .unwrap_or_else(|| command::complete(&input.text, &self.fleet));
                match options.as_slice() {
                    [one] => input.text = one.clone(),
                    [] => input.error = Some("no completion".into()),
                    many => {
                        // Extend to the longest common prefix, and show the choices.
                        let first = &many[0];
                        let common = (0..first.len())
                            .take_while(|&i| {
                                first.is_char_boundary(i + 1)
                                    && many.iter().all(|m| m.get(..=i) == first.get(..=i))
                            })
                            .count();
                        if common > input.text.len() {
                            input.text = first[..common].to_string();
                        }
                        input.error = Some(many.join("  "));
                    }
                }
                return;
            }
            KeyCode::Enter => {
                if let Some(cmd) = alerts::parse_command(&input.text) {
                    let now = self.now;
                    let done = cmd.and_then(|cmd| self.alert_command(cmd, now));
                    match done {
                        Ok(()) => self.view.command_input = None,
                        Err(e) => {
                            if let Some(input) = self.view.command_input.as_mut() {
                                input.error = Some(e);
                            }
                        }
                    }
                    return;
                }
                match command::parse(&input.text, &self.fleet) {
                    Ok(jump) => {
                        self.view.command_input = None;
                        self.jump(jump);
                    }
                    Err(e) => input.error = Some(e),
                }
                return;
            }
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c)
            }
            _ => {}
        }
        if let Some(input) = self.view.command_input.as_mut() {
            input.error = None;
        }
    }

    /// Goes where a `:` command said.
    pub fn jump(&mut self, jump: command::Jump) {
        self.switch(jump.view);
        let filter = jump.filter.as_deref().map(Filter::parse);
        match (jump.view, filter) {
            (View::Clusters, _) => {
                if let Some(e) = jump.endpoint {
                    self.view.selected_endpoint = e;
                }
            }
            (View::Events, Some(Ok(f))) => {
                self.view.event_filter = f;
                self.view.event_selected = None;
            }
            (View::Pools, Some(Ok(f))) => {
                self.view.pool_filter = f;
                self.view.pool_selected = 0;
            }
            (View::Containers, Some(Ok(f))) => {
                self.view.filter = f;
                self.view.selected = 0;
                self.view.offset = 0;
            }
            (_, Some(Err(e))) => self.view.message = Some(e),
            _ => {}
        }
    }

    fn edit_filter(&mut self, key: KeyEvent) {
        let Some(input) = self.view.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.view.filter_input = None,
            KeyCode::Enter => match Filter::parse(&input.text) {
                Ok(filter) => {
                    self.view.filter_input = None;
                    if self.view.view == View::Events {
                        self.view.event_filter = filter;
                        self.view.event_selected = None;
                    } else if self.view.view == View::Pools {
                        self.view.pool_filter = filter;
                        self.view.pool_selected = 0;
                        self.view.pool_offset = 0;
                    } else {
                        self.view.filter = filter;
                        self.view.selected = 0;
                        self.view.offset = 0;
                    }
                }
                Err(e) => input.error = Some(e),
            },
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.clear();
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.view.filter_input = None;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
            }
            _ => {}
        }
        // Live validation while typing; the table keeps its last good filter until Enter.
        if let Some(input) = self.view.filter_input.as_mut() {
            input.error = Filter::parse(&input.text).err();
        }
    }

    /// How far the detail panel can scroll before its last line reaches the bottom.
    fn detail_max_scroll(&self) -> u16 {
        let Some(key) = &self.view.detail else {
            return 0;
        };
        let Some(ep) = self.fleet.endpoints.get(key.endpoint) else {
            return 0;
        };
        let screen = Screen {
            fleet: &self.fleet,
            state: &self.view,
            theme: &self.theme,
            now: self.now,
            footer: &[],
            help: &[],
            logs: None,
            export: None,
            delivery: None,
            shells: None,
            alerts: &self.alerting.alerts,
            rows: None,
        };
        let panel = crate::ui::detail::DetailPanel {
            screen: &screen,
            endpoint: ep,
            container: ep.containers.get(&key.id),
        };
        let lines = panel.lines(self.width.saturating_sub(2)).len();
        // header, footer and the panel's two borders
        let visible = usize::from(self.height.saturating_sub(4));
        u16::try_from(lines.saturating_sub(visible)).unwrap_or(u16::MAX)
    }

    /// Keeps the selection on the same container when rows move under it. Called once per frame,
    /// not per message, so bursts cost one pass.
    pub fn prepare_frame(&mut self, width: u16, height: u16) {
        if self.alerting.dirty {
            self.evaluate_alerts();
        }
        self.screen_width = width;
        self.screen_height = height;
        self.width = width;
        self.height = height;
        if !self.shells.is_empty() {
            // The views get what the pane leaves them (for paging and scrolling).
            let body = ratatui::layout::Rect::new(0, 1, width, height.saturating_sub(2));
            let (view, _) = crate::ui::shell::split(body, self.shell_percent);
            self.height = view.height + 2;
            self.resize_shells();
        }
        if self.view.view != View::Containers {
            self.on_screen.clear();
            self.note_drawn();
            return;
        }
        let rows = self.rows();
        let keys = &rows.keys;
        let v = &mut self.view;
        // The selection follows a container only once the operator has put it on one: at
        // start, as endpoints finish their first sync and rows arrive above, it stays on the
        // first row instead of riding down the list with whatever row it first landed on.
        if let Some(key) = &v.selected_key {
            match rows.position(&self.fleet, key) {
                Some(i) => v.selected = i,
                // Gone: the selection stays at its place, on the row now there.
                None => {
                    v.selected = v.selected.min(keys.len().saturating_sub(1));
                    v.selected_key = keys.get(v.selected).cloned();
                }
            }
        }
        v.selected = v.selected.min(keys.len().saturating_sub(1));
        let page = self.page();
        self.view.offset = visible_offset(self.view.offset, self.view.selected, page);
        let end = (self.view.offset + page).min(keys.len());
        self.on_screen = keys
            .get(self.view.offset..end)
            .map(<[RowKey]>::to_vec)
            .unwrap_or_default();
        self.note_drawn();
    }

    /// Which containers each endpoint's stats collector samples every interval: the ones on
    /// screen (and the open detail's); the others are sampled less often, and caught up on
    /// only where totals show (see `engine::stats::due`). `None` (every
    /// container, every interval) when the stats view or a table sorted by a stats column ranks
    /// the whole fleet, or when `all_fresh` (an InfluxDB export wants every container at full
    /// resolution).
    pub fn stats_focus(&self, all_fresh: bool) -> Vec<crate::engine::stats::Focus> {
        let n = self.fleet.endpoints.len();
        // A table sorted by a stats column ranks every container: all of them must be fresh,
        // or one that spikes off screen would take five intervals to rise into view.
        let ranked_by_stats =
            self.view.view == View::Containers && self.view.sort.column.is_stats();
        if all_fresh || self.view.view == View::Stats || ranked_by_stats {
            return vec![None; n];
        }
        let mut sets = vec![std::collections::HashSet::new(); n];
        for key in self.on_screen.iter().chain(self.view.detail.as_ref()) {
            if let Some(set) = sets.get_mut(key.endpoint) {
                set.insert(key.id.clone());
            }
        }
        // Metric rules read every interval of the containers they scope, on screen or not.
        if self.alerting.alerts.needs_full_rate_stats() {
            for (endpoint, id) in self.alerting.alerts.stats_targets(&self.fleet) {
                if let Some(set) = sets.get_mut(endpoint) {
                    set.insert(id);
                }
            }
        }
        // Only the clusters view shows totals of every container (each host's CPU and MEM).
        let totals = self.view.view == View::Clusters;
        sets.into_iter()
            .map(|on_screen| {
                Some(std::sync::Arc::new(crate::engine::stats::Sight {
                    on_screen,
                    totals,
                }))
            })
            .collect()
    }

    pub fn draw(&self, frame: &mut Frame<'_>) {
        let mut footer = self.keymap.footer(self.scope());
        // Read-only: the action keys are not offered (the gate would refuse them anyway).
        if self.selection_is_read_only() {
            let actions: Vec<String> = self
                .keymap
                .bindings()
                .iter()
                .filter(|b| {
                    matches!(
                        b.action,
                        Action::ActStart
                            | Action::ActStop
                            | Action::ActRestart
                            | Action::ActPause
                            | Action::ActKill
                            | Action::ActRemove
                            | Action::ActRolling
                    )
                })
                .map(|b| b.help.to_string())
                .collect();
            footer.retain(|h| !actions.contains(&h.action));
        }
        // Tab on a confirmation only changes a kill's signal or an rm's volumes: on any other
        // (a deploy, a rollback, a restart) it is not offered.
        let tab_applies = self.view.plan.is_none()
            && self.view.confirm.as_ref().is_some_and(|c| {
                matches!(
                    c.action,
                    crate::model::actions::Action::Kill { .. }
                        | crate::model::actions::Action::Remove { .. }
                )
            });
        if (self.scope() == Scope::Confirm && !tab_applies)
            || matches!(self.scope(), Scope::Processes | Scope::Inspect)
        {
            // Neither its kill/rm meaning nor the global "next view": a confirmation holds
            // the view where it is.
            let tab: Vec<&str> = self
                .keymap
                .bindings()
                .iter()
                .filter(|b| b.action == Action::NextView)
                .map(|b| b.help)
                .collect();
            footer.retain(|h| !tab.contains(&h.action.as_str()));
        }
        // The whole keymap when it fits whole, else this place's keys and the global ones.
        // Only the `?` overlay reads it, and working out whether the keymap fits lays it all
        // out: a quarter of a frame's CPU, so a frame without the overlay skips it.
        let focused;
        let help: &[HelpSection] = if !self.view.help || self.view.wall.is_some() {
            &[]
        } else if crate::ui::help::fits(&self.help, frame.area()) {
            &self.help
        } else {
            focused = self.keymap.help_for(self.scope());
            &focused
        };
        let key_label = |action: Action| {
            self.keymap
                .bindings()
                .iter()
                .find(|b| b.action == action)
                .and_then(|b| b.keys.first())
                .map(keymap::Key::label)
                .unwrap_or_default()
        };
        let focus_key = key_label(Action::ShellFocus);
        let close_key = key_label(Action::ShellClose);
        if self.shells.focused {
            // Every other key belongs to the shell.
            footer = vec![crate::ui::Hint {
                key: focus_key.clone(),
                action: "back to the dashboard (every other key goes to the shell)".into(),
            }];
        }
        let pane = (!self.shells.is_empty()).then(|| crate::ui::shell::ShellPaneView {
            shells: &self.shells,
            theme: &self.theme,
            focus_key: &focus_key,
            close_key: &close_key,
            shell_percent: self.shell_percent,
        });
        let rows = (self.view.view == View::Containers).then(|| self.rows());
        let screen = Screen {
            fleet: &self.fleet,
            state: &self.view,
            theme: &self.theme,
            now: self.now,
            footer: &footer,
            help,
            logs: self.logs.as_ref(),
            export: self.export_status.as_ref(),
            delivery: self.delivery_problem.as_deref(),
            shells: pane.as_ref(),
            alerts: &self.alerting.alerts,
            rows: rows.as_deref(),
        };
        frame.render_widget(&screen, frame.area());
    }
}

/// Moves an index by `delta` within `0..len`, clamping at both ends.
fn step(current: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let next = current as isize + delta;
    next.clamp(0, len as isize - 1) as usize
}
