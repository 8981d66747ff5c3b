//! The `fleetdeck` command: parse the command line, load the config (errors before any terminal
//! mode is touched), set up file logging, then run the dashboard or a headless command.
//!
//! It lives in the library and `main.rs` only calls [`main`]: the app loop and the headless
//! commands are generic (over the terminal backend, over `impl Write`), and instantiated in a
//! binary crate they were compiled a second time there, after the library — a minute of a
//! clean release build on two cores.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use color_eyre::eyre::{WrapErr, eyre};

use crate::app::{self, App};
use crate::audit::AuditLog;
use crate::cli::{Cli, Command};
use crate::config::{self, ConfigError};
use crate::engine::gate::Gate;
use crate::headless::printable::Printable;
use crate::headless::{self, EXIT_CHECK_CONFIG, EXIT_CONFIG};
use crate::model::View;
use crate::ui::picture::Format;
use crate::{engine, ui};

/// Bounded on purpose: a stalled UI applies backpressure to the engine tasks instead of
/// growing memory without limit.
const CHANNEL_CAPACITY: usize = 4096;

fn log_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "fleetdeck")
        .map(|d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf())
        .unwrap_or_else(std::env::temp_dir)
}

/// The whole command: what `fleetdeck` runs.
pub fn main() -> ExitCode {
    let log_dir = log_dir();
    let help_footer = format!(
        "Logs: {}/fleetdeck.log.*\nDocs and keys: press ? in the dashboard.",
        log_dir.display()
    );
    // `check` is a monitoring probe: 2 means critical there, so its usage and config errors
    // are 3. Before clap has parsed, the subcommand is told by its word among the arguments.
    let probe = std::env::args().skip(1).any(|a| a == "check");
    let bad_usage = if probe {
        EXIT_CHECK_CONFIG
    } else {
        EXIT_CONFIG
    };
    let matches = match Cli::command().after_help(help_footer).try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(&e, bad_usage),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, bad_usage),
    };
    let bad_config = if matches!(cli.command, Some(Command::Check { .. })) {
        EXIT_CHECK_CONFIG
    } else {
        EXIT_CONFIG
    };
    // The report is for bugs (panics); user errors are one line (`say`) and exit 2.
    if let Err(e) = color_eyre::install() {
        say(e);
    }
    // Reading the audit log needs neither a config nor a daemon.
    if let Some(Command::Audit {
        endpoint,
        container,
        since,
        file,
    }) = &cli.command
    {
        return audit_command(endpoint, container, since, file.as_deref());
    }
    let mut config = match config::load(&cli.sources()) {
        Ok(c) => c,
        Err(e) => return config_error(&e, bad_config),
    };
    // Rebindings are checked now: a clash is a config error, not a surprise in the dashboard.
    let config_path = config.file.clone().unwrap_or_else(|| "config".into());
    let keymap = match crate::keymap::Keymap::with_overrides(&config.keys, &config_path) {
        Ok(k) => k,
        Err(e) => return config_error(&e, bad_config),
    };
    if cli.low_bandwidth {
        config.ui.fps = config.ui.fps.min(4);
        let slow = std::time::Duration::from_secs(5);
        config.stats.interval = config.stats.interval.map(|i| i.max(slow));
        for i in config.stats.per_cluster.values_mut() {
            *i = (*i).max(slow);
        }
        for ep in &mut config.endpoints {
            ep.stats_interval = ep.stats_interval.map(|i| i.max(slow));
        }
    }
    if let Some(fps) = cli.fps {
        config.ui.fps = fps;
    }
    if let Some(view) = cli.view {
        config.ui.view = view;
    }
    let _log_guard = init_logging(&log_dir);

    raise_fd_limit();
    // One thread: the headless commands and the dashboard's loop. The dashboard runs the
    // engine on a thread of its own (engine::EngineThread).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            None => run_dashboard(&config, cli.wall, keymap).await.map(|()| 0),
            Some(Command::Check { json }) => {
                let mut out = Printable::new(std::io::stdout().lock());
                headless::check(&config, *json, &mut out)
                    .await
                    .wrap_err("writing the report")
            }
            Some(Command::Snapshot {
                view,
                width,
                height,
                format,
            }) => snapshot(&config, *view, *width, *height, *format).await,
            Some(Command::Export) => export_headless(&config).await,
            Some(Command::Watch) => {
                let mut err = Printable::new(std::io::stderr());
                Ok(headless::watch::watch(&config, &mut err).await)
            }
            Some(Command::Logs {
                targets,
                follow,
                since,
                tail,
                timestamps,
            }) => {
                let since = match since
                    .as_deref()
                    .map(|s| headless::parse_since(s, chrono::Utc::now()))
                {
                    Some(Err(e)) => {
                        say(e);
                        return Ok(EXIT_CONFIG);
                    }
                    Some(Ok(t)) => Some(t),
                    None => None,
                };
                if let Err(e) = headless::check_log_targets(&config, targets) {
                    say(e);
                    return Ok(EXIT_CONFIG);
                }
                let args = headless::LogsArgs {
                    targets: targets.clone(),
                    follow: *follow,
                    since,
                    tail: *tail,
                    timestamps: *timestamps,
                };
                let mut out = Printable::new(std::io::stdout().lock());
                match headless::logs(&config, &args, &mut out).await {
                    Ok(code) => Ok(code),
                    Err(e) => {
                        say(e);
                        Ok(headless::EXIT_DOWN)
                    }
                }
            }
            Some(Command::RollingRestart {
                args,
                batch,
                wait,
                timeout,
            }) => {
                let gate = Gate::new(&config, AuditLog::from_env());
                let args = headless::actions::RollingArgs {
                    targets: args.targets.clone(),
                    yes: args.yes,
                    opts: headless::actions::rolling_options(usize::from(*batch), *wait, *timeout),
                };
                let (mut out, mut err) = printable_stdio();
                headless::actions::rolling(
                    &config,
                    &gate,
                    &args,
                    &mut headless::actions::ask_on_terminal,
                    &mut out,
                    &mut err,
                )
                .await
                .wrap_err("writing the report")
            }
            Some(Command::Audit { .. }) => Ok(EXIT_CONFIG), // handled before the config is loaded
            Some(Command::Deploy {
                from: Some(from), ..
            }) => {
                let gate = Gate::new(&config, AuditLog::from_env());
                let (mut out, mut err) = printable_stdio();
                headless::deploy::spec_from(&config, &gate, from, &mut out, &mut err)
                    .await
                    .wrap_err("writing the spec")
            }
            Some(Command::Deploy {
                spec,
                resume,
                to,
                accept_loss,
                yes,
                deploy_dir,
                from: None,
            }) => {
                let gate = Gate::new(&config, AuditLog::from_env());
                let args = headless::deploy::DeployArgs {
                    spec: spec.clone(),
                    resume: resume.clone(),
                    accept_loss: *accept_loss,
                    to: to.clone(),
                    yes: *yes,
                    deploy_dir: deploy_dir.clone(),
                };
                let (mut out, mut err) = printable_stdio();
                headless::deploy::deploy(
                    &config,
                    &gate,
                    &args,
                    &mut headless::actions::ask_on_terminal,
                    &mut out,
                    &mut err,
                )
                .await
                .wrap_err("writing the report")
            }
            Some(Command::Service { command, yes, wait }) => {
                let gate = Gate::new(&config, AuditLog::from_env());
                let (mut out, mut err) = printable_stdio();
                headless::swarm::run(
                    &config,
                    &gate,
                    &headless::swarm::ServiceArgs {
                        command: command.command(),
                        yes: *yes,
                        wait: std::time::Duration::from_secs(*wait),
                    },
                    &mut headless::actions::ask_on_terminal,
                    &mut out,
                    &mut err,
                )
                .await
                .wrap_err("writing the report")
            }
            Some(Command::Rollback { target, yes }) => {
                let gate = Gate::new(&config, AuditLog::from_env());
                let (mut out, mut err) = printable_stdio();
                headless::deploy::rollback(
                    &config,
                    &gate,
                    target,
                    *yes,
                    &mut headless::actions::ask_on_terminal,
                    &mut out,
                    &mut err,
                )
                .await
                .wrap_err("writing the report")
            }
            Some(cmd) => match cmd.action() {
                Some(Ok((action, targets))) => {
                    let gate = Gate::new(&config, AuditLog::from_env());
                    let args = headless::actions::ActionArgs {
                        action,
                        targets: targets.targets.clone(),
                        yes: targets.yes,
                        parallel: usize::from(targets.parallel),
                    };
                    let (mut out, mut err) = printable_stdio();
                    headless::actions::run(
                        &config,
                        &gate,
                        &args,
                        &mut headless::actions::ask_on_terminal,
                        &mut out,
                        &mut err,
                    )
                    .await
                    .wrap_err("writing the report")
                }
                Some(Err(e)) => {
                    say(e);
                    Ok(EXIT_CONFIG)
                }
                None => Err(eyre!("unhandled command")),
            },
        }
    });
    // Engine tasks may be parked in backoff sleeps; do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // A failure at run time (the terminal, the engine thread, a closed pipe) is reported,
        // not debugged: its chain on one line, no source location, no backtrace.
        Err(e) => {
            say(format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr, `fleetdeck: …`, with control characters shown, never sent: messages
/// quote values the operator typed or a daemon returned.
fn say(message: impl std::fmt::Display) {
    let text = message.to_string();
    eprintln!(
        "fleetdeck: {}",
        crate::model::text::sanitize(text.trim_end())
    );
}

/// stdout and stderr for a headless command, through [`Printable`].
fn printable_stdio() -> (Printable<std::io::Stdout>, Printable<std::io::Stderr>) {
    (
        Printable::new(std::io::stdout()),
        Printable::new(std::io::stderr()),
    )
}

/// A bad command line: clap's message folded into one line, exit `code` (2; 3 for `check`).
/// `--help` and `--version` print as clap prints them.
fn usage_error(e: &clap::Error, code: i32) -> ExitCode {
    if !e.use_stderr() {
        e.exit();
    }
    say(format!(
        "{} (see fleetdeck --help)",
        one_line_usage_error(e)
    ));
    ExitCode::from(code as u8)
}

/// "error: the following required arguments were not provided:\n  <TARGET>...\n\nUsage: …"
/// as "the following required arguments were not provided: <TARGET>...".
fn one_line_usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() || line.starts_with("tip:") {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    parts.join(" ")
}

/// `fleetdeck audit`.
fn audit_command(
    endpoint: &Option<String>,
    container: &Option<String>,
    since: &Option<String>,
    file: Option<&std::path::Path>,
) -> ExitCode {
    let since = match since
        .as_deref()
        .map(|s| headless::parse_since(s, chrono::Utc::now()))
    {
        Some(Err(e)) => {
            say(e);
            return ExitCode::from(EXIT_CONFIG as u8);
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let filter = crate::audit::AuditFilter {
        endpoint: endpoint.clone(),
        container: container.clone(),
        since,
    };
    let path = file.map_or_else(AuditLog::default_path, std::path::Path::to_path_buf);
    let (mut out, mut err) = printable_stdio();
    match headless::audit::print(&path, &filter, &mut out, &mut err) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            say(e);
            ExitCode::FAILURE
        }
    }
}

fn config_error(e: &ConfigError, code: i32) -> ExitCode {
    say(format!("config error: {e}"));
    ExitCode::from(code as u8)
}

/// Raises the soft limit on open files to the hard one. At 1 s sampling every on-screen
/// container holds a stats stream (up to 64 per endpoint, 64 more polls in flight), so a dozen
/// endpoints would pass the usual soft limit of 1,024 descriptors.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed; no other state.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn init_logging(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    std::fs::create_dir_all(dir).ok()?;
    // Daily files, a week kept: a wall display runs for weeks and must not fill the disk.
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("fleetdeck.log")
        .max_log_files(7)
        .build(dir)
        .ok()?;
    // The default queue holds 128,000 lines and its slots are allocated and touched up front:
    // 4 MB of resident memory for a log that writes a few lines an hour. A burst beyond this
    // many queued lines drops lines (counted by tracing-appender), never blocks the dashboard.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .lossy(true)
        .finish(appender);
    let filter =
        EnvFilter::try_from_env("FLEETDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// The smallest picture a snapshot can draw (width, height): a header, a row and a footer.
const SNAPSHOT_MIN: (u16, u16) = (20, 5);

async fn snapshot(
    config: &config::Config,
    view: View,
    width: u16,
    height: u16,
    format: Format,
) -> color_eyre::Result<i32> {
    if width < SNAPSHOT_MIN.0 || height < SNAPSHOT_MIN.1 {
        say(format!(
            "snapshot --width {width} --height {height} is too small; the smallest is --width {} --height {}",
            SNAPSHOT_MIN.0, SNAPSHOT_MIN.1
        ));
        return Ok(EXIT_CONFIG);
    }
    let (text, down) = headless::render_snapshot(config, view, width, height, format).await;
    if format == Format::Ansi {
        // Its SGR sequences are the point, and Printable would show them as symbols; the
        // picture module sanitised every cell and writes nothing but SGR.
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    } else {
        let mut out = Printable::new(std::io::stdout().lock());
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    for (name, reason) in &down {
        say(format!("endpoint {name} is down: {reason}"));
    }
    Ok(if down.is_empty() {
        headless::EXIT_OK
    } else {
        headless::EXIT_DOWN
    })
}

/// Restores the terminal when dropped: covers early returns, errors and signals; the panic
/// hook ([`restore_on_panic`]) covers panics.
struct TerminalGuard {
    /// Mouse capture was turned on, so it is turned off again.
    mouse: bool,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = leave_modes(&mut std::io::stdout(), self.mouse);
        ratatui::restore();
    }
}

/// Turns off what the dashboard turned on besides raw mode and the alternate screen (which
/// `ratatui::restore` undoes): bracketed paste, and mouse capture when it was on. A terminal
/// left capturing the mouse would answer every click in the shell with escape sequences.
fn leave_modes(out: &mut impl Write, mouse: bool) -> std::io::Result<()> {
    if mouse {
        crossterm::queue!(out, crossterm::event::DisableMouseCapture)?;
    }
    crossterm::queue!(out, crossterm::event::DisableBracketedPaste)?;
    out.flush()
}

/// Puts a hook before ratatui's (which leaves raw mode and the alternate screen, then reports)
/// that turns the modes off too.
fn restore_on_panic(mouse: bool) {
    let ratatui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = leave_modes(&mut std::io::stdout(), mouse);
        ratatui_hook(info);
    }));
}

