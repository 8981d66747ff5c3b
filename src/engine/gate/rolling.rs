//! The rolling restart: a batch at a time, each waited for until it runs (and is healthy),
//! stopping at the first failure; with its options, progress steps and outcome.

use std::future::Future;
use std::time::{Duration, Instant};

use bollard::query_parameters::InspectContainerOptions;

use super::Gate;
use crate::engine::interrupt::Interrupt;
use crate::engine::{convert, deadline};
use crate::model::actions::{Action, ActionOutcome, ActionRequest};

impl Gate {
    /// Restarts `reqs` `opts.batch` at a time. After each batch it waits until every
    /// container of it runs and, if it has a healthcheck, is healthy in its new run; then the
    /// next batch. It stops at the first failure (restart failed or refused, exited, unhealthy,
    /// not ready in time) and says where. `progress` hears every step as it happens.
    pub async fn rolling_restart<F, Fut>(
        &self,
        reqs: Vec<ActionRequest>,
        opts: RollingOptions,
        progress: F,
    ) -> RollingOutcome
    where
        F: FnMut(RollingProgress) -> Fut,
        Fut: Future<Output = ()>,
    {
        self.rolling_restart_until(reqs, opts, &Interrupt::never(), progress)
            .await
    }

    /// [`Gate::rolling_restart`] that an [`Interrupt`] (Ctrl-C) stops between batches: the
    /// batch under way is finished and waited for, no later one is begun.
    pub async fn rolling_restart_until<F, Fut>(
        &self,
        reqs: Vec<ActionRequest>,
        opts: RollingOptions,
        interrupt: &Interrupt,
        mut progress: F,
    ) -> RollingOutcome
    where
        F: FnMut(RollingProgress) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut out = RollingOutcome::default();
        let mut pending: std::collections::VecDeque<ActionRequest> = reqs
            .into_iter()
            .map(|mut r| {
                r.action = Action::Restart {
                    timeout_s: opts.stop_timeout_s,
                };
                r
            })
            .collect();
        while let Some(next) = pending.front() {
            if let Some(why) = interrupt.reason() {
                let stop = RollingStop {
                    endpoint_name: self.endpoint_name(next.endpoint).unwrap_or("?").into(),
                    request: next.clone(),
                    reason: format!("{why}: stopped before this one"),
                };
                progress(RollingProgress::Stopped(stop.clone())).await;
                out.stopped = Some(stop);
                out.not_attempted = pending.into_iter().collect();
                return out;
            }
            let n = opts.batch.max(1).min(pending.len());
            let batch: Vec<ActionRequest> = pending.drain(..n).collect();
            let outcomes =
                futures::future::join_all(batch.iter().cloned().map(|r| self.apply(r))).await;
            let mut failed = None;
            for o in outcomes {
                if failed.is_none() && !o.result.is_ok() {
                    failed = Some(RollingStop {
                        endpoint_name: o.endpoint_name.clone(),
                        request: o.request.clone(),
                        reason: format!("restart {}", o.result.text()),
                    });
                }
                progress(RollingProgress::Restarted(o.clone())).await;
                out.restarted.push(o);
            }
            if failed.is_none() {
                for r in &batch {
                    progress(RollingProgress::Waiting {
                        endpoint_name: self.endpoint_name(r.endpoint).unwrap_or("?").into(),
                        request: r.clone(),
                    })
                    .await;
                }
                let waits = futures::future::join_all(
                    batch
                        .iter()
                        .map(|r| self.wait_ready(r, opts.ready_timeout, opts.poll)),
                )
                .await;
                for (r, w) in batch.iter().zip(waits) {
                    let endpoint_name = self.endpoint_name(r.endpoint).unwrap_or("?").to_string();
                    match w {
                        Ok(ready) => {
                            out.ready += 1;
                            progress(RollingProgress::Ready {
                                endpoint_name,
                                request: r.clone(),
                                after: ready.after,
                                healthcheck: ready.healthcheck,
                            })
                            .await;
                        }
                        Err(reason) if failed.is_none() => {
                            failed = Some(RollingStop {
                                endpoint_name,
                                request: r.clone(),
                                reason,
                            });
                        }
                        Err(_) => {}
                    }
                }
            }
            if let Some(stop) = failed {
                progress(RollingProgress::Stopped(stop.clone())).await;
                out.stopped = Some(stop);
                out.not_attempted = pending.into_iter().collect();
                return out;
            }
        }
        out
    }

    /// Polls a restarted container until it runs (and is healthy in this run, when it has a
    /// healthcheck), or fails: exited, unhealthy, or not ready by `limit`.
    async fn wait_ready(
        &self,
        req: &ActionRequest,
        limit: Duration,
        poll: Duration,
    ) -> Result<Ready, String> {
        let started = Instant::now();
        let docker = self
            .client(req.endpoint)
            .await
            .map_err(|e| format!("cannot reach the endpoint: {e}"))?;
        loop {
            let last = match deadline(
                self.settings.request_timeout,
                docker.inspect_container(&req.container_id, None::<InspectContainerOptions>),
            )
            .await
            {
                Ok(c) => match readiness(&c) {
                    Readiness::Ready { healthcheck } => {
                        return Ok(Ready {
                            after: started.elapsed(),
                            healthcheck,
                        });
                    }
                    Readiness::Failed(reason) => return Err(reason),
                    Readiness::NotYet(what) => what,
                },
                Err(e) => e.to_string(),
            };
            if started.elapsed() + poll > limit {
                return Err(format!("not ready within {} s ({last})", limit.as_secs()));
            }
            tokio::time::sleep(poll).await;
        }
    }
}

