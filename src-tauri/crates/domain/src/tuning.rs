//! Tuning runs: what a test plays on a drive ([`TestSpec`]: the loop, the
//! [`Excitation`], the travel window it keeps) and what the bus reports while it runs
//! ([`TuneSample`]s beside the drive's telemetry, and the run's start and end).
//!
//! Every value is SI in the tested loop's unit: radians for the position loop, rad/s for
//! the velocity loop. An excitation is an offset from where the drive stands when the
//! test starts (its position, or velocity 0), so the same settings fit any drive.

use crate::{DriveMode, DriveRef, JobId, Micros, Target};
use serde::{Deserialize, Serialize};

/// The loop a test excites: the reference is played into this loop's set point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum TestLoop {
    /// Goal position; the reference is in radians.
    Position,
    /// Goal velocity; the reference is in rad/s.
    Velocity,
}

impl TestLoop {
    /// The drive mode the test runs the drive in.
    pub fn mode(self) -> DriveMode {
        match self {
            TestLoop::Position => DriveMode::Position,
            TestLoop::Velocity => DriveMode::Velocity,
        }
    }

    /// The SI unit of this loop's reference.
    pub fn unit(self) -> &'static str {
        match self {
            TestLoop::Position => "rad",
            TestLoop::Velocity => "rad/s",
        }
    }

    /// The name kept in the store and shown (`position`, `velocity`).
    pub fn name(self) -> &'static str {
        match self {
            TestLoop::Position => "position",
            TestLoop::Velocity => "velocity",
        }
    }
}

/// How a chirp's frequency moves from start to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum SweepKind {
    /// The frequency grows linearly with time.
    Linear,
    /// The frequency grows exponentially (equal time per octave).
    Log,
}

/// What the reference does during a test, as an offset from the start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Excitation {
    /// Steps up by `size`, holds, steps back, holds; `repeats` times.
    Step {
        /// Step size (rad or rad/s).
        size: f64,
        /// How long each level is held, s.
        #[serde(rename = "holdS")]
        hold_s: f64,
        /// How many up-and-down cycles.
        repeats: u32,
    },
    /// Ramps at `rate` for `duration_s`, then holds where it got to.
    Ramp {
        /// Slope (rad/s for the position loop, rad/s² for the velocity loop).
        rate: f64,
        /// How long the ramp lasts, s.
        #[serde(rename = "durationS")]
        duration_s: f64,
    },
    /// A sine whose frequency sweeps from `start_hz` to `end_hz`.
    Chirp {
        /// First frequency, Hz.
        #[serde(rename = "startHz")]
        start_hz: f64,
        /// Last frequency, Hz.
        #[serde(rename = "endHz")]
        end_hz: f64,
        /// Amplitude (rad or rad/s).
        amplitude: f64,
        /// Sweep time, s.
        #[serde(rename = "durationS")]
        duration_s: f64,
        /// Linear or logarithmic sweep.
        sweep: SweepKind,
        /// Amplitude falling as 1/f above the start frequency (the speed amplitude of the start, bounded).
        #[serde(rename = "fallingAmplitude")]
        falling_amplitude: bool,
    },
    /// A maximum-length pseudo-random binary sequence.
    Prbs {
        /// Shift-register order (2–20); the period is 2^order − 1 bits.
        order: u32,
        /// How long each bit lasts, s.
        #[serde(rename = "bitTimeS")]
        bit_time_s: f64,
        /// ± amplitude (rad or rad/s).
        amplitude: f64,
        /// How many whole periods are played.
        periods: u32,
    },
    /// A sum of sines at chosen frequencies, phases chosen for a low crest factor.
    Multisine {
        /// The frequencies, Hz (each a multiple of 1 / `period_s`).
        #[serde(rename = "frequenciesHz")]
        frequencies_hz: Vec<f64>,
        /// Peak amplitude of the sum (rad or rad/s).
        amplitude: f64,
        /// The period of the signal, s.
        #[serde(rename = "periodS")]
        period_s: f64,
        /// How many periods are played.
        periods: u32,
    },
    /// Åström–Hägglund relay feedback: in the velocity loop, the reference switches
    /// between ±`amplitude` (rad/s) as the position crosses its start (with
    /// `hysteresis`, rad), until the oscillation has lasted `duration_s`.
    Relay {
        /// Relay output, rad/s.
        amplitude: f64,
        /// Hysteresis on the position error, rad.
        hysteresis: f64,
        /// How long the relay runs, s.
        #[serde(rename = "durationS")]
        duration_s: f64,
    },
}

