//! Parameter jobs on a link: read, write, save, back up and restore a drive's
//! registers by their profile names, and clear its latched fault.
//!
//! Every value is checked against its register (access, type, min, max, and on the
//! DYNAMIXEL X series "EEPROM only with torque off") twice: when the job is submitted
//! ([`validate`], so a bad one is refused and never journaled) and again when its turn
//! comes (the drive may have been enabled meanwhile); a refusal sends nothing. Writes
//! are framed by two reads, reported as `before-write` and `after-write` snapshots, and
//! a value that does not read back as written fails the job. Register reads go in as few
//! requests as the registers' contiguous runs allow (never across a gap: a drive may
//! refuse addresses its table does not have).
//!
//! What "save to flash" means differs by protocol: DYNAMIXEL EEPROM entries persist as
//! soon as they are written, Feetech EEPROM entries persist while Lock (55) is 0 (the
//! link unlocks around such writes and locks again after), and a CiA 402 drive stores its
//! parameters when "save" is written to Store Parameters (1010h) — if its profile maps
//! that entry; else the job is refused.

use super::{Actor, CommandError, Transport, is_cia402};
use crate::SubmitError;
use crate::job::Job;
use crate::protocol::{self, Block, LinkProtocol};
use drivedeck_domain::{
    Command, DriveRef, DriveStatus, Event, ParamSnapshot, ParamValue, SnapshotKind,
};
use drivedeck_proto::cia402::{self, State as Cia402State};
use drivedeck_proto::profile::{Profile, Protocol, Register, Role};
use std::sync::Arc;

/// The CiA 402 Store Parameters entry (1010h) as a profile names it.
pub const STORE_PARAMETERS: &str = "Store Parameters";

/// The signature that makes a CiA 402 drive store its parameters: "save" in ASCII,
/// little-endian (CiA 301, 1010h).
pub const SAVE_SIGNATURE: i64 = 0x6576_6173;

/// The register holding a servo's bus ID (DYNAMIXEL, Feetech).
const ID: &str = "ID";

/// A backup's values without its read-only registers (model number, firmware and the
/// like are read for the record, not written back). Unknown names stay, to be refused.
fn restorable(profile: &Profile, values: &[(String, f64)]) -> Vec<(String, f64)> {
    values
        .iter()
        .filter(|(name, _)| {
            profile
                .register(name)
                .is_none_or(|r| r.access.is_writable())
        })
        .cloned()
        .collect()
}

/// The register holding a servo's baud rate code.
const BAUD_RATE: &str = "Baud Rate";

/// The Feetech register that keeps EEPROM writes from persisting while it is 1.
const FEETECH_LOCK: &str = "Lock";

/// A checked write: the register, the value as the drive means it (signed), and the
/// bits that go on the wire.
struct PlannedWrite {
    register: Register,
    value: i64,
    wire: i64,
}

/// Refuses a parameter job the drive cannot take as it is; nothing is sent.
pub(super) fn validate(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    status: &DriveStatus,
    command: &Command,
) -> Result<(), SubmitError> {
    let invalid = SubmitError::Invalid;
    match command {
        Command::ReadParams { registers, .. } => {
            read_set(profile, registers).map(|_| ()).map_err(invalid)
        }
        Command::WriteParams { values, .. } => {
            if values.is_empty() {
                return Err(invalid("no values to write".into()));
            }
            if let Some(refusal) = values
                .iter()
                .find_map(|(name, _)| super::setup::moves_the_drive(name))
            {
                return Err(invalid(refusal));
            }
            plan_writes(protocol, profile, status.enabled, values)
                .map(|_| ())
                .map_err(invalid)
        }
        Command::RestoreParams { drive, values, .. } => {
            let values = restorable(profile, values);
            if values.is_empty() {
                return Err(invalid("the backup holds no writable values".into()));
            }
            if let Some((_, id)) = values.iter().find(|(name, _)| name == ID)
                && *id != f64::from(drive.id)
            {
                return Err(invalid(format!(
                    "the backup is of drive {id}: restoring it would change drive {}'s ID",
                    drive.id
                )));
            }
            plan_writes(protocol, profile, status.enabled, &values)
                .map(|_| ())
                .map_err(invalid)
        }
        Command::BackupParams { .. } => {
            if persistent(profile).is_empty() {
                return Err(invalid(format!(
                    "{} has no persistent registers to back up",
                    profile.name
                )));
            }
            Ok(())
        }
        Command::SaveToFlash { .. } => save_step(protocol, profile).map(|_| ()).map_err(invalid),
        Command::ClearFault { drive } => {
            if is_cia402(profile) {
                return Ok(());
            }
            protocol.reboot(drive.id).map(|_| ()).map_err(invalid)
        }
        _ => Ok(()),
    }
}

