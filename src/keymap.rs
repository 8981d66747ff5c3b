//! One table maps keys to actions. Dispatch, the footer hints and the `?` help are all read from
//! it, so what the screen says a key does is what it does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::View;
use crate::ui::{HelpSection, Hint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    ToggleHelp,
    ShowClusters,
    ShowContainers,
    ShowEvents,
    ShowTriage,
    ShowLogs,
    ShowPools,
    ShowStats,
    ShowNodes,
    ShowServices,
    NextView,
    Follow,
    OpenLogs,
    OpenLogsFiltered,
    Mark,
    /// `docker top` of the selected container, in an overlay refreshed every 2 s.
    Processes,
    /// `docker inspect` of the selected container (endpoint, pool network, Swarm node or
    /// service), in a folded, scrollable, searchable overlay.
    Inspect,
    /// In the inspect overlay: fold or open the section under the cursor.
    ToggleFold,
    /// In the inspect overlay: every section folded to one line.
    FoldAll,
    /// In the inspect overlay: every section open.
    UnfoldAll,
    /// Marks every row the filter shows, or clears the marks when they are exactly those.
    MarkAll,
    SearchNext,
    SearchPrev,
    ToggleMatchOnly,
    ToggleTimestamps,
    ToggleWrap,
    SaveLogs,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    Close,
    Filter,
    SortNext,
    SortReverse,
    GroupNext,
    ToggleEnvMask,
    /// The `:` command line.
    CommandLine,
    ActStart,
    ActStop,
    ActRestart,
    ActPause,
    ActKill,
    ActRemove,
    ActRolling,
    /// The copy menu of the selected container (id, name, IPs, image); in the log view, the
    /// current line or the marked range. Copied to the operator's clipboard (OSC 52).
    Copy,
    /// In the log view: start a range of lines to copy at the current line (again: drop it).
    MarkLines,
    /// The selected container's `ENDPOINT/NAME` to the operator's clipboard (OSC 52).
    CopyName,
    /// The deploy form (prefilled from the selected container).
    Deploy,
    /// Back to the selected service's newest kept revision.
    Rollback,
    /// In a confirmation: go ahead.
    Confirm,
    /// A shell in the selected container, in the pane.
    Exec,
    /// A shell on the machine behind the selected endpoint, in the pane.
    HostShell,
    /// Keys to the shell pane, or back to the dashboard (the one key a focused shell does not get).
    ShellFocus,
    ShellNext,
    ShellPrev,
    ShellClose,
    ShellGrow,
    ShellShrink,
    /// While a shell has focus: page through its scrollback (the shell does not get the key).
    ShellScrollUp,
    ShellScrollDown,
    /// In triage: mark the selected alert as seen (dimmed, off the wall banner), or unmark it.
    Acknowledge,
    /// A Swarm service to another number of replicas (asks how many).
    Scale,
    /// A Swarm service to another image (asks which).
    SetImage,
    /// A Swarm node drained: its tasks move to other nodes.
    Drain,
    /// A Swarm node active again (takes new tasks).
    Activate,
}

impl Action {
    /// The action's name in `[keys]` (prefixed by its scope for scoped bindings).
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::ToggleHelp => "help",
            Action::ShowClusters => "view-clusters",
            Action::ShowContainers => "view-containers",
            Action::ShowEvents => "view-events",
            Action::ShowTriage => "view-triage",
            Action::ShowLogs => "view-logs",
            Action::ShowPools => "view-ippool",
            Action::ShowStats => "view-stats",
            Action::ShowNodes => "view-nodes",
            Action::ShowServices => "view-services",
            Action::NextView => "next-view",
            Action::Follow => "follow",
            Action::OpenLogs => "logs",
            Action::OpenLogsFiltered => "logs-all-shown",
            Action::Mark => "mark",
            Action::MarkAll => "mark-all",
            Action::Processes => "processes",
            Action::Inspect => "inspect",
            Action::ToggleFold => "fold",
            Action::FoldAll => "fold-all",
            Action::UnfoldAll => "unfold-all",
            Action::SearchNext => "next-match",
            Action::SearchPrev => "previous-match",
            Action::ToggleMatchOnly => "only-matches",
            Action::ToggleTimestamps => "timestamps",
            Action::ToggleWrap => "wrap",
            Action::SaveLogs => "save",
            Action::Down => "down",
            Action::Up => "up",
            Action::PageDown => "page-down",
            Action::PageUp => "page-up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Close => "close",
            Action::Filter => "filter",
            Action::SortNext => "sort",
            Action::SortReverse => "reverse-sort",
            Action::GroupNext => "group",
            Action::ToggleEnvMask => "show-env",
            Action::CommandLine => "command",
            Action::ActStart => "start",
            Action::ActStop => "stop",
            Action::ActRestart => "restart",
            Action::ActPause => "pause",
            Action::ActKill => "kill",
            Action::ActRemove => "remove",
            Action::ActRolling => "rolling-restart",
            Action::Copy => "copy",
            Action::MarkLines => "mark-lines",
            Action::CopyName => "copy-name",
            Action::Deploy => "deploy",
            Action::Rollback => "rollback",
            Action::Confirm => "confirm",
            Action::Exec => "exec",
            Action::HostShell => "host",
            Action::ShellFocus => "focus",
            Action::ShellNext => "next-tab",
            Action::ShellPrev => "previous-tab",
            Action::ShellClose => "close-tab",
            Action::ShellGrow => "taller",
            Action::ShellShrink => "shorter",
            Action::ShellScrollUp => "scroll-back",
            Action::ShellScrollDown => "scroll-forward",
            Action::Acknowledge => "acknowledge",
            Action::Scale => "scale",
            Action::SetImage => "image",
            Action::Drain => "drain",
            Action::Activate => "activate",
        }
    }
}

