//! Where notices go: a `[[notify]]` target as the config resolved it, and the body each kind of
//! target receives. Pure: the engine (`engine::notify`) does the sending.

use std::fmt;
use std::time::Duration;

use super::{Notice, Severity};

/// What a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The notice as JSON (the generic webhook body documented in `docs/alerts.md`).
    Webhook,
    /// A Slack-compatible incoming webhook: `{"text": "…"}` (Mattermost and Rocket.Chat take it
    /// too).
    Slack,
}

impl TargetKind {
    pub const NAMES: [&'static str; 2] = ["webhook", "slack"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webhook" => Some(Self::Webhook),
            "slack" => Some(Self::Slack),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
        }
    }
}

/// One `[[notify]]` target.
#[derive(Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    /// The name status lines and logs use; never the URL, which often holds a secret (a Slack
    /// webhook's path is its credential).
    pub name: String,
    /// `http://` or `https://`, checked by the config.
    pub url: String,
    pub kind: TargetKind,
    /// Notices below this are not sent here.
    pub min_severity: Severity,
    /// Extra request headers (`Authorization`, say), names and values checked by the config.
    pub headers: Vec<(String, String)>,
    /// Deadline of one attempt, connect to the end of the answer.
    pub timeout: Duration,
}

impl fmt::Debug for NotifyTarget {
    /// Without the URL's path and the header values: a logged config must not leak a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("NotifyTarget")
            .field("name", &self.name)
            .field("url", &redacted_url(&self.url))
            .field("kind", &self.kind)
            .field("min_severity", &self.min_severity)
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `https://hooks.slack.com/…`: the scheme and host of a URL, the rest hidden.
pub fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // A user:password@ part is hidden too.
    let host = host.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}/…")
}

impl NotifyTarget {
    /// Whether this target wants the notice (its severity filter).
    pub fn wants(&self, notice: &Notice) -> bool {
        notice.severity >= self.min_severity
    }

    /// The request body for `notice`, JSON.
    pub fn body(&self, notice: &Notice) -> Vec<u8> {
        let value = match self.kind {
            TargetKind::Webhook => serde_json::to_value(notice),
            TargetKind::Slack => Ok(serde_json::json!({ "text": notice.text })),
        };
        value
            .and_then(|v| serde_json::to_vec(&v))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::NoticeState;
    use chrono::DateTime;

    fn notice(severity: Severity) -> Notice {
        Notice {
            rule: "mem-high".into(),
            severity,
            state: NoticeState::Firing,
            scope: "fleet".into(),
            subject: "lab1/web-1".into(),
            endpoint: Some("lab1".into()),
            container: Some("web-1".into()),
            value: Some(95.0),
            at: DateTime::from_timestamp(1_700_000_000, 0).expect("valid time"),
            text: "CRITICAL lab1/web-1: memory 95 % of limit".into(),
        }
    }

    fn target(kind: TargetKind, min_severity: Severity) -> NotifyTarget {
        NotifyTarget {
            name: "oncall".into(),
            url: "https://hooks.example/services/T000/B000/s3cret".into(),
            kind,
            min_severity,
            headers: vec![("Authorization".into(), "Bearer tok3n".into())],
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn a_slack_target_gets_only_the_text_line() {
        let body = target(TargetKind::Slack, Severity::Warning).body(&notice(Severity::Critical));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"text":"CRITICAL lab1/web-1: memory 95 % of limit"}"#
        );
    }

    #[test]
    fn a_webhook_target_gets_the_whole_notice() {
        let n = notice(Severity::Critical);
        let body = target(TargetKind::Webhook, Severity::Warning).body(&n);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::to_value(&n).unwrap());
        assert_eq!(v["rule"], "mem-high");
        assert_eq!(v["state"], "firing");
    }

    #[test]
    fn the_severity_filter_keeps_what_is_at_least_the_minimum() {
        let critical_only = target(TargetKind::Webhook, Severity::Critical);
        assert!(critical_only.wants(&notice(Severity::Critical)));
        assert!(!critical_only.wants(&notice(Severity::Warning)));
        let all = target(TargetKind::Webhook, Severity::Warning);
        assert!(all.wants(&notice(Severity::Warning)));
    }

    #[test]
    fn debug_output_hides_the_url_path_and_header_values() {
        let text = format!("{:?}", target(TargetKind::Slack, Severity::Warning));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("tok3n"), "{text}");
        assert!(text.contains("https://hooks.example/…"), "{text}");
        assert!(text.contains("Authorization"), "{text}");
        assert_eq!(redacted_url("http://u:pw@h:80/x"), "http://h:80/…");
    }

    #[test]
    fn kinds_parse_by_their_names() {
        for name in TargetKind::NAMES {
            assert_eq!(TargetKind::parse(name).map(TargetKind::as_str), Some(name));
        }
        assert_eq!(TargetKind::parse("discord"), None);
    }
}
