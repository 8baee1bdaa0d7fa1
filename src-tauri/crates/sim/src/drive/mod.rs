//! A simulated servo drive: the profile's control table in memory, its firmware family's
//! loops and protections, and the motor they drive.
//!
//! The loops run on every physics step, each family its vendor's structure
//! ([`crate::firmware`]): DYNAMIXEL X a profile generator and position PID + feedforward
//! → PWM (velocity PI → PWM in velocity mode), Feetech P/D/I → PWM in position mode. The
//! others (DYNAMIXEL 1.0, CiA 402, generic, and Feetech's speed mode) run the shared
//! cascade of `state`: position P → velocity set point (clamped to the velocity limit) →
//! velocity PI → current set point (clamped to the current limit) → the current loop,
//! which applies the voltage that reaches the set point within the step as far as the
//! supply allows (the winding's L/R is modelled in [`crate::motor`]). With torque off the
//! bridge is open and the shaft coasts.
//!
//! Measurements are written back into the table the way the sensors deliver them:
//! positions quantised to the encoder's counts per revolution (the profile's
//! `encoder_resolution`, or the position register's resolution), with seeded Gaussian
//! measurement noise where the profile gives some, clamped to the register's range, and
//! sign-magnitude where the device encodes them so (Feetech, and DYNAMIXEL 1.0 speed and
//! load with bit 10).
//!
//! Each drive follows its family's firmware rules (a `firmware::Family`, one
//! module per [`Firmware`], chosen from the profile): this module and `state` hold what
//! all families share and ask the family for the rest. What the families do:
//! - writes go through [`SimDrive::write`]: read-only entries and values outside an entry's
//!   range are refused, and nothing changes; DYNAMIXEL X refuses EEPROM writes while torque
//!   is on; DYNAMIXEL 1.0 refuses a Goal Position outside the angle limits (Angle Limit
//!   Error) and, with Lock set, writes outside addresses 24–35.
//! - protections: the winding over its temperature limit (overheating), the supply outside
//!   the voltage limits (input voltage), and an output saturated for longer than the
//!   overload time (overload) raise alarm bits — the same bit positions in all three
//!   families: 0x01 voltage, 0x04 temperature, 0x20 overload. On DYNAMIXEL X the alarms
//!   in Shutdown (63) latch into Hardware Error Status, turn torque off and keep it off
//!   until a reboot; on DYNAMIXEL 1.0 and Feetech the bits are live (the status packet's
//!   error byte, Feetech's Status entry), and those in Shutdown (18) / Unloading Condition
//!   (19) hold torque off while they last.
//! - the Bus Watchdog works as on the X series: armed with 1–127 (× 20 ms), it trips when
//!   no instruction reaches the drive for that long while torque is on; the drive then
//!   stops (holds its position, or velocity 0), the entry reads −1, and writes to the goal
//!   entries are refused until the watchdog is written 0 again.
//! - CiA 402 drives (profile `enable = "cia402"`, [`Firmware::Cia402`]) are powered through
//!   the state machine of [`cia402`] rather than a torque flag: the controlword entry (the
//!   `torque_enable` role) drives it, the `status_word` entry shows it, targets act only in
//!   Operation Enabled, and every protection is a fault: it brakes (Fault Reaction
//!   Active), then waits in Fault with the cause in the hardware-error entry (the alarm
//!   bits above) and in an "Error Code" entry (603Fh) where the profile has one, until a
//!   fault reset. A CiA 402 profile without a "Temperature Limit" entry trips at
//!   [`CIA402_TEMPERATURE_LIMIT`]. Overload (a saturated output) is not a CiA 402 fault
//!   here: the thermal model is what stops a stalled drive.
//!
//! The table itself ([`table`]) is bytes for DYNAMIXEL and Feetech and 16-bit holding and
//! input registers for Modbus, with 32-bit values in the profile's word order.

pub mod entries;
pub(crate) mod state;
pub mod table;

use crate::firmware::Family;
pub use crate::firmware::Firmware;
pub use crate::firmware::cia402;
use crate::motor::{Motor, MotorParams, Resonance};
use drivedeck_proto::cia402::State;
use drivedeck_proto::profile::{Access, AddressSpace, MotorSpec, Profile, Register, Role};
use entries::Entries;
use state::{DriveState, is};
use std::f64::consts::TAU;
use std::sync::Arc;
pub use table::Table;

/// Why the drive refused a read or write (maps onto the protocol's status error codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Outside the control table, a partial/unknown entry, or locked.
    Access(String),
    /// A write to a read-only entry.
    ReadOnly(String),
    /// A value outside the entry's range.
    Range(String),
    /// DYNAMIXEL 1.0: a Goal Position outside the CW/CCW Angle Limits.
    AngleLimit(String),
}

