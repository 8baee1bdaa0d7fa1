//! Discovery and reconnect: identifying each configured drive and reading its initial
//! state and limits, announcing the link up, losing it (every pending job fails with the
//! reason), and reopening it with backoff without ever re-enabling a drive.

use super::*;

impl<T: Transport> Actor<T> {
    pub(super) fn link_up_event(&self, at: i64) -> Event {
        Event::LinkUp {
            link: self.id,
            port: self.config.port.clone(),
            protocol: self.protocol.name().into(),
            baud: self.config.baud,
            at,
        }
    }

    /// Reports the link up and every drive's status (after discovery or a reconnect).
    pub(super) fn announce_up(&self) {
        let at = self.clock.now();
        self.sink.emit(self.link_up_event(at));
        let statuses: Vec<DriveStatus> = self
            .write_drives()
            .values()
            .map(|d| d.status.clone())
            .collect();
        for status in statuses {
            self.sink.emit(Event::DriveChanged { status, at });
        }
    }

    /// Checks each configured drive's identity, reads its mode, limits and state.
    pub(super) async fn discover(&mut self) -> Result<(), LinkError> {
        let expected = self.config.drives.clone();
        for (id, profile) in expected {
            match self.read_initial_status(id, &profile).await {
                Ok((status, return_delay)) => {
                    self.write_drives().insert(
                        id,
                        DriveEntry {
                            profile: Arc::clone(&profile),
                            status,
                            return_delay,
                            armed_until: None,
                            last_position: None,
                        },
                    );
                }
                Err(reason) => log::warn!("drive {id} on {}: {reason}", self.config.port),
            }
        }
        if self.write_drives().is_empty() {
            return Err(LinkError::NoDrives(self.config.port.clone()));
        }
        self.plan_polls();
        self.announce_up();
        Ok(())
    }

    /// Who the drive says it is: its ping's answer, else its Model Number entry; for
    /// Modbus (no ping) the answer to a read of its statusword or enable register.
    pub(super) async fn identify(&mut self, id: u8, profile: &Profile) -> Result<Identity, String> {
        let mut identity = Identity::default();
        match self.protocol.ping(id) {
            Some(ping) => {
                let reply = self.command(&ping, id).await.map_err(|e| e.to_string())?;
                identity = self.protocol.identify(&reply);
            }
            None => {
                let role = if profile.role(Role::StatusWord).is_some() {
                    Role::StatusWord
                } else {
                    Role::TorqueEnable
                };
                self.read_role(id, profile, role).await?;
            }
        }
        if identity.model_number.is_none()
            && let Some(register) = profile.register("Model Number").cloned()
        {
            identity.model_number = Some(self.read_register(id, profile, &register).await? as u16);
        }
        Ok(identity)
    }

