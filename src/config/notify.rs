//! `[[notify]]`: where alert notices are sent (a generic JSON webhook or a Slack-compatible
//! incoming webhook), resolved into [`NotifyTarget`]s. Nothing is sent from here.
//!
//! ```toml
//! [[notify]]
//! name = "oncall"
//! url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! kind = "slack"              # or "webhook" (the default): the notice as JSON
//! min_severity = "critical"   # or "warning" (the default)
//! timeout_s = 10
//! headers = { Authorization = "Bearer …" }
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::error::line_of;
use super::range::seconds;
use crate::model::alerts::{NotifyTarget, Severity, TargetKind};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=120;
pub const VALID_SCHEMES: &str = "http, https";
pub const VALID_SEVERITIES: &str = "warning, critical";
/// Headers fleetdeck writes itself: one given in the config would contradict the request.
const OWN_HEADERS: [&str; 4] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
];

/// One `[[notify]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub kind: Option<Spanned<String>>,
    pub min_severity: Option<Spanned<String>>,
    pub timeout_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
}

/// Checks a target URL; the error is the part after "key: ". A path and a query are fine (a
/// webhook's path is usually its credential, so the URL is quoted only when it cannot be
/// parsed at all); a user and password in it are not (they would end up in logs).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("\"{url}\" is not a URL ({e}); expected http://HOST[:PORT]/PATH or https://…")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "unknown scheme \"{}\"; valid schemes: {VALID_SCHEMES}",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL must not hold credentials; send them in a header instead \
             (headers = { Authorization = \"…\" })"
                .into(),
        );
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(())
}

