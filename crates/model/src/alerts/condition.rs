//! What a rule tests: the `when = "…"` of an `[[alert]]`, parsed once when the config loads.
//!
//! ```text
//! metric   METRIC [AGG [over] WINDOW] OP NUMBER    memory_pct avg 2m > 90, cpu_pct > 150
//!          METRIC: cpu_pct (100 = one core), cpu_host_pct (share of the host's CPUs),
//!                  cpu_limit_pct (share of its --cpus limit; none without one),
//!                  memory_pct (of the limit), net_rx_bps, net_tx_bps, net_bps,
//!                  io_read_bps, io_write_bps, io_bps
//!          AGG: avg, max, min, last (the default: the newest sample)
//!          NUMBER may end in k, M or G (×1000): net_bps avg 1m > 20M
//! state    exited nonzero [in WINDOW]               exited with a code other than 0 (and not
//!                                                   OOM-killed); within WINDOW of now if given
//!          oom killed                               the kernel killed it for memory
//!          unhealthy                                running, healthcheck failing
//!          restarting                               Docker restarting it (not yet a loop)
//!          restarts >= N in WINDOW                  N deaths within WINDOW: a restart loop
//!          missing                                  a service with fewer running replicas than
//!                                                   expected (`expect = N`, else the highest
//!                                                   replica number its containers carry)
//!          endpoint down                            the daemon does not answer
//! swarm    node down                                a Swarm node is not ready (down,
//!                                                   disconnected, unknown)
//!          node drained                             a Swarm node is drained or paused
//!          task failing                             a service's slot whose last tasks all
//!                                                   failed: a task that keeps failing
//! pool     pool_use_pct OP NUMBER                   taken share of an IP pool's range
//!          ip conflict                              any address or range conflict
//! log      log =~ 'REGEX' [in WINDOW]               a line of a scoped container matched
//!                                                   within WINDOW (5m unless given)
//! ```
//! OP is one of `>`, `>=`, `<`, `<=`. WINDOW is a duration: `30s`, `2m`, `1h`, `1d`.

use std::fmt;
use std::time::Duration;

use regex::Regex;

use super::super::stats::StatsSample;

/// How long a log match keeps a log rule firing when the rule does not say.
pub const DEFAULT_LOG_WINDOW: Duration = Duration::from_secs(300);

/// The forms `when` takes, for error messages.
pub const FORMS: &str = "METRIC [avg|max|min|last WINDOW] OP NUMBER (metrics: cpu_pct, \
cpu_host_pct, cpu_limit_pct, memory_pct, net_rx_bps, net_tx_bps, net_bps, io_read_bps, io_write_bps, io_bps), \
\"exited nonzero [in WINDOW]\", \"oom killed\", \"unhealthy\", \"restarting\", \
\"restarts >= N in WINDOW\", \"missing\", \"endpoint down\", \"pool_use_pct OP NUMBER\", \
\"ip conflict\", \"log =~ 'REGEX' [in WINDOW]\", \"node down\", \"node drained\", \"task failing\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Cpu,
    CpuOfHost,
    CpuOfLimit,
    Memory,
    NetRx,
    NetTx,
    Net,
    IoRead,
    IoWrite,
    Io,
}

impl Metric {
    pub const ALL: [Metric; 10] = [
        Metric::Cpu,
        Metric::CpuOfHost,
        Metric::CpuOfLimit,
        Metric::Memory,
        Metric::NetRx,
        Metric::NetTx,
        Metric::Net,
        Metric::IoRead,
        Metric::IoWrite,
        Metric::Io,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu_pct",
            Metric::CpuOfHost => "cpu_host_pct",
            Metric::CpuOfLimit => "cpu_limit_pct",
            Metric::Memory => "memory_pct",
            Metric::NetRx => "net_rx_bps",
            Metric::NetTx => "net_tx_bps",
            Metric::Net => "net_bps",
            Metric::IoRead => "io_read_bps",
            Metric::IoWrite => "io_write_bps",
            Metric::Io => "io_bps",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        if word == "mem_pct" {
            return Some(Metric::Memory);
        }
        Self::ALL.into_iter().find(|m| m.name() == word)
    }