impl Excitation {
    /// The test's short name (`step`, `chirp`, …), as kept in the store.
    pub fn name(&self) -> &'static str {
        match self {
            Excitation::Step { .. } => "step",
            Excitation::Ramp { .. } => "ramp",
            Excitation::Chirp { .. } => "chirp",
            Excitation::Prbs { .. } => "prbs",
            Excitation::Multisine { .. } => "multisine",
            Excitation::Relay { .. } => "relay",
        }
    }

    /// How long the excitation plays, s (without the settle time around it).
    pub fn duration_s(&self) -> f64 {
        match self {
            Excitation::Step {
                hold_s, repeats, ..
            } => 2.0 * hold_s * f64::from(*repeats),
            Excitation::Ramp { duration_s, .. }
            | Excitation::Chirp { duration_s, .. }
            | Excitation::Relay { duration_s, .. } => *duration_s,
            Excitation::Prbs {
                order,
                bit_time_s,
                periods,
                ..
            } => {
                let bits = if (2..=20).contains(order) {
                    (1u64 << order) - 1
                } else {
                    0
                };
                bits as f64 * bit_time_s * f64::from(*periods)
            }
            Excitation::Multisine {
                period_s, periods, ..
            } => period_s * f64::from(*periods),
        }
    }

    /// The largest offset from the start the reference can reach (rad or rad/s). For
    /// a ramp in the velocity loop this is the velocity reached; for the relay, its
    /// amplitude.
    pub fn peak(&self) -> f64 {
        match self {
            Excitation::Step { size, .. } => size.abs(),
            Excitation::Ramp { rate, duration_s } => (rate * duration_s).abs(),
            Excitation::Chirp { amplitude, .. }
            | Excitation::Prbs { amplitude, .. }
            | Excitation::Multisine { amplitude, .. }
            | Excitation::Relay { amplitude, .. } => amplitude.abs(),
        }
    }
}

/// A test to run on one drive: checked against the drive's limits before anything is
/// sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct TestSpec {
    /// The loop excited.
    #[serde(rename = "loop")]
    pub test_loop: TestLoop,
    /// What the reference does.
    pub excitation: Excitation,
    /// The most the position may move from where it started, rad: beyond it the test
    /// is aborted and the drive brought to a hold.
    #[serde(rename = "travelWindowRad")]
    pub travel_window_rad: f64,
    /// Time held at the start before the excitation and after it, s.
    #[serde(rename = "settleS")]
    pub settle_s: f64,
}

/// Where a run's timestamps come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum RunClock {
    /// The host's receive time of each reading.
    Host,
    /// The drive's own clock (DYNAMIXEL X Realtime Tick), recorded beside the host's.
    Drive,
}

impl RunClock {
    /// The name kept in the store.
    pub fn name(self) -> &'static str {
        match self {
            RunClock::Host => "host",
            RunClock::Drive => "drive",
        }
    }
}

/// One reading of a test run beside the drive's telemetry sample of the same time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneSample {
    /// The drive.
    pub drive: DriveRef,
    /// Host time of the reading, µs.
    pub t_us: Micros,
    /// The set point the drive was asked to follow when this reading was taken, in
    /// the tested loop's unit.
    pub reference: f64,
    /// The drive's own output (DYNAMIXEL Present PWM as a fraction, or current in A),
    /// NaN where the drive does not report it.
    pub output: f64,
    /// The drive's own clock at the reading, s (unwrapped), NaN without one.
    pub drive_time_s: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RunOutcome {
    /// Played to its end; the drive is back as it was.
    Completed,
    /// Stopped early (fault, E-stop, heartbeat or link lost, travel window, abort).
    Aborted {
        /// Why.
        reason: String,
    },
}

impl RunOutcome {
    /// `completed` or `aborted`.
    pub fn name(&self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Aborted { .. } => "aborted",
        }
    }

    /// The reason of an abort.
    pub fn reason(&self) -> Option<&str> {
        match self {
            RunOutcome::Completed => None,
            RunOutcome::Aborted { reason } => Some(reason),
        }
    }
}

/// What the bus knew of the drive when a run started: what it restores at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// The run's job (the run's identity in the store).
    pub job: JobId,
    /// The drive.
    pub drive: DriveRef,
    /// The test.
    pub test: TestSpec,
    /// The drive's profile name.
    pub profile: String,
    /// Where the timestamps come from.
    pub clock: RunClock,
    /// The mode before the run.
    pub mode_before: Option<DriveMode>,
    /// The target before the run.
    pub target_before: Option<Target>,
    /// The position the excitation is played around, rad.
    pub start_position: f64,
    /// The gain registers in force (name, SI value), read at the start.
    pub gains: Vec<(String, f64)>,
    /// The wire-time limit of polling this drive alone, Hz.
    pub wire_limit_hz: f64,
    /// When, µs.
    pub at: Micros,
}

/// What the bus measured of a run when it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    /// The run's job.
    pub job: JobId,
    /// The drive.
    pub drive: DriveRef,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Readings taken.
    pub samples: u64,
    /// Mean reading rate over the run, Hz.
    pub achieved_rate_hz: f64,
    /// Standard deviation of the intervals between readings, s.
    pub jitter_s: f64,
    /// The wire-time limit of the cycles as they were played, Hz: readings over the wire
    /// time (bytes both ways and the drive's return delays) of every exchange made — a
    /// reference is written only when its raw value changes, so this is above the limit
    /// known at the start (a write every cycle). None: not measured.
    #[serde(default)]
    pub played_limit_hz: Option<f64>,
    /// When, µs.
    pub at: Micros,
}