/// The registers a read asks for by name, in profile order; every register for none.
fn read_set(profile: &Profile, names: &[String]) -> Result<Vec<Register>, String> {
    if names.is_empty() {
        return Ok(profile.registers.clone());
    }
    let mut set = Vec::with_capacity(names.len());
    for name in names {
        let register = profile
            .register(name)
            .ok_or_else(|| format!("{} has no register named {name:?}", profile.name))?;
        if !set.iter().any(|r: &Register| r.name == register.name) {
            set.push(register.clone());
        }
    }
    Ok(set)
}

/// The persistent registers of a profile, in profile order.
fn persistent(profile: &Profile) -> Vec<Register> {
    profile
        .registers
        .iter()
        .filter(|r| r.persistent)
        .cloned()
        .collect()
}

/// Each SI value as the register will hold it, checked against access, type, range and
/// the torque rule; the first bad one refuses them all.
fn plan_writes(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    enabled: bool,
    values: &[(String, f64)],
) -> Result<Vec<PlannedWrite>, String> {
    values
        .iter()
        .map(|(name, si)| {
            let register = profile
                .register(name)
                .ok_or_else(|| format!("{} has no register named {name:?}", profile.name))?;
            if !register.access.is_writable() {
                return Err(format!("{name} is read-only"));
            }
            if enabled && register.persistent && protocol.persistent_needs_torque_off() {
                return Err(format!(
                    "{name} is in EEPROM and the drive takes it only with torque off: \
                     disable the drive first"
                ));
            }
            let unit = register
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            let limits = register.limits();
            let allowed = format!(
                "{}{unit} – {}{unit}",
                register.to_si(*limits.start()),
                register.to_si(*limits.end())
            );
            if !si.is_finite() {
                return Err(format!("{name}: {si} is not a number (allowed {allowed})"));
            }
            let value = register.from_si(*si).ok_or_else(|| {
                format!("{name}: {si}{unit} is outside the allowed range {allowed}")
            })?;
            let wire = protocol::to_wire(protocol, profile, register, value)
                .map_err(|e| format!("{e} ({si}{unit}; allowed {allowed})"))?;
            Ok(PlannedWrite {
                register: register.clone(),
                value,
                wire,
            })
        })
        .collect()
}

/// What a save takes: `Some` register write (CiA 402 Store Parameters), `None` when the
/// parameters persist already; `Err` when the drive offers no way.
fn save_step<'p>(
    protocol: &dyn LinkProtocol,
    profile: &'p Profile,
) -> Result<Option<&'p Register>, String> {
    if let Some(store) = profile.register(STORE_PARAMETERS) {
        return Ok(Some(store));
    }
    match protocol.protocol() {
        Protocol::Dynamixel2 | Protocol::Dynamixel1 => Ok(None),
        Protocol::Feetech if profile.register(FEETECH_LOCK).is_some() => Ok(None),
        _ => Err(format!(
            "{} maps no {STORE_PARAMETERS} entry (1010h): there is no way to save its \
             parameters from here",
            profile.name
        )),
    }
}

/// Cuts registers into blocks of contiguous addresses (no gaps), each at most `max`.
fn contiguous_blocks(registers: &[Register], max: u16) -> Vec<(Block, Vec<Register>)> {
    let mut sorted = registers.to_vec();
    sorted.sort_by_key(|r| (r.space.name(), r.address));
    let mut out: Vec<(Block, Vec<Register>)> = Vec::new();
    for register in sorted {
        if let Some((block, members)) = out.last_mut()
            && block.space == register.space
            && usize::from(register.address) <= block.end()
            && register.end().saturating_sub(usize::from(block.address)) <= usize::from(max)
        {
            block.length = (register.end().max(block.end()) - usize::from(block.address)) as u16;
            members.push(register);
            continue;
        }
        out.push((Block::of(&register), vec![register]));
    }
    out
}

