//! Jobs executed: a command planned into register writes (targets, modes), run as
//! transactions, applied to the drives' state, and finished in exactly one terminal state.

use super::*;

impl<T: Transport> Actor<T> {
    /// What `command` takes on the wire for drive `id`; `Err` (nothing sent) when the
    /// profile cannot express it.
    pub(super) fn plan_command(
        &self,
        command: &Command,
        profile: &Profile,
        id: u8,
    ) -> Result<Plan, String> {
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
            Command::Tune { .. } | Command::AbortTune { .. } => {
                return Err("a tuning job, run apart".into());
            }
            Command::Setup { .. } => return Err("a set-up job, run apart".into()),
        })
    }

    /// The goal write; on a CiA 402 drive a position goal is then taken as a new set
    /// point, at once (controlword bits 5 and 4: 0x2F, then 0x3F, a rising edge of 4).
    pub(super) fn target_writes(
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
    pub(super) fn mode_writes(
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
    pub(super) async fn execute(&mut self, job: Job) -> Result<(), String> {
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
        if let Command::Setup { step, .. } = job.command {
            return self.execute_setup(job, drive, profile, step).await;
        }
        if job.command.is_param() || matches!(job.command, Command::ClearFault { .. }) {
            return self.execute_params(job, drive, profile).await;
        }
        match job.command {
            Command::Tune { .. } => return self.execute_tune(job, drive, profile).await,
            Command::AbortTune { .. } => {
                // A running test takes its aborts itself; one reaching the queue cancels
                // the drive's tests still waiting there.
                let waiting = self.queue.take(
                    |queued| matches!(queued.command, Command::Tune { drive: d, .. } if d == drive),
                );
                let state = if waiting.is_empty() {
                    JobState::Failed {
                        reason: format!("no tuning test is running on drive {}", drive.id),
                    }
                } else {
                    JobState::Done
                };
                for test in waiting {
                    test.finish(
                        JobState::Cancelled {
                            reason: "aborted by the user before it started".into(),
                        },
                        self.sink.as_ref(),
                        self.clock,
                    );
                }
                job.finish(state, self.sink.as_ref(), self.clock);
                return Ok(());
            }
            _ => {}
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
    pub(super) fn finish_job(
        &mut self,
        job: Job,
        result: Result<(), CommandError>,
    ) -> Result<(), String> {
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

    /// Updates the write side's view of a drive after the drive confirmed `command`.
    pub(super) fn apply(&mut self, command: &Command) {
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
}
