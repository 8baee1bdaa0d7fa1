//! DriveDeck's write side: every action on a drive is a job on a link.
//!
//! - [`Bus`]: the command bus. [`Bus::submit`] checks a [`Command`] against what the
//!   bus knows of the drive (its profile limits, its mode) and refuses bad ones before
//!   anything reaches the wire; accepted commands become jobs with a [`JobHandle`].
//! - [`link`]: one actor per link owns the port, runs jobs in order, sends an E-stop
//!   ahead of everything, and polls telemetry between jobs — the same actor for every
//!   protocol.
//! - [`protocol`]: what each wire protocol (DYNAMIXEL 2.0, DYNAMIXEL 1.0, Feetech,
//!   Modbus RTU) means for a link, behind one interface: requests, replies, timing,
//!   broadcast, error bits, sign encodings.
//! - [`scan`]: discovery — which drives answer on a port, at which protocol and baud.
//! - [`ports`]: the serial ports of this machine, with their USB identities.
//! - [`job`]: a job's handle and its lifecycle bookkeeping.
//! - [`fault`]: a drive's fault in words (CiA 402 statusword and error codes).
//! - [`health`]: round trips, errors and poll rate per link and drive; FTDI latency.
//! - [`supervisor`]: the heartbeat watch that stops the drives when the UI goes silent.
//! - [`EventSink`]: where the bus reports what happened (the query store, in the app).

pub mod fault;
pub mod health;
pub mod job;
pub mod link;
pub mod ports;
pub mod protocol;
pub mod scan;
pub mod supervisor;
pub mod tuning;

pub use job::JobHandle;
pub use link::{LinkConfig, LinkError};

use drivedeck_domain::{
    Clock, Command, DriveRef, DriveStatus, Event, JobId, JobState, LinkId, Priority,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Receives every event the bus emits, in order. Must not block.
pub trait EventSink: Send + Sync + 'static {
    /// Takes one event.
    fn emit(&self, event: Event);
}

/// Why a command was refused before it became a job. Nothing was sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmitError {
    /// No connected link has that drive.
    #[error("{0} is not connected")]
    UnknownDrive(DriveRef),
    /// The command is not valid for the drive as it is (range, mode, state).
    #[error("{0}")]
    Invalid(String),
    /// The drive's link is down.
    #[error("the link of {0} is down")]
    LinkDown(DriveRef),
}

/// How a job is scheduled: its class and how long it may wait in the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// Its class on the link ([`Priority::User`] unless said otherwise). Stops always
    /// run in the E-stop class, whatever is given here.
    pub priority: Priority,
    /// How long after submission it must have been sent; past that, still queued, it
    /// ends timed out without a byte on the wire (found when the link next turns to its
    /// queue: after the job it is running, at the latest). Once sent, it runs to its
    /// end: a parameter write is not cut in half.
    pub deadline: Option<std::time::Duration>,
}

/// The command bus. Cheap to clone; all clones share the links.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    links: RwLock<BTreeMap<LinkId, link::LinkHandle>>,
    next_job: AtomicU64,
    next_link: AtomicU32,
    sink: Arc<dyn EventSink>,
    clock: Clock,
    runtime: tokio::runtime::Handle,
}

impl Bus {
    /// A bus with no links. Job IDs start at `first_job` (the store's next free ID), so
    /// they stay unique across runs. Must be called inside a tokio runtime.
    pub fn new(sink: Arc<dyn EventSink>, clock: Clock, first_job: u64) -> Bus {
        Bus {
            inner: Arc::new(Inner {
                links: RwLock::new(BTreeMap::new()),
                next_job: AtomicU64::new(first_job.max(1)),
                next_link: AtomicU32::new(1),
                sink,
                clock,
                runtime: tokio::runtime::Handle::current(),
            }),
        }
    }

