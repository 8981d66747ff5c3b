//! Alerting: rules over the fleet model and the notices they produce when they start or stop
//! firing. Pure data and logic; delivery lives in the engine.
//!
//! # The API the dashboard, `check` and `watch` use
//!
//! ```text
//! Rule { name, scope: Scope, condition: Condition, for_: Duration, severity: Severity,
//!        cooldown: Duration, label: Option<String> }      built by config (`[[alert]]`) or
//!                                                          defaults::rules (no `[[alert]]`)
//! Alerts::new(rules) -> Alerts                              rules + per-(rule, subject) state
//! Alerts::evaluate(&mut self, &Fleet, now) -> Vec<Notice>   transitions since the last call,
//!                                                          each once (firing, then resolved)
//! Alerts::evaluate_once(&mut self, &Fleet, now) -> Vec<Notice>
//!                                                          a one-shot probe: `for` and
//!                                                          cooldown taken as met (`check`)
//! Alerts::observe_log(&mut self, endpoint, container_id, line, at)
//!                                                          a log line; kept only for containers
//!                                                          some log rule scoped at the last
//!                                                          evaluation
//! Alerts::log_targets(&self, &Fleet) -> Vec<(EndpointId, String)>
//!                                                          running containers log rules scope:
//!                                                          the only ones worth tailing
//! Alerts::needs_full_rate_stats(&self) -> bool              a metric rule exists
//! Alerts::stats_targets(&self, &Fleet) -> Vec<(EndpointId, String)>
//!                                                          running containers metric rules scope:
//!                                                          sample them every interval
//! Alerts::firing(&self) -> Vec<&Firing>                     worst first: critical before warning,
//!                                                          then newest first
//! Alerts::worst(&self) -> Option<Severity>                  for exit codes and banners
//! Alerts::acknowledge(&mut self, rule, subject) -> bool     display state: dimmed, off the banner
//! Alerts::silence(&mut self, rule, until) -> Result<(), String>
//! Alerts::unsilence(&mut self, rule) -> Result<bool, String>
//! ```
//!
//! In the dashboard the app owns one (`App::alerts()`), evaluates it on the tick and before a
//! frame after a change of state, and keeps the transitions for delivery: `App::take_notices()`
//! drains them (the newest 1,024 are kept if nobody does). Config builds the rules
//! (`config::AlertSettings { rules, defaults }`, `Config::alerts`).
//!
//! A subject (`lab1/web-1`, `lab4`, `service cart`, `pool lab-a 192.168.2.0/24`) is pending
//! while its condition holds for less than `for`, then firing (one [`Notice`]), then resolved
//! when the condition stops holding (one more). It may fire again only after `cooldown` has
//! passed since it resolved. A silenced rule is still evaluated but sends nothing and lists
//! nothing until the silence ends; an alert that resolves during the silence after it had been
//! sent still sends its resolved notice, so no receiver is left with an alert that never ends.

pub mod condition;
pub mod defaults;
mod eval;
pub mod notice;
pub mod target;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub use condition::{Condition, SubjectKind};
pub use notice::{Notice, NoticeState, Severity};
pub use target::{NotifyTarget, TargetKind};

use super::container::{Container, ContainerState};
use super::endpoint::Endpoint;
use super::filter::{Filter, Subject};
use super::{EndpointId, Fleet};

/// Lines kept per (log rule, container): enough to count a burst, bounded whatever it prints.
const LOG_MATCHES_KEPT: usize = 100;

/// What a rule watches: the whole fleet, one endpoint (`@lab1`), or the containers-view
/// filter grammar (`cluster:prod label:app=web`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    text: String,
    kind: ScopeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ScopeKind {
    Fleet,
    Endpoint(String),
    Filter(Filter),
}

impl Scope {
    pub fn fleet() -> Self {
        Self {
            text: "fleet".into(),
            kind: ScopeKind::Fleet,
        }
    }