async fn run_dashboard(
    config: &config::Config,
    wall: bool,
    keymap: crate::keymap::Keymap,
) -> color_eyre::Result<()> {
    let engine_thread =
        engine::EngineThread::start().map_err(|e| eyre!("cannot start the engine thread: {e}"))?;
    let (rx, mut tasks) = engine::spawn_fleet_on(config, CHANNEL_CAPACITY, engine_thread.handle());
    // The configured theme ([ui] theme, dark by default); NO_COLOR overrides it.
    let mut app = App::new(config, ui::Theme::from(&config.ui.theme).unless_no_color());
    app.set_keymap(keymap);
    let who = tasks.gate().audit().identity();
    app.deploy.who = format!("{}@{}", who.user, who.host);
    // A deploy or rollback a kill cut short: said at once, finished or undone from its row.
    let journal = crate::journal::Journal::beside(tasks.gate().audit().path());
    app.set_unfinished(
        journal
            .pending()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| !journal.under_way(&e.endpoint, &e.service))
            .collect(),
    );
    if wall {
        app.enable_wall(&config.wall);
    }
    // Before the terminal is taken over: from here on a SIGTERM/SIGHUP/SIGINT restores it.
    let shutdown = headless::shutdown_signal();
    // ratatui sets the terminal up (raw mode, alternate screen, panic hook); we draw through a
    // backend that writes nothing for a frame that changed nothing.
    drop(ratatui::try_init().wrap_err("cannot set up the terminal")?);
    let mut terminal = ratatui::Terminal::new(crate::ui::quiet::QuietBackend::new(
        ratatui::backend::CrosstermBackend::new(std::io::stdout()),
    ))
    .wrap_err("cannot set up the terminal")?;
    // The mouse is captured when configured, never on a wall (nothing there takes a click,
    // and the terminal's own selection should work without Shift).
    let mouse = config.ui.mouse && !wall;
    app.mouse = mouse;
    let guard = TerminalGuard { mouse };
    restore_on_panic(mouse);
    // Pastes arrive whole (Event::Paste), so a shell in the pane gets them bracketed.
    crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste)
        .wrap_err("cannot enable bracketed paste")?;
    if mouse {
        crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)
            .wrap_err("cannot enable mouse capture")?;
    }
    let input = crate::app::input::TerminalInput::spawn()
        .wrap_err("cannot start the terminal input thread")?;
    tracing::info!(endpoints = config.endpoints.len(), "dashboard started");
    let mut effects = app::Effects::new(Some(&mut tasks), Some(log_dir().join("saved")));
    // OSC 52 copies go where the frames go; effects write them between frames.
    effects.terminal = Some(Box::new(std::io::stdout()));
    if let Some(influx) = &config.influx {
        effects.exporter = Some(
            crate::export::Exporter::start(influx)
                .map_err(|e| eyre!("cannot start the InfluxDB export: {e}"))?,
        );
        effects.export_interval = influx.interval;
    }
    if !config.notify.is_empty() {
        // On the engine's thread: the app loop only ever queues a notice.
        let _engine = engine_thread.handle().enter();
        effects.notifier = Some(
            engine::notify::start(&config.notify)
                .map_err(|e| eyre!("cannot start alert notifications: {e}"))?,
        );
    }
    let result = app::run(
        &mut terminal,
        &mut app,
        input,
        rx,
        config.ui.fps,
        shutdown,
        &mut effects,
    )
    .await;
    // The operator's shell back first, then what is still queued for the receivers.
    drop(guard);
    if let Some(line) = effects.finish(&mut app, QUIT_FLUSH).await {
        eprintln!("fleetdeck: {line}");
    }
    result
}

