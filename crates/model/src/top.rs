//! `docker top` of one container, as the processes overlay shows it. Command lines come from the
//! container and may hold anything: every cell is sanitised on the way in.

use super::text::sanitize_owned;

/// How often an open processes overlay asks the daemon again.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessTable {
    /// `ps` column titles: UID PID PPID C STIME TTY TIME CMD.
    pub titles: Vec<String>,
    /// One row per process, a value per title.
    pub rows: Vec<Vec<String>>,
}

impl ProcessTable {
    pub fn new(titles: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        let clean = |row: Vec<String>| row.into_iter().map(sanitize_owned).collect();
        Self {
            titles: clean(titles),
            rows: rows.into_iter().map(clean).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_command_lines_are_made_inert() {
        let t = ProcessTable::new(
            vec!["PID".into(), "CMD".into()],
            vec![vec!["7".into(), "sh -c \u{1b}]52;c;aGk=\u{7}".into()]],
        );
        assert!(!t.rows[0][1].contains('\u{1b}') && !t.rows[0][1].contains('\u{7}'));
    }
}