    /// `fleet` (or nothing), `@ENDPOINT`, or a filter.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || t == "fleet" {
            return Ok(Self::fleet());
        }
        if let Some(name) = t.strip_prefix('@') {
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("\"{t}\": @ names one endpoint, like @lab1"));
            }
            return Ok(Self {
                text: t.to_string(),
                kind: ScopeKind::Endpoint(name.to_string()),
            });
        }
        Ok(Self {
            text: t.to_string(),
            kind: ScopeKind::Filter(Filter::parse(t)?),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The endpoint an `@NAME` scope names.
    pub fn endpoint_name(&self) -> Option<&str> {
        match &self.kind {
            ScopeKind::Endpoint(name) => Some(name),
            _ => None,
        }
    }

    fn subject(&self, ep: &Endpoint, s: &Subject<'_>) -> bool {
        match &self.kind {
            ScopeKind::Fleet => true,
            ScopeKind::Endpoint(name) => ep.name() == name,
            ScopeKind::Filter(f) => f.matches_subject(s),
        }
    }

    /// Endpoint rules see the endpoint's name and cluster (`ep:`, `cluster:`, bare words).
    pub fn covers_endpoint(&self, ep: &Endpoint) -> bool {
        self.subject(
            ep,
            &Subject {
                name: ep.name(),
                endpoint: ep.name(),
                cluster: ep.cluster(),
                kind: "endpoint",
                ..Subject::default()
            },
        )
    }

    pub fn covers_container(&self, ep: &Endpoint, c: &Container) -> bool {
        match &self.kind {
            ScopeKind::Filter(f) => f.matches(ep, c),
            _ => self.subject(ep, &Subject::default()),
        }
    }

    /// A container known only by name (a restart loop of one since removed).
    fn covers_named(&self, ep: &Endpoint, name: &str) -> bool {
        self.subject(
            ep,
            &Subject {
                name,
                endpoint: ep.name(),
                cluster: ep.cluster(),
                kind: "container",
                ..Subject::default()
            },
        )
    }

    /// A pool member: its network's name as the name.
    fn covers_pool_member(&self, ep: &Endpoint, network: &str) -> bool {
        self.subject(
            ep,
            &Subject {
                name: network,
                endpoint: ep.name(),
                cluster: ep.cluster(),
                kind: "pool",
                ..Subject::default()
            },
        )
    }
}

/// One `[[alert]]` (or built-in rule), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub scope: Scope,
    pub condition: Condition,
    /// How long the condition must hold before the alert fires.
    pub for_: Duration,
    pub severity: Severity,
    /// After resolving, the same subject does not fire again within this.
    pub cooldown: Duration,
    /// A firing subject stays firing this long after the condition last held, so a condition
    /// that comes and goes (a crash loop's exits) is one alert, not a firing and a resolved
    /// notice every few seconds (Prometheus' `keep_firing_for`).
    pub keep_firing: Duration,
    /// What the triage panel's PROBLEM column says; the rule's name when `None`.
    pub label: Option<String>,
}

impl Rule {
    pub fn new(name: &str, scope: Scope, condition: Condition) -> Self {
        Self {
            name: name.to_string(),
            scope,
            condition,
            for_: Duration::ZERO,
            severity: Severity::Warning,
            cooldown: Duration::ZERO,
            keep_firing: Duration::ZERO,
            label: None,
        }
    }

    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

/// An alert firing now, as the triage panel, the wall banner and `check` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: String,
    /// The PROBLEM column: a built-in rule's label, else the rule's name.
    pub label: String,
    pub severity: Severity,
    pub scope: String,
    pub subject: String,
    pub kind: SubjectKind,
    pub endpoint: Option<EndpointId>,
    pub endpoint_name: Option<String>,
    pub container_id: Option<String>,
    /// The container's name; a conflict's address or a pool's subnet; a service's name.
    pub container: String,
    pub value: Option<f64>,
    pub exit_code: Option<i64>,
    /// When the thing happened (went down, died), when known.
    pub at: Option<DateTime<Utc>>,
    /// When the alert started firing.
    pub since: DateTime<Utc>,
    pub acked: bool,
    pub detail: String,
    /// One line for a human: `CRITICAL lab1/web-1: mem-high (memory_pct avg 2m = 95.2 (> 90))`.
    pub text: String,
    rule_index: usize,
}