/// How long quitting the dashboard waits for queued alert notices and export points.
const QUIT_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// `fleetdeck export`: the stats collector and the InfluxDB exporter without a terminal, for a
/// host that only ships metrics. Runs until SIGTERM/SIGINT/SIGHUP; reports on stderr.
async fn export_headless(config: &config::Config) -> color_eyre::Result<i32> {
    let Some(influx) = &config.influx else {
        eprintln!(
            "fleetdeck: export needs an [influx] section in the config (see config.example.toml)"
        );
        return Ok(EXIT_CONFIG);
    };
    let exporter = crate::export::Exporter::start(influx)
        .map_err(|e| eyre!("cannot start the InfluxDB export: {e}"))?;
    let (mut rx, _tasks) = engine::spawn_fleet(config, CHANNEL_CAPACITY);
    let mut app = App::new(config, ui::Theme::monochrome());
    let mut effects = app::Effects::new(None, None);
    effects.exporter = Some(exporter);
    effects.export_interval = influx.interval;
    eprintln!(
        "fleetdeck: exporting stats of {} endpoints to {} (org {}, bucket {}) every {:?}",
        config.endpoints.len(),
        influx.url,
        influx.org,
        influx.bucket,
        influx.interval
    );
    let shutdown = headless::shutdown_signal();
    tokio::pin!(shutdown);
    let mut report = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut totals = tokio::time::interval(influx.interval);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            msg = rx.recv() => match msg {
                Some(msg) => {
                    effects.apply(&mut app, msg);
                }
                None => break,
            },
            _ = totals.tick() => {
                if let Some(exporter) = &effects.exporter {
                    exporter.offer(crate::export::endpoint_points(
                        &app.fleet,
                        &app.fleet.stats,
                        chrono::Utc::now(),
                    ));
                }
            }
            _ = report.tick() => {
                if let Some(exporter) = &effects.exporter {
                    let s = exporter.status();
                    eprintln!(
                        "fleetdeck: export: {} sent, {} queued, {} dropped{}",
                        s.sent,
                        s.queued,
                        s.dropped,
                        s.last_error.map(|e| format!(", last error: {e}")).unwrap_or_default()
                    );
                }
            }
        }
    }
    if let Some(exporter) = effects.exporter.take() {
        let s = exporter.shutdown(std::time::Duration::from_secs(2)).await;
        eprintln!(
            "fleetdeck: export stopped: {} sent, {} queued, {} dropped",
            s.sent, s.queued, s.dropped
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_turns_mouse_capture_off_when_it_was_on() {
        let mut out = Vec::new();
        leave_modes(&mut out, true).unwrap();
        let out = String::from_utf8(out).unwrap();
        // Every mode EnableMouseCapture sets: normal, button, any-event tracking, SGR, urxvt.
        for mode in ["1000", "1002", "1003", "1006", "1015"] {
            assert!(out.contains(&format!("\x1b[?{mode}l")), "{mode}: {out:?}");
        }
        assert!(out.contains("\x1b[?2004l"), "bracketed paste off: {out:?}");

        let mut out = Vec::new();
        leave_modes(&mut out, false).unwrap();
        assert_eq!(
            out, b"\x1b[?2004l",
            "without the mouse, only the paste mode"
        );
    }
}
