//! The command line.

use std::path::PathBuf;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{AccessOverride, Sources};
use crate::model::View;
use crate::model::actions::{Action, parse_signal};
use crate::ui::picture::Format;

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

    /// Open on this view (overrides [ui] view)
    #[arg(long, value_name = "VIEW", value_parser = ViewParser)]
    pub view: Option<View>,

    /// Redraw at most this many times a second (overrides [ui] fps)
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,

    /// For slow links: 4 redraws a second at most and stats every 5 s or slower
    #[arg(long, global = true)]
    pub low_bandwidth: bool,

    /// Add every Docker CLI context (~/.docker/contexts, honours DOCKER_CONFIG) as an endpoint
    #[arg(long, global = true)]
    pub contexts: bool,

    /// Change nothing anywhere this run: every endpoint is read-only, whatever the config says
    #[arg(long, global = true, conflicts_with = "write")]
    pub read_only: bool,

    /// Every endpoint writable this run, overriding read_only in the config
    #[arg(long, global = true)]
    pub write: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Parses a view with [`View::parse_openable`], so an unknown name gets the config's wording.
/// The message is sanitised here: clap strips escape sequences from what it prints, which
/// would hide what the operator actually typed; fleetdeck shows them as visible symbols.
#[derive(Clone)]
struct ViewParser;

