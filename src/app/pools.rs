//! The app's side of the IP pools view: selection, drill-down, sort, filter.

use super::{Action, App, FilterInput, step};
use crate::model::inspect::InspectTarget;
use crate::model::ipam::IpamReport;
use crate::ui::containers::visible_offset;
use crate::ui::pools::{PoolKey, shown_pools};

impl App {
    /// What `i` inspects in the IP pools view: the network of the selected pool (of the open
    /// drill-down), on its first member's endpoint when the pool spans several; the endpoint,
    /// the target and the title's words.
    pub(super) fn pool_inspect_target(&self) -> Option<(usize, InspectTarget, String)> {
        let report = IpamReport::from_fleet(&self.fleet);
        let pool = match &self.view.pool_detail {
            Some(key) => report.pools.iter().find(|p| PoolKey::of(p) == *key)?,
            None => *shown_pools(&report, &self.view.pool_filter, self.view.pool_sort)
                .get(self.view.pool_selected)?,
        };
        let first = pool.members.first()?;
        let mut subject = format!("network {} on {}", first.network, first.endpoint_name);
        if pool.members.len() > 1 {
            subject.push_str(&format!(
                " (first of the pool's {} networks)",
                pool.members.len()
            ));
        }
        // The id, unless a daemon gave none: the name finds it as well.
        let id = if first.network_id.is_empty() {
            &first.network
        } else {
            &first.network_id
        };
        Some((first.endpoint, InspectTarget::Network(id.clone()), subject))
    }

    /// The IP pools view's handling of an action; false when it is not one of its own.
    pub(super) fn pools_action(&mut self, action: Action) -> bool {
        let report = IpamReport::from_fleet(&self.fleet);
        let pools = shown_pools(&report, &self.view.pool_filter, self.view.pool_sort);
        let page = self.page();
        let v = &mut self.view;
        if v.pool_detail.is_some() {
            match action {
                Action::Close => v.pool_detail = None,
                Action::Down => v.pool_scroll = v.pool_scroll.saturating_add(1),
                Action::Up => v.pool_scroll = v.pool_scroll.saturating_sub(1),
                Action::PageDown => v.pool_scroll = v.pool_scroll.saturating_add(page as u16),
                Action::PageUp => v.pool_scroll = v.pool_scroll.saturating_sub(page as u16),
                Action::Top => v.pool_scroll = 0,
                _ => return false,
            }
            return true;
        }
        let mv = |delta: isize, v: &mut crate::ui::ViewState| {
            v.pool_selected = step(v.pool_selected, delta, pools.len());
            v.pool_offset = visible_offset(v.pool_offset, v.pool_selected, page);
        };
        match action {
            Action::Down => mv(1, v),
            Action::Up => mv(-1, v),
            Action::PageDown => mv(page as isize, v),
            Action::PageUp => mv(-(page as isize), v),
            Action::Top => mv(isize::MIN / 2, v),
            Action::Bottom => mv(isize::MAX / 2, v),
            Action::Open => {
                if let Some(p) = pools.get(v.pool_selected) {
                    v.pool_detail = Some(PoolKey::of(p));
                    v.pool_scroll = 0;
                }
            }
            Action::SortNext | Action::SortReverse => v.pool_sort = v.pool_sort.next(),
            Action::Filter => {
                v.filter_input = Some(FilterInput {
                    text: v.pool_filter.as_str().to_string(),
                    error: None,
                });
            }
            Action::Close => v.pool_filter = crate::model::filter::Filter::default(),
            _ => return false,
        }
        true
    }
}
