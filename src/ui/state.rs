//! What the operator is looking at (view, selection, sort, filter, open panels), as opposed to
//! what the fleet is. The app loop changes it in response to actions; widgets only read it.

use crate::model::events::FleetEvent;
use crate::model::filter::Filter;
use crate::model::logs::{LogBuffer, Search};
use crate::model::query::{GroupBy, RowKey, Sort};
use crate::model::stats::SortKey;
use crate::model::{EndpointId, View};
use crate::ui::pools::{PoolKey, PoolSort};
use crate::ui::services::ServiceKey;

/// A selected event, by identity: indices shift as the bounded log evicts old events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub time_nano: i64,
    pub endpoint: EndpointId,
    pub action: String,
    pub actor_id: String,
}

impl EventRef {
    pub fn of(ev: &FleetEvent) -> Self {
        Self {
            time_nano: ev.time_nano,
            endpoint: ev.endpoint,
            action: ev.action.clone(),
            actor_id: ev.actor_id.clone(),
        }
    }

    pub fn is(&self, ev: &FleetEvent) -> bool {
        self.time_nano == ev.time_nano
            && self.endpoint == ev.endpoint
            && self.action == ev.action
            && self.actor_id == ev.actor_id
    }
}

/// The log view: one tail (one container, or several merged) and how it is shown.
#[derive(Debug, Clone)]
pub struct LogView {
    pub tail: u64,
    pub buffer: LogBuffer,
    /// Stick to the newest line; scrolling up pauses.
    pub follow: bool,
    /// First shown line (index into the shown lines) while not following.
    pub top: usize,
    pub search: Option<Search>,
    /// Show only lines matching the search.
    pub filter_mode: bool,
    pub timestamps: bool,
    pub wrap: bool,
    /// Index into the buffer of the match `n`/`N` moved to.
    pub current_match: Option<usize>,
    /// Index into the buffer where `v` started a range of lines to copy.
    pub mark: Option<usize>,
}

impl LogView {
    pub fn new(tail: u64, buffer: LogBuffer) -> Self {
        Self {
            tail,
            buffer,
            follow: true,
            top: 0,
            search: None,
            filter_mode: false,
            timestamps: false,
            wrap: false,
            current_match: None,
            mark: None,
        }
    }

    /// The line `c` copies and `v` marks (an index into the buffer): the match `n`/`N` moved
    /// to, else the newest line while following, else the first line on screen.
    pub fn current_line(&self) -> Option<usize> {
        if let Some(m) = self.current_match
            && m < self.buffer.len()
        {
            return Some(m);
        }
        let shown = self.shown();
        if self.follow {
            shown.last().copied()
        } else {
            shown.get(self.top).or(shown.last()).copied()
        }
    }

    /// Buffer indices of the lines on display (all, or only matches in filter mode).
    pub fn shown(&self) -> Vec<usize> {
        match (&self.search, self.filter_mode) {
            (Some(search), true) => self.buffer.matches(search),
            _ => (0..self.buffer.len()).collect(),
        }
    }
}

/// The log search input while it is open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchInput {
    pub text: String,
    pub regex: bool,
    pub error: Option<String>,
}

/// A confirmation on screen: what would be done, to which containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub action: crate::model::actions::Action,
    pub requests: Vec<crate::model::actions::ActionRequest>,
    pub items: Vec<crate::model::actions::PlanItem>,
    /// One at a time, waiting for each to be running and healthy.
    pub rolling: bool,
}

/// A wall display: views rotate, only the quit key does anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallState {
    pub views: Vec<View>,
    pub index: usize,
    pub rotate: std::time::Duration,
    /// When the next view comes up.
    pub next_at: chrono::DateTime<chrono::Utc>,
    pub quit_key: Option<char>,
}

/// What the services view's input line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmAsk {
    /// How many replicas.
    Scale,
    /// Which image.
    Image,
}

/// The services view's input line: a number of replicas or an image for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmInput {
    pub ask: SwarmAsk,
    /// The manager endpoint it goes to, the service's id and name.
    pub endpoint: EndpointId,
    pub service_id: String,
    pub service: String,
    pub text: String,
    pub error: Option<String>,
}

/// The copy menu: what `c` can put on the clipboard for the selected container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyMenu {
    /// Whose values these are (`ENDPOINT/NAME`), for the title.
    pub subject: String,
    pub items: Vec<CopyItem>,
    pub selected: usize,
}

/// One entry of the copy menu: what it is ("id", "ip lab-net") and the text copied. Both come
/// from the model, where container text is already sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyItem {
    pub label: String,
    pub value: String,
}

