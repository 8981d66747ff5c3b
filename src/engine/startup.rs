//! Start-up order: rows, then details, then figures, fleet-wide.
//!
//! - An endpoint's first inspects wait until every endpoint's first list is in, or
//!   [`INSPECT_HOLD_MAX`] has passed: the inspects of the endpoints listed first (1,000 on
//!   the scale fleet) would otherwise compete with the lists still on their way.
//! - The first stats rounds wait until every endpoint's first sync (its list and every
//!   inspect) is in, or [`STATS_HOLD_MAX`] has passed. Started at once, the stats collectors
//!   of the endpoints synced first poll every container at the same moment as the others
//!   still list and inspect.
//!
//! The daemons of a real fleet do not share a CPU as the lab's do, but the client's one
//! engine thread is shared by all of them, and so is the network path: the rows and details
//! everyone waits for should not queue behind work nobody can read yet.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The longest the first stats round waits for the fleet's first syncs: a daemon that hangs
/// through its sync does not keep every other endpoint's stats back for its whole timeout.
pub const STATS_HOLD_MAX: Duration = Duration::from_secs(3);

/// The longest an endpoint's first inspects wait for the fleet's first lists.
pub const INSPECT_HOLD_MAX: Duration = Duration::from_secs(1);

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

/// One endpoint's part in the start-up order; its first session takes it. Empty (the
/// default) once the first attempt is over.
#[derive(Default)]
pub struct EndpointStartup {
    /// Let go once its first list is in, or its first attempt failed.
    pub first_list: Option<FirstSync>,
    /// Let go once its first sync is in, or its first attempt failed.
    pub first_sync: Option<FirstSync>,
    /// What its first inspects wait on: every endpoint's first list.
    pub lists: Option<FirstSyncs>,
}

impl EndpointStartup {
    /// The first attempt is over (it failed): the others wait for this endpoint no longer.
    pub fn give_up(&mut self) {
        *self = Self::default();
    }
}

/// One [`EndpointStartup`] per endpoint, and what the stats collectors wait on.
pub fn plan(endpoints: usize) -> (Vec<EndpointStartup>, FirstSyncs) {
    let (lists_pending, lists) = FirstSyncs::new(endpoints);
    let (syncs_pending, syncs) = FirstSyncs::new(endpoints);
    let each = lists_pending
        .into_iter()
        .zip(syncs_pending)
        .map(|(list, sync)| EndpointStartup {
            first_list: Some(list),
            first_sync: Some(sync),
            lists: Some(lists.clone()),
        })
        .collect();
    (each, syncs)
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

    #[tokio::test]
    async fn inspects_wait_for_every_list_and_stats_for_every_sync() {
        let (mut each, syncs) = plan(2);
        let lists = each[0].lists.take().expect("a waiter for the lists");
        let inspects = tokio::spawn(lists.wait(Duration::from_secs(30)));
        let stats = tokio::spawn(syncs.wait(Duration::from_secs(30)));
        // Both listed: the inspects go, the stats still wait for the syncs.
        each[0].first_list.take();
        each[1].first_list.take();
        tokio::time::timeout(Duration::from_secs(5), inspects)
            .await
            .expect("released once both are listed")
            .expect("the wait does not panic");
        assert!(!stats.is_finished());
        each[0].first_sync.take();
        // An endpoint whose first attempt failed is waited for no longer.
        each[1].give_up();
        tokio::time::timeout(Duration::from_secs(5), stats)
            .await
            .expect("released once both are synced or given up")
            .expect("the wait does not panic");
    }
}
