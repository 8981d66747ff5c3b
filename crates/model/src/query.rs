//! The containers table as a query over the fleet: filter, group, sort. Pure, so the ordering
//! the operator sees is tested without a terminal.

use std::cmp::Ordering;

use super::container::Container;
use super::filter::Filter;
use super::{EndpointId, Fleet};

/// Columns of the containers table, in display order; each is also a sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Endpoint,
    Name,
    Image,
    State,
    Status,
    Health,
    Ips,
    Cpu,
    Mem,
    Net,
    Io,
    Pids,
    Ports,
}

impl Column {
    /// Columns whose order comes from stats readings (busiest first).
    pub fn is_stats(self) -> bool {
        matches!(
            self,
            Column::Cpu | Column::Mem | Column::Net | Column::Io | Column::Pids
        )
    }

    pub const ALL: [Column; 13] = [
        Column::Endpoint,
        Column::Name,
        Column::Image,
        Column::State,
        Column::Status,
        Column::Health,
        Column::Ips,
        Column::Cpu,
        Column::Mem,
        Column::Net,
        Column::Io,
        Column::Pids,
        Column::Ports,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Endpoint => "ENDPOINT",
            Column::Name => "NAME",
            Column::Image => "IMAGE",
            Column::State => "STATE",
            Column::Status => "STATUS",
            Column::Health => "HEALTH",
            Column::Ips => "IP",
            Column::Cpu => "CPU%",
            Column::Mem => "MEM",
            Column::Net => "NET rx/tx",
            Column::Io => "IO r/w",
            Column::Pids => "PIDS",
            Column::Ports => "PORTS",
        }
    }

    pub fn next(self) -> Column {
        let i = Column::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Column::ALL[(i + 1) % Column::ALL.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    #[default]
    None,
    Endpoint,
    Cluster,
    /// A fleetdeck service: its replicas (and a one-container service with its kept
    /// revisions) under one header, wherever they run; the rest last.
    Service,
    /// A compose project (`com.docker.compose.project`), across endpoints; the rest last.
    Project,
}

/// The group of containers that no fleetdeck service owns, when grouping by service.
pub const NO_SERVICE: &str = "(not deployed by fleetdeck)";
/// The group of containers of no compose project, when grouping by project.
pub const NO_PROJECT: &str = "(no compose project)";

impl GroupBy {
    pub fn next(self) -> GroupBy {
        match self {
            GroupBy::None => GroupBy::Endpoint,
            GroupBy::Endpoint => GroupBy::Cluster,
            GroupBy::Cluster => GroupBy::Service,
            GroupBy::Service => GroupBy::Project,
            GroupBy::Project => GroupBy::None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GroupBy::None => "none",
            GroupBy::Endpoint => "endpoint",
            GroupBy::Cluster => "cluster",
            GroupBy::Service => "service",
            GroupBy::Project => "project",
        }
    }
}

/// The compose project a container belongs to.
pub fn project_of(c: &Container) -> Option<&str> {
    c.labels
        .get(crate::filter::COMPOSE_PROJECT)
        .map(String::as_str)
}

/// The service a container belongs to: its replica group, else its own service.
pub fn service_of(c: &Container) -> Option<&str> {
    use crate::deploy::replicas::LABEL_GROUP;
    use crate::deploy::revision::LABEL_SERVICE;
    c.labels
        .get(LABEL_GROUP)
        .or_else(|| c.labels.get(LABEL_SERVICE))
        .map(String::as_str)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            column: Column::Endpoint,
            descending: false,
        }
    }
}

/// A container in the table, by reference into the fleet.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub endpoint: EndpointId,
    pub container: &'a Container,
}

/// Stable key of a row, for keeping the selection on the same container across updates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub endpoint: EndpointId,
    pub id: String,
}

impl Row<'_> {
    pub fn key(&self) -> RowKey {
        RowKey {
            endpoint: self.endpoint,
            id: self.container.id.clone(),
        }
    }
}

/// The group a row belongs to, for header rows when grouping.
pub fn group_of<'a>(fleet: &'a Fleet, row: &Row<'a>, group: GroupBy) -> Option<&'a str> {
    let ep = &fleet.endpoints[row.endpoint];
    match group {
        GroupBy::None => None,
        GroupBy::Endpoint => Some(ep.name()),
        GroupBy::Cluster => Some(ep.cluster()),
        GroupBy::Service => Some(service_of(row.container).unwrap_or(NO_SERVICE)),
        GroupBy::Project => Some(project_of(row.container).unwrap_or(NO_PROJECT)),
    }
}

