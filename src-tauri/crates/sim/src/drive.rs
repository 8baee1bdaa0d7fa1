//! A simulated servo drive: the profile's control table in memory, the drive's own
//! cascaded loops, its protections, and the motor they drive.
//!
//! The loops run the way a bus servo's firmware does, on every physics step:
//! position P → velocity set point (clamped to the velocity limit) → velocity PI →
//! current set point (clamped to the current limit) → the current loop, which applies the
//! voltage that reaches the set point within the step as far as the supply allows (the
//! winding's L/R is modelled in [`crate::motor`]). In velocity mode the position loop is
//! skipped. With torque off the bridge is open and the shaft coasts.
//!
//! Measurements are written back into the table the way the sensors deliver them:
//! positions quantised to the encoder's counts per revolution (the profile's
//! `encoder_resolution`, or the position register's resolution), with seeded Gaussian
//! measurement noise where the profile gives some, clamped to the register's range, and
//! sign-magnitude where the device encodes them so (Feetech, and DYNAMIXEL 1.0 speed and
//! load with bit 10).
//!
//! Each drive follows its family's firmware rules ([`Firmware`], from the profile's
//! protocol):
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

pub mod cia402;
mod firmware;
pub mod table;

use crate::motor::{Motor, MotorParams};
use cia402::Mode;
use drivedeck_proto::cia402::State;
use drivedeck_proto::profile::{Access, AddressSpace, MotorSpec, Profile, Register, Role};
pub use firmware::Firmware;
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

/// Gains of the drive's loops in SI, derived from the table's gain entries.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Gains {
    /// rad/s of velocity set point per rad of position error.
    position_p: f64,
    /// A of current set point per rad/s of velocity error.
    velocity_p: f64,
    /// A per (rad/s · s) of integrated velocity error.
    velocity_i: f64,
}

/// The entries the firmware uses, looked up once (by role, else by the names the vendors'
/// tables give them).
#[derive(Clone, Debug, Default)]
struct Entries {
    id: Option<Register>,
    torque_enable: Option<Register>,
    operating_mode: Option<Register>,
    goal_position: Option<Register>,
    goal_velocity: Option<Register>,
    present_position: Option<Register>,
    present_velocity: Option<Register>,
    present_current: Option<Register>,
    present_temperature: Option<Register>,
    hardware_error: Option<Register>,
    velocity_limit: Option<Register>,
    current_limit: Option<Register>,
    return_delay: Option<Register>,
    bus_watchdog: Option<Register>,
    status_return_level: Option<Register>,
    registered: Option<Register>,
    moving: Option<Register>,
    moving_threshold: Option<Register>,
    present_voltage: Option<Register>,
    present_output: Option<Register>,
    min_voltage: Option<Register>,
    max_voltage: Option<Register>,
    temperature_limit: Option<Register>,
    shutdown: Option<Register>,
    torque_limit: Option<Register>,
    cw_angle_limit: Option<Register>,
    ccw_angle_limit: Option<Register>,
    lock: Option<Register>,
    overload_torque: Option<Register>,
    protection_time: Option<Register>,
    position_p: Option<Register>,
    velocity_p: Option<Register>,
    velocity_i: Option<Register>,
    firmware_version: Option<Register>,
    status_word: Option<Register>,
    modes_display: Option<Register>,
    error_code: Option<Register>,
    profile_velocity: Option<Register>,
    profile_acceleration: Option<Register>,
    profile_deceleration: Option<Register>,
    quick_stop_deceleration: Option<Register>,
    quick_stop_option: Option<Register>,
}

