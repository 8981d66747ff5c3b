//! The `:` command line: jump to a view with a scope, e.g. `:containers @prod-us`,
//! `:events @us-east-01`, `:ippool 192.168.2.0/24`. Pure parsing and completion over the fleet.

use crate::model::View;
use crate::model::{EndpointId, Fleet};

/// Where a command goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub view: View,
    /// A filter for the view (`cluster:prod-us`, `ep:lab1`, a subnet).
    pub filter: Option<String>,
    /// The endpoint a scope named, for the clusters view's selection.
    pub endpoint: Option<EndpointId>,
}

fn view_names() -> Vec<&'static str> {
    View::ALL.iter().map(|v| v.name()).collect()
}

/// The view a word names: its full name or an unambiguous prefix.
fn view_of(word: &str) -> Result<View, String> {
    if let Some(v) = View::parse(word) {
        return Ok(v);
    }
    let hits: Vec<View> = View::ALL
        .into_iter()
        .filter(|v| v.name().starts_with(word))
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "unknown view \"{word}\"; views: {}",
            view_names().join(", ")
        )),
        many => Err(format!(
            "\"{word}\" could be {}",
            many.iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
}

pub fn parse(text: &str, fleet: &Fleet) -> Result<Jump, String> {
    let mut words = text.trim().trim_start_matches(':').split_whitespace();
    let Some(first) = words.next() else {
        return Err(format!("type a view: {}", view_names().join(", ")));
    };
    let view = view_of(first)?;
    let rest: Vec<&str> = words.collect();
    let mut jump = Jump {
        view,
        filter: None,
        endpoint: None,
    };
    let Some(arg) = rest.first() else {
        return Ok(jump);
    };
    if rest.len() > 1 {
        return Err(format!("one scope at most, got \"{}\"", rest.join(" ")));
    }
    match arg.strip_prefix('@') {
        Some(name) => {
            if let Some((id, _)) = fleet.endpoint_by_name(name) {
                jump.endpoint = Some(id);
                jump.filter = Some(format!("ep:{name}"));
            } else if fleet.clusters().contains(&name) {
                jump.endpoint = fleet.endpoints.iter().position(|e| e.cluster() == name);
                jump.filter = Some(format!("cluster:{name}"));
            } else {
                let endpoints: Vec<&str> = fleet.endpoints.iter().map(|e| e.name()).collect();
                return Err(format!(
                    "no cluster or endpoint named \"{name}\"; clusters: {}; endpoints: {}",
                    fleet.clusters().join(", "),
                    endpoints.join(", ")
                ));
            }
        }
        // A bare argument filters the view as typed (a subnet for the pools, a word elsewhere).
        None => jump.filter = Some((*arg).to_string()),
    }
    Ok(jump)
}

/// Completions of the text typed so far: view names for the first word, then `@cluster` and
/// `@endpoint` names.
pub fn complete(text: &str, fleet: &Fleet) -> Vec<String> {
    let t = text.trim_start_matches(':');
    match t.split_once(' ') {
        None => view_names()
            .into_iter()
            .filter(|v| v.starts_with(t))
            .map(|v| format!("{v} "))
            .collect(),
        Some((view, arg)) => {
            let arg = arg.trim_start();
            let prefix = arg.strip_prefix('@').unwrap_or(arg);
            let mut names: Vec<String> = fleet.clusters().iter().map(|c| c.to_string()).collect();
            names.extend(fleet.endpoints.iter().map(|e| e.name().to_string()));
            names.dedup();
            names
                .into_iter()
                .filter(|n| n.starts_with(prefix))
                .map(|n| format!("{view} @{n}"))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EndpointSpec;

    fn fleet() -> Fleet {
        let mut specs = Vec::new();
        for (name, cluster) in [
            ("us-east-01", "prod-us"),
            ("us-east-02", "prod-us"),
            ("eu-1", "prod-eu"),
        ] {
            let mut s = EndpointSpec::from_url(Some(name), "tcp://h:1").unwrap();
            s.cluster = cluster.into();
            specs.push(s);
        }
        Fleet::new(specs)
    }

    #[test]
    fn views_and_scopes_resolve() {
        let f = fleet();
        assert_eq!(
            parse(":containers @prod-us", &f),
            Ok(Jump {
                view: View::Containers,
                filter: Some("cluster:prod-us".into()),
                endpoint: Some(0)
            })
        );
        assert_eq!(
            parse("events @eu-1", &f),
            Ok(Jump {
                view: View::Events,
                filter: Some("ep:eu-1".into()),
                endpoint: Some(2)
            })
        );
        assert_eq!(
            parse(":ippool 192.168.2.0/24", &f)
                .unwrap()
                .filter
                .as_deref(),
            Some("192.168.2.0/24")
        );
        assert_eq!(parse(":ev", &f).unwrap().view, View::Events);
    }

    #[test]
    fn unknown_names_get_a_helpful_message() {
        let f = fleet();
        assert_eq!(
            parse(":graphs", &f).unwrap_err(),
            "unknown view \"graphs\"; views: clusters, containers, events, triage, logs, ippool, stats, nodes, services"
        );
        assert_eq!(
            parse(":containers @prod", &f).unwrap_err(),
            "no cluster or endpoint named \"prod\"; clusters: prod-us, prod-eu; endpoints: us-east-01, us-east-02, eu-1"
        );
        assert_eq!(
            parse(":c", &f).unwrap_err(),
            "\"c\" could be clusters or containers"
        );
    }

    #[test]
    fn completion_offers_views_then_scopes() {
        let f = fleet();
        assert_eq!(complete(":ev", &f), ["events "]);
        assert_eq!(
            complete("containers @prod-", &f),
            ["containers @prod-us", "containers @prod-eu"]
        );
        assert_eq!(
            complete("events @us", &f),
            ["events @us-east-01", "events @us-east-02"]
        );
    }
}
