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

mod jog;
mod params;

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

    fn link_up_event(&self, at: i64) -> Event {
        Event::LinkUp {
            link: self.id,
            port: self.config.port.clone(),
            protocol: self.protocol.name().into(),
            baud: self.config.baud,
            at,
        }
    }

    /// Reports the link up and every drive's status (after discovery or a reconnect).
    fn announce_up(&self) {
        let at = self.clock.now();
        self.sink.emit(self.link_up_event(at));
        let statuses: Vec<DriveStatus> = self
            .write_drives()
            .values()
            .map(|d| d.status.clone())
            .collect();
        for status in statuses {
            self.sink.emit(Event::DriveChanged { status, at });
        }
    }

    /// Checks each configured drive's identity, reads its mode, limits and state.
    async fn discover(&mut self) -> Result<(), LinkError> {
        let expected = self.config.drives.clone();
        for (id, profile) in expected {
            match self.read_initial_status(id, &profile).await {
                Ok((status, return_delay)) => {
                    self.write_drives().insert(
                        id,
                        DriveEntry {
                            profile: Arc::clone(&profile),
                            status,
                            return_delay,
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
        self.plan_polls();
        self.announce_up();
        Ok(())
    }

    /// Plans the polls' reads for the drives now known: per model, the roles' registers
    /// cut into blocks, each read from all the model's drives at once where the protocol
    /// can (Sync Read), else from each drive.
    fn plan_polls(&mut self) {
        self.telemetry_plan = Some(Arc::new(self.plan(&TELEMETRY, false)));
        self.state_plan = Some(Arc::new(self.plan(&STATE, true)));
    }

    /// The reads of a poll of `roles` (and of the CiA 402 error code, with `error_code`).
    fn plan(&self, roles: &[Role], error_code: bool) -> Vec<PlannedRead> {
        let mut models: Vec<(Arc<Profile>, Vec<u8>)> = Vec::new();
        for (id, profile) in self.drive_profiles() {
            match models
                .iter_mut()
                .find(|(p, _)| Arc::ptr_eq(p, &profile) || **p == *profile)
            {
                Some((_, ids)) => ids.push(id),
                None => models.push((profile, vec![id])),
            }
        }
        let mut plan = Vec::new();
        for (profile, ids) in models {
            let mut registers: Vec<&Register> = roles
                .iter()
                .filter(|role| **role != Role::TorqueEnable || !is_cia402(&profile))
                .filter_map(|role| profile.role(*role))
                .collect();
            if error_code {
                registers.extend(error_code_register(&profile));
            }
            for block in Block::plan(&registers, self.protocol.max_read()) {
                let inside: Vec<Register> = registers
                    .iter()
                    .filter(|r| block.contains(r))
                    .map(|r| (*r).clone())
                    .collect();
                match self.protocol.read_many(&block, &ids) {
                    Ok(requests) => {
                        for request in requests {
                            let drives = request
                                .expect
                                .iter()
                                .map(|id| (*id, Arc::clone(&profile)))
                                .collect();
                            plan.push(PlannedRead {
                                block: block.clone(),
                                request,
                                drives,
                                registers: inside.clone(),
                            });
                        }
                    }
                    Err(e) => log::error!("link {}: cannot poll {}: {e}", self.id, profile.name),
                }
            }
        }
        plan
    }

    /// Reads one role's value (signed, as the drive means it) from drive `id`.
    async fn read_role(
        &mut self,
        id: u8,
        profile: &Profile,
        role: Role,
    ) -> Result<i64, CommandError> {
        let register = protocol::role_register(profile, role)?.clone();
        self.read_register(id, profile, &register).await
    }

    async fn read_register(
        &mut self,
        id: u8,
        profile: &Profile,
        register: &Register,
    ) -> Result<i64, CommandError> {
        let block = Block::of(register);
        let request = self.protocol.read(id, &block)?;
        let reply = self.command(&request, id).await?;
        if reply.data.len() != block.data_len() {
            return Err(format!(
                "drive {id} answered {} bytes reading {} ({} expected)",
                reply.data.len(),
                register.name,
                block.data_len()
            )
            .into());
        }
        let raw = block
            .raw(register, &reply.data)
            .ok_or_else(|| format!("short reply reading {}", register.name))?;
        Ok(protocol::from_wire(
            self.protocol.as_ref(),
            profile,
            register,
            raw,
        ))
    }

    /// A write of `value` (signed, as the drive means it) into `role`'s register,
    /// checked against the profile first.
    fn write_request(
        &self,
        profile: &Profile,
        id: u8,
        role: Role,
        value: i64,
    ) -> Result<protocol::Request, String> {
        let register = protocol::role_register(profile, role)?;
        self.write_register_request(profile, id, register, value)
    }

    fn write_register_request(
        &self,
        profile: &Profile,
        id: u8,
        register: &Register,
        value: i64,
    ) -> Result<protocol::Request, String> {
        let raw = protocol::to_wire(self.protocol.as_ref(), profile, register, value)?;
        self.protocol.write(id, register, raw)
    }

    /// Who the drive says it is: its ping's answer, else its Model Number entry; for
    /// Modbus (no ping) the answer to a read of its statusword or enable register.
    async fn identify(&mut self, id: u8, profile: &Profile) -> Result<Identity, String> {
        let mut identity = Identity::default();
        match self.protocol.ping(id) {
            Some(ping) => {
                let reply = self.command(&ping, id).await.map_err(|e| e.to_string())?;
                identity = self.protocol.identify(&reply);
            }
            None => {
                let role = if profile.role(Role::StatusWord).is_some() {
                    Role::StatusWord
                } else {
                    Role::TorqueEnable
                };
                self.read_role(id, profile, role).await?;
            }
        }
        if identity.model_number.is_none()
            && let Some(register) = profile.register("Model Number").cloned()
        {
            identity.model_number = Some(self.read_register(id, profile, &register).await? as u16);
        }
        Ok(identity)
    }

    async fn read_initial_status(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(DriveStatus, Duration), String> {
        let identity = self.identify(id, profile).await?;
        match identity.model_number {
            Some(model) if model != profile.model_number && profile.model_number != 0 => {
                return Err(format!(
                    "answers as model {model}, but {} is model {}",
                    profile.name, profile.model_number
                ));
            }
            _ => {}
        }
        let (enabled, cia402_fault) = self.read_enabled(id, profile).await?;
        let mode = self.read_mode(id, profile).await?;
        let velocity_limit = self.read_velocity_limit(id, profile).await?;
        let position_limits = self.read_position_limits(id, profile).await?;
        let fault = match profile.role(Role::HardwareError) {
            Some(_) => {
                let bits = self.read_role(id, profile, Role::HardwareError).await?;
                self.protocol.error_text(bits)
            }
            // Alarms travel in status packets: ask for the torque flag and look.
            None => self.read_alarms(id, profile).await?,
        };
        let code = match error_code_register(profile).cloned() {
            Some(register) => {
                fault::error_code_text(self.read_register(id, profile, &register).await? as u16)
            }
            None => None,
        };
        let fault = fault::join([cia402_fault, code, fault]);
        let return_delay = match profile.role(Role::ReturnDelay).cloned() {
            Some(register) => {
                let raw = self.read_register(id, profile, &register).await?;
                Duration::from_secs_f64(register.to_si(raw).clamp(0.0, 1.0))
            }
            None => Duration::ZERO,
        };
        Ok((
            DriveStatus {
                drive: self.drive_ref(id),
                model: profile.name.clone(),
                enabled,
                mode,
                fault,
                target: None,
                position_limits,
                velocity_limit,
                soft_limits: SoftLimits::default(),
            },
            return_delay,
        ))
    }

    /// Whether the drive's power stage is on, and for a CiA 402 drive in Fault, that.
    async fn read_enabled(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(bool, Option<String>), String> {
        if is_cia402(profile) {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            let state = Cia402State::from_statusword(word as u16);
            return Ok((
                state == Some(Cia402State::OperationEnabled),
                fault::statusword_text(word),
            ));
        }
        Ok((
            self.read_role(id, profile, Role::TorqueEnable).await? != 0,
            None,
        ))
    }

    /// The alarm bits of the drive's answer to a read of its torque flag, in words.
    async fn read_alarms(&mut self, id: u8, profile: &Profile) -> Result<Option<String>, String> {
        let register = protocol::role_register(profile, Role::TorqueEnable)?;
        let request = self.protocol.read(id, &Block::of(register))?;
        let reply = self
            .command(&request, id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.protocol.alarm_text(reply.alarms))
    }

    /// The operating mode: from the mode register, or on DYNAMIXEL 1.0 from the angle
    /// limits (both 0: wheel mode, a velocity mode).
    async fn read_mode(&mut self, id: u8, profile: &Profile) -> Result<DriveMode, String> {
        if profile.role(Role::OperatingMode).is_some() {
            let raw = self.read_role(id, profile, Role::OperatingMode).await?;
            return Ok(if raw == profile.modes.velocity {
                DriveMode::Velocity
            } else {
                DriveMode::Position
            });
        }
        let (Some(cw), Some(ccw)) = (
            profile.register("CW Angle Limit").cloned(),
            profile.register("CCW Angle Limit").cloned(),
        ) else {
            return Ok(DriveMode::Position);
        };
        let cw = self.read_register(id, profile, &cw).await?;
        let ccw = self.read_register(id, profile, &ccw).await?;
        Ok(if cw == 0 && ccw == 0 {
            DriveMode::Velocity
        } else {
            DriveMode::Position
        })
    }

    /// The fastest target allowed, rad/s: the drive's velocity limit entry where it has
    /// one set, never beyond what the goal register can carry.
    async fn read_velocity_limit(&mut self, id: u8, profile: &Profile) -> Result<f64, String> {
        let goal = protocol::role_register(profile, Role::GoalVelocity)?;
        let carried = protocol::magnitude_limit(self.protocol.as_ref(), profile, goal) as f64
            * goal.scale.abs();
        let Some(register) = profile.role(Role::VelocityLimit).cloned() else {
            return Ok(carried);
        };
        let raw = self.read_register(id, profile, &register).await?;
        let limit = register.to_si(raw).abs();
        // A limit entry of 0 is unset (Feetech publishes no factory value).
        Ok(if limit > 0.0 {
            limit.min(carried)
        } else {
            carried
        })
    }

    /// The position range allowed, rad: the goal register's range, narrowed by the
    /// drive's own limit entries where they are set (a pair of zeros means none: wheel
    /// or multi-turn mode).
    async fn read_position_limits(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(f64, f64), String> {
        let goal = protocol::role_register(profile, Role::GoalPosition)?.clone();
        let limits = goal.limits();
        let signed = |raw: i64| protocol::from_wire(self.protocol.as_ref(), profile, &goal, raw);
        let (mut lo, mut hi) = (
            goal.to_si(signed(*limits.start())),
            goal.to_si(signed(*limits.end())),
        );
        for (min_name, max_name) in [
            ("Min Position Limit", "Max Position Limit"),
            ("CW Angle Limit", "CCW Angle Limit"),
            ("Min Angle Limit", "Max Angle Limit"),
        ] {
            let (Some(min), Some(max)) = (
                profile.register(min_name).cloned(),
                profile.register(max_name).cloned(),
            ) else {
                continue;
            };
            let (Ok(min), Ok(max)) = (
                self.read_register(id, profile, &min).await,
                self.read_register(id, profile, &max).await,
            ) else {
                continue;
            };
            if min < max {
                lo = lo.max(goal.to_si(min));
                hi = hi.min(goal.to_si(max));
            }
        }
        Ok((lo.min(hi), lo.max(hi)))
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
                        Err(reason) => {
                            log::info!("link {}: not back yet: {reason}", self.id);
                            // Close it again: the port is locked exclusively, and the
                            // next attempt must be able to open it afresh.
                            self.io = None;
                        }
                    }
                }
                Err(e) => log::info!("link {}: reopen failed: {e}", self.id),
            }
            delay = (delay * 2).min(self.config.reconnect_max);
        }
    }

    /// After a reconnect: every known drive must answer; any found enabled is switched
    /// off (it ran unwatched), then the link is announced up again.
    async fn rediscover(&mut self) -> Result<(), String> {
        let drives = self.drive_profiles();
        let mut statuses = Vec::new();
        for (id, profile) in &drives {
            let (mut status, return_delay) = self.read_initial_status(*id, profile).await?;
            if status.enabled {
                let off = self.power_off_request(profile, *id)?;
                self.command(&off, *id).await.map_err(|e| e.to_string())?;
                status.enabled = false;
            }
            statuses.push((status, return_delay));
        }
        {
            let mut table = self.write_drives();
            for (status, return_delay) in &statuses {
                if let Some(entry) = table.get_mut(&status.drive.id) {
                    // The user's soft limits outlive the connection.
                    let soft_limits = entry.status.soft_limits;
                    entry.status = DriveStatus {
                        soft_limits,
                        ..status.clone()
                    };
                    entry.return_delay = *return_delay;
                }
            }
        }
        self.plan_polls();
        self.up.store(true, Ordering::Release);
        self.announce_up();
        Ok(())
    }

    /// The write that switches a drive's power stage off: torque flag 0, or CiA 402
    /// Disable Voltage.
    fn power_off_request(&self, profile: &Profile, id: u8) -> Result<protocol::Request, String> {
        let value = if is_cia402(profile) {
            i64::from(cia402::controlword::DISABLE_VOLTAGE)
        } else {
            0
        };
        self.write_request(profile, id, Role::TorqueEnable, value)
    }

    /// Moves every request waiting in the channel into the queue (a shutdown request is
    /// kept aside for the loop to act on).
    fn drain_requests(&mut self) {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Job(job) => self.queue.push(job),
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
        for job in self.queue.drain() {
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
        for job in self.queue.drain() {
            job.finish(
                JobState::Cancelled {
                    reason: reason.to_string(),
                },
                self.sink.as_ref(),
                self.clock,
            );
        }
    }

    /// Writes `request` and collects its expected replies (or what came in time). A
    /// broadcast write expects none and leaves the drives their turnaround time.
    async fn transact(&mut self, request: &protocol::Request) -> Result<Vec<Reply>, TxError> {
        let silence = self.protocol.silence_before_request(self.config.baud);
        if !silence.is_zero() {
            tokio::time::sleep_until(self.line_free_at + silence).await;
        }
        // Bytes left over from an earlier, timed-out exchange belong to nobody now.
        self.rx.clear();
        let io = self
            .io
            .as_mut()
            .ok_or_else(|| TxError::Io("the port is closed".into()))?;
        // No flush: on a serial port it is tcdrain, a blocking wait for the UART to empty
        // that would stall this task (and every E-stop behind it) for the request's wire
        // time or a USB frame. The kernel sends what was written at once.
        io.write_all(&request.bytes)
            .await
            .map_err(|e| TxError::Io(e.to_string()))?;
        let written = Instant::now();
        self.health().exchanges += 1;
        let expected = request.expect.len();
        let mut out = Vec::with_capacity(expected);
        if expected == 0 {
            self.line_free_at = written
                + protocol::wire_time(
                    self.config.baud,
                    self.protocol.bits_per_byte(),
                    request.bytes.len(),
                )
                + self.protocol.broadcast_turnaround();
            return Ok(out);
        }
        let mut deadline = written + self.reply_window(request);
        let mut estops_open = true;
        loop {
            loop {
                match self.protocol.decode(&mut self.rx, request) {
                    // Only the drives asked, each once: a late answer from an earlier,
                    // timed-out exchange is not this request's reply.
                    Ok(Some(reply))
                        if !request.expect.contains(&reply.id)
                            || out.iter().any(|r: &Reply| r.id == reply.id) =>
                    {
                        self.health().corrupt += 1;
                        log::debug!(
                            "link {}: a stray answer from drive {} ignored",
                            self.id,
                            reply.id
                        );
                    }
                    Ok(Some(reply)) => out.push(reply),
                    Ok(None) => break,
                    Err(e) => {
                        self.health().corrupt += 1;
                        log::debug!("link {}: dropped a corrupt frame: {e}", self.id);
                    }
                }
            }
            if out.len() >= expected {
                self.silent = 0;
                self.line_free_at = Instant::now();
                let rtt = written.elapsed();
                let mut health = self.health();
                health.record_rtt(rtt);
                for reply in &out {
                    let drive = health.drives.entry(reply.id).or_default();
                    drive.replies += 1;
                    drive.last_rtt = Some(rtt);
                }
                return Ok(out);
            }
            // With an E-stop waiting, the grace ends the exchange even while replies are
            // still streaming in (a long Sync Read answer): the stop goes first.
            if self.pending_estop.is_some() && Instant::now() >= deadline {
                self.line_free_at = Instant::now();
                return Err(TxError::Timeout { partial: out });
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
                    self.line_free_at = Instant::now();
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

    /// How long the replies to `request` may take: request and replies on the wire,
    /// each answering drive's return delay, and the configured allowance.
    fn reply_window(&self, request: &protocol::Request) -> Duration {
        let wire = protocol::wire_time(
            self.config.baud,
            self.protocol.bits_per_byte(),
            request.bytes.len() + request.reply_bytes,
        );
        let delays = {
            let drives = self.drives.read().unwrap_or_else(|e| e.into_inner());
            request
                .expect
                .iter()
                .map(|id| {
                    drives
                        .get(id)
                        .map_or(UNKNOWN_RETURN_DELAY, |d| d.return_delay)
                })
                .sum::<Duration>()
        };
        wire + delays + self.config.reply_timeout
    }

    /// How long a reply already on the wire may take to land: 64 bytes at the link's
    /// baud rate plus half a millisecond.
    fn estop_grace(&self) -> Duration {
        Duration::from_secs_f64(640.0 / f64::from(self.config.baud.max(1200)))
            + Duration::from_micros(500)
    }

    /// One request to one drive, one reply from it; retried once on timeout (unless an
    /// E-stop is waiting: it goes first).
    async fn command(
        &mut self,
        request: &protocol::Request,
        id: u8,
    ) -> Result<Reply, CommandError> {
        let mut last = CommandError::NoAnswer(format!("drive {id} did not answer"));
        for attempt in 0..2 {
            if attempt > 0 {
                if self.pending_estop.is_some() {
                    break;
                }
                self.health().retries += 1;
            }
            match self.transact(request).await {
                Ok(mut replies) => {
                    if replies.is_empty() {
                        return Err(CommandError::Refused(format!(
                            "a request to drive {id} that nobody answers"
                        )));
                    }
                    let reply = replies.remove(0);
                    if reply.id != id {
                        last = CommandError::Refused(format!(
                            "reply from ID {} instead of {id}",
                            reply.id
                        ));
                        continue;
                    }
                    return match &reply.refused {
                        None => Ok(reply),
                        Some(text) => {
                            Err(CommandError::Refused(format!("drive {id} refused: {text}")))
                        }
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

    /// What `command` takes on the wire for drive `id`; `Err` (nothing sent) when the
    /// profile cannot express it.
    fn plan_command(&self, command: &Command, profile: &Profile, id: u8) -> Result<Plan, String> {
        Ok(match command {
            Command::Enable { .. } if is_cia402(profile) => Plan::Cia402Enable,
            Command::Enable { .. } => Plan::Writes(vec![self.write_request(
                profile,
                id,
                Role::TorqueEnable,
                1,
            )?]),
            Command::Disable { .. } => Plan::Writes(vec![self.power_off_request(profile, id)?]),
            Command::SetMode { mode, .. } => Plan::Writes(self.mode_writes(profile, id, *mode)?),
            Command::Jog { velocity, .. } => {
                Plan::Writes(self.target_writes(profile, id, Target::Velocity(*velocity))?)
            }
            Command::SetTarget { target, .. } => {
                Plan::Writes(self.target_writes(profile, id, *target)?)
            }
            Command::Arm { .. }
            | Command::SetSoftLimits { .. }
            | Command::EStop
            | Command::SafeStop { .. }
            | Command::Connect { .. }
            | Command::Disconnect { .. }
            | Command::Scan { .. } => {
                return Err("not a job for one drive".into());
            }
            Command::ReadParams { .. }
            | Command::WriteParams { .. }
            | Command::SaveToFlash { .. }
            | Command::BackupParams { .. }
            | Command::RestoreParams { .. }
            | Command::ClearFault { .. } => {
                return Err("a parameter job, run apart".into());
            }
        })
    }

    /// The goal write; on a CiA 402 drive a position goal is then taken as a new set
    /// point, at once (controlword bits 5 and 4: 0x2F, then 0x3F, a rising edge of 4).
    fn target_writes(
        &self,
        profile: &Profile,
        id: u8,
        target: Target,
    ) -> Result<Vec<protocol::Request>, String> {
        let (register, raw) = goal_raw(self.protocol.as_ref(), profile, target)?;
        let mut writes = vec![self.protocol.write(id, register, raw)?];
        if is_cia402(profile) && matches!(target, Target::Position(_)) {
            let enable = i64::from(cia402::controlword::ENABLE_OPERATION);
            for bits in [0x20, 0x30] {
                writes.push(self.write_request(profile, id, Role::TorqueEnable, enable | bits)?);
            }
        }
        Ok(writes)
    }

    /// The writes that select `mode`: the operating-mode entry, or on DYNAMIXEL 1.0 the
    /// angle limits (both 0 for wheel mode; their factory values for joint mode).
    fn mode_writes(
        &self,
        profile: &Profile,
        id: u8,
        mode: DriveMode,
    ) -> Result<Vec<protocol::Request>, String> {
        if profile.role(Role::OperatingMode).is_some() {
            let raw = match mode {
                DriveMode::Position => profile.modes.position,
                DriveMode::Velocity => profile.modes.velocity,
            };
            return Ok(vec![self.write_request(
                profile,
                id,
                Role::OperatingMode,
                raw,
            )?]);
        }
        let (Some(cw), Some(ccw)) = (
            profile.register("CW Angle Limit"),
            profile.register("CCW Angle Limit"),
        ) else {
            return Err(format!("{} has no operating mode entry", profile.name));
        };
        let (cw_value, ccw_value) = match mode {
            DriveMode::Velocity => (0, 0),
            DriveMode::Position if ccw.default > cw.default => (cw.default, ccw.default),
            DriveMode::Position => (*cw.limits().start(), *ccw.limits().end()),
        };
        Ok(vec![
            self.write_register_request(profile, id, cw, cw_value)?,
            self.write_register_request(profile, id, ccw, ccw_value)?,
        ])
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
        if job.command.is_param() || matches!(job.command, Command::ClearFault { .. }) {
            return self.execute_params(job, drive, profile).await;
        }
        let plan = match self.plan_command(&job.command, &profile, drive.id) {
            Ok(plan) => plan,
            Err(reason) => {
                job.finish(
                    JobState::Failed {
                        reason: format!("{} cannot take this command: {reason}", profile.name),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                return Ok(());
            }
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
        let result = match plan {
            Plan::Writes(requests) => {
                let mut result = Ok(());
                for request in &requests {
                    if let Err(e) = self.command(request, drive.id).await {
                        result = Err(e);
                        break;
                    }
                }
                result
            }
            Plan::Cia402Enable => self.cia402_enable(&profile, drive.id).await,
        };
        if result.is_ok() {
            self.apply(&job.command);
        }
        self.finish_job(job, result)
    }

    /// Ends `job` in the terminal state its outcome means: done, timed out (no answer),
    /// failed (refused), or failed "link lost" — which is also returned as `Err` so the
    /// caller gives the link up.
    fn finish_job(&mut self, job: Job, result: Result<(), CommandError>) -> Result<(), String> {
        let state = match result {
            Ok(()) => JobState::Done,
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

    /// Walks a CiA 402 drive to Operation Enabled: reads the statusword, writes the
    /// controlword command that takes it one step closer (a Fault Reset first if it is
    /// in Fault, once), and again, within [`CIA402_STEPS`] reads.
    async fn cia402_enable(&mut self, profile: &Profile, id: u8) -> Result<(), CommandError> {
        let mut reset_tried = false;
        let mut last = None;
        for _ in 0..CIA402_STEPS {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            let state = Cia402State::from_statusword(word as u16).ok_or_else(|| {
                CommandError::Refused(format!(
                    "drive {id}'s statusword 0x{word:04X} shows no CiA 402 state"
                ))
            })?;
            last = Some(state);
            if state == Cia402State::OperationEnabled {
                return Ok(());
            }
            let Some(controlword) = state.next_to_enable() else {
                // Initialising or reacting to a fault: it takes no command; look again.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            if controlword == cia402::controlword::FAULT_RESET {
                if reset_tried {
                    return Err(CommandError::Refused(format!(
                        "drive {id} stays in Fault after a fault reset{}",
                        self.fault_detail(id, profile).await
                    )));
                }
                reset_tried = true;
                // The reset acts on a rising edge of bit 7: make sure it was low.
                let low = self.write_request(
                    profile,
                    id,
                    Role::TorqueEnable,
                    i64::from(cia402::controlword::DISABLE_VOLTAGE),
                )?;
                self.command(&low, id).await?;
            }
            let step =
                self.write_request(profile, id, Role::TorqueEnable, i64::from(controlword))?;
            self.command(&step, id).await?;
        }
        Err(CommandError::Refused(format!(
            "drive {id} did not reach Operation Enabled (last seen: {last:?})"
        )))
    }

    /// ": <error text>" from the drive's error register, or nothing.
    async fn fault_detail(&mut self, id: u8, profile: &Profile) -> String {
        if profile.role(Role::HardwareError).is_none() {
            return String::new();
        }
        match self.read_role(id, profile, Role::HardwareError).await {
            Ok(bits) => self
                .protocol
                .error_text(bits)
                .map(|text| format!(": {text}"))
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Before torque on: clear a tripped Bus Watchdog and arm it, so the drive stops by
    /// itself if DriveDeck stops talking to it (a crash, a pulled cable). The time
    /// leaves room for a job to another drive retrying: 2 × 2 reply timeouts plus two
    /// poll periods, at least 250 ms.
    async fn arm_watchdog(&mut self, profile: &Profile, id: u8) -> Result<(), CommandError> {
        let Some(register) = profile.role(Role::BusWatchdog).cloned() else {
            return Ok(());
        };
        let poll = Duration::from_secs_f64(1.0 / self.config.poll_hz);
        let window = (self.config.reply_timeout * 4 + poll * 2).max(Duration::from_millis(250));
        let units = (window.as_secs_f64() / register.scale).ceil() as i64;
        let units = units.clamp(1, register.max.unwrap_or(127));
        for raw in [0, units] {
            let request = self.write_register_request(profile, id, &register, raw)?;
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
                _ => {}
            }
            status.clone()
        };
        self.sink.emit(Event::DriveChanged {
            status: changed,
            at: self.clock.now(),
        });
    }

    /// The safe stop: motion jobs in the queue are cancelled, each profile's safe stop
    /// goes out by broadcast first where the protocol has one (one frame for all drives),
    /// then each drive is read back; any drive not stopped gets its own write.
    async fn estop(&mut self) -> Result<(), TxError> {
        self.jogs.clear();
        // Jobs submitted before the E-stop but still in the channel are cancelled too.
        self.drain_requests();
        let motion = self.queue.take(|job| job.command.is_motion());
        let profiles = self.drive_profiles();
        // Distinct stop writes (register and value): one broadcast each.
        let mut broadcasts: Vec<protocol::Request> = Vec::new();
        if let Some(all) = self.protocol.broadcast_id() {
            for (_, profile) in &profiles {
                match self.safe_stop_request(profile, all) {
                    Ok(request) if !broadcasts.contains(&request) => broadcasts.push(request),
                    Ok(_) => {}
                    Err(e) => log::error!("link {}: no broadcast stop: {e}", self.id),
                }
            }
        }
        for request in &broadcasts {
            self.transact(request).await?;
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
            let confirmed = match self.is_stopped(*id, profile).await {
                Ok(true) => true,
                _ => match self.safe_stop_request(profile, *id) {
                    Ok(request) => self.command(&request, *id).await.is_ok(),
                    Err(_) => false,
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

    /// The profile's safe stop as a write to `id` (or to every drive, at the broadcast
    /// address): torque off, or a CiA 402 Quick Stop / Disable Voltage.
    fn safe_stop_request(&self, profile: &Profile, id: u8) -> Result<protocol::Request, String> {
        self.write_request(profile, id, Role::TorqueEnable, profile.safe_stop.value())
    }

    /// Whether the drive reads back as stopped: torque off, or a CiA 402 drive out of
    /// Operation Enabled (braking in Quick Stop Active counts: that is its safe stop).
    async fn is_stopped(&mut self, id: u8, profile: &Profile) -> Result<bool, CommandError> {
        if is_cia402(profile) {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            return Ok(
                Cia402State::from_statusword(word as u16) != Some(Cia402State::OperationEnabled)
            );
        }
        Ok(self.read_role(id, profile, Role::TorqueEnable).await? == 0)
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

    /// Runs the reads of a poll plan and gathers each drive's values of `roles`. Drives
    /// that stayed silent count as missed; an E-stop waiting ends the poll early.
    async fn poll(&mut self, plan: &[PlannedRead]) -> Result<BTreeMap<u8, Readings>, TxError> {
        let mut readings: BTreeMap<u8, Readings> = BTreeMap::new();
        for read in plan {
            if self.pending_estop.is_some() {
                break;
            }
            let replies = match self.transact(&read.request).await {
                Ok(replies) => replies,
                Err(TxError::Timeout { partial }) => {
                    let mut health = self.health();
                    for id in read
                        .request
                        .expect
                        .iter()
                        .filter(|id| !partial.iter().any(|r| r.id == **id))
                    {
                        health.drives.entry(*id).or_default().missed += 1;
                    }
                    partial
                }
                Err(e) => return Err(e),
            };
            for reply in replies {
                let Some((_, profile)) = read.drives.iter().find(|(id, _)| *id == reply.id) else {
                    continue;
                };
                if reply.refused.is_some() {
                    continue;
                }
                // A late answer to an earlier request (after its timeout) has another
                // length: never read values out of it.
                if reply.data.len() != read.block.data_len() {
                    self.health().corrupt += 1;
                    log::debug!(
                        "link {}: drive {} answered {} bytes for a {}-byte read; ignored",
                        self.id,
                        reply.id,
                        reply.data.len(),
                        read.block.data_len()
                    );
                    continue;
                }
                let entry = readings.entry(reply.id).or_default();
                entry.alarms |= reply.alarms;
                for register in &read.registers {
                    if let Some(raw) = read.block.raw(register, &reply.data) {
                        let value =
                            protocol::from_wire(self.protocol.as_ref(), profile, register, raw);
                        entry
                            .values
                            .insert((register.space, register.address), value);
                    }
                }
            }
        }
        Ok(readings)
    }

    async fn poll_telemetry(&mut self) -> Result<(), TxError> {
        let Some(plan) = self.telemetry_plan.clone() else {
            return Ok(());
        };
        let readings = self.poll(&plan).await?;
        let t_us = self.clock.now();
        let mut samples = Vec::with_capacity(readings.len());
        {
            let drives = self.drives.read().unwrap_or_else(|e| e.into_inner());
            for (id, reading) in &readings {
                let Some(entry) = drives.get(id) else {
                    continue;
                };
                let si = |role: Role| {
                    let register = entry.profile.role(role)?;
                    Some(register.to_si(reading.get(Some(register))?))
                };
                let (Some(position), Some(velocity)) =
                    (si(Role::PresentPosition), si(Role::PresentVelocity))
                else {
                    continue;
                };
                samples.push(TelemetrySample {
                    drive: DriveRef {
                        link: self.id,
                        id: *id,
                    },
                    t_us,
                    position,
                    velocity,
                    // Not measured by every drive (DYNAMIXEL 1.0): a gap, not a zero.
                    current: si(Role::PresentCurrent).unwrap_or(f64::NAN),
                });
            }
        }
        if !samples.is_empty() {
            self.sink.emit(Event::Samples { samples });
        }
        Ok(())
    }

    async fn poll_state(&mut self) -> Result<(), TxError> {
        let Some(plan) = self.state_plan.clone() else {
            return Ok(());
        };
        let readings = self.poll(&plan).await?;
        let at = self.clock.now();
        let mut changed = Vec::new();
        {
            let mut table = self.write_drives();
            for (id, reading) in &readings {
                let Some(entry) = table.get_mut(id) else {
                    continue;
                };
                let profile = Arc::clone(&entry.profile);
                let role = |role: Role| reading.get(profile.role(role));
                let (enabled, cia402_fault) = if is_cia402(&profile) {
                    let Some(word) = role(Role::StatusWord) else {
                        continue;
                    };
                    (
                        Cia402State::from_statusword(word as u16)
                            == Some(Cia402State::OperationEnabled),
                        fault::statusword_text(word),
                    )
                } else {
                    let Some(torque) = role(Role::TorqueEnable) else {
                        continue;
                    };
                    (torque != 0, None)
                };
                let hardware = match role(Role::HardwareError) {
                    Some(bits) => self.protocol.error_text(bits),
                    None if profile.role(Role::HardwareError).is_some() => continue,
                    None => self.protocol.alarm_text(reading.alarms),
                };
                let code = reading
                    .get(error_code_register(&profile))
                    .and_then(|code| fault::error_code_text(code as u16));
                let tripped = role(Role::BusWatchdog) == Some(-1);
                let fault = fault::join([
                    cia402_fault,
                    code,
                    hardware,
                    tripped.then(|| WATCHDOG_TRIPPED.to_string()),
                ]);
                if entry.status.enabled != enabled || entry.status.fault != fault {
                    entry.status.enabled = enabled;
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