/// Filtered, grouped and sorted rows. Ties fall back to endpoint then name, so the order is
/// stable from one update to the next.
pub fn container_rows<'a>(
    fleet: &'a Fleet,
    filter: &Filter,
    group: GroupBy,
    sort: Sort,
) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'a>> = fleet
        .endpoints
        .iter()
        .enumerate()
        .flat_map(|(i, ep)| {
            ep.containers
                .values()
                .filter(move |c| filter.matches(ep, c))
                .map(move |c| Row {
                    endpoint: i,
                    container: c,
                })
        })
        .collect();
    // Per-endpoint ranks, worked out once: comparing them is what a sort of 50,000 rows does
    // a million times.
    let clusters = fleet.clusters();
    let cluster_rank: Vec<usize> = fleet
        .endpoints
        .iter()
        .map(|ep| {
            clusters
                .iter()
                .position(|c| *c == ep.cluster())
                .unwrap_or(0)
        })
        .collect();
    let mut by_name: Vec<EndpointId> = (0..fleet.endpoints.len()).collect();
    by_name.sort_by(|&a, &b| {
        fleet.endpoints[a]
            .name()
            .cmp(fleet.endpoints[b].name())
            .then(a.cmp(&b))
    });
    let mut name_rank = vec![0; by_name.len()];
    for (rank, &ep) in by_name.iter().enumerate() {
        name_rank[ep] = rank;
    }
    let ranks = Ranks {
        cluster: &cluster_rank,
        name: &name_rank,
    };
    rows.sort_by(|a, b| {
        let group_order = match group {
            GroupBy::None => Ordering::Equal,
            GroupBy::Endpoint => a.endpoint.cmp(&b.endpoint),
            GroupBy::Cluster => ranks.cluster[a.endpoint].cmp(&ranks.cluster[b.endpoint]),
            // Services by name, the containers of none last.
            GroupBy::Service => {
                let (sa, sb) = (service_of(a.container), service_of(b.container));
                sa.is_none().cmp(&sb.is_none()).then(sa.cmp(&sb))
            }
            // Projects by name, the containers of none last.
            GroupBy::Project => {
                let (pa, pb) = (project_of(a.container), project_of(b.container));
                pa.is_none().cmp(&pb.is_none()).then(pa.cmp(&pb))
            }
        };
        let mut by_column = compare(fleet, &ranks, sort.column, a, b);
        if sort.descending {
            by_column = by_column.reverse();
        }
        group_order
            .then(by_column)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
            .then_with(|| a.container.name.cmp(&b.container.name))
            .then_with(|| a.container.id.cmp(&b.container.id))
    });
    rows
}

/// Endpoint orderings a row comparison needs, indexed by endpoint.
struct Ranks<'a> {
    cluster: &'a [usize],
    /// Place of the endpoint's name in name order.
    name: &'a [usize],
}

/// The containers table worked out once per change of the fleet or of the view's query
/// (filter, group, sort), not once per frame: the rows in order by key, and the group headers
/// between them. A frame then looks up only the rows it shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowList {
    pub keys: Vec<RowKey>,
    /// The groups in order, each a run of `keys`; empty when not grouping.
    pub groups: Vec<GroupSpan>,
}

/// A group of the table: its header names it and counts its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpan {
    /// Index in [`RowList::keys`] of the group's first row.
    pub start: usize,
    pub name: String,
    pub count: usize,
    pub running: usize,
}

/// One line of the table: a group header or a row (an index into [`RowList::keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Group(&'a GroupSpan),
    Row(usize),
}