/// Where a binding applies. Overlays (detail, help) take precedence over the view under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Clusters,
    Containers,
    Events,
    Triage,
    Logs,
    Pools,
    PoolDetail,
    Stats,
    StatsDetail,
    Nodes,
    Services,
    /// The tasks of a service, open over the services view.
    ServiceTasks,
    Detail,
    /// The processes overlay (`t`).
    Processes,
    /// The inspect overlay (`i`).
    Inspect,
    Confirm,
    /// The shell pane's keys: they work in every view (after the view's own bindings).
    Shell,
}

impl Scope {
    pub const ALL: [Scope; 18] = [
        Scope::Global,
        Scope::Shell,
        Scope::Clusters,
        Scope::Containers,
        Scope::Events,
        Scope::Triage,
        Scope::Logs,
        Scope::Pools,
        Scope::PoolDetail,
        Scope::Stats,
        Scope::StatsDetail,
        Scope::Nodes,
        Scope::Services,
        Scope::ServiceTasks,
        Scope::Detail,
        Scope::Processes,
        Scope::Inspect,
        Scope::Confirm,
    ];

    /// The prefix of this scope's binding names in `[keys]` ("" for global bindings).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "",
            Scope::Clusters => "clusters",
            Scope::Containers => "containers",
            Scope::Events => "events",
            Scope::Triage => "triage",
            Scope::Logs => "logs",
            Scope::Pools => "ippool",
            Scope::PoolDetail => "ippool-detail",
            Scope::Stats => "stats",
            Scope::StatsDetail => "stats-detail",
            Scope::Nodes => "nodes",
            Scope::Services => "services",
            Scope::ServiceTasks => "service-tasks",
            Scope::Detail => "detail",
            Scope::Processes => "processes",
            Scope::Inspect => "inspect",
            Scope::Confirm => "confirm",
            Scope::Shell => "shell",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Clusters => "Clusters view",
            Scope::Containers => "Containers view",
            Scope::Events => "Events view",
            Scope::Triage => "Triage view",
            Scope::Logs => "Log view",
            Scope::Pools => "IP pools view",
            Scope::PoolDetail => "Pool drill-down",
            Scope::Stats => "Stats view",
            Scope::StatsDetail => "Stats charts",
            Scope::Nodes => "Nodes view (Swarm)",
            Scope::Services => "Services view (Swarm)",
            Scope::ServiceTasks => "Service tasks",
            Scope::Detail => "Detail panel",
            Scope::Processes => "Processes",
            Scope::Inspect => "Inspect",
            Scope::Confirm => "Confirmation",
            Scope::Shell => "Shell pane (any view)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    const fn ch(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    const fn shift(code: KeyCode) -> Self {
        Self {
            code,
            mods: KeyModifiers::SHIFT,
        }
    }

    const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    fn matches(&self, ev: &KeyEvent) -> bool {
        // Shift is implied by the character itself ('G', '?'), so it is ignored for chars.
        let mods = match ev.code {
            KeyCode::Char(_) => ev.modifiers - KeyModifiers::SHIFT,
            _ => ev.modifiers,
        };
        // A legacy terminal sends Ctrl-\ Ctrl-] Ctrl-^ Ctrl-_ as the bytes 0x1c-0x1f, which
        // crossterm reports as Ctrl-4..Ctrl-7: the same keys.
        let code = match ev.code {
            KeyCode::Char(c @ '4'..='7') if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(['\\', ']', '^', '_'][(c as u8 - b'4') as usize])
            }
            other => other,
        };
        self.code == code && self.mods == mods
    }

    /// Parses a key as written in `[keys]`: "q", "G", "?", "ctrl-f", "enter", "esc", "tab",
    /// "space", "up", "down", "left", "right", "pgup", "pgdn", "home", "end", "backspace", "f1".."f12".
    pub fn parse(text: &str) -> Result<Key, String> {
        let lower = text.to_lowercase();
        let (mods, rest) = if let Some(rest) = lower
            .strip_prefix("ctrl-")
            .or_else(|| lower.strip_prefix("ctrl+"))
        {
            (KeyModifiers::CONTROL, rest.to_string())
        } else if let Some(rest) = lower
            .strip_prefix("shift-")
            .or_else(|| lower.strip_prefix("shift+"))
            .filter(|rest| rest.chars().count() > 1)
        {
            // Shift with a named key (shift-pgup); a shifted character is written as itself.
            (KeyModifiers::SHIFT, rest.to_string())
        } else {
            (KeyModifiers::NONE, lower.clone())
        };
        let code = match rest.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                // A single character, case kept ("G" is not "g").
                let original = &text[text.len() - rest.len()..];
                let mut chars = original.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => KeyCode::Char(if mods.is_empty() {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    }),
                    _ => {
                        return Err(format!(
                            "\"{text}\" is not a key; use one character, ctrl-X, enter, esc, tab, space, up, down, left, right, pgup, pgdn, home, end, backspace or f1-f12 (shift- before a named key)"
                        ));
                    }
                }
            }
        };
        Ok(Key { code, mods })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else if self.mods.contains(KeyModifiers::SHIFT) {
            format!("Shift-{base}")
        } else {
            base
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub scope: Scope,
    pub help: &'static str,
    /// Shown in the footer of its scope (the footer has room for the essentials only).
    pub footer: bool,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Action::*;
        use KeyCode as K;
        use Scope::*;
        let b = |keys: &[Key], action, scope, help, footer| Binding {
            keys: keys.to_vec(),
            action,
            scope,
            help,
            footer,
        };
        Self {
            bindings: vec![
                b(&[Key::ch('q'), Key::ctrl('c')], Quit, Global, "quit", true),
                b(&[Key::ch('?')], ToggleHelp, Global, "help", true),
                b(
                    &[Key::ch('1')],
                    ShowClusters,
                    Global,
                    "clusters view",
                    false,
                ),
                b(
                    &[Key::ch('2')],
                    ShowContainers,
                    Global,
                    "containers view",
                    false,
                ),
                b(&[Key::ch('3')], ShowEvents, Global, "events view", false),
                b(&[Key::ch('4')], ShowTriage, Global, "triage view", false),
                b(&[Key::ch('5')], ShowLogs, Global, "log view", false),
                b(&[Key::ch('6')], ShowPools, Global, "IP pools view", false),
                b(&[Key::ch('7')], ShowStats, Global, "stats view", false),
                b(
                    &[Key::ch('8')],
                    ShowNodes,
                    Global,
                    "Swarm nodes view",
                    false,
                ),
                b(
                    &[Key::ch('9')],
                    ShowServices,
                    Global,
                    "Swarm services view",
                    false,
                ),
                b(&[Key::plain(K::Tab)], NextView, Global, "next view", true),
                b(
                    &[Key::ch(':')],
                    CommandLine,
                    Global,
                    "command (:containers @prod)",
                    false,
                ),
                b(
                    &[Key::ch('j'), Key::plain(K::Down)],
                    Down,
                    Global,
                    "move down",
                    false,
                ),
                b(
                    &[Key::ch('k'), Key::plain(K::Up)],
                    Up,
                    Global,
                    "move up",
                    false,
                ),
                b(
                    &[Key::plain(K::PageDown), Key::ctrl('f')],
                    PageDown,
                    Global,
                    "page down",
                    false,
                ),
                b(
                    &[Key::plain(K::PageUp), Key::ctrl('b')],
                    PageUp,
                    Global,
                    "page up",
                    false,
                ),
                b(
                    &[Key::ch('g'), Key::plain(K::Home)],
                    Top,
                    Global,
                    "first row",
                    false,
                ),
                b(
                    &[Key::ch('G'), Key::plain(K::End)],
                    Bottom,
                    Global,
                    "last row",
                    false,
                ),
                b(
                    &[Key::plain(K::Enter)],
                    Open,
                    Clusters,
                    "its containers",
                    true,
                ),
                b(&[Key::ch('/')], Filter, Containers, "filter", true),
                b(&[Key::plain(K::Enter)], Open, Containers, "details", true),
                b(&[Key::ch('s')], SortNext, Containers, "sort", true),
                b(
                    &[Key::ch('S')],
                    SortReverse,
                    Containers,
                    "reverse sort",
                    false,
                ),
                b(&[Key::ch('o')], GroupNext, Containers, "group", true),
                b(
                    &[Key::plain(K::Esc)],
                    Close,
                    Containers,
                    "clear filter",
                    false,
                ),
                b(&[Key::ch('/')], Filter, Events, "filter", true),
                b(&[Key::ch('f')], Follow, Events, "follow / pause", true),
                b(
                    &[Key::ch('l')],
                    OpenLogs,
                    Events,
                    "logs of its container",
                    false,
                ),
                b(
                    &[Key::plain(K::Enter)],
                    Open,
                    Events,
                    "go to container",
                    true,
                ),
                b(&[Key::plain(K::Esc)], Close, Events, "clear filter", false),
                b(&[Key::plain(K::Enter)], Open, Triage, "go to it", true),
                b(
                    &[Key::ch('a')],
                    Acknowledge,
                    Triage,
                    "acknowledge alert (again: undo)",
                    false,
                ),
                b(
                    &[Key::ch('l')],
                    OpenLogs,
                    Containers,
                    "logs (of marked, or this)",
                    true,
                ),
                b(
                    &[Key::ch('L')],
                    OpenLogsFiltered,
                    Containers,
                    "logs of all shown, merged",
                    false,
                ),
                b(
                    &[Key::ch(' ')],
                    Mark,
                    Containers,
                    "mark for merged logs",
                    false,
                ),
                b(
                    &[Key::ch('*')],
                    MarkAll,
                    Containers,
                    "mark all shown / clear marks",
                    false,
                ),
                b(&[Key::ch('l')], OpenLogs, Detail, "logs", true),
                b(&[Key::ch('u')], ActStart, Containers, "start", false),
                b(&[Key::ch('x')], ActStop, Containers, "stop", false),
                b(&[Key::ch('r')], ActRestart, Containers, "restart", true),
                b(
                    &[Key::ch('p')],
                    ActPause,
                    Containers,
                    "pause / unpause",
                    false,
                ),
                b(
                    &[Key::ch('K')],
                    ActKill,
                    Containers,
                    "kill (signal choice)",
                    false,
                ),
                b(&[Key::ch('D')], ActRemove, Containers, "remove", false),
                b(
                    &[Key::ch('R')],
                    ActRolling,
                    Containers,
                    "rolling restart of marked",
                    false,
                ),
                b(
                    &[Key::ch('d')],
                    Deploy,
                    Containers,
                    "deploy/update/finish cut-short",
                    false,
                ),
                b(
                    &[Key::ch('b')],
                    Rollback,
                    Containers,
                    "roll back / undo cut-short",
                    false,
                ),
                b(
                    &[Key::ch('b')],
                    Rollback,
                    Detail,
                    "roll back / undo cut-short",
                    false,
                ),
                b(&[Key::ch('u')], ActStart, Detail, "start", false),
                b(&[Key::ch('x')], ActStop, Detail, "stop", false),
                b(&[Key::ch('r')], ActRestart, Detail, "restart", false),
                b(&[Key::ch('p')], ActPause, Detail, "pause / unpause", false),
                b(&[Key::ch('K')], ActKill, Detail, "kill", false),
                b(&[Key::ch('D')], ActRemove, Detail, "remove", false),
                b(
                    &[Key::ch('y')],
                    Action::Confirm,
                    Scope::Confirm,
                    "yes, do it",
                    true,
                ),
                b(
                    &[Key::ch('n'), Key::plain(K::Esc)],
                    Close,
                    Scope::Confirm,
                    "no",
                    true,
                ),
                b(
                    &[Key::plain(K::Tab)],
                    NextView,
                    Scope::Confirm,
                    "kill: next signal; rm: volumes",
                    true,
                ),
                b(&[Key::ch('/')], Filter, Logs, "search", true),
                b(&[Key::ch('n')], SearchNext, Logs, "next match", true),
                b(&[Key::ch('N')], SearchPrev, Logs, "previous match", false),
                b(
                    &[Key::ch('F')],
                    ToggleMatchOnly,
                    Logs,
                    "only matching lines",
                    false,
                ),
                b(&[Key::ch('f')], Follow, Logs, "follow", true),
                b(&[Key::ch('t')], ToggleTimestamps, Logs, "timestamps", false),
                b(&[Key::ch('w')], ToggleWrap, Logs, "wrap", false),
                b(&[Key::ch('s')], SaveLogs, Logs, "save to file", false),
                b(
                    &[Key::ch('c')],
                    Copy,
                    Logs,
                    "copy line / marked lines",
                    false,
                ),
                b(
                    &[Key::ch('v')],
                    MarkLines,
                    Logs,
                    "mark lines from here",
                    false,
                ),
                b(
                    &[Key::plain(K::Esc)],
                    Close,
                    Logs,
                    "clear search / back",
                    true,
                ),
                b(&[Key::plain(K::Enter)], Open, Pools, "drill down", true),
                b(&[Key::ch('/')], Filter, Pools, "filter", true),
                b(
                    &[Key::ch('s')],
                    SortNext,
                    Pools,
                    "sort: use% / subnet",
                    true,
                ),
                b(&[Key::plain(K::Esc)], Close, Pools, "clear filter", false),
                b(&[Key::plain(K::Esc)], Close, PoolDetail, "close", true),
                b(
                    &[Key::ch('s')],
                    SortNext,
                    Stats,
                    "top by CPU/memory/network/IO",
                    true,
                ),
                b(&[Key::plain(K::Enter)], Open, Stats, "charts", true),
                b(&[Key::plain(K::Esc)], Close, StatsDetail, "close", true),
                b(
                    &[Key::ch('D')],
                    Drain,
                    Nodes,
                    "drain (its tasks move away)",
                    true,
                ),
                b(&[Key::ch('a')], Activate, Nodes, "activate", true),
                b(
                    &[Key::ch('p')],
                    ActPause,
                    Nodes,
                    "pause (no new tasks)",
                    false,
                ),
                b(&[Key::plain(K::Enter)], Open, Services, "its tasks", true),
                b(&[Key::ch('s')], Scale, Services, "scale", true),
                b(&[Key::ch('u')], SetImage, Services, "update image", true),
                b(
                    &[Key::ch('r')],
                    ActRestart,
                    Services,
                    "force update (restart)",
                    false,
                ),
                b(&[Key::ch('b')], Rollback, Services, "Swarm rollback", false),
                b(
                    &[Key::ch('l')],
                    OpenLogs,
                    Services,
                    "logs (all tasks)",
                    false,
                ),
                b(&[Key::plain(K::Esc)], Close, ServiceTasks, "close", true),
                b(
                    &[Key::ch('l')],
                    OpenLogs,
                    ServiceTasks,
                    "logs (all tasks)",
                    true,
                ),
                b(&[Key::ch('s')], Scale, ServiceTasks, "scale", false),
                b(
                    &[Key::ch('u')],
                    SetImage,
                    ServiceTasks,
                    "update image",
                    false,
                ),
                b(
                    &[Key::ch('r')],
                    ActRestart,
                    ServiceTasks,
                    "force update (restart)",
                    false,
                ),
                b(
                    &[Key::ch('b')],
                    Rollback,
                    ServiceTasks,
                    "Swarm rollback",
                    false,
                ),
                b(&[Key::plain(K::Esc)], Close, Detail, "close", true),
                b(
                    &[Key::ch('v')],
                    ToggleEnvMask,
                    Detail,
                    "show/mask env",
                    true,
                ),
                b(
                    &[Key::ch('t')],
                    Action::Processes,
                    Containers,
                    "processes (top)",
                    false,
                ),
                b(
                    &[Key::ch('t')],
                    Action::Processes,
                    Detail,
                    "processes (top)",
                    false,
                ),
                b(
                    &[Key::plain(K::Esc)],
                    Close,
                    Scope::Processes,
                    "close",
                    true,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Containers,
                    "inspect (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Detail,
                    "inspect (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Clusters,
                    "inspect: docker info + version",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Pools,
                    "inspect its network (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    PoolDetail,
                    "inspect its network (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Nodes,
                    "inspect node (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    Services,
                    "inspect service (JSON)",
                    false,
                ),
                b(
                    &[Key::ch('i')],
                    Action::Inspect,
                    ServiceTasks,
                    "inspect service (JSON)",
                    false,
                ),
                b(
                    &[Key::plain(K::Enter), Key::ch(' ')],
                    ToggleFold,
                    Scope::Inspect,
                    "fold",
                    true,
                ),
                b(
                    &[Key::ch('-')],
                    FoldAll,
                    Scope::Inspect,
                    "fold every section",
                    false,
                ),
                b(
                    &[Key::ch('+')],
                    UnfoldAll,
                    Scope::Inspect,
                    "open every section",
                    false,
                ),
                b(
                    &[Key::ch('M')],
                    ToggleEnvMask,
                    Scope::Inspect,
                    "show/mask env",
                    true,
                ),
                b(&[Key::ch('/')], Filter, Scope::Inspect, "search", true),
                // Off the footer, which has no room for it at 80 columns; `?` lists it.
                b(
                    &[Key::ch('n')],
                    SearchNext,
                    Scope::Inspect,
                    "next match",
                    false,
                ),
                b(&[Key::plain(K::Esc)], Close, Scope::Inspect, "close", true),
                b(&[Key::ch('e')], Exec, Containers, "exec shell", false),
                b(&[Key::ch('e')], Exec, Detail, "exec shell", false),
                b(&[Key::ch('c')], Copy, Containers, "copy id/name/IP…", false),
                b(&[Key::ch('c')], Copy, Detail, "copy id/name/IP…", false),
                b(
                    &[Key::ch('C')],
                    CopyName,
                    Containers,
                    "copy ENDPOINT/NAME",
                    false,
                ),
                b(
                    &[Key::ch('C')],
                    CopyName,
                    Detail,
                    "copy ENDPOINT/NAME",
                    false,
                ),
                b(
                    &[Key::ch('E')],
                    HostShell,
                    Shell,
                    "host shell (selected endpoint)",
                    false,
                ),
                b(
                    &[Key::ctrl(']')],
                    ShellFocus,
                    Shell,
                    "shell pane ⇄ dashboard",
                    false,
                ),
                b(&[Key::ch('}')], ShellNext, Shell, "next shell tab", false),
                b(
                    &[Key::ch('{')],
                    ShellPrev,
                    Shell,
                    "previous shell tab",
                    false,
                ),
                b(
                    &[Key::ctrl('w')],
                    ShellClose,
                    Shell,
                    "close shell tab",
                    false,
                ),
                b(
                    &[Key::ch('+')],
                    ShellGrow,
                    Shell,
                    "taller shell pane",
                    false,
                ),
                b(
                    &[Key::ch('-')],
                    ShellShrink,
                    Shell,
                    "shorter shell pane",
                    false,
                ),
                b(
                    &[Key::shift(K::PageUp)],
                    ShellScrollUp,
                    Shell,
                    "shell: scroll back (focused)",
                    false,
                ),
                b(
                    &[Key::shift(K::PageDown)],
                    ShellScrollDown,
                    Shell,
                    "shell: scroll forward (focused)",
                    false,
                ),
            ],
        }
    }
}

