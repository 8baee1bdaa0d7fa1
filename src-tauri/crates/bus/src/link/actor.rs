//! The actor's loop: one task owns the link's transport and, in a fixed order, serves
//! E-stops first, then ended jogs, then jobs (the oldest of the highest class, with late
//! polls let in so neither starves), then the telemetry and state polls when due, and
//! idles until something is due or arrives. It is the same loop for every protocol and
//! every [`Transport`]; losing the link and reconnecting live in [`super::discovery`].

use super::*;

/// Finds the configured drives over `io`, then starts the actor that owns it.
pub(crate) async fn spawn<T>(
    id: LinkId,
    io: T,
    reopen: Option<Reopen<T>>,
    config: LinkConfig,
    sink: Arc<dyn EventSink>,
    clock: Clock,
) -> Result<LinkHandle, LinkError>
where
    T: Transport,
{
    if !(config.poll_hz > 0.0 && config.poll_hz <= protocol::MAX_POLL_HZ) {
        return Err(LinkError::Config(format!(
            "poll rate {} Hz is outside 0 – {} Hz",
            config.poll_hz,
            protocol::MAX_POLL_HZ
        )));
    }
    if config.baud == 0 {
        return Err(LinkError::Config("the baud rate must be positive".into()));
    }
    let protocol: Arc<dyn LinkProtocol> = Arc::from(protocol::for_protocol(config.protocol()?));
    if let Some((bad, _)) = config
        .drives
        .iter()
        .find(|(id, _)| *id == 0 && protocol.protocol() == Protocol::ModbusRtu)
        .or_else(|| config.drives.iter().find(|(id, _)| *id > protocol.max_id()))
    {
        return Err(LinkError::Config(format!(
            "drive ID {bad} is not an address a {} drive can have",
            protocol.name()
        )));
    }
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let (estops, estops_rx) = mpsc::unbounded_channel();
    let drives: SharedDrives = Arc::new(RwLock::new(BTreeMap::new()));
    let up = Arc::new(AtomicBool::new(true));
    let baud = Arc::new(AtomicU32::new(config.baud));
    let health = Arc::new(Mutex::new(LinkHealth {
        poll_target_hz: config.poll_hz,
        adapter_warning: crate::health::ftdi_latency_warning(&config.port, Path::new("/sys")),
        ..LinkHealth::default()
    }));
    if let Some(warning) = &health
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .adapter_warning
    {
        log::warn!("{warning}");
    }
    let mut actor = Actor {
        protocol: Arc::clone(&protocol),
        health: Arc::clone(&health),
        jogs: BTreeMap::new(),
        pending_estop: None,
        polls_in_window: 0,
        poll_window_start: Instant::now(),
        line_free_at: Instant::now(),
        telemetry_plan: None,
        state_plan: None,
        id,
        io: Some(io),
        reopen,
        up: Arc::clone(&up),
        baud: Arc::clone(&baud),
        silent: 0,
        rx: BytesMut::with_capacity(1024),
        config,
        requests: requests_rx,
        estops: estops_rx,
        queue: JobQueue::default(),
        shutdown: None,
        drives: Arc::clone(&drives),
        sink,
        clock,
    };
    actor.discover().await?;
    tokio::spawn(actor.run());
    Ok(LinkHandle {
        id,
        protocol,
        requests,
        estops,
        drives,
        up,
        health,
        baud,
    })
}

/// How the serving loop ended.
pub(super) enum Exit {
    /// Asked to stop.
    Shutdown,
    /// The port failed or the drives went silent.
    Lost(String),
}

pub(super) struct Actor<T> {
    pub(super) id: LinkId,
    pub(super) protocol: Arc<dyn LinkProtocol>,
    /// The port; `None` between a loss and a successful reopen (a serial port is
    /// opened exclusively, so the old handle must be closed before reopening).
    pub(super) io: Option<T>,
    pub(super) reopen: Option<Reopen<T>>,
    pub(super) up: Arc<AtomicBool>,
    /// The rate the port is open at, shared with the handle.
    pub(super) baud: Arc<AtomicU32>,
    /// Exchanges in a row that got no reply at all.
    pub(super) silent: u32,
    pub(super) health: Arc<Mutex<LinkHealth>>,
    /// Drives jogging, and when their last renewal runs out.
    pub(super) jogs: BTreeMap<u8, Instant>,
    /// An E-stop request taken off its channel mid-exchange, to be served next.
    pub(super) pending_estop: Option<oneshot::Sender<Result<(), String>>>,
    pub(super) polls_in_window: u32,
    pub(super) poll_window_start: Instant,
    /// When the line was last busy (the last byte heard, or a broadcast's turnaround):
    /// the protocol's silence before a request counts from here.
    pub(super) line_free_at: Instant,
    /// The telemetry poll's reads, made once the drives are known.
    pub(super) telemetry_plan: Option<Arc<Vec<PlannedRead>>>,
    /// The state poll's reads.
    pub(super) state_plan: Option<Arc<Vec<PlannedRead>>>,
    pub(super) rx: BytesMut,
    pub(super) config: LinkConfig,
    pub(super) requests: mpsc::UnboundedReceiver<Request>,
    pub(super) estops: mpsc::UnboundedReceiver<oneshot::Sender<Result<(), String>>>,
    pub(super) queue: JobQueue,
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    pub(super) drives: SharedDrives,
    pub(super) sink: Arc<dyn EventSink>,
    pub(super) clock: Clock,
}

