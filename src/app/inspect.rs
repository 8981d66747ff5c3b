//! The app's side of the inspect overlay (`i`): which container (endpoint, network, Swarm node
//! or service), the engine's one-shot request,
//! and the overlay's keys (cursor and scroll, `Enter` folds a section, `-`/`+` all of them,
//! `M` env values, `/` and `n` search).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, App, Command};
use crate::model::View;
use crate::model::inspect::{Folding, InspectDoc, InspectTarget};
use crate::model::logs::Search;
use crate::ui::state::{InspectView, SearchInput};

impl App {
    /// `i`: in the clusters view the selected endpoint (`docker info` and `docker version`),
    /// in the IP pools view the selected pool's network, in the Swarm views the selected node
    /// or service; elsewhere the open detail panel's container, else the selected row's.
    pub(super) fn open_inspect(&mut self) {
        let chosen = match self.view.view {
            View::Clusters => self
                .fleet
                .endpoints
                .get(self.view.selected_endpoint)
                .map(|ep| {
                    let subject = format!("endpoint {} (info, version)", ep.name());
                    (
                        self.view.selected_endpoint,
                        InspectTarget::Endpoint,
                        subject,
                    )
                }),
            View::Pools => self.pool_inspect_target(),
            View::Nodes | View::Services => self.swarm_inspect_target(),
            _ => self.container_inspect_target(),
        };
        let Some((endpoint, target, subject)) = chosen else {
            let what = match self.view.view {
                View::Clusters => "endpoint",
                View::Pools => "pool",
                View::Nodes => "Swarm node",
                View::Services => "Swarm service",
                _ => "container",
            };
            self.view.message = Some(format!("no {what} selected"));
            return;
        };
        let request = self.next_inspect;
        self.next_inspect += 1;
        self.commands.push(Command::OpenInspect {
            request,
            endpoint,
            target: target.clone(),
        });
        self.view.inspect = Some(InspectView {
            request,
            endpoint,
            target,
            subject,
            doc: None,
            folding: Folding::default(),
            top: 0,
            cursor: 0,
            show_env: false,
            search: None,
            current_match: None,
        });
    }

    /// The open detail panel's container, else the selected row's.
    fn container_inspect_target(&self) -> Option<(usize, InspectTarget, String)> {
        let key = self.target_key()?;
        let ep = self.fleet.endpoints.get(key.endpoint)?;
        let c = ep.containers.get(&key.id)?;
        let subject = format!("container {} on {}", c.name, ep.name());
        Some((key.endpoint, InspectTarget::Container(key.id), subject))
    }

    /// Lines the overlay shows at once: the body less the overlay's borders.
    fn inspect_page(&self) -> usize {
        usize::from(self.height.saturating_sub(4)).max(1)
    }

    /// Keys while the overlay is open: cursor and scroll, folding, env, search, Esc; quit and
    /// help still work.
    pub(super) fn inspect_action(&mut self, action: Action) {
        let page = self.inspect_page();
        let Some(view) = self.view.inspect.as_mut() else {
            return;
        };
        match action {
            Action::Close => {
                if let Some(v) = self.view.inspect.take() {
                    self.commands
                        .push(Command::CloseInspect { request: v.request });
                }
            }
            Action::Down => move_cursor(view, page, 1),
            Action::Up => move_cursor(view, page, -1),
            Action::PageDown => {
                view.top = view.top.saturating_add(page);
                move_cursor(view, page, page as isize);
            }
            Action::PageUp => {
                view.top = view.top.saturating_sub(page);
                move_cursor(view, page, -(page as isize));
            }
            Action::Top => move_cursor(view, page, isize::MIN / 2),
            Action::Bottom => move_cursor(view, page, isize::MAX / 2),
            Action::ToggleFold | Action::FoldAll | Action::UnfoldAll => fold(view, page, action),
            Action::ToggleEnvMask => view.show_env = !view.show_env,
            Action::Filter => {
                let (text, regex) = view.search.clone().unwrap_or_default();
                self.view.search_input = Some(SearchInput {
                    text,
                    regex,
                    error: None,
                });
            }
            Action::SearchNext => {
                if view.search.is_some() {
                    if !jump_to_next_match(view, page) {
                        self.view.message = Some("no match".into());
                    }
                } else {
                    self.view.message = Some("search first (/), then n finds the next".into());
                }
            }
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.view.help = true,
            _ => {}
        }
    }