impl<T: Transport> Actor<T> {
    /// Runs a parameter job (or a fault reset) to its terminal state. `Err` only when
    /// the link itself failed.
    pub(super) async fn execute_params(
        &mut self,
        job: Job,
        drive: DriveRef,
        profile: Arc<Profile>,
    ) -> Result<(), String> {
        let enabled = self
            .drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&drive.id)
            .is_some_and(|d| d.status.enabled);
        let result = match job.command.clone() {
            Command::ReadParams { registers, .. } => match read_set(&profile, &registers) {
                Ok(set) => {
                    job.sent(self.sink.as_ref(), self.clock);
                    self.snapshot_of(&job, &profile, drive, &set, SnapshotKind::Read, "")
                        .await
                        .map(|_| ())
                }
                Err(reason) => Err(CommandError::Refused(reason)),
            },
            Command::BackupParams { label, .. } => {
                job.sent(self.sink.as_ref(), self.clock);
                let set = persistent(&profile);
                self.snapshot_of(&job, &profile, drive, &set, SnapshotKind::Backup, &label)
                    .await
                    .map(|_| ())
            }
            Command::WriteParams { values, .. } => {
                self.write_params(
                    &job,
                    &profile,
                    drive,
                    enabled,
                    &values,
                    SnapshotKind::AfterWrite,
                    "",
                )
                .await
            }
            Command::RestoreParams { values, label, .. } => {
                self.write_params(
                    &job,
                    &profile,
                    drive,
                    enabled,
                    &restorable(&profile, &values),
                    SnapshotKind::Restore,
                    &label,
                )
                .await
            }
            Command::SaveToFlash { .. } => self.save(&job, &profile, drive).await,
            Command::ClearFault { .. } => self.clear_fault(&job, &profile, drive).await,
            _ => Err(CommandError::Refused("not a parameter job".into())),
        };
        self.finish_job(job, result)
    }

    /// Reads `registers` of `drive` (signed values, SI beside them), in their order.
    async fn read_params(
        &mut self,
        profile: &Profile,
        id: u8,
        registers: &[Register],
    ) -> Result<Vec<ParamValue>, CommandError> {
        let mut values = Vec::with_capacity(registers.len());
        for (block, members) in contiguous_blocks(registers, self.protocol.max_read()) {
            let request = self.protocol.read(id, &block)?;
            let reply = self.command(&request, id).await?;
            for register in members {
                let raw = block.raw(&register, &reply.data).ok_or_else(|| {
                    CommandError::Refused(format!("short reply reading {}", register.name))
                })?;
                let value = protocol::from_wire(self.protocol.as_ref(), profile, &register, raw);
                values.push(ParamValue {
                    register: register.name.clone(),
                    raw: value,
                    value: register.to_si(value),
                    unit: register.unit.clone().unwrap_or_default(),
                });
            }
        }
        let order = |name: &str| registers.iter().position(|r| r.name == name);
        values.sort_by_key(|v| order(&v.register));
        Ok(values)
    }

    /// Reads `registers` and reports them as a snapshot of `kind`.
    async fn snapshot_of(
        &mut self,
        job: &Job,
        profile: &Profile,
        drive: DriveRef,
        registers: &[Register],
        kind: SnapshotKind,
        label: &str,
    ) -> Result<Vec<ParamValue>, CommandError> {
        let values = self.read_params(profile, drive.id, registers).await?;
        self.sink.emit(Event::ParamSnapshot {
            snapshot: ParamSnapshot {
                drive,
                model: profile.name.clone(),
                kind,
                job: Some(job.id),
                label: label.to_string(),
                values: values.clone(),
                at: self.clock.now(),
            },
        });
        Ok(values)
    }

    /// Checks the values again (the drive may have been enabled since the job was
    /// submitted), reads them before, writes them in order, reads them back as `after`.
    #[allow(clippy::too_many_arguments)]
    async fn write_params(
        &mut self,
        job: &Job,
        profile: &Profile,
        drive: DriveRef,
        enabled: bool,
        values: &[(String, f64)],
        after: SnapshotKind,
        label: &str,
    ) -> Result<(), CommandError> {
        let writes = plan_writes(self.protocol.as_ref(), profile, enabled, values)?;
        let mut touched: Vec<Register> = Vec::new();
        for write in &writes {
            if !touched.iter().any(|r| r.name == write.register.name) {
                touched.push(write.register.clone());
            }
        }
        let id = drive.id;
        // Every request is made (and so checked) before anything is sent.
        let mut requests = Vec::with_capacity(writes.len());
        for write in &writes {
            requests.push(self.protocol.write(id, &write.register, write.wire)?);
        }
        // Feetech EEPROM entries persist only while Lock is 0: unlock around them.
        let lock = profile
            .register(FEETECH_LOCK)
            .filter(|_| self.protocol.protocol() == Protocol::Feetech)
            .map(|lock| -> Result<_, String> {
                Ok((
                    self.protocol.write(id, lock, 0)?,
                    self.protocol.write(id, lock, 1)?,
                ))
            })
            .transpose()?;
        job.sent(self.sink.as_ref(), self.clock);
        let before = self
            .snapshot_of(
                job,
                profile,
                drive,
                &touched,
                SnapshotKind::BeforeWrite,
                label,
            )
            .await?;
        // A restore writes only what differs: an entry that already holds its value (the
        // ID, the baud rate) is left alone.
        let restore = after == SnapshotKind::Restore;
        let wanted = |w: &PlannedWrite| {
            !restore
                || before
                    .iter()
                    .find(|v| v.register == w.register.name)
                    .is_none_or(|v| v.raw != w.value)
        };
        if let Some(baud) = writes
            .iter()
            .find(|w| restore && w.register.name == BAUD_RATE && wanted(w))
        {
            return Err(CommandError::Refused(format!(
                "the backup's {BAUD_RATE} ({}) differs from the drive's: restoring it would \
                 cut the drive off this link; nothing was written",
                baud.value
            )));
        }
        let mut requests: Vec<protocol::Request> = writes
            .iter()
            .zip(requests)
            .filter(|(w, _)| wanted(w))
            .map(|(_, request)| request)
            .collect();
        let eeprom = writes.iter().any(|w| wanted(w) && w.register.persistent);
        if let Some((unlock, relock)) = lock.filter(|_| eeprom) {
            requests.insert(0, unlock);
            requests.push(relock);
        }
        for request in &requests {
            self.command(request, id).await?;
        }
        let read_back = self
            .snapshot_of(job, profile, drive, &touched, after, label)
            .await?;
        // The last value written to each register is what it must hold now.
        let mismatches: Vec<String> = touched
            .iter()
            .filter_map(|register| {
                let wanted = writes
                    .iter()
                    .rev()
                    .find(|w| w.register.name == register.name)?
                    .value;
                let got = read_back.iter().find(|v| v.register == register.name)?.raw;
                (got != wanted).then(|| format!("{} reads back {got}, not {wanted}", register.name))
            })
            .collect();
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(CommandError::Refused(mismatches.join("; ")))
        }
    }

    /// Stores the parameters where the drive needs a step for it.
    async fn save(
        &mut self,
        job: &Job,
        profile: &Profile,
        drive: DriveRef,
    ) -> Result<(), CommandError> {
        let step = save_step(self.protocol.as_ref(), profile)?.cloned();
        job.sent(self.sink.as_ref(), self.clock);
        match step {
            Some(store) => {
                let request =
                    self.write_register_request(profile, drive.id, &store, SAVE_SIGNATURE)?;
                self.command(&request, drive.id).await.map(|_| ())
            }
            None => {
                log::info!(
                    "{drive}: {} keeps its EEPROM entries as they are written; nothing to save",
                    profile.name
                );
                Ok(())
            }
        }
    }

    /// Clears a latched fault: CiA 402 Fault Reset (a rising edge of controlword bit 7,
    /// then the statusword must have left Fault), else the protocol's reboot. The drive
    /// comes out of either with its power stage off.
    async fn clear_fault(
        &mut self,
        job: &Job,
        profile: &Profile,
        drive: DriveRef,
    ) -> Result<(), CommandError> {
        let id = drive.id;
        if is_cia402(profile) {
            let low = self.write_request(
                profile,
                id,
                Role::TorqueEnable,
                i64::from(cia402::controlword::DISABLE_VOLTAGE),
            )?;
            let reset = self.write_request(
                profile,
                id,
                Role::TorqueEnable,
                i64::from(cia402::controlword::FAULT_RESET),
            )?;
            job.sent(self.sink.as_ref(), self.clock);
            self.command(&low, id).await?;
            self.command(&reset, id).await?;
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            if Cia402State::from_statusword(word as u16) == Some(Cia402State::Fault) {
                return Err(CommandError::Refused(format!(
                    "drive {id} stays in Fault after a fault reset{}",
                    self.fault_detail(id, profile).await
                )));
            }
        } else {
            let reboot = self.protocol.reboot(id)?;
            job.sent(self.sink.as_ref(), self.clock);
            self.command(&reboot, id).await?;
        }
        self.jogs.remove(&id);
        let changed = {
            let mut drives = self.write_drives();
            drives.get_mut(&id).map(|entry| {
                entry.status.enabled = false;
                entry.status.fault = None;
                entry.status.target = None;
                entry.status.clone()
            })
        };
        if let Some(status) = changed {
            self.sink.emit(Event::DriveChanged {
                status,
                at: self.clock.now(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{dxl1::Dxl1, dxl2::Dxl2, modbus::ModbusRtu};
    use drivedeck_domain::{DriveMode, DriveRef};

    fn status(profile: &Profile, enabled: bool) -> DriveStatus {
        DriveStatus {
            drive: DriveRef { link: 1, id: 1 },
            model: profile.name.clone(),
            enabled,
            mode: DriveMode::Position,
            fault: None,
            target: None,
            position_limits: (0.0, 1.0),
            velocity_limit: 1.0,
            soft_limits: Default::default(),
        }
    }

    fn write(name: &str, si: f64) -> Command {
        Command::WriteParams {
            drive: DriveRef { link: 1, id: 1 },
            values: vec![(name.into(), si)],
        }
    }

    #[test]
    fn writes_are_checked_against_access_range_and_torque() {
        let xm = Profile::xm430_w350();
        let off = status(&xm, false);
        let on = status(&xm, true);
        // Return Delay Time: 0 – 254 × 2 µs, EEPROM.
        assert_eq!(
            validate(&Dxl2, &xm, &off, &write("Return Delay Time", 100e-6)),
            Ok(())
        );
        let err =
            validate(&Dxl2, &xm, &off, &write("Return Delay Time", 1.0)).expect_err("out of range");
        assert!(err.to_string().contains("Return Delay Time"), "{err}");
        let err =
            validate(&Dxl2, &xm, &off, &write("Present Position", 0.0)).expect_err("read-only");
        assert!(err.to_string().contains("read-only"), "{err}");
        let err = validate(&Dxl2, &xm, &on, &write("Return Delay Time", 100e-6))
            .expect_err("EEPROM with torque on");
        assert!(err.to_string().contains("torque off"), "{err}");
        let err = validate(&Dxl2, &xm, &off, &write("No Such Thing", 1.0)).expect_err("unknown");
        assert!(err.to_string().contains("No Such Thing"), "{err}");
        let err =
            validate(&Dxl2, &xm, &off, &write("Return Delay Time", f64::NAN)).expect_err("NaN");
        assert!(err.to_string().contains("not a number"), "{err}");
    }

    #[test]
    fn a_restore_skips_read_only_entries_and_keeps_the_drives_id() {
        let xm = Profile::xm430_w350();
        let off = status(&xm, false);
        let restore = |id: f64| Command::RestoreParams {
            drive: DriveRef { link: 1, id: 1 },
            values: vec![
                ("Model Number".into(), 1020.0),
                ("ID".into(), id),
                ("Moving Threshold".into(), 0.5),
            ],
            label: "b".into(),
        };
        assert_eq!(validate(&Dxl2, &xm, &off, &restore(1.0)), Ok(()));
        let err = validate(&Dxl2, &xm, &off, &restore(2.0)).expect_err("another drive's");
        assert!(err.to_string().contains("change drive 1's ID"), "{err}");
    }

    #[test]
    fn saving_and_clearing_faults_depend_on_the_protocol() {
        let drive = DriveRef { link: 1, id: 1 };
        let save = Command::SaveToFlash { drive };
        let clear = Command::ClearFault { drive };
        let xm = Profile::xm430_w350();
        assert_eq!(validate(&Dxl2, &xm, &status(&xm, false), &save), Ok(()));
        assert_eq!(validate(&Dxl2, &xm, &status(&xm, false), &clear), Ok(()));
        let sts = Profile::sts3215();
        assert_eq!(
            validate(&Dxl1::feetech(), &sts, &status(&sts, false), &save),
            Ok(())
        );
        assert!(validate(&Dxl1::feetech(), &sts, &status(&sts, false), &clear).is_err());
        let kinco = Profile::kinco_fd5p();
        let err =
            validate(&ModbusRtu, &kinco, &status(&kinco, false), &save).expect_err("no 1010h");
        assert!(err.to_string().contains(STORE_PARAMETERS), "{err}");
        assert_eq!(
            validate(&ModbusRtu, &kinco, &status(&kinco, false), &clear),
            Ok(())
        );
    }

    #[test]
    fn reads_never_span_a_gap() {
        let xm = Profile::xm430_w350();
        let blocks = contiguous_blocks(&xm.registers, Dxl2.max_read());
        for (block, members) in &blocks {
            let covered: usize = members.iter().map(|r| r.span()).sum();
            assert_eq!(covered, usize::from(block.length), "{block:?} has a gap");
        }
        let count: usize = blocks.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(count, xm.registers.len());
        assert!(
            blocks.len() < xm.registers.len() / 2,
            "{} blocks",
            blocks.len()
        );
    }
}
