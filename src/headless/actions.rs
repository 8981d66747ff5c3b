//! `fleetdeck start|stop|restart|pause|unpause|kill|rm TARGET...` and `fleetdeck rolling-restart
//! TARGET...`: resolve the targets, print the plan, ask (unless `--yes`), act through the
//! engine's gate, print a result per container. Exit 0 when every container was done, 1 when
//! any failed or was refused (or an endpoint could not be listed), 2 for bad arguments or a
//! confirmation that could not be asked.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use futures::StreamExt;

use super::{EXIT_CONFIG, EXIT_DOWN, EXIT_OK};
use crate::config::Config;
use crate::engine::gate::{Gate, RollingOptions, RollingProgress};
use crate::engine::targets::{self, Resolved};
use crate::model::actions::{Action, ActionResult, Target, plan_headline, plan_line};

/// Exit code when any container failed, was refused, or could not be reached.
pub const EXIT_FAILED: i32 = EXIT_DOWN;

/// How the operator is asked "Proceed?"; `Err` when they cannot be (no terminal).
pub type Confirm<'a> = &'a mut dyn FnMut(&str) -> Result<bool, String>;

/// The usual [`Confirm`]: asks on the terminal, refuses to guess when stdin is not one.
pub fn ask_on_terminal(question: &str) -> Result<bool, String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(
            "stdin is not a terminal, so nobody can confirm; pass --yes to go ahead without asking"
                .into(),
        );
    }
    let mut out = std::io::stdout().lock();
    let question = crate::model::text::sanitize(question);
    write!(out, "{question} [y/N] ").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct ActionArgs {
    pub action: Action,
    pub targets: Vec<String>,
    /// Skip the confirmation.
    pub yes: bool,
    /// Requests in flight at once per endpoint.
    pub parallel: usize,
}

/// Resolution common to both commands: the matches, or the exit code already reported.
async fn resolve(config: &Config, texts: &[String], err: &mut dyn Write) -> Result<Resolved, i32> {
    let mut parsed = Vec::new();
    for t in texts {
        match Target::parse(t) {
            Ok(t) => parsed.push(t),
            Err(e) => {
                let _ = writeln!(err, "fleetdeck: {e}");
                return Err(EXIT_CONFIG);
            }
        }
    }
    match targets::resolve(config, &parsed).await {
        Ok(r) => {
            for (endpoint, reason) in &r.unreachable {
                let _ = writeln!(
                    err,
                    "fleetdeck: {endpoint}: cannot list containers: {reason}"
                );
            }
            if r.matches.is_empty() {
                let _ = writeln!(err, "fleetdeck: nothing to do: no container could be found");
                return Err(EXIT_FAILED);
            }
            Ok(r)
        }
        Err(e) => {
            let _ = writeln!(err, "fleetdeck: {e}");
            Err(EXIT_CONFIG)
        }
    }
}

/// Asks when it must; `Some(code)` when the command ends here.
pub(crate) fn confirmed(
    destructive: bool,
    yes: bool,
    confirm: Confirm<'_>,
    err: &mut dyn Write,
) -> Option<i32> {
    if yes || !destructive {
        return None;
    }
    match confirm("Proceed?") {
        Ok(true) => None,
        Ok(false) => {
            let _ = writeln!(err, "fleetdeck: not confirmed; nothing was done");
            Some(EXIT_FAILED)
        }
        Err(e) => {
            let _ = writeln!(err, "fleetdeck: {e}");
            Some(EXIT_CONFIG)
        }
    }
}