    /// The clock that stamps the bus's events.
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// Opens a serial port (a USB adapter or a simulator's pty) and connects a link. A
    /// journaled job ([`Command::Connect`]): the journal shows every attempt and why one
    /// failed.
    pub async fn connect_serial(&self, config: LinkConfig) -> Result<LinkId, LinkError> {
        let command = Command::Connect {
            port: config.port.clone(),
            protocol: config
                .protocol()
                .map_or("mixed protocols", protocol::protocol_name)
                .into(),
            baud: config.baud,
            drives: config.drives.iter().map(|(id, _)| *id).collect(),
        };
        self.journaled(command, async {
            let port = link::open_serial(&config.port, config.baud)?;
            let path = config.port.clone();
            let reopen: link::Reopen<tokio_serial::SerialStream> =
                Box::new(move |baud| link::open_serial(&path, baud));
            self.start_link(port, Some(reopen), config).await
        })
        .await
    }

    /// Runs a link-level job (connect, disconnect, scan) that the caller carries out
    /// itself: it is journaled like every job — queued, sent as `work` starts, then done,
    /// or failed with `work`'s error as the reason.
    pub async fn journaled<T, E: std::fmt::Display>(
        &self,
        command: Command,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let id = JobId(self.inner.next_job.fetch_add(1, Ordering::Relaxed));
        let (job, _handle) = job::Job::new(id, command.clone());
        let sink = self.inner.sink.as_ref();
        sink.emit(Event::JobQueued {
            job: id,
            command,
            priority: Priority::User,
            deadline: None,
            at: self.inner.clock.now(),
        });
        job.sent(sink, self.inner.clock);
        let result = work.await;
        let state = match &result {
            Ok(_) => JobState::Done,
            Err(e) => JobState::Failed {
                reason: e.to_string(),
            },
        };
        job.finish(state, sink, self.inner.clock);
        result
    }

    /// Connects a link over any byte stream (a serial port, an in-memory pipe): finds the
    /// configured drives, then hands the stream to the link's actor.
    pub async fn attach<T>(&self, io: T, config: LinkConfig) -> Result<LinkId, LinkError>
    where
        T: link::Transport,
    {
        self.start_link(io, None, config).await
    }

    async fn start_link<T>(
        &self,
        io: T,
        reopen: Option<link::Reopen<T>>,
        config: LinkConfig,
    ) -> Result<LinkId, LinkError>
    where
        T: link::Transport,
    {
        let id = self.inner.next_link.fetch_add(1, Ordering::Relaxed);
        let handle = link::spawn(
            id,
            io,
            reopen,
            config,
            Arc::clone(&self.inner.sink),
            self.inner.clock,
        )
        .await?;
        self.write_links().insert(id, handle);
        Ok(id)
    }

    /// Closes a link: queued jobs are cancelled, the drives are left as they are. A
    /// journaled job ([`Command::Disconnect`]); false (and a failed job) when there is no
    /// such link.
    pub async fn disconnect(&self, link: LinkId) -> bool {
        self.journaled(Command::Disconnect { link }, async {
            let handle = self.write_links().remove(&link);
            match handle {
                Some(handle) => {
                    handle.shutdown().await;
                    Ok(())
                }
                None => Err(format!("there is no link {link}")),
            }
        })
        .await
        .is_ok()
    }

    /// Whether `link` is connected and up (not lost and reconnecting).
    pub fn link_up(&self, link: LinkId) -> bool {
        self.read_links()
            .get(&link)
            .is_some_and(link::LinkHandle::is_up)
    }

    /// The baud rate `link`'s port is open at (a set-up job may have moved it).
    pub fn link_baud(&self, link: LinkId) -> Option<u32> {
        self.read_links().get(&link).map(link::LinkHandle::baud)
    }

    /// A snapshot of `link`'s health counters.
    pub fn health(&self, link: LinkId) -> Option<health::LinkHealth> {
        self.read_links().get(&link).map(link::LinkHandle::health)
    }

    /// What a tuning test on `drive` would start from: its last position read (rad)
    /// and the wire-time limit of the test's cycle, Hz.
    pub fn tune_start(&self, drive: DriveRef) -> Option<(Option<f64>, f64)> {
        self.read_links().get(&drive.link)?.tune_start(drive.id)
    }

    /// What the bus knows of every connected drive (for validation and the shell's
    /// status line; the UI reads drive state from the store).
    pub fn drives(&self) -> Vec<DriveStatus> {
        self.read_links()
            .values()
            .flat_map(link::LinkHandle::drives)
            .collect()
    }

