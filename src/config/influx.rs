//! The optional `[influx]` section: where container and endpoint stats are exported (InfluxDB v2
//! write API, which VictoriaMetrics speaks too). The token is never in the file: the file names an
//! environment variable, read once when the config is loaded.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::ConfigError;
use super::error::line_of;
use super::range::in_range;
use super::raw::RawInflux;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_QUEUE: usize = 100_000;
/// Deadline of one write request, so a server that accepts the connection and then stalls
/// cannot hold the exporter forever.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const VALID_INFLUX_SCHEMES: &str = "http, https";

const INTERVAL_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
const QUEUE_RANGE: std::ops::RangeInclusive<u64> = 100..=1_000_000;

/// The API token, kept out of `Debug` output so a logged config never leaks it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct InfluxToken(String);

impl InfluxToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InfluxToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InfluxToken(<redacted>)")
    }
}

/// Where and how often stats are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfluxSettings {
    /// `http(s)://host:port`, no path: the client always writes to `/api/v2/write`.
    pub url: String,
    pub org: String,
    pub bucket: String,
    /// Name of the environment variable the token came from, for messages.
    pub token_env: String,
    pub token: InfluxToken,
    /// A batch is sent this often (sooner when it is big).
    pub interval: Duration,
    /// Most points kept while the server is away; beyond it the oldest are dropped.
    pub queue_capacity: usize,
    pub request_timeout: Duration,
}

/// Checks an InfluxDB base URL; the error is the part after "key: ". The client (influxdb2)
/// panics on a URL it cannot parse and replaces any path with `/api/v2/write`, so both are
/// refused here rather than discovered later.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("\"{url}\" is not a URL ({e}); expected http://HOST:PORT or https://HOST:PORT")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "unknown scheme \"{}\" in \"{url}\"; valid schemes: {VALID_INFLUX_SCHEMES}",
            parsed.scheme()
        ));
    }
    // Not quoted: the URL holds a password.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL must not hold credentials; put the API token in the environment variable named by token_env"
                .into(),
        );
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("\"{url}\" has no host"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "\"{url}\" has a path or query; give only SCHEME://HOST[:PORT] (writes always go to /api/v2/write on that server)"
        ));
    }
    Ok(())
}

