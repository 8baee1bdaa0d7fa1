//! The drives of the current session with their last status and readings; submitting
//! commands to them; the client's heartbeat.

use super::{Api, ApiError};
use drivedeck_domain::{Command, DriveMode, DriveRef, SoftLimits, Target};
use serde::Serialize;
use ts_rs::TS;

/// A drive with its last status and readings.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DriveView {
    drive: DriveRef,
    model: String,
    enabled: bool,
    mode: DriveMode,
    fault: Option<String>,
    target: Option<Target>,
    /// The range targets must fall in: the drive's own, narrowed by any soft limits.
    position_limits: (f64, f64),
    /// The speed targets and jogs must stay under (the soft limit, if lower).
    velocity_limit: f64,
    /// The user's soft limits (`None`s: not set).
    soft_limits: SoftLimits,
    position: Option<f64>,
    velocity: Option<f64>,
    current: Option<f64>,
    sample_age_ms: Option<f64>,
    /// False while the drive's link is lost: its real state is unknown.
    link_up: bool,
}

impl Api {
    /// The drives of the current session that have reported a status, with their last
    /// readings and how old they are.
    pub fn drives(&self) -> Result<Vec<DriveView>, ApiError> {
        let now = self.engine.clock().now();
        let rows = self.reader().drives(self.engine.session())?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let status = row.status?;
                let (position_limits, velocity_limit) = (
                    status.effective_position_limits(),
                    status.effective_velocity_limit(),
                );
                Some(DriveView {
                    drive: row.drive,
                    model: status.model,
                    enabled: status.enabled,
                    mode: status.mode,
                    fault: status.fault,
                    target: status.target,
                    position_limits,
                    velocity_limit,
                    soft_limits: status.soft_limits,
                    position: row.position,
                    velocity: row.velocity,
                    current: row.current,
                    sample_age_ms: row.sample_us.map(|t| (now - t) as f64 / 1000.0),
                    link_up: self.engine.link_up(row.drive.link),
                })
            })
            .collect())
    }

    /// Checks `command` and queues it as a job; returns the job's ID. A refused command
    /// sends nothing.
    pub fn submit(&self, command: Command) -> Result<u64, ApiError> {
        Ok(self.engine.submit(command)?.id.0)
    }

    /// The client is alive; without these the supervisor stops enabled drives.
    pub fn heartbeat(&self) {
        self.engine.heartbeat();
    }
}
