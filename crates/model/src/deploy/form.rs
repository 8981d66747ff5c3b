//! The deploy form's fields as text, checked as the operator types: syntax field by field
//! first, then the whole thing planned against the fleet (network, IP in the pool and free,
//! port clashes, placement), each problem tied to the field that has it.

use super::{
    DeployPlan, DeploySpec, DeployTarget, Deployer, Placement, RestartPolicy, SpecProblem,
    check_image, check_name, parse_ip, parse_port, plan,
};
use crate::Fleet;

/// The fields, in the order the form shows them.
pub const FIELDS: [&str; 7] = ["name", "image", "command", "network", "ip", "ports", "to"];

/// What is typed in the form, one string per field of [`FIELDS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormFields {
    pub name: String,
    pub image: String,
    /// Run by `sh -c`; empty for the image's own command.
    pub command: String,
    pub network: String,
    /// `auto`, an IPv4 address, or empty for Docker's choice.
    pub ip: String,
    /// Comma-separated, `8080:80, 9090:9090/udp`.
    pub ports: String,
    /// `ENDPOINT` or `@CLUSTER`.
    pub to: String,
}

impl FormFields {
    pub fn get(&self, field: &str) -> &str {
        match field {
            "name" => &self.name,
            "image" => &self.image,
            "command" => &self.command,
            "network" => &self.network,
            "ip" => &self.ip,
            "ports" => &self.ports,
            _ => &self.to,
        }
    }

    pub fn set(&mut self, field: &str, value: String) {
        match field {
            "name" => self.name = value,
            "image" => self.image = value,
            "command" => self.command = value,
            "network" => self.network = value,
            "ip" => self.ip = value,
            "ports" => self.ports = value,
            _ => self.to = value,
        }
    }
}

/// The field a problem of [`plan`] belongs to.
fn field_of(key: &str) -> &'static str {
    match key {
        "name" => "name",
        "image" => "image",
        "network" => "network",
        "ip" => "ip",
        "ports" => "ports",
        "command" => "command",
        _ => "to",
    }
}

