//! A local pseudo-terminal for a host shell: the gate opens one (after its read-only check and
//! audit record), the shell task moves its bytes. Apart from both, so neither imports the
//! other for it.

use std::io::{Read, Write};

/// A shell in a local pseudo-terminal.
pub struct HostPty {
    pub(super) master: Box<dyn portable_pty::MasterPty + Send>,
    pub(super) child: Box<dyn portable_pty::Child + Send + Sync>,
    pub(super) reader: Box<dyn Read + Send>,
    pub(super) writer: Box<dyn Write + Send>,
}

impl std::fmt::Debug for HostPty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPty")
            .field("pid", &self.child.process_id())
            .finish()
    }
}

/// Starts `argv` in a new pty of the given size. Only the gate calls this (after its checks).
pub(super) fn spawn_pty(argv: &[String], rows: u16, cols: u16) -> Result<HostPty, String> {
    let Some(program) = argv.first() else {
        return Err("no command for the host shell".into());
    };
    let pty = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: rows.max(1),
            cols: cols.max(1),
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| format!("cannot open a pseudo-terminal: {e}"))?;
    let mut cmd = portable_pty::CommandBuilder::new(program);
    cmd.args(&argv[1..]);
    cmd.env("TERM", "xterm-256color");
    if let Ok(dir) = std::env::current_dir() {
        cmd.cwd(dir);
    }
    let child = pty
        .slave
        .spawn_command(cmd)
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    // Only the child holds the slave side now, so its exit ends our reads.
    drop(pty.slave);
    let reader = pty
        .master
        .try_clone_reader()
        .map_err(|e| format!("pty: {e}"))?;
    let writer = pty.master.take_writer().map_err(|e| format!("pty: {e}"))?;
    Ok(HostPty {
        master: pty.master,
        child,
        reader,
        writer,
    })
}
