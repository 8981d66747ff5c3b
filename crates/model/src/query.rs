//! The containers table as a query over the fleet: filter, group, sort. Pure, so the ordering
//! the operator sees is tested without a terminal.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::changes::{Change, Touched};
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

/// Filtered, grouped and sorted rows, as rows rather than keys: what the tests read a
/// [`RowList`]'s order against. Ties fall back to endpoint, name then id.
#[cfg(test)]
fn container_rows<'a>(
    fleet: &'a Fleet,
    filter: &Filter,
    group: GroupBy,
    sort: Sort,
) -> Vec<Row<'a>> {
    let order = Order::new(fleet, group, sort);
    order
        .sorted(fleet, filter)
        .into_iter()
        .map(|r| r.row)
        .collect()
}

/// A row with the figure a stats column sorts it by, read once rather than at each comparison
/// (0 when the table is not sorted by a stats column).
#[derive(Debug, Clone, Copy)]
struct Ranked<'a> {
    row: Row<'a>,
    figure: f64,
}

/// How two rows of the table compare: by group, then by the sort column, then by endpoint, name
/// and id. The last of these is unique on an endpoint, so this is a total order: sorting every
/// row and putting one changed row back by binary search give the same table.
#[derive(Debug, Clone, Default)]
struct Order {
    group: GroupBy,
    sort: Sort,
    /// Place of each endpoint's cluster in configured cluster order. Per-endpoint ranks are
    /// worked out once: comparing them is what a sort of 50,000 rows does a million times.
    cluster_rank: Vec<usize>,
    /// Place of each endpoint's name in name order.
    name_rank: Vec<usize>,
}

impl Order {
    fn new(fleet: &Fleet, group: GroupBy, sort: Sort) -> Self {
        let clusters = fleet.clusters();
        let cluster_rank = fleet
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
        Order {
            group,
            sort,
            cluster_rank,
            name_rank,
        }
    }

    /// The rows of the fleet that pass `filter`, in this order.
    fn sorted<'a>(&self, fleet: &'a Fleet, filter: &Filter) -> Vec<Ranked<'a>> {
        let mut rows: Vec<Ranked<'a>> = fleet
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
            .map(|row| self.ranked(fleet, row))
            .collect();
        rows.sort_by(|a, b| self.cmp(a, b));
        rows
    }

    fn ranked<'a>(&self, fleet: &Fleet, row: Row<'a>) -> Ranked<'a> {
        Ranked {
            row,
            figure: figure(fleet, self.sort.column, &row),
        }
    }

    fn cmp(&self, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
        let mut by_column = compare(self, self.sort.column, a, b);
        let (a, b) = (&a.row, &b.row);
        let group_order = match self.group {
            GroupBy::None => Ordering::Equal,
            GroupBy::Endpoint => a.endpoint.cmp(&b.endpoint),
            GroupBy::Cluster => self.cluster_rank[a.endpoint].cmp(&self.cluster_rank[b.endpoint]),
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
        if self.sort.descending {
            by_column = by_column.reverse();
        }
        group_order
            .then(by_column)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
            .then_with(|| a.container.name.cmp(&b.container.name))
            .then_with(|| a.container.id.cmp(&b.container.id))
    }
}

/// Changed rows past this share of the fleet (one in four) are put back by sorting everything
/// again: searching a place for each would cost more.
const RESORT_SHARE: usize = 4;

/// The containers table worked out once per change of the fleet or of the view's query
/// (filter, group, sort), not once per frame: the rows in order by key, and the group headers
/// between them. A frame then looks up only the rows it shows; a change of a few containers
/// moves only their rows ([`RowList::update`]).
#[derive(Debug, Clone, Default)]
pub struct RowList {
    pub keys: Vec<RowKey>,
    /// The groups in order, each a run of `keys`; empty when not grouping.
    pub groups: Vec<GroupSpan>,
    filter: Filter,
    order: Order,
    /// When grouping, each row's group and whether it runs, so the headers are counted again
    /// after an update without looking every row up in the fleet; empty when not grouping.
    members: Vec<Member>,
    /// The group names `members` point into, each once.
    group_names: Vec<String>,
    group_ids: HashMap<String, usize>,
    /// When sorted by a stats column, the figure each row was sorted by, so putting a row back
    /// compares it with the others without reading their stats again; empty otherwise.
    figures: Vec<f64>,
}