/// `fleetdeck start|stop|restart|pause|unpause|kill|rm`.
pub async fn run(
    config: &Config,
    gate: &Gate,
    args: &ActionArgs,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let resolved = match resolve(config, &args.targets, err).await {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let items: Vec<_> = resolved.matches.iter().map(|m| m.plan_item()).collect();
    writeln!(out, "{}:", plan_headline(&args.action, &items))?;
    for item in &items {
        writeln!(out, "  {}", plan_line(&args.action, item))?;
    }
    out.flush()?;
    if let Some(code) = confirmed(args.action.is_destructive(), args.yes, confirm, err) {
        return Ok(code);
    }

    let reqs: Vec<_> = resolved
        .matches
        .iter()
        .map(|m| m.request(args.action.clone()))
        .collect();
    let (mut ok, mut failed, mut refused) = (0, 0, 0);
    let mut done = gate.bulk_stream(reqs, args.parallel);
    while let Some((_, o)) = done.next().await {
        match o.result {
            ActionResult::Succeeded => ok += 1,
            ActionResult::Failed(_) => failed += 1,
            ActionResult::Refused(_) => refused += 1,
        }
        writeln!(out, "{} ({:.1} s)", o.line(), o.elapsed.as_secs_f64())?;
        out.flush()?;
    }
    let unreachable = resolved.unreachable.len();
    let mut summary = format!("{}: {ok} ok", args.action.verb());
    if failed > 0 {
        summary.push_str(&format!(", {failed} failed"));
    }
    if refused > 0 {
        summary.push_str(&format!(", {refused} refused"));
    }
    if unreachable > 0 {
        summary.push_str(&format!(", {unreachable} endpoints could not be listed"));
    }
    writeln!(out, "{summary}")?;
    Ok(if failed + refused + unreachable == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// What `fleetdeck rolling-restart` was asked.
#[derive(Debug, Clone)]
pub struct RollingArgs {
    pub targets: Vec<String>,
    pub yes: bool,
    pub opts: RollingOptions,
}

/// `fleetdeck rolling-restart`: one batch at a time, each running (and healthy) before the next.
pub async fn rolling(
    config: &Config,
    gate: &Gate,
    args: &RollingArgs,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let resolved = match resolve(config, &args.targets, err).await {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let restart = Action::Restart {
        timeout_s: args.opts.stop_timeout_s,
    };
    let items: Vec<_> = resolved.matches.iter().map(|m| m.plan_item()).collect();
    writeln!(
        out,
        "rolling {}, {} at a time, each running and healthy within {} s before the next:",
        plan_headline(&restart, &items),
        args.opts.batch.max(1),
        args.opts.ready_timeout.as_secs()
    )?;
    for item in &items {
        writeln!(out, "  {}", plan_line(&restart, item))?;
    }
    out.flush()?;
    if let Some(code) = confirmed(true, args.yes, confirm, err) {
        return Ok(code);
    }
    let reqs: Vec<_> = resolved
        .matches
        .iter()
        .map(|m| m.request(restart.clone()))
        .collect();
    let total = reqs.len();
    let mut write_error = None;
    // Ctrl-C once: the batch under way finishes, no other starts; twice: exit at once.
    let (interrupt, listener) =
        super::signals::interrupt_on_signals("rolling restart".into(), false);
    let outcome = gate
        .rolling_restart_until(reqs, args.opts, &interrupt, |step| {
            let line = match step {
                RollingProgress::Restarted(o) => {
                    format!("{} ({:.1} s)", o.line(), o.elapsed.as_secs_f64())
                }
                RollingProgress::Waiting {
                    endpoint_name,
                    request,
                } => format!(
                    "{endpoint_name}/{}: waiting until running and healthy",
                    request.container
                ),
                RollingProgress::Ready {
                    endpoint_name,
                    request,
                    after,
                    healthcheck,
                } => format!(
                    "{endpoint_name}/{}: {} after {:.1} s",
                    request.container,
                    if healthcheck { "healthy" } else { "running" },
                    after.as_secs_f64()
                ),
                RollingProgress::Stopped(stop) => format!("rolling restart {}", stop.line()),
            };
            // Printed as it happens: a rolling restart of a big service takes minutes.
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                write_error.get_or_insert(e);
            }
            async {}
        })
        .await;
    listener.abort();
    if let Some(e) = write_error {
        return Err(e);
    }
    let code = match &outcome.stopped {
        None => {
            writeln!(
                out,
                "rolling restart done: {} of {total} restarted and ready",
                outcome.ready
            )?;
            if resolved.unreachable.is_empty() {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        Some(_) => {
            if !outcome.not_attempted.is_empty() {
                let left: Vec<String> = outcome
                    .not_attempted
                    .iter()
                    .map(|r| {
                        format!(
                            "{}/{}",
                            gate.endpoint_name(r.endpoint).unwrap_or("?"),
                            r.container
                        )
                    })
                    .collect();
                writeln!(out, "not restarted: {}", left.join(", "))?;
            }
            EXIT_FAILED
        }
    };
    Ok(code)
}

/// The ready deadline and poll interval of `rolling-restart --wait S`.
pub fn rolling_options(batch: usize, wait_s: u64, stop_timeout_s: Option<u32>) -> RollingOptions {
    RollingOptions {
        batch: batch.max(1),
        ready_timeout: Duration::from_secs(wait_s.max(1)),
        stop_timeout_s,
        ..RollingOptions::default()
    }
}
