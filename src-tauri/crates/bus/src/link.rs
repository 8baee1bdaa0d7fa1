//! A link: one port, one protocol, one or more drives, and the actor that owns them.
//!
//! The actor is the only code that touches the port. Callers talk to it through a
//! [`LinkHandle`]: jobs go into a FIFO (so writes to a drive keep their order), E-stops
//! into a separate channel the actor always looks at first. Between jobs the actor polls
//! telemetry (Sync Read of present current/velocity/position) at the configured rate
//! and the drives' state (torque, hardware error) at a lower one, and emits both as
//! events. A transaction writes one request and reads replies until the expected
//! number arrived or the reply timeout passed; a corrupt or missing reply fails the job
//! (after one retry), it never wedges the link. An I/O error means the link is lost:
//! every queued job fails with that reason and the actor stops.

use crate::dxl2::{self, Span};
use crate::health::LinkHealth;
use crate::job::Job;
use crate::{EventSink, SubmitError};
use bytes::BytesMut;
use drivedeck_domain::{
    Clock, Command, DriveMode, DriveRef, DriveStatus, Event, JobState, LinkId, Target,
    TelemetrySample,
};
use drivedeck_proto::dxl2::{Packet, decode, instruction};
use drivedeck_proto::profile::{Profile, Role};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How to reach the drives of one link.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Serial device path (`/dev/ttyUSB0`, `/dev/pts/3`, `COM3`).
    pub port: String,
    /// Baud rate.
    pub baud: u32,
    /// The drives expected on the bus, by ID, with their model.
    pub drives: Vec<(u8, Arc<Profile>)>,
    /// Telemetry polls per second (all drives in one Sync Read).
    pub poll_hz: f64,
    /// State polls (torque, hardware error) per second.
    pub state_hz: f64,
    /// How long to wait for a reply.
    pub reply_timeout: Duration,
    /// Whether the port is a built-in simulator.
    pub simulated: bool,
    /// Exchanges in a row without any reply after which the link counts as lost.
    pub lost_after: u32,
    /// First wait before reopening a lost port; doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest wait between reopening attempts.
    pub reconnect_max: Duration,
}

impl LinkConfig {
    /// Defaults for `drives` on `port`: 200 Hz telemetry, 10 Hz state, 50 ms timeout,
    /// lost after 5 silent exchanges, reconnect backoff 100 ms – 5 s.
    pub fn new(port: impl Into<String>, baud: u32, drives: Vec<(u8, Arc<Profile>)>) -> Self {
        LinkConfig {
            port: port.into(),
            baud,
            drives,
            poll_hz: 200.0,
            state_hz: 10.0,
            reply_timeout: Duration::from_millis(50),
            simulated: false,
            lost_after: 5,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

/// Why a link could not be opened or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    /// The port could not be opened.
    #[error("cannot open {port}: {reason}")]
    Open {
        /// The port.
        port: String,
        /// The operating system's words.
        reason: String,
    },
    /// The port exists but this user may not open it (EACCES on Linux and macOS,
    /// "access denied" on Windows). The message says how to get access.
    #[error("permission denied opening {port}: {}", permission_help())]
    PermissionDenied {
        /// The port.
        port: String,
    },
    /// None of the expected drives answered.
    #[error("no drive answered on {0}")]
    NoDrives(String),
    /// The configuration makes no sense (rate, IDs).
    #[error("bad link configuration: {0}")]
    Config(String),
}

/// Opens a serial port for a link (8N1, no flow control), as a tokio stream.
pub fn open_serial(port: &str, baud: u32) -> Result<tokio_serial::SerialStream, LinkError> {
    use tokio_serial::SerialPortBuilderExt;
    tokio_serial::new(port, baud)
        .open_native_async()
        .map_err(|e| open_error(port, &e))
}

/// Turns the error from opening `port` into a [`LinkError`]; a permission error gets
/// its own variant, whose message says how to fix it.
pub fn open_error(port: &str, error: &tokio_serial::Error) -> LinkError {
    match error.kind() {
        tokio_serial::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
            LinkError::PermissionDenied {
                port: port.to_string(),
            }
        }
        _ => LinkError::Open {
            port: port.to_string(),
            reason: error.to_string(),
        },
    }
}

/// How a user gets access to a serial port they may not open, on this platform.
pub fn permission_help() -> &'static str {
    if cfg!(target_os = "linux") {
        "your user may not use serial ports. Add it to the group that owns them \
         (`sudo usermod -aG dialout $USER` on Debian, Ubuntu and Fedora; \
         `sudo usermod -aG uucp $USER` on Arch), then log out and in again; \
         or give your user the adapter with a udev rule \
         (`SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"0403\", MODE=\"0660\", TAG+=\"uaccess\"` \
         in /etc/udev/rules.d/70-drivedeck.rules, with your adapter's vendor ID from `lsusb`)"
    } else if cfg!(target_os = "windows") {
        "another program has the port open (a vendor tool or a serial monitor): close it \
         and try again"
    } else {
        "your user may not use this port, or another program has it open: check its \
         owner and mode with `ls -l`, and close any other program using it"
    }
}

struct DriveEntry {
    profile: Arc<Profile>,
    status: DriveStatus,
    /// Until when an Enable is allowed (set by an Arm, used up by the Enable).
    armed_until: Option<std::time::Instant>,
}

/// The longest a single jog renewal keeps a drive moving.
pub const MAX_JOG_HOLD_MS: u32 = 1000;

/// How long an Arm allows an Enable.
pub const ARM_WINDOW: Duration = Duration::from_secs(10);

type SharedDrives = Arc<RwLock<BTreeMap<u8, DriveEntry>>>;