impl Entries {
    fn resolve(profile: &Profile) -> Entries {
        let role = |role: Role| profile.role(role).cloned();
        let named = |names: &[&str]| names.iter().find_map(|n| profile.register(n).cloned());
        Entries {
            id: named(&["ID"]),
            torque_enable: role(Role::TorqueEnable),
            operating_mode: role(Role::OperatingMode),
            goal_position: role(Role::GoalPosition),
            goal_velocity: role(Role::GoalVelocity),
            present_position: role(Role::PresentPosition),
            present_velocity: role(Role::PresentVelocity),
            present_current: role(Role::PresentCurrent),
            present_temperature: role(Role::PresentTemperature),
            hardware_error: role(Role::HardwareError),
            velocity_limit: role(Role::VelocityLimit),
            current_limit: role(Role::CurrentLimit),
            return_delay: role(Role::ReturnDelay),
            bus_watchdog: role(Role::BusWatchdog),
            status_return_level: named(&["Status Return Level", "Response Status Level"]),
            registered: named(&["Registered Instruction", "Registered", "Async Write Flag"]),
            moving: named(&["Moving"]),
            moving_threshold: named(&["Moving Threshold"]),
            present_voltage: named(&["Present Input Voltage", "Present Voltage"]),
            present_output: named(&["Present PWM", "Present Load"]),
            min_voltage: named(&["Min Voltage Limit", "Min Input Voltage"]),
            max_voltage: named(&["Max Voltage Limit", "Max Input Voltage"]),
            temperature_limit: named(&["Temperature Limit", "Max Temperature Limit"]),
            shutdown: named(&["Shutdown", "Unloading Condition"]),
            torque_limit: named(&["Torque Limit"]),
            cw_angle_limit: named(&["CW Angle Limit"]),
            ccw_angle_limit: named(&["CCW Angle Limit"]),
            lock: named(&["Lock"]),
            overload_torque: named(&["Overload Torque"]),
            protection_time: named(&["Protection Time"]),
            position_p: named(&["Position P Gain"]),
            velocity_p: named(&["Velocity P Gain"]),
            velocity_i: named(&["Velocity I Gain"]),
            firmware_version: named(&["Firmware Version", "Firmware Major Version"]),
            status_word: role(Role::StatusWord),
            modes_display: named(&["Modes of Operation Display"]),
            error_code: named(&["Error Code"]),
            profile_velocity: named(&["Profile Velocity"]),
            profile_acceleration: named(&["Profile Acceleration"]),
            profile_deceleration: named(&["Profile Deceleration"]),
            quick_stop_deceleration: named(&["Quick Stop Deceleration"]),
            quick_stop_option: named(&["Quick Stop Option Code"]),
        }
    }
}

fn get(table: &Table, register: &Register) -> i64 {
    table.get(register)
}

fn put(table: &mut Table, register: &Register, raw: i64) {
    table.put(register, raw);
}

