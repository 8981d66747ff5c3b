//! Remote transports against real servers: the lab's sshd in lab6's namespace (port 2222, not
//! 22) and lab6's mutual-TLS listener (`scripts/lab.sh remote`, part of `up`). lab6 is used by
//! no other test, so 30 containers there load nobody else's daemon.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fleetdeck::config::Config;
use fleetdeck::engine;
use fleetdeck::model::logs::LogSource;
use fleetdeck::model::{EndpointSpec, TlsFiles};
use fleetdeck::model::{Link, MsgKind};

use crate::support::{Harness, RemoveOnDrop, docker, lab_config, sleeper, unique};

const SSH_CONFIG: &str = "/run/fleetdeck-lab/ssh/config";
pub const TLS_DIR: &str = "/run/fleetdeck-lab/tls";
const LAB6_SOCK: &str = "unix:///run/fleetdeck-lab/lab6/docker.sock";
const LAB6_SSH: &str = "ssh://root@10.203.6.2:2222";
pub const LAB6_TLS: &str = "tcp://10.203.6.2:2376";

/// The SSH tests count connections at lab6's sshd and one cuts lab6 off: lab6's tests take turns.
pub static LAB6: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Fails loudly, with the fix, when the lab's remote parts are missing.
fn require_remote_lab() {
    for p in [SSH_CONFIG, TLS_DIR] {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: the lab's sshd and TLS daemon are not up; run `scripts/lab.sh up` \
             (or `scripts/lab.sh remote` on a running lab)"
        );
    }
}

/// The lab config's engine timings, with `endpoints` instead of the lab's.
fn config_with(endpoints: Vec<EndpointSpec>) -> Config {
    require_remote_lab();
    let mut config = lab_config(&["lab1"]);
    config.endpoints = endpoints;
    config
}

fn ssh_spec(name: &str, url: &str, ssh_config: &str) -> EndpointSpec {
    let mut spec = EndpointSpec::from_url(Some(name), url).unwrap();
    spec.ssh_config = Some(PathBuf::from(ssh_config));
    spec
}

pub fn tls_spec(name: &str, url: &str, ca: &str, client: bool) -> EndpointSpec {
    let mut spec = EndpointSpec::from_url(Some(name), url).unwrap();
    spec.tls = Some(TlsFiles {
        ca: PathBuf::from(ca),
        cert: client.then(|| PathBuf::from(TLS_DIR).join("client/cert.pem")),
        key: client.then(|| PathBuf::from(TLS_DIR).join("client/key.pem")),
    });
    spec
}

/// lab6 over its unix socket, for the docker CLI.
pub fn lab6_direct() -> Config {
    config_with(vec![
        EndpointSpec::from_url(Some("lab6"), LAB6_SOCK).unwrap(),
    ])
}

