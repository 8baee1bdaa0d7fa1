//! Set-up jobs ([`Command::Setup`]): a drive's new bus ID or baud rate, a reboot, a
//! factory reset — and the link following its drive.
//!
//! Everything is checked before a byte is sent: the drive is disabled, a reboot or reset
//! was confirmed, the protocol has the step (DYNAMIXEL 2.0 Reboot 0x08 and Factory Reset
//! 0x06 with its option byte; DYNAMIXEL 1.0 Reset 0x06, which restores the ID too;
//! Feetech's 0x06 parameter recovery, which keeps the ID, and no reboot at all; nothing
//! on Modbus, whose drives set their address and rate in vendor parameters), and the new
//! ID is free: free on this link, and — asked on the wire with a ping — free on the bus.
//! A new rate needs the drive alone on its link: the others would be left behind at the
//! old one (ROBOTIS's and Feetech's tools do the same: one drive moves, and is then found
//! at its new rate).
//!
//! Then the link follows the drive: after a new ID its drive entry, its polls and the
//! store's drive key move to the new ID ([`Event::DriveReaddressed`]); after a new rate
//! the port is reopened at it (and the link announced up again at that rate). The drive
//! is read back where it now is — it must answer there, and no longer at its old ID —
//! and its state is read afresh (a reboot or reset leaves torque off and the goal at the
//! present position). On Feetech servos the EEPROM entries persist only while Lock is 0:
//! the link unlocks around the write and locks again at the drive's new address or rate.

use super::*;
use drivedeck_domain::{ResetKeep, SetupStep};
use drivedeck_proto::baud;

/// The ID register's name in every built-in profile.
const ID: &str = "ID";
/// Feetech's EEPROM lock.
const FEETECH_LOCK: &str = "Lock";

/// Where a set-up step leaves the drive: its ID and the rate it listens at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Destination {
    pub(super) id: u8,
    pub(super) baud: u32,
}

/// Where `step` leaves drive `id` of `profile`, on a link at `baud`; `Err` (nothing
/// sent) when the drive, its protocol or the link cannot take the step. `others` are the
/// other drives on the link.
pub(super) fn destination(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    status: &DriveStatus,
    others: &[u8],
    id: u8,
    link_baud: u32,
    step: SetupStep,
) -> Result<Destination, String> {
    if status.enabled {
        return Err(format!(
            "disable drive {id} first: set-up steps are made with torque off"
        ));
    }
    let unsupported = |what: &str| {
        format!(
            "{what} is not supported by this protocol ({}) here: set it with the drive's \
             own parameters or its vendor's tool, then connect it again",
            protocol.name()
        )
    };
    let destination = match step {
        SetupStep::ChangeId { to } => {
            let register = id_register(protocol, profile).ok_or_else(|| unsupported("a new ID"))?;
            let limits = register.limits();
            if !limits.contains(&i64::from(to)) || Some(to) == protocol.broadcast_id() {
                return Err(format!(
                    "ID {to} is not an ID a {} drive can have ({} – {})",
                    protocol.name(),
                    limits.start(),
                    limits.end()
                ));
            }
            if to == id {
                return Err(format!("drive {id} already has ID {to}"));
            }
            Destination {
                id: to,
                baud: link_baud,
            }
        }
        SetupStep::ChangeBaud { baud: rate } => {
            baud_register(protocol, profile).ok_or_else(|| unsupported("a new baud rate"))?;
            if baud::code_of_rate(protocol.protocol(), rate).is_none() {
                let rates: Vec<String> = baud::rates(protocol.protocol())
                    .iter()
                    .map(u32::to_string)
                    .collect();
                return Err(format!(
                    "a {} drive cannot run at {rate} baud; it can at {}",
                    protocol.name(),
                    rates.join(", ")
                ));
            }
            if rate == link_baud {
                return Err(format!("drive {id} is already at {rate} baud"));
            }
            Destination { id, baud: rate }
        }
        SetupStep::Reboot { confirm } => {
            if !confirm {
                return Err(format!(
                    "rebooting drive {id} needs confirmation (confirm: true): it restarts with \
                     torque off and its RAM settings back to their defaults"
                ));
            }
            protocol.setup_reboot(id)?;
            Destination {
                id,
                baud: link_baud,
            }
        }
        SetupStep::FactoryReset { keep, confirm } => {
            if !confirm {
                return Err(format!(
                    "a factory reset of drive {id} needs confirmation (confirm: true): every \
                     setting goes back to the factory value"
                ));
            }
            protocol.factory_reset(id, keep)?;
            let new_id = match (keep, id_register(protocol, profile)) {
                (ResetKeep::Nothing, Some(register)) => u8::try_from(register.default)
                    .map_err(|_| format!("{}'s default ID does not fit a byte", profile.name))?,
                _ => id,
            };
            let new_baud = match (keep, baud_register(protocol, profile)) {
                (ResetKeep::IdAndBaud, _) | (_, None) => link_baud,
                (_, Some(register)) => {
                    baud::rate_of_code(protocol.protocol(), register.default).unwrap_or(link_baud)
                }
            };
            Destination {
                id: new_id,
                baud: new_baud,
            }
        }
    };
    if destination.id != id && others.contains(&destination.id) {
        return Err(format!(
            "ID {} is taken: drive {} is on this link; nothing was sent",
            destination.id, destination.id
        ));
    }
    if destination.baud != link_baud && !others.is_empty() {
        let mut all: Vec<String> = others.iter().map(u8::to_string).collect();
        all.push(id.to_string());
        return Err(format!(
            "this link carries drives {}: moving drive {id} to {} baud would leave the \
             others at {link_baud}; connect it alone (set-up, one drive at a time)",
            all.join(", "),
            destination.baud
        ));
    }
    Ok(destination)
}