impl Firing {
    /// The notice of this alert's transition to `state` at `at`.
    pub fn notice(&self, state: NoticeState, at: DateTime<Utc>) -> Notice {
        Notice {
            rule: self.rule.clone(),
            severity: self.severity,
            state,
            scope: self.scope.clone(),
            subject: self.subject.clone(),
            endpoint: self.endpoint_name.clone(),
            container: (self.kind == SubjectKind::Container).then(|| self.container.clone()),
            value: self.value,
            at,
            text: self.text.clone(),
        }
    }

    /// Position of its rule in the rule list (built-in rules in triage order).
    pub fn rule_index(&self) -> usize {
        self.rule_index
    }
}

/// One (rule, subject)'s state between evaluations.
#[derive(Debug, Clone, Default)]
struct Track {
    pending_since: Option<DateTime<Utc>>,
    firing: Option<Firing>,
    /// Whether the firing notice went out (not while silenced).
    notified: bool,
    resolved_at: Option<DateTime<Utc>>,
    /// When the condition last held for this subject (for `keep_firing`).
    last_hit: Option<DateTime<Utc>>,
}

/// The rules and what each of them is doing, per subject.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    rules: Vec<Rule>,
    tracks: BTreeMap<(usize, String), Track>,
    silences: BTreeMap<String, DateTime<Utc>>,
    /// The time of the last evaluation: what "silenced now" means to `firing`.
    now: Option<DateTime<Utc>>,
    log_matches: eval::LogMatches,
    /// Which log rules want each container's lines, as of the last evaluation.
    log_watch: HashMap<(EndpointId, String), Vec<usize>>,
    /// The fleet's IPAM report and the fleet revision it was worked out at: pool rules are
    /// evaluated every tick, the pools change only with the fleet.
    ipam: Option<(u64, super::ipam::IpamReport)>,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Alerts {
    pub fn new(rules: Vec<Rule>) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Evaluates every rule at `now`: the transitions since the last call, each once.
    pub fn evaluate(&mut self, fleet: &Fleet, now: DateTime<Utc>) -> Vec<Notice> {
        self.run(fleet, now, true)
    }

    /// A one-shot evaluation (`fleetdeck check`): a probe cannot wait, so every `for` and
    /// cooldown is taken as met.
    pub fn evaluate_once(&mut self, fleet: &Fleet, now: DateTime<Utc>) -> Vec<Notice> {
        self.run(fleet, now, false)
    }

    fn run(&mut self, fleet: &Fleet, now: DateTime<Utc>, waits: bool) -> Vec<Notice> {
        self.now = Some(now);
        self.silences.retain(|_, until| now < *until);
        self.refresh_log_watch(fleet);
        let mut report = self
            .ipam
            .take()
            .filter(|(revision, _)| *revision == fleet.revision)
            .map(|(_, report)| report);
        let mut notices = Vec::new();
        let mut seen: HashSet<(usize, String)> = HashSet::new();
        // Subjects whose verdict waits for an inspect: they keep the state they are in.
        let mut undecided: HashSet<(usize, String)> = HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            undecided.extend(eval::undecided(rule, fleet).into_iter().map(|s| (i, s)));
            let silenced = self.silences.contains_key(&rule.name);
            for hit in eval::hits(i, rule, fleet, now, &mut report, &self.log_matches) {
                let key = (i, hit.subject.clone());
                if !seen.insert(key.clone()) {
                    continue;
                }
                let track = self.tracks.entry(key).or_default();
                track.last_hit = Some(now);
                let endpoint_name = hit
                    .endpoint
                    .and_then(|e| fleet.endpoints.get(e))
                    .map(|e| e.name().to_string());
                let text = {
                    let what = if hit.detail.is_empty() {
                        rule.label().to_string()
                    } else {
                        format!("{} ({})", rule.label(), hit.detail)
                    };
                    format!(
                        "{} {}: {what}",
                        rule.severity.as_str().to_uppercase(),
                        hit.subject
                    )
                };
                match &mut track.firing {
                    Some(f) => {
                        f.value = hit.value;
                        f.exit_code = hit.exit_code;
                        f.at = hit.at;
                        f.detail = hit.detail;
                        f.container = hit.container;
                        f.container_id = hit.container_id;
                        f.endpoint = hit.endpoint;
                        f.endpoint_name = endpoint_name;
                        f.text = text;
                    }
                    None => {
                        let pending = *track.pending_since.get_or_insert(now);
                        let waited = !waits || now - pending >= delta(rule.for_);
                        let cooled = !waits
                            || track
                                .resolved_at
                                .is_none_or(|r| now - r >= delta(rule.cooldown));
                        if waited && cooled {
                            track.firing = Some(Firing {
                                rule: rule.name.clone(),
                                label: rule.label().to_string(),
                                severity: rule.severity,
                                scope: rule.scope.as_str().to_string(),
                                subject: hit.subject,
                                kind: hit.kind,
                                endpoint: hit.endpoint,
                                endpoint_name,
                                container_id: hit.container_id,
                                container: hit.container,
                                value: hit.value,
                                exit_code: hit.exit_code,
                                at: hit.at,
                                since: now,
                                acked: false,
                                detail: hit.detail,
                                text,
                                rule_index: i,
                            });
                            track.notified = false;
                        }
                    }
                }
                if let Some(f) = &track.firing
                    && !track.notified
                    && !silenced
                {
                    notices.push(f.notice(NoticeState::Firing, now));
                    track.notified = true;
                }
            }
        }
        for (key, track) in &mut self.tracks {
            if seen.contains(key) || undecided.contains(key) {
                continue;
            }
            track.pending_since = None;
            let keep = self
                .rules
                .get(key.0)
                .map_or(Duration::ZERO, |r| r.keep_firing);
            if waits
                && track.firing.is_some()
                && track.last_hit.is_some_and(|h| now - h < delta(keep))
            {
                continue;
            }
            if let Some(f) = track.firing.take() {
                track.resolved_at = Some(now);
                if track.notified {
                    let mut n = f.notice(NoticeState::Resolved, now);
                    n.text = format!("RESOLVED {}: {}", f.subject, f.label);
                    notices.push(n);
                }
                track.notified = false;
            }
        }
        self.ipam = report.map(|r| (fleet.revision, r));
        // Forget subjects with nothing left to remember, so the map follows what is wrong
        // now, not everything that ever was.
        let rules = &self.rules;
        self.tracks.retain(|(i, _), t| {
            let cooldown = rules.get(*i).map_or(Duration::ZERO, |r| r.cooldown);
            t.firing.is_some()
                || t.pending_since.is_some()
                || t.resolved_at.is_some_and(|r| now - r < delta(cooldown))
        });
        self.prune_logs(now);
        notices
    }

    /// What is firing now (silenced rules left out), worst first: critical before warning,
    /// newest first within one severity, then in rule order, endpoint and container.
    pub fn firing(&self) -> Vec<&Firing> {
        let mut out: Vec<&Firing> = self
            .tracks
            .values()
            .filter_map(|t| t.firing.as_ref())
            .filter(|f| !self.is_silenced(&f.rule))
            .collect();
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.at.cmp(&a.at))
                .then(a.rule_index.cmp(&b.rule_index))
                .then(a.endpoint.cmp(&b.endpoint))
                .then(a.container.cmp(&b.container))
        });
        out
    }

    /// The worst severity firing (silenced rules left out). Acknowledged alerts count: an
    /// acknowledged critical is still critical for a probe.
    pub fn worst(&self) -> Option<Severity> {
        self.firing().iter().map(|f| f.severity).max()
    }

    fn is_silenced(&self, rule: &str) -> bool {
        self.silences
            .get(rule)
            .is_some_and(|until| self.now.is_none_or(|now| now < *until))
    }

    /// Marks one firing alert as seen (or, asked again, unmarks it): listed dimmed and off
    /// the wall banner until it resolves. Returns false when no such alert fires.
    pub fn acknowledge(&mut self, rule: &str, subject: &str) -> bool {
        let found = self
            .tracks
            .iter_mut()
            .find(|((i, s), t)| {
                s == subject
                    && t.firing.is_some()
                    && self.rules.get(*i).is_some_and(|r| r.name == rule)
            })
            .and_then(|(_, t)| t.firing.as_mut());
        match found {
            Some(f) => {
                f.acked = !f.acked;
                true
            }
            None => false,
        }
    }

    fn known(&self, rule: &str) -> Result<(), String> {
        if self.rules.iter().any(|r| r.name == rule) {
            return Ok(());
        }
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        Err(format!(
            "no alert rule named \"{rule}\"; rules: {}",
            names.join(", ")
        ))
    }

    /// Silences a rule until `until`: evaluated still, but nothing listed or sent.
    pub fn silence(&mut self, rule: &str, until: DateTime<Utc>) -> Result<(), String> {
        self.known(rule)?;
        self.silences.insert(rule.to_string(), until);
        Ok(())
    }

    /// Ends a silence; `Ok(false)` when the rule was not silenced.
    pub fn unsilence(&mut self, rule: &str) -> Result<bool, String> {
        self.known(rule)?;
        Ok(self.silences.remove(rule).is_some())
    }

    /// The silences in force: (rule, until).
    pub fn silences(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.silences
            .iter()
            .filter(|(r, _)| self.is_silenced(r))
            .map(|(r, u)| (r.as_str(), *u))
    }

    /// Running containers in the scope of rule kinds `want` says yes to.
    fn scoped_running(
        &self,
        fleet: &Fleet,
        want: impl Fn(&Condition) -> bool,
    ) -> Vec<(EndpointId, String)> {
        let rules: Vec<&Rule> = self.rules.iter().filter(|r| want(&r.condition)).collect();
        if rules.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (e, ep) in fleet.endpoints.iter().enumerate() {
            for c in ep.containers.values() {
                if c.state == ContainerState::Running
                    && rules.iter().any(|r| r.scope.covers_container(ep, c))
                {
                    out.push((e, c.id.clone()));
                }
            }
        }
        out
    }

    /// The running containers some log rule scopes: the only ones whose logs to follow.
    pub fn log_targets(&self, fleet: &Fleet) -> Vec<(EndpointId, String)> {
        self.scoped_running(fleet, Condition::is_log)
    }

    /// Whether any rule reads stats (so its containers want sampling every interval).
    pub fn needs_full_rate_stats(&self) -> bool {
        self.rules.iter().any(|r| r.condition.is_metric())
    }

    /// The running containers some metric rule scopes.
    pub fn stats_targets(&self, fleet: &Fleet) -> Vec<(EndpointId, String)> {
        self.scoped_running(fleet, Condition::is_metric)
    }

    fn refresh_log_watch(&mut self, fleet: &Fleet) {
        self.log_watch.clear();
        if !self.rules.iter().any(|r| r.condition.is_log()) {
            self.log_matches.clear();
            return;
        }
        for (e, ep) in fleet.endpoints.iter().enumerate() {
            for c in ep.containers.values() {
                let wanted: Vec<usize> = self
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.condition.is_log() && r.scope.covers_container(ep, c))
                    .map(|(i, _)| i)
                    .collect();
                if !wanted.is_empty() {
                    self.log_watch.insert((e, c.id.clone()), wanted);
                }
            }
        }
        let watch = &self.log_watch;
        self.log_matches
            .retain(|(_, e, id), _| watch.contains_key(&(*e, id.clone())));
    }

    fn prune_logs(&mut self, now: DateTime<Utc>) {
        let rules = &self.rules;
        self.log_matches.retain(|(i, _, _), lines| {
            let window = match rules.get(*i).map(|r| &r.condition) {
                Some(Condition::Log { window, .. }) => *window,
                _ => return false,
            };
            let since = now - delta(window);
            while lines.front().is_some_and(|(t, _)| *t <= since) {
                lines.pop_front();
            }
            !lines.is_empty()
        });
    }

    /// A log line of a container: kept when a log rule scoping that container matches it.
    pub fn observe_log(
        &mut self,
        endpoint: EndpointId,
        container_id: &str,
        line: &str,
        at: DateTime<Utc>,
    ) {
        let Some(wanted) = self.log_watch.get(&(endpoint, container_id.to_string())) else {
            return;
        };
        for &i in wanted {
            let Some(Condition::Log { regex, .. }) = self.rules.get(i).map(|r| &r.condition) else {
                continue;
            };
            if !regex.is_match(line) {
                continue;
            }
            let lines: &mut VecDeque<(DateTime<Utc>, String)> = self
                .log_matches
                .entry((i, endpoint, container_id.to_string()))
                .or_default();
            if lines.len() >= LOG_MATCHES_KEPT {
                lines.pop_front();
            }
            lines.push_back((at, super::text::sanitize(line).into_owned()));
        }
    }
}

#[cfg(test)]
mod tests;
