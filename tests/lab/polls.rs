//! One-shot stats polls on plain sockets (`engine::transport::plain`): a reading over a unix
//! socket and over TCP, the daemon's error for a container that does not exist, and sockets
//! kept from one round to the next; inspects on the same sockets.

use fleetdeck::config::Config;
use fleetdeck::engine::EndpointClient;
use fleetdeck::engine::stats::poll_round;
use fleetdeck::model::EndpointSpec;

use crate::support::{Proxy, RemoveOnDrop, lab_config, unique};

/// Starts a sleeping container of this test's own on `endpoint`; answers its id.
fn sleeper(cleanup: &mut RemoveOnDrop, endpoint: &str) -> String {
    let config = lab_config(&[endpoint]);
    let name = cleanup.add(unique("polls"));
    crate::actions::run_quick(&config, endpoint, &name)
}

/// `count` sleepers of this test's own on lab2, and a client of lab2 through a counting proxy:
/// every connection the client opens is accepted there.
async fn behind_proxy(
    config: &Config,
    cleanup: &mut RemoveOnDrop,
    count: usize,
) -> (Vec<String>, Proxy, EndpointClient) {
    let ids = (0..count).map(|_| sleeper(cleanup, "lab2")).collect();
    let proxy = Proxy::start("10.203.2.2:2375").await;
    let spec = EndpointSpec::from_url(Some("polls-proxy"), &proxy.url()).expect("spec");
    let client = EndpointClient::new(&spec, &config.engine);
    (ids, proxy, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_read_a_running_container_over_unix_and_tcp_and_name_a_missing_one() {
    for endpoint in ["lab1", "lab2"] {
        let config = lab_config(&[endpoint]);
        let mut cleanup = RemoveOnDrop::new(&config, endpoint);
        let id = sleeper(&mut cleanup, endpoint);
        let client = EndpointClient::new(&config.endpoints[0], &config.engine);
        let missing = unique("polls-nope");
        let round = poll_round(&client, &[id.clone(), missing.clone()], &config.engine)
            .await
            .expect("the daemon answers");
        assert_eq!(round.len(), 2);
        let mut got_reading = false;
        for r in round {
            match r {
                Ok((cid, stats)) => {
                    assert_eq!(cid, id, "{endpoint}");
                    assert!(stats.mem_usage > 0, "{endpoint}: {stats:?}");
                    assert!(stats.pids >= 1, "{endpoint}: {stats:?}");
                    got_reading = true;
                }
                // The same text as through the hyper pool: the daemon's own message.
                Err(e) => assert_eq!(
                    e.to_string(),
                    format!("No such container: {missing}"),
                    "{endpoint}"
                ),
            }
        }
        assert!(got_reading, "{endpoint}: no reading");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_reuse_their_connections_from_round_to_round() {
    let config = lab_config(&["lab2"]);
    let mut cleanup = RemoveOnDrop::new(&config, "lab2");
    let (ids, proxy, client) = behind_proxy(&config, &mut cleanup, 3).await;
    let read_all = |round: Vec<Result<_, _>>| {
        assert_eq!(round.len(), 3);
        for r in round {
            r.expect("a reading");
        }
    };
    read_all(
        poll_round(&client, &ids, &config.engine)
            .await
            .expect("round 1"),
    );
    // The version negotiation (hyper's pool) and one socket per poll of the round.
    let after_first = proxy.connections();
    assert!(after_first <= 1 + ids.len(), "{after_first} connections");
    for round in 2..=6 {
        read_all(
            poll_round(&client, &ids, &config.engine)
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}")),
        );
    }
    let requests = proxy.requests();
    let polls = requests
        .iter()
        .filter(|r| r.contains("one-shot=true"))
        .count();
    assert_eq!(polls, 6 * ids.len(), "{requests:?}");
    assert_eq!(
        proxy.connections(),
        after_first,
        "later rounds opened connections: {requests:?}"
    );
}

/// Inspects on unix and plain TCP endpoints go out on the plain sockets the polls use
/// (`ReadOnly::inspect_container`): the same document as bollard's own request, the same error
/// for a container that does not exist, and the sockets of one burst used again by the next,
/// where hyper's pool keeps only two idle connections on such endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspects_go_out_on_plain_sockets_and_read_as_bollards_do() {
    use bollard::query_parameters::InspectContainerOptions;
    use fleetdeck::engine::EngineError;

    let through_bollard = || Some(InspectContainerOptions { size: false });
    for endpoint in ["lab1", "lab2"] {
        let config = lab_config(&[endpoint]);
        let mut cleanup = RemoveOnDrop::new(&config, endpoint);
        let id = sleeper(&mut cleanup, endpoint);
        let client = EndpointClient::new(&config.endpoints[0], &config.engine);
        let docker = client.connect().await.expect("connects");
        assert!(
            format!("{docker:?}").contains("plain_gets: true"),
            "{endpoint}: {docker:?}"
        );
        let plain = docker.inspect_container(&id, None).await.expect("inspect");
        let bollards = docker
            .inspect_container(&id, through_bollard())
            .await
            .expect("bollard's inspect");
        assert_eq!(plain.id.as_deref(), Some(id.as_str()), "{endpoint}");
        assert_eq!(
            serde_json::to_value(&plain).expect("json"),
            serde_json::to_value(&bollards).expect("json"),
            "{endpoint}"
        );
        let missing = unique("polls-nope");
        let error = |r: Result<_, bollard::errors::Error>| {
            EngineError::from(r.expect_err("no such container")).to_string()
        };
        let plain_error = error(docker.inspect_container(&missing, None).await);
        assert_eq!(
            plain_error,
            error(docker.inspect_container(&missing, through_bollard()).await),
            "{endpoint}"
        );
        assert!(
            plain_error.starts_with("daemon answered 404"),
            "{endpoint}: {plain_error}"
        );
    }

    let config = lab_config(&["lab2"]);
    let mut cleanup = RemoveOnDrop::new(&config, "lab2");
    let (ids, proxy, client) = behind_proxy(&config, &mut cleanup, 4).await;
    let docker = client.connect().await.expect("connects");
    let burst =
        || futures::future::join_all(ids.iter().map(|id| docker.inspect_container(id, None)));
    for found in burst().await {
        found.expect("inspect");
    }
    let after_first = proxy.connections();
    for round in 2..=4 {
        for found in burst().await {
            found.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
    let inspects = proxy
        .requests()
        .iter()
        .filter(|r| r.ends_with("/json") && r.contains("/containers/"))
        .count();
    assert_eq!(inspects, 4 * ids.len(), "{:?}", proxy.requests());
    assert_eq!(
        proxy.connections(),
        after_first,
        "later bursts opened connections: {:?}",
        proxy.requests()
    );
}
