//! The `/` filter grammar, shared by every list view.
//!
//! Space-separated terms, all of which must match (case-insensitive):
//! - `web`: substring of name, image, endpoint, cluster, or any `key=value` label
//! - `name:web`, `image:nginx`, `endpoint:us-east` (or `ep:`), `cluster:prod`: substring of that field
//! - `label:app=web` (exact key and value), `label:app` (key present)
//! - `state:running`, `health:unhealthy`, `type:container` (events): exact
//! - a leading `!` negates a term: `!state:running`

use std::collections::BTreeMap;

use super::container::Container;
use super::endpoint::Endpoint;

pub const FIELDS: &str = "name, image, endpoint (ep), cluster, label, project, state, health, type";

/// What a filter looks at. Containers, events and log sources all describe themselves this way,
/// so one grammar serves every view.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub endpoint: &'a str,
    pub cluster: &'a str,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub state: &'a str,
    pub health: &'a str,
    /// Event type (container, image, network, endpoint…).
    pub kind: &'a str,
    /// Free text also searched by bare words (an event's action and details).
    pub text: &'a str,
}

/// The label Docker Compose puts on every container of a project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Any,
    Name,
    Image,
    Endpoint,
    Cluster,
    Label {
        key: String,
        value: Option<String>,
    },
    /// The compose project (`com.docker.compose.project`), exactly.
    Project,
    State,
    Health,
    Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    field: Field,
    /// Lower-cased needle (unused for labels, which carry their own).
    needle: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    terms: Vec<Term>,
    source: String,
}

impl Filter {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for word in input.split_whitespace() {
            let (negated, word) = match word.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, word),
            };
            if word.is_empty() {
                continue;
            }
            let lower = word.to_lowercase();
            let (field, needle) = match lower.split_once(':') {
                None => (Field::Any, lower.clone()),
                Some((f, v)) => {
                    let field = match f {
                        "name" => Field::Name,
                        "image" => Field::Image,
                        "endpoint" | "ep" => Field::Endpoint,
                        "cluster" => Field::Cluster,
                        "state" => Field::State,
                        "health" => Field::Health,
                        "type" => Field::Kind,
                        "project" => Field::Project,
                        "label" => {
                            let (key, value) = match v.split_once('=') {
                                Some((k, val)) => (k.to_string(), Some(val.to_string())),
                                None => (v.to_string(), None),
                            };
                            if key.is_empty() {
                                return Err(format!(
                                    "\"{word}\": label needs a key, like label:app=web"
                                ));
                            }
                            Field::Label { key, value }
                        }
                        other => {
                            return Err(format!(
                                "unknown filter field \"{other}\"; valid fields: {FIELDS}"
                            ));
                        }
                    };
                    (field, v.to_string())
                }
            };
            terms.push(Term {
                negated,
                field,
                needle,
            });
        }
        Ok(Self {
            terms,
            source: input.trim().to_string(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, endpoint: &Endpoint, c: &Container) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        self.matches_subject(&Subject {
            name: &c.name,
            image: &c.image,
            endpoint: endpoint.name(),
            cluster: endpoint.cluster(),
            labels: Some(&c.labels),
            state: c.state.as_str(),
            health: c.health.as_str(),
            kind: "container",
            text: "",
        })
    }

    pub fn matches_subject(&self, s: &Subject<'_>) -> bool {
        self.terms.iter().all(|t| term_matches(t, s) != t.negated)
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
}

fn term_matches(t: &Term, s: &Subject<'_>) -> bool {
    let labels = || s.labels.into_iter().flat_map(|l| l.iter());
    match &t.field {
        Field::Any => {
            contains(s.name, &t.needle)
                || contains(s.image, &t.needle)
                || contains(s.endpoint, &t.needle)
                || contains(s.cluster, &t.needle)
                || contains(s.text, &t.needle)
                || labels().any(|(k, v)| contains(&format!("{k}={v}"), &t.needle))
        }
        Field::Name => contains(s.name, &t.needle),
        Field::Image => contains(s.image, &t.needle),
        Field::Endpoint => contains(s.endpoint, &t.needle),
        Field::Cluster => contains(s.cluster, &t.needle),
        Field::State => s.state == t.needle,
        Field::Health => s.health == t.needle,
        Field::Kind => s.kind == t.needle,
        Field::Project => {
            labels().any(|(k, v)| k == COMPOSE_PROJECT && v.to_lowercase() == t.needle)
        }
        Field::Label { key, value } => labels().any(|(k, v)| {
            k.to_lowercase() == *key && value.as_ref().is_none_or(|want| v.to_lowercase() == *want)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointSpec;
    use crate::container::fixtures::container;
    use crate::{ContainerState, Health};

    fn ep(name: &str, cluster: &str) -> Endpoint {
        let mut spec = EndpointSpec::from_url(Some(name), "tcp://h:1").unwrap();
        spec.cluster = cluster.into();
        Endpoint::new(spec)
    }

    fn web() -> Container {
        let mut c = container("1", "web-1", ContainerState::Running);
        c.image = "nginx:1.27".into();
        c.labels.insert("app".into(), "web".into());
        c.labels.insert("tier".into(), "front".into());
        c.health = Health::Unhealthy;
        c
    }

    fn m(filter: &str, ep: &Endpoint, c: &Container) -> bool {
        Filter::parse(filter).unwrap().matches(ep, c)
    }

    #[test]
    fn bare_words_search_every_field() {
        let e = ep("us-east-01", "prod-us");
        let c = web();
        assert!(m("", &e, &c));
        assert!(m("WEB", &e, &c));
        assert!(m("nginx", &e, &c));
        assert!(m("east", &e, &c));
        assert!(m("prod", &e, &c));
        assert!(m("tier=front", &e, &c));
        assert!(!m("db", &e, &c));
    }

    #[test]
    fn fields_labels_and_negation() {
        let e = ep("us-east-01", "prod-us");
        let c = web();
        assert!(m("label:app=web", &e, &c));
        assert!(!m("label:app=webhook", &e, &c));
        assert!(m("label:tier", &e, &c));
        assert!(m("cluster:prod", &e, &c));
        assert!(!m("cluster:staging", &e, &c));
        assert!(m("ep:us-east state:running health:unhealthy", &e, &c));
        assert!(!m("!state:running", &e, &c));
        assert!(m("!label:app=db name:web", &e, &c));
    }

    #[test]
    fn unknown_fields_are_explained() {
        assert_eq!(
            Filter::parse("colour:red").unwrap_err(),
            "unknown filter field \"colour\"; valid fields: name, image, endpoint (ep), cluster, label, project, state, health, type"
        );
        assert!(Filter::parse("label:=x").is_err());
    }

    #[test]
    fn project_matches_the_compose_project_label_exactly() {
        let e = ep("lab1", "lab-a");
        let mut c = web();
        c.labels.insert(COMPOSE_PROJECT.into(), "Shop".into());
        assert!(m("project:shop", &e, &c));
        assert!(!m("project:sho", &e, &c));
        assert!(m("!project:billing", &e, &c));
        assert!(!m("project:shop", &e, &web()));
    }
}
