//! `fleetdeck watch`: the engine and the alert rules without a terminal, for systemd
//! (`deploy/fleetdeck-watch.service`).
//!
//! ```text
//!   engine (every endpoint: sync, events, stats) ──Msg──▶ Fleet ──every second──▶ Alerts::evaluate
//!   log tails, only of the containers log rules scope ──▶ Alerts::observe_log        │ Notice
//!                                                            stderr line ◀───────────┤
//!                                                    notify queue (never waits) ◀─────┘
//!   [influx] configured: every sample and the endpoint totals ──▶ export queue
//! ```
//!
//! It runs until SIGTERM, SIGINT or SIGHUP, then gives the notify and export queues
//! [`FLUSH_DEADLINE`] to empty and exits 0. Firing and resolved notices are logged to stderr,
//! one sanitised line each, and so is a change in delivery (a target failing, recovering).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::OptionFuture;

use crate::config::Config;
use crate::engine;
use crate::engine::notify::{self, NotifierHandle};
use crate::export::{Exporter, ExporterHandle};
use crate::model::alerts::{Alerts, Notice};
use crate::model::logs::{LogSource, LogStream};
use crate::model::{EndpointId, Fleet, Msg, MsgKind};

/// How long the queues get to empty after a stop signal.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(3);
/// Rules are evaluated this often: `for` durations and windows pass with time, not messages.
const EVALUATE_EVERY: Duration = Duration::from_secs(1);
/// A message that changes state is evaluated at once, but not more often than this (a burst
/// of events is one evaluation).
const EVALUATE_SOON: Duration = Duration::from_millis(250);
/// Lines of history a log tail starts with, so a container that prints its fatal line at once
/// (before its tail is open) is still read; lines older than the watch are skipped.
const LOG_BACKLOG: u64 = 100;
/// The engine's channel: bounded, so a slow evaluation slows the engine rather than growing.
const CHANNEL_CAPACITY: usize = 4096;

/// A container a log rule reads, and the tail that follows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Followed {
    endpoint: EndpointId,
    container_id: String,
}

/// What stderr was last told about one target's delivery.
#[derive(Debug, Default)]
struct DeliverySeen {
    problem: Option<String>,
    failed_tries: u64,
}

/// The state of a run, apart from the engine.
struct Watch {
    fleet: Fleet,
    alerts: Alerts,
    notifier: Option<NotifierHandle>,
    exporter: Option<ExporterHandle>,
    /// Open log tails: tail id → what it follows, and back.
    tails: HashMap<u64, Followed>,
    tail_of: HashMap<Followed, u64>,
    next_tail: u64,
    started: DateTime<Utc>,
    /// Per target, what stderr was last told about its delivery.
    delivery: Vec<DeliverySeen>,
}