    /// The metric's value in one sample; `host_cpus` scales `cpu_host_pct` (0: unknown),
    /// `cpu_limit_millis` `cpu_limit_pct` (`None`: no limit, no value).
    pub fn value(
        self,
        s: &StatsSample,
        host_cpus: u64,
        cpu_limit_millis: Option<u64>,
    ) -> Option<f64> {
        Some(match self {
            Metric::Cpu => s.cpu_pct,
            Metric::CpuOfHost => {
                if host_cpus == 0 {
                    return None;
                }
                s.cpu_pct / host_cpus as f64
            }
            Metric::CpuOfLimit => {
                let millis = cpu_limit_millis.filter(|m| *m > 0)?;
                s.cpu_pct * 1000.0 / millis as f64
            }
            Metric::Memory => s.mem_pct,
            Metric::NetRx => s.net_rx_bps,
            Metric::NetTx => s.net_tx_bps,
            Metric::Net => s.net_bps(),
            Metric::IoRead => s.blk_read_bps,
            Metric::IoWrite => s.blk_write_bps,
            Metric::Io => s.blk_bps(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    Avg,
    Max,
    Min,
    Last,
}

impl Agg {
    pub fn name(self) -> &'static str {
        match self {
            Agg::Avg => "avg",
            Agg::Max => "max",
            Agg::Min => "min",
            Agg::Last => "last",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [Agg::Avg, Agg::Max, Agg::Min, Agg::Last]
            .into_iter()
            .find(|a| a.name() == word)
    }

    /// Folds values (oldest first); `None` for none.
    pub fn apply(self, values: impl Iterator<Item = f64>) -> Option<f64> {
        let mut n = 0usize;
        let mut acc: Option<f64> = None;
        for v in values {
            n += 1;
            acc = Some(match (self, acc) {
                (_, None) => v,
                (Agg::Avg, Some(a)) => a + v,
                (Agg::Max, Some(a)) => a.max(v),
                (Agg::Min, Some(a)) => a.min(v),
                (Agg::Last, Some(_)) => v,
            });
        }
        match self {
            Agg::Avg => acc.map(|sum| sum / n as f64),
            _ => acc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [Cmp::Gt, Cmp::Ge, Cmp::Lt, Cmp::Le]
            .into_iter()
            .find(|c| c.symbol() == word)
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Gt => value > threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
        }
    }
}

/// What a rule tests. Compared by its text, so a config holding rules can be compared.
#[derive(Debug, Clone)]
pub enum Condition {
    Metric {
        metric: Metric,
        agg: Agg,
        /// Zero for `last` without a window.
        window: Duration,
        cmp: Cmp,
        threshold: f64,
    },
    /// Exited (or dead) with a non-zero code, not OOM-killed; finished within `within` if set.
    ExitedNonZero {
        within: Option<Duration>,
    },
    OomKilled,
    Unhealthy,
    /// Restarting, and not already a restart loop by the event log's own rule.
    Restarting,
    RestartLoop {
        count: usize,
        window: Duration,
    },
    /// `expect`: the rule's `expect = N`; else each service's highest replica number.
    Missing {
        expect: Option<u32>,
    },
    EndpointDown,
    /// A Swarm node that is not ready, as a manager of its swarm reads it.
    NodeDown,
    /// A Swarm node drained or paused: it takes no new tasks.
    NodeDrained,
    /// A Swarm service slot whose last tasks all failed.
    TaskFailing,
    PoolUse {
        cmp: Cmp,
        threshold: f64,
    },
    IpConflict,
    Log {
        regex: Regex,
        window: Duration,
    },
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Condition {}

/// What a condition is about, which decides what its scope is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Endpoint,
    Container,
    /// A replicated service (containers on any endpoint).
    Service,
    /// An IP pool or an address conflict.
    Pool,
    /// A Swarm node or service, read from a manager endpoint.
    Swarm,
}

impl Condition {
    pub fn subject_kind(&self) -> SubjectKind {
        match self {
            Condition::EndpointDown => SubjectKind::Endpoint,
            Condition::NodeDown | Condition::NodeDrained | Condition::TaskFailing => {
                SubjectKind::Swarm
            }
            Condition::Missing { .. } => SubjectKind::Service,
            Condition::PoolUse { .. } | Condition::IpConflict => SubjectKind::Pool,
            _ => SubjectKind::Container,
        }
    }

    /// The stats history a metric condition looks back over.
    pub fn metric_window(&self) -> Option<Duration> {
        match self {
            Condition::Metric { window, .. } => Some(*window),
            _ => None,
        }
    }

    /// A state condition: true or false now, no waiting on samples (`check` takes its `for`
    /// as met).
    pub fn is_metric(&self) -> bool {
        matches!(self, Condition::Metric { .. })
    }

    pub fn is_log(&self) -> bool {
        matches!(self, Condition::Log { .. })
    }

    /// Parses a `when`. The error is worded for the operator (the config adds file and key).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("log") {
            return parse_log(rest.trim_start(), text);
        }
        let lower = trimmed.to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        let bad = |why: &str| format!("\"{text}\": {why}; valid forms: {FORMS}");
        match words.as_slice() {
            [] => Err(bad("empty")),
            ["exited", "nonzero"] | ["exited", "non-zero"] => {
                Ok(Condition::ExitedNonZero { within: None })
            }
            ["exited", "nonzero" | "non-zero", "in", w] => Ok(Condition::ExitedNonZero {
                within: Some(parse_duration(w).map_err(|e| bad(&e))?),
            }),
            ["oom", "killed"] | ["oom"] => Ok(Condition::OomKilled),
            ["unhealthy"] => Ok(Condition::Unhealthy),
            ["restarting"] => Ok(Condition::Restarting),
            ["restarts", op, n, "in", w] => {
                let count: usize = n
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| bad(&format!("\"{n}\" is not a count of 1 or more")))?;
                let count = match *op {
                    ">=" => count,
                    ">" => count + 1,
                    _ => return Err(bad("restarts takes >= or >")),
                };
                let window = parse_duration(w).map_err(|e| bad(&e))?;
                Ok(Condition::RestartLoop { count, window })
            }
            ["missing"] => Ok(Condition::Missing { expect: None }),
            ["endpoint", "down"] => Ok(Condition::EndpointDown),
            ["node", "down"] => Ok(Condition::NodeDown),
            ["node", "drained"] => Ok(Condition::NodeDrained),
            ["task", "failing"] => Ok(Condition::TaskFailing),
            ["ip", "conflict"] | ["conflict"] => Ok(Condition::IpConflict),
            ["pool_use_pct", op, n] => Ok(Condition::PoolUse {
                cmp: Cmp::parse(op)
                    .ok_or_else(|| bad(&format!("\"{op}\" is not one of >, >=, <, <=")))?,
                threshold: parse_number(n).map_err(|e| bad(&e))?,
            }),
            [metric, rest @ ..] => {
                let Some(metric) = Metric::parse(metric) else {
                    return Err(bad(&format!("unknown condition \"{metric}\"")));
                };
                let (agg, window, rest) = match rest {
                    [agg, "over", w, rest @ ..] | [agg, w, rest @ ..]
                        if Agg::parse(agg).is_some() && parse_duration(w).is_ok() =>
                    {
                        let agg = Agg::parse(agg).unwrap_or(Agg::Last);
                        (agg, parse_duration(w).unwrap_or_default(), rest)
                    }
                    [agg, ..] if Agg::parse(agg).is_some() => {
                        return Err(bad(&format!(
                            "{agg} needs a window, like \"{} {agg} 2m > 90\"",
                            metric.name()
                        )));
                    }
                    rest => (Agg::Last, Duration::ZERO, rest),
                };
                let [op, n] = rest else {
                    return Err(bad("expected a comparison like \"> 90\" at the end"));
                };
                let cmp = Cmp::parse(op)
                    .ok_or_else(|| bad(&format!("\"{op}\" is not one of >, >=, <, <=")))?;
                Ok(Condition::Metric {
                    metric,
                    agg,
                    window,
                    cmp,
                    threshold: parse_number(n).map_err(|e| bad(&e))?,
                })
            }
        }
    }
}

fn parse_log(rest: &str, text: &str) -> Result<Condition, String> {
    let bad = |why: String| format!("\"{text}\": {why}; a log rule reads log =~ 'REGEX' [in 5m]");
    let rest = rest
        .strip_prefix("=~")
        .ok_or_else(|| bad("expected =~ after log".into()))?
        .trim_start();
    let quote = rest
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
        .ok_or_else(|| bad("the regex goes in quotes".into()))?;
    let body = &rest[1..];
    let end = body
        .rfind(quote)
        .ok_or_else(|| bad("the regex's closing quote is missing".into()))?;
    let pattern = &body[..end];
    let tail: Vec<&str> = body[end + 1..].split_whitespace().collect();
    let window = match tail.as_slice() {
        [] => DEFAULT_LOG_WINDOW,
        ["in", w] => parse_duration(w).map_err(bad)?,
        _ => return Err(bad(format!("unexpected \"{}\"", tail.join(" ")))),
    };
    if pattern.is_empty() {
        return Err(bad("the regex is empty".into()));
    }
    let regex = Regex::new(pattern)
        .map_err(|e| bad(format!("bad regex: {}", e.to_string().replace('\n', " "))))?;
    Ok(Condition::Log { regex, window })
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Metric {
                metric,
                agg,
                window,
                cmp,
                threshold,
            } => {
                write!(
                    f,
                    "{} {} {threshold}",
                    metric_label(*metric, *agg, *window),
                    cmp.symbol()
                )
            }
            Condition::ExitedNonZero { within: None } => f.write_str("exited nonzero"),
            Condition::ExitedNonZero { within: Some(w) } => {
                write!(f, "exited nonzero in {}", format_duration(*w))
            }
            Condition::OomKilled => f.write_str("oom killed"),
            Condition::Unhealthy => f.write_str("unhealthy"),
            Condition::Restarting => f.write_str("restarting"),
            Condition::RestartLoop { count, window } => {
                write!(f, "restarts >= {count} in {}", format_duration(*window))
            }
            Condition::Missing { expect: None } => f.write_str("missing"),
            Condition::Missing { expect: Some(n) } => write!(f, "missing (expect {n})"),
            Condition::EndpointDown => f.write_str("endpoint down"),
            Condition::NodeDown => f.write_str("node down"),
            Condition::NodeDrained => f.write_str("node drained"),
            Condition::TaskFailing => f.write_str("task failing"),
            Condition::PoolUse { cmp, threshold } => {
                write!(f, "pool_use_pct {} {threshold}", cmp.symbol())
            }
            Condition::IpConflict => f.write_str("ip conflict"),
            Condition::Log { regex, window } => {
                write!(
                    f,
                    "log =~ '{}' in {}",
                    regex.as_str(),
                    format_duration(*window)
                )
            }
        }
    }
}

