//! Start-up order: the first stats rounds wait until every endpoint's first sync (its list
//! and every inspect) is in, or [`STATS_HOLD_MAX`] has passed. Started at once, the stats
//! collectors of the endpoints synced first poll every container at the same moment as the
//! others still list and inspect, on daemons and a client that share the CPU: the rows and
//! details everyone waits for then queue behind figures nobody can read yet.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The longest the first stats round waits for the fleet's first syncs: a daemon that hangs
/// through its sync does not keep every other endpoint's stats back for its whole timeout.
pub const STATS_HOLD_MAX: Duration = Duration::from_secs(3);

/// One endpoint's first sync, not yet done; dropping it (done, or the first attempt failed)
/// counts it off.
pub struct FirstSync(Arc<watch::Sender<usize>>);

impl Drop for FirstSync {
    fn drop(&mut self) {
        self.0.send_modify(|left| *left = left.saturating_sub(1));
    }
}

/// What the stats collectors wait on.
#[derive(Clone)]
pub struct FirstSyncs(watch::Receiver<usize>);

impl FirstSyncs {
    /// One [`FirstSync`] per endpoint, and the receiver that sees them all done.
    pub fn new(endpoints: usize) -> (Vec<FirstSync>, Self) {
        let (tx, rx) = watch::channel(endpoints);
        let tx = Arc::new(tx);
        let pending = (0..endpoints).map(|_| FirstSync(tx.clone())).collect();
        (pending, Self(rx))
    }

    /// Until every endpoint's first sync is done or `cap` has passed, whichever is first.
    pub async fn wait(mut self, cap: Duration) {
        let _ = tokio::time::timeout(cap, self.0.wait_for(|left| *left == 0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stats_wait_until_every_first_sync_is_done() {
        let (mut pending, waiter) = FirstSyncs::new(2);
        let waiting = tokio::spawn(waiter.clone().wait(Duration::from_secs(30)));
        drop(pending.pop());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(pending.pop());
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("released once both are done")
            .expect("the wait does not panic");
    }

    #[tokio::test]
    async fn stats_start_after_the_cap_when_a_sync_hangs() {
        let (_pending, waiter) = FirstSyncs::new(1);
        let cap = Duration::from_millis(50);
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), waiter.wait(cap))
            .await
            .expect("the cap ends the wait");
        assert!(started.elapsed() >= cap);
    }
}
