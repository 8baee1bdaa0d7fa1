//! Tuning runs through the API: a drive's safe default tests and the limits a test
//! keeps, starting and aborting a run, the run list, one run with its results, and a
//! run's report.
//!
//! Results ([`RunResults`]) are the tuning crate's own types, field names in
//! snake_case with their unit (`rise_time_s`, `magnitude_db`), the same JSON the CLI
//! prints; the views around them are camelCase like the rest of the API.

use drivedeck_domain::{DriveRef, TestLoop, TestSpec};
use drivedeck_tune::frf::FrequencyResponse;
use drivedeck_tune::margins::Margins;
use drivedeck_tune::observe::ObservableRange;
use drivedeck_tune::relay::RelayResult;
use drivedeck_tune::step::StepReport;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ChannelView;

/// The limits a test on a drive keeps, as the checks before a run use them.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestLimits {
    /// Where the drive stands now, rad (the last reading), if known.
    pub position_rad: Option<f64>,
    /// The widest travel window a test may set, rad.
    pub travel_max_rad: f64,
    /// The most a test may ask of the velocity, rad/s (the profile's velocity limit).
    pub velocity_max_rad_s: f64,
    /// The user's soft limits on position, rad, where set.
    pub soft_min_rad: Option<f64>,
    /// See `soft_min_rad`.
    pub soft_max_rad: Option<f64>,
    /// The wire-time limit of polling this drive alone during a test, Hz.
    pub wire_limit_hz: f64,
    /// The longest test, s.
    pub duration_max_s: f64,
}

/// A drive's safe default tests (one per excitation, for the drive's current loop)
/// and the limits a test keeps.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TuneDefaults {
    /// The drive.
    pub drive: DriveRef,
    /// The loop the drive's mode selects (a test runs in the drive's current mode).
    #[serde(rename = "loop")]
    pub test_loop: TestLoop,
    /// Step, ramp, chirp, PRBS, multisine, relay: a sensible small test each.
    pub tests: Vec<TestSpec>,
    /// What a test may not leave.
    pub limits: TestLimits,
}

/// Which runs the run list shows; every field set narrows it.
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct RunQuery {
    /// Runs on this drive.
    pub drive: Option<DriveRef>,
    /// Runs of this test (`step`, `chirp`, …).
    pub test: Option<String>,
    /// Started at or after, ms since the epoch.
    pub since_ms: Option<f64>,
    /// Started before, ms since the epoch.
    pub until_ms: Option<f64>,
    /// At most this many, newest first (1–1000; 100 when absent).
    pub limit: Option<u32>,
}

/// One run in the run list.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The run (its job's ID).
    #[ts(type = "number")]
    pub id: i64,
    /// The session its channels are in.
    #[ts(type = "number")]
    pub session: i64,
    /// The drive.
    pub drive: DriveRef,
    /// The test: `step`, `ramp`, `chirp`, `prbs`, `multisine`, `relay`.
    pub test: String,
    /// The loop: `position` or `velocity`.
    #[serde(rename = "loop")]
    pub test_loop: String,
    /// `running`, `completed`, `aborted` or `failed` (refused or lost before it ran).
    pub state: String,
    /// Why it was aborted or failed.
    pub reason: Option<String>,
    /// The drive's profile.
    pub profile: String,
    /// When it started, ms since the epoch.
    pub started_at_ms: f64,
    /// When it ended.
    pub finished_at_ms: Option<f64>,
    /// Mean reading rate, Hz.
    pub achieved_rate_hz: Option<f64>,
    /// Standard deviation of the reading intervals, ms.
    pub jitter_ms: Option<f64>,
}

/// A gain register in force when a run started.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GainView {
    /// Register name.
    pub name: String,
    /// SI value (the register's unit and scale).
    pub value: f64,
    /// Its unit, empty for a plain number.
    pub unit: String,
}

/// One run with everything it recorded and what was computed from it.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// Its line in the run list.
    pub summary: RunSummary,
    /// The test as it was run.
    pub spec: TestSpec,
    /// The gains in force at the start.
    pub gains: Vec<GainView>,
    /// Where its timestamps come from: `host` or `drive`.
    pub clock: String,
    /// The wire-time limit of polling the drive alone, Hz.
    pub wire_limit_hz: f64,
    /// The run's time range in its session, s from the session's start.
    pub from_s: f64,
    /// See `from_s`.
    pub to_s: f64,
    /// The drive's channels in the run's session (`reference` among them).
    pub channels: Vec<ChannelView>,
    /// The analysis, once the run ended (`null` while it runs or when the run was too
    /// short to analyse; `notes` say why).
    pub results: Option<RunResults>,
}

/// A frequency-response test's results: the closed loop T measured from reference to
/// response and, where the gains in force give the controller, the plant P, the open
/// loop L = P·C and the sensitivity S, with margins and bandwidth.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct FrfResults {
    /// T: reference → response.
    pub closed_loop: FrequencyResponse,
    /// P, from the joint input–output estimate (None without a controller model).
    pub plant: Option<FrequencyResponse>,
    /// L = P·C.
    pub open_loop: Option<FrequencyResponse>,
    /// S = 1 / (1 + L).
    pub sensitivity: Option<FrequencyResponse>,
    /// Margins from L (None without L).
    pub margins: Option<Margins>,
    /// −3 dB bandwidth of T, Hz.
    pub bandwidth_hz: Option<f64>,
}

/// What was computed from a run: step metrics for a step, the frequency response for
/// a chirp, PRBS or multisine, the ultimate gain and period for a relay test, and always
/// the range of frequencies the link could observe.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RunResults {
    /// Step metrics, averaged over the run's steps (the first step's in `step_edges`).
    pub step: Option<StepReport>,
    /// Frequency response.
    pub frf: Option<FrfResults>,
    /// Relay test.
    pub relay: Option<RelayResult>,
    /// The frequencies this run can be trusted over.
    pub observable: ObservableRange,
    /// Achieved reading rate against the wire-time limit, % (goal ≥ 90).
    pub rate_of_limit_pct: f64,
    /// What the analysis noticed (a short run, low coherence, a limited range…).
    pub notes: Vec<String>,
}
