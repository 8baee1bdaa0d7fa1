//! The shared vocabulary of DriveDeck.
//!
//! Both sides of the CQRS split speak these types: the command bus (write side) accepts
//! [`Command`]s as jobs and emits [`Event`]s; the query store (read side) applies those
//! events to its projections; the engine, the desktop shell, the CLI and the tests pass
//! them around. Nothing here does I/O.
//!
//! - [`DriveRef`], [`LinkId`]: where a drive lives (a link and a bus ID on it).
//! - [`Command`], [`Target`], [`DriveMode`]: what a user can ask of a drive.
//! - [`JobId`], [`JobState`], [`Priority`]: the lifecycle every command goes through,
//!   and its class on the link.
//! - [`Event`], [`TelemetrySample`], [`DriveStatus`], [`ParamSnapshot`]: what the bus
//!   reports.
//! - [`tuning`]: tuning runs ([`TestSpec`], [`Excitation`]) and what the bus reports of
//!   them.
//!
//! Quantities are SI throughout: radians, rad/s, amperes, seconds. Conversions to
//! degrees or rpm happen at the edges (UI, CLI).

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod tuning;
pub use tuning::{
    Excitation, RunClock, RunEnd, RunOutcome, RunStart, SweepKind, TestLoop, TestSpec, TuneSample,
};

/// Identifies one link (one serial port carrying one protocol) inside an engine.
pub type LinkId = u32;

/// A drive's address: the link it is on and its bus ID on that link.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
pub struct DriveRef {
    /// The link the drive is reached through.
    pub link: LinkId,
    /// The drive's ID on the bus (Dynamixel/Feetech ID, Modbus unit ID).
    pub id: u8,
}

impl fmt::Display for DriveRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link {} drive {}", self.link, self.id)
    }
}

/// A job's identity, unique within one store (it is the job journal's primary key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// How the drive's own control loops interpret the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum DriveMode {
    /// The position loop runs; targets are positions.
    Position,
    /// Only the velocity loop runs; targets are velocities.
    Velocity,
}

/// A set point, in SI units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// Shaft position in radians.
    Position(f64),
    /// Shaft velocity in rad/s.
    Velocity(f64),
}

impl Target {
    /// The drive mode this target needs.
    pub fn mode(&self) -> DriveMode {
        match self {
            Target::Position(_) => DriveMode::Position,
            Target::Velocity(_) => DriveMode::Velocity,
        }
    }
}

