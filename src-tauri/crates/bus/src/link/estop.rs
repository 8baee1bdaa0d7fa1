//! E-stop and safe stops: the broadcast stop that jumps every queue, its confirmation per
//! drive, the grace that ends an exchange in flight, cancelling queued motion, and each
//! profile's safe-stop and power-off requests.

use super::*;

impl<T: Transport> Actor<T> {
    /// The safe stop: motion jobs in the queue are cancelled, each profile's safe stop
    /// goes out by broadcast first where the protocol has one (one frame for all drives),
    /// then each drive is read back; any drive not stopped gets its own write.
    pub(super) async fn estop(&mut self) -> Result<(), TxError> {
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

    /// Runs an E-stop and tells its requester how it went. `Err` when the link is lost.
    pub(super) async fn answer_estop(
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

    /// Moves every request waiting in the channel into the queue (a shutdown request is
    /// kept aside for the loop to act on).
    pub(super) fn drain_requests(&mut self) {
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

    pub(super) fn cancel_queue(&mut self, reason: &str) {
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

    /// How long a reply already on the wire may take to land: 64 bytes at the link's
    /// baud rate plus half a millisecond.
    pub(super) fn estop_grace(&self) -> Duration {
        Duration::from_secs_f64(640.0 / f64::from(self.config.baud.max(1200)))
            + Duration::from_micros(500)
    }

    /// The profile's safe stop as a write to `id` (or to every drive, at the broadcast
    /// address): torque off, or a CiA 402 Quick Stop / Disable Voltage.
    pub(super) fn safe_stop_request(
        &self,
        profile: &Profile,
        id: u8,
    ) -> Result<protocol::Request, String> {
        self.write_request(profile, id, Role::TorqueEnable, profile.safe_stop.value())
    }

    /// Whether the drive reads back as stopped: torque off, or a CiA 402 drive out of
    /// Operation Enabled (braking in Quick Stop Active counts: that is its safe stop).
    pub(super) async fn is_stopped(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<bool, CommandError> {
        if is_cia402(profile) {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            return Ok(
                Cia402State::from_statusword(word as u16) != Some(Cia402State::OperationEnabled)
            );
        }
        Ok(self.read_role(id, profile, Role::TorqueEnable).await? == 0)
    }

    /// The write that switches a drive's power stage off: torque flag 0, or CiA 402
    /// Disable Voltage.
    pub(super) fn power_off_request(
        &self,
        profile: &Profile,
        id: u8,
    ) -> Result<protocol::Request, String> {
        let value = if is_cia402(profile) {
            i64::from(cia402::controlword::DISABLE_VOLTAGE)
        } else {
            0
        };
        self.write_request(profile, id, Role::TorqueEnable, value)
    }
}
