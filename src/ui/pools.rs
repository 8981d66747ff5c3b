//! The IP pools view: every IPAM pool of the fleet, grouped by cluster, with its arithmetic and a
//! gauge; pools shared by several hosts of a LAN are one row. Conflicts are loud.
//!
//! ```text
//! ┌ IP pools · 9 pools · 1 conflict · sort use% ──────────────────────────────────────────┐
//! │SUBNET           NETWORKS                    USED CLAIM  FREE USE                    ! │
//! │── cluster lab-a                                                                       │
//! │192.168.2.0/24   lab1/fleetnet, lab2/fleetne    6     2   116 ███░░░░░░░  9%         1 │
//! └───────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Enter opens the drill-down: conflicts, next free addresses per host, and every allocated or
//! reserved address with who holds it.

use std::net::IpAddr;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Widget, Wrap};

use super::containers::visible_offset;
use super::{Screen, Theme};
use crate::model::filter::{Filter, Subject};
use crate::model::ipam::{
    AddressKind, ClusterPool, Holding, IpamReport, LOCAL_SUBNETS_LABEL, Sharing, human_count,
};

/// How many next-free addresses the drill-down shows per host.
const NEXT_FREE: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolSort {
    /// Fullest first: what runs out soonest.
    #[default]
    Utilisation,
    Subnet,
}

impl PoolSort {
    pub fn next(self) -> Self {
        match self {
            PoolSort::Utilisation => PoolSort::Subnet,
            PoolSort::Subnet => PoolSort::Utilisation,
        }
    }

    fn label(self) -> &'static str {
        match self {
            PoolSort::Utilisation => "use%",
            PoolSort::Subnet => "subnet",
        }
    }
}

/// Identity of a pool across refreshes (cluster and subnet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKey {
    pub cluster: String,
    pub subnet: String,
}

impl PoolKey {
    pub fn of(p: &ClusterPool) -> Self {
        Self {
            cluster: p.cluster.clone(),
            subnet: p.subnet.to_string(),
        }
    }
}

/// "fleetnet on lab1, lab2" when the hosts use one network name (the usual LAN case), else
/// "lab1/a, lab2/b".
fn member_names(p: &ClusterPool) -> String {
    let first = p.members.first().map(|m| m.network.as_str()).unwrap_or("");
    if p.members.iter().all(|m| m.network == first) {
        let hosts: Vec<&str> = p.members.iter().map(|m| m.endpoint_name.as_str()).collect();
        return format!("{first} on {}", hosts.join(", "));
    }
    p.members
        .iter()
        .map(|m| format!("{}/{}", m.endpoint_name, m.network))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pools on display: filtered, then sorted within each cluster (clusters keep their order).
pub fn shown_pools<'a>(
    report: &'a IpamReport,
    filter: &Filter,
    sort: PoolSort,
) -> Vec<&'a ClusterPool> {
    let mut pools: Vec<(usize, &ClusterPool)> = report
        .pools
        .iter()
        .filter(|p| {
            let names = member_names(p);
            let subnet = p.subnet.to_string();
            let drivers: Vec<&str> = p.members.iter().map(|m| m.driver.as_str()).collect();
            let text = format!("{subnet} {}", drivers.join(" "));
            filter.matches_subject(&Subject {
                name: &names,
                endpoint: &names,
                cluster: &p.cluster,
                text: &text,
                kind: "pool",
                ..Subject::default()
            })
        })
        .enumerate()
        .collect();
    let cluster_rank = |c: &str| {
        report
            .pools
            .iter()
            .position(|p| p.cluster == c)
            .unwrap_or(0)
    };
    pools.sort_by(|(ia, a), (ib, b)| {
        let by_cluster = cluster_rank(&a.cluster).cmp(&cluster_rank(&b.cluster));
        let by_key = match sort {
            PoolSort::Utilisation => b
                .counts
                .utilisation()
                .total_cmp(&a.counts.utilisation())
                .then(b.conflicts.len().cmp(&a.conflicts.len())),
            PoolSort::Subnet => a.subnet.cmp(&b.subnet),
        };
        by_cluster.then(by_key).then(ia.cmp(ib))
    });
    pools.into_iter().map(|(_, p)| p).collect()
}

