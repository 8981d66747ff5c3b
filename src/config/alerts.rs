//! `[[alert]]` rules and the `[alerts]` section: the raw serde layer and its resolution into
//! `model::alerts::Rule`s. Conditions and scopes are parsed, and log regexes compiled, here, so
//! a bad rule stops fleetdeck before anything connects. The grammar of `when` is documented in
//! `model/alerts/condition.rs` and `docs/alerts.md`.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::range::in_range;
use super::{ConfigError, EventSettings, StatsSettings};
use crate::model::EndpointSpec;
use crate::model::alerts::condition::{format_duration, parse_duration};
use crate::model::alerts::{Condition, Rule, Scope, Severity, defaults};
use crate::model::stats::MAX_HISTORY;

/// Longest `for` a rule may wait.
const MAX_FOR: Duration = Duration::from_secs(86_400);
/// Longest cooldown.
const MAX_COOLDOWN: Duration = Duration::from_secs(7 * 86_400);

/// One `[[alert]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub name: Spanned<String>,
    /// `fleet` (the default), `@ENDPOINT`, or the containers-view filter grammar.
    pub scope: Option<Spanned<String>>,
    pub when: Spanned<String>,
    #[serde(rename = "for")]
    pub for_: Option<Spanned<String>>,
    pub severity: Option<Spanned<String>>,
    pub cooldown: Option<Spanned<String>>,
    /// How long a firing subject stays firing after its condition last held.
    pub keep_firing: Option<Spanned<String>>,
    /// Replicas a `missing` rule expects of each service it scopes.
    pub expect: Option<Spanned<u64>>,
}

/// `[alerts]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Whether the built-in rules apply: by default only while no `[[alert]]` is defined.
    pub defaults: Option<bool>,
}

/// The rules in force, built-in and configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    pub rules: Vec<Rule>,
    /// Whether the built-in rules are among them.
    pub defaults: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            rules: defaults::rules(EventSettings::default().restart_loop),
            defaults: true,
        }
    }
}

/// What the rule checks need from the rest of the config.
pub struct Context<'a> {
    pub events: &'a EventSettings,
    pub stats: &'a StatsSettings,
    pub endpoints: &'a [EndpointSpec],
}