    /// Checks `command` and queues it as a user job. E-stop goes to every link ahead of
    /// everything else. A refused command sends nothing and is not journaled.
    pub fn submit(&self, command: Command) -> Result<JobHandle, SubmitError> {
        self.submit_with(command, JobOptions::default())
    }

    /// [`Bus::submit`] with a class and a deadline: a safety job (a supervisor's
    /// Disable) is served before every queued user job of its link; a job still queued
    /// at its deadline ends timed out, unsent.
    pub fn submit_with(
        &self,
        command: Command,
        options: JobOptions,
    ) -> Result<JobHandle, SubmitError> {
        if command.is_link_level() {
            return Err(SubmitError::Invalid(format!(
                "{} is not queued on a link: the engine's {} call runs it",
                command.name(),
                command.name()
            )));
        }
        options
            .priority
            .admits(&command)
            .map_err(SubmitError::Invalid)?;
        let links = self.read_links();
        let target_link = match command.drive() {
            Some(drive) => {
                let link = links
                    .get(&drive.link)
                    .ok_or(SubmitError::UnknownDrive(drive))?;
                link.validate(&command)?;
                Some(link)
            }
            None => None,
        };
        let id = JobId(self.inner.next_job.fetch_add(1, Ordering::Relaxed));
        let (mut job, handle) = job::Job::new(id, command.clone());
        job.priority = if command.is_stop() {
            Priority::EStop
        } else {
            options.priority
        };
        job.deadline = options.deadline.map(|d| tokio::time::Instant::now() + d);
        let at = self.inner.clock.now();
        self.inner.sink.emit(Event::JobQueued {
            job: id,
            command: command.clone(),
            priority: job.priority,
            deadline: options
                .deadline
                .map(|d| at.saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))),
            at,
        });
        match target_link {
            // Arming is bookkeeping on the write side: no bytes, done at once.
            Some(link) if matches!(command, Command::Arm { .. }) => {
                let state = match command.drive() {
                    Some(drive) if link.arm(drive.id) => JobState::Done,
                    _ => JobState::Failed {
                        reason: "no such drive to arm".into(),
                    },
                };
                job.finish(state, self.inner.sink.as_ref(), self.inner.clock);
            }
            // So are soft limits: the drive's status changes, nothing is sent.
            Some(link) if matches!(command, Command::SetSoftLimits { .. }) => {
                let state = match (&command, command.drive()) {
                    (Command::SetSoftLimits { limits, .. }, Some(drive)) => {
                        match link.set_soft_limits(drive.id, *limits) {
                            Some(status) => {
                                self.inner.sink.emit(Event::DriveChanged {
                                    status,
                                    at: self.inner.clock.now(),
                                });
                                JobState::Done
                            }
                            None => JobState::Failed {
                                reason: "no such drive".into(),
                            },
                        }
                    }
                    _ => JobState::Failed {
                        reason: "no such drive".into(),
                    },
                };
                job.finish(state, self.inner.sink.as_ref(), self.inner.clock);
            }
            Some(link) => link.enqueue(job),
            None => {
                // E-stop: every link stops its drives; the job is done when all have.
                let parts: Vec<_> = links.values().map(link::LinkHandle::estop).collect();
                let sink = Arc::clone(&self.inner.sink);
                let clock = self.inner.clock;
                self.inner.runtime.spawn(async move {
                    let mut failures = Vec::new();
                    for part in parts {
                        match part.await {
                            Ok(Ok(())) => {}
                            Ok(Err(reason)) => failures.push(reason),
                            Err(_) => failures.push("a link closed during the E-stop".into()),
                        }
                    }
                    let state = if failures.is_empty() {
                        JobState::Done
                    } else {
                        JobState::Failed {
                            reason: failures.join("; "),
                        }
                    };
                    job.finish(state, sink.as_ref(), clock);
                });
            }
        }
        Ok(handle)
    }

    fn read_links(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<LinkId, link::LinkHandle>> {
        self.inner.links.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_links(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<LinkId, link::LinkHandle>> {
        self.inner.links.write().unwrap_or_else(|e| e.into_inner())
    }
}
