//! Set-up jobs through the engine: a drive's new ID, new baud rate, reboot or factory
//! reset run as [`Command::Setup`] jobs on its link, and the engine's own bookkeeping
//! (which model each drive is, the link's rate as the shell shows it) follows the drive
//! the way the link does.

use crate::{Engine, EngineError};
use drivedeck_domain::{Command, DriveRef, JobState, SetupStep};

/// Where a set-up step left its drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupOutcome {
    /// The job that made the step.
    pub job: u64,
    /// The drive as it is addressed now (its new ID after a new ID or a reset).
    pub drive: DriveRef,
    /// The rate its link talks to it at now.
    pub baud: u32,
}

impl Engine {
    /// The IDs of the drives the bus knows on `link`.
    fn link_drive_ids(&self, link: drivedeck_domain::LinkId) -> Vec<u8> {
        self.bus
            .drives()
            .into_iter()
            .filter(|s| s.drive.link == link)
            .map(|s| s.drive.id)
            .collect()
    }

    /// Runs set-up `step` on `drive` to its end. Refused (nothing sent) when the bus
    /// refuses the command; `Err` with the job's reason when the link refused or failed
    /// it. On success the drive's model and its link's rate follow it.
    pub async fn setup(
        &self,
        drive: DriveRef,
        step: SetupStep,
    ) -> Result<SetupOutcome, EngineError> {
        let before = self.link_drive_ids(drive.link);
        let job = self.submit(Command::Setup { drive, step })?;
        let id = job.id.0;
        match job.outcome().await {
            JobState::Done => {}
            JobState::Failed { reason } | JobState::Cancelled { reason } => {
                return Err(EngineError::Job(reason));
            }
            other => {
                return Err(EngineError::Job(format!(
                    "the set-up job ended {}",
                    other.name()
                )));
            }
        }
        let after = self.link_drive_ids(drive.link);
        let now = if after.contains(&drive.id) {
            drive
        } else {
            let new_id = after
                .iter()
                .copied()
                .find(|id| !before.contains(id))
                .unwrap_or(drive.id);
            DriveRef {
                link: drive.link,
                id: new_id,
            }
        };
        if now != drive {
            for (known, _) in self
                .drive_profiles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter_mut()
                .filter(|(known, _)| *known == drive)
            {
                *known = now;
            }
        }
        let baud = self.bus.link_baud(drive.link).unwrap_or_default();
        for info in self
            .links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .filter(|info| info.id == drive.link)
        {
            info.baud = baud;
        }
        Ok(SetupOutcome {
            job: id,
            drive: now,
            baud,
        })
    }
}
