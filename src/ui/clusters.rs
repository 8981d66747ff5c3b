//! The clusters view: the health of the fleet at a glance.
//!
//! ```text
//! ┌ lab-a · 2/2 up · 12 containers: 9 running, 2 exited, 1 unhealthy ──────────────┐
//! │ STATE   ENDPOINT  ENGINE    API   RTT   RUN EXIT RST UNH  INFO                    │
//! │ ● up    lab1      20.10.24  1.41  1ms     5    2   0   1  Debian 12 · 2 CPU · 23G │
//! │ ✖ down  lab2      20.10.24  1.41  -       5    2   0   1  down 1m (last 17:31:02)… │
//! └ lab1 labels: dc=us-east subnet=192.168.2.0/24 · node tier=edge ─────────────────┘
//! ```
//!
//! The selected endpoint's engine labels (and its Swarm node's) sit in the bottom border of
//! its cluster, where they fit at 80 columns (not on a wall, where nothing is selected); wider
//! screens show every endpoint's at the end of its INFO.

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};

use super::{Screen, Theme, human_bytes};
use crate::model::container::human_duration;
use crate::model::stats::HostCapacity;
use crate::model::{Endpoint, Fleet, Link, StateCounts};

pub struct ClustersView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

/// Style and label of an endpoint's link.
pub fn link_badge(ep: &Endpoint, theme: &Theme) -> (&'static str, Style) {
    match &ep.link {
        Link::Up => ("● up", theme.endpoint_up),
        Link::Down { .. } => ("✖ down", theme.endpoint_down),
        Link::Connecting { attempt } if *attempt > 1 => ("… retry", theme.endpoint_connecting),
        Link::Connecting { .. } => ("… conn", theme.endpoint_connecting),
    }
}

/// One line about a down endpoint, most useful first: why, since when, next retry.
pub fn down_text(ep: &Endpoint, now: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    if let Some(err) = &ep.last_error {
        parts.push(err.clone());
    }
    let contact = match ep.last_contact {
        Some(t) => format!(
            "last contact {}",
            t.with_timezone(&Local).format("%H:%M:%S")
        ),
        None => "never reached".into(),
    };
    match ep.down_since {
        Some(since) => parts.push(format!("down {}, {contact}", human_duration(now - since))),
        None => parts.push(contact),
    }
    if let Link::Down { retry_in, .. } = &ep.link
        && !retry_in.is_zero()
    {
        parts.push(format!("retry {}s", retry_in.as_secs().max(1)));
    }
    parts.join(" · ")
}

/// An endpoint's engine labels, then its Swarm node's: "dc=us-east subnet=… · node tier=edge".
/// Empty when it has neither. (Daemon text, sanitised when it entered the model.)
pub fn labels_line(fleet: &Fleet, ep: &Endpoint) -> String {
    let pairs = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut parts = Vec::new();
    if let Some(engine) = ep.engine_labels().filter(|l| !l.is_empty()) {
        parts.push(pairs(engine));
    }
    if let Some(node) = fleet.node_labels(ep).filter(|l| !l.is_empty()) {
        parts.push(format!("node {}", pairs(node)));
    }
    parts.join(" · ")
}

fn count_cell(n: usize, style: Style, theme: &Theme) -> Cell<'static> {
    if n == 0 {
        Cell::from(Line::from("0").right_aligned()).style(theme.dim)
    } else {
        Cell::from(Line::from(n.to_string()).right_aligned()).style(style)
    }
}

/// "20.10.24+dfsg1" → "20.10.24": the distro suffix does not fit and rarely matters at a glance.
fn short_version(v: &str) -> String {
    v.split(['+', '~']).next().unwrap_or(v).to_string()
}

fn host_of(ep: &Endpoint) -> HostCapacity {
    ep.info.as_ref().map(HostCapacity::from).unwrap_or_default()
}

/// CPU and memory of an endpoint's containers against its host's capacity.
fn usage_of(fleet: &crate::model::Fleet, endpoint: usize) -> crate::model::stats::Aggregate {
    fleet
        .stats
        .endpoint_usage(endpoint, host_of(&fleet.endpoints[endpoint]))
}

/// An endpoint's usage when it is known: once any of its containers has a rate, or when it is
/// up with nothing running (its containers use nothing). `None` before that: "0%" before the
/// first rate would lie.
fn known_usage(
    fleet: &crate::model::Fleet,
    endpoint: usize,
) -> Option<crate::model::stats::Aggregate> {
    let usage = usage_of(fleet, endpoint);
    let ep = fleet.endpoints.get(endpoint)?;
    let idle = ep.is_up()
        && ep.synced
        && ep
            .containers
            .values()
            .all(|c| c.state != crate::model::ContainerState::Running);
    (usage.containers > 0 || idle).then_some(usage)
}

