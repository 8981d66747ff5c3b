//! The rules in force when the config defines no `[[alert]]`: today's triage panel as rules.
//! Critical ones raise the wall banner (endpoint down, IP conflict, restart loop, OOM kill,
//! unhealthy, a Swarm node down, a Swarm task that keeps failing), the others only list in
//! triage (a recent non-zero exit, restarting, a drained Swarm node).

use std::time::Duration;

use super::condition::Condition;
use super::{Rule, Scope, Severity};
use crate::events::RestartLoopRule;

/// How far back a non-zero exit still counts as news.
pub const RECENT_EXIT: Duration = Duration::from_secs(3600);

/// How long the rules whose condition comes and goes with each crash of a crash loop (an
/// exit, an OOM kill, restarting) keep firing after it last held: one alert per loop, not a
/// firing and a resolved notice every restart. The restart-loop rule says it is a loop.
pub const KEEP_FLAPPING: Duration = Duration::from_secs(300);

/// The built-in rules; the restart loop follows `[events] restart_loop_count` and
/// `restart_loop_window_s`, so the events view and triage agree on what a loop is.
pub fn rules(restart_loop: RestartLoopRule) -> Vec<Rule> {
    let rule = |name: &str, label: &str, condition: Condition, severity: Severity| {
        let mut r = Rule::new(name, Scope::fleet(), condition);
        r.severity = severity;
        r.label = Some(label.to_string());
        if matches!(
            r.condition,
            Condition::ExitedNonZero { .. } | Condition::OomKilled | Condition::Restarting
        ) {
            r.keep_firing = KEEP_FLAPPING;
        }
        r
    };
    vec![
        rule(
            "endpoint-down",
            "endpoint down",
            Condition::EndpointDown,
            Severity::Critical,
        ),
        rule(
            "ip-conflict",
            "IP conflict",
            Condition::IpConflict,
            Severity::Critical,
        ),
        rule(
            "restart-loop",
            "restart loop",
            Condition::RestartLoop {
                count: restart_loop.count,
                window: restart_loop.window,
            },
            Severity::Critical,
        ),
        rule(
            "oom-killed",
            "OOM killed",
            Condition::OomKilled,
            Severity::Critical,
        ),
        rule(
            "exited-nonzero",
            "exited non-zero",
            Condition::ExitedNonZero {
                within: Some(RECENT_EXIT),
            },
            Severity::Warning,
        ),
        rule(
            "unhealthy",
            "unhealthy",
            Condition::Unhealthy,
            Severity::Critical,
        ),
        rule(
            "restarting",
            "restarting",
            Condition::Restarting,
            Severity::Warning,
        ),
        rule(
            "swarm-node-down",
            "node down",
            Condition::NodeDown,
            Severity::Critical,
        ),
        rule(
            "swarm-node-drained",
            "node drained",
            Condition::NodeDrained,
            Severity::Warning,
        ),
        rule(
            "swarm-task-failing",
            "task failing",
            Condition::TaskFailing,
            Severity::Critical,
        ),
    ]
}
