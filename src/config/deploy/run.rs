//! The `docker run` keys of a spec (volumes, user, entrypoint, log driver, capabilities…),
//! each checked, as [`RunOptions`].

use toml::Spanned;

use super::raw::{RawCommand, RawSpec};
use crate::config::error::ConfigError;
use crate::config::range::in_range;
use crate::model::deploy::run::{
    check_capability, check_dir, check_extra_host, check_hostname, check_signal, check_volume,
};
use crate::model::deploy::{LogOptions, RunOptions};

/// The `docker run` options of a spec, each checked.
pub(super) fn run_options(
    raw: &RawSpec,
    invalid: &dyn Fn(usize, &str, String) -> ConfigError,
) -> Result<RunOptions, ConfigError> {
    let each = |list: &[Spanned<String>],
                key: &str,
                check: fn(&str) -> Result<(), String>|
     -> Result<Vec<String>, ConfigError> {
        list.iter()
            .map(|v| {
                check(v.get_ref().trim())
                    .map(|()| v.get_ref().trim().to_string())
                    .map_err(|m| invalid(v.span().start, key, m))
            })
            .collect()
    };
    let one = |v: &Option<Spanned<String>>,
               key: &str,
               check: fn(&str) -> Result<(), String>|
     -> Result<Option<String>, ConfigError> {
        v.as_ref()
            .map(|v| {
                let text = v.get_ref().trim();
                if text.is_empty() {
                    return Err(invalid(
                        v.span().start,
                        key,
                        "empty; leave it out for the image's own".into(),
                    ));
                }
                check(text)
                    .map(|()| text.to_string())
                    .map_err(|m| invalid(v.span().start, key, m))
            })
            .transpose()
    };
    let any = |_: &str| Ok(());
    let ip = |t: &str| {
        t.parse::<std::net::IpAddr>()
            .map(|_| ())
            .map_err(|_| format!("\"{t}\" is not an IP address like 10.0.0.53"))
    };
    let entrypoint = match raw
        .entrypoint
        .as_ref()
        .map(|c| (c.span().start, c.get_ref()))
    {
        None => None,
        Some((at, RawCommand::Shell(s))) if s.trim().is_empty() => {
            return Err(invalid(
                at,
                "entrypoint",
                "empty; leave it out for the image's own".into(),
            ));
        }
        Some((_, RawCommand::Shell(s))) => Some(vec![s.clone()]),
        Some((at, RawCommand::Argv(v))) if v.is_empty() => {
            return Err(invalid(
                at,
                "entrypoint",
                "empty; leave it out for the image's own".into(),
            ));
        }
        Some((_, RawCommand::Argv(v))) => Some(v.clone()),
    };
    let log = match &raw.log {
        None => None,
        Some(l) if l.driver.get_ref().trim().is_empty() => {
            return Err(invalid(
                l.driver.span().start,
                "log.driver",
                "empty; a log driver such as json-file, local, syslog or none".into(),
            ));
        }
        Some(l) => Some(LogOptions {
            driver: l.driver.get_ref().trim().to_string(),
            options: l.options.clone(),
        }),
    };
    let stop_timeout_s = match &raw.stop_timeout_s {
        None => None,
        Some(t) => Some(in_range(
            t,
            "stop_timeout_s",
            0..=3600,
            "",
            &|at, key, m| invalid(at, &key, m),
        )?),
    };
    Ok(RunOptions {
        volumes: each(&raw.volumes, "volumes", check_volume)?,
        user: one(&raw.user, "user", any)?,
        working_dir: one(&raw.working_dir, "working_dir", check_dir)?,
        entrypoint,
        hostname: one(&raw.hostname, "hostname", check_hostname)?,
        extra_hosts: each(&raw.extra_hosts, "extra_hosts", check_extra_host)?,
        dns: each(&raw.dns, "dns", ip)?,
        cap_add: each(&raw.cap_add, "cap_add", check_capability)?,
        cap_drop: each(&raw.cap_drop, "cap_drop", check_capability)?,
        log,
        stop_signal: one(&raw.stop_signal, "stop_signal", check_signal)?,
        stop_timeout_s,
    })
}
