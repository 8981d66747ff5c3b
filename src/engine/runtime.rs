//! The engine's own thread and runtime ([`EngineThread`]), which the dashboard runs the fleet on.

/// A thread of its own for the engine: a current-thread runtime that runs every endpoint's
/// tasks, so the dashboard's thread (drawing, a terminal write stalled by a slow SSH link)
/// never delays the daemons' I/O and liveness timers, and they never delay a frame. Two
/// single-thread runtimes rather than one with a worker pool: the engine's tasks wake each
/// other often (stats rounds, polls, events), and waking across threads cost about 15 % more
/// CPU in A/B runs (BENCHMARKS.md).
pub struct EngineThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl EngineThread {
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fleetdeck-engine".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Dropping the runtime cancels its tasks and lets blocking work (an audit
                // record being written) finish.
                drop(runtime);
                let _ = done_tx.send(());
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            done,
        })
    }

    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }
}

impl Drop for EngineThread {
    /// Stops the engine and waits for it a little: long enough for an audit record in flight,
    /// never long enough to hang a quit.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.done.recv_timeout(std::time::Duration::from_secs(2));
    }
}