/// Something a user (UI, CLI, test) asks of the drives. Every command becomes a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Command {
    /// The user's explicit permission to enable a drive: an Enable is refused unless
    /// the drive was armed within the last few seconds. Sends nothing to the drive.
    Arm {
        /// The drive.
        drive: DriveRef,
    },
    /// Switch the drive's power stage on (torque on). The drive must be armed.
    Enable {
        /// The drive.
        drive: DriveRef,
    },
    /// Switch the drive's power stage off.
    Disable {
        /// The drive.
        drive: DriveRef,
    },
    /// Change the drive's operating mode; the drive must be disabled.
    SetMode {
        /// The drive.
        drive: DriveRef,
        /// The new mode.
        mode: DriveMode,
    },
    /// Give the drive a new set point.
    SetTarget {
        /// The drive.
        drive: DriveRef,
        /// The set point, in SI units.
        target: Target,
    },
    /// Hold-to-run: spin at `velocity` (rad/s, velocity mode) for `hold_ms` at most.
    /// The holder renews it (every ~100 ms while a button is held); when renewals stop,
    /// the drive is brought to velocity 0 by itself.
    Jog {
        /// The drive.
        drive: DriveRef,
        /// Velocity, rad/s.
        velocity: f64,
        /// How long this renewal keeps the drive moving, ms (at most 1000).
        #[serde(rename = "holdMs")]
        hold_ms: u32,
    },
    /// Stop every drive on every link with its profile's safe stop. Jumps every queue.
    EStop,
    /// The same stop as [`Command::EStop`], issued by the safety supervisor (or on
    /// shutdown), with the reason recorded in the journal.
    SafeStop {
        /// Why the drives were stopped (heartbeat lost, app closing…).
        reason: String,
    },
    /// Read registers of the drive's profile by name (empty: every register); the values
    /// are reported as a [`SnapshotKind::Read`] snapshot.
    ReadParams {
        /// The drive.
        drive: DriveRef,
        /// Register names from the drive's profile; empty for all of them.
        registers: Vec<String>,
    },
    /// Write registers, in SI values (the profile's unit and scale). Each value is checked
    /// against its register's access, type, min and max before anything is sent; the
    /// registers are read before ([`SnapshotKind::BeforeWrite`]) and after
    /// ([`SnapshotKind::AfterWrite`]) the writes.
    WriteParams {
        /// The drive.
        drive: DriveRef,
        /// (register name, SI value) pairs, written in this order.
        values: Vec<(String, f64)>,
    },
    /// Make the drive keep its parameters across a power cycle, where its protocol needs
    /// a step for that (CiA 402 Store Parameters); done at once where the parameters
    /// already persist (DYNAMIXEL EEPROM, Feetech with the bus unlocking around writes).
    SaveToFlash {
        /// The drive.
        drive: DriveRef,
    },
    /// Read every persistent register of the drive as a [`SnapshotKind::Backup`].
    BackupParams {
        /// The drive.
        drive: DriveRef,
        /// The backup's label.
        label: String,
    },
    /// Write a backup's values back (checked like [`Command::WriteParams`]), then read
    /// them back as a [`SnapshotKind::Restore`] snapshot.
    RestoreParams {
        /// The drive.
        drive: DriveRef,
        /// (register name, SI value) pairs, as a backup holds them.
        values: Vec<(String, f64)>,
        /// The backup's label.
        label: String,
    },
    /// Clear the drive's latched fault: a DYNAMIXEL 2.0 Reboot, a CiA 402 Fault Reset.
    /// Refused where the protocol has no such step.
    ClearFault {
        /// The drive.
        drive: DriveRef,
    },
    /// Set a drive up on its bus: a new ID or baud rate (the link follows the drive), a
    /// reboot or a factory reset. The drive must be disabled; see [`SetupStep`].
    Setup {
        /// The drive, at the ID it has now.
        drive: DriveRef,
        /// What to do.
        step: SetupStep,
    },
    /// Set (or clear, with `None`s) the user's soft limits of a drive: bookkeeping on the
    /// write side, no bytes; later targets and jogs are checked against them.
    SetSoftLimits {
        /// The drive.
        drive: DriveRef,
        /// The new limits.
        limits: SoftLimits,
    },
    /// Open a port and find the given drives on it. A link-level job: journaled like
    /// every job, run by the engine's connect call rather than a link's queue.
    Connect {
        /// The port (device path).
        port: String,
        /// The wire protocol's name.
        protocol: String,
        /// The baud rate.
        baud: u32,
        /// The bus IDs expected on it.
        drives: Vec<u8>,
    },
    /// Close a link: its queued jobs are cancelled, its drives left as they are.
    Disconnect {
        /// The link.
        link: LinkId,
    },
    /// Find the drives answering on a port (protocols × baud rates).
    Scan {
        /// The port (device path).
        port: String,
    },
    /// Run a tuning test on an enabled drive: checked against its limits before anything
    /// is sent; the link polls the drive as fast as it can while the test plays, then
    /// puts the drive back in the mode and at the target it had.
    Tune {
        /// The drive.
        drive: DriveRef,
        /// The test.
        test: TestSpec,
    },
    /// End the drive's running tuning test now (the drive holds, then is put back).
    /// Submitted in the safety class so it overtakes everything but a stop.
    AbortTune {
        /// The drive.
        drive: DriveRef,
    },
}