/// What [`RowList::update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// None of the changes touched a row the list could hold.
    Unchanged,
    /// The touched rows were taken out, and this many (those still there) put back in their
    /// place.
    Moved(usize),
    /// Every row was sorted again.
    Resorted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member {
    group: usize,
    running: bool,
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
        let mut list = RowList {
            filter: filter.clone(),
            order: Order::new(fleet, group, sort),
            ..RowList::default()
        };
        list.sort_all(fleet);
        list
    }

    /// Whether this list answers that query.
    pub fn is_for(&self, filter: &Filter, group: GroupBy, sort: Sort) -> bool {
        self.order.group == group && self.order.sort == sort && self.filter == *filter
    }

    /// Whether a change can move rows of this list: stats readings only move a table sorted by
    /// a stats column.
    pub fn follows(&self, change: &Change) -> bool {
        !change.stats || self.order.sort.column.is_stats()
    }

    /// Brings the list up to date with `changes` made to the fleet since it was worked out (or
    /// last updated): the rows they touched are taken out and put back where the order now
    /// puts them (or left out, if the filter no longer lets them in), the rest stay as they
    /// were. Exactly what [`RowList::build`] would give, at the cost of the touched rows, not
    /// of the whole fleet; a change of everything, or of a large share of the rows, sorts
    /// everything again.
    pub fn update<'c>(
        &mut self,
        fleet: &Fleet,
        changes: impl IntoIterator<Item = &'c Change>,
    ) -> Updated {
        if self.order.name_rank.len() != fleet.endpoints.len() {
            return self.sort_all(fleet);
        }
        let mut whole = vec![false; fleet.endpoints.len()];
        let mut some = vec![false; fleet.endpoints.len()];
        let mut touched: HashSet<RowKey> = HashSet::new();
        for change in changes {
            if !self.follows(change) {
                continue;
            }
            match &change.touched {
                Touched::Fleet => return self.sort_all(fleet),
                Touched::Endpoint(e) => {
                    if let Some(w) = whole.get_mut(*e) {
                        *w = true;
                    }
                }
                Touched::Container { endpoint, id } => {
                    if let Some(s) = some.get_mut(*endpoint) {
                        *s = true;
                        touched.insert(RowKey {
                            endpoint: *endpoint,
                            id: id.clone(),
                        });
                    }
                }
            }
        }
        touched.retain(|k| !whole[k.endpoint]);
        if touched.is_empty() && !whole.contains(&true) {
            return Updated::Unchanged;
        }
        // Rows to put back (those that went are only taken out).
        let redo = touched.len()
            + (whole.iter().zip(&fleet.endpoints))
                .filter(|(w, _)| **w)
                .map(|(_, ep)| ep.containers.len())
                .sum::<usize>();
        if redo > fleet.container_count() / RESORT_SHARE {
            return self.sort_all(fleet);
        }
        // The touched rows, in order, as they are now.
        let mut fresh: Vec<Ranked<'_>> = Vec::with_capacity(redo);
        for ((i, ep), _) in fleet
            .endpoints
            .iter()
            .enumerate()
            .zip(&whole)
            .filter(|(_, w)| **w)
        {
            let rows = (ep.containers.values())
                .filter(|c| self.filter.matches(ep, c))
                .map(|c| Row {
                    endpoint: i,
                    container: c,
                });
            fresh.extend(rows.map(|row| self.order.ranked(fleet, row)));
        }
        for key in &touched {
            let ep = &fleet.endpoints[key.endpoint];
            if let Some(c) = ep.containers.get(&key.id)
                && self.filter.matches(ep, c)
            {
                let row = Row {
                    endpoint: key.endpoint,
                    container: c,
                };
                fresh.push(self.order.ranked(fleet, row));
            }
        }
        fresh.sort_by(|a, b| self.order.cmp(a, b));
        // The others keep their order: nothing they are sorted by has changed.
        let keep: Vec<bool> = (self.keys.iter())
            .map(|k| !(whole[k.endpoint] || (some[k.endpoint] && touched.contains(k))))
            .collect();
        retain_flagged(&mut self.keys, &keep);
        retain_flagged(&mut self.members, &keep);
        retain_flagged(&mut self.figures, &keep);
        // Where each touched row goes among the others: after those that come before it.
        // The touched rows are in order, so each search starts where the last one ended.
        let mut lost = false;
        let mut places = Vec::with_capacity(fresh.len());
        let mut from = 0;
        for row in &fresh {
            from = gallop(self.keys.len(), from, |i| match self.ranked_at(fleet, i) {
                Some(other) => self.order.cmp(&other, row) == Ordering::Less,
                None => {
                    lost = true;
                    false
                }
            });
            places.push(from);
        }
        if lost {
            // A row the list holds is not in the fleet: it changed without saying so.
            return self.sort_all(fleet);
        }
        if self.order.group != GroupBy::None {
            let members: Vec<(usize, Member)> = (places.iter().zip(&fresh))
                .filter_map(|(&place, r)| Some((place, self.member(fleet, &r.row)?)))
                .collect();
            self.members = merged(std::mem::take(&mut self.members), members);
        }
        if self.order.sort.column.is_stats() {
            let figures = places.iter().zip(&fresh).map(|(&p, r)| (p, r.figure));
            self.figures = merged(std::mem::take(&mut self.figures), figures);
        }
        let keys = places.iter().zip(&fresh).map(|(&p, r)| (p, r.row.key()));
        self.keys = merged(std::mem::take(&mut self.keys), keys);
        self.count_groups();
        Updated::Moved(redo)
    }

    /// Where the row of `key` is: found by its place in the order (a binary search), not by a
    /// scan of every row; `None` when it is not in the table.
    pub fn position(&self, fleet: &Fleet, key: &RowKey) -> Option<usize> {
        let searched = row_of(fleet, key).and_then(|row| {
            let row = self.order.ranked(fleet, row);
            let mut lost = false;
            let i = partition(0, self.keys.len(), |i| match self.ranked_at(fleet, i) {
                Some(other) => self.order.cmp(&other, &row) == Ordering::Less,
                None => {
                    lost = true;
                    false
                }
            });
            (!lost && self.keys.get(i) == Some(key)).then_some(i)
        });
        // Not where the order puts it: gone, filtered out, or the fleet changed under the list
        // without saying so (then only a scan is sure).
        searched.or_else(|| self.keys.iter().position(|k| k == key))
    }

    /// Row `i` as the list sorted it.
    fn ranked_at<'a>(&self, fleet: &'a Fleet, i: usize) -> Option<Ranked<'a>> {
        Some(Ranked {
            row: row_of(fleet, self.keys.get(i)?)?,
            figure: self.figures.get(i).copied().unwrap_or(0.0),
        })
    }

    /// Every row of the fleet that passes the filter, sorted.
    fn sort_all(&mut self, fleet: &Fleet) -> Updated {
        self.order = Order::new(fleet, self.order.group, self.order.sort);
        let rows = self.order.sorted(fleet, &self.filter);
        self.group_names.clear();
        self.group_ids.clear();
        self.members = (rows.iter())
            .filter_map(|r| self.member(fleet, &r.row))
            .collect();
        self.figures = if self.order.sort.column.is_stats() {
            rows.iter().map(|r| r.figure).collect()
        } else {
            Vec::new()
        };
        self.keys = rows.iter().map(|r| r.row.key()).collect();
        self.count_groups();
        Updated::Resorted
    }

    /// A row's group and whether it runs; `None` when not grouping.
    fn member(&mut self, fleet: &Fleet, row: &Row<'_>) -> Option<Member> {
        let name = group_of(fleet, row, self.order.group)?;
        let group = match self.group_ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.group_names.len();
                self.group_names.push(name.to_string());
                self.group_ids.insert(name.to_string(), id);
                id
            }
        };
        Some(Member {
            group,
            running: row.container.state == super::ContainerState::Running,
        })
    }

    /// The group headers, counted from the rows' groups: a group is a run of rows of one name.
    fn count_groups(&mut self) {
        self.groups.clear();
        let mut last = None;
        for (i, m) in self.members.iter().enumerate() {
            let running = usize::from(m.running);
            match self.groups.last_mut() {
                Some(g) if last == Some(m.group) => {
                    g.count += 1;
                    g.running += running;
                }
                _ => self.groups.push(GroupSpan {
                    start: i,
                    name: self.group_names[m.group].clone(),
                    count: 1,
                    running,
                }),
            }
            last = Some(m.group);
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
        let lo = partition(0, self.groups.len(), |j| self.groups[j].start + j <= line);
        if lo > 0 && self.groups[lo - 1].start + lo - 1 == line {
            return Some(Line::Group(&self.groups[lo - 1]));
        }
        let row = line - lo;
        (row < self.keys.len()).then_some(Line::Row(row))
    }

    /// The row a key names, looked up in the fleet; `None` when it is gone.
    pub fn row<'a>(&self, fleet: &'a Fleet, index: usize) -> Option<Row<'a>> {
        row_of(fleet, self.keys.get(index)?)
    }
}