/// "42%" coloured by how busy, or "-" before any sample.
fn pct_cell(fraction: Option<f64>, theme: &Theme) -> Cell<'static> {
    match fraction {
        None => Cell::from(Line::from("-").right_aligned()).style(theme.dim),
        Some(f) => {
            let style = if f >= 0.9 {
                theme.pool_full
            } else if f >= 0.75 {
                theme.pool_warn
            } else {
                theme.base
            };
            Cell::from(Line::from(format!("{:.0}%", f * 100.0)).right_aligned()).style(style)
        }
    }
}

pub fn cluster_summary(
    name: &str,
    up: usize,
    total: usize,
    c: StateCounts,
    ip_conflicts: usize,
) -> String {
    let plural = if c.total == 1 { "" } else { "s" };
    let mut s = format!(" {name} · {up}/{total} up · {} container{plural}", c.total);
    let mut parts = vec![format!("{} running", c.running)];
    if c.exited > 0 {
        parts.push(format!("{} exited", c.exited));
    }
    if c.restarting > 0 {
        parts.push(format!("{} restarting", c.restarting));
    }
    if c.unhealthy > 0 {
        parts.push(format!("{} unhealthy", c.unhealthy));
    }
    s.push_str(": ");
    s.push_str(&parts.join(", "));
    if ip_conflicts > 0 {
        s.push_str(&format!(
            " · {ip_conflicts} IP conflict{}",
            if ip_conflicts == 1 { "" } else { "s" }
        ));
    }
    s.push(' ');
    s
}