/// An HTTP header name (an RFC 9110 token).
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Resolves every `[[notify]]` table: names unique and non-empty, URL, kind, severity, timeout
/// and headers checked.
pub(super) fn resolve(
    raw: Vec<RawNotify>,
    text: &str,
    path: &Path,
) -> Result<Vec<NotifyTarget>, ConfigError> {
    let invalid = |offset: usize, key: String, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, offset),
        key,
        message,
    };
    let mut targets: Vec<NotifyTarget> = Vec::with_capacity(raw.len());
    for (i, t) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("notify[{i}].{k}");
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(invalid(
                t.name.span().start,
                key("name"),
                "must be a non-empty name without control characters, e.g. \"oncall\"".into(),
            ));
        }
        if let Some(j) = targets.iter().position(|o| o.name == name) {
            return Err(invalid(
                t.name.span().start,
                key("name"),
                format!("\"{name}\" is already the name of notify[{j}]; names must be unique"),
            ));
        }
        let url = t.url.get_ref().trim().to_string();
        check_url(&url).map_err(|m| invalid(t.url.span().start, key("url"), m))?;
        let kind = match &t.kind {
            None => TargetKind::Webhook,
            Some(k) => TargetKind::parse(k.get_ref().trim()).ok_or_else(|| {
                invalid(
                    k.span().start,
                    key("kind"),
                    format!(
                        "\"{}\" is not a target kind; valid kinds: {}",
                        crate::model::text::sanitize(k.get_ref()),
                        TargetKind::NAMES.join(", ")
                    ),
                )
            })?,
        };
        let min_severity = match &t.min_severity {
            None => Severity::Warning,
            Some(s) => match s.get_ref().trim() {
                "warning" => Severity::Warning,
                "critical" => Severity::Critical,
                other => {
                    return Err(invalid(
                        s.span().start,
                        key("min_severity"),
                        format!(
                            "\"{}\" is not a severity; valid severities: {VALID_SEVERITIES}",
                            crate::model::text::sanitize(other)
                        ),
                    ));
                }
            },
        };
        let timeout = seconds(
            &t.timeout_s,
            &key("timeout_s"),
            TIMEOUT_RANGE,
            DEFAULT_TIMEOUT,
            &invalid,
        )?;
        let mut headers = Vec::with_capacity(t.headers.len());
        for (h, value) in &t.headers {
            let at = value.span().start;
            let shown = crate::model::text::sanitize(h);
            if !is_header_name(h) {
                return Err(invalid(
                    at,
                    key("headers"),
                    format!(
                        "\"{shown}\" is not a header name; use letters, digits and - (e.g. Authorization)"
                    ),
                ));
            }
            if OWN_HEADERS.contains(&h.to_ascii_lowercase().as_str()) {
                return Err(invalid(
                    at,
                    key("headers"),
                    format!(
                        "\"{shown}\" is set by fleetdeck; headers it writes itself: {}",
                        OWN_HEADERS.join(", ")
                    ),
                ));
            }
            // The value is not quoted: it is usually a secret.
            if value.get_ref().chars().any(|c| c.is_control() && c != '\t') {
                return Err(invalid(
                    at,
                    key(&format!("headers.{shown}")),
                    "the value holds a control character (a line break?); a header is one line"
                        .into(),
                ));
            }
            headers.push((h.clone(), value.get_ref().trim().to_string()));
        }
        targets.push(NotifyTarget {
            name,
            url,
            kind,
            min_severity,
            headers,
            timeout,
        });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const ONE: &str =
        "[[notify]]\nname = \"oncall\"\nurl = \"https://hooks.example/T0/B0/s3cret\"\n";

    fn parse(text: &str) -> Result<Vec<NotifyTarget>, String> {
        parse_str(text, Path::new("c.toml"))
            .map(|c| c.notify)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn notify_targets_are_optional() {
        assert_eq!(parse(""), Ok(Vec::new()));
    }

    #[test]
    fn a_target_gets_the_webhook_kind_warning_and_ten_seconds_by_default() {
        let t = parse(ONE).unwrap();
        assert_eq!(
            t,
            vec![NotifyTarget {
                name: "oncall".into(),
                url: "https://hooks.example/T0/B0/s3cret".into(),
                kind: TargetKind::Webhook,
                min_severity: Severity::Warning,
                headers: Vec::new(),
                timeout: DEFAULT_TIMEOUT,
            }]
        );
    }

    #[test]
    fn every_key_is_read() {
        let text = format!(
            "{ONE}kind = \"slack\"\nmin_severity = \"critical\"\ntimeout_s = 3\nheaders = {{ Authorization = \"Bearer t\", X-Team = \"ops\" }}\n"
        );
        let t = &parse(&text).unwrap()[0];
        assert_eq!(t.kind, TargetKind::Slack);
        assert_eq!(t.min_severity, Severity::Critical);
        assert_eq!(t.timeout, Duration::from_secs(3));
        assert_eq!(
            t.headers,
            vec![
                ("Authorization".to_string(), "Bearer t".to_string()),
                ("X-Team".to_string(), "ops".to_string())
            ]
        );
    }

    #[test]
    fn a_bad_kind_names_the_valid_ones() {
        let text = format!("{ONE}kind = \"discord\"\n");
        assert_eq!(
            parse(&text),
            Err("c.toml:4: notify[0].kind: \"discord\" is not a target kind; valid kinds: webhook, slack".into())
        );
    }

    #[test]
    fn a_bad_severity_names_the_valid_ones() {
        let text = format!("{ONE}min_severity = \"info\"\n");
        assert_eq!(
            parse(&text),
            Err("c.toml:4: notify[0].min_severity: \"info\" is not a severity; valid severities: warning, critical".into())
        );
    }

    #[test]
    fn urls_must_be_http_or_https_without_credentials() {
        let text = ONE.replace("https://hooks.example/T0/B0/s3cret", "ftp://h/x");
        assert_eq!(
            parse(&text),
            Err(
                "c.toml:3: notify[0].url: unknown scheme \"ftp\"; valid schemes: http, https"
                    .into()
            )
        );
        let text = ONE.replace("https://hooks.example", "https://u:pw@hooks.example");
        let err = parse(&text).unwrap_err();
        assert!(err.contains("must not hold credentials"), "{err}");
        assert!(!err.contains("pw"), "{err}");
        let err = check_url("hooks.example/x").unwrap_err();
        assert!(err.contains("is not a URL"), "{err}");
        assert_eq!(check_url("http://127.0.0.1:9/hook?x=1"), Ok(()));
    }

    #[test]
    fn names_are_unique_and_not_empty() {
        let text = format!("{ONE}{ONE}");
        assert_eq!(
            parse(&text),
            Err("c.toml:5: notify[1].name: \"oncall\" is already the name of notify[0]; names must be unique".into())
        );
        let text = ONE.replace("\"oncall\"", "\" \"");
        assert!(
            parse(&text)
                .unwrap_err()
                .contains("notify[0].name: must be a non-empty")
        );
    }

    #[test]
    fn timeout_is_range_checked() {
        let text = format!("{ONE}timeout_s = 0\n");
        assert_eq!(
            parse(&text),
            Err("c.toml:4: notify[0].timeout_s: 0 is out of range; valid values: 1 to 120 (seconds)".into())
        );
    }

    #[test]
    fn headers_fleetdeck_writes_or_that_break_the_request_are_refused() {
        let text = format!("{ONE}headers = {{ Content-Type = \"text/plain\" }}\n");
        assert_eq!(
            parse(&text),
            Err("c.toml:4: notify[0].headers: \"Content-Type\" is set by fleetdeck; headers it writes itself: host, content-length, content-type, transfer-encoding".into())
        );
        let text = format!("{ONE}headers = {{ \"Bad Name\" = \"x\" }}\n");
        assert!(parse(&text).unwrap_err().contains("is not a header name"));
        let text = format!("{ONE}headers = {{ X-A = \"a\\nb\" }}\n");
        assert!(parse(&text).unwrap_err().contains("notify[0].headers.X-A"));
    }

    #[test]
    fn the_commented_example_in_config_example_toml_parses_once_uncommented() {
        let example = include_str!("../../config.example.toml");
        let start = example
            .find("# [[notify]]")
            .expect("the example has [[notify]]");
        let text: String = example[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim_start())
            .map(|l| format!("{l}\n"))
            .collect();
        let t = parse(&text).unwrap();
        assert_eq!(t.len(), 2, "{text}");
        assert_eq!(t[1].kind, TargetKind::Slack);
        assert_eq!(t[1].min_severity, Severity::Critical);
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let text = format!("{ONE}retries = 3\n");
        assert_eq!(
            parse(&text),
            Err("c.toml:4: unknown key \"retries\"; valid keys: name, url, kind, min_severity, timeout_s, headers".into())
        );
    }
}