impl TypedValueParser for ViewParser {
    type Value = View;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<View, clap::Error> {
        View::parse_openable(&value.to_string_lossy()).map_err(|message| {
            let arg = arg.map_or_else(|| "--view".to_string(), ToString::to_string);
            let message = crate::model::text::sanitize(&message);
            clap::Error::raw(ErrorKind::InvalidValue, format!("{arg}: {message}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        // `--view` and `snapshot --view` take the views a dashboard can open on.
        Some(Box::new(
            View::OPENABLE.iter().map(|v| PossibleValue::new(v.name())),
        ))
    }
}

/// `snapshot --format`: clap lists the names and refuses others.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Format::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync every endpoint once and evaluate the alert rules: exit 0 OK, 1 warning, 2 critical,
    /// 3 bad config or usage
    ///
    /// The rules are the config's [[alert]]s, else the built-in triage rules (which include
    /// "endpoint down"). A probe cannot wait: every rule's `for` and cooldown are taken as met,
    /// and metric rules see only the one or two stats samples a round gives, so rules over a
    /// window (`avg 2m`) need `fleetdeck watch`.
    #[command(
        after_help = "Exit codes: 0 OK, 1 warning, 2 critical, 3 bad config or usage.\n\
                      The --json document is described in docs/alerts.md."
    )]
    Check {
        /// Print {"endpoints": [...], "alerts": [...]} as JSON instead of tables
        #[arg(long)]
        json: bool,
    },
    /// Connect, sync once, print one view and exit (non-zero if an endpoint is down): plain
    /// text, or a picture in the theme's colours (SVG, ANSI text, JSON; see docs/usage.md)
    Snapshot {
        /// The view to print
        #[arg(long, default_value = "clusters", value_parser = ViewParser)]
        view: View,
        #[arg(long, default_value_t = 120)]
        width: u16,
        #[arg(long, default_value_t = 40)]
        height: u16,
        /// text (no colour), svg (a standalone picture), ansi (SGR colours) or json
        #[arg(long, default_value = "text")]
        format: Format,
    },
    /// Collect stats and ship them to InfluxDB v2 ([influx] in the config) without a terminal;
    /// reports on stderr, runs until stopped
    Export,
    /// Run the engine and the alert rules without a terminal: firing and resolved alerts are
    /// logged to stderr and sent to the [[notify]] targets; stats go to InfluxDB when [influx]
    /// is set. Runs until SIGTERM/SIGINT, then flushes the notifications (systemd unit:
    /// deploy/fleetdeck-watch.service)
    Watch,
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
    /// Start containers. Prints the plan, then a result per container; exit 1 if any failed
    /// or was refused (read-only endpoint)
    Start(TargetArgs),
    /// Stop containers (SIGTERM, then SIGKILL after the timeout); asks first unless --yes
    Stop {
        #[command(flatten)]
        args: TargetArgs,
        /// Seconds to wait after SIGTERM before SIGKILL [default: the container's own, usually 10]
        #[arg(long, short = 't', value_name = "S")]
        timeout: Option<u32>,
    },
    /// Restart containers; asks first unless --yes
    Restart {
        #[command(flatten)]
        args: TargetArgs,
        /// Seconds to wait after SIGTERM before SIGKILL [default: the container's own, usually 10]
        #[arg(long, short = 't', value_name = "S")]
        timeout: Option<u32>,
    },
    /// Pause containers (freeze their processes); asks first unless --yes
    Pause(TargetArgs),
    /// Unpause containers
    Unpause(TargetArgs),
    /// Send containers a signal; asks first unless --yes
    Kill {
        #[command(flatten)]
        args: TargetArgs,
        /// SIGKILL, SIGTERM, HUP, USR1, 15, …
        #[arg(long, short = 's', default_value = "SIGKILL", value_name = "SIG")]
        signal: String,
    },
    /// Remove containers; a running one only with --force (it is killed first); asks first
    /// unless --yes
    Rm {
        #[command(flatten)]
        args: TargetArgs,
        /// Remove the container's anonymous volumes too
        #[arg(long, short = 'v')]
        volumes: bool,
        /// Kill a running container, then remove it
        #[arg(long, short = 'f')]
        force: bool,
    },
    /// Restart containers one at a time (or N), each running and, if it has a healthcheck,
    /// healthy before the next; stops at the first failure and says where
    RollingRestart {
        #[command(flatten)]
        args: TargetArgs,
        /// Containers restarted together
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        batch: u16,
        /// Seconds each batch may take to be running and healthy
        #[arg(long, default_value_t = 120, value_name = "S")]
        wait: u64,
        /// Seconds each restart waits after SIGTERM before SIGKILL
        #[arg(long, short = 't', value_name = "S")]
        timeout: Option<u32>,
    },
    /// Deploy a service from a spec file (or DIR/NAME.toml of [deploy] dir): prints the plan
    /// (host, network, IP, image), asks unless --yes, waits for it to run; an update whose new
    /// revision does not come up is rolled back automatically. Exit 0 up, 1 failed, rolled back
    /// or refused, 2 bad spec or a plan that cannot work. Ctrl-C once: the deploy stops and
    /// puts back what it changed; twice: exit at once (then --resume or rollback). With
    /// --from, only reads: writes a running container's spec to stdout
    Deploy {
        /// A spec file, or a name looked up in the deploy directory
        #[arg(value_name = "SPEC", required_unless_present_any = ["resume", "from"])]
        spec: Option<String>,
        /// Write the spec of a running container (one fleetdeck did not create, say) to
        /// stdout: every setting a spec can say, less what its image provides; what no spec
        /// can say is listed in comments. Env values are written in clear
        #[arg(
            long,
            value_name = "ENDPOINT/CONTAINER",
            conflicts_with_all = ["spec", "resume", "yes", "to", "accept_loss", "deploy_dir"]
        )]
        from: Option<String>,
        /// Finish the deploy or rollback of ENDPOINT/NAME that was cut short (the journal
        /// holds it); `fleetdeck rollback ENDPOINT/NAME` undoes it instead
        #[arg(long, value_name = "ENDPOINT/NAME", conflicts_with_all = ["spec", "to", "deploy_dir"])]
        resume: Option<String>,
        /// Where: one endpoint, or @CLUSTER to place by the spec's labels, then least loaded
        #[arg(long, value_name = "ENDPOINT|@CLUSTER")]
        to: Option<String>,
        /// Go ahead though the update drops settings the running container has and the spec
        /// does not (mounts, env, ports, …: the plan names them); without it such an update
        /// is refused
        #[arg(long)]
        accept_loss: bool,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Where spec names are looked up [default: [deploy] dir, else deploy/ beside the config]
        #[arg(long, value_name = "DIR")]
        deploy_dir: Option<PathBuf>,
    },
    /// Roll a deployed service back to its newest kept revision (the reverse swap, same checks);
    /// with no container under its name, put the newest kept one back; with an interrupted
    /// deploy or rollback in the journal, undo that
    Rollback {
        /// ENDPOINT/NAME of the service, or NAME of a service of several replicas (every
        /// replica goes back; after an interrupted rollout, the replicas it had reached)
        #[arg(value_name = "ENDPOINT/NAME|NAME")]
        target: String,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Swarm services on a manager endpoint: list, tasks, update the image, roll back (Swarm's
    /// own rolling update and PreviousSpec rollback, followed from the task states)
    Service {
        #[command(subcommand)]
        command: ServiceCli,
        /// Do not ask for confirmation (update, rollback)
        #[arg(long, short = 'y', global = true)]
        yes: bool,
        /// Seconds to follow an update or rollback before giving up on it (Swarm carries on)
        #[arg(long, default_value_t = 120, value_name = "S", global = true)]
        wait: u64,
    },
    /// Print the audit log of state-changing requests (who, where, what, result), oldest first
    Audit {
        /// Only this endpoint
        #[arg(long, value_name = "ENDPOINT")]
        endpoint: Option<String>,
        /// Only containers with this name (glob allowed) or id prefix
        #[arg(long, value_name = "NAME")]
        container: Option<String>,
        /// Only since this long ago (30s, 10m, 2h, 1d) or this RFC 3339 time
        #[arg(long)]
        since: Option<String>,
        /// The audit file [default: $FLEETDECK_AUDIT, else $XDG_STATE_HOME/fleetdeck/audit.jsonl]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCli {
    /// The services of ENDPOINT
    Ls {
        #[arg(value_name = "ENDPOINT")]
        endpoint: String,
    },
    /// The tasks of a service
    Ps {
        #[arg(value_name = "ENDPOINT/SERVICE")]
        target: String,
    },
    /// Update a service to a new image (the image must be on the nodes or pullable)
    Update {
        #[arg(value_name = "ENDPOINT/SERVICE")]
        target: String,
        #[arg(long, value_name = "IMAGE")]
        image: String,
    },
    /// Roll a service back to its previous spec
    Rollback {
        #[arg(value_name = "ENDPOINT/SERVICE")]
        target: String,
    },
}

impl ServiceCli {
    pub fn command(&self) -> crate::headless::swarm::ServiceCommand {
        use crate::headless::swarm::ServiceCommand as C;
        match self {
            Self::Ls { endpoint } => C::Ls {
                endpoint: endpoint.clone(),
            },
            Self::Ps { target } => C::Ps {
                target: target.clone(),
            },
            Self::Update { target, image } => C::Update {
                target: target.clone(),
                image: image.clone(),
            },
            Self::Rollback { target } => C::Rollback {
                target: target.clone(),
            },
        }
    }
}

impl Command {
    /// The action an action command asks for, with its targets; `Err` for a bad argument
    /// (an unknown signal). `None` for the other commands.
    pub fn action(&self) -> Option<Result<(Action, &TargetArgs), String>> {
        let pair = |a: Action, args| Some(Ok((a, args)));
        match self {
            Self::Start(args) => pair(Action::Start, args),
            Self::Stop { args, timeout } => pair(
                Action::Stop {
                    timeout_s: *timeout,
                },
                args,
            ),
            Self::Restart { args, timeout } => pair(
                Action::Restart {
                    timeout_s: *timeout,
                },
                args,
            ),
            Self::Pause(args) => pair(Action::Pause, args),
            Self::Unpause(args) => pair(Action::Unpause, args),
            Self::Kill { args, signal } => Some(
                parse_signal(signal)
                    .map(|signal| (Action::Kill { signal }, args))
                    .map_err(|e| format!("--signal: {e}")),
            ),
            Self::Rm {
                args,
                volumes,
                force,
            } => pair(
                Action::Remove {
                    volumes: *volumes,
                    force: *force,
                },
                args,
            ),
            _ => None,
        }
    }
}

/// Targets and confirmation, shared by every action command.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// ENDPOINT/NAME (a name, a glob with * and ?, or an id prefix) or @CLUSTER/NAME-GLOB;
    /// repeatable
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Requests in flight at once per endpoint
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

impl Cli {
    pub fn sources(&self) -> Sources {
        Sources {
            config: self.config.clone(),
            hosts: self.hosts.clone(),
            contexts: self.contexts,
            // A wall display changes nothing, whatever the config or --write say.
            access: if self.read_only || self.wall {
                Some(AccessOverride::ReadOnly)
            } else if self.write {
                Some(AccessOverride::Write)
            } else {
                None
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleetdeck").chain(args.iter().copied()))
    }

    #[test]
    fn read_only_and_write_are_mutually_exclusive() {
        assert!(parse(&["--read-only", "--write", "check"]).is_err());
        let cli = parse(&["--read-only", "check"]).unwrap();
        assert_eq!(cli.sources().access, Some(AccessOverride::ReadOnly));
        let cli = parse(&["check", "--write"]).unwrap();
        assert_eq!(cli.sources().access, Some(AccessOverride::Write));
        assert_eq!(parse(&["check"]).unwrap().sources().access, None);
    }

    #[test]
    fn action_commands_carry_their_parameters() {
        let cli = parse(&[
            "stop",
            "lab1/web",
            "@prod/api-*",
            "--timeout",
            "30",
            "--yes",
        ])
        .unwrap();
        let cmd = cli.command.unwrap();
        let (action, args) = cmd.action().unwrap().unwrap();
        assert_eq!(
            action,
            Action::Stop {
                timeout_s: Some(30)
            }
        );
        assert_eq!(args.targets, ["lab1/web", "@prod/api-*"]);
        assert!(args.yes);

        let cli = parse(&["kill", "lab1/web", "-s", "hup"]).unwrap();
        let (action, _) = cli.command.as_ref().unwrap().action().unwrap().unwrap();
        assert_eq!(
            action,
            Action::Kill {
                signal: "SIGHUP".into()
            }
        );
        let cli = parse(&["kill", "lab1/web", "-s", "SIGNOPE"]).unwrap();
        assert!(cli.command.unwrap().action().unwrap().is_err());

        let cli = parse(&["rm", "lab1/web", "-v", "-f"]).unwrap();
        let (action, _) = cli.command.as_ref().unwrap().action().unwrap().unwrap();
        assert_eq!(
            action,
            Action::Remove {
                volumes: true,
                force: true
            }
        );
        assert!(parse(&["restart"]).is_err(), "a target is required");
    }

    #[test]
    fn deploy_from_takes_no_spec_resume_or_yes() {
        let cli = parse(&["deploy", "--from", "lab1/web"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Deploy { from: Some(ref f), spec: None, .. }) if f == "lab1/web"
        ));
        for extra in [&["cart"][..], &["--resume", "lab1/web"], &["--yes"]] {
            let mut args = vec!["deploy", "--from", "lab1/web"];
            args.extend(extra);
            assert_eq!(
                parse(&args).unwrap_err().kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{extra:?}"
            );
        }
        assert!(parse(&["deploy"]).is_err(), "a spec, --resume or --from");
    }
}