/// Alarm bits, in the positions all three servo families use for them.
pub mod alarm {
    /// The supply voltage is outside the configured limits.
    pub const INPUT_VOLTAGE: u8 = 0x01;
    /// The winding is hotter than the temperature limit.
    pub const OVERHEATING: u8 = 0x04;
    /// The output has been saturated for longer than the overload time.
    pub const OVERLOAD: u8 = 0x20;
}

/// How long a saturated output (current or voltage at its limit) makes an overload on
/// DYNAMIXELs. ROBOTIS publishes no figure ("persistent load that exceeds maximum
/// output"); one second is this simulator's choice.
pub const OVERLOAD_TIME: f64 = 1.0;

/// Winding temperature at which a CiA 402 drive whose profile has no temperature limit
/// entry faults, °C: below the 130 °C of class B insulation. The simulator's choice; the
/// Kinco FD5P profile maps no temperature object.
pub const CIA402_TEMPERATURE_LIMIT: f64 = 120.0;

/// A CiA 402 drive in profile position mode has reached its target within this, rad
/// (position window 6067h, when the profile maps none).
pub const POSITION_WINDOW: f64 = 0.01;

/// A CiA 402 drive in profile velocity mode is at its target within this, rad/s (velocity
/// window 606Dh); below it the speed counts as 0 (velocity threshold 606Fh).
pub const VELOCITY_WINDOW: f64 = 0.05;

/// Datasheet figures used when a profile carries no `[motor]` section.
const FALLBACK_MOTOR: MotorSpec = MotorSpec {
    supply_voltage: 12.0,
    stall_torque: 1.0,
    stall_current: 1.0,
    no_load_speed: 10.0,
    no_load_current: 0.1,
    inertia: 0.002,
    viscous_friction: 0.01,
    coulomb_friction: 0.01,
    inductance: MotorSpec::DEFAULT_INDUCTANCE,
    thermal_resistance: MotorSpec::DEFAULT_THERMAL_RESISTANCE,
    thermal_capacity: MotorSpec::DEFAULT_THERMAL_CAPACITY,
    ambient_temperature: MotorSpec::DEFAULT_AMBIENT_TEMPERATURE,
    load_inertia: 0.0,
    encoder_resolution: None,
    position_noise: 0.0,
    velocity_noise: 0.0,
    current_noise: 0.0,
};

/// One simulated drive on a bus: the shared state, run by its firmware family.
#[derive(Clone, Debug)]
pub struct SimDrive {
    family: Box<dyn Family>,
    state: DriveState,
}

impl SimDrive {
    /// A drive with bus ID `id`, its table at the profile's defaults, the shaft at rest,
    /// measurement noise seeded with 0.
    pub fn new(profile: Profile, id: u8) -> SimDrive {
        SimDrive::with_seed(profile, id, 0)
    }

    /// Like [`SimDrive::new`], with the measurement noise seeded by `seed`.
    pub fn with_seed(profile: Profile, id: u8, seed: u64) -> SimDrive {
        let mut table = Table::for_profile(&profile);
        for register in &profile.registers {
            table.put(register, register.default);
        }
        let spec = profile.motor.unwrap_or(FALLBACK_MOTOR);
        let entries = Arc::new(Entries::resolve(&profile));
        let encoder_counts = match (spec.encoder_resolution, &entries.present_position) {
            (Some(counts), _) => f64::from(counts),
            (None, Some(position)) => TAU / position.scale.abs(),
            (None, None) => 4096.0,
        };
        let family = Firmware::for_profile(&profile).family();
        let sign_bits = profile
            .registers
            .iter()
            .filter_map(|r| family.sign_bit(&entries, r).map(|bit| (r.address, bit)))
            .collect();
        let state = DriveState {
            position_offset: 0.0,
            motor: Motor::new(MotorParams::from_spec(&spec)),
            supply_voltage: spec.supply_voltage,
            spec,
            entries,
            profile,
            table,
            velocity_integral: 0.0,
            fallback_id: id,
            time: 0.0,
            heard_at: 0.0,
            watchdog_hold: None,
            alarms: 0,
            overload_for: 0.0,
            overload_latched: false,
            saturated: false,
            registered: None,
            encoder_counts,
            sign_bits,
            rng: fastrand::Rng::with_seed(seed),
        };
        let mut drive = SimDrive { family, state };
        if let Some(reg) = drive.state.entries.id.clone() {
            drive.state.put(&reg, i64::from(id));
        }
        drive.family.restart(&mut drive.state);
        drive.state.publish_measurements();
        drive.family.publish_status(&mut drive.state);
        drive
    }