/// One set-up step for a drive on its bus ([`Command::Setup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum SetupStep {
    /// Give the drive a new bus ID; refused before anything is sent when another drive
    /// answers at it. The link then addresses the drive at its new ID.
    ChangeId {
        /// The new ID.
        to: u8,
    },
    /// Set the drive's baud rate; the link reopens its port at the new rate. Refused on
    /// a link with other drives (they would be left at the old rate).
    ChangeBaud {
        /// The new rate, bits/s (one the drive's protocol can encode).
        baud: u32,
    },
    /// Restart the drive (RAM back to its defaults: torque off, goal = present).
    Reboot {
        /// The user confirmed; refused without.
        confirm: bool,
    },
    /// Restore the factory values (the link follows the drive to its default ID and
    /// rate when those are reset too).
    FactoryReset {
        /// What survives the reset.
        keep: ResetKeep,
        /// The user confirmed; refused without.
        confirm: bool,
    },
}

/// What a factory reset keeps (DYNAMIXEL 2.0's option byte: 0xFF, 0x01, 0x02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum ResetKeep {
    /// Everything back to the factory values, the ID and the rate included.
    Nothing,
    /// Everything but the ID.
    Id,
    /// Everything but the ID and the baud rate.
    IdAndBaud,
}

impl Command {
    /// The drive the command addresses, if it addresses one.
    pub fn drive(&self) -> Option<DriveRef> {
        match self {
            Command::Arm { drive }
            | Command::Enable { drive }
            | Command::Disable { drive }
            | Command::SetMode { drive, .. }
            | Command::SetTarget { drive, .. }
            | Command::Jog { drive, .. }
            | Command::ReadParams { drive, .. }
            | Command::WriteParams { drive, .. }
            | Command::SaveToFlash { drive }
            | Command::BackupParams { drive, .. }
            | Command::RestoreParams { drive, .. }
            | Command::ClearFault { drive }
            | Command::SetSoftLimits { drive, .. }
            | Command::Tune { drive, .. }
            | Command::AbortTune { drive }
            | Command::Setup { drive, .. } => Some(*drive),
            Command::EStop
            | Command::SafeStop { .. }
            | Command::Connect { .. }
            | Command::Disconnect { .. }
            | Command::Scan { .. } => None,
        }
    }

    /// The link the command concerns, if one: its drive's, or the link it disconnects.
    pub fn link(&self) -> Option<LinkId> {
        match self {
            Command::Disconnect { link } => Some(*link),
            other => other.drive().map(|d| d.link),
        }
    }

    /// True for the link-level jobs (connect, disconnect, scan): the engine runs them
    /// itself; they never enter a link's queue.
    pub fn is_link_level(&self) -> bool {
        matches!(
            self,
            Command::Connect { .. } | Command::Disconnect { .. } | Command::Scan { .. }
        )
    }

    /// What the journal's reason column starts with for this command: a safe stop's
    /// reason (heartbeat lost, link lost, app closing…), a set-up step's old → new.
    pub fn reason(&self) -> Option<String> {
        match self {
            Command::SafeStop { reason } => Some(reason.clone()),
            Command::Setup { drive, step } => Some(match step {
                SetupStep::ChangeId { to } => format!("ID {} → {to}", drive.id),
                SetupStep::ChangeBaud { baud } => {
                    format!("drive {}: baud rate → {baud}", drive.id)
                }
                SetupStep::Reboot { .. } => format!("drive {} rebooted", drive.id),
                SetupStep::FactoryReset { keep, .. } => format!(
                    "drive {} factory reset ({})",
                    drive.id,
                    match keep {
                        ResetKeep::Nothing => "ID and rate reset too",
                        ResetKeep::Id => "ID kept",
                        ResetKeep::IdAndBaud => "ID and rate kept",
                    }
                ),
            }),
            _ => None,
        }
    }

    /// True for the commands that stop every drive at once, ahead of every queue.
    pub fn is_stop(&self) -> bool {
        matches!(self, Command::EStop | Command::SafeStop { .. })
    }

