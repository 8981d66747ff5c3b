//! The deploy form and the plan confirmation (deploy and rollback).
//!
//! ```text
//! ┌ deploy · Tab next field · Enter plan · Esc cancel ───────────────────┐
//! │ name     cart                                                         │
//! │ image    busybox:1.37                                                 │
//! │ command  sleep 600                                                    │
//! │ network  fleetnet                                                     │
//! │ ip       192.168.2.20                                                 │
//! │ ports    8080:80                                                      │
//! │ to       @lab-a                                                       │
//! │                                                                       │
//! │ ip: 192.168.2.20 is taken: used by lab1/web-1                         │
//! └───────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Each field is a one-line `ratatui-textarea`; the form is checked on every keystroke and a
//! field with a problem has its label in the error style.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use ratatui_textarea::TextArea;

use super::{Screen, centered};
use crate::journal::{JournalEntry, Recovery};
use crate::model::deploy::form::{FIELDS, FormFields};
use crate::model::deploy::revision::RollbackPlan;
use crate::model::deploy::{DeployPlan, SpecProblem};

/// The open deploy form: one text area per field, the focused field, and the problems found
/// at the last keystroke (or the plan when there are none).
#[derive(Debug, Clone)]
pub struct DeployForm {
    pub fields: Vec<TextArea<'static>>,
    pub focus: usize,
    pub problems: Vec<SpecProblem>,
    /// The plan the fields make, once they hold together.
    pub plan: Option<DeployPlan>,
}

impl PartialEq for DeployForm {
    fn eq(&self, other: &Self) -> bool {
        self.values() == other.values()
            && self.focus == other.focus
            && self.problems == other.problems
            && self.plan == other.plan
    }
}

impl Eq for DeployForm {}

impl DeployForm {
    pub fn new(values: &FormFields) -> Self {
        let fields = FIELDS
            .iter()
            .map(|f| {
                let mut t = TextArea::new(vec![values.get(f).to_string()]);
                t.move_cursor(ratatui_textarea::CursorMove::End);
                t.set_cursor_line_style(Style::default());
                t
            })
            .collect();
        Self {
            fields,
            focus: 0,
            problems: Vec::new(),
            plan: None,
        }
    }

    /// The text of every field.
    pub fn values(&self) -> FormFields {
        let mut v = FormFields::default();
        for (name, t) in FIELDS.iter().zip(&self.fields) {
            v.set(name, t.lines().join(""));
        }
        v
    }

    pub fn focused_field(&self) -> &'static str {
        FIELDS[self.focus.min(FIELDS.len() - 1)]
    }

    pub fn problem_of(&self, field: &str) -> Option<&SpecProblem> {
        self.problems.iter().find(|p| p.key == field)
    }
}

/// What a plan confirmation carries out when the operator says yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedWork {
    Deploy(Box<DeployPlan>),
    Rollback(Box<RollbackPlan>),
    /// Finishing or undoing what the journal holds unfinished.
    Recover(Box<JournalEntry>, Recovery),
}

impl PlannedWork {
    pub fn lines(&self) -> Vec<String> {
        match self {
            Self::Deploy(p) => p.lines(),
            Self::Rollback(p) => p.lines(),
            Self::Recover(e, how) => e.recovery_lines(*how),
        }
    }
}

pub struct DeployFormView<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub form: &'a DeployForm,
}

impl Widget for DeployFormView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let f = self.form;
        let height = (FIELDS.len() as u16 + 5).min(area.height);
        let rect = centered(area, 90, 100, height);
        Clear.render(rect, buf);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.key)
            .title(Line::from(vec![
                Span::styled(" deploy ", t.key),
                Span::styled("· Tab next field · Enter plan · Esc cancel ", t.hint),
            ]));
        let inner = block.inner(rect);
        block.render(rect, buf);
        const LABEL: u16 = 9;
        for (i, (name, text)) in FIELDS.iter().zip(&f.fields).enumerate() {
            let y = inner.y + i as u16;
            if y >= inner.bottom() {
                break;
            }
            let label_style = if f.problem_of(name).is_some() {
                t.error
            } else if i == f.focus {
                t.key
            } else {
                t.hint
            };
            buf.set_stringn(inner.x + 1, y, name, usize::from(LABEL), label_style);
            let field = Rect {
                x: inner.x + 1 + LABEL,
                y,
                width: inner.width.saturating_sub(LABEL + 1),
                height: 1,
            };
            let mut text = text.clone();
            text.set_style(t.base);
            text.set_cursor_style(if i == f.focus {
                t.base.add_modifier(ratatui::style::Modifier::REVERSED)
            } else {
                t.base
            });
            text.render(field, buf);
        }
        // The focused field's problem first, else the first one, else what the plan is.
        let status: Line<'_> = match f
            .problem_of(f.focused_field())
            .or_else(|| f.problems.first())
        {
            Some(p) => Line::styled(format!(" {p}"), t.error),
            None => match &f.plan {
                Some(p) => Line::styled(
                    format!(
                        " ok: {} on {} · {} · {}",
                        p.name,
                        p.endpoint_name,
                        p.network.as_deref().unwrap_or("default bridge"),
                        p.ip.map_or("dynamic IP".to_string(), |ip| ip.to_string())
                    ),
                    t.hint,
                ),
                None => Line::styled(" fill in the fields", t.hint),
            },
        };
        let status_area = Rect {
            y: inner.y + FIELDS.len() as u16 + 1,
            height: inner
                .bottom()
                .saturating_sub(inner.y + FIELDS.len() as u16 + 1),
            ..inner
        };
        Paragraph::new(status)
            .wrap(Wrap { trim: false })
            .render(status_area, buf);
    }
}

/// The plan of a deploy or rollback, waiting for y.
pub struct PlanDialog<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub work: &'a PlannedWork,
}

impl Widget for PlanDialog<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let title = match self.work {
            PlannedWork::Deploy(_) => "deploy plan",
            PlannedWork::Rollback(_) => "rollback plan",
            PlannedWork::Recover(_, Recovery::Finish) => "finish the interrupted operation",
            PlannedWork::Recover(_, Recovery::Undo) => "undo the interrupted operation",
        };
        // The headline can be long (two images): it wraps as a line, never cut as a title.
        let lines: Vec<Line<'_>> = self
            .work
            .lines()
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    Line::styled(format!(" {l}"), t.key)
                } else {
                    Line::styled(l, t.base)
                }
            })
            .collect();
        super::yes_no_dialog(
            t,
            title,
            lines,
            (" go ahead · ", " cancel"),
            (90, 1),
            area,
            buf,
        );
    }
}