    /// The drive's bus ID (its ID entry: a write to it takes effect at once).
    pub fn id(&self) -> u8 {
        self.state
            .entries
            .id
            .as_ref()
            .and_then(|r| u8::try_from(self.state.get(r)).ok())
            .unwrap_or(self.state.fallback_id)
    }

    /// The drive's profile.
    pub fn profile(&self) -> &Profile {
        &self.state.profile
    }

    /// The firmware family whose rules this drive follows.
    pub fn firmware(&self) -> Firmware {
        self.family.firmware()
    }

    /// The motor's true state (not quantised): for tests and the physics view.
    pub fn motor(&self) -> &Motor {
        &self.state.motor
    }

    /// Reads `len` bytes of the table from `address` (byte-addressed tables only).
    pub fn read(&self, address: u16, len: u16) -> Result<&[u8], TableError> {
        if matches!(self.state.table, Table::Registers { .. }) {
            return Err(TableError::Access(
                "a Modbus drive's table is read by register, not by byte".into(),
            ));
        }
        self.state.table.bytes(address, len).ok_or_else(|| {
            TableError::Access(format!(
                "read of {len} bytes at {address} is outside the {}-byte control table",
                self.state.table.len()
            ))
        })
    }

    /// Writes `data` at `address`, entry by entry, as the firmware would: all or nothing
    /// (byte-addressed tables only).
    pub fn write(&mut self, address: u16, data: &[u8]) -> Result<(), TableError> {
        let updates = self.plan(address, data)?;
        self.apply(updates);
        Ok(())
    }

    /// Modbus: `count` registers of the `space` table from `address`. Every register must
    /// belong to an entry of that table and no entry may be read in part, else
    /// [`TableError::Access`] (the Modbus Illegal Data Address).
    pub fn read_registers(
        &self,
        space: AddressSpace,
        address: u16,
        count: u16,
    ) -> Result<Vec<u16>, TableError> {
        self.cover(space, address, usize::from(count))?;
        self.state
            .table
            .words(space, address, usize::from(count))
            .map(<[u16]>::to_vec)
            .ok_or_else(|| TableError::Access(format!("registers {address}+{count} are unmapped")))
    }

    /// Modbus: writes holding registers from `address`, entry by entry, all or nothing;
    /// refused like [`SimDrive::write`], and with [`TableError::Access`] when a register is
    /// not part of an entry or an entry would be written in part.
    pub fn write_registers(&mut self, address: u16, values: &[u16]) -> Result<(), TableError> {
        let entries = self.cover(AddressSpace::Holding, address, values.len())?;
        let mut updates = Vec::with_capacity(entries.len());
        for register in entries {
            let offset = usize::from(register.address) - usize::from(address);
            let raw = register
                .decode_words(&values[offset..offset + register.span()])
                .ok_or_else(|| TableError::Access(format!("short data for {}", register.name)))?;
            self.check_write(&register, raw)?;
            updates.push((register, raw));
        }
        self.apply(updates);
        Ok(())
    }

    /// The entries of `space` that exactly cover `count` registers from `address`.
    fn cover(
        &self,
        space: AddressSpace,
        address: u16,
        count: usize,
    ) -> Result<Vec<Register>, TableError> {
        if matches!(self.state.table, Table::Bytes(_)) || space == AddressSpace::Bytes {
            return Err(TableError::Access(
                "this drive's table is addressed by byte, not by register".into(),
            ));
        }
        let (start, end) = (usize::from(address), usize::from(address) + count);
        let mut entries = Vec::new();
        let mut at = start;
        while at < end {
            let register = self
                .state
                .profile
                .registers
                .iter()
                .find(|r| r.space == space && usize::from(r.address) <= at && at < r.end())
                .ok_or_else(|| TableError::Access(format!("register {at:#06x} is not mapped")))?;
            if usize::from(register.address) < start || register.end() > end {
                return Err(TableError::Access(format!(
                    "registers {start:#06x}..{end:#06x} cover only part of {}",
                    register.name
                )));
            }
            at = register.end();
            entries.push(register.clone());
        }
        Ok(entries)
    }

