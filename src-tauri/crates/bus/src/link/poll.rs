//! Telemetry and state polls: which registers each poll reads (one Sync Read where the
//! protocol has it, else one read per drive), the polls themselves, and the events they
//! emit (telemetry samples; enabled, fault and watchdog state).

use super::*;

impl<T: Transport> Actor<T> {
    /// Plans the polls' reads for the drives now known: per model, the roles' registers
    /// cut into blocks, each read from all the model's drives at once where the protocol
    /// can (Sync Read), else from each drive.
    pub(super) fn plan_polls(&mut self) {
        self.telemetry_plan = Some(Arc::new(self.plan(&TELEMETRY, false)));
        self.state_plan = Some(Arc::new(self.plan(&STATE, true)));
    }

    /// The reads of a poll of `roles` (and of the CiA 402 error code, with `error_code`).
    pub(super) fn plan(&self, roles: &[Role], error_code: bool) -> Vec<PlannedRead> {
        let mut models: Vec<(Arc<Profile>, Vec<u8>)> = Vec::new();
        for (id, profile) in self.drive_profiles() {
            match models
                .iter_mut()
                .find(|(p, _)| Arc::ptr_eq(p, &profile) || **p == *profile)
            {
                Some((_, ids)) => ids.push(id),
                None => models.push((profile, vec![id])),
            }
        }
        let mut plan = Vec::new();
        for (profile, ids) in models {
            let mut registers: Vec<&Register> = roles
                .iter()
                .filter(|role| **role != Role::TorqueEnable || !is_cia402(&profile))
                .filter_map(|role| profile.role(*role))
                .collect();
            if error_code {
                registers.extend(error_code_register(&profile));
            }
            for block in Block::plan(&registers, self.protocol.max_read()) {
                let inside: Vec<Register> = registers
                    .iter()
                    .filter(|r| block.contains(r))
                    .map(|r| (*r).clone())
                    .collect();
                match self.protocol.read_many(&block, &ids) {
                    Ok(requests) => {
                        for request in requests {
                            let drives = request
                                .expect
                                .iter()
                                .map(|id| (*id, Arc::clone(&profile)))
                                .collect();
                            plan.push(PlannedRead {
                                block: block.clone(),
                                request,
                                drives,
                                registers: inside.clone(),
                            });
                        }
                    }
                    Err(e) => log::error!("link {}: cannot poll {}: {e}", self.id, profile.name),
                }
            }
        }
        plan
    }

    /// Runs the reads of a poll plan and gathers each drive's values of `roles`. Drives
    /// that stayed silent count as missed; an E-stop waiting ends the poll early.
    pub(super) async fn poll(
        &mut self,
        plan: &[PlannedRead],
    ) -> Result<BTreeMap<u8, Readings>, TxError> {
        let mut readings: BTreeMap<u8, Readings> = BTreeMap::new();
        for read in plan {
            if self.pending_estop.is_some() {
                break;
            }
            let replies = match self.transact(&read.request).await {
                Ok(replies) => replies,
                Err(TxError::Timeout { partial }) => {
                    let mut health = self.health();
                    for id in read
                        .request
                        .expect
                        .iter()
                        .filter(|id| !partial.iter().any(|r| r.id == **id))
                    {
                        health.drives.entry(*id).or_default().missed += 1;
                    }
                    partial
                }
                Err(e) => return Err(e),
            };
            for reply in replies {
                let Some((_, profile)) = read.drives.iter().find(|(id, _)| *id == reply.id) else {
                    continue;
                };
                if reply.refused.is_some() {
                    continue;
                }
                // A late answer to an earlier request (after its timeout) has another
                // length: never read values out of it.
                if reply.data.len() != read.block.data_len() {
                    self.health().corrupt += 1;
                    log::debug!(
                        "link {}: drive {} answered {} bytes for a {}-byte read; ignored",
                        self.id,
                        reply.id,
                        reply.data.len(),
                        read.block.data_len()
                    );
                    continue;
                }
                let entry = readings.entry(reply.id).or_default();
                entry.alarms |= reply.alarms;
                for register in &read.registers {
                    if let Some(raw) = read.block.raw(register, &reply.data) {
                        let value =
                            protocol::from_wire(self.protocol.as_ref(), profile, register, raw);
                        entry
                            .values
                            .insert((register.space, register.address), value);
                    }
                }
            }
        }
        Ok(readings)
    }

