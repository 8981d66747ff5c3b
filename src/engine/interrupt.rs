//! The Ctrl-C flag of a write: raised once by the first Ctrl-C, SIGTERM or SIGHUP, read by a
//! deploy, a rollback or a rolling restart between their steps. Its own module so the gate
//! (rolling restarts) and the deploy code (which goes through the gate) both use it without
//! naming each other.

use tokio::sync::watch;

/// Raised once by the first Ctrl-C, SIGTERM or SIGHUP: a deploy or rollback then starts no new
/// step and reverses the one under way. Cloned into every wait.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<Option<String>>);

/// The side that raises an [`Interrupt`]: `raise("SIGINT")`.
#[derive(Debug)]
pub struct Interrupter(watch::Sender<Option<String>>);

impl Interrupter {
    pub fn raise(&self, why: &str) {
        self.0.send_if_modified(|v| {
            let first = v.is_none();
            if first {
                *v = Some(why.to_string());
            }
            first
        });
    }
}

impl Interrupt {
    pub fn new() -> (Interrupter, Self) {
        let (tx, rx) = watch::channel(None);
        (Interrupter(tx), Self(rx))
    }

    /// One that never fires (the dashboard: quitting it leaves the journal to finish).
    pub fn never() -> Self {
        Self::new().1
    }

    /// `Some("interrupted by SIGINT")` once raised.
    pub fn reason(&self) -> Option<String> {
        self.0
            .borrow()
            .as_ref()
            .map(|why| format!("interrupted by {why}"))
    }

    /// Waits until raised; forever when it never can be.
    pub(crate) async fn wait(&self) -> String {
        let mut rx = self.0.clone();
        let raised = rx.wait_for(Option::is_some).await.map(|v| v.clone());
        match raised {
            Ok(Some(why)) => format!("interrupted by {why}"),
            _ => std::future::pending().await,
        }
    }
}
