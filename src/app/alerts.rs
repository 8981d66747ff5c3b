//! The app's alert rules: evaluated on the one-second tick and before a frame that follows a
//! change of state (never per stats message: metric rules read the history, which a tick a
//! second reads often enough), the log tail their log rules need, acknowledgement and the
//! `:silence` / `:unsilence` commands. All of it local display state: nothing here writes to a
//! daemon, so read-only endpoints allow it, and a wall (no keys) alerts the same.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::{App, Command};
use crate::model::alerts::condition::{format_duration, parse_duration};
use crate::model::alerts::{Alerts, Firing, Notice};
use crate::model::logs::{LogLine, LogSource};
use crate::model::{EndpointId, View};

/// Notices kept for a consumer (delivery) that has not taken them; older ones are dropped.
pub const NOTICES_KEPT: usize = 1024;

/// The rules' state in the app.
#[derive(Debug, Default)]
pub struct AlertState {
    pub alerts: Alerts,
    /// Something changed since the last evaluation.
    pub dirty: bool,
    /// Transitions not yet taken by [`App::take_notices`].
    pub notices: VecDeque<Notice>,
    /// The log tail feeding log rules, and the containers it follows.
    tail: Option<(u64, Vec<(EndpointId, String)>)>,
}

impl AlertState {
    pub fn new(alerts: Alerts) -> Self {
        Self {
            alerts,
            dirty: true,
            ..Self::default()
        }
    }
}

/// What a `:` command line about alerts asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertCommand {
    Silence {
        rule: String,
        for_: std::time::Duration,
    },
    Unsilence {
        rule: String,
    },
}

/// `silence RULE 2h`, `unsilence RULE`; `None` when the line is about something else.
pub fn parse_command(text: &str) -> Option<Result<AlertCommand, String>> {
    let words: Vec<&str> = text
        .trim()
        .trim_start_matches(':')
        .split_whitespace()
        .collect();
    match words.as_slice() {
        ["silence", rule, d] => Some(
            parse_duration(d)
                .and_then(|d| {
                    if d.is_zero() {
                        Err("a silence needs a duration like 30m or 2h".into())
                    } else {
                        Ok(d)
                    }
                })
                .map(|for_| AlertCommand::Silence {
                    rule: (*rule).to_string(),
                    for_,
                }),
        ),
        ["silence", ..] => Some(Err("usage: :silence RULE 2h".into())),
        ["unsilence", rule] => Some(Ok(AlertCommand::Unsilence {
            rule: (*rule).to_string(),
        })),
        ["unsilence", ..] => Some(Err("usage: :unsilence RULE".into())),
        _ => None,
    }
}

/// Completions of `silence …` / `unsilence …` with rule names; `None` for other lines.
pub fn complete(text: &str, alerts: &Alerts) -> Option<Vec<String>> {
    let t = text.trim_start_matches(':');
    let (verb, rest) = t.split_once(' ')?;
    if verb != "silence" && verb != "unsilence" {
        return None;
    }
    let prefix = rest.trim_start();
    Some(
        alerts
            .rules()
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| n.starts_with(prefix))
            .map(|n| format!("{verb} {n}"))
            .collect(),
    )
}

impl App {
    /// Evaluates the rules at `self.now`; true when what fires changed.
    pub fn evaluate_alerts(&mut self) -> bool {
        let notices = self.alerting.alerts.evaluate(&self.fleet, self.now);
        self.alerting.dirty = false;
        self.sync_alert_tail();
        let changed = !notices.is_empty();
        for n in notices {
            if self.alerting.notices.len() >= NOTICES_KEPT {
                self.alerting.notices.pop_front();
            }
            self.alerting.notices.push_back(n);
        }
        changed
    }