fn duration(
    value: &Spanned<String>,
    key: &str,
    max: Duration,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<Duration, ConfigError> {
    let refuse = |message: String| invalid(value.span().start, key.to_string(), message);
    let d = parse_duration(value.get_ref()).map_err(refuse)?;
    if d > max {
        return Err(refuse(format!(
            "\"{}\" is too long; at most {}",
            value.get_ref(),
            format_duration(max)
        )));
    }
    Ok(d)
}

/// Resolves `[[alert]]` and `[alerts]` into the rules in force.
pub fn resolve(
    raw: &[RawAlert],
    section: &RawAlerts,
    cx: &Context<'_>,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<AlertSettings, ConfigError> {
    let with_defaults = section.defaults.unwrap_or(raw.is_empty());
    let mut rules = if with_defaults {
        defaults::rules(cx.events.restart_loop)
    } else {
        Vec::new()
    };
    let builtin: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, a) in raw.iter().enumerate() {
        let key = |k: &str| format!("alert[{i}].{k}");
        let name = a.name.get_ref().trim();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(invalid(
                a.name.span().start,
                key("name"),
                format!(
                    "\"{}\" is not a rule name; use letters, digits, - _ . (e.g. \"mem-high\"): \
                     :silence takes it",
                    a.name.get_ref()
                ),
            ));
        }
        if let Some(first) = seen.insert(name.to_string(), i) {
            return Err(invalid(
                a.name.span().start,
                key("name"),
                format!("\"{name}\" is already the name of alert[{first}]; names must be unique"),
            ));
        }
        if builtin.iter().any(|b| b == name) {
            return Err(invalid(
                a.name.span().start,
                key("name"),
                format!(
                    "\"{name}\" is the name of a built-in rule, which [alerts] defaults = true \
                     keeps; built-in rules: {}",
                    builtin.join(", ")
                ),
            ));
        }
        let scope = match &a.scope {
            None => Scope::fleet(),
            Some(s) => {
                let refuse = |m: String| invalid(s.span().start, key("scope"), m);
                let scope = Scope::parse(s.get_ref()).map_err(|m| {
                    refuse(format!(
                        "{m}; a scope is \"fleet\", \"@ENDPOINT\" or a filter like \
                         \"cluster:prod label:app=web\""
                    ))
                })?;
                if let Some(ep) = scope.endpoint_name()
                    && !cx.endpoints.iter().any(|e| e.name == ep)
                {
                    let names: Vec<&str> = cx.endpoints.iter().map(|e| e.name.as_str()).collect();
                    return Err(refuse(format!(
                        "no endpoint named \"{ep}\"; endpoints: {}",
                        names.join(", ")
                    )));
                }
                scope
            }
        };
        let when_at = a.when.span().start;
        let mut condition =
            Condition::parse(a.when.get_ref()).map_err(|m| invalid(when_at, key("when"), m))?;
        if let Some(window) = condition.metric_window() {
            check_metric_window(window, cx, a.when.get_ref())
                .map_err(|m| invalid(when_at, key("when"), m))?;
        }
        if let Some(expect) = &a.expect {
            let Condition::Missing { .. } = condition else {
                return Err(invalid(
                    expect.span().start,
                    key("expect"),
                    format!(
                        "only a \"missing\" rule takes expect; this one is \"{}\"",
                        a.when.get_ref()
                    ),
                ));
            };
            let n = in_range(expect, &key("expect"), 1..=1000, "", invalid)?;
            condition = Condition::Missing {
                expect: u32::try_from(n).ok(),
            };
        }
        let mut rule = Rule::new(name, scope, condition);
        if let Some(f) = &a.for_ {
            rule.for_ = duration(f, &key("for"), MAX_FOR, invalid)?;
        }
        if let Some(c) = &a.cooldown {
            rule.cooldown = duration(c, &key("cooldown"), MAX_COOLDOWN, invalid)?;
        }
        if let Some(k) = &a.keep_firing {
            rule.keep_firing = duration(k, &key("keep_firing"), MAX_FOR, invalid)?;
        }
        if let Some(s) = &a.severity {
            rule.severity = match s.get_ref().as_str() {
                "warning" => Severity::Warning,
                "critical" => Severity::Critical,
                other => {
                    return Err(invalid(
                        s.span().start,
                        key("severity"),
                        format!(
                            "\"{other}\" is not a severity; valid severities: warning, critical"
                        ),
                    ));
                }
            };
        }
        rules.push(rule);
    }
    Ok(AlertSettings {
        rules,
        defaults: with_defaults,
    })
}

/// A metric window must fit in the stats history every endpoint keeps, and hold a sample.
fn check_metric_window(window: Duration, cx: &Context<'_>, when: &str) -> Result<(), String> {
    let stats = cx.stats;
    let Some(global) = stats.interval else {
        return Err(format!(
            "\"{when}\" reads stats, which are off ([stats] interval_s = 0)"
        ));
    };
    let intervals: Vec<Duration> = std::iter::once(global)
        .chain(stats.per_cluster.values().copied())
        .chain(cx.endpoints.iter().filter_map(|e| e.stats_interval))
        .collect();
    let fastest = intervals.iter().copied().min().unwrap_or(global);
    let slowest = intervals.iter().copied().max().unwrap_or(global);
    // The history holds `history_s`, and never more than MAX_HISTORY samples.
    let kept = stats
        .window
        .min(fastest.saturating_mul(u32::try_from(MAX_HISTORY).unwrap_or(u32::MAX)));
    if window > kept {
        return Err(format!(
            "\"{when}\": the window {} is longer than the stats history kept ({}; [stats] \
             history_s = {}); raise history_s or shorten the window",
            format_duration(window),
            format_duration(kept),
            stats.window.as_secs()
        ));
    }
    if !window.is_zero() && window < slowest {
        return Err(format!(
            "\"{when}\": the window {} is shorter than the stats interval ({}), so it would \
             hold no sample; use a window of at least {}",
            format_duration(window),
            format_duration(slowest),
            format_duration(slowest)
        ));
    }
    Ok(())
}
