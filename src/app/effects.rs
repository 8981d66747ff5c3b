//! Where the loop carries out what the app asks for: engine commands (tails, actions, deploys,
//! overlays' requests), saved logs, OSC 52 copies to the terminal, the InfluxDB export.

use std::time::{Duration, Instant};

use super::{App, Command};
use crate::model::Msg;
use chrono::Utc;
use futures::future::OptionFuture;

/// Where the loop carries out the app's commands: the engine for log tails, a directory for
/// saved logs. `None` parts make those commands report that they are unavailable.
pub struct Effects<'a> {
    pub tasks: Option<&'a mut crate::engine::FleetTasks>,
    pub save_dir: Option<std::path::PathBuf>,
    /// InfluxDB export of every sample, when `[influx]` is configured.
    pub exporter: Option<crate::export::ExporterHandle>,
    /// How often endpoint totals are exported.
    pub export_interval: Duration,
    /// Alert delivery to the `[[notify]]` targets, when the config has any.
    pub notifier: Option<crate::engine::notify::NotifierHandle>,
    /// The terminal's output, for OSC 52 copies: the stream the frames are drawn on, written
    /// only between frames.
    pub terminal: Option<Box<dyn std::io::Write + 'a>>,
}

impl<'a> Effects<'a> {
    pub fn new(
        tasks: Option<&'a mut crate::engine::FleetTasks>,
        save_dir: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            tasks,
            save_dir,
            exporter: None,
            export_interval: Duration::from_secs(10),
            notifier: None,
            terminal: None,
        }
    }

    /// Applies an engine message, exporting the stats samples it recorded.
    pub fn apply(&mut self, app: &mut App, msg: Msg) -> bool {
        let sampled = self
            .exporter
            .as_ref()
            .and_then(|_| crate::export::sampled(&msg));
        let changed = app.apply(msg);
        if let (Some(exporter), Some((endpoint, ids))) = (&self.exporter, sampled) {
            exporter.offer(crate::export::sampled_points(&app.fleet, endpoint, &ids));
        }
        changed
    }

    /// At each clock tick (about a second apart): the alert notices to the `[[notify]]`
    /// targets and whether delivery is failing, for the footer; endpoint totals when their
    /// interval has passed, and the status line.
    pub(super) fn tick(&mut self, app: &mut App, last_totals: &mut Instant) {
        if let Some(notifier) = &self.notifier {
            // The rules' transitions since the last tick (evaluated on the tick and before
            // frames): queued, never awaited.
            for notice in app.take_notices() {
                notifier.offer(&notice);
            }
            app.delivery_problem = notifier.status().problem();
        }
        let Some(exporter) = &self.exporter else {
            return;
        };
        if last_totals.elapsed() >= self.export_interval {
            *last_totals = Instant::now();
            exporter.offer(crate::export::endpoint_points(
                &app.fleet,
                &app.fleet.stats,
                Utc::now(),
            ));
        }
        app.export_status = Some(exporter.status());
    }

    /// On the way out, once the screen is restored: the notices the rules raised since the
    /// last tick are queued too, then the notifier and the exporter get `grace` to deliver what
    /// is queued, so an alert that fired just before the operator quit still reaches on-call.
    /// A line for the operator when anything was queued; `None` when nothing was.
    pub async fn finish(&mut self, app: &mut App, grace: Duration) -> Option<String> {
        let notifier = self.notifier.take();
        let exporter = self.exporter.take();
        if let Some(n) = &notifier {
            for notice in app.take_notices() {
                n.offer(&notice);
            }
        }
        let notices = notifier.as_ref().map_or(0, |n| n.status().queued());
        let points = exporter.as_ref().map_or(0, |e| e.status().queued);
        if notices == 0 && points == 0 {
            return None;
        }
        let (n, e) = tokio::join!(
            OptionFuture::from(notifier.map(|n| n.shutdown(grace))),
            OptionFuture::from(exporter.map(|e| e.shutdown(grace)))
        );
        let (n, e) = (n.map_or(0, |s| s.queued()), e.map_or(0, |s| s.queued));
        let part = |queued: usize, left: usize, what: &str| {
            let plural = if queued == 1 { "" } else { "s" };
            (queued > 0).then(|| match left {
                0 => format!("{queued} {what}{plural} sent"),
                _ => format!(
                    "{} of {queued} {what}{plural} sent, {left} given up",
                    queued - left
                ),
            })
        };
        let parts: Vec<String> = [
            part(notices, n, "alert notice"),
            part(points, e, "InfluxDB point"),
        ]
        .into_iter()
        .flatten()
        .collect();
        Some(format!(
            "queued at quit (up to {} s to deliver): {}",
            grace.as_secs(),
            parts.join("; ")
        ))
    }

    /// Carries out the commands the app queued. The loop calls it after each key; a test that
    /// drives the app key by key calls it too, so it exercises this very wiring.
    /// Passes what is on screen to the stats collectors (they dedupe unchanged sets).
    pub fn focus(&mut self, app: &App) {
        if let Some(tasks) = self.tasks.as_deref() {
            tasks.set_stats_focus(app.stats_focus(self.exporter.is_some()));
        }
    }

    pub fn run(&mut self, app: &mut App) {
        for cmd in std::mem::take(&mut app.commands) {
            match cmd {
                Command::OpenTail {
                    tail,
                    sources,
                    last_lines,
                } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.open_tail(tail, &sources, last_lines),
                    None => app.view.message = Some("log tails need the engine".into()),
                },
                Command::Actions { requests } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_actions(requests);
                    }
                    None => app.view.message = Some("actions need the engine".into()),
                },
                Command::Swarm { request } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_swarm(request);
                    }
                    None => app.view.message = Some("actions need the engine".into()),
                },
                Command::RollingRestart { requests } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_rolling_restart(
                            requests,
                            crate::engine::gate::RollingOptions::default(),
                        );
                    }
                    None => app.view.message = Some("actions need the engine".into()),
                },
                Command::OpenExecShell { shell, request } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.open_exec_shell(shell, request),
                    None => app.view.message = Some("shells need the engine".into()),
                },
                Command::OpenHostShell {
                    shell,
                    endpoint,
                    argv,
                    size,
                } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.open_host_shell(shell, endpoint, argv, size),
                    None => app.view.message = Some("shells need the engine".into()),
                },
                Command::ShellInput { shell, input } => {
                    if let Some(tasks) = self.tasks.as_deref_mut()
                        && !tasks.shell_input(shell, input)
                    {
                        app.view.message = Some("the shell is not taking input".into());
                    }
                }
                Command::CloseShell { shell } => {
                    if let Some(tasks) = self.tasks.as_deref_mut() {
                        tasks.close_shell(shell);
                    }
                }
                Command::ReviewDeploy { plan } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.review_deploy(*plan),
                    None => app.view.message = Some("deploys need the engine".into()),
                },
                Command::Deploy { plan } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_deploy(*plan);
                    }
                    None => app.view.message = Some("deploys need the engine".into()),
                },
                Command::Rollback { plan } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_rollback(*plan);
                    }
                    None => app.view.message = Some("rollbacks need the engine".into()),
                },
                Command::Recover { entry, how } => match self.tasks.as_deref_mut() {
                    Some(tasks) => {
                        tasks.submit_recover(*entry, how);
                    }
                    None => app.view.message = Some("recovery needs the engine".into()),
                },
                Command::OpenTop {
                    watch,
                    endpoint,
                    container_id,
                } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.open_top(watch, endpoint, container_id),
                    None => app.view.message = Some("processes need the engine".into()),
                },
                Command::OpenInspect {
                    request,
                    endpoint,
                    target,
                } => match self.tasks.as_deref_mut() {
                    Some(tasks) => tasks.open_inspect(request, endpoint, target),
                    None => app.view.message = Some("inspect needs the engine".into()),
                },
                Command::CloseInspect { request } => {
                    if let Some(tasks) = self.tasks.as_deref_mut() {
                        tasks.close_inspect(request);
                    }
                }
                Command::CloseTop { watch } => {
                    if let Some(tasks) = self.tasks.as_deref_mut() {
                        tasks.close_top(watch);
                    }
                }
                Command::CloseTail { tail } => {
                    if let Some(tasks) = self.tasks.as_deref_mut() {
                        tasks.close_tail(tail);
                    }
                }
                Command::Copy { text, label } => {
                    app.view.message =
                        Some(match (&mut self.terminal, super::clipboard::osc52(&text)) {
                            (None, _) => "copying needs a terminal".into(),
                            (Some(_), Err(e)) => format!("{label} not copied: {e}"),
                            (Some(out), Ok(seq)) => {
                                match out.write_all(&seq).and_then(|()| out.flush()) {
                                    Ok(()) => format!("copied {label} (via the terminal: OSC 52)"),
                                    Err(e) => format!("cannot copy {label}: {e}"),
                                }
                            }
                        });
                }
                Command::Save {
                    file_name,
                    contents,
                } => {
                    app.view.message = Some(match &self.save_dir {
                        Some(dir) => {
                            let path = dir.join(&file_name);
                            match std::fs::create_dir_all(dir)
                                .and_then(|()| std::fs::write(&path, contents))
                            {
                                Ok(()) => format!("saved to {}", path.display()),
                                Err(e) => format!("cannot save {}: {e}", path.display()),
                            }
                        }
                        None => "no directory to save logs in".into(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alerts::{NotifyTarget, Severity, TargetKind};
    use crate::model::{Msg, MsgKind};

    /// The dashboard's notices reach the notifier on the tick: an endpoint down fires the
    /// built-in rule, and its notice is tried at the (dead) target.
    #[tokio::test]
    async fn the_tick_hands_the_rules_notices_to_the_notifier() {
        let config = crate::config::parse_str(
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://127.0.0.1:1\"\n",
            std::path::Path::new("c.toml"),
        )
        .expect("config parses");
        let mut app = App::new(&config, crate::ui::Theme::monochrome());
        let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/h", dead.local_addr().expect("addr"));
        drop(dead);
        let target = NotifyTarget {
            name: "oncall".into(),
            url,
            kind: TargetKind::Webhook,
            min_severity: Severity::Warning,
            headers: Vec::new(),
            timeout: Duration::from_secs(2),
        };
        let mut effects = Effects::new(None, None);
        effects.notifier = Some(
            crate::engine::notify::start_with(
                &[target],
                crate::engine::notify::RetryPolicy {
                    attempts: 1,
                    first: Duration::from_millis(1),
                    max: Duration::from_millis(1),
                },
                16,
            )
            .expect("in a runtime"),
        );
        app.apply(Msg {
            endpoint: 0,
            at: Utc::now(),
            kind: MsgKind::Down {
                reason: "connection refused".into(),
                retry_in: Duration::from_secs(1),
            },
        });
        app.tick(Utc::now());
        let mut last_totals = Instant::now();
        effects.tick(&mut app, &mut last_totals);
        assert!(app.take_notices().is_empty(), "the tick took them");
        let deadline = Instant::now() + Duration::from_secs(5);
        while app.delivery_problem.is_none() {
            assert!(Instant::now() < deadline, "the notice was never tried");
            tokio::time::sleep(Duration::from_millis(10)).await;
            effects.tick(&mut app, &mut last_totals);
        }
        let problem = app.delivery_problem.clone().unwrap_or_default();
        assert!(
            problem.starts_with("notify oncall: failing (connect to 127.0.0.1:"),
            "{problem}"
        );
        assert!(
            problem.ends_with("connection refused, gave up)"),
            "{problem}"
        );
    }
}