pub use crate::config::KeyOverride;

impl Binding {
    /// "quit", "containers.sort", …: how `[keys]` names this binding.
    pub fn name(&self) -> String {
        match self.scope {
            Scope::Global => self.action.name().to_string(),
            scope => format!("{}.{}", scope.name(), self.action.name()),
        }
    }
}

impl Keymap {
    /// The default keymap with `[keys]` applied. Errors name the config file, line and binding,
    /// and for a clash, both bindings.
    pub fn with_overrides(
        overrides: &[KeyOverride],
        path: &std::path::Path,
    ) -> Result<Keymap, crate::config::ConfigError> {
        let mut km = Keymap::default();
        let invalid =
            |line: usize, key: String, message: String| crate::config::ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                key,
                message,
            };
        for o in overrides {
            let Some(i) = km.bindings.iter().position(|b| b.name() == o.name) else {
                let mut names: Vec<String> = km.bindings.iter().map(Binding::name).collect();
                names.dedup();
                return Err(invalid(
                    o.line,
                    format!("keys.{}", o.name),
                    format!(
                        "unknown action \"{}\"; valid actions: {}",
                        o.name,
                        names.join(", ")
                    ),
                ));
            };
            let mut keys = Vec::new();
            for k in &o.keys {
                keys.push(
                    Key::parse(k).map_err(|m| invalid(o.line, format!("keys.{}", o.name), m))?,
                );
            }
            if keys.is_empty() {
                return Err(invalid(
                    o.line,
                    format!("keys.{}", o.name),
                    "needs at least one key".into(),
                ));
            }
            km.bindings[i].keys = keys;
        }
        // A key bound twice in one place is ambiguous: refuse, naming both.
        for (i, a) in km.bindings.iter().enumerate() {
            for b in &km.bindings[i + 1..] {
                if a.scope != b.scope {
                    continue;
                }
                if let Some(k) = a.keys.iter().find(|k| b.keys.contains(k)) {
                    let line = overrides
                        .iter()
                        .find(|o| o.name == a.name() || o.name == b.name())
                        .map_or(1, |o| o.line);
                    return Err(invalid(
                        line,
                        "keys".into(),
                        format!(
                            "key \"{}\" is bound to both {} and {}",
                            k.label(),
                            a.name(),
                            b.name()
                        ),
                    ));
                }
            }
        }
        Ok(km)
    }

    /// The action for a key in the given scope; scope bindings win over the shell pane's,
    /// which win over global ones.
    pub fn action(&self, scope: Scope, ev: &KeyEvent) -> Option<Action> {
        let find = |s: Scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == s && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.action)
        };
        find(scope)
            .or_else(|| find(Scope::Shell))
            .or_else(|| find(Scope::Global))
    }

    pub fn footer(&self, scope: Scope) -> Vec<Hint> {
        let mut out: Vec<Hint> = self
            .bindings
            .iter()
            .filter(|b| b.footer && b.scope == scope)
            .map(hint)
            .collect();
        out.extend(
            self.bindings
                .iter()
                .filter(|b| b.footer && b.scope == Scope::Global)
                .map(hint),
        );
        out
    }

    /// Help for one place: the keys that work everywhere and those of `scope` (what a small
    /// terminal has room for).
    /// The view keys are one line there ("1-9 views (the tabs above)"): the header's tabs
    /// name them, and nine lines of them left no room for a busy view's own keys at 80x24.
    pub fn help_for(&self, scope: Scope) -> Vec<HelpSection> {
        let views: Vec<&Binding> = self
            .bindings
            .iter()
            .filter(|b| b.scope == Scope::Global && View::ALL.iter().any(|v| show(*v) == b.action))
            .collect();
        let labels: Vec<String> = views
            .iter()
            .filter_map(|b| b.keys.first().map(Key::label))
            .collect();
        let numbered: Vec<String> = (1..=labels.len()).map(|n| n.to_string()).collect();
        let key = if labels == numbered && labels.len() > 1 {
            format!("1-{}", labels.len())
        } else {
            labels.join("/")
        };
        let view_help: Vec<&str> = views.iter().map(|b| b.help).collect();
        self.help()
            .into_iter()
            .zip(Scope::ALL)
            .filter(|(_, s)| *s == Scope::Global || *s == scope)
            .map(|(mut h, s)| {
                if s == Scope::Global
                    && let Some(first) = h
                        .hints
                        .iter()
                        .position(|x| view_help.contains(&x.action.as_str()))
                {
                    h.hints.retain(|x| !view_help.contains(&x.action.as_str()));
                    h.hints.insert(
                        first,
                        Hint {
                            key: key.clone(),
                            action: "views (the tabs above)".into(),
                        },
                    );
                }
                h
            })
            .collect()
    }

    pub fn help(&self) -> Vec<HelpSection> {
        Scope::ALL
            .into_iter()
            .map(|scope| HelpSection {
                title: scope.title().to_string(),
                hints: self
                    .bindings
                    .iter()
                    .filter(|b| b.scope == scope)
                    .map(hint)
                    .collect(),
            })
            .collect()
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
}

