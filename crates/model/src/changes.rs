//! Which containers each change of the fleet touched, kept for a while so a view that worked
//! something out from the fleet (the sorted containers table) can bring it up to date by
//! redoing only the touched rows, instead of starting over from every container.
//!
//! The log is bounded: a reader that fell further behind than it holds, or that read another
//! fleet's log, is told so and starts over.

use std::collections::VecDeque;

use super::EndpointId;

/// What one change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// One container: its state, name, labels… or that it appeared or went.
    Container { endpoint: EndpointId, id: String },
    /// Any container of an endpoint (a full sync replaced them all).
    Endpoint(EndpointId),
    /// Anything at all (the fleet was edited outside [`super::Fleet::apply`]).
    Fleet,
}

/// A touch and whether it came from a stats reading, which only a table ordered by a stats
/// column has to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub touched: Touched,
    pub stats: bool,
}

/// Where a reader is in a [`ChangeLog`]: the log it read and how many changes it has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    lineage: u64,
    seen: u64,
}

/// The latest changes of one fleet, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub struct ChangeLog {
    /// Drawn afresh for every log, clones included: a clone may go its own way, so a mark
    /// taken on the original must not be read against it.
    lineage: u64,
    capacity: usize,
    entries: VecDeque<Change>,
    /// Changes ever logged, the forgotten ones included.
    total: u64,
}

impl Default for ChangeLog {
    /// Keeps nothing: readers always start over. Fleets that have no reader pay nothing.
    fn default() -> Self {
        Self::new(0)
    }
}

impl Clone for ChangeLog {
    fn clone(&self) -> Self {
        Self {
            lineage: super::next_revision(),
            capacity: self.capacity,
            entries: self.entries.clone(),
            total: self.total,
        }
    }
}

impl ChangeLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            lineage: super::next_revision(),
            capacity,
            entries: VecDeque::new(),
            total: 0,
        }
    }

    /// Logs a change; what it touched is only worked out (an id copied) if the log keeps it.
    pub fn push(&mut self, stats: bool, touched: impl FnOnce() -> Touched) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Change {
            touched: touched(),
            stats,
        });
    }

    /// Where the log is now: a reader up to date keeps this to ask [`ChangeLog::since`] later.
    pub fn mark(&self) -> Mark {
        Mark {
            lineage: self.lineage,
            seen: self.total,
        }
    }

    /// The changes after `mark`, oldest first; `None` when some of them are forgotten or the
    /// mark is another log's.
    pub fn since(&self, mark: Mark) -> Option<impl Iterator<Item = &Change>> {
        let forgotten = self.total - self.entries.len() as u64;
        if mark.lineage != self.lineage || mark.seen < forgotten || mark.seen > self.total {
            return None;
        }
        let skip = usize::try_from(mark.seen - forgotten).ok()?;
        Some(self.entries.iter().skip(skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str) -> Touched {
        Touched::Container {
            endpoint: 0,
            id: id.into(),
        }
    }

    fn read(log: &ChangeLog, mark: Mark) -> Option<Vec<Touched>> {
        log.since(mark)
            .map(|changes| changes.map(|c| c.touched.clone()).collect())
    }

    #[test]
    fn a_reader_gets_the_changes_after_its_mark() {
        let mut log = ChangeLog::new(4);
        log.push(false, || container("a"));
        let mark = log.mark();
        assert_eq!(read(&log, mark), Some(vec![]));
        log.push(true, || container("b"));
        log.push(false, || Touched::Endpoint(1));
        assert_eq!(
            read(&log, mark),
            Some(vec![container("b"), Touched::Endpoint(1)])
        );
        assert_eq!(read(&log, log.mark()), Some(vec![]));
    }

    #[test]
    fn a_reader_too_far_behind_or_of_another_log_starts_over() {
        let mut log = ChangeLog::new(2);
        let mark = log.mark();
        log.push(false, || container("a"));
        log.push(false, || container("b"));
        assert!(read(&log, mark).is_some(), "two changes fit");
        log.push(false, || container("c"));
        assert_eq!(read(&log, mark), None, "the first change is forgotten");
        let copy = log.clone();
        assert_eq!(
            read(&copy, log.mark()),
            None,
            "a clone may have gone its own way"
        );
        assert_eq!(read(&ChangeLog::new(2), log.mark()), None);
    }

    #[test]
    fn a_log_without_capacity_keeps_nothing() {
        let mut log = ChangeLog::default();
        let mark = log.mark();
        assert_eq!(read(&log, mark), Some(vec![]));
        log.push(false, || container("a"));
        assert_eq!(read(&log, mark), None);
        assert_eq!(read(&log, log.mark()), Some(vec![]));
    }
}