    /// The `/` line while the overlay is open: Enter searches from the top line shown.
    pub(super) fn edit_inspect_search(&mut self, key: KeyEvent) {
        let page = self.inspect_page();
        let Some(input) = self.view.search_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.view.search_input = None,
            KeyCode::Tab => input.regex = !input.regex,
            KeyCode::Enter => {
                let (text, regex) = (input.text.clone(), input.regex);
                if let Err(e) = Search::new(&text, regex) {
                    input.error = Some(e);
                    return;
                }
                self.view.search_input = None;
                let Some(view) = self.view.inspect.as_mut() else {
                    return;
                };
                if text.is_empty() {
                    view.search = None;
                    view.current_match = None;
                    return;
                }
                view.search = Some((text, regex));
                // The first match from the top line shown (that line included, and what a
                // folded section there hides).
                view.current_match = match &view.doc {
                    Some(Ok(doc)) => view.folding.line_at(doc, view.top),
                    _ => None,
                }
                .and_then(|line| line.checked_sub(1));
                if !jump_to_next_match(view, page) {
                    self.view.message = Some("no match".into());
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

    pub(super) fn apply_inspect(
        &mut self,
        request: u64,
        target: &InspectTarget,
        doc: Result<Box<InspectDoc>, String>,
    ) -> bool {
        match self.view.inspect.as_mut() {
            Some(v) if v.request == request && v.target == *target => {
                if let Ok(doc) = &doc {
                    v.folding = Folding::new(doc);
                }
                v.doc = Some(doc);
                true
            }
            _ => false,
        }
    }
}

/// Moves to the next line (after the current match) holding the search, as shown, opens its
/// section if folded, and scrolls it to the top of the overlay (or as near as the end of the
/// document allows), the cursor on it. False when no line matches.
fn jump_to_next_match(view: &mut InspectView, page: usize) -> bool {
    let (Some(Ok(doc)), Some((text, regex))) = (&view.doc, &view.search) else {
        return false;
    };
    let Ok(search) = Search::new(text, *regex) else {
        return false;
    };
    view.current_match = doc.next_match(&search, view.current_match, view.show_env);
    let Some(line) = view.current_match else {
        return false;
    };
    view.folding.reveal(doc, line);
    let row = view.folding.row_of(doc, line);
    view.cursor = row;
    view.top = row.min(view.folding.rows(doc).saturating_sub(page));
    true
}

/// Moves the cursor `delta` rows (clamped to the document) and scrolls so it stays in sight.
fn move_cursor(view: &mut InspectView, page: usize, delta: isize) {
    let rows = match &view.doc {
        Some(Ok(doc)) => view.folding.rows(doc),
        _ => 0,
    };
    let last = rows.saturating_sub(1);
    view.cursor = view.cursor.saturating_add_signed(delta).min(last);
    keep_in_sight(view, page, rows);
}

/// Scrolls so the cursor shows, and no further than the last page.
fn keep_in_sight(view: &mut InspectView, page: usize, rows: usize) {
    if view.cursor < view.top {
        view.top = view.cursor;
    } else if view.cursor >= view.top + page {
        view.top = view.cursor + 1 - page;
    }
    view.top = view.top.min(rows.saturating_sub(page));
}

/// `Enter` on the cursor's section, or every section (`-`, `+`). The cursor stays on the line
/// it was on, or on the row of the section that now hides it.
fn fold(view: &mut InspectView, page: usize, action: Action) {
    let Some(Ok(doc)) = &view.doc else {
        return;
    };
    let Some(line) = view.folding.line_at(doc, view.cursor) else {
        return;
    };
    match action {
        Action::ToggleFold => {
            view.folding.toggle(doc, line);
        }
        Action::FoldAll => view.folding.fold_all(doc),
        _ => view.folding.unfold_all(),
    }
    view.cursor = view.folding.row_of(doc, line);
    let rows = view.folding.rows(doc);
    keep_in_sight(view, page, rows);
}
