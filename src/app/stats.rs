//! The app's side of the stats view: selection, metric, charts.

use super::{Action, App, step};
use crate::model::query::RowKey;
use crate::ui::containers::visible_offset;
use crate::ui::stats::next_metric;

impl App {
    /// The stats view's handling of an action; false when it is not one of its own.
    pub(super) fn stats_action(&mut self, action: Action) -> bool {
        let ranked: Vec<(usize, String)> = self
            .fleet
            .stats
            .top(self.view.stats_metric, usize::MAX)
            .into_iter()
            .map(|(e, id)| (e, id.to_string()))
            .collect();
        let page = self.page();
        let v = &mut self.view;
        if v.stats_detail.is_some() {
            return match action {
                Action::Close => {
                    v.stats_detail = None;
                    true
                }
                _ => false,
            };
        }
        let mut mv = |delta: isize| {
            v.stats_selected = step(v.stats_selected, delta, ranked.len());
            v.stats_offset = visible_offset(v.stats_offset, v.stats_selected, page);
        };
        match action {
            Action::Down => mv(1),
            Action::Up => mv(-1),
            Action::PageDown => mv(page as isize),
            Action::PageUp => mv(-(page as isize)),
            Action::Top => mv(isize::MIN / 2),
            Action::Bottom => mv(isize::MAX / 2),
            Action::SortNext | Action::SortReverse => v.stats_metric = next_metric(v.stats_metric),
            Action::Open => {
                if let Some((endpoint, id)) = ranked.get(v.stats_selected) {
                    v.stats_detail = Some(RowKey {
                        endpoint: *endpoint,
                        id: id.clone(),
                    });
                }
            }
            _ => return false,
        }
        true
    }
}