impl Widget for ClustersView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let fleet = s.fleet;
        let clusters = fleet.clusters();
        if clusters.is_empty() {
            Paragraph::new(Span::styled("no endpoints configured", t.dim)).render(area, buf);
            return;
        }
        // Which cluster holds the selected endpoint: scroll so that its block is on screen.
        let selected = s
            .state
            .selected_endpoint
            .min(fleet.endpoints.len().saturating_sub(1));
        let selected_cluster = fleet
            .endpoints
            .get(selected)
            .map(|e| e.cluster())
            .unwrap_or_default();
        let heights: Vec<u16> = clusters
            .iter()
            .map(|c| fleet.endpoints_in(c).count() as u16 + 3)
            .collect();
        let sel_idx = clusters
            .iter()
            .position(|c| *c == selected_cluster)
            .unwrap_or(0);
        let mut first = 0;
        while first < sel_idx && heights[first..=sel_idx].iter().sum::<u16>() > area.height {
            first += 1;
        }

        let report = crate::model::ipam::IpamReport::from_fleet(fleet);
        let conflicts_in = |cluster: &str| -> usize {
            let in_pools: usize = report.pools_in(cluster).map(|p| p.conflicts.len()).sum();
            let others = report
                .conflicts
                .iter()
                .filter(|c| {
                    c.endpoints().iter().any(|e| {
                        fleet
                            .endpoints
                            .get(*e)
                            .is_some_and(|ep| ep.cluster() == cluster)
                    })
                })
                .count();
            in_pools + others
        };
        let mut y = area.y;
        for (ci, cluster) in clusters.iter().enumerate().skip(first) {
            if y >= area.bottom() {
                break;
            }
            let height = heights[ci].min(area.bottom() - y);
            let block_area = Rect { y, height, ..area };
            y += height;

            let mut counts = StateCounts::default();
            let mut up = 0;
            let mut total = 0;
            for ep in fleet.endpoints_in(cluster) {
                counts += ep.counts();
                total += 1;
                up += usize::from(ep.is_up());
            }
            let ip_conflicts = conflicts_in(cluster);
            // The hosts whose usage is known; none known, no figure.
            let known: Vec<_> = (0..fleet.endpoints.len())
                .filter(|&i| fleet.endpoints[i].cluster() == *cluster)
                .filter_map(|i| known_usage(fleet, i))
                .collect();
            let usage = (!known.is_empty())
                .then(|| known.into_iter().sum::<crate::model::stats::Aggregate>());
            let mut summary = cluster_summary(cluster, up, total, counts, ip_conflicts);
            if let Some(usage) = usage
                && let (Some(cpu), Some(mem)) = (usage.cpu_of_host(), usage.mem_of_host())
            {
                summary.push_str(&format!(
                    "· cpu {:.0}% mem {:.0}% ",
                    cpu * 100.0,
                    mem * 100.0
                ));
                // Off-screen containers are sampled every 10 s by default: say how old the
                // oldest figure in the sum is once it is more than a few seconds.
                if let Some(age) = usage.oldest.map(|t| s.now - t)
                    && age >= chrono::TimeDelta::seconds(5)
                {
                    summary.push_str(&format!("(≤{} old) ", human_duration(age)));
                }
            }
            let any_down = up < total || ip_conflicts > 0;
            let mut block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.cluster_frame(cluster, *cluster == selected_cluster))
                .title(Span::styled(
                    summary,
                    if any_down { t.endpoint_down } else { t.title },
                ));
            // Not on a wall: nobody selects there, so "whose labels?" would have no answer.
            if let Some(ep) = fleet.endpoints.get(selected)
                && ep.cluster() == *cluster
                && s.state.wall.is_none()
            {
                let labels = labels_line(fleet, ep);
                if !labels.is_empty() {
                    block = block.title_bottom(Span::styled(
                        format!(" {} labels: {labels} ", ep.name()),
                        t.dim,
                    ));
                }
            }

            let header = Row::new(
                [
                    "STATE", "ENDPOINT", "ENGINE", "API", "RTT", "RUN", "EXIT", "RST", "UNH",
                    "CPU", "MEM", "INFO",
                ]
                .map(|h| Cell::from(h).style(t.title)),
            );
            let rows = fleet
                .endpoints
                .iter()
                .enumerate()
                .filter(|(_, e)| e.cluster() == *cluster)
                .map(|(i, ep)| {
                    let (badge, badge_style) = link_badge(ep, t);
                    let c = ep.counts();
                    let info = ep.info.as_ref();
                    let text_style = if ep.is_stale() { t.stale } else { t.base };
                    let detail = if ep.is_up() {
                        info.map(|i| {
                            let labels = labels_line(fleet, ep);
                            format!(
                                "{} · {} CPU · {} · swarm {}{}{labels}",
                                i.os,
                                i.cpus,
                                human_bytes(i.memory_bytes),
                                i.swarm,
                                if labels.is_empty() { "" } else { " · " },
                            )
                        })
                        .unwrap_or_default()
                    } else if matches!(ep.link, Link::Down { .. }) {
                        down_text(ep, s.now)
                    } else {
                        ep.spec.url_text.clone()
                    };
                    let detail_style = if matches!(ep.link, Link::Down { .. }) {
                        t.endpoint_down
                    } else {
                        t.dim
                    };
                    // Inspects still coming in: its counts may change yet.
                    let pending = ep.details_pending();
                    let detail = if ep.is_up() && pending > 0 {
                        let total = ep.containers.len();
                        Line::from(vec![
                            Span::styled(
                                format!("details {}/{total}", total.saturating_sub(pending)),
                                t.endpoint_connecting,
                            ),
                            Span::styled(format!(" · {detail}"), detail_style),
                        ])
                    } else {
                        Line::styled(detail, detail_style)
                    };
                    let row = Row::new(vec![
                        Cell::from(badge).style(badge_style),
                        // The lock badge: this endpoint refuses every change.
                        if ep.is_read_only() {
                            Cell::from(Line::from(vec![
                                Span::styled(format!("{} ", ep.name()), text_style),
                                Span::styled("[RO]", t.status_message),
                            ]))
                        } else {
                            Cell::from(ep.name().to_string()).style(text_style)
                        },
                        Cell::from(
                            info.map(|i| short_version(&i.engine_version))
                                .unwrap_or_default(),
                        )
                        .style(text_style),
                        Cell::from(info.map(|i| i.api_version.clone()).unwrap_or_default())
                            .style(text_style),
                        Cell::from(match (ep.is_up(), ep.latency) {
                            (true, Some(l)) => format!("{}ms", l.as_millis()),
                            _ => "-".into(),
                        })
                        .style(text_style),
                        count_cell(c.running, t.container_running, t),
                        count_cell(c.exited, t.container_exited, t),
                        count_cell(c.restarting, t.container_restarting, t),
                        count_cell(c.unhealthy, t.container_unhealthy, t),
                        pct_cell(known_usage(fleet, i).and_then(|u| u.cpu_of_host()), t),
                        pct_cell(known_usage(fleet, i).and_then(|u| u.mem_of_host()), t),
                        Cell::from(detail),
                    ]);
                    if i == selected {
                        row.style(t.selection)
                    } else {
                        row
                    }
                });
            let name_width = fleet
                .endpoints_in(cluster)
                .map(|e| e.name().chars().count() + if e.is_read_only() { 5 } else { 0 })
                .max()
                .unwrap_or(8)
                .clamp(8, 20) as u16;
            Table::new(
                rows,
                [
                    Constraint::Length(7),
                    Constraint::Length(name_width),
                    Constraint::Length(9),
                    Constraint::Length(4),
                    Constraint::Length(5),
                    Constraint::Length(3),
                    Constraint::Length(4),
                    Constraint::Length(3),
                    Constraint::Length(3),
                    Constraint::Length(4),
                    Constraint::Length(4),
                    Constraint::Fill(1),
                ],
            )
            .header(header)
            .block(block)
            .render(block_area, buf);
        }
    }
}
