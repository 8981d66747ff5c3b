//! `fleetdeck audit`: the audit log as a table, one row per attempt (its start and its result
//! merged), filtered by endpoint, container and time. Needs no config and no daemon.

use std::io::Write;
use std::path::Path;

use super::{EXIT_CONFIG, EXIT_OK};
use crate::audit::{self, AuditFilter, Identity};

/// Prints the attempts of the audit file at `path` that pass `filter`, oldest first.
pub fn print(
    path: &Path,
    filter: &AuditFilter,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let (records, torn) = match audit::read(path) {
        Ok(r) => r,
        Err(e) => {
            writeln!(
                err,
                "fleetdeck: cannot read the audit log {}: {e}",
                path.display()
            )?;
            return Ok(EXIT_CONFIG);
        }
    };
    if torn > 0 {
        writeln!(
            err,
            "fleetdeck: {torn} line(s) of {} could not be read (cut short by a crash?)",
            path.display()
        )?;
    }
    let entries = audit::merge(records);
    let shown: Vec<_> = entries.iter().filter(|e| filter.matches(e)).collect();
    if shown.is_empty() {
        writeln!(
            err,
            "fleetdeck: no audit records in {} match",
            path.display()
        )?;
        return Ok(EXIT_OK);
    }
    out.write_all(audit::render_table(&shown, &Identity::current().host).as_bytes())?;
    Ok(EXIT_OK)
}