/// Checks the form; the plan when everything holds, else every problem by field.
pub fn check_form(
    fields: &FormFields,
    fleet: &Fleet,
    keep_revisions: usize,
    wait_s: u64,
    deployer: &Deployer,
) -> Result<DeployPlan, Vec<SpecProblem>> {
    let mut problems = Vec::new();
    let mut note = |key: &str, r: Result<(), String>| {
        if let Err(m) = r {
            problems.push(SpecProblem::new(key, m));
        }
    };
    note("name", check_name(fields.name.trim()));
    note("image", check_image(fields.image.trim()));
    let ip = parse_ip(&fields.ip);
    note("ip", ip.as_ref().map(|_| ()).map_err(Clone::clone));
    let mut ports = Vec::new();
    for p in fields
        .ports
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match parse_port(p) {
            Ok(p) => ports.push(p),
            Err(m) => note("ports", Err(m)),
        }
    }
    let to = if fields.to.trim().is_empty() {
        Err("missing: where it runs, ENDPOINT or @CLUSTER".to_string())
    } else {
        DeployTarget::parse(fields.to.trim())
    };
    note("to", to.as_ref().map(|_| ()).map_err(Clone::clone));
    let (Ok(ip), Ok(to)) = (ip, to) else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let network = Some(fields.network.trim().to_string()).filter(|n| !n.is_empty());
    let command = match fields.command.trim() {
        "" => Vec::new(),
        c => vec!["sh".into(), "-c".into(), c.to_string()],
    };
    let spec = DeploySpec {
        name: fields.name.trim().to_string(),
        image: fields.image.trim().to_string(),
        command,
        env: Default::default(),
        labels: Default::default(),
        ports,
        ip,
        network,
        restart: RestartPolicy::No,
        healthcheck: None,
        nano_cpus: None,
        memory_bytes: None,
        placement: Placement::default(),
        wait_s,
        networks: Vec::new(),
        run: Default::default(),
        replicas: None,
        batch: 1,
    };
    let mut planned = plan(&spec, fleet, Some(&to), keep_revisions, deployer).map_err(|ps| {
        ps.into_iter()
            .map(|p| SpecProblem {
                key: field_of(&p.key).to_string(),
                message: p.message,
            })
            .collect::<Vec<_>>()
    })?;
    // The form sets a few fields: on an update, everything else of the running revision stays.
    planned.create.complete = false;
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn fields(ip: &str, ports: &str, image: &str, to: &str) -> FormFields {
        FormFields {
            name: "cart".into(),
            image: image.into(),
            command: "sleep 600".into(),
            network: "fleetnet".into(),
            ip: ip.into(),
            ports: ports.into(),
            to: to.into(),
        }
    }

    fn problems(f: &FormFields) -> Vec<String> {
        check_form(f, &lab(), 3, 60, &deployer())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_bad_image_reference_is_named_in_the_image_field() {
        assert_eq!(
            problems(&fields("auto", "", "Busybox:local", "lab1")),
            [
                "image: \"Busybox:local\" is not an image reference; expected \
              [REGISTRY/]NAME[:TAG][@DIGEST] with a lowercase name, e.g. busybox:1.36 or \
              registry.local:5000/shop/cart:2.1"
            ]
        );
    }

    #[test]
    fn an_ip_outside_the_range_or_taken_is_named_in_the_ip_field() {
        assert_eq!(
            problems(&fields("10.1.2.3", "", "busybox:local", "lab1")),
            [
                "ip: 10.1.2.3 is outside the pool of network fleetnet on lab1 \
              (subnet 192.168.2.0/24, range 192.168.2.0/26)"
            ]
        );
        assert_eq!(
            problems(&fields("192.168.2.20", "", "busybox:local", "lab2")),
            ["ip: 192.168.2.20 is taken: used by lab1/web-1"]
        );
        assert_eq!(
            problems(&fields("192.168.2.", "", "busybox:local", "lab2")),
            ["ip: \"192.168.2.\" is neither \"auto\" nor an IPv4 address like 192.168.2.30"]
        );
    }

    #[test]
    fn a_port_clash_is_named_in_the_ports_field() {
        assert_eq!(
            problems(&fields(
                "auto",
                "8080:80, 5432:5432",
                "busybox:local",
                "lab1"
            )),
            ["ports: host port 5432/tcp on lab1 is already published by db"]
        );
        assert_eq!(
            problems(&fields("auto", "8080:http", "busybox:local", "lab1")),
            [
                "ports: \"8080:http\" is not a port; expected [HOST_IP:]HOST_PORT:CONTAINER_PORT\
              [/tcp|udp|sctp] or CONTAINER_PORT, e.g. 8080:80"
            ]
        );
    }

    #[test]
    fn an_unknown_network_and_a_missing_target_are_named() {
        let mut f = fields("auto", "", "busybox:local", "");
        assert_eq!(
            problems(&f),
            ["to: missing: where it runs, ENDPOINT or @CLUSTER"]
        );
        f.to = "lab3".into();
        assert_eq!(
            problems(&f),
            ["network: lab3 has no network \"fleetnet\"; its networks: bridge"]
        );
        f.to = "@nowhere".into();
        assert_eq!(
            problems(&f),
            ["to: no cluster \"nowhere\"; clusters: lab-a, lab-b"]
        );
    }

    #[test]
    fn a_good_form_gives_the_plan() {
        let p = check_form(
            &fields("auto", "8080:80", "busybox:local", "@lab-a"),
            &lab(),
            3,
            60,
            &deployer(),
        )
        .unwrap();
        assert_eq!(p.endpoint_name, "lab2");
        assert_eq!(p.ip, Some("192.168.2.67".parse().unwrap()));
        assert_eq!(p.create.command, ["sh", "-c", "sleep 600"]);
    }
}