/// Established TCP connections to lab6's sshd, counted inside its namespace.
fn ssh_connections() -> usize {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            "fdlab6",
            "ss",
            "-Htn",
            "state",
            "established",
            "( sport = :2222 )",
        ])
        .output()
        .expect("ss runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_containers_over_ssh_on_a_custom_port_share_one_ssh_connection() {
    let _turn = LAB6.lock().await;
    let direct = lab6_direct();
    let mut cleanup = RemoveOnDrop::new(&direct, "lab6");
    let tag = unique("ssh");
    let names: Vec<String> = (0..30)
        .map(|i| cleanup.add(format!("{tag}-{i:02}")))
        .collect();
    for name in &names {
        docker(
            &direct,
            "lab6",
            &[
                "run",
                "-d",
                "--name",
                name,
                "busybox:local",
                "sh",
                "-c",
                "trap 'exit 0' TERM; while true; do echo tick; sleep 1; done",
            ],
        );
    }
    assert_eq!(
        ssh_connections(),
        0,
        "no SSH connection to lab6 before the test"
    );

    let mut config = config_with(vec![ssh_spec("ssh6", LAB6_SSH, SSH_CONFIG)]);
    config.stats.interval = Some(Duration::from_secs(1));
    let mut h = Harness::start(&config);
    let took = h
        .wait_for("all 30 containers over ssh", Duration::from_secs(60), |f| {
            let ep = &f.endpoints[0];
            ep.is_up()
                && names
                    .iter()
                    .all(|n| ep.containers.values().any(|c| &c.name == n))
        })
        .await;
    eprintln!("30 containers over ssh after {took:?}");
    let ids: Vec<String> = names
        .iter()
        .map(|n| {
            crate::support::find(&h.fleet, "ssh6", n)
                .unwrap()
                .id
                .clone()
        })
        .collect();
    let took = h
        .wait_for(
            "two stats samples of each of the 30",
            Duration::from_secs(150),
            |f| {
                ids.iter()
                    .all(|id| f.stats.history(0, id).is_some_and(|s| s.len() >= 2))
            },
        )
        .await;
    eprintln!("live stats for all 30 after {took:?}");

    // A merged log tail of five containers and the event stream, while stats keep sampling:
    // three streams are followed, the last two are refused with a reason rather than left
    // waiting for a channel (each stream holds one for as long as it is open).
    let sources: Vec<LogSource> = (0..5)
        .map(|i| LogSource {
            endpoint: 0,
            container_id: ids[i].clone(),
            tag: format!("ssh6/{}", names[i]),
        })
        .collect();
    h.tasks.open_tail(1, &sources, 5);
    let seen = std::sync::Arc::new(std::sync::Mutex::new((
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    )));
    let log = seen.clone();
    h.wait_for_with(
        "log lines of three sources over ssh, two refused",
        Duration::from_secs(20),
        move |m| {
            if let MsgKind::Log { lines, .. } = &m.kind {
                let mut s = log.lock().unwrap();
                for l in lines {
                    if l.text.contains("tick") {
                        s.0.insert(l.source);
                    } else if l.text.contains("not followed") {
                        s.1.insert(l.source);
                    }
                }
            }
        },
        |_| {
            let s = seen.lock().unwrap();
            s.0.len() == 3 && s.1.len() == 2
        },
    )
    .await;
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.0.iter().copied().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(s.1.iter().copied().collect::<Vec<_>>(), [3, 4]);
    }
    let extra = cleanup.add(format!("{tag}-event"));
    sleeper(&direct, "lab6", &extra, 300);
    let took = h
        .wait_for("the start event over ssh", Duration::from_secs(10), |f| {
            f.events
                .iter()
                .any(|e| e.actor == extra && e.action == "start")
        })
        .await;
    eprintln!("start event over ssh after {took:?}");
    // Stats keep coming while the tail and the event stream hold their channels.
    let samples =
        |f: &fleetdeck::model::Fleet, id: &str| f.stats.history(0, id).map_or(0, |s| s.len());
    let (a, b) = (samples(&h.fleet, &ids[0]), samples(&h.fleet, &ids[29]));
    h.wait_for("a fresh stats round", Duration::from_secs(120), |f| {
        samples(f, &ids[0]) > a && samples(f, &ids[29]) > b
    })
    .await;

    // Everything above — sync, 30 inspects, stats rounds, the tail, the event stream — went
    // over one SSH connection, as sshd sees it.
    assert_eq!(
        ssh_connections(),
        1,
        "one SSH connection carries the whole endpoint"
    );
    h.tasks.close_tail(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_host_key_mismatch_a_wrong_user_and_a_missing_docker_each_say_so() {
    let _turn = LAB6.lock().await;
    require_remote_lab();
    // known_hosts where lab6's entry holds lab1's host key: what a rebuilt host (or a man in
    // the middle) looks like.
    let dir = tempfile::tempdir().unwrap();
    let lab1_key =
        std::fs::read_to_string("/run/fleetdeck-lab/lab1/sshd/ssh_host_ed25519_key.pub").unwrap();
    let lab1_key: Vec<&str> = lab1_key.split_whitespace().take(2).collect();
    std::fs::write(
        dir.path().join("known_hosts"),
        format!("[10.203.6.2]:2222 {}\n", lab1_key.join(" ")),
    )
    .unwrap();
    let lab_cfg = std::fs::read_to_string(SSH_CONFIG).unwrap();
    let bad_cfg = dir.path().join("config");
    std::fs::write(
        &bad_cfg,
        lab_cfg.replace(
            "/run/fleetdeck-lab/ssh/known_hosts",
            &dir.path().join("known_hosts").display().to_string(),
        ),
    )
    .unwrap();

    let config = config_with(vec![]);
    let mismatch = ssh_spec("ssh6", LAB6_SSH, &bad_cfg.display().to_string());
    probe_fails_with(
        &mismatch,
        &config,
        "host key mismatch: root@10.203.6.2:2222",
    )
    .await;

    let wrong_user = ssh_spec("ssh6", "ssh://nobody@10.203.6.2:2222", SSH_CONFIG);
    probe_fails_with(
        &wrong_user,
        &config,
        "authentication failed for nobody@10.203.6.2:2222",
    )
    .await;

    // A login that works on a host without docker (the lab's second key logs in with
    // PATH=/nonexistent).
    let no_docker_cfg = dir.path().join("config-nodocker");
    std::fs::write(
        &no_docker_cfg,
        lab_cfg.replace(
            "/run/fleetdeck-lab/ssh/id_ed25519",
            "/run/fleetdeck-lab/ssh/id_nodocker",
        ),
    )
    .unwrap();
    let no_docker = ssh_spec("ssh6", LAB6_SSH, &no_docker_cfg.display().to_string());
    probe_fails_with(
        &no_docker,
        &config,
        "docker is not installed on root@10.203.6.2:2222",
    )
    .await;

    // And with the lab's known_hosts and user it works: the failures above are about the key
    // and the user, nothing else. (Through the config's alias, which also supplies the port,
    // user and key, as ~/.ssh/config would.)
    let good = ssh_spec("ssh6", "ssh://ssh-lab6", SSH_CONFIG);
    let probe = engine::probe(&good, &config.engine).await.unwrap();
    assert_eq!(probe.api_version, "1.41");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_endpoint_syncs_with_the_right_certificates() {
    let _turn = LAB6.lock().await;
    let ca = format!("{TLS_DIR}/ca.pem");
    let config = config_with(vec![tls_spec("tls6", LAB6_TLS, &ca, true)]);
    let mut h = Harness::start(&config);
    h.wait_for("lab6 up over mutual TLS", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
            && f.endpoints[0]
                .info
                .as_ref()
                .is_some_and(|i| i.engine_version.starts_with("20.10"))
    })
    .await;
}

/// A TLS front on 127.0.0.1 with one of the lab's bad server certificates, relaying to lab3
/// after the handshake (a client that rightly refuses the certificate never gets that far).
async fn bad_tls_front(cert: &str) -> (u16, tokio::task::JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = Path::new(TLS_DIR).join("bad");
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(bad.join(format!("{cert}-cert.pem")))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(bad.join(format!("{cert}-key.pem"))).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut daemon) = tokio::net::TcpStream::connect("10.203.3.2:2375").await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut daemon).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_material_gives_a_clear_error_naming_the_endpoint() {
    let _turn = LAB6.lock().await;
    let ca = format!("{TLS_DIR}/ca.pem");
    let rogue = format!("{TLS_DIR}/bad/rogue-ca.pem");
    let config = config_with(vec![]);
    let says = |spec: EndpointSpec| {
        let settings = config.engine.clone();
        async move {
            let err = engine::probe(&spec, &settings)
                .await
                .unwrap_err()
                .to_string();
            eprintln!("{}: {err}", spec.name);
            err
        }
    };

    let err = says(tls_spec("wrong-ca", LAB6_TLS, &rogue, true)).await;
    assert!(
        err.starts_with("TLS to 10.203.6.2:2376: unknown issuer"),
        "got: {err}"
    );
    let err = says(tls_spec("no-client-cert", LAB6_TLS, &ca, false)).await;
    assert!(
        err.starts_with("TLS to 10.203.6.2:2376: missing client certificate"),
        "got: {err}"
    );

    let (port, front) = bad_tls_front("expired").await;
    let err = says(tls_spec(
        "expired",
        &format!("tcp://127.0.0.1:{port}"),
        &ca,
        true,
    ))
    .await;
    assert!(
        err.starts_with(&format!(
            "TLS to 127.0.0.1:{port}: the daemon's certificate has expired"
        )),
        "got: {err}"
    );
    front.abort();

    let (port, front) = bad_tls_front("wrongname").await;
    let err = says(tls_spec(
        "wrong-name",
        &format!("tcp://127.0.0.1:{port}"),
        &ca,
        true,
    ))
    .await;
    assert!(
        err.starts_with(&format!("TLS to 127.0.0.1:{port}: name mismatch")),
        "got: {err}"
    );
    front.abort();

    // In the running engine the same reason is the endpoint's Down reason.
    let config = config_with(vec![tls_spec("wrong-ca", LAB6_TLS, &rogue, true)]);
    let mut h = Harness::start(&config);
    h.wait_for("down with the TLS reason", Duration::from_secs(20), |f| {
        matches!(&f.endpoints[0].link, Link::Down { reason, .. } if reason.contains("unknown issuer"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_endpoint_behind_a_partition_is_down_in_bounded_time_and_comes_back() {
    let _turn = LAB6.lock().await;
    let direct = lab6_direct();
    let mut cleanup = RemoveOnDrop::new(&direct, "lab6");
    let gap = cleanup.add(unique("ssh-gap"));
    let mut config = config_with(vec![ssh_spec("ssh6", LAB6_SSH, SSH_CONFIG)]);
    config.engine.down_after = Duration::from_secs(6);
    let mut h = Harness::start(&config);
    h.wait_for("up over ssh", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;

    let cut = crate::partition::Blackhole::new("10.203.6.2");
    let took = h
        .wait_for("down behind the partition", Duration::from_secs(15), |f| {
            matches!(f.endpoints[0].link, Link::Down { .. })
        })
        .await;
    let Link::Down { reason, .. } = &h.fleet.endpoints[0].link else {
        unreachable!()
    };
    eprintln!("ssh6 down after {took:?}: {reason}");
    assert!(reason.starts_with("no answer for"), "reason: {reason}");
    assert!(took <= Duration::from_millis(7500), "took {took:?}");
    // The daemon lives on behind the cut (reached over its socket).
    let run = crate::support::docker_raw(
        &direct,
        "lab6",
        &["run", "--name", &gap, "busybox:local", "sh", "-c", "exit 3"],
    );
    assert_eq!(run.status.code(), Some(3));
    drop(cut);

    let back = h
        .wait_for(
            "back over ssh with the missed event",
            Duration::from_secs(40),
            |f| {
                f.endpoints[0].is_up()
                    && f.events.iter().any(|e| e.actor == gap && e.action == "die")
            },
        )
        .await;
    eprintln!("ssh6 back and backfilled {back:?} after the rule was lifted");
}

/// Probes `spec` and checks it fails with an error that starts with `prefix`.
async fn probe_fails_with(spec: &EndpointSpec, config: &Config, prefix: &str) {
    let err = engine::probe(spec, &config.engine)
        .await
        .expect_err("the probe fails")
        .to_string();
    eprintln!("{err}");
    assert!(err.starts_with(prefix), "got: {err}");
}