    /// The transitions since the last call, oldest first (for delivery and logging).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.alerting.notices.drain(..).collect()
    }

    pub fn alerts(&self) -> &Alerts {
        &self.alerting.alerts
    }

    /// Follows exactly the containers log rules scope: one tail, reopened when they change.
    fn sync_alert_tail(&mut self) {
        let targets = self.alerting.alerts.log_targets(&self.fleet);
        if self.alerting.tail.as_ref().map(|(_, t)| t) == Some(&targets) {
            return;
        }
        if let Some((tail, _)) = self.alerting.tail.take() {
            self.commands.push(Command::CloseTail { tail });
        }
        if targets.is_empty() {
            return;
        }
        let tail = self.next_tail;
        self.next_tail += 1;
        let sources = targets
            .iter()
            .map(|(e, id)| LogSource {
                endpoint: *e,
                container_id: id.clone(),
                tag: String::new(),
            })
            .collect();
        self.commands.push(Command::OpenTail {
            tail,
            sources,
            last_lines: 0,
        });
        self.alerting.tail = Some((tail, targets));
    }

    /// Lines of the alert tail go to the log rules; false when `tail` is another one.
    pub(super) fn alert_log_lines(&mut self, tail: u64, lines: &[LogLine]) -> bool {
        let Some((id, targets)) = &self.alerting.tail else {
            return false;
        };
        if *id != tail {
            return false;
        }
        for line in lines {
            if let Some((e, cid)) = targets.get(line.source) {
                let at = line.at.unwrap_or(self.now);
                self.alerting.alerts.observe_log(*e, cid, &line.text, at);
            }
        }
        true
    }

    /// The triage row the selection is on.
    pub(super) fn selected_alert(&self) -> Option<Firing> {
        self.alerting
            .alerts
            .firing()
            .get(self.view.triage_selected)
            .map(|f| (*f).clone())
    }

    /// Acknowledges (or un-acknowledges) the selected alert.
    pub(super) fn acknowledge_selected(&mut self) {
        if self.view.view != View::Triage {
            return;
        }
        let Some(f) = self.selected_alert() else {
            self.view.message = Some("nothing to acknowledge".into());
            return;
        };
        self.alerting.alerts.acknowledge(&f.rule, &f.subject);
        self.view.message = Some(if f.acked {
            format!("{}: {} no longer acknowledged", f.subject, f.label)
        } else {
            format!("acknowledged {}: {}", f.subject, f.label)
        });
    }

    /// Carries out `:silence` / `:unsilence`.
    pub(super) fn alert_command(
        &mut self,
        cmd: AlertCommand,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        match cmd {
            AlertCommand::Silence { rule, for_ } => {
                let until =
                    now + chrono::TimeDelta::from_std(for_).unwrap_or(chrono::TimeDelta::MAX);
                self.alerting.alerts.silence(&rule, until)?;
                self.view.message = Some(format!(
                    "{rule} silenced for {} (until {}); :unsilence {rule} ends it",
                    format_duration(for_),
                    until.with_timezone(&chrono::Local).format("%H:%M")
                ));
            }
            AlertCommand::Unsilence { rule } => {
                let was = self.alerting.alerts.unsilence(&rule)?;
                self.view.message = Some(if was {
                    format!("{rule} no longer silenced")
                } else {
                    format!("{rule} was not silenced")
                });
            }
        }
        self.alerting.dirty = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_commands_parse_with_a_duration() {
        assert_eq!(
            parse_command(":silence mem-high 2h"),
            Some(Ok(AlertCommand::Silence {
                rule: "mem-high".into(),
                for_: std::time::Duration::from_secs(7200)
            }))
        );
        assert_eq!(
            parse_command("unsilence mem-high"),
            Some(Ok(AlertCommand::Unsilence {
                rule: "mem-high".into()
            }))
        );
        assert!(parse_command(":silence mem-high").is_some_and(|r| r.is_err()));
        assert!(parse_command(":silence mem-high 0s").is_some_and(|r| r.is_err()));
        assert!(parse_command(":silence mem-high soon").is_some_and(|r| r.is_err()));
        assert_eq!(parse_command(":containers @prod"), None);
    }

    fn app(rules: &str) -> App {
        let text = format!(
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://a:1\"\n\n[ui]\nview = \"triage\"\n\n{rules}"
        );
        let config = crate::config::parse_str(&text, std::path::Path::new("t.toml"))
            .expect("test config parses");
        App::new(&config, crate::ui::Theme::dark())
    }

    fn synced(app: &mut App, names: &[&str]) {
        use crate::model::container::fixtures::container;
        use crate::model::{ContainerState, Msg, MsgKind};
        let containers = names
            .iter()
            .map(|n| container(&format!("id-{n}"), n, ContainerState::Running))
            .collect();
        let now = app.now;
        app.apply(Msg {
            endpoint: 0,
            at: now,
            kind: MsgKind::Synced(Box::new(crate::model::SyncData {
                containers,
                ..Default::default()
            })),
        });
    }

    #[test]
    fn log_rules_get_one_tail_of_exactly_the_containers_they_scope() {
        use crate::model::logs::{LogLine, LogStream};
        use crate::model::{Msg, MsgKind};
        let mut app =
            app("[[alert]]\nname = \"fatal\"\nscope = \"name:api\"\nwhen = \"log =~ 'FATAL'\"\n");
        synced(&mut app, &["api-1", "db-1"]);
        app.prepare_frame(80, 24);
        let opened: Vec<&Command> = app
            .commands
            .iter()
            .filter(|c| matches!(c, Command::OpenTail { .. }))
            .collect();
        let [
            Command::OpenTail {
                tail,
                sources,
                last_lines,
            },
        ] = opened.as_slice()
        else {
            panic!("one tail: {:?}", app.commands);
        };
        let tail = *tail;
        assert_eq!(*last_lines, 0, "new lines only");
        let ids: Vec<&str> = sources.iter().map(|s| s.container_id.as_str()).collect();
        assert_eq!(ids, ["id-api-1"]);
        app.commands.clear();
        // Its lines feed the rule, not the log view.
        let now = app.now;
        let changed = app.apply(Msg {
            endpoint: 0,
            at: now,
            kind: MsgKind::Log {
                tail,
                lines: vec![LogLine::from_raw(
                    0,
                    Some(now),
                    LogStream::Stdout,
                    "FATAL: disk",
                )],
            },
        });
        assert!(!changed);
        assert!(app.tick(now), "the rule fires at the tick");
        let notices = app.take_notices();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].subject, "a/api-1");
        // Unchanged targets keep the tail; a container gone closes it.
        app.tick(now);
        assert!(app.commands.is_empty(), "{:?}", app.commands);
        synced(&mut app, &["db-1"]);
        app.prepare_frame(80, 24);
        assert_eq!(app.commands, [Command::CloseTail { tail }]);
    }

    #[test]
    fn metric_rules_keep_their_containers_sampled_on_screen_or_not() {
        let mut app =
            app("[[alert]]\nname = \"hot\"\nscope = \"name:api\"\nwhen = \"cpu_pct > 90\"\n");
        synced(&mut app, &["api-1", "db-1"]);
        app.prepare_frame(80, 24);
        let focus = app.stats_focus(false);
        let set = focus[0].as_ref().expect("a focus set, not every container");
        assert!(set.on_screen.contains("id-api-1"));
        assert!(!set.on_screen.contains("id-db-1"));
        let mut plain = self::app("");
        synced(&mut plain, &["api-1"]);
        plain.prepare_frame(80, 24);
        let focus = plain.stats_focus(false);
        assert!(focus[0].as_ref().is_some_and(|s| s.on_screen.is_empty()));
    }
}
