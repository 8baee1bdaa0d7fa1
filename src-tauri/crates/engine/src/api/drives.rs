//! The drives of the current session with their last status and readings; submitting
//! commands to them; the client's heartbeat.

use super::{Api, ApiError};
use drivedeck_domain::{Command, DriveMode, DriveRef, SoftLimits, Target};
use serde::Serialize;
use ts_rs::TS;

/// A drive with its last status and readings.
#[derive(Clone, Debug, Serialize, TS)]
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

#[cfg(test)]
mod tests {
    use super::super::test_rig::{DRIVE_1, json, sim_api, wait_until};
    use super::super::{ErrorKind, JobQuery};
    use drivedeck_domain::{Command, DriveRef, Target};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drives_show_their_readings_and_a_refused_command_says_why() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        wait_until(&api, "both drives read", || {
            let drives = api.drives().expect("drives");
            drives.len() == 2 && drives.iter().all(|d| d.position.is_some())
        })
        .await;
        let drives = json(&api.drives().expect("drives"));
        let first = &drives[0];
        assert_eq!(first["drive"], json(&DRIVE_1));
        assert_eq!(first["model"], "XM430-W350");
        assert_eq!(
            (&first["enabled"], &first["linkUp"]),
            (&false.into(), &true.into())
        );
        let limits = first["positionLimits"].as_array().expect("a range");
        assert!(limits[0].as_f64() < limits[1].as_f64(), "{limits:?}");
        assert!(first["sampleAgeMs"].as_f64().expect("an age") >= 0.0);

        let unknown = DriveRef { link: 1, id: 9 };
        let error = api
            .submit(Command::Disable { drive: unknown })
            .expect_err("no such drive");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        let far = Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(1e9),
        };
        let error = api.submit(far).expect_err("out of range");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");

        let first_job = api.submit(Command::Arm { drive: DRIVE_1 }).expect("armed");
        let second_job = api
            .submit(Command::Disable { drive: DRIVE_1 })
            .expect("queued");
        assert!(second_job > first_job);
        let arms = || {
            let query: JobQuery =
                serde_json::from_value(serde_json::json!({ "command": "arm" })).expect("query");
            json(&api.jobs(query).expect("jobs"))
        };
        wait_until(&api, "the arm job done", || arms()[0]["state"] == "done").await;
        let arms = arms();
        assert_eq!(
            arms.as_array().expect("jobs").len(),
            1,
            "refusals are not journaled"
        );
        assert_eq!(arms[0]["id"], first_job);
        assert_eq!(arms[0]["drive"], json(&DRIVE_1));
        api.engine().shutdown().await;
    }
}