impl<T: Transport> Actor<T> {
    pub(super) fn drive_ref(&self, id: u8) -> DriveRef {
        DriveRef { link: self.id, id }
    }

    pub(super) fn write_drives(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u8, DriveEntry>> {
        self.drives.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn profile_of(&self, id: u8) -> Option<Arc<Profile>> {
        self.drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|d| Arc::clone(&d.profile))
    }

    pub(super) async fn run(mut self) {
        loop {
            let reason = match self.serve().await {
                Exit::Shutdown => return,
                Exit::Lost(reason) => reason,
            };
            self.lose_link(&reason);
            if !self.reconnect().await {
                return;
            }
        }
    }

    /// Runs jobs, E-stops and polls until the link is lost or shut down.
    pub(super) async fn serve(&mut self) -> Exit {
        let poll_period = Duration::from_secs_f64(1.0 / self.config.poll_hz);
        let state_period = Duration::from_secs_f64(1.0 / self.config.state_hz.max(0.1));
        let mut next_poll = Instant::now();
        let mut next_state = Instant::now() + state_period;
        // After a poll that went ahead of the queue, a job goes next.
        let mut jobs_turn = false;
        loop {
            if self.silent >= self.config.lost_after {
                return Exit::Lost(format!(
                    "no drive answered {} exchanges in a row",
                    self.silent
                ));
            }
            // 1. E-stops, before anything else.
            let estop = match self.pending_estop.take() {
                Some(reply) => Some(reply),
                None => self.estops.try_recv().ok(),
            };
            if let Some(reply) = estop {
                if let Err(e) = self.answer_estop(reply).await {
                    return Exit::Lost(e);
                }
                continue;
            }
            // 1b. A jog whose holder stopped renewing it ends now.
            if let Some(id) = self.expired_jog() {
                if let Err(e) = self.end_jog(id).await {
                    return Exit::Lost(e);
                }
                continue;
            }
            // 2. New jobs join the queue in arrival order.
            self.drain_requests();
            if let Some(done) = self.shutdown.take() {
                self.cancel_queue("the link was disconnected");
                let _ = done.send(());
                return Exit::Shutdown;
            }
            // 3. Jobs whose deadline passed in the queue time out unsent; then one job,
            // the oldest of the highest class.
            let now = Instant::now();
            for job in self.queue.overdue(now) {
                log::debug!("link {}: {} timed out in the queue", self.id, job.id);
                job.finish(JobState::TimedOut, self.sink.as_ref(), self.clock);
            }
            // Telemetry and state polls wait behind jobs, but never starve: one a whole
            // period late goes before the next job (so under a long queue the charts and
            // the fault watch still get about half their rate), and then a job goes
            // before the next late poll (so a poll slower than its period cannot starve
            // the jobs either).
            if !self.queue.is_empty() && !jobs_turn {
                if now >= next_state + state_period {
                    next_state = now + state_period;
                    jobs_turn = true;
                    if let Err(TxError::Io(e)) = self.poll_state().await {
                        return Exit::Lost(e);
                    }
                    continue;
                }
                if now >= next_poll + poll_period {
                    next_poll = now;
                    jobs_turn = true;
                    if let Err(TxError::Io(e)) = self.poll_telemetry().await {
                        return Exit::Lost(e);
                    }
                    self.count_poll();
                    continue;
                }
            }
            if let Some(job) = self.queue.pop() {
                jobs_turn = false;
                if let Err(e) = self.execute(job).await {
                    return Exit::Lost(e);
                }
                continue;
            }
            // 4. Telemetry and state when due.
            let now = Instant::now();
            if now >= next_state {
                next_state = now + state_period;
                if let Err(TxError::Io(e)) = self.poll_state().await {
                    return Exit::Lost(e);
                }
                continue;
            }
            if now >= next_poll {
                // A late poll is not made up for: the next one is a period from now.
                next_poll = (next_poll + poll_period).max(now);
                if let Err(TxError::Io(e)) = self.poll_telemetry().await {
                    return Exit::Lost(e);
                }
                self.count_poll();
                continue;
            }
            // 5. Idle until something is due or arrives.
            let wake = self
                .next_jog_deadline()
                .map_or(next_poll.min(next_state), |jog| {
                    jog.min(next_poll).min(next_state)
                });
            tokio::select! {
                biased;
                reply = self.estops.recv() => match reply {
                    Some(reply) => {
                        if let Err(e) = self.answer_estop(reply).await {
                            return Exit::Lost(e);
                        }
                    }
                    None => return Exit::Shutdown,
                },
                request = self.requests.recv() => match request {
                    Some(Request::Job(job)) => self.queue.push(job),
                    Some(Request::Shutdown(done)) => self.shutdown = Some(done),
                    None => return Exit::Shutdown,
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    pub(super) fn health(&self) -> std::sync::MutexGuard<'_, LinkHealth> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The drives on the link and their profiles, as a snapshot.
    pub(super) fn drive_profiles(&self) -> Vec<(u8, Arc<Profile>)> {
        self.drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, d)| (*id, Arc::clone(&d.profile)))
            .collect()
    }
}
