//! A link: one port, one protocol, one or more drives, and the actor that owns them.
//!
//! The actor is the only code that touches the port, and it is the same for every
//! protocol: what a protocol means (frames, replies, timing, broadcast, error bits) comes
//! from the link's [`LinkProtocol`]. Callers talk to the actor through a [`LinkHandle`]:
//! jobs go into a [`JobQueue`] (a FIFO per priority class: safety jobs before user jobs
//! before telemetry-class reads, and writes to a drive keep their order within a
//! class; a job still queued at its deadline times out unsent), E-stops into a separate
//! channel the actor always looks at first. Parameter jobs live in [`params`]. Between jobs the actor polls telemetry
//! (present current/velocity/position: one Sync Read where the protocol has it, else
//! one read per drive) at the configured rate and the drives' state (enabled, fault,
//! watchdog) at a lower one, and emits both as events. A transaction writes one request
//! and reads replies until the expected ones arrived or the reply timeout passed (the
//! wire time of request and replies, the drives' return delays and the configured
//! allowance); a corrupt or missing reply fails the job (after one retry), it never
//! wedges the link. An I/O error means the link is lost: every queued job fails with
//! that reason and the actor reconnects with backoff, never re-enabling a drive.
//!
//! Drives whose profile says `enable = "cia402"` are enabled by walking the CiA 402
//! state machine (Shutdown, Switch On, Enable Operation, with a Fault Reset first when
//! the drive is in Fault), and their state is read from the statusword.

use crate::fault;
use crate::health::LinkHealth;
use crate::job::{Job, JobQueue};
use crate::protocol::{self, Block, Identity, LinkProtocol, Reply};
use crate::{EventSink, SubmitError};
use bytes::BytesMut;
use drivedeck_domain::{
    Clock, Command, DriveMode, DriveRef, DriveStatus, Event, JobState, LinkId, SoftLimits, Target,
    TelemetrySample,
};
use drivedeck_proto::cia402::{self, State as Cia402State};
use drivedeck_proto::profile::{AddressSpace, Enable, Profile, Protocol, Register, Role};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

mod discovery;
mod enable;
mod estop;
mod execute;
mod jog;
mod params;
mod poll;
mod transaction;