    /// Validates a write without applying it: the entries and raw values it would set.
    fn plan(&self, address: u16, data: &[u8]) -> Result<Vec<(Register, i64)>, TableError> {
        let start = usize::from(address);
        let end = start + data.len();
        if matches!(self.state.table, Table::Registers { .. }) {
            return Err(TableError::Access(
                "a Modbus drive's table is written by register, not by byte".into(),
            ));
        }
        if end > self.state.table.len() {
            return Err(TableError::Access(format!(
                "write of {} bytes at {address} is outside the control table",
                data.len()
            )));
        }
        let mut updates = Vec::new();
        let mut offset = start;
        while offset < end {
            let register = self
                .state
                .profile
                .registers
                .iter()
                .find(|r| usize::from(r.address) == offset)
                .ok_or_else(|| {
                    TableError::Access(format!("address {offset} is not the start of an entry"))
                })?;
            let size = register.size();
            if offset + size > end {
                return Err(TableError::Access(format!(
                    "write covers only part of {}",
                    register.name
                )));
            }
            let raw = register
                .decode(&data[offset - start..offset - start + size])
                .ok_or_else(|| TableError::Access(format!("short data for {}", register.name)))?;
            self.check_write(register, raw)?;
            updates.push((register.clone(), raw));
            offset += size;
        }
        Ok(updates)
    }

    /// The rules for writing `raw` to `register`, whatever the addressing: the table's
    /// own (access, range), the family's, and the tripped watchdog's lock on the goals.
    fn check_write(&self, register: &Register, raw: i64) -> Result<(), TableError> {
        if register.access == Access::R || register.space == AddressSpace::Input {
            return Err(TableError::ReadOnly(format!(
                "{} is read-only",
                register.name
            )));
        }
        self.family.check_access(&self.state, register, raw)?;
        register.check(raw).map_err(TableError::Range)?;
        self.family.check_value(&self.state, register, raw)?;
        let e = &self.state.entries;
        let goal = is(&e.goal_position, register) || is(&e.goal_velocity, register);
        if goal && self.state.watchdog_hold.is_some() {
            return Err(TableError::Range(format!(
                "{} is locked: the Bus Watchdog tripped (write it 0 to clear)",
                register.name
            )));
        }
        Ok(())
    }

    fn apply(&mut self, updates: Vec<(Register, i64)>) {
        for (register, raw) in updates {
            self.state.put(&register, raw);
            self.family.written(&mut self.state, &register, raw);
            if is(&self.state.entries.bus_watchdog, &register) && raw == 0 {
                self.state.watchdog_hold = None;
            }
        }
        self.family.refresh_alarms(&mut self.state);
        self.family.publish_status(&mut self.state);
    }

    /// Registers a write for the next Action (Reg Write): validated now, applied then.
    pub fn reg_write(&mut self, address: u16, data: &[u8]) -> Result<(), TableError> {
        self.plan(address, data)?;
        self.state.registered = Some((address, data.to_vec()));
        self.publish_registered();
        Ok(())
    }

    /// Carries out the registered write (Action); `None` if nothing was registered.
    pub fn action(&mut self) -> Option<Result<(), TableError>> {
        let (address, data) = self.state.registered.take()?;
        self.publish_registered();
        Some(self.write(address, &data))
    }

    /// Whether a Reg Write waits for Action.
    pub fn has_registered(&self) -> bool {
        self.state.registered.is_some()
    }

    fn publish_registered(&mut self) {
        if let Some(reg) = self.state.entries.registered.clone() {
            let registered = self.state.registered.is_some();
            self.state.put(&reg, i64::from(registered));
        }
    }

    /// Factory reset: every entry back to its default, torque off, alarms cleared; the ID
    /// (and the baud rate) only unless kept.
    pub fn factory_reset(&mut self, keep_id: bool, keep_baud: bool) {
        let id = self.id();
        for register in self.state.profile.registers.clone() {
            let is_id = is(&self.state.entries.id, &register);
            if (is_id && keep_id) || (register.name == "Baud Rate" && keep_baud) {
                continue;
            }
            self.state.put(&register, register.default);
        }
        if keep_id && let Some(reg) = self.state.entries.id.clone() {
            self.state.put(&reg, i64::from(id));
        }
        self.restart();
    }

    /// Reboot: the RAM area back to its defaults, latched errors cleared, loops reset; the
    /// EEPROM area and the shaft keep their state.
    pub fn reboot(&mut self) {
        for register in self.state.profile.registers.clone() {
            if !register.persistent {
                self.state.put(&register, register.default);
            }
        }
        self.restart();
    }

    fn restart(&mut self) {
        self.family.restart(&mut self.state);
        let state = &mut self.state;
        state.velocity_integral = 0.0;
        state.watchdog_hold = None;
        state.registered = None;
        state.alarms = 0;
        state.overload_for = 0.0;
        state.overload_latched = false;
        state.heard_at = state.time;
        self.family.refresh_alarms(&mut self.state);
        self.state.publish_measurements();
        self.family.publish_status(&mut self.state);
    }

