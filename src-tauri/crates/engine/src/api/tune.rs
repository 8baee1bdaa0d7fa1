//! Tuning runs through the API: a drive's safe default tests and the limits a test
//! keeps, starting and aborting a run, the run list, one run with its results, and a
//! run's report.
//!
//! Results ([`RunResults`]) are the tuning crate's own types, field names in
//! snake_case with their unit (`rise_time_s`, `magnitude_db`), the same JSON the CLI
//! prints; the views around them are camelCase like the rest of the API.

use super::{Api, ApiError};
use crate::tuning::{self, RunData, report};
use drivedeck_bus::JobOptions;
use drivedeck_domain::{Command, DriveRef, Priority, TestLoop, TestSpec};
use drivedeck_tune::frf::FrequencyResponse;
use drivedeck_tune::margins::Margins;
use drivedeck_tune::observe::ObservableRange;
use drivedeck_tune::relay::RelayResult;
use drivedeck_tune::step::StepReport;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
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
    /// Resonances and anti-resonances found, lowest first.
    pub resonances: Vec<ResonanceView>,
}

/// A resonance or anti-resonance seen in a measured frequency response: a peak or a
/// dip of the magnitude against its trend over the neighbouring third-octaves.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ResonanceView {
    /// `peak` (a resonance) or `dip` (an anti-resonance: on a motor-side measurement,
    /// the load's own frequency against a held motor).
    pub kind: String,
    /// Where, Hz.
    pub freq_hz: f64,
    /// How far above (peak) or below (dip) the trend, dB.
    pub depth_db: f64,
    /// Which response it was found in: `plant` or `closed_loop`.
    pub response: String,
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

/// How long `tune_wait` waits for a run beyond its own length.
const WAIT_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

impl Api {
    /// The drive's default tests (in its current loop) and the limits a test keeps.
    pub fn tune_defaults(&self, drive: DriveRef) -> Result<TuneDefaults, ApiError> {
        let status = self
            .engine
            .drive_status(drive)
            .ok_or_else(|| ApiError::NotFound(format!("no {drive}")))?;
        let (position, wire_limit_hz) = self
            .engine
            .tune_start(drive)
            .ok_or_else(|| ApiError::NotFound(format!("no {drive}")))?;
        let (lo, hi) = status.effective_position_limits();
        let soft = status.soft_limits.position;
        Ok(TuneDefaults {
            drive,
            test_loop: match status.mode {
                drivedeck_domain::DriveMode::Position => TestLoop::Position,
                drivedeck_domain::DriveMode::Velocity => TestLoop::Velocity,
            },
            tests: tuning::default_tests(&status, wire_limit_hz),
            limits: TestLimits {
                position_rad: position,
                travel_max_rad: hi - lo,
                velocity_max_rad_s: status.effective_velocity_limit(),
                soft_min_rad: soft.map(|(lo, _)| lo),
                soft_max_rad: soft.map(|(_, hi)| hi),
                wire_limit_hz,
                duration_max_s: drivedeck_bus::tuning::MAX_TEST_S,
            },
        })
    }

    /// Starts `test` on `drive` (checked against its limits first: a refused test sends
    /// nothing); returns the run's ID. When the run ends it is analysed and the results
    /// kept with it.
    pub fn tune_start(&self, drive: DriveRef, test: TestSpec) -> Result<u64, ApiError> {
        let job = self.engine.submit(Command::Tune { drive, test })?;
        let id = job.id.0;
        let engine = std::sync::Arc::clone(&self.engine);
        tokio::spawn(async move {
            let _ = job.outcome().await;
            if let Err(e) = engine.flush() {
                log::error!("run {id}: the store did not commit the run: {e}");
                return;
            }
            if let Err(e) = analyse_and_keep(&engine, id as i64) {
                log::error!("run {id}: {e}");
            }
        });
        Ok(id)
    }

    /// Ends the running test on `drive` now (the drive holds, then is put back).
    pub fn tune_abort(&self, drive: DriveRef) -> Result<(), ApiError> {
        self.engine.submit_with(
            Command::AbortTune { drive },
            JobOptions {
                priority: Priority::Safety,
                ..JobOptions::default()
            },
        )?;
        Ok(())
    }