    /// Short name for journals and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Arm { .. } => "arm",
            Command::Enable { .. } => "enable",
            Command::Disable { .. } => "disable",
            Command::SetMode { .. } => "setMode",
            Command::SetTarget { .. } => "setTarget",
            Command::Jog { .. } => "jog",
            Command::EStop => "eStop",
            Command::SafeStop { .. } => "safeStop",
            Command::ReadParams { .. } => "readParams",
            Command::WriteParams { .. } => "writeParams",
            Command::SaveToFlash { .. } => "saveToFlash",
            Command::BackupParams { .. } => "backupParams",
            Command::RestoreParams { .. } => "restoreParams",
            Command::ClearFault { .. } => "clearFault",
            Command::SetSoftLimits { .. } => "setSoftLimits",
            Command::Setup { step, .. } => match step {
                SetupStep::ChangeId { .. } => "changeId",
                SetupStep::ChangeBaud { .. } => "changeBaud",
                SetupStep::Reboot { .. } => "reboot",
                SetupStep::FactoryReset { .. } => "factoryReset",
            },
            Command::Connect { .. } => "connect",
            Command::Disconnect { .. } => "disconnect",
            Command::Scan { .. } => "scan",
            Command::Tune { .. } => "tune",
            Command::AbortTune { .. } => "abortTune",
        }
    }

    /// True for the parameter jobs (read, write, save, backup, restore): they change no
    /// motion state of the drive.
    pub fn is_param(&self) -> bool {
        matches!(
            self,
            Command::ReadParams { .. }
                | Command::WriteParams { .. }
                | Command::SaveToFlash { .. }
                | Command::BackupParams { .. }
                | Command::RestoreParams { .. }
        )
    }

    /// Whether the command can make a motor move (an E-stop cancels such jobs).
    pub fn is_motion(&self) -> bool {
        matches!(
            self,
            Command::Enable { .. }
                | Command::SetTarget { .. }
                | Command::Jog { .. }
                | Command::Tune { .. }
        )
    }
}

/// A job's class on its link: a link serves a higher class before any job of a lower
/// one; within a class, jobs keep the order they were submitted in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Priority {
    /// Telemetry-class reads (parameter reads for display): after every user job.
    Telemetry,
    /// What a user asks (the default).
    #[default]
    User,
    /// Stops and disables issued by the safety supervisor: ahead of every user job.
    Safety,
    /// E-stop and safe stop: ahead of everything, on a channel of their own.
    EStop,
}

impl Priority {
    /// The class's name, as the journal records it.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Telemetry => "telemetry",
            Priority::User => "user",
            Priority::Safety => "safety",
            Priority::EStop => "eStop",
        }
    }

    /// Whether `command` may be queued in this class: motion never in the safety
    /// class, only reads in the telemetry class, only stops in the E-stop class.
    pub fn admits(self, command: &Command) -> Result<(), String> {
        match self {
            _ if command.is_stop() => Ok(()),
            Priority::EStop => Err(format!(
                "only an E-stop or a safe stop runs in the E-stop class, not {}",
                command.name()
            )),
            Priority::Safety if command.is_motion() => Err(format!(
                "{} can make a motor move: it cannot run in the safety class",
                command.name()
            )),
            Priority::Telemetry if !matches!(command, Command::ReadParams { .. }) => Err(format!(
                "only parameter reads run in the telemetry class, not {}",
                command.name()
            )),
            _ => Ok(()),
        }
    }
}

/// Where a job is in its life. A job ends in exactly one terminal state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum JobState {
    /// Accepted, waiting for its turn on the link.
    Queued,
    /// Its bytes are on the wire; waiting for the reply.
    Sent,
    /// The drive confirmed it.
    Done,
    /// The drive or the link refused it.
    Failed {
        /// What went wrong, for a human.
        reason: String,
    },
    /// No valid reply came within the deadline.
    TimedOut,
    /// Dropped before it reached the wire (an E-stop, a disconnect).
    Cancelled {
        /// Why it was dropped.
        reason: String,
    },
}