fn hint(b: &Binding) -> Hint {
    Hint {
        key: b.keys.iter().map(Key::label).collect::<Vec<_>>().join("/"),
        action: b.help.to_string(),
    }
}

/// The action that shows `view` (what its number key does).
pub fn show(view: View) -> Action {
    match view {
        View::Clusters => Action::ShowClusters,
        View::Containers => Action::ShowContainers,
        View::Events => Action::ShowEvents,
        View::Triage => Action::ShowTriage,
        View::Logs => Action::ShowLogs,
        View::Pools => Action::ShowPools,
        View::Stats => Action::ShowStats,
        View::Nodes => Action::ShowNodes,
        View::Services => Action::ShowServices,
    }
}

pub fn scope_of(view: View, detail_open: bool) -> Scope {
    scope_of_view(view, detail_open)
}

fn scope_of_view(view: View, detail_open: bool) -> Scope {
    match (detail_open, view) {
        (true, View::Pools) => Scope::PoolDetail,
        (true, View::Stats) => Scope::StatsDetail,
        (true, View::Services) => Scope::ServiceTasks,
        (_, View::Nodes) => Scope::Nodes,
        (true, _) => Scope::Detail,
        (false, View::Clusters) => Scope::Clusters,
        (false, View::Containers) => Scope::Containers,
        (false, View::Events) => Scope::Events,
        (false, View::Triage) => Scope::Triage,
        (false, View::Logs) => Scope::Logs,
        (false, View::Pools) => Scope::Pools,
        (false, View::Stats) => Scope::Stats,
        (false, View::Services) => Scope::Services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn scope_bindings_win_over_global_ones() {
        let km = Keymap::default();
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Containers, &enter), Some(Action::Open));
        let esc = key(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Detail, &esc), Some(Action::Close));
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Detail, &q), Some(Action::Quit));
    }

    #[test]
    fn shifted_characters_match_without_naming_shift() {
        let km = Keymap::default();
        let g = key(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(km.action(Scope::Containers, &g), Some(Action::Bottom));
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action(Scope::Clusters, &ctrl_c), Some(Action::Quit));
        let plain_c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Clusters, &plain_c), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        let km = Keymap::default();
        let b = km.bindings();
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                let clash = x.keys.iter().any(|k| y.keys.contains(k)) && (x.scope == y.scope);
                assert!(
                    !clash,
                    "{:?} and {:?} share a key in {:?}",
                    x.action, y.action, x.scope
                );
            }
        }
    }

    #[test]
    fn every_action_has_a_key() {
        use Action::*;
        let km = Keymap::default();
        let all = [
            Quit,
            ToggleHelp,
            ShowClusters,
            ShowContainers,
            ShowEvents,
            ShowTriage,
            ShowLogs,
            NextView,
            Follow,
            OpenLogs,
            OpenLogsFiltered,
            Mark,
            MarkAll,
            Processes,
            Inspect,
            ToggleFold,
            FoldAll,
            UnfoldAll,
            SearchNext,
            SearchPrev,
            ToggleMatchOnly,
            ToggleTimestamps,
            ToggleWrap,
            SaveLogs,
            Down,
            Up,
            PageDown,
            PageUp,
            Top,
            Bottom,
            Open,
            Close,
            Filter,
            SortNext,
            SortReverse,
            GroupNext,
            ToggleEnvMask,
            Copy,
            MarkLines,
            CopyName,
            Exec,
            HostShell,
            ShellFocus,
            ShellNext,
            ShellPrev,
            ShellClose,
            ShellGrow,
            ShellShrink,
            ShellScrollUp,
            ShellScrollDown,
            Acknowledge,
        ];
        for action in all {
            assert!(
                km.bindings().iter().any(|b| b.action == action),
                "{action:?} has no key"
            );
        }
    }

    #[test]
    fn ctrl_bracket_matches_as_a_legacy_terminal_sends_it() {
        let km = Keymap::default();
        let legacy = key(KeyCode::Char('5'), KeyModifiers::CONTROL);
        let kitty = key(KeyCode::Char(']'), KeyModifiers::CONTROL);
        assert_eq!(km.action(Scope::Global, &legacy), Some(Action::ShellFocus));
        assert_eq!(km.action(Scope::Global, &kitty), Some(Action::ShellFocus));
        assert_eq!(Key::parse("ctrl-]"), Ok(Key::ctrl(']')));
    }

    #[test]
    fn keys_parse_as_written_in_config() {
        assert_eq!(Key::parse("q"), Ok(Key::ch('q')));
        assert_eq!(Key::parse("G"), Ok(Key::ch('G')));
        assert_eq!(Key::parse("ctrl-F"), Ok(Key::ctrl('f')));
        assert_eq!(Key::parse("Enter"), Ok(Key::plain(KeyCode::Enter)));
        assert_eq!(Key::parse("f5"), Ok(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("shift-pgup"), Ok(Key::shift(KeyCode::PageUp)));

        assert!(Key::parse("hyper-x").unwrap_err().contains("is not a key"));
    }

    #[test]
    fn overrides_rebind_and_clashes_name_both_actions() {
        let path = std::path::Path::new("c.toml");
        let o = |name: &str, keys: &[&str], line| KeyOverride {
            name: name.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            line,
        };
        let km = Keymap::with_overrides(&[o("quit", &["x"], 3)], path).unwrap();
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Clusters, &x), Some(Action::Quit));
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Clusters, &q), None, "the old key is free");
        let err = Keymap::with_overrides(&[o("containers.sort", &["o"], 7)], path)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.toml:7: keys: key \"o\" is bound to both containers.sort and containers.group"
        );
        let err = Keymap::with_overrides(&[o("containers.sorting", &["o"], 2)], path)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:2: keys.containers.sorting: unknown action \"containers.sorting\"; valid actions: quit, help,"), "{err}");
    }

    #[test]
    fn help_lists_every_binding() {
        let km = Keymap::default();
        let listed: usize = km.help().iter().map(|s| s.hints.len()).sum();
        assert_eq!(listed, km.bindings().len());
    }
}
