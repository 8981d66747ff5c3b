//! The views of the dashboard, by the names the operator types (`--view`, `snapshot --view`,
//! `[ui] view`, `[wall] views`, the `:` command line): one table of names, one parser that the
//! command line (`cli`, through clap's `ValueEnum`) and the config both use.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Clusters,
    Containers,
    Events,
    Triage,
    Logs,
    Pools,
    Stats,
    /// Swarm nodes of every manager endpoint's swarm.
    Nodes,
    /// Swarm services (and, opened, their tasks).
    Services,
}

impl View {
    pub const ALL: [View; 9] = [
        View::Clusters,
        View::Containers,
        View::Events,
        View::Triage,
        View::Logs,
        View::Pools,
        View::Stats,
        View::Nodes,
        View::Services,
    ];

    pub fn name(self) -> &'static str {
        match self {
            View::Clusters => "clusters",
            View::Containers => "containers",
            View::Events => "events",
            View::Triage => "triage",
            View::Logs => "logs",
            View::Pools => "ippool",
            View::Stats => "stats",
            View::Nodes => "nodes",
            View::Services => "services",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Clusters => "Clusters",
            View::Containers => "Containers",
            View::Events => "Events",
            View::Triage => "Triage",
            View::Logs => "Logs",
            View::Pools => "IP pools",
            View::Stats => "Stats",
            View::Nodes => "Nodes",
            View::Services => "Services",
        }
    }

    /// Views the dashboard can open on (`[ui] view`, `--view`), a wall can rotate through
    /// (`[wall] views`) and `snapshot --view` can draw: all but the log view, which has
    /// nothing to show until a tail is opened interactively.
    pub const OPENABLE: [View; 8] = [
        View::Clusters,
        View::Containers,
        View::Events,
        View::Triage,
        View::Pools,
        View::Stats,
        View::Nodes,
        View::Services,
    ];

    pub fn parse(name: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == name)
    }

    /// One of [`View::OPENABLE`] by name; the error says what is valid.
    pub fn parse_openable(name: &str) -> Result<View, String> {
        View::OPENABLE
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown view \"{name}\"; valid views: {}",
                    View::openable_names().join(", ")
                )
            })
    }

    pub fn openable_names() -> Vec<&'static str> {
        View::OPENABLE.iter().map(|v| v.name()).collect()
    }
}