pub fn usage_style(utilisation: f64, conflicts: usize, theme: &Theme) -> Style {
    if conflicts > 0 {
        theme.pool_conflict
    } else if utilisation >= 0.9 {
        theme.pool_full
    } else if utilisation >= 0.75 {
        theme.pool_warn
    } else {
        theme.pool_ok
    }
}

/// A text gauge: "███░░░░░░░ 31%".
pub fn gauge(utilisation: f64, width: usize) -> String {
    let u = utilisation.clamp(0.0, 1.0);
    let filled = ((u * width as f64).round() as usize).min(width);
    let pct = (u * 100.0).round();
    format!(
        "{}{} {pct:>3}%",
        "█".repeat(filled),
        "░".repeat(width - filled)
    )
}

pub struct PoolsView<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub report: &'a IpamReport,
}

enum Item<'a> {
    Cluster(&'a str),
    Pool(usize, &'a ClusterPool),
}

impl Widget for PoolsView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let st = s.state;
        let pools = shown_pools(self.report, &st.pool_filter, st.pool_sort);
        let conflicts: usize = self.report.conflict_count();
        let mut title = format!(" IP pools · {} pools", self.report.pools.len());
        if conflicts > 0 {
            title.push_str(&format!(
                " · {conflicts} conflict{}",
                if conflicts == 1 { "" } else { "s" }
            ));
        }
        title.push_str(&format!(" · sort {} ", st.pool_sort.label()));
        if !st.pool_filter.is_empty() {
            title.push_str(&format!("· filter {} ", st.pool_filter.as_str()));
        }
        let inner = super::view_frame(
            area,
            buf,
            t,
            Span::styled(
                title,
                if conflicts > 0 {
                    t.pool_conflict
                } else {
                    t.title
                },
            ),
        );
        if pools.is_empty() {
            let msg = if self.report.pools.is_empty() {
                "no IPAM pools yet (waiting for endpoints)".to_string()
            } else {
                format!("no pool matches \"{}\"", st.pool_filter.as_str())
            };
            Paragraph::new(Span::styled(msg, t.dim)).render(inner, buf);
            return;
        }
        let mut items: Vec<Item<'_>> = Vec::new();
        let mut selected_line = 0;
        let selected = st.pool_selected.min(pools.len() - 1);
        for (i, p) in pools.iter().enumerate() {
            if i == 0 || pools[i - 1].cluster != p.cluster {
                items.push(Item::Cluster(&p.cluster));
            }
            if i == selected {
                selected_line = items.len();
            }
            items.push(Item::Pool(i, p));
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let offset = visible_offset(st.pool_offset, selected_line, height);
        let wide = inner.width >= 110;
        let gauge_w = if wide { 20 } else { 10 };
        let mut widths = vec![Constraint::Length(18), Constraint::Fill(1)];
        let mut titles = vec!["SUBNET", "NETWORKS"];
        if wide {
            widths.extend([Constraint::Length(8), Constraint::Length(8)]);
            titles.extend(["DRIVER", "RANGE"]);
        }
        widths.extend([
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(gauge_w as u16 + 5),
            Constraint::Length(3),
        ]);
        titles.extend(["USED", "CLAIM", "FREE", "USE", "!"]);
        let right = |text: String| Cell::from(Line::from(text).right_aligned());
        let header = Row::new(titles.iter().map(|h| Cell::from(*h).style(t.title)));
        let rows = items
            .iter()
            .skip(offset)
            .take(height)
            .map(|item| match item {
                Item::Cluster(_) => Row::new(Vec::<Cell<'_>>::new()),
                Item::Pool(i, p) => {
                    let c = &p.counts;
                    let style = usage_style(c.utilisation(), p.conflicts.len(), t);
                    let mut cells = vec![
                        Cell::from(p.subnet.to_string()),
                        Cell::from(member_names(p)),
                    ];
                    if wide {
                        let driver = p
                            .members
                            .first()
                            .map(|m| m.driver.clone())
                            .unwrap_or_default();
                        cells.push(Cell::from(driver));
                        cells.push(right(human_count(c.range_size)));
                    }
                    cells.extend([
                        right(human_count(c.used)),
                        right(human_count(c.claimed)),
                        right(human_count(c.free)),
                        Cell::from(gauge(c.utilisation(), gauge_w)).style(style),
                        if p.conflicts.is_empty() {
                            Cell::from("")
                        } else {
                            right(p.conflicts.len().to_string()).style(t.pool_conflict)
                        },
                    ]);
                    let row = Row::new(cells);
                    if *i == selected {
                        row.style(t.selection)
                    } else {
                        row
                    }
                }
            });
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .render(inner, buf);
        for (line, item) in items.iter().skip(offset).take(height).enumerate() {
            if let Item::Cluster(name) = item {
                let n = pools.iter().filter(|p| p.cluster == *name).count();
                let text = format!("── cluster {name} ({n}) ");
                Paragraph::new(Span::styled(text, t.group_header)).render(
                    Rect {
                        y: inner.y + 1 + line as u16,
                        height: 1,
                        ..inner
                    },
                    buf,
                );
            }
        }
    }
}

/// The drill-down of one pool, over the list.
pub struct PoolDetail<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub report: &'a IpamReport,
    pub pool: Option<&'a ClusterPool>,
}