    /// Waits until run `id` has ended and been analysed.
    pub async fn tune_wait(&self, id: u64) -> Result<(), ApiError> {
        let since = std::time::Instant::now();
        let mut limit =
            WAIT_MARGIN + std::time::Duration::from_secs_f64(drivedeck_bus::tuning::MAX_TEST_S);
        loop {
            if let Some(row) = self.reader().run(id as i64)? {
                if row.state != "running" && row.results.is_some() {
                    return Ok(());
                }
                if row.state != "running" {
                    limit = limit.min(since.elapsed() + WAIT_MARGIN);
                }
            } else if let Some(job) = self
                .reader()
                .jobs(&drivedeck_store::JobFilter {
                    limit: 1,
                    ..Default::default()
                })?
                .into_iter()
                .find(|j| j.id == id as i64 && j.finished_us.is_some())
            {
                // Refused by the link before it started: no run was kept.
                return Err(ApiError::Invalid(format!(
                    "the test did not start: {}",
                    job.reason.unwrap_or_else(|| job.state.clone())
                )));
            }
            if since.elapsed() > limit {
                return Err(ApiError::Invalid(format!(
                    "run {id} did not end in {limit:?}"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Analyses run `id` again from what the store holds, and keeps the results.
    pub fn tune_analyze(&self, id: i64) -> Result<RunResults, ApiError> {
        analyse_and_keep(&self.engine, id)
    }

    /// The runs `query` asks for, newest first.
    pub fn tune_runs(&self, query: RunQuery) -> Result<Vec<RunSummary>, ApiError> {
        let limit = query.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::Invalid(format!(
                "run list limit {limit} is outside 1–1000"
            )));
        }
        let micros = |ms: Option<f64>| -> Result<Option<i64>, ApiError> {
            match ms {
                Some(ms) if !ms.is_finite() => {
                    Err(ApiError::Invalid("a run list time is not a number".into()))
                }
                Some(ms) => Ok(Some((ms * 1000.0).round() as i64)),
                None => Ok(None),
            }
        };
        let filter = drivedeck_store::RunFilter {
            link: query.drive.map(|d| d.link),
            drive_id: query.drive.map(|d| d.id),
            test: query.test.clone(),
            since_us: micros(query.since_ms)?,
            until_us: micros(query.until_ms)?,
            limit: limit as usize,
        };
        Ok(self.reader().runs(&filter)?.iter().map(summary).collect())
    }

    /// Run `id` with its test, gains, channels and results.
    pub fn tune_run(&self, id: i64) -> Result<RunView, ApiError> {
        let reader = self.reader();
        let row = reader
            .run(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
        let session_id = row
            .session
            .ok_or_else(|| ApiError::NotFound(format!("run {id} has no session")))?;
        let session = reader.session(session_id)?;
        let drive = row.drive;
        drop(reader);
        let channels = self
            .channels(session_id)?
            .into_iter()
            .filter(|c| c.drive == drive)
            .collect();
        let spec: TestSpec = serde_json::from_value(row.spec.clone())
            .map_err(|e| ApiError::Invalid(format!("run {id}'s test cannot be read: {e}")))?;
        let profile = self.engine.profile_named(&row.profile).ok();
        let gains: Vec<(String, f64)> =
            serde_json::from_value(row.gains.clone()).unwrap_or_default();
        let results = row
            .results
            .clone()
            .and_then(|json| serde_json::from_value(json).ok());
        let end = row.finished_us.unwrap_or_else(|| self.engine.clock().now());
        Ok(RunView {
            summary: summary(&row),
            spec,
            gains: gains
                .into_iter()
                .map(|(name, value)| GainView {
                    unit: profile
                        .as_ref()
                        .and_then(|p| p.register(&name))
                        .and_then(|r| r.unit.clone())
                        .unwrap_or_default(),
                    name,
                    value,
                })
                .collect(),
            clock: row.clock.clone(),
            wire_limit_hz: row.wire_limit_hz.unwrap_or(0.0),
            from_s: (row.started_us - session.started_us) as f64 / 1e6,
            to_s: (end - session.started_us) as f64 / 1e6,
            channels,
            results,
        })
    }
}

impl Api {
    /// Writes run `id`'s report into the `exports` folder: `png`/`svg` (the Bode chart
    /// of a frequency-response test, else the time chart of its reference and
    /// response), `csv` (the results) or `json` (the whole run view). Returns the file.
    pub fn tune_export(&self, id: i64, format: &str) -> Result<PathBuf, ApiError> {
        let view = self.tune_run(id)?;
        let image = match format {
            "png" => Some(report::Image::Png),
            "svg" => Some(report::Image::Svg),
            "csv" | "json" => None,
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown report format {other:?} (png, svg, csv or json)"
                )));
            }
        };
        let dir = self.exports_dir();
        super::create_exports_dir(&dir)?;
        let path = dir.join(format!("run_{id}_{}.{format}", view.summary.test));
        let analysed = || {
            view.results
                .as_ref()
                .ok_or_else(|| ApiError::Invalid(format!("run {id} is not analysed yet")))
        };
        match (format, image) {
            ("json", _) => {
                let json = serde_json::to_vec_pretty(&view)
                    .map_err(|e| ApiError::File(format!("run {id}: {e}")))?;
                super::write_export(&path, &json)?;
            }
            ("csv", _) => super::write_export(&path, report::results_csv(analysed()?).as_bytes())?,
            (_, Some(image)) => match analysed()?.frf.as_ref() {
                Some(frf) => {
                    let title = format!(
                        "run {id}: {} on drive {} — closed loop, observable to {:.1} Hz",
                        view.summary.test,
                        view.summary.drive.id,
                        analysed()?.observable.highest_hz
                    );
                    report::write_bode(
                        &title,
                        &frf.closed_loop,
                        analysed()?,
                        image,
                        &path,
                        (1600, 1200),
                    )
                    .map_err(|e| ApiError::File(format!("{}: {e}", path.display())))?;
                }
                None => {
                    let response = match view.spec.test_loop {
                        TestLoop::Position => "position",
                        TestLoop::Velocity => "velocity",
                    };
                    let channels = view
                        .channels
                        .iter()
                        .filter(|c| c.name == "reference" || c.name == response)
                        .map(|c| c.id)
                        .collect();
                    let range = drivedeck_store::export::ExportRange {
                        session: view.summary.session,
                        channels,
                        from_s: Some(view.from_s),
                        to_s: Some(view.to_s),
                    };
                    let format = match image {
                        report::Image::Png => drivedeck_store::export::ChartFormat::Png,
                        report::Image::Svg => drivedeck_store::export::ChartFormat::Svg,
                    };
                    drivedeck_store::export::write_chart(
                        &self.reader(),
                        &range,
                        format,
                        &path,
                        (1600, 900),
                    )?;
                }
            },
            _ => {}
        }
        Ok(path)
    }
}

/// A run's line in the run list.
fn summary(row: &drivedeck_store::RunRow) -> RunSummary {
    RunSummary {
        id: row.id,
        session: row.session.unwrap_or_default(),
        drive: row.drive,
        test: row.test.clone(),
        test_loop: row.test_loop.clone(),
        state: row.state.clone(),
        reason: row.reason.clone(),
        profile: row.profile.clone(),
        started_at_ms: row.started_us as f64 / 1000.0,
        finished_at_ms: row.finished_us.map(|us| us as f64 / 1000.0),
        achieved_rate_hz: row.achieved_rate_hz,
        jitter_ms: row.jitter_s.map(|s| s * 1000.0),
    }
}

/// Reads run `id`'s readings from the store, analyses them and keeps the results.
fn analyse_and_keep(engine: &crate::Engine, id: i64) -> Result<RunResults, ApiError> {
    let reader = engine.reader()?;
    let row = reader
        .run(id)?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
    if row.state == "running" {
        return Err(ApiError::Invalid(format!("run {id} is still running")));
    }
    let spec: TestSpec = serde_json::from_value(row.spec.clone())
        .map_err(|e| ApiError::Invalid(format!("run {id}'s test cannot be read: {e}")))?;
    let data = run_data(&reader, &row)?;
    let run_loop = engine.profile_named(&row.profile).ok().and_then(|profile| {
        let structure = tuning::whatif::structure_for(&profile, &row.test_loop)?;
        let law = structure.law(&tuning::whatif::gains_in_run(&profile, &row.gains));
        Some(tuning::analysis::RunLoop { structure, law })
    });
    let results = tuning::analyse(
        &spec,
        row.start_position.unwrap_or_default(),
        &data,
        row.wire_limit_hz.unwrap_or(0.0),
        run_loop.as_ref(),
    );
    let json = serde_json::to_string(&results)
        .map_err(|e| ApiError::Invalid(format!("run {id}'s results: {e}")))?;
    engine.set_run_results(id, json)?;
    Ok(results)
}

/// The run's readings: its drive's channels in its session, over its time range,
/// joined on their common timestamps (a run writes them together).
pub(super) fn run_data(
    reader: &drivedeck_store::Reader,
    row: &drivedeck_store::RunRow,
) -> Result<RunData, ApiError> {
    let drive = row.drive;
    let Some(session) = row.session else {
        return Ok(RunData::default());
    };
    let end = row.finished_us.unwrap_or(i64::MAX);
    let channel = |name: &str| -> Result<std::collections::BTreeMap<i64, f64>, ApiError> {
        let Some(c) = reader
            .channels(session)?
            .into_iter()
            .find(|c| c.drive == drive && c.name == name)
        else {
            return Ok(Default::default());
        };
        Ok(reader
            .channel_samples(c.id)?
            .into_iter()
            .filter(|(t, _)| *t >= row.started_us && *t <= end)
            .collect())
    };
    let reference = channel("reference")?;
    let position = channel("position")?;
    let velocity = channel("velocity")?;
    let output = channel("output")?;
    let mut data = RunData::default();
    for (t, r) in &reference {
        let (Some(p), Some(v)) = (position.get(t), velocity.get(t)) else {
            continue;
        };
        data.t_s.push((t - row.started_us) as f64 / 1e6);
        data.reference.push(*r);
        data.position.push(*p);
        data.velocity.push(*v);
        data.output.push(output.get(t).copied().unwrap_or(f64::NAN));
    }
    Ok(data)
}