/// A sign-magnitude raw value (sign at `bit`) as a signed number.
fn from_sign_magnitude(raw: i64, bit: u8) -> i64 {
    let sign = 1i64 << bit;
    if raw & sign != 0 {
        -(raw & (sign - 1))
    } else {
        raw
    }
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

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

/// One simulated drive on a bus.
#[derive(Clone, Debug)]
pub struct SimDrive {
    profile: Profile,
    firmware: Firmware,
    /// Shared, so the per-step code can hold it while it changes the table.
    entries: Arc<Entries>,
    spec: MotorSpec,
    table: Table,
    motor: Motor,
    velocity_integral: f64,
    fallback_id: u8,
    /// The drive's own clock, s.
    time: f64,
    /// When an instruction last reached this drive, on its clock.
    heard_at: f64,
    /// The watchdog tripped: hold here (position mode) or stand still (velocity mode).
    watchdog_hold: Option<f64>,
    /// Voltage at the drive's supply input, V.
    supply_voltage: f64,
    /// Alarm bits ([`alarm`]) as the firmware reports them.
    alarms: u8,
    /// How long the output has been saturated (or, on Feetech, above Overload Torque), s.
    overload_for: f64,
    /// An overload tripped and has not been acknowledged (torque written on again).
    overload_latched: bool,
    /// The current loop could not deliver its set point in the last step.
    saturated: bool,
    /// A Reg Write waiting for Action: address and data.
    registered: Option<(u16, Vec<u8>)>,
    /// Encoder counts per output revolution.
    encoder_counts: f64,
    /// Shaft angle at which the reported position is 0 (moved by CiA 402 homing), rad.
    position_offset: f64,
    /// The CiA 402 state machine, for [`Firmware::Cia402`] drives.
    cia402: Option<Cia402>,
    rng: fastrand::Rng,
}

/// A CiA 402 drive's state beyond its table.
#[derive(Clone, Debug, PartialEq)]
struct Cia402 {
    state: State,
    /// The last controlword written (for bit 4's and bit 7's edges).
    controlword: u16,
    /// 603Fh: what caused the fault, 0 when none.
    error_code: u16,
    /// Profile position: the set point being approached, in the reported frame, rad.
    position_set: f64,
    /// Profile position: a new set point was taken and bit 4 is still high.
    set_point_acknowledged: bool,
    /// Homing: the present position was made home.
    homing_attained: bool,
    /// The ramped velocity set point, rad/s.
    ramp: f64,
}

impl Cia402 {
    fn new() -> Cia402 {
        Cia402 {
            state: State::SwitchOnDisabled,
            controlword: 0,
            error_code: 0,
            position_set: 0.0,
            set_point_acknowledged: false,
            homing_attained: false,
            ramp: 0.0,
        }
    }
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
            put(&mut table, register, register.default);
        }
        let spec = profile.motor.unwrap_or(FALLBACK_MOTOR);
        let entries = Arc::new(Entries::resolve(&profile));
        let encoder_counts = match (spec.encoder_resolution, &entries.present_position) {
            (Some(counts), _) => f64::from(counts),
            (None, Some(position)) => TAU / position.scale.abs(),
            (None, None) => 4096.0,
        };
        let firmware = Firmware::for_profile(&profile);
        let mut drive = SimDrive {
            firmware,
            position_offset: 0.0,
            cia402: (firmware == Firmware::Cia402).then(Cia402::new),
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
            rng: fastrand::Rng::with_seed(seed),
        };
        if let Some(reg) = drive.entries.id.clone() {
            put(&mut drive.table, &reg, i64::from(id));
        }
        drive.publish_measurements();
        drive.publish_status();
        drive
    }

    /// The drive's bus ID (its ID entry: a write to it takes effect at once).
    pub fn id(&self) -> u8 {
        self.entries
            .id
            .as_ref()
            .and_then(|r| u8::try_from(get(&self.table, r)).ok())
            .unwrap_or(self.fallback_id)
    }

    /// The drive's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The firmware family whose rules this drive follows.
    pub fn firmware(&self) -> Firmware {
        self.firmware
    }

    /// The motor's true state (not quantised): for tests and the physics view.
    pub fn motor(&self) -> &Motor {
        &self.motor
    }

    /// Reads `len` bytes of the table from `address` (byte-addressed tables only).
    pub fn read(&self, address: u16, len: u16) -> Result<&[u8], TableError> {
        if matches!(self.table, Table::Registers { .. }) {
            return Err(TableError::Access(
                "a Modbus drive's table is read by register, not by byte".into(),
            ));
        }
        self.table.bytes(address, len).ok_or_else(|| {
            TableError::Access(format!(
                "read of {len} bytes at {address} is outside the {}-byte control table",
                self.table.len()
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
        self.table
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
        if matches!(self.table, Table::Bytes(_)) || space == AddressSpace::Bytes {
            return Err(TableError::Access(
                "this drive's table is addressed by byte, not by register".into(),
            ));
        }
        let (start, end) = (usize::from(address), usize::from(address) + count);
        let mut entries = Vec::new();
        let mut at = start;
        while at < end {
            let register = self
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
        if matches!(self.table, Table::Registers { .. }) {
            return Err(TableError::Access(
                "a Modbus drive's table is written by register, not by byte".into(),
            ));
        }
        if end > self.table.len() {
            return Err(TableError::Access(format!(
                "write of {} bytes at {address} is outside the control table",
                data.len()
            )));
        }
        let mut updates = Vec::new();
        let mut offset = start;
        while offset < end {
            let register = self
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

    /// The firmware's rules for writing `raw` to `register`, whatever the addressing.
    fn check_write(&self, register: &Register, raw: i64) -> Result<(), TableError> {
        if register.access == Access::R || register.space == AddressSpace::Input {
            return Err(TableError::ReadOnly(format!(
                "{} is read-only",
                register.name
            )));
        }
        if self.firmware == Firmware::DynamixelX && register.persistent && self.torque_enabled() {
            return Err(TableError::Access(format!(
                "{} is in EEPROM and cannot change while torque is on",
                register.name
            )));
        }
        // AX/MX Lock: "only addresses 24 to 35 can be written" until power-off.
        let locked = self.firmware == Firmware::Dynamixel1
            && self
                .entries
                .lock
                .as_ref()
                .is_some_and(|r| get(&self.table, r) != 0);
        if locked && !(24..=35).contains(&register.address) {
            return Err(TableError::Access(format!(
                "{} cannot change while Lock is set",
                register.name
            )));
        }
        self.check_range(register, raw)?;
        let goal = [&self.entries.goal_position, &self.entries.goal_velocity]
            .iter()
            .any(|r| r.as_ref().is_some_and(|r| r.address == register.address));
        if goal && self.watchdog_hold.is_some() {
            return Err(TableError::Range(format!(
                "{} is locked: the Bus Watchdog tripped (write it 0 to clear)",
                register.name
            )));
        }
        Ok(())
    }

    fn apply(&mut self, updates: Vec<(Register, i64)>) {
        let is = |entry: &Option<Register>, register: &Register| {
            entry
                .as_ref()
                .is_some_and(|r| r.address == register.address && r.space == register.space)
        };
        for (register, raw) in updates {
            put(&mut self.table, &register, raw);
            if self.cia402.is_some() {
                // The controlword steps the state machine rather than being a flag.
                if is(&self.entries.torque_enable, &register) {
                    self.controlword_written(raw as u16);
                } else if is(&self.entries.operating_mode, &register) {
                    self.mode_written();
                }
            } else if is(&self.entries.torque_enable, &register) {
                if raw == 0 {
                    self.velocity_integral = 0.0;
                } else {
                    // Writing torque on acknowledges a (DYNAMIXEL 1.0) overload shutdown.
                    self.overload_latched = false;
                    self.overload_for = 0.0;
                }
            }
            if is(&self.entries.bus_watchdog, &register) && raw == 0 {
                self.watchdog_hold = None;
            }
        }
        self.refresh_alarms();
        self.publish_status();
    }

    fn check_range(&self, register: &Register, raw: i64) -> Result<(), TableError> {
        register.check(raw).map_err(TableError::Range)?;
        let is = |entry: &Option<Register>| {
            entry
                .as_ref()
                .is_some_and(|r| r.address == register.address && r.space == register.space)
        };
        // CiA 402: only the modes the simulator runs may be selected.
        if self.firmware == Firmware::Cia402
            && is(&self.entries.operating_mode)
            && Mode::from_raw(raw).is_none()
        {
            return Err(TableError::Range(format!(
                "{} {raw} is not a mode this drive runs (1 profile position, 3 profile \
                 velocity, 6 homing)",
                register.name
            )));
        }
        // X series: Goal Velocity is bounded by the Velocity Limit entry.
        if self.firmware == Firmware::DynamixelX
            && is(&self.entries.goal_velocity)
            && let Some(limit) = &self.entries.velocity_limit
        {
            let limit = get(&self.table, limit);
            if raw.abs() > limit {
                return Err(TableError::Range(format!(
                    "{} {raw} is beyond the Velocity Limit ±{limit}",
                    register.name
                )));
            }
        }
        // DYNAMIXEL 1.0: CW Angle Limit ≤ Goal Position ≤ CCW Angle Limit in joint mode.
        if self.firmware == Firmware::Dynamixel1
            && is(&self.entries.goal_position)
            && !self.wheel_mode()
            && let (Some(cw), Some(ccw)) =
                (&self.entries.cw_angle_limit, &self.entries.ccw_angle_limit)
        {
            let (cw, ccw) = (get(&self.table, cw), get(&self.table, ccw));
            if raw < cw || raw > ccw {
                return Err(TableError::AngleLimit(format!(
                    "{} {raw} is outside the angle limits {cw}..={ccw}",
                    register.name
                )));
            }
        }
        Ok(())
    }

    /// Registers a write for the next Action (Reg Write): validated now, applied then.
    pub fn reg_write(&mut self, address: u16, data: &[u8]) -> Result<(), TableError> {
        self.plan(address, data)?;
        self.registered = Some((address, data.to_vec()));
        self.publish_registered();
        Ok(())
    }

    /// Carries out the registered write (Action); `None` if nothing was registered.
    pub fn action(&mut self) -> Option<Result<(), TableError>> {
        let (address, data) = self.registered.take()?;
        self.publish_registered();
        Some(self.write(address, &data))
    }

    /// Whether a Reg Write waits for Action.
    pub fn has_registered(&self) -> bool {
        self.registered.is_some()
    }

    fn publish_registered(&mut self) {
        if let Some(reg) = &self.entries.registered {
            put(&mut self.table, reg, i64::from(self.registered.is_some()));
        }
    }

    /// Factory reset: every entry back to its default, torque off, alarms cleared; the ID
    /// (and the baud rate) only unless kept.
    pub fn factory_reset(&mut self, keep_id: bool, keep_baud: bool) {
        let id = self.id();
        for register in self.profile.registers.clone() {
            let is_id = self
                .entries
                .id
                .as_ref()
                .is_some_and(|r| r.address == register.address);
            if (is_id && keep_id) || (register.name == "Baud Rate" && keep_baud) {
                continue;
            }
            put(&mut self.table, &register, register.default);
        }
        if keep_id && let Some(reg) = self.entries.id.clone() {
            put(&mut self.table, &reg, i64::from(id));
        }
        self.restart();
    }

    /// Reboot: the RAM area back to its defaults, latched errors cleared, loops reset; the
    /// EEPROM area and the shaft keep their state.
    pub fn reboot(&mut self) {
        for register in self.profile.registers.clone() {
            if !register.persistent {
                put(&mut self.table, &register, register.default);
            }
        }
        self.restart();
    }

    fn restart(&mut self) {
        if self.cia402.is_some() {
            self.cia402 = Some(Cia402::new());
        }
        self.velocity_integral = 0.0;
        self.watchdog_hold = None;
        self.registered = None;
        self.alarms = 0;
        self.overload_for = 0.0;
        self.overload_latched = false;
        self.heard_at = self.time;
        self.refresh_alarms();
        self.publish_measurements();
        self.publish_status();
    }

    /// The raw value of a role's entry (0 when the profile lacks the role).
    pub fn raw(&self, role: Role) -> i64 {
        self.profile
            .role(role)
            .map(|r| get(&self.table, r))
            .unwrap_or(0)
    }

    /// The raw value of the entry named `name`, if the profile has it.
    pub fn raw_named(&self, name: &str) -> Option<i64> {
        self.profile.register(name).map(|r| get(&self.table, r))
    }

    fn entry_si(&self, entry: &Option<Register>) -> Option<f64> {
        entry.as_ref().map(|r| r.to_si(get(&self.table, r)))
    }

    /// An instruction reached this drive (resets the Bus Watchdog's timer).
    pub fn heard(&mut self) {
        self.heard_at = self.time;
    }

    /// Whether the Bus Watchdog has tripped.
    pub fn watchdog_tripped(&self) -> bool {
        self.watchdog_hold.is_some()
    }

    /// The power stage drives the motor: Torque Enable is set, or a CiA 402 drive is in
    /// Operation Enabled, Quick Stop Active or Fault Reaction Active.
    pub fn torque_enabled(&self) -> bool {
        if let Some(cia) = &self.cia402 {
            return cia.state.is_powered();
        }
        self.entries
            .torque_enable
            .as_ref()
            .is_some_and(|r| get(&self.table, r) != 0)
    }

    /// Status Return Level (DYNAMIXEL) / Response Status Level (Feetech); `None` if the
    /// profile has no such entry.
    pub fn status_return_level(&self) -> Option<u8> {
        self.entries
            .status_return_level
            .as_ref()
            .and_then(|r| u8::try_from(get(&self.table, r)).ok())
    }

    /// How long the drive waits before it answers (Return Delay Time).
    pub fn return_delay(&self) -> std::time::Duration {
        let seconds = self.entry_si(&self.entries.return_delay).unwrap_or(0.0);
        std::time::Duration::from_secs_f64(seconds.max(0.0))
    }

    /// The firmware version byte a Ping answer carries (DYNAMIXEL 2.0).
    pub fn firmware_version(&self) -> u8 {
        self.entries
            .firmware_version
            .as_ref()
            .and_then(|r| u8::try_from(get(&self.table, r)).ok())
            .unwrap_or(0)
    }

    /// Alarm bits ([`alarm`]) in force: on DYNAMIXEL X the latched Hardware Error Status,
    /// elsewhere the live conditions (what a DYNAMIXEL 1.0 status packet's error byte and a
    /// Feetech Status entry show).
    pub fn alarms(&self) -> u8 {
        self.alarms
    }

    /// DYNAMIXEL 2.0: the alert flag (bit 7 of every status packet's error byte) is up.
    pub fn alert(&self) -> bool {
        self.firmware == Firmware::DynamixelX && self.alarms != 0
    }

    /// The CiA 402 state, for a CiA 402 drive.
    pub fn cia402_state(&self) -> Option<State> {
        self.cia402.as_ref().map(|c| c.state)
    }

    /// Fault injection: the voltage at the drive's supply input.
    pub fn set_supply_voltage(&mut self, volts: f64) {
        self.supply_voltage = volts.max(0.0);
        self.motor.params.supply_voltage = self.supply_voltage;
        self.refresh_alarms();
        self.publish_measurements();
    }

    /// Couples a load of `inertia` kg·m² to the output (replacing any previous one).
    pub fn set_load_inertia(&mut self, inertia: f64) {
        self.motor.params.load_inertia = inertia.max(0.0);
    }

    fn check_watchdog(&mut self) {
        let Some(reg) = &self.entries.bus_watchdog else {
            return;
        };
        let armed = get(&self.table, reg);
        if armed <= 0 || !self.torque_enabled() || self.watchdog_hold.is_some() {
            return;
        }
        if self.time - self.heard_at > armed as f64 * 0.02 {
            self.watchdog_hold = Some(self.motor.position);
            self.velocity_integral = 0.0;
            let reg = reg.clone();
            put(&mut self.table, &reg, -1);
        }
    }

    fn gains(&self) -> Gains {
        let entry = |register: &Option<Register>, default: f64| {
            register
                .as_ref()
                .map(|r| get(&self.table, r) as f64)
                .unwrap_or(default)
        };
        // The DYNAMIXEL X firmware divides its gain entries by 128 (P) and 65536 (I); the
        // factors after that turn them into this model's SI loop gains. Drives without
        // these entries run the X defaults.
        Gains {
            position_p: entry(&self.entries.position_p, 800.0) / 128.0,
            velocity_p: entry(&self.entries.velocity_p, 100.0) / 128.0 * 0.5,
            velocity_i: entry(&self.entries.velocity_i, 1920.0) / 65536.0 * 200.0,
        }
    }

    /// DYNAMIXEL 1.0 wheel mode: both angle limits 0.
    fn wheel_mode(&self) -> bool {
        match (&self.entries.cw_angle_limit, &self.entries.ccw_angle_limit) {
            (Some(cw), Some(ccw)) => get(&self.table, cw) == 0 && get(&self.table, ccw) == 0,
            _ => false,
        }
    }

    fn velocity_mode(&self) -> bool {
        match self.firmware {
            Firmware::Dynamixel1 => self.wheel_mode(),
            _ => self
                .entries
                .operating_mode
                .as_ref()
                .is_some_and(|r| get(&self.table, r) == self.profile.modes.velocity),
        }
    }

    /// The sign-magnitude bit of a goal/present entry, where the family uses one.
    fn sign_bit(&self, entry: Option<&Register>) -> Option<u8> {
        let same = |a: Option<&Register>, b: &Option<Register>| matches!((a, b), (Some(a), Some(b)) if a.address == b.address);
        let e = &self.entries;
        match self.firmware {
            Firmware::Feetech => {
                if same(entry, &e.present_output) {
                    Some(10)
                } else if [
                    &e.goal_position,
                    &e.goal_velocity,
                    &e.present_position,
                    &e.present_velocity,
                    &e.present_current,
                ]
                .iter()
                .any(|r| same(entry, r))
                {
                    Some(15)
                } else {
                    None
                }
            }
            Firmware::Dynamixel1 => [&e.goal_velocity, &e.present_velocity, &e.present_output]
                .iter()
                .any(|r| same(entry, r))
                .then_some(10),
            Firmware::DynamixelX | Firmware::Cia402 | Firmware::Generic => None,
        }
    }

    /// A goal entry's value in SI, decoding sign-magnitude where the family uses it.
    fn goal_si(&self, entry: &Option<Register>) -> f64 {
        let Some(register) = entry else {
            return 0.0;
        };
        let raw = get(&self.table, register);
        let raw = match self.sign_bit(Some(register)) {
            Some(bit) => from_sign_magnitude(raw, bit),
            None => raw,
        };
        register.to_si(raw)
    }

    /// The speed the position loop may command, rad/s (infinite: the motor's own limit).
    fn velocity_limit(&self) -> f64 {
        let positive = |v: Option<f64>| v.map(f64::abs).filter(|v| *v > 0.0);
        let mut limit = positive(self.entry_si(&self.entries.velocity_limit));
        // AX/MX joint mode (Moving Speed) and Feetech position mode (Goal Speed): the
        // goal-speed entry sets the speed of a move; 0 means as fast as possible.
        if matches!(self.firmware, Firmware::Dynamixel1 | Firmware::Feetech)
            && !self.velocity_mode()
        {
            let move_speed = positive(Some(self.goal_si(&self.entries.goal_velocity)));
            limit = match (limit, move_speed) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        limit.unwrap_or(f64::INFINITY)
    }

    /// The current the loop may command, A.
    fn current_limit(&self) -> f64 {
        let stall = self.spec.stall_current;
        let mut limit = self
            .entry_si(&self.entries.current_limit)
            .map(f64::abs)
            // Modbus drives' limits default to 0 in their profiles: unset, not zero.
            .filter(|l| *l > 0.0 || !matches!(self.firmware, Firmware::Cia402 | Firmware::Generic))
            .unwrap_or(stall);
        // Torque Limit (AX/MX, Feetech) scales the output, in % of the maximum torque.
        if let Some(percent) = self.entry_si(&self.entries.torque_limit) {
            limit = limit.min(stall * (percent / 100.0).clamp(0.0, 1.0));
        }
        limit
    }

    /// Advances the drive and its motor by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        self.time += dt;
        self.check_watchdog();
        if !self.torque_enabled() {
            self.motor.step(dt, None);
            self.saturated = false;
        } else {
            let gains = self.gains();
            let velocity_limit = self.velocity_limit();
            let current_limit = self.current_limit();
            let velocity_set = if self.cia402.is_some() {
                self.cia402_velocity_set(gains, velocity_limit, dt)
            } else if self.velocity_mode() {
                if self.watchdog_hold.is_some() {
                    0.0
                } else {
                    self.goal_si(&self.entries.goal_velocity)
                }
            } else {
                let goal = self
                    .watchdog_hold
                    .unwrap_or_else(|| self.goal_si(&self.entries.goal_position));
                gains.position_p * (goal - self.motor.position)
            }
            .clamp(-velocity_limit, velocity_limit);
            let error = velocity_set - self.motor.velocity;
            let unclamped =
                gains.velocity_p * error + gains.velocity_i * (self.velocity_integral + error * dt);
            let current_set = unclamped.clamp(-current_limit, current_limit);
            let voltage = self.motor.voltage_for(current_set, dt);
            let supply = self.supply_voltage;
            let voltage_saturated = voltage.abs() > supply;
            let current_saturated = (unclamped - current_set).abs() > f64::EPSILON;
            // Anti-windup: integrate only while the loop can deliver what it asks for.
            if !current_saturated && !voltage_saturated {
                self.velocity_integral += error * dt;
            }
            self.saturated = current_saturated || voltage_saturated;
            self.motor.step(dt, Some(voltage.clamp(-supply, supply)));
        }
        self.track_overload(dt);
        self.refresh_alarms();
        self.cia402_settle();
        self.publish_measurements();
        self.publish_status();
    }

    fn track_overload(&mut self, dt: f64) {
        let (over, time) = match self.firmware {
            // Feetech: load above Overload Torque (%) for Protection Time (× 10 ms).
            Firmware::Feetech => {
                let load = 100.0 * self.motor.voltage.abs() / self.supply_voltage.max(1e-9);
                let threshold = self.entry_si(&self.entries.overload_torque).unwrap_or(80.0);
                let time = self.entry_si(&self.entries.protection_time).unwrap_or(2.0);
                (self.torque_enabled() && load > threshold, time)
            }
            _ => (self.torque_enabled() && self.saturated, OVERLOAD_TIME),
        };
        self.overload_for = if over { self.overload_for + dt } else { 0.0 };
        if over && self.overload_for >= time {
            self.overload_latched = true;
        }
        // Feetech's Status shows the overload while it lasts.
        if self.firmware == Firmware::Feetech && !over {
            self.overload_latched = false;
        }
    }

    /// The winding temperature above which the drive reports overheating, °C.
    fn temperature_limit(&self) -> Option<f64> {
        match self.entry_si(&self.entries.temperature_limit) {
            Some(limit) => (limit > 0.0).then_some(limit),
            None => (self.firmware == Firmware::Cia402).then_some(CIA402_TEMPERATURE_LIMIT),
        }
    }

    /// The alarm conditions in force now (see [`alarm`]).
    fn conditions(&self) -> u8 {
        let mut conditions = 0u8;
        if self
            .temperature_limit()
            .is_some_and(|limit| self.motor.temperature > limit)
        {
            conditions |= alarm::OVERHEATING;
        }
        // A limit of 0 is an unset one (Feetech leaves Max Input Voltage without a value).
        let low = self
            .entry_si(&self.entries.min_voltage)
            .filter(|v| *v > 0.0);
        let high = self
            .entry_si(&self.entries.max_voltage)
            .filter(|v| *v > 0.0);
        if low.is_some_and(|low| self.supply_voltage < low)
            || high.is_some_and(|high| self.supply_voltage > high)
        {
            conditions |= alarm::INPUT_VOLTAGE;
        }
        if self.overload_latched && self.firmware != Firmware::Cia402 {
            conditions |= alarm::OVERLOAD;
        }
        conditions
    }

    /// Recomputes the alarm bits from the conditions and applies the shutdown rules.
    fn refresh_alarms(&mut self) {
        let conditions = self.conditions();
        if self.firmware == Firmware::Cia402 {
            self.cia402_fault(conditions);
            if let Some(reg) = &self.entries.hardware_error {
                put(&mut self.table, reg, i64::from(self.alarms));
            }
            return;
        }
        let shutdown_mask = self
            .entries
            .shutdown
            .as_ref()
            .map(|r| get(&self.table, r) as u8)
            .unwrap_or(0);
        let torque_off = match self.firmware {
            Firmware::DynamixelX => {
                // Latched until reboot; only the alarms selected in Shutdown count.
                self.alarms |= conditions & shutdown_mask;
                self.alarms != 0
            }
            Firmware::Dynamixel1 | Firmware::Feetech | Firmware::Generic | Firmware::Cia402 => {
                self.alarms = conditions;
                conditions & shutdown_mask != 0
            }
        };
        if torque_off && self.torque_enabled() {
            if let Some(reg) = &self.entries.torque_enable {
                put(&mut self.table, reg, 0);
            }
            self.velocity_integral = 0.0;
        }
        if let Some(reg) = &self.entries.hardware_error {
            put(&mut self.table, reg, i64::from(self.alarms));
        }
    }

    /// Writes `si` into `entry` as the sensor reports it: rounded to the entry's unit,
    /// sign-magnitude where the family uses it, else clamped to the entry's range.
    fn publish(&mut self, entry: &Option<Register>, si: f64) {
        let Some(register) = entry else {
            return;
        };
        let raw = (si / register.scale).round();
        let raw = match self.sign_bit(Some(register)) {
            Some(bit) => {
                let max = (1i64 << bit) - 1;
                let magnitude = (raw.abs() as i64).min(max);
                if raw < 0.0 && magnitude > 0 {
                    magnitude | 1 << bit
                } else {
                    magnitude
                }
            }
            None => {
                let limits = register.limits();
                (raw as i64).clamp(*limits.start(), *limits.end())
            }
        };
        put(&mut self.table, register, raw);
    }

    fn publish_measurements(&mut self) {
        let spec = self.spec;
        let noise = |sigma: f64, rng: &mut fastrand::Rng| {
            if sigma > 0.0 {
                sigma * gaussian(rng)
            } else {
                0.0
            }
        };
        // The encoder counts whole steps of its resolution.
        let sensed =
            self.motor.position - self.position_offset + noise(spec.position_noise, &mut self.rng);
        let counts = (sensed * self.encoder_counts / TAU).floor();
        let position = counts * TAU / self.encoder_counts;
        let velocity = self.motor.velocity + noise(spec.velocity_noise, &mut self.rng);
        let current = self.motor.current + noise(spec.current_noise, &mut self.rng);
        let e = Arc::clone(&self.entries);
        self.publish(&e.present_position, position);
        self.publish(&e.present_velocity, velocity);
        self.publish(&e.present_current, current);
        self.publish(&e.present_temperature, self.motor.temperature);
        self.publish(&e.present_voltage, self.supply_voltage);
        // Present PWM (X) and Present Load (AX, Feetech): the bridge's duty cycle in %.
        let duty = 100.0 * self.motor.voltage / self.supply_voltage.max(1e-9);
        self.publish(&e.present_output, duty);
        let threshold = self
            .entry_si(&e.moving_threshold)
            .filter(|t| *t > 0.0)
            .unwrap_or(0.05);
        self.publish(
            &e.moving,
            if self.motor.velocity.abs() > threshold {
                1.0
            } else {
                0.0
            },
        );
    }
}

#[cfg(test)]
mod tests;