impl JobState {
    /// True for done, failed, timed out and cancelled.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, JobState::Queued | JobState::Sent)
    }

    /// Stable lower-case name for storage and display.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sent => "sent",
            JobState::Done => "done",
            JobState::Failed { .. } => "failed",
            JobState::TimedOut => "timedOut",
            JobState::Cancelled { .. } => "cancelled",
        }
    }

    /// The human reason carried by failed and cancelled states.
    pub fn reason(&self) -> Option<&str> {
        match self {
            JobState::Failed { reason } | JobState::Cancelled { reason } => Some(reason),
            JobState::TimedOut => Some("no reply before the deadline"),
            _ => None,
        }
    }
}

/// Microseconds since the Unix epoch, read from a [`Clock`] (monotonic within a run).
pub type Micros = i64;

/// The engine's clock: wall-clock time at start-up, advanced by a monotonic timer, so
/// timestamps are absolute (comparable across sessions) yet never jump backwards.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch_us: Micros,
    started: std::time::Instant,
}

impl Clock {
    /// A clock reading the wall time now.
    pub fn start() -> Clock {
        let epoch_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as Micros)
            .unwrap_or(0);
        Clock {
            epoch_us,
            started: std::time::Instant::now(),
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn now(&self) -> Micros {
        self.epoch_us + self.started.elapsed().as_micros() as Micros
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::start()
    }
}

/// One telemetry reading of one drive.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// The drive read.
    pub drive: DriveRef,
    /// When the reply was decoded ([`Clock`] time).
    pub t_us: Micros,
    /// Present position, rad.
    pub position: f64,
    /// Present velocity, rad/s.
    pub velocity: f64,
    /// Present current, A.
    pub current: f64,
}

/// What the link actor knows of a drive's state, published when it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveStatus {
    /// The drive.
    pub drive: DriveRef,
    /// The drive model's name (from its profile).
    pub model: String,
    /// Power stage on.
    pub enabled: bool,
    /// Operating mode.
    pub mode: DriveMode,
    /// The drive's fault, decoded to text, if it reports one.
    pub fault: Option<String>,
    /// The last target the drive accepted.
    pub target: Option<Target>,
    /// Position limits of the profile (rad), for display and validation.
    pub position_limits: (f64, f64),
    /// Velocity limit of the profile (rad/s, symmetric).
    pub velocity_limit: f64,
    /// The user's tighter limits, if set (kept across a reconnect, not across runs).
    #[serde(default)]
    pub soft_limits: SoftLimits,
}

impl DriveStatus {
    /// The position range targets must fall in: the profile's, narrowed by the user's.
    pub fn effective_position_limits(&self) -> (f64, f64) {
        let (lo, hi) = self.position_limits;
        match self.soft_limits.position {
            Some((soft_lo, soft_hi)) => (lo.max(soft_lo), hi.min(soft_hi)),
            None => (lo, hi),
        }
    }

    /// The speed targets and jogs must stay under: the profile's, or the user's if lower.
    pub fn effective_velocity_limit(&self) -> f64 {
        self.soft_limits
            .velocity
            .map_or(self.velocity_limit, |soft| soft.min(self.velocity_limit))
    }
}

/// Limits a user sets tighter than the drive's own (a fixture that must not hit an end
/// stop, a first run at low speed). Targets outside them are refused before the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SoftLimits {
    /// Position range, rad (`None`: the profile's).
    pub position: Option<(f64, f64)>,
    /// Speed limit, rad/s, symmetric (`None`: the profile's).
    pub velocity: Option<f64>,
}