/// A name a shell can export: letters, digits and '_', not starting with a digit.
fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Resolves `[influx]`: validates every key and reads the token from the environment through
/// `env` (injected so tests do not have to mutate the process environment).
pub(super) fn resolve(
    raw: RawInflux,
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<InfluxSettings, ConfigError> {
    let invalid = |offset: usize, key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, offset),
        key: key.to_string(),
        message,
    };

    let url = raw.url.get_ref().trim().to_string();
    check_url(&url).map_err(|m| invalid(raw.url.span().start, "influx.url", m))?;

    let non_empty = |v: &Spanned<String>, key: &str| -> Result<String, ConfigError> {
        let s = v.get_ref().trim();
        if s.is_empty() {
            Err(invalid(v.span().start, key, "must not be empty".into()))
        } else {
            Ok(s.to_string())
        }
    };
    let org = non_empty(&raw.org, "influx.org")?;
    let bucket = non_empty(&raw.bucket, "influx.bucket")?;

    // The value is not echoed: someone may have pasted the token itself here.
    let token_env = raw.token_env.get_ref().trim().to_string();
    let token_at = raw.token_env.span().start;
    if !is_env_name(&token_env) {
        return Err(invalid(
            token_at,
            "influx.token_env",
            "must be the NAME of an environment variable (letters, digits and '_'), not the token itself".into(),
        ));
    }
    let token = match env(&token_env) {
        None => {
            return Err(invalid(
                token_at,
                "influx.token_env",
                format!(
                    "environment variable \"{token_env}\" is not set; export it with the InfluxDB API token before starting fleetdeck"
                ),
            ));
        }
        Some(t) if t.trim().is_empty() => {
            return Err(invalid(
                token_at,
                "influx.token_env",
                format!(
                    "environment variable \"{token_env}\" is empty; it must hold the InfluxDB API token"
                ),
            ));
        }
        Some(t) => InfluxToken::new(t.trim()),
    };

    let ranged = |v: &Option<Spanned<u64>>,
                  key: &str,
                  range: &std::ops::RangeInclusive<u64>,
                  unit: &str|
     -> Result<Option<u64>, ConfigError> {
        v.as_ref()
            .map(|s| in_range(s, key, range.clone(), unit, &|at, k, m| invalid(at, &k, m)))
            .transpose()
    };
    let interval = ranged(
        &raw.interval_s,
        "influx.interval_s",
        &INTERVAL_RANGE,
        " (seconds)",
    )?
    .map_or(DEFAULT_INTERVAL, Duration::from_secs);
    let queue_capacity = ranged(&raw.queue, "influx.queue", &QUEUE_RANGE, " (points)")?
        .and_then(|q| usize::try_from(q).ok())
        .unwrap_or(DEFAULT_QUEUE);

    Ok(InfluxSettings {
        url,
        org,
        bucket,
        token_env,
        token,
        interval,
        queue_capacity,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str_with_env;

    const BASE: &str = "[influx]\nurl = \"http://127.0.0.1:8086\"\norg = \"ops\"\nbucket = \"fleet\"\ntoken_env = \"FD_TOKEN\"\n";

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Option<InfluxSettings>, String> {
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        };
        parse_str_with_env(text, Path::new("c.toml"), &lookup)
            .map(|c| c.influx)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn influx_section_is_optional() {
        assert_eq!(parse("", &[]), Ok(None));
    }

    #[test]
    fn influx_section_gets_defaults_and_the_token_from_the_environment() {
        let s = parse(BASE, &[("FD_TOKEN", "s3cret")]).unwrap().unwrap();
        assert_eq!(s.url, "http://127.0.0.1:8086");
        assert_eq!(s.org, "ops");
        assert_eq!(s.bucket, "fleet");
        assert_eq!(s.token_env, "FD_TOKEN");
        assert_eq!(s.token.expose(), "s3cret");
        assert_eq!(s.interval, DEFAULT_INTERVAL);
        assert_eq!(s.queue_capacity, DEFAULT_QUEUE);
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn interval_and_queue_are_range_checked() {
        let text = format!("{BASE}interval_s = 0\n");
        assert_eq!(
            parse(&text, &[("FD_TOKEN", "t")]),
            Err(
                "c.toml:6: influx.interval_s: 0 is out of range; valid values: 1 to 3600 (seconds)"
                    .into()
            )
        );
        let text = format!("{BASE}queue = 5\n");
        assert_eq!(
            parse(&text, &[("FD_TOKEN", "t")]),
            Err(
                "c.toml:6: influx.queue: 5 is out of range; valid values: 100 to 1000000 (points)"
                    .into()
            )
        );
        let text = format!("{BASE}interval_s = 30\nqueue = 500\n");
        let s = parse(&text, &[("FD_TOKEN", "t")]).unwrap().unwrap();
        assert_eq!(s.interval, Duration::from_secs(30));
        assert_eq!(s.queue_capacity, 500);
    }

    #[test]
    fn empty_token_variable_is_an_error_naming_it() {
        assert_eq!(
            parse(BASE, &[("FD_TOKEN", "  ")]),
            Err("c.toml:5: influx.token_env: environment variable \"FD_TOKEN\" is empty; it must hold the InfluxDB API token".into())
        );
    }

    #[test]
    fn a_token_pasted_into_token_env_is_refused_without_echoing_it() {
        let text = BASE.replace("FD_TOKEN", "abc-DEF==");
        let err = parse(&text, &[]).unwrap_err();
        assert_eq!(
            err,
            "c.toml:5: influx.token_env: must be the NAME of an environment variable (letters, digits and '_'), not the token itself"
        );
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let text = format!("{BASE}token = \"x\"\n");
        assert_eq!(
            parse(&text, &[("FD_TOKEN", "t")]),
            Err("c.toml:6: unknown key \"token\"; valid keys: url, org, bucket, token_env, interval_s, queue".into())
        );
    }

    #[test]
    fn missing_keys_are_named() {
        let text = BASE.replace("org = \"ops\"\n", "");
        assert_eq!(
            parse(&text, &[("FD_TOKEN", "t")]),
            Err("c.toml:1: missing required key \"org\"".into())
        );
    }

    #[test]
    fn urls_must_be_http_or_https_at_the_server_root() {
        assert_eq!(
            check_url("udp://h:8089"),
            Err("unknown scheme \"udp\" in \"udp://h:8089\"; valid schemes: http, https".into())
        );
        assert!(
            check_url("localhost:8086")
                .unwrap_err()
                .contains("valid schemes")
        );
        assert!(check_url("h:8086").is_err());
        assert!(check_url("nonsense").unwrap_err().contains("is not a URL"));
        assert!(
            check_url("http://h:8086/influx")
                .unwrap_err()
                .contains("has a path")
        );
        let creds = check_url("http://u:pw@h:8086").unwrap_err();
        assert!(!creds.contains("pw"), "{creds}");
        assert_eq!(check_url("http://127.0.0.1:8086"), Ok(()));
        assert_eq!(check_url("https://influx.example/"), Ok(()));
    }
}