enum Request {
    Job(Job),
    Shutdown(oneshot::Sender<()>),
}

/// The callers' side of a link actor.
pub struct LinkHandle {
    id: LinkId,
    requests: mpsc::UnboundedSender<Request>,
    estops: mpsc::UnboundedSender<oneshot::Sender<Result<(), String>>>,
    drives: SharedDrives,
    up: Arc<AtomicBool>,
    health: Arc<Mutex<LinkHealth>>,
}

impl LinkHandle {
    /// A snapshot of the link's health counters.
    pub fn health(&self) -> LinkHealth {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the link is up (false while it is lost and reconnecting).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire) && !self.requests.is_closed()
    }

    /// The drives on this link as the actor last saw them.
    pub fn drives(&self) -> Vec<DriveStatus> {
        self.read_drives()
            .values()
            .map(|d| d.status.clone())
            .collect()
    }

    fn read_drives(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u8, DriveEntry>> {
        self.drives.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses a command the drive cannot take as it is; nothing is sent.
    pub fn validate(&self, command: &Command) -> Result<(), SubmitError> {
        let Some(drive) = command.drive() else {
            return Ok(());
        };
        let drives = self.read_drives();
        let entry = drives
            .get(&drive.id)
            .filter(|_| drive.link == self.id)
            .ok_or(SubmitError::UnknownDrive(drive))?;
        if !self.is_up() {
            return Err(SubmitError::LinkDown(drive));
        }
        let status = &entry.status;
        match command {
            Command::Enable { .. }
                if entry
                    .armed_until
                    .is_none_or(|until| std::time::Instant::now() > until) =>
            {
                Err(SubmitError::Invalid(format!(
                    "drive {} is not armed: arm it first (confirm that the motor may move)",
                    drive.id
                )))
            }
            Command::SetMode { mode, .. } if status.enabled && *mode != status.mode => {
                Err(SubmitError::Invalid(format!(
                    "disable drive {} before changing its mode",
                    drive.id
                )))
            }
            Command::SetTarget { target, .. } => check_target(status, *target),
            Command::Jog {
                velocity, hold_ms, ..
            } => {
                if !status.enabled {
                    return Err(SubmitError::Invalid(format!(
                        "enable drive {} before jogging it",
                        drive.id
                    )));
                }
                if !(1..=MAX_JOG_HOLD_MS).contains(hold_ms) {
                    return Err(SubmitError::Invalid(format!(
                        "jog hold {hold_ms} ms is outside 1 – {MAX_JOG_HOLD_MS} ms"
                    )));
                }
                check_target(status, Target::Velocity(*velocity))
            }
            _ => Ok(()),
        }
    }

    /// Arms `drive` for [`ARM_WINDOW`]: the next Enable within it is allowed.
    pub fn arm(&self, drive: u8) -> bool {
        let mut drives = self.drives.write().unwrap_or_else(|e| e.into_inner());
        match drives.get_mut(&drive) {
            Some(entry) => {
                entry.armed_until = Some(std::time::Instant::now() + ARM_WINDOW);
                true
            }
            None => false,
        }
    }

    /// Queues a validated job behind the link's earlier jobs.
    pub fn enqueue(&self, job: Job) {
        if let Err(mpsc::error::SendError(Request::Job(job))) =
            self.requests.send(Request::Job(job))
        {
            // The actor is gone; the job's drop reports it cancelled to its handle.
            log::warn!("{} submitted to a closed link", job.id);
        }
    }

    /// Asks the actor to stop every drive now. Resolves when the stop is confirmed.
    pub fn estop(&self) -> oneshot::Receiver<Result<(), String>> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(tx)) = self.estops.send(tx) {
            let _ = tx.send(Err(format!("link {} is down", self.id)));
        }
        rx
    }

    /// Stops the actor; queued jobs are cancelled.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn check_target(status: &DriveStatus, target: Target) -> Result<(), SubmitError> {
    if target.mode() != status.mode {
        return Err(SubmitError::Invalid(format!(
            "drive {} is in {} mode; a {} target needs {} mode",
            status.drive.id,
            mode_name(status.mode),
            mode_name(target.mode()),
            mode_name(target.mode())
        )));
    }
    match target {
        Target::Position(rad) => {
            let (lo, hi) = status.position_limits;
            if !rad.is_finite() || rad < lo || rad > hi {
                return Err(SubmitError::Invalid(format!(
                    "position {rad:.4} rad ({:.1}°) is outside drive {}'s range {lo:.4} – {hi:.4} rad ({:.1}° – {:.1}°)",
                    rad.to_degrees(),
                    status.drive.id,
                    lo.to_degrees(),
                    hi.to_degrees()
                )));
            }
        }
        Target::Velocity(rad_s) => {
            let limit = status.velocity_limit;
            if !rad_s.is_finite() || rad_s.abs() > limit {
                return Err(SubmitError::Invalid(format!(
                    "velocity {rad_s:.4} rad/s is beyond drive {}'s limit ±{limit:.4} rad/s",
                    status.drive.id
                )));
            }
        }
    }
    Ok(())
}