/// `memory_pct avg 2m`, or `memory_pct` for the newest sample: what a metric condition reads.
pub fn metric_label(metric: Metric, agg: Agg, window: Duration) -> String {
    if window.is_zero() {
        metric.name().to_string()
    } else {
        format!(
            "{} {} {}",
            metric.name(),
            agg.name(),
            format_duration(window)
        )
    }
}

/// `30s`, `2m`, `1h`, `1d` (also `90` for seconds, and `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration; expected one like 30s, 2m, 1h or 1d".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "\"{t}\" is not a duration; expected one like 30s, 2m, 1h or 1d"
                ));
            }
        };
        let n: u64 = num.parse().map_err(|_| {
            format!("\"{t}\" is not a duration; expected one like 30s, 2m, 1h or 1d")
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "\"{t}\" is not a duration; a number needs a unit (s, m, h, d)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// The shortest way to write a duration in the units [`parse_duration`] reads.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn parse_number(text: &str) -> Result<f64, String> {
    let t = text.trim_end_matches('%');
    let (digits, scale) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('g' | 'G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    digits
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * scale)
        .ok_or_else(|| format!("\"{text}\" is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_conditions_read_with_or_without_a_window() {
        let c = Condition::parse("memory_pct avg 2m > 90").unwrap();
        assert!(matches!(
            c,
            Condition::Metric {
                metric: Metric::Memory,
                agg: Agg::Avg,
                cmp: Cmp::Gt,
                ..
            }
        ));
        assert_eq!(c.metric_window(), Some(Duration::from_secs(120)));
        assert_eq!(c.to_string(), "memory_pct avg 2m > 90");
        assert_eq!(
            Condition::parse("cpu_pct max over 30s >= 150")
                .unwrap()
                .to_string(),
            "cpu_pct max 30s >= 150"
        );
        assert_eq!(
            Condition::parse("net_bps > 20M").unwrap().to_string(),
            "net_bps > 20000000"
        );
        assert_eq!(
            Condition::parse("mem_pct last 1m < 5").unwrap(),
            Condition::parse("memory_pct last 1m < 5").unwrap()
        );
    }

    #[test]
    fn state_pool_and_log_conditions_read() {
        for (text, shown) in [
            ("exited nonzero", "exited nonzero"),
            ("Exited non-zero in 1h", "exited nonzero in 1h"),
            ("oom killed", "oom killed"),
            ("unhealthy", "unhealthy"),
            ("restarting", "restarting"),
            ("restarts >= 3 in 10m", "restarts >= 3 in 10m"),
            ("restarts > 2 in 600s", "restarts >= 3 in 10m"),
            ("missing", "missing"),
            ("endpoint down", "endpoint down"),
            ("pool_use_pct > 80", "pool_use_pct > 80"),
            ("ip conflict", "ip conflict"),
            ("log =~ 'FATAL|panic'", "log =~ 'FATAL|panic' in 5m"),
            ("log =~ \"it's bad\" in 1m", "log =~ 'it's bad' in 1m"),
        ] {
            assert_eq!(Condition::parse(text).unwrap().to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_conditions_say_what_is_wrong_and_what_is_valid() {
        let e = Condition::parse("memory_pct avg > 90").unwrap_err();
        assert!(e.contains("avg needs a window"), "{e}");
        let e = Condition::parse("disk_pct > 90").unwrap_err();
        assert!(e.starts_with("\"disk_pct > 90\": unknown condition \"disk_pct\"; valid forms:"));
        assert!(e.contains("memory_pct"), "{e}");
        let e = Condition::parse("memory_pct avg 2x > 90").unwrap_err();
        assert!(e.contains("avg needs a window"), "{e}");
        let e = Condition::parse("memory_pct > 90 please").unwrap_err();
        assert!(e.contains("expected a comparison"), "{e}");
        let e = Condition::parse("cpu_pct => 9").unwrap_err();
        assert!(e.contains("\"=>\" is not one of >, >=, <, <="), "{e}");
        let e = Condition::parse("log =~ '(unclosed'").unwrap_err();
        assert!(e.contains("bad regex"), "{e}");
        let e = Condition::parse("log =~ FATAL").unwrap_err();
        assert!(e.contains("in quotes"), "{e}");
        let e = Condition::parse("restarts >= 0 in 5m").unwrap_err();
        assert!(e.contains("not a count"), "{e}");
    }

    #[test]
    fn durations_and_aggregates() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("5x").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "90m");
        let v = [1.0, 5.0, 3.0];
        assert_eq!(Agg::Avg.apply(v.into_iter()), Some(3.0));
        assert_eq!(Agg::Max.apply(v.into_iter()), Some(5.0));
        assert_eq!(Agg::Min.apply(v.into_iter()), Some(1.0));
        assert_eq!(Agg::Last.apply(v.into_iter()), Some(3.0));
        assert_eq!(Agg::Avg.apply(std::iter::empty()), None);
    }
}
