//! Retrying an endpoint: the capped backoff between sessions, and the wait that a `/_ping`
//! cuts short once the daemon answers again. Used by the session loop, the stats collectors
//! and the log tails alike.

use std::time::Duration;

use super::{EndpointClient, transport};

const BACKOFF_START: Duration = Duration::from_millis(500);
/// While an endpoint is down, how often a cheap probe asks whether its daemon answers again.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// Capped exponential backoff: 0.5 s, 1 s, 2 s, … up to the configured maximum.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Self {
        Self {
            next: BACKOFF_START.min(max),
            max,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_START.min(self.max);
    }
}

/// Waits out a backoff `delay` before the next try, cut short once the daemon answers again.
///
/// The backoff spares a daemon that is down the full session setup (negotiate, list, inspect
/// everything, subscribe), but at its cap it also meant up to 30 s before a daemon that was
/// back showed up. So every [`PROBE_EVERY`] a `/_ping` (one connect and one tiny request on
/// the endpoint's pooled client; a refused connect when the daemon is still down) asks whether
/// it answers, and the first answer after one that failed ends the wait. A daemon that
/// answers its ping all along (and fails the session for another reason: an overloaded list,
/// a proxy cutting the event stream) gets the whole backoff, not a session every 2 s.
pub(super) async fn wait_to_retry(client: &EndpointClient, delay: Duration) {
    let until = tokio::time::Instant::now() + delay;
    let raw = client.raw();
    // Asked at once too, so a daemon that was down when the session failed and is back
    // before the first probe is not mistaken for one that answered all along.
    let mut was_down = match &raw {
        Ok(raw) => !answers(raw).await,
        Err(_) => true,
    };
    loop {
        let next = tokio::time::Instant::now() + PROBE_EVERY;
        let Ok(raw) = &raw else { break };
        if next >= until {
            break;
        }
        tokio::time::sleep_until(next).await;
        match answers(raw).await {
            true if was_down => return,
            true => {}
            false => was_down = true,
        }
    }
    tokio::time::sleep_until(until).await;
}

/// Whether the daemon answers a `/_ping` within [`PROBE_EVERY`].
async fn answers(raw: &transport::RawGet) -> bool {
    matches!(
        tokio::time::timeout(PROBE_EVERY, raw.get("/_ping")).await,
        Ok(Ok((200, _)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(3));
        let seq: Vec<_> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(seq, [500, 1000, 2000, 3000, 3000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 500);
    }
}