/// Runs until a stop signal; prints to `err`. Exit code 0, or [`super::EXIT_CONFIG`] when a
/// part cannot start (the export's URL).
pub async fn watch(config: &Config, err: &mut impl Write) -> i32 {
    // Before anything runs: a SIGTERM from here on flushes and exits cleanly.
    let shutdown = super::shutdown_signal();
    tokio::pin!(shutdown);
    let alerts = Alerts::new(config.alerts.rules.clone());
    // Stats only as fast as the rules need them: every interval for the containers metric
    // rules scope (or all of them for the export), not at all without either.
    let mut config = config.clone();
    let export_all = config.influx.is_some();
    if !export_all && !alerts.needs_full_rate_stats() {
        config.stats.interval = None;
    }
    let config = &config;
    let notifier = if config.notify.is_empty() {
        None
    } else {
        match notify::start(&config.notify) {
            Ok(n) => Some(n),
            Err(e) => {
                say(err, format_args!("cannot start notifications: {e}"));
                return super::EXIT_CONFIG;
            }
        }
    };
    let exporter = match config.influx.as_ref().map(Exporter::start).transpose() {
        Ok(e) => e,
        Err(e) => {
            say(err, format_args!("cannot start the InfluxDB export: {e}"));
            return super::EXIT_CONFIG;
        }
    };
    let (mut rx, mut tasks) = engine::spawn_fleet(config, CHANNEL_CAPACITY);
    let mut w = Watch {
        fleet: Fleet::new(config.endpoints.iter().cloned())
            .with_event_log(crate::model::events::EventLog::new(
                config.events.history,
                config.events.restart_loop,
            ))
            .with_stats_window(config.stats.window),
        alerts,
        notifier,
        exporter,
        tails: HashMap::new(),
        tail_of: HashMap::new(),
        next_tail: 0,
        started: Utc::now(),
        delivery: Vec::new(),
    };
    let names: Vec<&str> = config.notify.iter().map(|t| t.name.as_str()).collect();
    say(
        err,
        format_args!(
            "watching {} endpoint{} with {} rule{}; notifying {}{}",
            config.endpoints.len(),
            plural(config.endpoints.len()),
            config.alerts.rules.len(),
            plural(config.alerts.rules.len()),
            if names.is_empty() {
                "nobody (no [[notify]] in the config)".to_string()
            } else {
                names.join(", ")
            },
            if config.influx.is_some() {
                "; exporting stats to InfluxDB"
            } else {
                ""
            }
        ),
    );
    let mut evaluate = tokio::time::interval(EVALUATE_EVERY);
    evaluate.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let export_every = config.influx.as_ref().map(|i| i.interval);
    let mut last_totals = tokio::time::Instant::now();
    let mut last_evaluation = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            msg = rx.recv() => match msg {
                Some(msg) => {
                    // News of state is evaluated at once (a die event, a stats round), at most
                    // every EVALUATE_SOON: a `for` then starts counting from the reading, not
                    // from the next tick.
                    let news = !matches!(msg.kind, MsgKind::Log { .. } | MsgKind::Latency(_));
                    w.apply(msg);
                    if news && last_evaluation.elapsed() >= EVALUATE_SOON {
                        last_evaluation = tokio::time::Instant::now();
                        w.evaluate(err);
                    }
                }
                None => break,
            },
            _ = evaluate.tick() => {
                last_evaluation = tokio::time::Instant::now();
                w.evaluate(err);
                w.follow_logs(&mut tasks);
                if !export_all {
                    tasks.set_stats_focus(w.stats_focus());
                }
                w.report_delivery(err);
                if let (Some(exporter), Some(every)) = (&w.exporter, export_every)
                    && last_totals.elapsed() >= every
                {
                    last_totals = tokio::time::Instant::now();
                    exporter.offer(crate::export::endpoint_points(
                        &w.fleet,
                        &w.fleet.stats,
                        Utc::now(),
                    ));
                }
            }
        }
    }
    drop(tasks);
    say(err, format_args!("stopping; flushing the queues"));
    let (notified, exported) = tokio::join!(
        OptionFuture::from(w.notifier.take().map(|n| n.shutdown(FLUSH_DEADLINE))),
        OptionFuture::from(w.exporter.take().map(|e| e.shutdown(FLUSH_DEADLINE)))
    );
    if let Some(s) = notified {
        let sent: u64 = s.targets.iter().map(|t| t.sent).sum();
        let failed: u64 = s.targets.iter().map(|t| t.failed).sum();
        say(
            err,
            format_args!(
                "watch stopped: {sent} notices sent, {failed} given up, {} unsent, {} dropped",
                s.queued(),
                s.dropped()
            ),
        );
    } else {
        say(err, format_args!("watch stopped"));
    }
    if let Some(s) = exported {
        say(
            err,
            format_args!(
                "export stopped: {} sent, {} queued, {} dropped",
                s.sent, s.queued, s.dropped
            ),
        );
    }
    super::EXIT_OK
}

