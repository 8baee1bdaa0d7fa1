//! A link: one port, one protocol, one or more drives, and the actor that owns them.
//!
//! The actor is the only code that touches the port, and it is the same for every
//! protocol and every transport: what a protocol means (frames, replies, timing,
//! broadcast, error bits) comes from the link's [`LinkProtocol`], and how bytes move
//! (a byte stream, or whole frames through a codec) from its [`Transport`]. Callers talk
//! to the actor through a [`LinkHandle`]: jobs go into a [`JobQueue`] (a FIFO per
//! priority class; a job still queued at its deadline times out unsent), E-stops into a
//! separate channel the actor always looks at first. This module holds the link's
//! configuration, its errors, opening a serial port and the handle; each concern of the
//! actor has its own module:
//!
//! - `actor`: starting the actor and its loop (E-stops, jogs, jobs, polls, idling);
//! - `transaction`: a request, its replies and reply window, strays, retries;
//! - `discovery`: identifying the drives, losing the link and reconnecting (never
//!   re-enabling a drive);
//! - `estop`: the E-stop and safe stops;
//! - `poll`: the telemetry and state polls and their events;
//! - `jog`: jogs held for a bounded time;
//! - `enable`: the CiA 402 enable walk;
//! - `execute`: a job planned into register writes and run;
//! - `params`: parameter jobs (read, write, save, back up, restore);
//! - `tune`: tuning runs, one job each, played at the link's full rate;
//! - `setup`: set-up jobs (a new ID or baud rate, reboot, factory reset) and the link
//!   following its drive;
//! - `transport`: the byte-stream and frame transports.

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
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

mod actor;
mod discovery;
mod enable;
mod estop;
mod execute;
mod jog;
mod params;
mod poll;
mod setup;
mod transaction;
mod transport;
mod tune;

use actor::Actor;
pub(crate) use actor::spawn;
pub use transport::{Frame, FrameCodec, FrameIo, Framed, PacketFrames, TaggedFrames, Transport};

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
    /// The last position read (telemetry or a run), rad: where a test would start.
    last_position: Option<f64>,
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
    /// The rate the port is open at (a set-up job may move it).
    baud: Arc<AtomicU32>,
}

impl LinkHandle {
    /// The baud rate the link's port is open at now.
    pub fn baud(&self) -> u32 {
        self.baud.load(Ordering::Acquire)
    }

    /// What a tuning test on drive `id` would start from: its last position read (rad)
    /// and the wire-time limit of the test's cycle (a reference write and the run's
    /// read, with the drive's return delay), Hz.
    pub fn tune_start(&self, id: u8) -> Option<(Option<f64>, f64)> {
        let drives = self.read_drives();
        let entry = drives.get(&id)?;
        let target = match entry.status.mode {
            DriveMode::Position => Target::Position(entry.last_position.unwrap_or_default()),
            DriveMode::Velocity => Target::Velocity(0.0),
        };
        let writes = goal_raw(self.protocol.as_ref(), &entry.profile, target)
            .and_then(|(register, raw)| self.protocol.write(id, register, raw))
            .map(|w| vec![w])
            .unwrap_or_default();
        let reads = tune::run_reads(self.protocol.as_ref(), &entry.profile, id);
        let limit = tune::cycle_limit_hz(
            self.protocol.as_ref(),
            self.baud(),
            entry.return_delay,
            writes.iter().chain(&reads),
        );
        Some((entry.last_position, limit))
    }

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
            Command::Tune { test, .. } => {
                crate::tuning::check_test(status, entry.last_position, test)
                    .map_err(SubmitError::Invalid)?;
                self.check_raw(
                    &entry.profile,
                    match test.test_loop {
                        drivedeck_domain::TestLoop::Position => {
                            Target::Position(entry.last_position.unwrap_or_default())
                        }
                        drivedeck_domain::TestLoop::Velocity => Target::Velocity(0.0),
                    },
                )
            }
            Command::AbortTune { .. } => Ok(()),
            Command::Setup { step, .. } => {
                let others: Vec<u8> = drives
                    .keys()
                    .copied()
                    .filter(|id| *id != drive.id)
                    .collect();
                let link_baud = self.baud.load(Ordering::Acquire);
                match setup::destination(
                    self.protocol.as_ref(),
                    &entry.profile,
                    status,
                    &others,
                    drive.id,
                    link_baud,
                    *step,
                ) {
                    Ok(_) => Ok(()),
                    Err(reason) => Err(SubmitError::Invalid(reason)),
                }
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

/// Opens the link's port again, at the given baud rate, after it was lost or when a
/// set-up job moved its drive to another rate (`None` for streams that cannot be
/// reopened, such as in-memory pipes: their link ends when they fail).
pub type Reopen<T> = Box<dyn FnMut(u32) -> Result<T, LinkError> + Send>;

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

/// What an enable or disable means for a drive's profile.
fn is_cia402(profile: &Profile) -> bool {
    profile.enable == Enable::Cia402
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