impl PoolDetail<'_, '_> {
    pub fn lines(&self) -> Vec<Line<'static>> {
        let t = self.screen.theme;
        let Some(p) = self.pool else {
            return vec![Line::styled("  this pool no longer exists", t.error)];
        };
        let c = &p.counts;
        let mut lines = vec![Line::styled("Pool", t.title)];
        let kind = match &p.sharing {
            Sharing::Labelled => "shared LAN pool: an address taken on any host is taken for all",
            Sharing::Detected(_) => {
                "shared (detected): an address taken on any host is taken for all"
            }
            Sharing::Local => "host-local pool",
        };
        lines.push(Line::from(format!(
            "  {} in {} · {kind}",
            p.subnet, p.cluster
        )));
        if let Sharing::Detected(link) = &p.sharing {
            // The evidence, and the way out when the networks are wrong about it.
            lines.push(Line::styled(format!("  detected: {link}"), t.dim));
            lines.push(Line::styled(
                format!(
                    "  to keep a host out: label it {LOCAL_SUBNETS_LABEL} = \"{}\"",
                    p.subnet
                ),
                t.dim,
            ));
        }
        for m in &p.members {
            let mut text = format!(
                "  {}/{} ({}) range {}",
                m.endpoint_name,
                m.network,
                m.driver,
                m.spec.allocatable_range()
            );
            if let Some(gw) = m.spec.gateway {
                text.push_str(&format!(" · gateway {gw}"));
            }
            for (name, ip) in &m.spec.aux_addresses {
                text.push_str(&format!(" · aux {name}={ip}"));
            }
            lines.push(Line::from(text));
        }
        lines.push(Line::from(vec![
            Span::raw(format!(
                "  range {} · used {} · claimed {} · reserved {} · free {}",
                human_count(c.range_size),
                human_count(c.used),
                human_count(c.claimed),
                human_count(c.reserved),
                human_count(c.free)
            )),
            Span::styled(
                if c.outside_range > 0 {
                    format!(
                        " · {} static outside the range",
                        human_count(c.outside_range)
                    )
                } else {
                    String::new()
                },
                t.dim,
            ),
        ]));
        let subnet_conflicts = self.report.subnet_conflicts_of(p);
        let all_conflicts: Vec<String> = p
            .conflicts
            .iter()
            .chain(subnet_conflicts)
            .map(ToString::to_string)
            .collect();
        if !all_conflicts.is_empty() {
            lines.push(Line::styled(
                format!("Conflicts ({})", all_conflicts.len()),
                t.pool_conflict,
            ));
            for text in all_conflicts {
                lines.push(Line::styled(format!("  ✖ {text}"), t.pool_conflict));
            }
        }
        lines.push(Line::styled(
            "Next free (skips what any host holds, claims or reserves)",
            t.title,
        ));
        for m in &p.members {
            let free: Vec<String> = p
                .next_free(m.endpoint, NEXT_FREE)
                .iter()
                .map(ToString::to_string)
                .collect();
            let none = if p.range_overlap_on(m.endpoint, None).is_some() {
                "none (see the overlapping ip-ranges above)"
            } else {
                "none"
            };
            lines.push(Line::from(format!(
                "  {:<12} {}",
                m.endpoint_name,
                if free.is_empty() {
                    none.to_string()
                } else {
                    free.join(", ")
                }
            )));
        }
        lines.push(Line::styled("Addresses", t.title));
        let mut rows: Vec<(IpAddr, Line<'static>)> = Vec::new();
        for a in p.allocations() {
            let how = match (a.holding, a.kind, &a.service) {
                (Holding::Used, AddressKind::Static, _) => "static".to_string(),
                (Holding::Used, AddressKind::Dynamic, _) => "dynamic".to_string(),
                // Not a clash with the live revision: say whose it is.
                (Holding::Claimed, _, Some(service)) if *service != a.container_name => {
                    format!("claimed (kept revision of {service})")
                }
                (Holding::Claimed, _, _) => "claimed (stopped, static)".to_string(),
            };
            let conflicted = p.conflicts.iter().any(|c| c.address() == Some(a.ip));
            let style = if conflicted { t.pool_conflict } else { t.base };
            rows.push((
                a.ip,
                Line::from(vec![
                    Span::styled(format!("  {:<16}", a.ip.to_string()), style),
                    Span::styled(format!("{:<20}", a.container_name), style),
                    Span::raw(format!("{:<12}", a.endpoint_name)),
                    Span::raw(format!("{:<11}", a.state.as_str())),
                    Span::styled(how, t.dim),
                ]),
            ));
        }
        // The subnet's own reservations are the same on every host: one row, all hosts named.
        let mut reserved: std::collections::BTreeMap<(IpAddr, String), Vec<String>> =
            std::collections::BTreeMap::new();
        for m in &p.members {
            for (ip, why) in m.spec.reservations() {
                reserved
                    .entry((ip, why.to_string()))
                    .or_default()
                    .push(format!("{}/{}", m.endpoint_name, m.network));
            }
        }
        for ((ip, why), holders) in reserved {
            rows.push((
                ip,
                Line::from(vec![
                    Span::styled(format!("  {:<16}", ip.to_string()), t.dim),
                    Span::styled(format!("{why} of {}", holders.join(", ")), t.dim),
                ]),
            ));
        }
        rows.sort_by_key(|(ip, _)| *ip);
        lines.extend(rows.into_iter().map(|(_, l)| l));
        lines
    }
}

impl Widget for PoolDetail<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let title = match self.pool {
            Some(p) => format!(" {} in {} · Esc close · j/k scroll ", p.subnet, p.cluster),
            None => " gone · Esc close ".into(),
        };
        Clear.render(area, buf);
        Paragraph::new(self.lines())
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(s.theme.border_focused)
                    .title(Span::styled(title, s.theme.title)),
            )
            .wrap(Wrap { trim: false })
            .scroll((s.state.pool_scroll, 0))
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_fill_in_proportion() {
        assert_eq!(gauge(0.0, 10), "░░░░░░░░░░   0%");
        assert_eq!(gauge(0.5, 10), "█████░░░░░  50%");
        assert_eq!(gauge(1.2, 4), "████ 100%");
    }
}