/// The row a key names, in the fleet as it is now.
fn row_of<'a>(fleet: &'a Fleet, key: &RowKey) -> Option<Row<'a>> {
    let container = fleet.endpoints.get(key.endpoint)?.containers.get(&key.id)?;
    Some(Row {
        endpoint: key.endpoint,
        container,
    })
}

/// The first index from `start` at which `before` stops holding (it holds for a prefix of
/// `0..len`), found by galloping: a few probes when it is near `start`, as it is for each of
/// several sorted rows put back in turn.
fn gallop(len: usize, start: usize, mut before: impl FnMut(usize) -> bool) -> usize {
    let mut bound = 1;
    while start + bound <= len && before(start + bound - 1) {
        bound *= 2;
    }
    partition(start + bound / 2, (start + bound).min(len), before)
}

/// The first index in `lo..hi` at which `before` stops holding (it holds for a prefix).
fn partition(mut lo: usize, mut hi: usize, mut before: impl FnMut(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Keeps the items whose flag is set; a list shorter than the flags (empty: not kept for this
/// table) is left as it is.
fn retain_flagged<T>(items: &mut Vec<T>, keep: &[bool]) {
    if items.len() == keep.len() {
        let mut flags = keep.iter();
        items.retain(|_| flags.next().copied().unwrap_or(true));
    }
}

/// `old` with each of `fresh` put in before the old item at its place (places ascending).
fn merged<T>(old: Vec<T>, fresh: impl IntoIterator<Item = (usize, T)>) -> Vec<T> {
    let mut out = Vec::with_capacity(old.len());
    let mut old = old.into_iter();
    let mut taken = 0;
    for (place, item) in fresh {
        out.extend(old.by_ref().take(place - taken));
        taken = place;
        out.push(item);
    }
    out.extend(old);
    out
}

fn compare(ranks: &Order, column: Column, a: &Ranked<'_>, b: &Ranked<'_>) -> Ordering {
    let (ca, cb) = (a.row.container, b.row.container);
    match column {
        Column::Endpoint => ranks.name_rank[a.row.endpoint].cmp(&ranks.name_rank[b.row.endpoint]),
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
            b.figure.total_cmp(&a.figure)
        }
        Column::Ports => ca
            .ports
            .first()
            .map(|p| p.private)
            .cmp(&cb.ports.first().map(|p| p.private)),
    }
}

/// What a stats column sorts a row by: its latest sample's figure, -1 without one; 0 for the
/// other columns.
fn figure(fleet: &Fleet, column: Column, row: &Row<'_>) -> f64 {
    if !column.is_stats() {
        return 0.0;
    }
    fleet
        .stats
        .latest(row.endpoint, &row.container.id)
        .map(|s| match column {
            Column::Cpu => s.cpu_pct,
            Column::Mem => s.mem_used as f64,
            Column::Net => s.net_bps(),
            Column::Io => s.blk_bps(),
            _ => s.pids as f64,
        })
        .unwrap_or(-1.0)
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
            sync(&mut f, i, containers);
        }
        f
    }

    fn ascending(column: Column) -> Sort {
        Sort {
            column,
            descending: false,
        }
    }

    /// A full sync of `endpoint` that found `containers`.
    fn sync(f: &mut Fleet, endpoint: EndpointId, containers: Vec<Container>) {
        f.apply(Msg {
            endpoint,
            at: chrono::Utc::now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                containers,
                ..SyncData::default()
            })),
        });
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
        let by_name = ascending(Column::Name);
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
    fn the_fleet_revision_moves_with_containers_and_the_change_log_marks_readings_as_stats() {
        let mut f = fleet().with_change_log(16);
        let (rev, mark) = (f.revision, f.changes.mark());
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
        let logged: Vec<_> = f.changes.since(mark).unwrap().collect();
        assert!(
            !logged.is_empty() && logged.iter().all(|c| c.stats),
            "readings are logged, as stats: {logged:?}"
        );
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

    /// A fleet of 3 endpoints with 20 containers each, that logs its changes.
    fn bigger_fleet() -> Fleet {
        let mut f = fleet().with_change_log(16);
        for ep in 0..3 {
            let containers = (0..20)
                .map(|i| {
                    container(
                        &format!("{ep}-{i:02}"),
                        &format!("svc-{i:02}"),
                        ContainerState::Running,
                    )
                })
                .collect();
            sync(&mut f, ep, containers);
        }
        f
    }

    #[test]
    fn a_container_that_dies_moves_only_its_own_row() {
        let mut f = bigger_fleet();
        let by_state = ascending(Column::State);
        let mut list = RowList::build(&f, &Filter::default(), GroupBy::Cluster, by_state);
        let mark = f.changes.mark();
        let mut died = f.endpoints[1].containers["1-07"].clone();
        died.state = ContainerState::Exited;
        f.apply(Msg {
            endpoint: 1,
            at: chrono::Utc::now(),
            kind: MsgKind::ContainerChanged(Box::new(died)),
        });
        let updated = list.update(&f, f.changes.since(mark).unwrap());
        assert_eq!(updated, Updated::Moved(1));
        let full = RowList::build(&f, &Filter::default(), GroupBy::Cluster, by_state);
        assert_eq!((&list.keys, &list.groups), (&full.keys, &full.groups));
        assert_eq!(list.keys.last().map(|k| k.id.as_str()), Some("1-07"));
        assert_eq!(
            list.groups[1].running, 19,
            "the dev cluster counts one fewer running"
        );
    }

    #[test]
    fn readings_move_rows_only_of_a_table_sorted_by_a_stats_column() {
        let mut f = bigger_fleet();
        let by_name = ascending(Column::Name);
        let by_cpu = ascending(Column::Cpu);
        let mut named = RowList::build(&f, &Filter::default(), GroupBy::None, by_name);
        let mut busiest = RowList::build(&f, &Filter::default(), GroupBy::None, by_cpu);
        let mark = f.changes.mark();
        for secs in [0, 2] {
            let read = chrono::DateTime::from_timestamp(1_000_000 + secs, 0).unwrap();
            let mut raw = crate::stats::RawStats {
                read,
                ..Default::default()
            };
            raw.cpu.total_usage = 1_000 + secs as u64 * 4_000;
            raw.cpu.system_usage = 10_000 + secs as u64 * 10_000;
            raw.cpu.online_cpus = 2;
            f.apply(Msg {
                endpoint: 2,
                at: read,
                kind: MsgKind::Stats {
                    interval: std::time::Duration::from_secs(2),
                    samples: vec![("2-13".into(), raw)],
                },
            });
        }
        let changes = || f.changes.since(mark).unwrap();
        assert_eq!(named.update(&f, changes()), Updated::Unchanged);
        assert_eq!(busiest.update(&f, changes()), Updated::Moved(1));
        assert_eq!(
            busiest.keys[0].id, "2-13",
            "the one busy container comes first"
        );
        let full = RowList::build(&f, &Filter::default(), GroupBy::None, by_cpu);
        assert_eq!(busiest.keys, full.keys);
    }

    #[test]
    fn a_change_to_most_rows_sorts_everything_again() {
        let mut f = bigger_fleet();
        let mut list = RowList::build(&f, &Filter::default(), GroupBy::None, Sort::default());
        let mark = f.changes.mark();
        let renamed = (0..20)
            .map(|i| {
                container(
                    &format!("0-{i:02}"),
                    &format!("new-{i:02}"),
                    ContainerState::Running,
                )
            })
            .collect();
        sync(&mut f, 0, renamed);
        assert_eq!(
            list.update(&f, f.changes.since(mark).unwrap()),
            Updated::Resorted
        );
        let full = RowList::build(&f, &Filter::default(), GroupBy::None, Sort::default());
        assert_eq!(list.keys, full.keys);
        let mark = f.changes.mark();
        sync(&mut f, 0, Vec::new());
        assert_eq!(
            list.update(&f, f.changes.since(mark).unwrap()),
            Updated::Moved(0)
        );
        assert_eq!(list.len(), 40, "endpoint 0's rows are gone");
    }

    /// Random changes to a fleet, each kind of message that can move a row of the table.
    mod incremental {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::*;
        use crate::deploy::replicas::LABEL_GROUP;
        use crate::events::{FleetEvent, Severity};
        use crate::stats::{CpuCounters, RawStats};

        const ENDPOINTS: usize = 3;
        const NAMES: [&str; 5] = ["web", "api", "db", "web", "cache"];

        #[derive(Debug, Clone)]
        enum Op {
            /// An inspect: the container as it is now (new, or changed in any field).
            Put {
                ep: usize,
                id: u8,
                look: u8,
            },
            Gone {
                ep: usize,
                id: u8,
            },
            Event {
                ep: usize,
                id: u8,
                verb: u8,
            },
            /// Readings of (container, load).
            Stats {
                ep: usize,
                loads: Vec<(u8, u8)>,
            },
            Sync {
                ep: usize,
                ids: Vec<(u8, u8)>,
            },
            Touch,
        }

        fn op() -> impl Strategy<Value = Op> {
            let ep = 0..ENDPOINTS;
            prop_oneof![
                3 => (ep.clone(), 0..24u8, any::<u8>()).prop_map(|(ep, id, look)| Op::Put { ep, id, look }),
                1 => (ep.clone(), 0..24u8).prop_map(|(ep, id)| Op::Gone { ep, id }),
                3 => (ep.clone(), 0..24u8, any::<u8>()).prop_map(|(ep, id, verb)| Op::Event { ep, id, verb }),
                3 => (ep.clone(), prop::collection::vec((0..24u8, any::<u8>()), 0..8))
                    .prop_map(|(ep, loads)| Op::Stats { ep, loads }),
                1 => (ep, prop::collection::vec((0..24u8, any::<u8>()), 0..16))
                    .prop_map(|(ep, ids)| Op::Sync { ep, ids }),
                1 => Just(Op::Touch),
            ]
        }

        fn query() -> impl Strategy<Value = (Filter, GroupBy, Sort)> {
            let filters = [
                "",
                "state:running",
                "!name:web",
                "cluster:prod",
                "label:team=b",
            ];
            let groups = [
                GroupBy::None,
                GroupBy::Endpoint,
                GroupBy::Cluster,
                GroupBy::Service,
                GroupBy::Project,
            ];
            (
                0..filters.len(),
                0..groups.len(),
                0..Column::ALL.len(),
                any::<bool>(),
            )
                .prop_map(move |(f, g, c, descending)| {
                    let filter = Filter::parse(filters[f]).unwrap();
                    let sort = Sort {
                        column: Column::ALL[c],
                        descending,
                    };
                    (filter, groups[g], sort)
                })
        }

        fn id(id: u8) -> String {
            format!("c{id:02}")
        }

        fn at(step: u32) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::from_timestamp(1_000_000 + i64::from(step), 0).unwrap()
        }

        /// A container whose every sortable and filterable field comes from `look`.
        fn looking(n: u8, look: u8) -> Container {
            let states = [
                ContainerState::Running,
                ContainerState::Running,
                ContainerState::Exited,
                ContainerState::Paused,
            ];
            let mut c = container(
                &id(n),
                NAMES[usize::from(look) % NAMES.len()],
                states[usize::from(look / 5) % 4],
            );
            c.health =
                [Health::None, Health::Healthy, Health::Unhealthy][usize::from(look / 3) % 3];
            c.image = format!("img:{}", look % 3);
            c.started_at = Some(at(u32::from(look % 7)));
            let mut labels = BTreeMap::new();
            match look % 4 {
                1 => {
                    labels.insert(LABEL_GROUP.to_string(), "shop".to_string());
                }
                2 => {
                    labels.insert(COMPOSE_PROJECT_LABEL.to_string(), "p1".to_string());
                    labels.insert("team".to_string(), "b".to_string());
                }
                3 => {
                    labels.insert(LABEL_GROUP.to_string(), "blog".to_string());
                    labels.insert(COMPOSE_PROJECT_LABEL.to_string(), "p2".to_string());
                }
                _ => {}
            }
            c.labels = labels;
            if look % 5 != 0 {
                c.networks.push(NetAttachment {
                    network: "n".into(),
                    ipv4: Some(format!("10.0.0.{}", look % 11)),
                    ..NetAttachment::default()
                });
            }
            c
        }

        const COMPOSE_PROJECT_LABEL: &str = crate::filter::COMPOSE_PROJECT;

        fn apply(f: &mut Fleet, op: &Op, step: u32) {
            let msg = |endpoint, kind| Msg {
                endpoint,
                at: at(step),
                kind,
            };
            match op {
                Op::Put { ep, id: n, look } => {
                    f.apply(msg(
                        *ep,
                        MsgKind::ContainerChanged(Box::new(looking(*n, *look))),
                    ));
                }
                Op::Gone { ep, id: n } => {
                    f.apply(msg(*ep, MsgKind::ContainerGone { id: id(*n) }));
                }
                Op::Event { ep, id: n, verb } => {
                    let verbs = [
                        "die",
                        "start",
                        "rename",
                        "destroy",
                        "health_status: unhealthy",
                        "pause",
                    ];
                    let action = verbs[usize::from(*verb) % verbs.len()];
                    let ev = FleetEvent {
                        time_nano: at(step + 100).timestamp_nanos_opt().unwrap(),
                        endpoint: *ep,
                        kind: "container".into(),
                        action: action.into(),
                        actor_id: id(*n),
                        actor: NAMES[usize::from(*verb) % NAMES.len()].into(),
                        details: Vec::new(),
                        exit_code: Some(i64::from(*verb % 2)),
                        severity: Severity::Info,
                        restart_loop: false,
                    };
                    f.apply(msg(*ep, MsgKind::Events(vec![ev])));
                }
                Op::Stats { ep, loads } => {
                    let samples = loads
                        .iter()
                        .map(|(n, load)| {
                            let load = u64::from(*load);
                            let raw = RawStats {
                                read: at(step + 100),
                                precpu: CpuCounters {
                                    system_usage: 1,
                                    ..CpuCounters::default()
                                },
                                cpu: CpuCounters {
                                    total_usage: load * 1_000,
                                    system_usage: 1_000_001,
                                    online_cpus: 2,
                                    percpu_count: 2,
                                },
                                mem_usage: (load % 16) << 20,
                                mem_limit: 1 << 30,
                                pids: load % 5,
                                ..RawStats::default()
                            };
                            (id(*n), raw)
                        })
                        .collect();
                    f.apply(msg(
                        *ep,
                        MsgKind::Stats {
                            interval: std::time::Duration::from_secs(2),
                            samples,
                        },
                    ));
                }
                Op::Sync { ep, ids } => {
                    let mut containers: Vec<Container> =
                        ids.iter().map(|(n, look)| looking(*n, *look)).collect();
                    containers.dedup_by(|a, b| a.id == b.id);
                    f.apply(msg(
                        *ep,
                        MsgKind::Synced(Box::new(SyncData {
                            containers,
                            ..SyncData::default()
                        })),
                    ));
                }
                Op::Touch => f.touch(),
            }
        }

        /// The three endpoints of [`fleet`], with 20 containers each.
        fn start() -> Fleet {
            let mut f = fleet().with_change_log(64);
            for ep in 0..ENDPOINTS {
                let ids = (0..20u8)
                    .map(|n| (n, n.wrapping_mul(37).wrapping_add(ep as u8)))
                    .collect();
                apply(&mut f, &Op::Sync { ep, ids }, 0);
            }
            // Every running container with a reading, so a stats column has values to sort.
            for ep in 0..ENDPOINTS {
                let loads: Vec<(u8, u8)> = (0..20u8).map(|n| (n, n.wrapping_mul(11))).collect();
                apply(
                    &mut f,
                    &Op::Stats {
                        ep,
                        loads: loads.clone(),
                    },
                    1,
                );
                apply(&mut f, &Op::Stats { ep, loads }, 2);
            }
            f
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn moving_only_the_touched_rows_gives_what_sorting_everything_gives(
                (filter, group, sort) in query(),
                batches in prop::collection::vec(prop::collection::vec(op(), 1..4), 1..12),
            ) {
                let mut f = start();
                let mut list = RowList::build(&f, &filter, group, sort);
                let mut mark = f.changes.mark();
                let mut step = 10;
                for batch in &batches {
                    for op in batch {
                        step += 1;
                        apply(&mut f, op, step);
                    }
                    let changes = f.changes.since(mark).unwrap();
                    list.update(&f, changes);
                    mark = f.changes.mark();
                    let full = RowList::build(&f, &filter, group, sort);
                    prop_assert_eq!(&list.keys, &full.keys);
                    prop_assert_eq!(&list.groups, &full.groups);
                    for (i, key) in list.keys.iter().enumerate() {
                        prop_assert_eq!(list.position(&f, key), Some(i));
                    }
                    let absent = RowKey { endpoint: 0, id: "c99".into() };
                    prop_assert_eq!(list.position(&f, &absent), None);
                }
            }
        }
    }
}