fn id_register<'p>(protocol: &dyn LinkProtocol, profile: &'p Profile) -> Option<&'p Register> {
    profile
        .register(ID)
        .filter(|_| protocol.protocol() != Protocol::ModbusRtu)
}

fn baud_register<'p>(protocol: &dyn LinkProtocol, profile: &'p Profile) -> Option<&'p Register> {
    profile
        .register(baud::BAUD_RATE)
        .filter(|_| !baud::codes(protocol.protocol()).is_empty())
}

/// Why the Parameters grid does not write a register itself: the ID and the baud rate
/// move the drive away from its link, so they go through the set-up jobs.
pub(super) fn moves_the_drive(name: &str) -> Option<String> {
    (name == ID || name == baud::BAUD_RATE).then(|| {
        format!(
            "{name} is changed with the set-up job (change ID / change baud rate), which \
             moves the link with the drive; written here the link would lose it"
        )
    })
}

impl<T: Transport> Actor<T> {
    /// Runs a set-up job to its terminal state. `Err` only when the link itself failed.
    pub(super) async fn execute_setup(
        &mut self,
        job: Job,
        drive: DriveRef,
        profile: Arc<Profile>,
        step: SetupStep,
    ) -> Result<(), String> {
        let id = drive.id;
        let others: Vec<u8> = self
            .drive_profiles()
            .into_iter()
            .map(|(other, _)| other)
            .filter(|other| *other != id)
            .collect();
        let status = self
            .drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|entry| entry.status.clone());
        let checked = status
            .ok_or_else(|| format!("{drive} is not on this link"))
            .and_then(|status| {
                destination(
                    self.protocol.as_ref(),
                    &profile,
                    &status,
                    &others,
                    id,
                    self.config.baud,
                    step,
                )
            })
            .and_then(|to| {
                if to.baud != self.config.baud && self.reopen.is_none() {
                    Err(
                        "this link cannot reopen its port at another rate (not a serial port)"
                            .to_string(),
                    )
                } else {
                    Ok(to)
                }
            });
        let to = match checked {
            Ok(to) => to,
            Err(reason) => {
                job.finish(JobState::Failed { reason }, self.sink.as_ref(), self.clock);
                return Ok(());
            }
        };
        // A drive this link does not know may already have the new ID: ask the bus.
        if to.id != id {
            match self.answers_at(to.id, 1).await {
                Ok(false) => {}
                Ok(true) => {
                    let reason = format!(
                        "ID {} is taken: a drive answers at it on {}; nothing was written",
                        to.id, self.config.port
                    );
                    job.finish(JobState::Failed { reason }, self.sink.as_ref(), self.clock);
                    return Ok(());
                }
                Err(e) => return self.finish_job(job, Err(e)),
            }
        }
        job.sent(self.sink.as_ref(), self.clock);
        let result = self.run_setup(&profile, id, step, to).await;
        if result.is_ok() {
            self.follow(&profile, id, to).await;
        }
        self.finish_job(job, result)
    }

    /// Sends the step and checks the drive answers where it should now be.
    async fn run_setup(
        &mut self,
        profile: &Profile,
        id: u8,
        step: SetupStep,
        to: Destination,
    ) -> Result<(), CommandError> {
        let lock = profile
            .register(FEETECH_LOCK)
            .filter(|_| self.protocol.protocol() == Protocol::Feetech)
            .cloned();
        match step {
            SetupStep::ChangeId { to: new_id } => {
                let register = id_register(self.protocol.as_ref(), profile)
                    .ok_or_else(|| "no ID register".to_string())?
                    .clone();
                self.unlock(profile, lock.as_ref(), id, 0).await?;
                let write =
                    self.write_register_request(profile, id, &register, i64::from(new_id))?;
                // The drive may answer under its old ID or already under its new one.
                self.send_step(write, &[id, new_id], id).await?;
                self.unlock(profile, lock.as_ref(), new_id, 1).await?;
            }
            SetupStep::ChangeBaud { baud: rate } => {
                let register = baud_register(self.protocol.as_ref(), profile)
                    .ok_or_else(|| "no Baud Rate register".to_string())?
                    .clone();
                let code = baud::code_of_rate(self.protocol.protocol(), rate)
                    .ok_or_else(|| format!("no code for {rate} baud"))?;
                self.unlock(profile, lock.as_ref(), id, 0).await?;
                let write = self.write_register_request(profile, id, &register, code)?;
                self.send_step(write, &[id], id).await?;
                self.reopen_at(rate)?;
                self.unlock(profile, lock.as_ref(), id, 1).await?;
            }
            SetupStep::Reboot { .. } => {
                let request = self.protocol.setup_reboot(id)?;
                self.send_step(request, &[id], id).await?;
            }
            SetupStep::FactoryReset { keep, .. } => {
                let request = self.protocol.factory_reset(id, keep)?;
                self.send_step(request, &[id], id).await?;
                if to.baud != self.config.baud {
                    self.reopen_at(to.baud)?;
                }
            }
        }
        // Read back where the drive is now (a rebooting drive takes a moment).
        if !self.answers_at(to.id, 10).await? {
            return Err(CommandError::NoAnswer(format!(
                "drive {id} did not answer at ID {} and {} baud after the {}",
                to.id,
                to.baud,
                step_name(step)
            )));
        }
        if to.id != id && self.answers_at(id, 1).await? {
            return Err(CommandError::Refused(format!(
                "a drive still answers at ID {id} after the {}: two drives may have shared \
                 it",
                step_name(step)
            )));
        }
        Ok(())
    }

    /// Feetech: writes Lock (0 opens the EEPROM, 1 closes it) at drive `id`.
    async fn unlock(
        &mut self,
        profile: &Profile,
        lock: Option<&Register>,
        id: u8,
        value: i64,
    ) -> Result<(), CommandError> {
        let Some(lock) = lock else { return Ok(()) };
        let request = self.write_register_request(profile, id, lock, value)?;
        self.command(&request, id).await.map(|_| ())
    }

    /// Sends a set-up request whose answer may come from any of `answering` (or not at
    /// all: a drive may switch its ID or rate before it answers); only a refusal fails.
    async fn send_step(
        &mut self,
        mut request: protocol::Request,
        answering: &[u8],
        id: u8,
    ) -> Result<(), CommandError> {
        request.expect = answering.to_vec();
        request.expect.dedup();
        let silent = self.silent;
        let replies = match self.transact(&request).await {
            Ok(replies) => replies,
            Err(TxError::Timeout { partial }) => partial,
            Err(TxError::Io(e)) => return Err(CommandError::Io(e)),
        };
        self.silent = silent;
        match replies.iter().find_map(|r| r.refused.as_ref()) {
            Some(text) => Err(CommandError::Refused(format!("drive {id} refused: {text}"))),
            None => Ok(()),
        }
    }

    /// Whether a drive answers a ping at `id` within `tries` pings (an expected
    /// silence does not count towards losing the link).
    async fn answers_at(&mut self, id: u8, tries: u32) -> Result<bool, CommandError> {
        let Some(ping) = self.protocol.ping(id) else {
            return Ok(false);
        };
        let silent = self.silent;
        let mut answered = false;
        for attempt in 0..tries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            match self.transact(&ping).await {
                Ok(replies) if !replies.is_empty() => answered = true,
                Ok(_) => {}
                Err(TxError::Timeout { partial }) => answered = !partial.is_empty(),
                Err(TxError::Io(e)) => return Err(CommandError::Io(e)),
            }
            if answered {
                break;
            }
        }
        self.silent = silent;
        Ok(answered)
    }

    /// Closes the port and opens it again at `rate` (the drive moved there).
    fn reopen_at(&mut self, rate: u32) -> Result<(), CommandError> {
        // The drive is at the new rate now, whatever happens to the port: a reconnect
        // must look for it there.
        self.config.baud = rate;
        self.baud.store(rate, Ordering::Release);
        self.io = None;
        self.rx.clear();
        let reopen = self
            .reopen
            .as_mut()
            .ok_or_else(|| CommandError::Io("the port cannot be reopened".into()))?;
        let io = reopen(rate).map_err(|e| CommandError::Io(e.to_string()))?;
        self.io = Some(io);
        self.line_free_at = Instant::now();
        Ok(())
    }

    /// The link follows drive `id` to `to`: its entry, polls and the store's key move to
    /// the new ID; its state is read afresh; a new rate is announced with the link.
    async fn follow(&mut self, profile: &Arc<Profile>, id: u8, to: Destination) {
        let at = self.clock.now();
        if to.id != id {
            {
                let mut drives = self.write_drives();
                if let Some(mut entry) = drives.remove(&id) {
                    entry.status.drive = self.drive_ref(to.id);
                    drives.insert(to.id, entry);
                }
            }
            self.jogs.remove(&id);
            {
                let mut health = self.health();
                if let Some(counters) = health.drives.remove(&id) {
                    health.drives.insert(to.id, counters);
                }
            }
            for (drive, _) in &mut self.config.drives {
                if *drive == id {
                    *drive = to.id;
                }
            }
            self.sink.emit(Event::DriveReaddressed {
                link: self.id,
                from: id,
                to: to.id,
                at,
            });
        }
        match self.read_initial_status(to.id, profile).await {
            Ok((status, return_delay)) => {
                if let Some(entry) = self.write_drives().get_mut(&to.id) {
                    // The user's soft limits stay with the drive.
                    let soft_limits = entry.status.soft_limits;
                    entry.status = DriveStatus {
                        soft_limits,
                        ..status
                    };
                    entry.return_delay = return_delay;
                    entry.armed_until = None;
                }
            }
            Err(e) => log::warn!("link {}: drive {} after set-up: {e}", self.id, to.id),
        }
        self.plan_polls();
        // A new rate is a new LinkUp (the journal of link events shows it); every drive's
        // state is reported with it.
        self.announce_up();
    }
}