    pub(super) async fn read_initial_status(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(DriveStatus, Duration), String> {
        let identity = self.identify(id, profile).await?;
        match identity.model_number {
            Some(model) if model != profile.model_number && profile.model_number != 0 => {
                return Err(format!(
                    "answers as model {model}, but {} is model {}",
                    profile.name, profile.model_number
                ));
            }
            _ => {}
        }
        let (enabled, cia402_fault) = self.read_enabled(id, profile).await?;
        let mode = self.read_mode(id, profile).await?;
        let velocity_limit = self.read_velocity_limit(id, profile).await?;
        let position_limits = self.read_position_limits(id, profile).await?;
        let fault = match profile.role(Role::HardwareError) {
            Some(_) => {
                let bits = self.read_role(id, profile, Role::HardwareError).await?;
                self.protocol.error_text(bits)
            }
            // Alarms travel in status packets: ask for the torque flag and look.
            None => self.read_alarms(id, profile).await?,
        };
        let code = match error_code_register(profile).cloned() {
            Some(register) => {
                fault::error_code_text(self.read_register(id, profile, &register).await? as u16)
            }
            None => None,
        };
        let fault = fault::join([cia402_fault, code, fault]);
        let return_delay = match profile.role(Role::ReturnDelay).cloned() {
            Some(register) => {
                let raw = self.read_register(id, profile, &register).await?;
                Duration::from_secs_f64(register.to_si(raw).clamp(0.0, 1.0))
            }
            None => Duration::ZERO,
        };
        Ok((
            DriveStatus {
                drive: self.drive_ref(id),
                model: profile.name.clone(),
                enabled,
                mode,
                fault,
                target: None,
                position_limits,
                velocity_limit,
                soft_limits: SoftLimits::default(),
            },
            return_delay,
        ))
    }

    /// Whether the drive's power stage is on, and for a CiA 402 drive in Fault, that.
    pub(super) async fn read_enabled(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(bool, Option<String>), String> {
        if is_cia402(profile) {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            let state = Cia402State::from_statusword(word as u16);
            return Ok((
                state == Some(Cia402State::OperationEnabled),
                fault::statusword_text(word),
            ));
        }
        Ok((
            self.read_role(id, profile, Role::TorqueEnable).await? != 0,
            None,
        ))
    }

    /// The alarm bits of the drive's answer to a read of its torque flag, in words.
    pub(super) async fn read_alarms(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<Option<String>, String> {
        let register = protocol::role_register(profile, Role::TorqueEnable)?;
        let request = self.protocol.read(id, &Block::of(register))?;
        let reply = self
            .command(&request, id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.protocol.alarm_text(reply.alarms))
    }

    /// The operating mode: from the mode register, or on DYNAMIXEL 1.0 from the angle
    /// limits (both 0: wheel mode, a velocity mode).
    pub(super) async fn read_mode(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<DriveMode, String> {
        if profile.role(Role::OperatingMode).is_some() {
            let raw = self.read_role(id, profile, Role::OperatingMode).await?;
            return Ok(if raw == profile.modes.velocity {
                DriveMode::Velocity
            } else {
                DriveMode::Position
            });
        }
        let (Some(cw), Some(ccw)) = (
            profile.register("CW Angle Limit").cloned(),
            profile.register("CCW Angle Limit").cloned(),
        ) else {
            return Ok(DriveMode::Position);
        };
        let cw = self.read_register(id, profile, &cw).await?;
        let ccw = self.read_register(id, profile, &ccw).await?;
        Ok(if cw == 0 && ccw == 0 {
            DriveMode::Velocity
        } else {
            DriveMode::Position
        })
    }

    /// The fastest target allowed, rad/s: the drive's velocity limit entry where it has
    /// one set, never beyond what the goal register can carry.
    pub(super) async fn read_velocity_limit(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<f64, String> {
        let goal = protocol::role_register(profile, Role::GoalVelocity)?;
        let carried = protocol::magnitude_limit(self.protocol.as_ref(), profile, goal) as f64
            * goal.scale.abs();
        let Some(register) = profile.role(Role::VelocityLimit).cloned() else {
            return Ok(carried);
        };
        let raw = self.read_register(id, profile, &register).await?;
        let limit = register.to_si(raw).abs();
        // A limit entry of 0 is unset (Feetech publishes no factory value).
        Ok(if limit > 0.0 {
            limit.min(carried)
        } else {
            carried
        })
    }

    /// The position range allowed, rad: the goal register's range, narrowed by the
    /// drive's own limit entries where they are set (a pair of zeros means none: wheel
    /// or multi-turn mode).
    pub(super) async fn read_position_limits(
        &mut self,
        id: u8,
        profile: &Profile,
    ) -> Result<(f64, f64), String> {
        let goal = protocol::role_register(profile, Role::GoalPosition)?.clone();
        let limits = goal.limits();
        let signed = |raw: i64| protocol::from_wire(self.protocol.as_ref(), profile, &goal, raw);
        let (mut lo, mut hi) = (
            goal.to_si(signed(*limits.start())),
            goal.to_si(signed(*limits.end())),
        );
        for (min_name, max_name) in [
            ("Min Position Limit", "Max Position Limit"),
            ("CW Angle Limit", "CCW Angle Limit"),
            ("Min Angle Limit", "Max Angle Limit"),
        ] {
            let (Some(min), Some(max)) = (
                profile.register(min_name).cloned(),
                profile.register(max_name).cloned(),
            ) else {
                continue;
            };
            let (Ok(min), Ok(max)) = (
                self.read_register(id, profile, &min).await,
                self.read_register(id, profile, &max).await,
            ) else {
                continue;
            };
            if min < max {
                lo = lo.max(goal.to_si(min));
                hi = hi.min(goal.to_si(max));
            }
        }
        Ok((lo.min(hi), lo.max(hi)))
    }

    /// Reopens the port with backoff until the drives answer again. Jobs and E-stops
    /// that arrive meanwhile fail at once ("link lost"). Back up, every drive is put in
    /// its safe state: nothing is ever re-enabled without the user. `false` when the
    /// link cannot be reopened or was shut down.
    pub(super) async fn reconnect(&mut self) -> bool {
        if self.reopen.is_none() {
            return false;
        }
        let mut delay = self.config.reconnect_min;
        loop {
            // An E-stop caught during a failed attempt cannot reach the drives: say so.
            if let Some(reply) = self.pending_estop.take() {
                let _ = reply.send(Err(format!("link {} is lost and reconnecting", self.id)));
            }
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    reply = self.estops.recv() => match reply {
                        Some(reply) => {
                            let _ = reply.send(Err(format!("link {} is lost and reconnecting", self.id)));
                        }
                        None => return false,
                    },
                    request = self.requests.recv() => match request {
                        Some(Request::Job(job)) => job.finish(
                            JobState::Failed { reason: "link lost: reconnecting".into() },
                            self.sink.as_ref(),
                            self.clock,
                        ),
                        Some(Request::Shutdown(done)) => {
                            let _ = done.send(());
                            return false;
                        }
                        None => return false,
                    },
                    _ = tokio::time::sleep_until(wake) => break,
                }
            }
            let reopened = match self.reopen.as_mut() {
                Some(reopen) => reopen(self.config.baud),
                None => return false,
            };
            match reopened {
                Ok(io) => {
                    self.io = Some(io);
                    self.rx.clear();
                    self.silent = 0;
                    match self.rediscover().await {
                        Ok(()) => return true,
                        Err(reason) => {
                            log::info!("link {}: not back yet: {reason}", self.id);
                            // Close it again: the port is locked exclusively, and the
                            // next attempt must be able to open it afresh.
                            self.io = None;
                        }
                    }
                }
                Err(e) => log::info!("link {}: reopen failed: {e}", self.id),
            }
            delay = (delay * 2).min(self.config.reconnect_max);
        }
    }

    /// After a reconnect: every known drive must answer; any found enabled is switched
    /// off (it ran unwatched), then the link is announced up again.
    pub(super) async fn rediscover(&mut self) -> Result<(), String> {
        let drives = self.drive_profiles();
        let mut statuses = Vec::new();
        for (id, profile) in &drives {
            let (mut status, return_delay) = self.read_initial_status(*id, profile).await?;
            if status.enabled {
                let off = self.power_off_request(profile, *id)?;
                self.command(&off, *id).await.map_err(|e| e.to_string())?;
                status.enabled = false;
            }
            statuses.push((status, return_delay));
        }
        {
            let mut table = self.write_drives();
            for (status, return_delay) in &statuses {
                if let Some(entry) = table.get_mut(&status.drive.id) {
                    // The user's soft limits outlive the connection.
                    let soft_limits = entry.status.soft_limits;
                    entry.status = DriveStatus {
                        soft_limits,
                        ..status.clone()
                    };
                    entry.return_delay = *return_delay;
                }
            }
        }
        self.plan_polls();
        self.up.store(true, Ordering::Release);
        self.announce_up();
        Ok(())
    }

    pub(super) fn lose_link(&mut self, reason: &str) {
        // Which drives were left enabled, and what stops them now: said with the loss, so
        // the window can tell the user why they stopped.
        let enabled: Vec<(u8, bool)> = self
            .write_drives()
            .values()
            .filter(|d| d.status.enabled)
            .map(|d| {
                (
                    d.status.drive.id,
                    d.profile.role(Role::BusWatchdog).is_some(),
                )
            })
            .collect();
        let reason = &match enabled.as_slice() {
            [] => reason.to_string(),
            drives => {
                let said: Vec<String> = drives
                    .iter()
                    .map(|(id, watchdog)| {
                        if *watchdog {
                            format!("drive {id} was enabled: its Bus Watchdog stops it")
                        } else {
                            format!("drive {id} was enabled and has no watchdog of its own: it holds its last target until the link is back and DriveDeck switches it off")
                        }
                    })
                    .collect();
                format!("{reason}; {}", said.join("; "))
            }
        };
        log::warn!("link {} lost: {reason}", self.id);
        // Close the port now: it is reopened fresh (and exclusively) on reconnect.
        self.io = None;
        self.jogs.clear();
        let at = self.clock.now();
        self.sink.emit(Event::LinkDown {
            link: self.id,
            reason: reason.to_string(),
            at,
        });
        self.up.store(false, Ordering::Release);
        self.drain_requests();
        for job in self.queue.drain() {
            job.finish(
                JobState::Failed {
                    reason: format!("link lost: {reason}"),
                },
                self.sink.as_ref(),
                self.clock,
            );
        }
        if let Some(reply) = self.pending_estop.take() {
            let _ = reply.send(Err(format!("link lost: {reason}")));
        }
        while let Ok(reply) = self.estops.try_recv() {
            let _ = reply.send(Err(format!("link lost: {reason}")));
        }
    }
}
