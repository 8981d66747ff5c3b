//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Sources;

#[derive(Debug, Parser)]
#[command(
    name = "fleetdeck",
    version,
    about = "A terminal cockpit for fleets of Docker daemons: clusters, containers, live state.",
    long_about = None,
)]
pub struct Cli {
    /// Config file [default: $XDG_CONFIG_HOME/fleetdeck/config.toml, if it exists]
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Watch this daemon too (unix:///path, tcp://host:port, ssh://user@host[:port]); repeatable
    #[arg(long = "host", short = 'H', global = true, value_name = "URL")]
    pub hosts: Vec<String>,

    /// Wall display: rotate through the [wall] views, alert banner, no key does anything but
    /// the quit key ([wall] quit_key, "" disables it)
    #[arg(long)]
    pub wall: bool,

    /// Redraw at most this many times a second (overrides [ui] fps)
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,

    /// For slow links: 4 redraws a second at most and stats every 5 s or slower
    #[arg(long, global = true)]
    pub low_bandwidth: bool,

    /// Add every Docker CLI context (~/.docker/contexts, honours DOCKER_CONFIG) as an endpoint
    #[arg(long, global = true)]
    pub contexts: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and try every endpoint; exit 0 if all are up, 1 if any is down,
    /// 2 for a bad config
    Check,
    /// Connect, sync once, print one view as plain text and exit (non-zero if an endpoint is down)
    Snapshot {
        /// clusters, containers, events, triage, ippool or stats
        #[arg(long, default_value = "clusters")]
        view: String,
        #[arg(long, default_value_t = 120)]
        width: u16,
        #[arg(long, default_value_t = 40)]
        height: u16,
    },
    /// Collect stats and ship them to InfluxDB v2 ([influx] in the config) without a terminal;
    /// reports on stderr, runs until stopped
    Export,
    /// Print the logs of one or more containers (ENDPOINT/NAME), cleaned of escape sequences;
    /// several are merged by timestamp with a source tag
    Logs {
        /// ENDPOINT/NAME (or ENDPOINT/ID-PREFIX); repeatable
        #[arg(required = true, value_name = "ENDPOINT/CONTAINER")]
        targets: Vec<String>,
        /// Keep following new lines
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only lines since this long ago (30s, 10m, 2h, 1d) or this RFC 3339 time
        #[arg(long)]
        since: Option<String>,
        /// Lines of history per container
        #[arg(long, default_value_t = 100)]
        tail: u64,
        /// Prefix each line with its timestamp
        #[arg(long, short = 't')]
        timestamps: bool,
    },
}

impl Cli {
    pub fn sources(&self) -> Sources {
        Sources {
            config: self.config.clone(),
            hosts: self.hosts.clone(),
            contexts: self.contexts,
        }
    }
}