impl SoftLimits {
    /// Checks these limits against the drive's own: each must be finite and inside
    /// them (a soft limit can only narrow), a range must not be empty.
    pub fn check(&self, status: &DriveStatus) -> Result<(), String> {
        if let Some((lo, hi)) = self.position {
            let (min, max) = status.position_limits;
            if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
                return Err(format!(
                    "soft position limits {lo} – {hi} rad are not a range (the lower must be below the upper)"
                ));
            }
            if lo < min || hi > max {
                return Err(format!(
                    "soft position limits {lo:.4} – {hi:.4} rad reach outside drive {}'s range {min:.4} – {max:.4} rad: a soft limit can only narrow it",
                    status.drive.id
                ));
            }
        }
        if let Some(v) = self.velocity {
            if !v.is_finite() || v <= 0.0 {
                return Err(format!("soft velocity limit {v} rad/s must be above zero"));
            }
            if v > status.velocity_limit {
                return Err(format!(
                    "soft velocity limit {v:.4} rad/s is above drive {}'s limit {:.4} rad/s: a soft limit can only narrow it",
                    status.drive.id, status.velocity_limit
                ));
            }
        }
        Ok(())
    }
}

/// What the write side reports. The read side turns these into projections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// A link opened its port and found its drives.
    LinkUp {
        /// The link.
        link: LinkId,
        /// Port path.
        port: String,
        /// Protocol name.
        protocol: String,
        /// Baud rate.
        baud: u32,
        /// When.
        at: Micros,
    },
    /// A link lost its port.
    LinkDown {
        /// The link.
        link: LinkId,
        /// Why.
        reason: String,
        /// When.
        at: Micros,
    },
    /// A job entered the queue.
    JobQueued {
        /// The job.
        job: JobId,
        /// What it asks.
        command: Command,
        /// Its class on the link.
        priority: Priority,
        /// By when it must have been sent (still queued then, it times out unsent).
        deadline: Option<Micros>,
        /// When.
        at: Micros,
    },
    /// A job changed state (sent, or a terminal state).
    JobChanged {
        /// The job.
        job: JobId,
        /// The new state.
        state: JobState,
        /// When.
        at: Micros,
    },
    /// A batch of telemetry samples, in time order.
    Samples {
        /// The samples.
        samples: Vec<TelemetrySample>,
    },
    /// A drive's state changed.
    DriveChanged {
        /// The new state.
        status: DriveStatus,
        /// When.
        at: Micros,
    },
    /// A drive was given a new bus ID (a set-up job): from now on it is `to` on `link`;
    /// its state follows it, and what was recorded under `from` stays there.
    DriveReaddressed {
        /// The link.
        link: LinkId,
        /// The ID it had.
        from: u8,
        /// The ID it has now.
        to: u8,
        /// When.
        at: Micros,
    },
    /// A drive's parameters as read at one moment.
    ParamSnapshot {
        /// The snapshot.
        snapshot: ParamSnapshot,
    },
    /// A tuning run started on a drive.
    RunStarted {
        /// What the run is and what it will restore.
        start: Box<RunStart>,
    },
    /// A batch of a tuning run's readings (reference, output, drive clock), in time
    /// order; the same readings' position, velocity and current come as [`Event::Samples`].
    TuneSamples {
        /// The readings.
        samples: Vec<TuneSample>,
    },
    /// A tuning run ended.
    RunEnded {
        /// How and with what rate.
        end: RunEnd,
    },
}

/// Why a set of parameter values was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotKind {
    /// A plain read.
    Read,
    /// The values just before a write.
    BeforeWrite,
    /// The values read back after a write.
    AfterWrite,
    /// A full backup of the drive's parameters.
    Backup,
    /// The values after a restore from a backup.
    Restore,
}

impl SnapshotKind {
    /// The name kept in the store (`before-write`, …).
    pub fn name(self) -> &'static str {
        match self {
            SnapshotKind::Read => "read",
            SnapshotKind::BeforeWrite => "before-write",
            SnapshotKind::AfterWrite => "after-write",
            SnapshotKind::Backup => "backup",
            SnapshotKind::Restore => "restore",
        }
    }
}

