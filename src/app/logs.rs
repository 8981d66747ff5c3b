//! The app's side of log tails: opening one (a container, the marked ones, or everything the
//! filter shows), routing lines into it, and the log view's keys (scroll, follow, search,
//! filter mode, save).

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, App, Command};
use crate::model::View;
use crate::model::logs::{LogBuffer, LogLine, LogSource, Search};
use crate::model::query::RowKey;
use crate::ui::state::{LogView, SearchInput};

/// Bytes of text a tail keeps at most, whatever `max_lines` says: a line may be up to 1 MiB.
const TAIL_BYTES: usize = 64 << 20;

impl App {
    /// Opens a tail: of the marked containers if any, else of the selected one (or the detail
    /// panel's), or with `all_shown` of every container the current filter shows.
    pub(super) fn open_logs(&mut self, all_shown: bool) {
        let keys: Vec<RowKey> = if all_shown {
            self.rows().keys.clone()
        } else if let Some(key) = self.view.detail.clone() {
            vec![key]
        } else if self.view.view == View::Events {
            // The container of the selected event.
            let rows: Vec<_> = self
                .fleet
                .filtered_events(&self.view.event_filter)
                .collect();
            let i = crate::ui::events::selected_index(&rows, self.view.event_selected.as_ref());
            rows.get(i)
                .filter(|ev| ev.kind == "container")
                .map(|ev| RowKey {
                    endpoint: ev.endpoint,
                    id: ev.actor_id.clone(),
                })
                .into_iter()
                .collect()
        } else if !self.view.marked.is_empty() {
            self.view.marked.clone()
        } else {
            let rows = self.rows();
            rows.keys
                .get(self.view.selected)
                .cloned()
                .into_iter()
                .collect()
        };
        let sources: Vec<LogSource> = keys
            .iter()
            .filter_map(|k| {
                let ep = self.fleet.endpoints.get(k.endpoint)?;
                let c = ep.containers.get(&k.id)?;
                Some(LogSource {
                    endpoint: k.endpoint,
                    container_id: c.id.clone(),
                    tag: format!("{}/{}", ep.name(), c.name),
                })
            })
            .collect();
        if sources.is_empty() {
            self.view.message = Some("no container to show logs for".into());
            return;
        }
        self.open_tail(sources);
    }

    /// Opens a tail of `sources` in the log view, closing the one open before.
    pub(super) fn open_tail(&mut self, sources: Vec<LogSource>) {
        if let Some(old) = self.logs.take() {
            self.commands.push(Command::CloseTail { tail: old.tail });
        }
        let tail = self.next_tail;
        self.next_tail += 1;
        self.commands.push(Command::OpenTail {
            tail,
            sources: sources.clone(),
            last_lines: self.log_settings.tail,
        });
        self.logs = Some(LogView::new(
            tail,
            LogBuffer::new(sources, self.log_settings.max_lines).with_max_bytes(TAIL_BYTES),
        ));
        self.view.previous_view = if self.view.view == View::Logs {
            View::Containers
        } else {
            self.view.view
        };
        self.view.detail = None;
        self.view.view = View::Logs;
    }

    pub(super) fn toggle_mark(&mut self) {
        let rows = self.rows();
        let Some(key) = rows.keys.get(self.view.selected).cloned() else {
            return;
        };
        match self.view.marked.iter().position(|k| *k == key) {
            Some(i) => {
                self.view.marked.remove(i);
            }
            None => self.view.marked.push(key),
        }
        self.move_by(1);
    }

    /// `*`: marks exactly the rows the filter shows (marks on hidden rows are dropped, so an
    /// action cannot reach a container the operator no longer sees), or, pressed again while
    /// those are the marks, clears them.
    pub(super) fn mark_all(&mut self) {
        let rows = self.rows();
        let rows = &rows.keys;
        let same = rows.len() == self.view.marked.len()
            && rows.iter().all(|k| self.view.marked.contains(k));
        if same || rows.is_empty() {
            self.view.marked.clear();
            self.view.message = Some("marks cleared".into());
        } else {
            self.view.message = Some(format!(
                "{} marked: actions and l act on them (* again clears)",
                rows.len()
            ));
            self.view.marked = rows.clone();
        }
    }

    /// Lines for a tail: kept only if it is the open one (a closed tail's last lines are dropped).
    pub(super) fn apply_log_lines(&mut self, tail: u64, lines: Vec<LogLine>) -> bool {
        match self.logs.as_mut() {
            Some(view) if view.tail == tail => {
                view.buffer.extend(lines);
                self.view.view == View::Logs
            }
            _ => false,
        }
    }

    fn log_page(&self) -> usize {
        usize::from(self.height.saturating_sub(4)).max(1)
    }