fn step_name(step: SetupStep) -> &'static str {
    match step {
        SetupStep::ChangeId { .. } => "ID change",
        SetupStep::ChangeBaud { .. } => "baud rate change",
        SetupStep::Reboot { .. } => "reboot",
        SetupStep::FactoryReset { .. } => "factory reset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_domain::DriveMode;

    fn status(id: u8, enabled: bool) -> DriveStatus {
        DriveStatus {
            drive: DriveRef { link: 1, id },
            model: "XM430-W350".into(),
            enabled,
            mode: DriveMode::Position,
            fault: None,
            target: None,
            position_limits: (0.0, std::f64::consts::TAU),
            velocity_limit: 4.8,
            soft_limits: SoftLimits::default(),
        }
    }

    fn check(
        protocol: Protocol,
        profile: &Profile,
        others: &[u8],
        step: SetupStep,
    ) -> Result<Destination, String> {
        let protocol = protocol::for_protocol(protocol);
        destination(
            protocol.as_ref(),
            profile,
            &status(1, false),
            others,
            1,
            1_000_000,
            step,
        )
    }

    #[test]
    fn the_destination_of_each_step() {
        let xm = Profile::xm430_w350();
        let id = |to| SetupStep::ChangeId { to };
        assert_eq!(
            check(Protocol::Dynamixel2, &xm, &[], id(7)),
            Ok(Destination {
                id: 7,
                baud: 1_000_000
            })
        );
        assert_eq!(
            check(
                Protocol::Dynamixel2,
                &xm,
                &[],
                SetupStep::ChangeBaud { baud: 57_600 }
            ),
            Ok(Destination {
                id: 1,
                baud: 57_600
            })
        );
        // A full factory reset sends the drive to its default ID and rate (1, 57600).
        let reset = |keep| SetupStep::FactoryReset {
            keep,
            confirm: true,
        };
        assert_eq!(
            check(Protocol::Dynamixel2, &xm, &[], reset(ResetKeep::Nothing)),
            Ok(Destination {
                id: 1,
                baud: 57_600
            })
        );
        assert_eq!(
            check(Protocol::Dynamixel2, &xm, &[], reset(ResetKeep::IdAndBaud)),
            Ok(Destination {
                id: 1,
                baud: 1_000_000
            })
        );
        // Feetech's recovery keeps the ID and returns to 1 Mbaud.
        let sts = Profile::sts3215();
        assert_eq!(
            check(Protocol::Feetech, &sts, &[], reset(ResetKeep::Id)),
            Ok(Destination {
                id: 1,
                baud: 1_000_000
            })
        );
    }

    #[test]
    fn what_cannot_be_done_is_refused_before_the_wire() {
        let xm = Profile::xm430_w350();
        let refused = |protocol, profile: &Profile, others: &[u8], step, words: &str| {
            let error = check(protocol, profile, others, step).expect_err(words);
            assert!(error.contains(words), "{error}");
        };
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[2],
            SetupStep::ChangeId { to: 2 },
            "ID 2 is taken",
        );
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[],
            SetupStep::ChangeId { to: 254 },
            "not an ID",
        );
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[2],
            SetupStep::ChangeBaud { baud: 57_600 },
            "leave the others",
        );
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[],
            SetupStep::ChangeBaud { baud: 12_345 },
            "cannot run at 12345",
        );
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[],
            SetupStep::Reboot { confirm: false },
            "needs confirmation",
        );
        refused(
            Protocol::Dynamixel2,
            &xm,
            &[],
            SetupStep::FactoryReset {
                keep: ResetKeep::Nothing,
                confirm: false,
            },
            "needs confirmation",
        );
        let sts = Profile::sts3215();
        refused(
            Protocol::Feetech,
            &sts,
            &[],
            SetupStep::Reboot { confirm: true },
            "not supported by this protocol",
        );
        refused(
            Protocol::Feetech,
            &sts,
            &[],
            SetupStep::FactoryReset {
                keep: ResetKeep::Nothing,
                confirm: true,
            },
            "cannot reset the ID too",
        );
        refused(
            Protocol::ModbusRtu,
            &Profile::kinco_fd5p(),
            &[],
            SetupStep::ChangeId { to: 3 },
            "not supported by this protocol",
        );
        let protocol = protocol::for_protocol(Protocol::Dynamixel2);
        let enabled = destination(
            protocol.as_ref(),
            &xm,
            &status(1, true),
            &[],
            1,
            1_000_000,
            SetupStep::ChangeId { to: 3 },
        )
        .expect_err("enabled");
        assert!(enabled.contains("disable drive 1"), "{enabled}");
    }

    #[test]
    fn the_grid_points_id_and_rate_to_the_setup_job() {
        assert!(moves_the_drive("ID").is_some());
        assert!(moves_the_drive("Baud Rate").is_some());
        assert!(moves_the_drive("Goal Position").is_none());
    }
}