/// One line on stderr, best effort: a closed stderr must not stop the alerting.
fn say(err: &mut impl Write, what: std::fmt::Arguments<'_>) {
    let _ = writeln!(err, "fleetdeck: {what}");
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `2026-12-02T14:03:11Z firing CRITICAL lab1/web-1: memory 95 % of limit`: one line, every
/// control character shown, never sent (the text quotes container names and log lines).
pub fn notice_line(notice: &Notice) -> String {
    let line = format!(
        "{} {} {}",
        notice.at.format("%Y-%m-%dT%H:%M:%SZ"),
        notice.state.as_str(),
        notice.text
    );
    crate::model::text::sanitize(&line).into_owned()
}

impl Watch {
    /// Folds an engine message in: log lines go to the log rules, everything else to the fleet
    /// (and a stats round to the export).
    fn apply(&mut self, msg: Msg) {
        if let MsgKind::Log { tail, lines } = &msg.kind {
            let Some(followed) = self.tails.get(tail) else {
                return;
            };
            for line in lines {
                if line.stream == LogStream::Marker {
                    continue;
                }
                let at = line.at.unwrap_or(msg.at);
                if at < self.started {
                    continue;
                }
                self.alerts
                    .observe_log(followed.endpoint, &followed.container_id, &line.text, at);
            }
            return;
        }
        let sampled = self
            .exporter
            .as_ref()
            .and_then(|_| crate::export::sampled(&msg));
        self.fleet.apply(msg);
        if let (Some(exporter), Some((endpoint, ids))) = (&self.exporter, sampled) {
            exporter.offer(crate::export::sampled_points(&self.fleet, endpoint, &ids));
        }
    }

    /// Evaluates the rules now and says and sends what changed.
    fn evaluate(&mut self, err: &mut impl Write) {
        for notice in self.alerts.evaluate(&self.fleet, Utc::now()) {
            self.announce(&notice, err);
        }
    }

    fn announce(&self, notice: &Notice, err: &mut impl Write) {
        let _ = writeln!(err, "{}", notice_line(notice));
        if let Some(n) = &self.notifier {
            n.offer(notice);
        }
    }

    /// Opens a tail for each container a log rule now scopes and closes those no longer scoped
    /// (removed, or out of scope after a relabel).
    fn follow_logs(&mut self, tasks: &mut engine::FleetTasks) {
        let wanted: Vec<Followed> = self
            .alerts
            .log_targets(&self.fleet)
            .into_iter()
            .map(|(endpoint, container_id)| Followed {
                endpoint,
                container_id,
            })
            .collect();
        let gone: Vec<u64> = self
            .tails
            .iter()
            .filter(|(_, f)| !wanted.contains(f))
            .map(|(tail, _)| *tail)
            .collect();
        for tail in gone {
            tasks.close_tail(tail);
            if let Some(f) = self.tails.remove(&tail) {
                self.tail_of.remove(&f);
            }
        }
        for f in wanted {
            if self.tail_of.contains_key(&f) {
                continue;
            }
            self.next_tail += 1;
            let tail = self.next_tail;
            let tag = self
                .fleet
                .endpoints
                .get(f.endpoint)
                .map(|ep| {
                    let name = ep
                        .containers
                        .get(&f.container_id)
                        .map_or(f.container_id.as_str(), |c| c.name.as_str());
                    format!("{}/{name}", ep.name())
                })
                .unwrap_or_default();
            tasks.open_tail(
                tail,
                &[LogSource {
                    endpoint: f.endpoint,
                    container_id: f.container_id.clone(),
                    tag,
                }],
                LOG_BACKLOG,
            );
            self.tail_of.insert(f.clone(), tail);
            self.tails.insert(tail, f);
        }
    }

    /// Per endpoint, the containers metric rules scope: sampled every interval, the others
    /// only now and then (see `engine::stats::due`).
    fn stats_focus(&self) -> Vec<engine::stats::Focus> {
        let mut per: Vec<std::collections::HashSet<String>> =
            vec![std::collections::HashSet::new(); self.fleet.endpoints.len()];
        for (endpoint, id) in self.alerts.stats_targets(&self.fleet) {
            if let Some(set) = per.get_mut(endpoint) {
                set.insert(id);
            }
        }
        per.into_iter()
            .map(|set| Some(std::sync::Arc::new(engine::stats::Sight::rows(set))))
            .collect()
    }

    /// Says on stderr, per target, when delivery starts failing, changes how, or recovers;
    /// and failed tries that a retry cured between two looks, which the status alone would
    /// never show. A target that keeps failing the same way is said once.
    fn report_delivery(&mut self, err: &mut impl Write) {
        let Some(n) = &self.notifier else {
            return;
        };
        let status = n.status();
        self.delivery
            .resize_with(status.targets.len(), DeliverySeen::default);
        for (t, seen) in status.targets.iter().zip(self.delivery.iter_mut()) {
            let problem = t.problem();
            let name = crate::model::text::sanitize(&t.name);
            if problem != seen.problem {
                match &problem {
                    Some(p) => say(err, format_args!("{}", crate::model::text::sanitize(p))),
                    None => say(err, format_args!("notify {name}: delivering again")),
                }
            } else if problem.is_none() && t.failed_tries > seen.failed_tries {
                let new = t.failed_tries - seen.failed_tries;
                say(
                    err,
                    format_args!(
                        "notify {name}: {new} tr{} failed ({}), delivered since",
                        if new == 1 { "y" } else { "ies" },
                        crate::model::text::sanitize(t.last_failure.as_deref().unwrap_or("?"))
                    ),
                );
            }
            seen.problem = problem;
            seen.failed_tries = t.failed_tries;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alerts::{NoticeState, Severity};

    #[test]
    fn a_notice_is_one_line_with_its_time_and_state_and_no_control_character() {
        let n = Notice {
            rule: "fatal".into(),
            severity: Severity::Critical,
            state: NoticeState::Firing,
            scope: "fleet".into(),
            subject: "lab1/web-1".into(),
            endpoint: Some("lab1".into()),
            container: Some("web-1".into()),
            value: None,
            at: DateTime::from_timestamp(1_700_000_000, 0).expect("valid time"),
            text: "CRITICAL lab1/web-1: log \u{1b}]52;c;evil\u{7}\nFATAL".into(),
        };
        let line = notice_line(&n);
        assert!(
            line.starts_with("2023-11-14T22:13:20Z firing CRITICAL lab1/web-1: log ␛]52;c;evil"),
            "{line}"
        );
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
}