impl RowList {
    pub fn build(fleet: &Fleet, filter: &Filter, group: GroupBy, sort: Sort) -> Self {
        let rows = container_rows(fleet, filter, group, sort);
        let mut groups: Vec<GroupSpan> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let Some(name) = group_of(fleet, row, group) else {
                continue;
            };
            let running = usize::from(row.container.state == super::ContainerState::Running);
            match groups.last_mut() {
                Some(g) if g.name == name => {
                    g.count += 1;
                    g.running += running;
                }
                _ => groups.push(GroupSpan {
                    start: i,
                    name: name.to_string(),
                    count: 1,
                    running,
                }),
            }
        }
        RowList {
            keys: rows.iter().map(Row::key).collect(),
            groups,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Rows plus group headers.
    pub fn lines(&self) -> usize {
        self.keys.len() + self.groups.len()
    }

    /// The line a row is drawn on, counting the headers above it.
    pub fn line_of_row(&self, row: usize) -> usize {
        row + self.groups.partition_point(|g| g.start <= row)
    }

    /// What is drawn on a line, `None` past the end.
    pub fn line(&self, line: usize) -> Option<Line<'_>> {
        // Group j's header sits on line start + j: increasing in j, so a binary search finds
        // how many headers are on or above this line.
        let (mut lo, mut hi) = (0, self.groups.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.groups[mid].start + mid <= line {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo > 0 && self.groups[lo - 1].start + lo - 1 == line {
            return Some(Line::Group(&self.groups[lo - 1]));
        }
        let row = line - lo;
        (row < self.keys.len()).then_some(Line::Row(row))
    }

    /// The row a key names, looked up in the fleet; `None` when it is gone.
    pub fn row<'a>(&self, fleet: &'a Fleet, index: usize) -> Option<Row<'a>> {
        let key = self.keys.get(index)?;
        let container = fleet.endpoints.get(key.endpoint)?.containers.get(&key.id)?;
        Some(Row {
            endpoint: key.endpoint,
            container,
        })
    }
}

fn compare(fleet: &Fleet, ranks: &Ranks<'_>, column: Column, a: &Row<'_>, b: &Row<'_>) -> Ordering {
    let (ca, cb) = (a.container, b.container);
    match column {
        Column::Endpoint => ranks.name[a.endpoint].cmp(&ranks.name[b.endpoint]),
        Column::Name => ca.name.cmp(&cb.name),
        Column::Image => ca.image.cmp(&cb.image),
        Column::State => ca.state.cmp(&cb.state),
        // Longest-running first reads naturally when ascending by "uptime".
        Column::Status => ca.started_at.cmp(&cb.started_at),
        // Unhealthy first: that is what one sorts by health for.
        Column::Health => cb.health.cmp(&ca.health),
        Column::Ips => first_ip(ca).cmp(&first_ip(cb)),
        // Busiest first reads naturally for resource columns; no sample sorts last.
        Column::Cpu | Column::Mem | Column::Net | Column::Io | Column::Pids => {
            let v = |r: &Row<'_>| {
                fleet
                    .stats
                    .latest(r.endpoint, &r.container.id)
                    .map(|s| match column {
                        Column::Cpu => s.cpu_pct,
                        Column::Mem => s.mem_used as f64,
                        Column::Net => s.net_bps(),
                        Column::Io => s.blk_bps(),
                        _ => s.pids as f64,
                    })
                    .unwrap_or(-1.0)
            };
            v(b).total_cmp(&v(a))
        }
        Column::Ports => ca
            .ports
            .first()
            .map(|p| p.private)
            .cmp(&cb.ports.first().map(|p| p.private)),
    }
}