fn mode_name(mode: DriveMode) -> &'static str {
    match mode {
        DriveMode::Position => "position",
        DriveMode::Velocity => "velocity",
    }
}

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
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !(config.poll_hz > 0.0 && config.poll_hz <= 10_000.0) {
        return Err(LinkError::Config(format!(
            "poll rate {} Hz is outside 0 – 10000 Hz",
            config.poll_hz
        )));
    }
    if config.drives.is_empty() {
        return Err(LinkError::Config("no drives configured".into()));
    }
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let (estops, estops_rx) = mpsc::unbounded_channel();
    let drives: SharedDrives = Arc::new(RwLock::new(BTreeMap::new()));
    let up = Arc::new(AtomicBool::new(true));
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
        health: Arc::clone(&health),
        jogs: BTreeMap::new(),
        pending_estop: None,
        polls_in_window: 0,
        poll_window_start: Instant::now(),
        id,
        io: Some(io),
        reopen,
        up: Arc::clone(&up),
        silent: 0,
        rx: BytesMut::with_capacity(1024),
        config,
        requests: requests_rx,
        estops: estops_rx,
        queue: VecDeque::new(),
        shutdown: None,
        drives: Arc::clone(&drives),
        sink,
        clock,
    };
    actor.discover().await?;
    tokio::spawn(actor.run());
    Ok(LinkHandle {
        id,
        requests,
        estops,
        drives,
        up,
        health,
    })
}

/// The fault text of a drive whose Bus Watchdog stopped it.
const WATCHDOG_TRIPPED: &str = "bus watchdog tripped: the drive heard nothing for too long and stopped (disable, then enable again to clear it)";

/// Opens the link's port again after it was lost (`None` for streams that cannot be
/// reopened, such as in-memory pipes: their link ends when they fail).
pub type Reopen<T> = Box<dyn FnMut() -> Result<T, LinkError> + Send>;

/// How the serving loop ended.
enum Exit {
    /// Asked to stop.
    Shutdown,
    /// The port failed or the drives went silent.
    Lost(String),
}

/// Why a single-drive request did not succeed.
#[derive(Debug)]
enum CommandError {
    /// No valid reply in time, twice.
    NoAnswer(String),
    /// The drive answered with an error, or with something else than expected.
    Refused(String),
    /// The port failed: the link is lost.
    Io(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::NoAnswer(s) | CommandError::Refused(s) => f.write_str(s),
            CommandError::Io(s) => write!(f, "link I/O error: {s}"),
        }
    }
}

/// Why a transaction did not complete.
#[derive(Debug)]
enum TxError {
    /// Not every expected reply came in time (those that did are kept).
    Timeout { partial: Vec<Packet> },
    /// The port failed: the link is lost.
    Io(String),
}