struct Ready {
    after: Duration,
    healthcheck: bool,
}

pub(crate) enum Readiness {
    Ready { healthcheck: bool },
    NotYet(String),
    Failed(String),
}

/// Is a just-restarted container up? Running (not restarting, not paused), and when it has a
/// healthcheck, healthy on a probe that ran in this run (after its StartedAt), so a health
/// status left over from before the restart never counts.
pub(crate) fn readiness(c: &bollard::models::ContainerInspectResponse) -> Readiness {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let Some(state) = &c.state else {
        return Readiness::NotYet("no state reported".into());
    };
    match state.status {
        Some(S::RUNNING) => {}
        Some(S::RESTARTING) | Some(S::CREATED) => {
            return Readiness::NotYet(state.status.map(|s| s.to_string()).unwrap_or_default());
        }
        Some(S::EXITED) | Some(S::DEAD) => {
            return Readiness::Failed(format!(
                "exited with code {} after the restart",
                state.exit_code.unwrap_or(-1)
            ));
        }
        Some(S::PAUSED) => return Readiness::Failed("paused".into()),
        other => {
            return Readiness::NotYet(format!(
                "state {}",
                other.map(|s| s.to_string()).unwrap_or_default()
            ));
        }
    }
    let has_healthcheck = c
        .config
        .as_ref()
        .and_then(|cfg| cfg.healthcheck.as_ref())
        .and_then(|h| h.test.as_ref())
        .and_then(|t| t.first())
        .is_some_and(|first| first != "NONE");
    if !has_healthcheck {
        return Readiness::Ready { healthcheck: false };
    }
    let started_at = state.started_at.as_deref().and_then(convert::parse_time);
    let Some(health) = &state.health else {
        return Readiness::NotYet("health: no report yet".into());
    };
    let last_probe = health.log.as_ref().and_then(|l| l.last());
    let probe_in_this_run = match (last_probe.and_then(|p| p.start.as_deref()), started_at) {
        (Some(probe), Some(run)) => convert::parse_time(probe).is_some_and(|p| p >= run),
        _ => false,
    };
    match health.status {
        Some(H::HEALTHY) if probe_in_this_run => Readiness::Ready { healthcheck: true },
        Some(H::UNHEALTHY) if probe_in_this_run => {
            let output = last_probe
                .and_then(|p| p.output.as_deref())
                .map(|o| crate::model::text::sanitize(o.trim()).into_owned())
                .filter(|o| !o.is_empty())
                .map(|o| format!(": {o}"))
                .unwrap_or_default();
            Readiness::Failed(format!("unhealthy after the restart{output}"))
        }
        other => Readiness::NotYet(format!(
            "health: {}",
            other.map(|s| s.to_string()).unwrap_or_default()
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingOptions {
    /// Containers restarted together before waiting for them.
    pub batch: usize,
    /// How long one batch may take to run and be healthy.
    pub ready_timeout: Duration,
    /// Passed to each restart as its stop timeout.
    pub stop_timeout_s: Option<u32>,
    /// How often a waiting container is inspected.
    pub poll: Duration,
}

impl Default for RollingOptions {
    fn default() -> Self {
        Self {
            batch: 1,
            ready_timeout: Duration::from_secs(120),
            stop_timeout_s: None,
            poll: Duration::from_millis(500),
        }
    }
}

/// A step of a rolling restart, as it happens.
#[derive(Debug, Clone)]
pub enum RollingProgress {
    Restarted(ActionOutcome),
    Waiting {
        endpoint_name: String,
        request: ActionRequest,
    },
    Ready {
        endpoint_name: String,
        request: ActionRequest,
        after: Duration,
        healthcheck: bool,
    },
    Stopped(RollingStop),
}

/// Where and why a rolling restart stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingStop {
    pub endpoint_name: String,
    pub request: ActionRequest,
    pub reason: String,
}

impl RollingStop {
    /// "stopped at lab2/web: unhealthy after the restart: …".
    pub fn line(&self) -> String {
        format!(
            "stopped at {}/{}: {}",
            self.endpoint_name, self.request.container, self.reason
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct RollingOutcome {
    /// Every restart attempted, in order, with its result.
    pub restarted: Vec<ActionOutcome>,
    /// How many came back running (and healthy).
    pub ready: usize,
    pub stopped: Option<RollingStop>,
    /// What was left when it stopped.
    pub not_attempted: Vec<ActionRequest>,
}

impl RollingOutcome {
    pub fn is_ok(&self) -> bool {
        self.stopped.is_none()
    }
}
