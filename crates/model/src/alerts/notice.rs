//! What a rule says when it starts or stops firing: one [`Notice`] per transition, the unit that
//! notification targets receive (its JSON form is the generic webhook body, documented in
//! `docs/alerts.md`) and that `fleetdeck watch` logs.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How bad: ordered, so `>=` filters by a minimum severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Which transition a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeState {
    Firing,
    Resolved,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Firing => "firing",
            NoticeState::Resolved => "resolved",
        }
    }
}

/// One rule's transition for one subject (a container, an endpoint, a pool).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The rule's name from the config (`[[alert]] name`).
    pub rule: String,
    pub severity: Severity,
    pub state: NoticeState,
    /// The rule's scope as written (`cluster:prod label:app=web`, an endpoint name, or `fleet`).
    pub scope: String,
    /// What the notice is about, unique per rule: `lab1/web-1`, `lab4`, `pool dockernet
    /// 10.77.0.0/24`. Notices are de-duplicated by `(rule, subject)`.
    pub subject: String,
    pub endpoint: Option<String>,
    pub container: Option<String>,
    /// The measured value that crossed the threshold (a percentage, a count), when there is one.
    pub value: Option<f64>,
    /// When the transition happened.
    #[serde(rename = "time")]
    pub at: DateTime<Utc>,
    /// One line for a human: `CRITICAL lab1/web-1: memory 95 % of limit (avg over 2m > 90)`.
    pub text: String,
}

impl Notice {
    /// The key notices are de-duplicated by: one firing and one resolved per key.
    pub fn key(&self) -> (&str, &str) {
        (&self.rule, &self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_body_names_every_field_in_lowercase() {
        let n = Notice {
            rule: "mem-high".into(),
            severity: Severity::Critical,
            state: NoticeState::Firing,
            scope: "cluster:prod".into(),
            subject: "lab1/web-1".into(),
            endpoint: Some("lab1".into()),
            container: Some("web-1".into()),
            value: Some(95.5),
            at: DateTime::from_timestamp(1_700_000_000, 0).expect("valid time"),
            text: "CRITICAL lab1/web-1: memory 95.5 % of limit".into(),
        };
        let v = serde_json::to_value(&n).expect("serialises");
        assert_eq!(v["severity"], "critical");
        assert_eq!(v["state"], "firing");
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        assert_eq!(v["value"], 95.5);
        assert_eq!(n.key(), ("mem-high", "lab1/web-1"));
        assert!(Severity::Critical > Severity::Warning);
    }
}