struct Actor<T> {
    id: LinkId,
    /// The port; `None` between a loss and a successful reopen (a serial port is
    /// opened exclusively, so the old handle must be closed before reopening).
    io: Option<T>,
    reopen: Option<Reopen<T>>,
    up: Arc<AtomicBool>,
    /// Exchanges in a row that got no reply at all.
    silent: u32,
    health: Arc<Mutex<LinkHealth>>,
    /// Drives jogging, and when their last renewal runs out.
    jogs: BTreeMap<u8, Instant>,
    /// An E-stop request taken off its channel mid-exchange, to be served next.
    pending_estop: Option<oneshot::Sender<Result<(), String>>>,
    polls_in_window: u32,
    poll_window_start: Instant,
    rx: BytesMut,
    config: LinkConfig,
    requests: mpsc::UnboundedReceiver<Request>,
    estops: mpsc::UnboundedReceiver<oneshot::Sender<Result<(), String>>>,
    queue: VecDeque<Job>,
    shutdown: Option<oneshot::Sender<()>>,
    drives: SharedDrives,
    sink: Arc<dyn EventSink>,
    clock: Clock,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Actor<T> {
    fn drive_ref(&self, id: u8) -> DriveRef {
        DriveRef { link: self.id, id }
    }

    fn write_drives(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u8, DriveEntry>> {
        self.drives.write().unwrap_or_else(|e| e.into_inner())
    }

    fn profile_of(&self, id: u8) -> Option<Arc<Profile>> {
        self.drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|d| Arc::clone(&d.profile))
    }

    /// Pings each configured drive, checks its model, reads its mode and limits.
    async fn discover(&mut self) -> Result<(), LinkError> {
        let expected = self.config.drives.clone();
        for (id, profile) in expected {
            match self.read_initial_status(id, &profile).await {
                Ok(status) => {
                    self.write_drives().insert(
                        id,
                        DriveEntry {
                            profile: Arc::clone(&profile),
                            status,
                            armed_until: None,
                        },
                    );
                }
                Err(reason) => log::warn!("drive {id} on {}: {reason}", self.config.port),
            }
        }
        if self.write_drives().is_empty() {
            return Err(LinkError::NoDrives(self.config.port.clone()));
        }
        let at = self.clock.now();
        self.sink.emit(Event::LinkUp {
            link: self.id,
            port: self.config.port.clone(),
            protocol: "dynamixel2".into(),
            baud: self.config.baud,
            at,
        });
        let statuses: Vec<DriveStatus> = self
            .write_drives()
            .values()
            .map(|d| d.status.clone())
            .collect();
        for status in statuses {
            self.sink.emit(Event::DriveChanged { status, at });
        }
        Ok(())
    }

    async fn read_u(&mut self, id: u8, profile: &Profile, role: Role) -> Result<i64, String> {
        let register = profile
            .role(role)
            .ok_or_else(|| format!("profile {} lacks {role:?}", profile.name))?;
        let request = Packet::read(id, register.address, register.size() as u16);
        let reply = self
            .command(&request, id)
            .await
            .map_err(|e| e.to_string())?;
        let status = reply.as_status().ok_or("not a status packet")?;
        register
            .decode(status.data)
            .ok_or_else(|| format!("short reply reading {}", register.name))
    }

    async fn read_initial_status(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<DriveStatus, String> {
        let ping = self
            .command(&Packet::ping(id), id)
            .await
            .map_err(|e| e.to_string())?;
        let model = ping
            .as_status()
            .and_then(|s| s.data.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]])))
            .ok_or("ping reply without a model number")?;
        if model != profile.model_number {
            return Err(format!(
                "answers as model {model}, but {} is model {}",
                profile.name, profile.model_number
            ));
        }
        let enabled = self.read_u(id, profile, Role::TorqueEnable).await? != 0;
        let mode_raw = self.read_u(id, profile, Role::OperatingMode).await?;
        let mode = if mode_raw == profile.modes.velocity {
            DriveMode::Velocity
        } else {
            DriveMode::Position
        };
        let velocity_limit_raw = self.read_u(id, profile, Role::VelocityLimit).await?;
        let velocity_limit = profile
            .role(Role::GoalVelocity)
            .map(|r| r.to_si(velocity_limit_raw).abs())
            .unwrap_or(0.0);
        let goal = profile.role(Role::GoalPosition).ok_or("no Goal Position")?;
        let mut lo = goal.to_si(goal.min.unwrap_or(0));
        let mut hi = goal.to_si(goal.max.unwrap_or(0));
        // The drive's own position limit entries narrow the range further.
        for (name, bound) in [
            ("Min Position Limit", &mut lo),
            ("Max Position Limit", &mut hi),
        ] {
            if let Some(register) = profile.register(name).cloned() {
                let request = Packet::read(id, register.address, register.size() as u16);
                if let Ok(reply) = self.command(&request, id).await
                    && let Some(raw) = reply.as_status().and_then(|s| register.decode(s.data))
                {
                    *bound = goal.to_si(raw);
                }
            }
        }
        let hardware_error = self.read_u(id, profile, Role::HardwareError).await?;
        Ok(DriveStatus {
            drive: self.drive_ref(id),
            model: profile.name.clone(),
            enabled,
            mode,
            fault: dxl2::hardware_error_text(hardware_error),
            target: None,
            position_limits: (lo.min(hi), lo.max(hi)),
            velocity_limit,
        })
    }

    async fn run(mut self) {
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
    async fn serve(&mut self) -> Exit {
        let poll_period = Duration::from_secs_f64(1.0 / self.config.poll_hz);
        let state_period = Duration::from_secs_f64(1.0 / self.config.state_hz.max(0.1));
        let mut next_poll = Instant::now();
        let mut next_state = Instant::now() + state_period;
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
            // 3. One job.
            if let Some(job) = self.queue.pop_front() {
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
                    Some(Request::Job(job)) => self.queue.push_back(job),
                    Some(Request::Shutdown(done)) => self.shutdown = Some(done),
                    None => return Exit::Shutdown,
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Reopens the port with backoff until the drives answer again. Jobs and E-stops
    /// that arrive meanwhile fail at once ("link lost"). Back up, every drive is put in
    /// its safe state: nothing is ever re-enabled without the user. `false` when the
    /// link cannot be reopened or was shut down.
    async fn reconnect(&mut self) -> bool {
        if self.reopen.is_none() {
            return false;
        }
        let mut delay = self.config.reconnect_min;
        loop {
            // An E-stop caught during a failed attempt cannot reach the drives: say so.
            if let Some(reply) = self.pending_estop.take() {
                let _ = reply.send(Err(format!("link {} is lost and reconnecting", self.id)));
            }
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    reply = self.estops.recv() => match reply {
                        Some(reply) => {
                            let _ = reply.send(Err(format!("link {} is lost and reconnecting", self.id)));
                        }
                        None => return false,
                    },
                    request = self.requests.recv() => match request {
                        Some(Request::Job(job)) => job.finish(
                            JobState::Failed { reason: "link lost: reconnecting".into() },
                            self.sink.as_ref(),
                            self.clock,
                        ),
                        Some(Request::Shutdown(done)) => {
                            let _ = done.send(());
                            return false;
                        }
                        None => return false,
                    },
                    _ = tokio::time::sleep_until(wake) => break,
                }
            }
            let reopened = match self.reopen.as_mut() {
                Some(reopen) => reopen(),
                None => return false,
            };
            match reopened {
                Ok(io) => {
                    self.io = Some(io);
                    self.rx.clear();
                    self.silent = 0;
                    match self.rediscover().await {
                        Ok(()) => return true,
                        Err(reason) => log::info!("link {}: not back yet: {reason}", self.id),
                    }
                }
                Err(e) => log::info!("link {}: reopen failed: {e}", self.id),
            }
            delay = (delay * 2).min(self.config.reconnect_max);
        }
    }

    /// After a reconnect: every known drive must answer; any found with torque on is
    /// switched off (it ran unwatched), then the link is announced up again.
    async fn rediscover(&mut self) -> Result<(), String> {
        let drives = self.drive_profiles();
        let mut statuses = Vec::new();
        for (id, profile) in &drives {
            let mut status = self.read_initial_status(*id, profile).await?;
            if status.enabled {
                let off = dxl2::write_role(profile, *id, Role::TorqueEnable, 0)
                    .ok_or("profile has no torque enable")?;
                self.command(&off, *id).await.map_err(|e| e.to_string())?;
                status.enabled = false;
            }
            statuses.push(status);
        }
        {
            let mut table = self.write_drives();
            for status in &statuses {
                if let Some(entry) = table.get_mut(&status.drive.id) {
                    entry.status = status.clone();
                }
            }
        }
        self.up.store(true, Ordering::Release);
        let at = self.clock.now();
        self.sink.emit(Event::LinkUp {
            link: self.id,
            port: self.config.port.clone(),
            protocol: "dynamixel2".into(),
            baud: self.config.baud,
            at,
        });
        for status in statuses {
            self.sink.emit(Event::DriveChanged { status, at });
        }
        Ok(())
    }

    /// Moves every request waiting in the channel into the queue (a shutdown request is
    /// kept aside for the loop to act on).
    fn drain_requests(&mut self) {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Job(job) => self.queue.push_back(job),
                Request::Shutdown(done) => {
                    self.shutdown = Some(done);
                    break;
                }
            }
        }
    }

    /// Runs an E-stop and tells its requester how it went. `Err` when the link is lost.
    async fn answer_estop(
        &mut self,
        reply: oneshot::Sender<Result<(), String>>,
    ) -> Result<(), String> {
        match self.estop().await {
            Ok(()) => {
                let _ = reply.send(Ok(()));
                Ok(())
            }
            Err(TxError::Timeout { .. }) => {
                let _ = reply.send(Err(format!(
                    "link {}: not every drive confirmed torque off",
                    self.id
                )));
                Ok(())
            }
            Err(TxError::Io(e)) => {
                let _ = reply.send(Err(format!("link lost: {e}")));
                Err(e)
            }
        }
    }

    fn lose_link(&mut self, reason: &str) {
        log::warn!("link {} lost: {reason}", self.id);
        // Close the port now: it is reopened fresh (and exclusively) on reconnect.
        self.io = None;
        self.jogs.clear();
        let at = self.clock.now();
        self.sink.emit(Event::LinkDown {
            link: self.id,
            reason: reason.to_string(),
            at,
        });
        self.up.store(false, Ordering::Release);
        self.drain_requests();
        for job in self.queue.drain(..) {
            job.finish(
                JobState::Failed {
                    reason: format!("link lost: {reason}"),
                },
                self.sink.as_ref(),
                self.clock,
            );
        }
        if let Some(reply) = self.pending_estop.take() {
            let _ = reply.send(Err(format!("link lost: {reason}")));
        }
        while let Ok(reply) = self.estops.try_recv() {
            let _ = reply.send(Err(format!("link lost: {reason}")));
        }
    }

    fn cancel_queue(&mut self, reason: &str) {
        for job in self.queue.drain(..) {
            job.finish(
                JobState::Cancelled {
                    reason: reason.to_string(),
                },
                self.sink.as_ref(),
                self.clock,
            );
        }
    }

    /// Writes `request` and collects `replies` status packets (or what came in time).
    async fn transact(&mut self, request: &Packet, replies: usize) -> Result<Vec<Packet>, TxError> {
        // Bytes left over from an earlier, timed-out exchange belong to nobody now.
        self.rx.clear();
        let bytes = request.encode();
        let io = self
            .io
            .as_mut()
            .ok_or_else(|| TxError::Io("the port is closed".into()))?;
        io.write_all(&bytes)
            .await
            .map_err(|e| TxError::Io(e.to_string()))?;
        io.flush().await.map_err(|e| TxError::Io(e.to_string()))?;
        let written = Instant::now();
        self.health().exchanges += 1;
        let mut out = Vec::with_capacity(replies);
        if replies == 0 {
            return Ok(out);
        }
        let mut deadline = Instant::now() + self.config.reply_timeout;
        let mut estops_open = true;
        loop {
            loop {
                match decode(&mut self.rx) {
                    // Half-duplex adapters echo our own request: only status packets count.
                    Ok(Some(packet)) if packet.instruction == instruction::STATUS => {
                        out.push(packet)
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        self.health().corrupt += 1;
                        log::debug!("link {}: dropped a corrupt frame: {e}", self.id);
                    }
                }
            }
            if out.len() >= replies {
                self.silent = 0;
                let rtt = written.elapsed();
                let mut health = self.health();
                health.record_rtt(rtt);
                for packet in &out {
                    let drive = health.drives.entry(packet.id).or_default();
                    drive.replies += 1;
                    drive.last_rtt = Some(rtt);
                }
                return Ok(out);
            }
            let io = self
                .io
                .as_mut()
                .ok_or_else(|| TxError::Io("the port is closed".into()))?;
            // An E-stop arriving while we wait cuts the wait short: a reply already on
            // its way gets a frame's time to land (a collision on a half-duplex bus
            // would cost more), then the stop goes out.
            let read = tokio::select! {
                biased;
                reply = self.estops.recv(), if estops_open && self.pending_estop.is_none() => {
                    match reply {
                        Some(reply) => {
                            self.pending_estop = Some(reply);
                            deadline = deadline.min(Instant::now() + self.estop_grace());
                        }
                        // Every handle is gone (shutdown follows): stop listening.
                        None => estops_open = false,
                    }
                    continue;
                }
                read = tokio::time::timeout_at(deadline, io.read_buf(&mut self.rx)) => read,
            };
            match read {
                Err(_) => {
                    self.health().timeouts += 1;
                    if out.is_empty() {
                        self.silent += 1;
                    } else {
                        self.silent = 0;
                    }
                    return Err(TxError::Timeout { partial: out });
                }
                Ok(Ok(0)) => return Err(TxError::Io("the port closed".into())),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(TxError::Io(e.to_string())),
            }
        }
    }

    /// How long a reply already on the wire may take to land: 64 bytes at the link's
    /// baud rate plus half a millisecond.
    fn estop_grace(&self) -> Duration {
        Duration::from_secs_f64(640.0 / f64::from(self.config.baud.max(1200)))
            + Duration::from_micros(500)
    }

    /// One request to one drive, one reply from it; retried once on timeout (unless an
    /// E-stop is waiting: it goes first).
    async fn command(&mut self, request: &Packet, id: u8) -> Result<Packet, CommandError> {
        let mut last = CommandError::NoAnswer(format!("drive {id} did not answer"));
        for attempt in 0..2 {
            if attempt > 0 {
                if self.pending_estop.is_some() {
                    break;
                }
                self.health().retries += 1;
            }
            match self.transact(request, 1).await {
                Ok(mut replies) => {
                    let reply = replies.remove(0);
                    if reply.id != id {
                        last = CommandError::Refused(format!(
                            "reply from ID {} instead of {id}",
                            reply.id
                        ));
                        continue;
                    }
                    let error = reply.as_status().map(|s| s.error);
                    return match error {
                        Some(error) if error.is_ok() => Ok(reply),
                        Some(error) => Err(CommandError::Refused(format!(
                            "drive {id} refused: {error}"
                        ))),
                        None => Err(CommandError::Refused("not a status packet".into())),
                    };
                }
                Err(TxError::Timeout { .. }) => {
                    self.health().drives.entry(id).or_default().missed += 1;
                }
                Err(TxError::Io(e)) => return Err(CommandError::Io(e)),
            }
        }
        Err(last)
    }

    /// Runs one job to its terminal state. `Err` only when the link itself failed.
    async fn execute(&mut self, job: Job) -> Result<(), String> {
        let Some(drive) = job.command.drive() else {
            job.finish(
                JobState::Failed {
                    reason: "not a drive command".into(),
                },
                self.sink.as_ref(),
                self.clock,
            );
            return Ok(());
        };
        let Some(profile) = self.profile_of(drive.id) else {
            job.finish(
                JobState::Failed {
                    reason: format!("{drive} is not on this link"),
                },
                self.sink.as_ref(),
                self.clock,
            );
            return Ok(());
        };
        let request = match &job.command {
            Command::Enable { .. } => dxl2::write_role(&profile, drive.id, Role::TorqueEnable, 1),
            Command::Arm { .. } => None,
            Command::Disable { .. } => dxl2::write_role(&profile, drive.id, Role::TorqueEnable, 0),
            Command::SetMode { mode, .. } => {
                let raw = match mode {
                    DriveMode::Position => profile.modes.position,
                    DriveMode::Velocity => profile.modes.velocity,
                };
                dxl2::write_role(&profile, drive.id, Role::OperatingMode, raw)
            }
            Command::Jog { velocity, .. } => profile
                .role(Role::GoalVelocity)
                .and_then(|r| r.from_si(*velocity))
                .and_then(|raw| dxl2::write_role(&profile, drive.id, Role::GoalVelocity, raw)),
            Command::SetTarget { target, .. } => {
                let (role, si) = match target {
                    Target::Position(rad) => (Role::GoalPosition, *rad),
                    Target::Velocity(rad_s) => (Role::GoalVelocity, *rad_s),
                };
                profile
                    .role(role)
                    .and_then(|r| r.from_si(si))
                    .and_then(|raw| dxl2::write_role(&profile, drive.id, role, raw))
            }
            Command::EStop | Command::SafeStop { .. } => None,
        };
        let Some(request) = request else {
            job.finish(
                JobState::Failed {
                    reason: format!("{} cannot express this command", profile.name),
                },
                self.sink.as_ref(),
                self.clock,
            );
            return Ok(());
        };
        if matches!(job.command, Command::Enable { .. })
            && let Some(entry) = self.write_drives().get_mut(&drive.id)
        {
            // One Arm, one Enable.
            entry.armed_until = None;
        }
        job.sent(self.sink.as_ref(), self.clock);
        if matches!(job.command, Command::Enable { .. })
            && let Err(e) = self.arm_watchdog(&profile, drive.id).await
        {
            let reason = format!("could not arm the drive's bus watchdog: {e}");
            if let CommandError::Io(_) = e {
                job.finish(
                    JobState::Failed {
                        reason: reason.clone(),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                return Err(reason);
            }
            job.finish(JobState::Failed { reason }, self.sink.as_ref(), self.clock);
            return Ok(());
        }
        let state = match self.command(&request, drive.id).await {
            Ok(_) => {
                self.apply(&job.command);
                JobState::Done
            }
            Err(CommandError::NoAnswer(_)) => JobState::TimedOut,
            Err(CommandError::Refused(reason)) => JobState::Failed { reason },
            Err(error @ CommandError::Io(_)) => {
                let reason = error.to_string();
                job.finish(
                    JobState::Failed {
                        reason: format!("link lost: {reason}"),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                return Err(reason);
            }
        };
        job.finish(state, self.sink.as_ref(), self.clock);
        Ok(())
    }

    /// Before torque on: clear a tripped Bus Watchdog and arm it, so the drive stops by
    /// itself if DriveDeck stops talking to it (a crash, a pulled cable). The time
    /// leaves room for a job to another drive retrying: 2 × 2 reply timeouts plus two
    /// poll periods, at least 250 ms.
    async fn arm_watchdog(&mut self, profile: &Profile, id: u8) -> Result<(), CommandError> {
        let Some(register) = profile.role(Role::BusWatchdog) else {
            return Ok(());
        };
        let poll = Duration::from_secs_f64(1.0 / self.config.poll_hz);
        let window = (self.config.reply_timeout * 4 + poll * 2).max(Duration::from_millis(250));
        let units = (window.as_secs_f64() / register.scale).ceil() as i64;
        let units = units.clamp(1, register.max.unwrap_or(127));
        for raw in [0, units] {
            let request = Packet::write(id, register.address, &register.encode(raw));
            self.command(&request, id).await?;
        }
        Ok(())
    }

    /// Updates the write side's view of a drive after the drive confirmed `command`.
    fn apply(&mut self, command: &Command) {
        let Some(drive) = command.drive() else { return };
        match command {
            Command::Jog { hold_ms, .. } => {
                let until = Instant::now() + Duration::from_millis(u64::from(*hold_ms));
                self.jogs.insert(drive.id, until);
            }
            // Any other command to the drive ends its jog (it decides the motion now).
            _ => {
                self.jogs.remove(&drive.id);
            }
        }
        let changed = {
            let mut drives = self.write_drives();
            let Some(entry) = drives.get_mut(&drive.id) else {
                return;
            };
            let status = &mut entry.status;
            match command {
                Command::Enable { .. } => status.enabled = true,
                Command::Disable { .. } => status.enabled = false,
                Command::SetMode { mode, .. } => {
                    status.mode = *mode;
                    status.target = None;
                }
                Command::SetTarget { target, .. } => status.target = Some(*target),
                Command::Jog { velocity, .. } => status.target = Some(Target::Velocity(*velocity)),
                Command::Arm { .. } | Command::EStop | Command::SafeStop { .. } => {}
            }
            status.clone()
        };
        self.sink.emit(Event::DriveChanged {
            status: changed,
            at: self.clock.now(),
        });
    }

    /// The safe stop: motion jobs in the queue are cancelled, torque off goes out by
    /// broadcast first (one frame for all drives), then each drive is read back; any
    /// drive still on gets its own write.
    async fn estop(&mut self) -> Result<(), TxError> {
        self.jogs.clear();
        // Jobs submitted before the E-stop but still in the channel are cancelled too.
        self.drain_requests();
        let (motion, rest): (Vec<Job>, Vec<Job>) = self
            .queue
            .drain(..)
            .partition(|job| job.command.is_motion());
        self.queue.extend(rest);
        let profiles = self.drive_profiles();
        // Distinct torque-enable addresses: one broadcast each.
        let mut broadcasts: Vec<Packet> = profiles
            .iter()
            .filter_map(|(_, p)| dxl2::broadcast_torque_off(p))
            .collect();
        broadcasts.dedup();
        for packet in &broadcasts {
            self.transact(packet, 0).await?;
        }
        for job in motion {
            job.finish(
                JobState::Cancelled {
                    reason: "E-stop".into(),
                },
                self.sink.as_ref(),
                self.clock,
            );
        }
        let mut unconfirmed = Vec::new();
        for (id, profile) in &profiles {
            let confirmed = match self.read_u(*id, profile, Role::TorqueEnable).await {
                Ok(0) => true,
                _ => match dxl2::write_role(profile, *id, Role::TorqueEnable, 0) {
                    Some(packet) => self.command(&packet, *id).await.is_ok(),
                    None => false,
                },
            };
            if !confirmed {
                unconfirmed.push(*id);
            }
        }
        let at = self.clock.now();
        let changed: Vec<DriveStatus> = {
            let mut drives = self.write_drives();
            drives
                .iter_mut()
                .filter(|(id, _)| !unconfirmed.contains(id))
                .map(|(_, d)| {
                    d.status.enabled = false;
                    d.status.target = None;
                    d.status.clone()
                })
                .collect()
        };
        for status in changed {
            self.sink.emit(Event::DriveChanged { status, at });
        }
        if unconfirmed.is_empty() {
            Ok(())
        } else {
            Err(TxError::Timeout {
                partial: Vec::new(),
            })
        }
    }

    fn expired_jog(&self) -> Option<u8> {
        let now = Instant::now();
        self.jogs
            .iter()
            .find(|(_, until)| **until <= now)
            .map(|(id, _)| *id)
    }

    fn next_jog_deadline(&self) -> Option<Instant> {
        self.jogs.values().min().copied()
    }

    /// Brings a drive whose jog ran out to velocity 0. `Err` when the link is lost.
    async fn end_jog(&mut self, id: u8) -> Result<(), String> {
        self.jogs.remove(&id);
        let Some(profile) = self.profile_of(id) else {
            return Ok(());
        };
        let Some(stop) = dxl2::write_role(&profile, id, Role::GoalVelocity, 0) else {
            return Ok(());
        };
        match self.command(&stop, id).await {
            Ok(_) => {
                let changed = {
                    let mut drives = self.write_drives();
                    drives.get_mut(&id).map(|entry| {
                        entry.status.target = Some(Target::Velocity(0.0));
                        entry.status.clone()
                    })
                };
                if let Some(status) = changed {
                    self.sink.emit(Event::DriveChanged {
                        status,
                        at: self.clock.now(),
                    });
                }
                Ok(())
            }
            Err(CommandError::Io(e)) => Err(e),
            Err(e) => {
                // The drive did not take the stop: tell the log; the state poll and the
                // watchdog remain, and the next loop does not retry forever.
                log::error!("link {}: could not end the jog of drive {id}: {e}", self.id);
                Ok(())
            }
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, LinkHealth> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a telemetry poll; every half second the achieved rate is published.
    fn count_poll(&mut self) {
        self.polls_in_window += 1;
        let elapsed = self.poll_window_start.elapsed();
        if elapsed >= Duration::from_millis(500) {
            let hz = f64::from(self.polls_in_window) / elapsed.as_secs_f64();
            self.health().poll_hz = hz;
            self.polls_in_window = 0;
            self.poll_window_start = Instant::now();
        }
    }

    /// The drives on the link and their profiles, as a snapshot.
    fn drive_profiles(&self) -> Vec<(u8, Arc<Profile>)> {
        self.drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, d)| (*id, Arc::clone(&d.profile)))
            .collect()
    }

    /// One Sync Read of the block covering `roles`, from every drive on the link. The
    /// replies that came in time are returned even when some drive stayed silent; `None`
    /// when there is nothing to read.
    async fn sync_read_roles(
        &mut self,
        roles: &[Role],
    ) -> Result<Option<(Vec<(u8, Arc<Profile>)>, Span, Vec<Packet>)>, TxError> {
        let drives = self.drive_profiles();
        let Some(span) = drives
            .first()
            .and_then(|(_, profile)| Span::covering(profile, roles))
        else {
            return Ok(None);
        };
        let ids: Vec<u8> = drives.iter().map(|(id, _)| *id).collect();
        let request = Packet::sync_read(span.address, span.length, &ids);
        let replies = match self.transact(&request, ids.len()).await {
            Ok(replies) => replies,
            Err(TxError::Timeout { partial }) => {
                let mut health = self.health();
                for id in ids
                    .iter()
                    .filter(|id| !partial.iter().any(|p| p.id == **id))
                {
                    health.drives.entry(*id).or_default().missed += 1;
                }
                partial
            }
            Err(e) => return Err(e),
        };
        Ok(Some((drives, span, replies)))
    }

    async fn poll_telemetry(&mut self) -> Result<(), TxError> {
        let Some((drives, span, replies)) = self.sync_read_roles(&dxl2::TELEMETRY).await? else {
            return Ok(());
        };
        let t_us = self.clock.now();
        let mut samples = Vec::with_capacity(replies.len());
        for reply in &replies {
            let Some(status) = reply.as_status() else {
                continue;
            };
            let Some((_, profile)) = drives.iter().find(|(id, _)| *id == reply.id) else {
                continue;
            };
            let si = |role: Role| {
                let raw = span.value(profile, role, status.data)?;
                Some(profile.role(role)?.to_si(raw))
            };
            if let (Some(position), Some(velocity), Some(current)) = (
                si(Role::PresentPosition),
                si(Role::PresentVelocity),
                si(Role::PresentCurrent),
            ) {
                samples.push(TelemetrySample {
                    drive: self.drive_ref(reply.id),
                    t_us,
                    position,
                    velocity,
                    current,
                });
            }
        }
        if !samples.is_empty() {
            self.sink.emit(Event::Samples { samples });
        }
        Ok(())
    }

    async fn poll_state(&mut self) -> Result<(), TxError> {
        let watched = self
            .drive_profiles()
            .first()
            .is_some_and(|(_, p)| p.role(Role::BusWatchdog).is_some());
        let roles: &[Role] = if watched {
            &[Role::TorqueEnable, Role::HardwareError, Role::BusWatchdog]
        } else {
            &dxl2::STATE
        };
        let Some((_, span, replies)) = self.sync_read_roles(roles).await? else {
            return Ok(());
        };
        let at = self.clock.now();
        let mut changed = Vec::new();
        {
            let mut table = self.write_drives();
            for reply in &replies {
                let (Some(status), Some(entry)) = (reply.as_status(), table.get_mut(&reply.id))
                else {
                    continue;
                };
                let enabled = span.value(&entry.profile, Role::TorqueEnable, status.data);
                let error = span.value(&entry.profile, Role::HardwareError, status.data);
                let (Some(enabled), Some(error)) = (enabled, error) else {
                    continue;
                };
                let tripped =
                    span.value(&entry.profile, Role::BusWatchdog, status.data) == Some(-1);
                let fault = match (dxl2::hardware_error_text(error), tripped) {
                    (Some(hardware), true) => Some(format!("{hardware}; {WATCHDOG_TRIPPED}")),
                    (None, true) => Some(WATCHDOG_TRIPPED.to_string()),
                    (hardware, false) => hardware,
                };
                if entry.status.enabled != (enabled != 0) || entry.status.fault != fault {
                    entry.status.enabled = enabled != 0;
                    entry.status.fault = fault;
                    changed.push(entry.status.clone());
                }
            }
        }
        for status in changed {
            self.sink.emit(Event::DriveChanged { status, at });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial_error(kind: std::io::ErrorKind, text: &str) -> tokio_serial::Error {
        tokio_serial::Error::new(tokio_serial::ErrorKind::Io(kind), text)
    }

    #[test]
    fn a_permission_error_says_how_to_get_access() {
        let error = open_error(
            "/dev/ttyUSB0",
            &serial_error(std::io::ErrorKind::PermissionDenied, "Permission denied"),
        );
        assert_eq!(
            error,
            LinkError::PermissionDenied {
                port: "/dev/ttyUSB0".into()
            }
        );
        let message = error.to_string();
        assert!(message.starts_with("permission denied opening /dev/ttyUSB0: "));
        if cfg!(target_os = "linux") {
            for needle in ["dialout", "uucp", "log out", "udev"] {
                assert!(
                    message.contains(needle),
                    "{needle:?} missing from {message}"
                );
            }
        }
    }

    #[test]
    fn other_open_errors_keep_the_systems_words() {
        let error = open_error(
            "/dev/ttyUSB9",
            &serial_error(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(
            error.to_string(),
            "cannot open /dev/ttyUSB9: No such file or directory"
        );
        assert!(!error.to_string().contains("dialout"));
    }

    #[test]
    fn opening_a_missing_port_is_an_open_error() {
        match open_serial("/dev/drivedeck-no-such-port", 57_600) {
            Err(LinkError::Open { port, .. }) => assert_eq!(port, "/dev/drivedeck-no-such-port"),
            Err(other) => panic!("expected LinkError::Open, got {other}"),
            Ok(_) => panic!("a missing port opened"),
        }
    }
}