/// One register's value in a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamValue {
    /// The register's name in the drive's profile.
    pub register: String,
    /// The raw register value.
    pub raw: i64,
    /// The value in `unit` (the profile's scale applied).
    pub value: f64,
    /// The unit of `value` (empty for plain numbers).
    pub unit: String,
}

/// A drive's parameter values at one moment, with why they were read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSnapshot {
    /// The drive.
    pub drive: DriveRef,
    /// Its model (the profile's name).
    pub model: String,
    /// Why it was taken.
    pub kind: SnapshotKind,
    /// The job that took it, if one did.
    pub job: Option<JobId>,
    /// A label (a backup's file name, a note).
    pub label: String,
    /// The values, one per register.
    pub values: Vec<ParamValue>,
    /// When.
    pub at: Micros,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_json_shape_is_what_the_ui_sends() {
        let json = r#"{"kind":"setTarget","drive":{"link":1,"id":2},"target":{"position":1.5}}"#;
        let command: Command = serde_json::from_str(json).expect("parses");
        assert_eq!(
            command,
            Command::SetTarget {
                drive: DriveRef { link: 1, id: 2 },
                target: Target::Position(1.5)
            }
        );
        let jog: Command = serde_json::from_str(
            r#"{"kind":"jog","drive":{"link":1,"id":2},"velocity":-0.5,"holdMs":300}"#,
        )
        .expect("parses");
        assert_eq!(
            jog,
            Command::Jog {
                drive: DriveRef { link: 1, id: 2 },
                velocity: -0.5,
                hold_ms: 300
            }
        );
        let estop: Command = serde_json::from_str(r#"{"kind":"eStop"}"#).expect("parses");
        assert_eq!(estop, Command::EStop);
        assert!(serde_json::from_str::<Command>(r#"{"kind":"explode"}"#).is_err());
    }

    #[test]
    fn terminal_states() {
        assert!(!JobState::Queued.is_terminal());
        assert!(!JobState::Sent.is_terminal());
        assert!(JobState::Done.is_terminal());
        assert!(JobState::TimedOut.is_terminal());
        assert!(JobState::Failed { reason: "x".into() }.is_terminal());
        assert_eq!(
            JobState::TimedOut.reason(),
            Some("no reply before the deadline")
        );
    }

    #[test]
    fn clock_is_absolute_and_monotonic() {
        let clock = Clock::start();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        // 2020-01-01 in µs: the clock is wall time, not time since start.
        assert!(a > 1_577_836_800_000_000);
    }

    #[test]
    fn priority_classes_admit_what_they_are_for() {
        let drive = DriveRef { link: 0, id: 1 };
        assert!(Priority::EStop > Priority::Safety);
        assert!(Priority::Safety > Priority::User && Priority::User > Priority::Telemetry);
        assert!(Priority::Safety.admits(&Command::Disable { drive }).is_ok());
        assert!(Priority::Safety.admits(&Command::Enable { drive }).is_err());
        assert!(Priority::EStop.admits(&Command::Disable { drive }).is_err());
        assert!(Priority::EStop.admits(&Command::EStop).is_ok());
        let read = Command::ReadParams {
            drive,
            registers: vec![],
        };
        assert!(Priority::Telemetry.admits(&read).is_ok());
        assert!(
            Priority::Telemetry
                .admits(&Command::Disable { drive })
                .is_err()
        );
    }

    #[test]
    fn motion_commands() {
        let drive = DriveRef { link: 0, id: 1 };
        assert!(Command::Enable { drive }.is_motion());
        assert!(!Command::Disable { drive }.is_motion());
        assert!(!Command::EStop.is_motion());
        assert_eq!(Command::EStop.drive(), None);
        let stop = Command::SafeStop {
            reason: "heartbeat lost".into(),
        };
        assert!(stop.is_stop() && !stop.is_motion() && stop.drive().is_none());
    }
}