/// The `/` input line while it is open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    pub text: String,
    /// The grammar error of the text so far, shown under the input.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewState {
    pub view: View,
    /// Selected row of the containers table (index into the filtered, sorted rows).
    pub selected: usize,
    /// The container the selection is on, so it follows the container when rows move.
    pub selected_key: Option<RowKey>,
    /// First visible row of the containers table.
    pub offset: usize,
    /// Selected endpoint in the clusters view (index into the fleet's endpoints).
    pub selected_endpoint: usize,
    pub sort: Sort,
    pub group: GroupBy,
    pub filter: Filter,
    pub filter_input: Option<FilterInput>,
    pub event_filter: Filter,
    /// `None` while following the newest event.
    pub event_selected: Option<EventRef>,
    pub event_offset: usize,
    pub triage_selected: usize,
    pub triage_offset: usize,
    /// Containers marked (Space, or `*` for all shown): a merged log tail or an action takes
    /// them all.
    pub marked: Vec<RowKey>,
    pub search_input: Option<SearchInput>,
    /// Where Esc in the log view goes back to.
    pub previous_view: View,
    pub pool_filter: Filter,
    pub pool_sort: PoolSort,
    pub pool_selected: usize,
    pub pool_offset: usize,
    /// The pool whose drill-down is open.
    pub pool_detail: Option<PoolKey>,
    pub pool_scroll: u16,
    pub stats_metric: SortKey,
    pub stats_selected: usize,
    pub stats_offset: usize,
    /// The container whose charts are open.
    pub stats_detail: Option<RowKey>,
    /// Selected row of the nodes view (index into its nodes, every swarm's in order).
    pub node_selected: usize,
    pub node_offset: usize,
    /// Selected row of the services view.
    pub service_selected: usize,
    pub service_offset: usize,
    /// The service whose tasks are open over the services view.
    pub service_tasks: Option<ServiceKey>,
    pub tasks_scroll: u16,
    /// The scale or image input of the services view while it is open.
    pub swarm_input: Option<SwarmInput>,
    pub wall: Option<WallState>,
    /// The `:` command line while it is open (its error line holds completions too).
    pub command_input: Option<FilterInput>,
    /// A destructive action waiting for y/n.
    pub confirm: Option<Confirm>,
    /// The deploy form, while it is open.
    pub deploy_form: Option<super::deploy::DeployForm>,
    /// A deploy or rollback plan waiting for y/n.
    pub plan: Option<super::deploy::PlannedWork>,
    /// The container whose detail panel is open.
    pub detail: Option<RowKey>,
    pub detail_scroll: u16,
    pub mask_env: bool,
    /// The processes overlay (`t`), while it is open.
    pub processes: Option<ProcessesView>,
    /// The inspect overlay (`i`), while it is open.
    pub inspect: Option<InspectView>,
    /// The copy menu (`c`), while it is open.
    pub copy_menu: Option<CopyMenu>,
    pub help: bool,
    /// A one-line message for the footer (refused key, bad filter…).
    pub message: Option<String>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            view: View::default(),
            selected: 0,
            selected_key: None,
            offset: 0,
            selected_endpoint: 0,
            sort: Sort::default(),
            group: GroupBy::default(),
            filter: Filter::default(),
            filter_input: None,
            event_filter: Filter::default(),
            event_selected: None,
            event_offset: 0,
            triage_selected: 0,
            triage_offset: 0,
            marked: Vec::new(),
            search_input: None,
            previous_view: View::Containers,
            pool_filter: Filter::default(),
            pool_sort: PoolSort::default(),
            pool_selected: 0,
            pool_offset: 0,
            pool_detail: None,
            pool_scroll: 0,
            stats_metric: SortKey::Cpu,
            stats_selected: 0,
            stats_offset: 0,
            stats_detail: None,
            node_selected: 0,
            node_offset: 0,
            service_selected: 0,
            service_offset: 0,
            service_tasks: None,
            tasks_scroll: 0,
            swarm_input: None,
            wall: None,
            command_input: None,
            confirm: None,
            deploy_form: None,
            plan: None,
            detail: None,
            detail_scroll: 0,
            mask_env: true,
            processes: None,
            inspect: None,
            copy_menu: None,
            help: false,
            message: None,
        }
    }
}

/// The processes overlay: whose `docker top` it shows and the latest answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessesView {
    /// The engine's poller for this overlay; answers for another (an older overlay) are dropped.
    pub watch: u64,
    pub key: RowKey,
    pub container: String,
    pub endpoint: String,
    /// `None` until the first answer.
    pub table: Option<Result<crate::model::top::ProcessTable, String>>,
}

/// The inspect overlay: whose `docker inspect` it shows, where it is scrolled and searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectView {
    /// The engine's request for this overlay; an answer for another (an older overlay) is dropped.
    pub request: u64,
    /// The endpoint asked, and what of it.
    pub endpoint: crate::model::EndpointId,
    pub target: crate::model::inspect::InspectTarget,
    /// Kind, name and endpoint for the title: "network lan0 on lab1".
    pub subject: String,
    /// `None` until the answer.
    pub doc: Option<Result<Box<crate::model::inspect::InspectDoc>, String>>,
    /// Which sections are folded (all, when the answer comes).
    pub folding: crate::model::inspect::Folding,
    /// First row shown (rows: the document's lines less what folded sections hide).
    pub top: usize,
    /// The row `Enter` folds or opens, highlighted.
    pub cursor: usize,
    /// Env values shown (`M`); masked by default.
    pub show_env: bool,
    /// The last search (`/`): its text and whether it is a regex.
    pub search: Option<(String, bool)>,
    /// The document line the last jump landed on.
    pub current_match: Option<usize>,
}
