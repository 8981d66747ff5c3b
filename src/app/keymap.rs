//! One table maps keys to actions. Dispatch, the footer hints and the `?` help are all read from
//! it, so what the screen says a key does is what it does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::ui::{HelpSection, Hint, View};

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
    NextView,
    Follow,
    OpenLogs,
    OpenLogsFiltered,
    Mark,
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
    Detail,
}

impl Scope {
    pub const ALL: [Scope; 11] = [
        Scope::Global,
        Scope::Clusters,
        Scope::Containers,
        Scope::Events,
        Scope::Triage,
        Scope::Logs,
        Scope::Pools,
        Scope::PoolDetail,
        Scope::Stats,
        Scope::StatsDetail,
        Scope::Detail,
    ];

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
            Scope::Detail => "Detail panel",
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
        self.code == ev.code && self.mods == mods
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
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
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
                b(&[Key::plain(K::Tab)], NextView, Global, "next view", true),
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
                b(&[Key::ch('l')], OpenLogs, Detail, "logs", true),
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
                b(&[Key::plain(K::Esc)], Close, Detail, "close", true),
                b(
                    &[Key::ch('v')],
                    ToggleEnvMask,
                    Detail,
                    "show/mask env",
                    true,
                ),
            ],
        }
    }
}

impl Keymap {
    /// The action for a key in the given scope; scope bindings win over global ones.
    pub fn action(&self, scope: Scope, ev: &KeyEvent) -> Option<Action> {
        let find = |s: Scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == s && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.action)
        };
        find(scope).or_else(|| find(Scope::Global))
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
    pub fn help_for(&self, scope: Scope) -> Vec<HelpSection> {
        self.help()
            .into_iter()
            .zip(Scope::ALL)
            .filter(|(_, s)| *s == Scope::Global || *s == scope)
            .map(|(h, _)| h)
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

pub fn scope_of(view: View, detail_open: bool) -> Scope {
    match (detail_open, view) {
        (true, View::Pools) => Scope::PoolDetail,
        (true, View::Stats) => Scope::StatsDetail,
        (true, _) => Scope::Detail,
        (false, View::Clusters) => Scope::Clusters,
        (false, View::Containers) => Scope::Containers,
        (false, View::Events) => Scope::Events,
        (false, View::Triage) => Scope::Triage,
        (false, View::Logs) => Scope::Logs,
        (false, View::Pools) => Scope::Pools,
        (false, View::Stats) => Scope::Stats,
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
        ];
        for action in all {
            assert!(
                km.bindings().iter().any(|b| b.action == action),
                "{action:?} has no key"
            );
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let km = Keymap::default();
        let listed: usize = km.help().iter().map(|s| s.hints.len()).sum();
        assert_eq!(listed, km.bindings().len());
    }
}