    /// The raw value of a role's entry (0 when the profile lacks the role).
    pub fn raw(&self, role: Role) -> i64 {
        self.state
            .profile
            .role(role)
            .map(|r| self.state.get(r))
            .unwrap_or(0)
    }

    /// The raw value of the entry named `name`, if the profile has it.
    pub fn raw_named(&self, name: &str) -> Option<i64> {
        self.state.profile.register(name).map(|r| self.state.get(r))
    }

    /// An instruction reached this drive (resets the Bus Watchdog's timer).
    pub fn heard(&mut self) {
        self.state.heard_at = self.state.time;
    }

    /// Whether the Bus Watchdog has tripped.
    pub fn watchdog_tripped(&self) -> bool {
        self.state.watchdog_hold.is_some()
    }

    /// The power stage drives the motor: Torque Enable is set, or a CiA 402 drive is in
    /// Operation Enabled, Quick Stop Active or Fault Reaction Active.
    pub fn torque_enabled(&self) -> bool {
        self.family.torque_enabled(&self.state)
    }

    /// Status Return Level (DYNAMIXEL) / Response Status Level (Feetech); `None` if the
    /// profile has no such entry.
    pub fn status_return_level(&self) -> Option<u8> {
        self.state
            .entries
            .status_return_level
            .as_ref()
            .and_then(|r| u8::try_from(self.state.get(r)).ok())
    }

    /// How long the drive waits before it answers (Return Delay Time).
    pub fn return_delay(&self) -> std::time::Duration {
        let seconds = self
            .state
            .entry_si(&self.state.entries.return_delay)
            .unwrap_or(0.0);
        std::time::Duration::from_secs_f64(seconds.max(0.0))
    }

    /// The firmware version byte a Ping answer carries (DYNAMIXEL 2.0).
    pub fn firmware_version(&self) -> u8 {
        self.state
            .entries
            .firmware_version
            .as_ref()
            .and_then(|r| u8::try_from(self.state.get(r)).ok())
            .unwrap_or(0)
    }

    /// Alarm bits ([`alarm`]) in force: on DYNAMIXEL X the latched Hardware Error Status,
    /// elsewhere the live conditions (what a DYNAMIXEL 1.0 status packet's error byte and a
    /// Feetech Status entry show).
    pub fn alarms(&self) -> u8 {
        self.state.alarms
    }

    /// DYNAMIXEL 2.0: the alert flag (bit 7 of every status packet's error byte) is up.
    pub fn alert(&self) -> bool {
        self.family.alert(&self.state)
    }

    /// The CiA 402 state, for a CiA 402 drive.
    pub fn cia402_state(&self) -> Option<State> {
        self.family.cia402_state()
    }

    /// Fault injection: the voltage at the drive's supply input.
    pub fn set_supply_voltage(&mut self, volts: f64) {
        self.state.supply_voltage = volts.max(0.0);
        self.state.motor.params.supply_voltage = self.state.supply_voltage;
        self.family.refresh_alarms(&mut self.state);
        self.state.publish_measurements();
    }

    /// Couples a load of `inertia` kg·m² to the output (replacing any previous one).
    pub fn set_load_inertia(&mut self, inertia: f64) {
        self.state.motor.params.load_inertia = inertia.max(0.0);
    }

    /// Couples a resonant second mass to the output (a compliant coupling or flexible
    /// load), or removes it with `None`; it starts at rest against the shaft.
    pub fn set_load_resonance(&mut self, resonance: Option<Resonance>) {
        self.state.motor.set_resonance(resonance);
    }

    /// Advances the drive and its motor by `dt` seconds: the watchdog, the family's loops
    /// (or a coasting shaft with torque off), protections, measurements and status.
    pub fn step(&mut self, dt: f64) {
        self.state.time += dt;
        self.family.tick(&mut self.state, dt);
        let powered = self.family.torque_enabled(&self.state);
        self.state.check_watchdog(powered);
        if self.family.torque_enabled(&self.state) {
            self.family.control(&mut self.state, dt);
        } else {
            self.state.motor.step(dt, None);
            self.state.saturated = false;
        }
        let overload = self.family.overload(&self.state);
        self.state.track_overload(overload, dt);
        self.family.refresh_alarms(&mut self.state);
        self.family.settle(&mut self.state);
        self.state.publish_measurements();
        self.family.publish_status(&mut self.state);
    }
}

#[cfg(test)]
mod tests;