    pub(super) async fn poll_telemetry(&mut self) -> Result<(), TxError> {
        let Some(plan) = self.telemetry_plan.clone() else {
            return Ok(());
        };
        let readings = self.poll(&plan).await?;
        let t_us = self.clock.now();
        let mut samples = Vec::with_capacity(readings.len());
        {
            let drives = self.drives.read().unwrap_or_else(|e| e.into_inner());
            for (id, reading) in &readings {
                let Some(entry) = drives.get(id) else {
                    continue;
                };
                let si = |role: Role| {
                    let register = entry.profile.role(role)?;
                    Some(register.to_si(reading.get(Some(register))?))
                };
                let (Some(position), Some(velocity)) =
                    (si(Role::PresentPosition), si(Role::PresentVelocity))
                else {
                    continue;
                };
                samples.push(TelemetrySample {
                    drive: DriveRef {
                        link: self.id,
                        id: *id,
                    },
                    t_us,
                    position,
                    velocity,
                    // Not measured by every drive (DYNAMIXEL 1.0): a gap, not a zero.
                    current: si(Role::PresentCurrent).unwrap_or(f64::NAN),
                });
            }
        }
        if !samples.is_empty() {
            {
                let mut drives = self.write_drives();
                for sample in &samples {
                    if let Some(entry) = drives.get_mut(&sample.drive.id) {
                        entry.last_position = Some(sample.position);
                    }
                }
            }
            self.sink.emit(Event::Samples { samples });
        }
        Ok(())
    }

    pub(super) async fn poll_state(&mut self) -> Result<(), TxError> {
        let Some(plan) = self.state_plan.clone() else {
            return Ok(());
        };
        let readings = self.poll(&plan).await?;
        let at = self.clock.now();
        let mut changed = Vec::new();
        {
            let mut table = self.write_drives();
            for (id, reading) in &readings {
                let Some(entry) = table.get_mut(id) else {
                    continue;
                };
                let profile = Arc::clone(&entry.profile);
                let role = |role: Role| reading.get(profile.role(role));
                let (enabled, cia402_fault) = if is_cia402(&profile) {
                    let Some(word) = role(Role::StatusWord) else {
                        continue;
                    };
                    (
                        Cia402State::from_statusword(word as u16)
                            == Some(Cia402State::OperationEnabled),
                        fault::statusword_text(word),
                    )
                } else {
                    let Some(torque) = role(Role::TorqueEnable) else {
                        continue;
                    };
                    (torque != 0, None)
                };
                let hardware = match role(Role::HardwareError) {
                    Some(bits) => self.protocol.error_text(bits),
                    None if profile.role(Role::HardwareError).is_some() => continue,
                    None => self.protocol.alarm_text(reading.alarms),
                };
                let code = reading
                    .get(error_code_register(&profile))
                    .and_then(|code| fault::error_code_text(code as u16));
                let tripped = role(Role::BusWatchdog) == Some(-1);
                let fault = fault::join([
                    cia402_fault,
                    code,
                    hardware,
                    tripped.then(|| WATCHDOG_TRIPPED.to_string()),
                ]);
                if entry.status.enabled != enabled || entry.status.fault != fault {
                    entry.status.enabled = enabled;
                    entry.status.fault = fault;
                    changed.push(entry.status.clone());
                }
            }
        }
        for status in changed {
            self.sink.emit(Event::DriveChanged { status, at });
        }
        Ok(())
    }

    /// Counts a telemetry poll; every half second the achieved rate is published.
    pub(super) fn count_poll(&mut self) {
        self.polls_in_window += 1;
        let elapsed = self.poll_window_start.elapsed();
        if elapsed >= Duration::from_millis(500) {
            let hz = f64::from(self.polls_in_window) / elapsed.as_secs_f64();
            self.health().poll_hz = hz;
            self.polls_in_window = 0;
            self.poll_window_start = Instant::now();
        }
    }
}