/// IPv4 addresses compare numerically, so .9 sorts before .10.
fn first_ip(c: &Container) -> Option<std::net::IpAddr> {
    c.ips().first().and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointSpec;
    use crate::container::NetAttachment;
    use crate::container::fixtures::container;
    use crate::{ContainerState, Health, Msg, MsgKind, SyncData};

    fn fleet() -> Fleet {
        let mut specs = Vec::new();
        for (name, cluster) in [("b-host", "prod"), ("a-host", "dev"), ("c-host", "prod")] {
            let mut s = EndpointSpec::from_url(Some(name), "tcp://h:1").unwrap();
            s.cluster = cluster.into();
            specs.push(s);
        }
        let mut f = Fleet::new(specs);
        let mk = |id: &str, name: &str, ip: &str, health: Health| {
            let mut c = container(id, name, ContainerState::Running);
            c.health = health;
            c.networks.push(NetAttachment {
                network: "n".into(),
                ipv4: Some(ip.into()),
                ..NetAttachment::default()
            });
            c
        };
        let data = [
            vec![
                mk("1", "web", "10.0.0.10", Health::None),
                mk("2", "db", "10.0.0.9", Health::Unhealthy),
            ],
            vec![mk("3", "api", "10.0.0.2", Health::Healthy)],
            vec![mk("4", "cache", "10.0.0.100", Health::None)],
        ];
        for (i, containers) in data.into_iter().enumerate() {
            f.apply(Msg {
                endpoint: i,
                at: chrono::Utc::now(),
                kind: MsgKind::Synced(Box::new(SyncData {
                    containers,
                    ..SyncData::default()
                })),
            });
        }
        f
    }

    fn names(rows: &[Row<'_>]) -> Vec<String> {
        rows.iter().map(|r| r.container.name.clone()).collect()
    }

    #[test]
    fn sorts_by_any_column_in_both_directions() {
        let f = fleet();
        let all = Filter::default();
        let by = |column, descending| {
            names(&container_rows(
                &f,
                &all,
                GroupBy::None,
                Sort { column, descending },
            ))
        };
        assert_eq!(by(Column::Name, false), ["api", "cache", "db", "web"]);
        assert_eq!(by(Column::Name, true), ["web", "db", "cache", "api"]);
        assert_eq!(by(Column::Endpoint, false), ["api", "db", "web", "cache"]);
        assert_eq!(by(Column::Ips, false), ["api", "db", "web", "cache"]);
        assert_eq!(by(Column::Health, false)[0], "db");
    }

    #[test]
    fn grouping_by_cluster_keeps_configured_cluster_order() {
        let f = fleet();
        let rows = container_rows(
            &f,
            &Filter::default(),
            GroupBy::Cluster,
            Sort {
                column: Column::Name,
                descending: false,
            },
        );
        assert_eq!(names(&rows), ["cache", "db", "web", "api"]);
        assert_eq!(group_of(&f, &rows[0], GroupBy::Cluster), Some("prod"));
        assert_eq!(group_of(&f, &rows[3], GroupBy::Cluster), Some("dev"));
    }

    #[test]
    fn filter_applies_before_sorting() {
        let f = fleet();
        let filter = Filter::parse("cluster:prod !name:db").unwrap();
        let rows = container_rows(&f, &filter, GroupBy::None, Sort::default());
        assert_eq!(names(&rows), ["web", "cache"]);
    }

    #[test]
    fn the_row_list_puts_each_group_header_on_its_own_line_above_its_rows() {
        let f = fleet();
        let by_name = Sort {
            column: Column::Name,
            descending: false,
        };
        let list = RowList::build(&f, &Filter::default(), GroupBy::Cluster, by_name);
        let lines: Vec<String> = (0..list.lines() + 1)
            .map(|l| match list.line(l) {
                Some(Line::Group(g)) => format!("{} {}/{}", g.name, g.running, g.count),
                Some(Line::Row(i)) => list.row(&f, i).unwrap().container.name.clone(),
                None => "-".into(),
            })
            .collect();
        assert_eq!(
            lines,
            ["prod 3/3", "cache", "db", "web", "dev 1/1", "api", "-"]
        );
        assert_eq!(list.line_of_row(0), 1);
        assert_eq!(list.line_of_row(3), 5);
        let flat = RowList::build(&f, &Filter::default(), GroupBy::None, by_name);
        assert!(flat.groups.is_empty());
        assert_eq!((flat.line_of_row(2), flat.line(2)), (2, Some(Line::Row(2))));
        assert_eq!(
            flat.keys,
            container_rows(&f, &Filter::default(), GroupBy::None, by_name)
                .iter()
                .map(Row::key)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_fleet_revision_moves_with_containers_and_the_stats_revision_with_readings() {
        let mut f = fleet();
        let (rev, stats_rev) = (f.revision, f.stats_revision);
        let running = f.endpoints[0].containers.keys().next().unwrap().clone();
        // A rate needs two readings.
        for (secs, used) in [(0, 1_000), (2, 9_000)] {
            let read = chrono::DateTime::from_timestamp(1_000_000 + secs, 0).unwrap();
            let mut raw = crate::stats::RawStats {
                read,
                ..Default::default()
            };
            raw.cpu.total_usage = used;
            raw.cpu.system_usage = used * 10;
            raw.cpu.online_cpus = 2;
            f.apply(Msg {
                endpoint: 0,
                at: read,
                kind: MsgKind::Stats {
                    interval: std::time::Duration::from_secs(2),
                    samples: vec![(running.clone(), raw)],
                },
            });
        }
        assert_eq!(
            f.revision, rev,
            "a reading does not re-sort a table sorted by name"
        );
        assert_ne!(f.stats_revision, stats_rev);
        let copy = f.clone();
        assert_eq!(copy.revision, f.revision, "a clone is the same fleet");
        f.apply(Msg {
            endpoint: 1,
            at: chrono::Utc::now(),
            kind: MsgKind::Synced(Box::default()),
        });
        assert_ne!(f.revision, rev);
        assert!(
            Fleet::new([]).revision != f.revision,
            "another fleet never looks unchanged"
        );
    }
}