/// How to reach the drives of one link.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Serial device path (`/dev/ttyUSB0`, `/dev/pts/3`, `COM3`).
    pub port: String,
    /// Baud rate.
    pub baud: u32,
    /// The drives expected on the bus, by ID, with their model. Every profile must speak
    /// the same protocol: that is the link's protocol.
    pub drives: Vec<(u8, Arc<Profile>)>,
    /// Telemetry polls per second (all drives in one poll).
    pub poll_hz: f64,
    /// State polls (enabled, fault) per second.
    pub state_hz: f64,
    /// How long to wait for a reply beyond its wire time and the drives' return delays
    /// (the host's and the adapter's latency, the drive's processing).
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
    /// Defaults for `drives` on `port`: 200 Hz telemetry, 10 Hz state, 50 ms reply
    /// allowance, lost after 5 silent exchanges, reconnect backoff 100 ms – 5 s.
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

    /// The protocol the configured drives speak; an error if none are configured or
    /// their profiles disagree.
    pub fn protocol(&self) -> Result<Protocol, LinkError> {
        let mut protocols = self.drives.iter().map(|(_, p)| p.protocol);
        let first = protocols
            .next()
            .ok_or_else(|| LinkError::Config("no drives configured".into()))?;
        if let Some(other) = protocols.find(|p| *p != first) {
            return Err(LinkError::Config(format!(
                "one link carries one protocol, but the drives' profiles speak {} and {}",
                protocol::protocol_name(first),
                protocol::protocol_name(other)
            )));
        }
        Ok(first)
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

/// Opens a serial port for a link (8N1, no flow control), as a tokio stream. Bytes
/// already waiting in its input (the drives' answers to whatever the last program sent,
/// a stop at its exit among them) are discarded, so the first request of this link is
/// not answered by one of them.
pub fn open_serial(port: &str, baud: u32) -> Result<tokio_serial::SerialStream, LinkError> {
    use tokio_serial::{SerialPort, SerialPortBuilderExt};
    let stream = tokio_serial::new(port, baud)
        .open_native_async()
        .map_err(|e| open_error(port, &e))?;
    if let Err(e) = stream.clear(tokio_serial::ClearBuffer::Input) {
        log::warn!("{port}: could not discard stale input: {e}");
    }
    Ok(stream)
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
    /// How long the drive waits before it answers (its Return Delay Time), as read.
    return_delay: Duration,
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
    protocol: Arc<dyn LinkProtocol>,
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

    /// The link's protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol.protocol()
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
            Command::SetSoftLimits { limits, .. } => {
                limits.check(status).map_err(SubmitError::Invalid)
            }
            Command::SetMode { mode, .. } if status.enabled && *mode != status.mode => {
                Err(SubmitError::Invalid(format!(
                    "disable drive {} before changing its mode",
                    drive.id
                )))
            }
            Command::SetTarget { target, .. } => {
                check_target(status, *target)?;
                self.check_raw(&entry.profile, *target)
            }
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
                let target = Target::Velocity(*velocity);
                check_target(status, target)?;
                self.check_raw(&entry.profile, target)
            }
            _ => params::validate(self.protocol.as_ref(), &entry.profile, status, command),
        }
    }

    /// The target as the register will hold it must fit the profile's range (the
    /// register's type, min and max, and its sign encoding).
    fn check_raw(&self, profile: &Profile, target: Target) -> Result<(), SubmitError> {
        goal_raw(self.protocol.as_ref(), profile, target)
            .map(|_| ())
            .map_err(SubmitError::Invalid)
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

    /// Sets `drive`'s soft limits (already checked); its new status, for the journal.
    pub fn set_soft_limits(&self, drive: u8, limits: SoftLimits) -> Option<DriveStatus> {
        let mut drives = self.drives.write().unwrap_or_else(|e| e.into_inner());
        drives.get_mut(&drive).map(|entry| {
            entry.status.soft_limits = limits;
            entry.status.clone()
        })
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

/// The goal register and its raw value for `target`: the SI value in the register's
/// units, sign-encoded as the protocol does, checked against the profile's range.
fn goal_raw<'p>(
    protocol: &dyn LinkProtocol,
    profile: &'p Profile,
    target: Target,
) -> Result<(&'p Register, i64), String> {
    let (role, si) = match target {
        Target::Position(rad) => (Role::GoalPosition, rad),
        Target::Velocity(rad_s) => (Role::GoalVelocity, rad_s),
    };
    let register = protocol::role_register(profile, role)?;
    let does_not_fit = || {
        format!(
            "{si} {} does not fit {} ({})",
            register.unit.as_deref().unwrap_or(""),
            register.name,
            register.ty
        )
    };
    let value = if protocol.sign_bit(profile, register).is_some() {
        // Sign-magnitude: the sign goes into a bit of the register, not into its type.
        let counts = (si / register.scale).round();
        if !counts.is_finite() || counts.abs() > f64::from(i32::MAX) {
            return Err(does_not_fit());
        }
        counts as i64
    } else {
        register.from_si(si).ok_or_else(does_not_fit)?
    };
    let raw = protocol::to_wire(protocol, profile, register, value)?;
    Ok((register, raw))
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
            let (lo, hi) = status.effective_position_limits();
            let which = if status.soft_limits.position.is_some() {
                "soft limits"
            } else {
                "range"
            };
            if !rad.is_finite() || rad < lo || rad > hi {
                return Err(SubmitError::Invalid(format!(
                    "position {rad:.4} rad ({:.1}°) is outside drive {}'s {which} {lo:.4} – {hi:.4} rad ({:.1}° – {:.1}°)",
                    rad.to_degrees(),
                    status.drive.id,
                    lo.to_degrees(),
                    hi.to_degrees()
                )));
            }
        }
        Target::Velocity(rad_s) => {
            let limit = status.effective_velocity_limit();
            let which = if limit < status.velocity_limit {
                "soft limit"
            } else {
                "limit"
            };
            if !rad_s.is_finite() || rad_s.abs() > limit {
                return Err(SubmitError::Invalid(format!(
                    "velocity {rad_s:.4} rad/s is beyond drive {}'s {which} ±{limit:.4} rad/s",
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
    })
}

/// The fault text of a drive whose Bus Watchdog stopped it.
const WATCHDOG_TRIPPED: &str = "bus watchdog tripped: the drive heard nothing for too long and stopped (disable, then enable again to clear it)";

/// The roles telemetry reads every poll (present current is optional: DYNAMIXEL 1.0
/// servos do not measure it, and their samples carry NaN for it).
const TELEMETRY: [Role; 3] = [
    Role::PresentCurrent,
    Role::PresentVelocity,
    Role::PresentPosition,
];

/// The roles the state poll reads, those a profile has (the watchdog where there is
/// one; the statusword of CiA 402 drives, the torque flag of the others).
const STATE: [Role; 4] = [
    Role::TorqueEnable,
    Role::StatusWord,
    Role::HardwareError,
    Role::BusWatchdog,
];

/// How many statusword reads a CiA 402 enable may take before it gives up.
const CIA402_STEPS: usize = 12;

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
    /// The drive answered with an error, or with something else than expected; or the
    /// request could not be made (nothing was sent).
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
    Timeout { partial: Vec<Reply> },
    /// The port failed: the link is lost.
    Io(String),
}

/// One read of a poll: the block, the request, and the drives whose answers it brings.
struct PlannedRead {
    block: Block,
    request: protocol::Request,
    drives: Vec<(u8, Arc<Profile>)>,
    /// The registers inside the block that the poll wants.
    registers: Vec<Register>,
}

/// The values a poll read from one drive: signed raw values by register, and the alarm
/// bits its answers carried.
#[derive(Default)]
struct Readings {
    values: HashMap<(AddressSpace, u16), i64>,
    alarms: u8,
}

impl Readings {
    fn get(&self, register: Option<&Register>) -> Option<i64> {
        let register = register?;
        self.values
            .get(&(register.space, register.address))
            .copied()
    }
}

/// The CiA 402 error code entry (603Fh) of a profile, if it names one.
fn error_code_register(profile: &Profile) -> Option<&Register> {
    profile
        .register("Error Code")
        .filter(|_| is_cia402(profile))
}

struct Actor<T> {
    id: LinkId,
    protocol: Arc<dyn LinkProtocol>,
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
    /// When the line was last busy (the last byte heard, or a broadcast's turnaround):
    /// the protocol's silence before a request counts from here.
    line_free_at: Instant,
    /// The telemetry poll's reads, made once the drives are known.
    telemetry_plan: Option<Arc<Vec<PlannedRead>>>,
    /// The state poll's reads.
    state_plan: Option<Arc<Vec<PlannedRead>>>,
    rx: BytesMut,
    config: LinkConfig,
    requests: mpsc::UnboundedReceiver<Request>,
    estops: mpsc::UnboundedReceiver<oneshot::Sender<Result<(), String>>>,
    queue: JobQueue,
    shutdown: Option<oneshot::Sender<()>>,
    drives: SharedDrives,
    sink: Arc<dyn EventSink>,
    clock: Clock,
}

/// What an enable or disable means for a drive's profile.
fn is_cia402(profile: &Profile) -> bool {
    profile.enable == Enable::Cia402
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Actor<T> {
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

/// What a command takes on the wire.
enum Plan {
    /// These writes, in order, each confirmed by the drive.
    Writes(Vec<protocol::Request>),
    /// The CiA 402 enable sequence, step by step as the statusword says.
    Cia402Enable,
}

/// The return delay assumed for a drive not read yet: the longest a DYNAMIXEL or
/// Feetech drive can be set to (254 × 2 µs).
const UNKNOWN_RETURN_DELAY: Duration = Duration::from_micros(508);

impl From<CommandError> for String {
    fn from(error: CommandError) -> String {
        error.to_string()
    }
}

impl From<String> for CommandError {
    fn from(reason: String) -> CommandError {
        CommandError::Refused(reason)
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