    /// The log view's handling of an action; false when it is not a log-view action.
    pub(super) fn log_action(&mut self, action: Action) -> bool {
        let page = self.log_page();
        let Some(view) = self.logs.as_mut() else {
            return match action {
                Action::Close => {
                    self.view.view = self.view.previous_view;
                    true
                }
                _ => false,
            };
        };
        let shown = view.shown().len();
        let max_top = shown.saturating_sub(page);
        let scroll = |view: &mut LogView, delta: isize| {
            let from = if view.follow { max_top } else { view.top };
            let to = (from as isize + delta).clamp(0, max_top as isize) as usize;
            view.top = to;
            view.follow = to >= max_top && delta > 0;
        };
        match action {
            Action::Up => scroll(view, -1),
            Action::Down => scroll(view, 1),
            Action::PageUp => scroll(view, -(page as isize)),
            Action::PageDown => scroll(view, page as isize),
            Action::Top => {
                view.follow = false;
                view.top = 0;
            }
            Action::Bottom | Action::Follow => view.follow = true,
            Action::Filter => {
                self.view.search_input = Some(SearchInput {
                    text: view
                        .search
                        .as_ref()
                        .map(Search::pattern)
                        .unwrap_or_default(),
                    regex: matches!(view.search, Some(Search::Regex(_))),
                    error: None,
                });
            }
            Action::SearchNext => jump_to_match(view, true, page),
            Action::SearchPrev => jump_to_match(view, false, page),
            Action::ToggleMatchOnly => {
                if view.search.is_some() {
                    view.filter_mode = !view.filter_mode;
                    view.top = 0;
                } else {
                    self.view.message = Some("search first (/), then F shows only matches".into());
                }
            }
            Action::Copy => self.copy_log_lines(),
            Action::MarkLines => {
                view.mark = match view.mark {
                    Some(_) => None,
                    None => view.current_line(),
                };
                self.view.message = Some(match view.mark {
                    Some(_) => {
                        "lines marked from here: move, then c copies them (v drops the mark)".into()
                    }
                    None => "mark dropped".into(),
                });
            }
            Action::ToggleTimestamps => view.timestamps = !view.timestamps,
            Action::ToggleWrap => view.wrap = !view.wrap,
            Action::SaveLogs => {
                let name = view
                    .buffer
                    .sources
                    .iter()
                    .map(|s| s.tag.replace(['/', ' '], "_"))
                    .collect::<Vec<_>>()
                    .join("+");
                let file_name = format!("{name}-{}.log", Utc::now().format("%Y%m%dT%H%M%S"));
                self.commands.push(Command::Save {
                    file_name,
                    contents: view.buffer.to_text(true),
                });
            }
            Action::Close => {
                if view.search.is_some() {
                    view.search = None;
                    view.filter_mode = false;
                    view.current_match = None;
                } else {
                    self.view.view = self.view.previous_view;
                }
            }
            _ => return false,
        }
        true
    }

    pub(super) fn edit_search(&mut self, key: KeyEvent) {
        if self.view.inspect.is_some() {
            self.edit_inspect_search(key);
            return;
        }
        let Some(input) = self.view.search_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.view.search_input = None,
            KeyCode::Tab => input.regex = !input.regex,
            KeyCode::Enter => {
                if input.text.is_empty() {
                    self.view.search_input = None;
                    if let Some(view) = self.logs.as_mut() {
                        view.search = None;
                        view.filter_mode = false;
                    }
                    return;
                }
                match Search::new(&input.text, input.regex) {
                    Ok(search) => {
                        self.view.search_input = None;
                        let page = self.log_page();
                        if let Some(view) = self.logs.as_mut() {
                            view.search = Some(search);
                            view.current_match = None;
                            jump_to_match(view, false, page);
                        }
                    }
                    Err(e) => input.error = Some(e),
                }
                return;
            }
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.clear()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c)
            }
            _ => {}
        }
        if let Some(input) = self.view.search_input.as_mut() {
            input.error = if input.regex {
                Search::new(&input.text, true).err()
            } else {
                None
            };
        }
    }
}

/// Moves to the next (or previous) match from the current one, pausing the view on it.
fn jump_to_match(view: &mut LogView, forward: bool, page: usize) {
    let Some(search) = &view.search else {
        return;
    };
    let matches = view.buffer.matches(search);
    if matches.is_empty() {
        view.current_match = None;
        return;
    }
    let next = match (view.current_match, forward) {
        (Some(cur), true) => matches
            .iter()
            .copied()
            .find(|m| *m > cur)
            .unwrap_or(matches[0]),
        (Some(cur), false) => matches
            .iter()
            .rev()
            .copied()
            .find(|m| *m < cur)
            .unwrap_or(matches[matches.len() - 1]),
        (None, _) => matches[matches.len() - 1],
    };
    view.current_match = Some(next);
    let shown = view.shown();
    let pos = shown.iter().position(|i| *i == next).unwrap_or(0);
    view.follow = false;
    view.top = pos
        .saturating_sub(page / 2)
        .min(shown.len().saturating_sub(page));
}
