//! Drive profiles: a drive model's control table and conventions, described as TOML data.
//!
//! A profile says which protocol a drive speaks, what its registers are (address, type,
//! access, limits, default, and the factor that turns a raw count into an SI value), which
//! register plays which [`Role`] for DriveDeck, which operating-mode values select position
//! and velocity control, how to stop the drive safely, and optionally a motor model for the
//! simulator. Layout:
//!
//! ```toml
//! [drive]
//! name = "XM430-W350"
//! vendor = "ROBOTIS"
//! protocol = "dynamixel2"          # dynamixel2 | dynamixel1 | feetech | modbus-rtu
//! model_number = 1020
//! enable = "flag"                  # flag (default) | cia402: how torque_enable is driven
//! word_order = "high-first"        # modbus-rtu only: 32-bit values, high-first (default)
//!                                  # or low-first
//!
//! [roles]                          # role = register name; see `Role` for the keys
//! torque_enable = "Torque Enable"
//! goal_position = "Goal Position"
//! # …
//!
//! [modes]                          # raw values of the operating-mode register
//! position = 3
//! velocity = 1
//!
//! [safe_stop]
//! action = "torque-off"            # torque-off | quick-stop | disable-voltage
//!
//! [motor]                          # optional; SI units at the output shaft
//! supply_voltage = 12.0
//! # … stall/no-load figures, inertia, friction; optional: inductance, thermal_resistance,
//! # thermal_capacity, ambient_temperature, load_inertia, encoder_resolution,
//! # position_noise, velocity_noise, current_noise (see `MotorSpec`)
//!
//! [[register]]
//! name = "Goal Position"
//! address = 116
//! type = "i32"                     # u8 | i8 | u16 | i16 | u32 | i32, little-endian
//! access = "rw"                    # r | rw
//! unit = "rad"                     # optional
//! scale = 0.0015339807878856412    # SI per raw count, default 1.0
//! min = 0                          # optional, raw
//! max = 4095                       # optional, raw
//! persistent = false               # EEPROM; default false
//! default = 0                      # initial raw value; default 0
//! description = "…"                # optional
//! table = "holding"                # modbus-rtu only: holding (default) | input
//! word_order = "low-first"         # modbus-rtu only: overrides [drive] word_order
//! ```
//!
//! # Modbus profiles
//!
//! For `protocol = "modbus-rtu"` an address is a 16-bit register number as sent on the wire
//! (0-based) rather than a byte address, and sizes count registers: `u16`/`i16` take one,
//! `u32`/`i32` two, with the word order of `word_order` (bytes within a register are always
//! big-endian, as Modbus sends them); 8-bit types are refused. Holding and input registers
//! are separate address spaces ([`AddressSpace`]); input registers are read-only. Use
//! [`Register::encode_words`] and [`Register::decode_words`] for these registers.
//!
//! # CiA 402 drives
//!
//! With `enable = "cia402"` the drive follows the CiA 402 power state machine
//! ([`crate::cia402`]): the `torque_enable` role names the controlword (enabled by the
//! sequence Shutdown, Switch On, Enable Operation rather than by writing 1), the
//! `status_word` role is required, and the safe stop is a controlword command
//! (`quick-stop` or `disable-voltage`, see [`SafeStop`]).
//!
//! [`Profile::parse`] rejects unknown keys and inconsistent data with the file name, the
//! line of the offending entry and the reason: see [`ProfileError`].

use std::collections::HashMap;
use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The wire protocol a drive speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// ROBOTIS DYNAMIXEL Protocol 2.0 (`"dynamixel2"`).
    Dynamixel2,
    /// ROBOTIS DYNAMIXEL Protocol 1.0 (`"dynamixel1"`).
    Dynamixel1,
    /// Feetech serial bus servo protocol (`"feetech"`).
    Feetech,
    /// Modbus RTU (`"modbus-rtu"`).
    ModbusRtu,
}

/// A register's binary type; all are little-endian on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegType {
    /// Unsigned 8 bit (`"u8"`).
    U8,
    /// Signed 8 bit (`"i8"`).
    I8,
    /// Unsigned 16 bit (`"u16"`).
    U16,
    /// Signed 16 bit (`"i16"`).
    I16,
    /// Unsigned 32 bit (`"u32"`).
    U32,
    /// Signed 32 bit (`"i32"`).
    I32,
}

impl RegType {
    /// Every type, in TOML-name order.
    pub const ALL: [RegType; 6] = [
        RegType::U8,
        RegType::I8,
        RegType::U16,
        RegType::I16,
        RegType::U32,
        RegType::I32,
    ];

    /// Size in bytes.
    pub fn size(self) -> usize {
        match self {
            RegType::U8 | RegType::I8 => 1,
            RegType::U16 | RegType::I16 => 2,
            RegType::U32 | RegType::I32 => 4,
        }
    }

    /// True for the signed types.
    pub fn is_signed(self) -> bool {
        matches!(self, RegType::I8 | RegType::I16 | RegType::I32)
    }

    /// Smallest raw value the type can hold.
    pub fn min(self) -> i64 {
        match self {
            RegType::U8 | RegType::U16 | RegType::U32 => 0,
            RegType::I8 => i8::MIN.into(),
            RegType::I16 => i16::MIN.into(),
            RegType::I32 => i32::MIN.into(),
        }
    }

    /// Largest raw value the type can hold.
    pub fn max(self) -> i64 {
        match self {
            RegType::U8 => u8::MAX.into(),
            RegType::I8 => i8::MAX.into(),
            RegType::U16 => u16::MAX.into(),
            RegType::I16 => i16::MAX.into(),
            RegType::U32 => u32::MAX.into(),
            RegType::I32 => i32::MAX.into(),
        }
    }

    /// The TOML name (`"u8"` …).
    pub fn name(self) -> &'static str {
        match self {
            RegType::U8 => "u8",
            RegType::I8 => "i8",
            RegType::U16 => "u16",
            RegType::I16 => "i16",
            RegType::U32 => "u32",
            RegType::I32 => "i32",
        }
    }

    /// The type with this TOML name.
    pub fn from_name(name: &str) -> Option<RegType> {
        RegType::ALL.into_iter().find(|ty| ty.name() == name)
    }
}

impl fmt::Display for RegType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a register may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Read only (`"r"`).
    R,
    /// Read and write (`"rw"`).
    Rw,
}

impl Access {
    /// True for [`Access::Rw`].
    pub fn is_writable(self) -> bool {
        self == Access::Rw
    }

    /// The TOML name (`"r"` or `"rw"`).
    pub fn name(self) -> &'static str {
        match self {
            Access::R => "r",
            Access::Rw => "rw",
        }
    }

    /// The access with this TOML name.
    pub fn from_name(name: &str) -> Option<Access> {
        [Access::R, Access::Rw]
            .into_iter()
            .find(|access| access.name() == name)
    }
}

/// The address space a register lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressSpace {
    /// A byte-addressed control table (DYNAMIXEL, Feetech): addresses count bytes.
    Bytes,
    /// Modbus holding registers (read with 03, written with 06/16): addresses count
    /// 16-bit registers (`table = "holding"`, the default in Modbus profiles).
    Holding,
    /// Modbus input registers (read-only, read with 04; `table = "input"`).
    Input,
}

impl AddressSpace {
    /// The TOML name (`"bytes"`, `"holding"`, `"input"`).
    pub fn name(self) -> &'static str {
        match self {
            AddressSpace::Bytes => "bytes",
            AddressSpace::Holding => "holding",
            AddressSpace::Input => "input",
        }
    }
}

/// Which register of a 32-bit Modbus value comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WordOrder {
    /// The high 16 bits at the lower address (`"high-first"`; most drives, the default).
    #[default]
    HighFirst,
    /// The low 16 bits at the lower address (`"low-first"`, e.g. Kinco).
    LowFirst,
}

impl WordOrder {
    /// The TOML name.
    pub fn name(self) -> &'static str {
        match self {
            WordOrder::HighFirst => "high-first",
            WordOrder::LowFirst => "low-first",
        }
    }

    /// The order with this TOML name.
    pub fn from_name(name: &str) -> Option<WordOrder> {
        [WordOrder::HighFirst, WordOrder::LowFirst]
            .into_iter()
            .find(|order| order.name() == name)
    }
}

/// How DriveDeck powers the drive through the `torque_enable` role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enable {
    /// Write 1 to enable, 0 to let the motor go limp (`"flag"`, the default).
    #[default]
    Flag,
    /// The register is a CiA 402 controlword; enabling walks the power state machine
    /// (`"cia402"`, see [`crate::cia402`]).
    Cia402,
}

impl Enable {
    /// The TOML name.
    pub fn name(self) -> &'static str {
        match self {
            Enable::Flag => "flag",
            Enable::Cia402 => "cia402",
        }
    }
}

/// One entry of a drive's control table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Register {
    /// Name as in the vendor's manual, unique within the profile.
    pub name: String,
    /// First byte's address.
    pub address: u16,
    /// Binary type (TOML key `type`).
    #[serde(rename = "type")]
    pub ty: RegType,
    /// Unit of the SI value, e.g. `"rad"`, `"A"`.
    pub unit: Option<String>,
    /// SI value per raw count (default 1.0).
    pub scale: f64,
    /// Smallest raw value that may be written.
    pub min: Option<i64>,
    /// Largest raw value that may be written.
    pub max: Option<i64>,
    /// Read only or read/write.
    pub access: Access,
    /// Stored in EEPROM (kept across power cycles; usually writable only with torque off).
    pub persistent: bool,
    /// Initial raw value (default 0).
    pub default: i64,
    /// Free text.
    pub description: Option<String>,
    /// Which address space the register is in (TOML key `table` for Modbus profiles).
    pub space: AddressSpace,
    /// Order of the two registers of a 32-bit value in a Modbus profile (unused otherwise).
    pub word_order: WordOrder,
}

impl Register {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.ty.size()
    }

    /// Size in address units of its [`AddressSpace`]: bytes in a control table, 16-bit
    /// registers for Modbus.
    pub fn span(&self) -> usize {
        match self.space {
            AddressSpace::Bytes => self.size(),
            AddressSpace::Holding | AddressSpace::Input => self.size().div_ceil(2),
        }
    }

    /// One past the last address (in the units of [`Register::span`]).
    pub fn end(&self) -> usize {
        usize::from(self.address) + self.span()
    }

    /// `raw` as the Modbus registers that hold it: one for 16-bit types, two for 32-bit
    /// types in [`Register::word_order`] (two's complement, higher bits dropped: use
    /// [`Register::check`] first). 8-bit types take one register, zero- or sign-extended.
    pub fn encode_words(&self, raw: i64) -> Vec<u16> {
        match self.ty {
            RegType::U8 | RegType::U16 => vec![raw as u16],
            RegType::I8 => vec![raw as i8 as i16 as u16],
            RegType::I16 => vec![raw as i16 as u16],
            RegType::U32 | RegType::I32 => {
                let value = raw as u32;
                let (high, low) = ((value >> 16) as u16, value as u16);
                match self.word_order {
                    WordOrder::HighFirst => vec![high, low],
                    WordOrder::LowFirst => vec![low, high],
                }
            }
        }
    }

    /// The raw value held by the first [`Register::span`] Modbus registers of `words` (see
    /// [`Register::encode_words`]); `None` if `words` is too short.
    pub fn decode_words(&self, words: &[u16]) -> Option<i64> {
        Some(match self.ty {
            RegType::U8 => (*words.first()? as u8).into(),
            RegType::I8 => (*words.first()? as i8).into(),
            RegType::U16 => (*words.first()?).into(),
            RegType::I16 => (*words.first()? as i16).into(),
            RegType::U32 | RegType::I32 => {
                let (first, second) = (*words.first()?, *words.get(1)?);
                let (high, low) = match self.word_order {
                    WordOrder::HighFirst => (first, second),
                    WordOrder::LowFirst => (second, first),
                };
                let value = u32::from(high) << 16 | u32::from(low);
                if self.ty == RegType::I32 {
                    (value as i32).into()
                } else {
                    value.into()
                }
            }
        })
    }

    /// The raw values that may be written: the type's range narrowed by `min` and `max`.
    pub fn limits(&self) -> RangeInclusive<i64> {
        let low = self.min.map_or(self.ty.min(), |min| min.max(self.ty.min()));
        let high = self.max.map_or(self.ty.max(), |max| max.min(self.ty.max()));
        low..=high
    }

    /// The raw value in the first [`Register::size`] bytes (little-endian, sign-extended for
    /// signed types); `None` if `bytes` is too short.
    pub fn decode(&self, bytes: &[u8]) -> Option<i64> {
        let b = bytes.get(..self.size())?;
        Some(match self.ty {
            RegType::U8 => b[0].into(),
            RegType::I8 => i8::from_le_bytes([b[0]]).into(),
            RegType::U16 => u16::from_le_bytes([b[0], b[1]]).into(),
            RegType::I16 => i16::from_le_bytes([b[0], b[1]]).into(),
            RegType::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
            RegType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
        })
    }

    /// `raw` as [`Register::size`] little-endian bytes (two's complement, higher bits
    /// dropped: use [`Register::check`] first).
    pub fn encode(&self, raw: i64) -> Vec<u8> {
        raw.to_le_bytes()[..self.size()].to_vec()
    }

    /// The SI value of a raw count: `raw * scale`.
    pub fn to_si(&self, raw: i64) -> f64 {
        raw as f64 * self.scale
    }

    /// The raw count nearest to an SI value; `None` for NaN or infinity or when it does not
    /// fit the register's type (`min`/`max` are not applied: see [`Register::check`]).
    pub fn from_si(&self, si: f64) -> Option<i64> {
        let raw = (si / self.scale).round();
        if !raw.is_finite() || raw < self.ty.min() as f64 || raw > self.ty.max() as f64 {
            return None;
        }
        Some(raw as i64)
    }

    /// Whether `raw` may be written: it must fit the type and lie within `min`/`max`.
    /// The error names the register, the value and the allowed range.
    pub fn check(&self, raw: i64) -> Result<(), String> {
        let (low, high) = (self.ty.min(), self.ty.max());
        if !(low..=high).contains(&raw) {
            return Err(format!(
                "{}: value {raw} does not fit type {} ({low}..={high})",
                self.name, self.ty
            ));
        }
        let limits = self.limits();
        if !limits.contains(&raw) {
            return Err(format!(
                "{}: value {raw} is outside the allowed range {}..={}",
                self.name,
                limits.start(),
                limits.end()
            ));
        }
        Ok(())
    }
}

/// What a register means to DriveDeck; a profile maps roles to its registers.
///
/// All roles except [`Role::BusWatchdog`] are required, with one exception: DYNAMIXEL
/// Protocol 1.0 servos (AX, RX, MX with 1.0 firmware) have no operating-mode, current,
/// hardware-error, velocity-limit or current-limit entries (wheel mode is chosen by
/// setting both angle limits to 0, the error flags travel only in status packets), so
/// those roles are optional for [`Protocol::Dynamixel1`]. See [`Role::is_required`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Enables the power stage (1) or lets the motor go limp (0).
    TorqueEnable,
    /// Selects position, velocity, … control (values in [`Modes`]).
    OperatingMode,
    /// Target position.
    GoalPosition,
    /// Target velocity.
    GoalVelocity,
    /// Measured position.
    PresentPosition,
    /// Measured velocity.
    PresentVelocity,
    /// Measured motor current.
    PresentCurrent,
    /// Measured temperature.
    PresentTemperature,
    /// Hardware error flags.
    HardwareError,
    /// Velocity limit.
    VelocityLimit,
    /// Current limit.
    CurrentLimit,
    /// Delay before the drive answers.
    ReturnDelay,
    /// Communication watchdog (optional).
    BusWatchdog,
    /// CiA 402 statusword (required with `enable = "cia402"`, else optional).
    StatusWord,
    /// The drive's output to the motor, in % of full (optional): the PWM duty cycle
    /// (DYNAMIXEL X Present PWM, Feetech Present Load). A tuning run records it, and
    /// identification fits the mechanics from it.
    PresentOutput,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 15] = [
        Role::TorqueEnable,
        Role::OperatingMode,
        Role::GoalPosition,
        Role::GoalVelocity,
        Role::PresentPosition,
        Role::PresentVelocity,
        Role::PresentCurrent,
        Role::PresentTemperature,
        Role::HardwareError,
        Role::VelocityLimit,
        Role::CurrentLimit,
        Role::ReturnDelay,
        Role::BusWatchdog,
        Role::StatusWord,
        Role::PresentOutput,
    ];

    /// The key in the `[roles]` table, e.g. `"torque_enable"`.
    pub fn key(self) -> &'static str {
        match self {
            Role::TorqueEnable => "torque_enable",
            Role::OperatingMode => "operating_mode",
            Role::GoalPosition => "goal_position",
            Role::GoalVelocity => "goal_velocity",
            Role::PresentPosition => "present_position",
            Role::PresentVelocity => "present_velocity",
            Role::PresentCurrent => "present_current",
            Role::PresentTemperature => "present_temperature",
            Role::HardwareError => "hardware_error",
            Role::VelocityLimit => "velocity_limit",
            Role::CurrentLimit => "current_limit",
            Role::ReturnDelay => "return_delay",
            Role::BusWatchdog => "bus_watchdog",
            Role::StatusWord => "status_word",
            Role::PresentOutput => "present_output",
        }
    }

    /// Whether a profile for `protocol` must map this role (a CiA 402 profile must also
    /// map [`Role::StatusWord`]).
    ///
    /// Modbus drives have no return delay register, and temperature is often not on the
    /// bus, so those two are optional there.
    pub fn is_required(self, protocol: Protocol) -> bool {
        match self {
            Role::BusWatchdog | Role::StatusWord | Role::PresentOutput => false,
            Role::ReturnDelay | Role::PresentTemperature => protocol != Protocol::ModbusRtu,
            // Protocol 1.0 servos have no mode register (wheel mode is both angle limits
            // at 0), no current sensing, and report errors only in status packets.
            Role::OperatingMode
            | Role::PresentCurrent
            | Role::HardwareError
            | Role::VelocityLimit
            | Role::CurrentLimit => protocol != Protocol::Dynamixel1,
            _ => true,
        }
    }

    /// Roles DriveDeck writes during operation, so their registers must be writable.
    fn must_be_writable(self) -> bool {
        matches!(
            self,
            Role::TorqueEnable
                | Role::OperatingMode
                | Role::GoalPosition
                | Role::GoalVelocity
                | Role::BusWatchdog
        )
    }
}

/// Raw values of the operating-mode register that select each control mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modes {
    /// Position control.
    pub position: i64,
    /// Velocity control.
    pub velocity: i64,
}

/// How to bring the drive to a safe state (TOML: `[safe_stop] action = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SafeStop {
    /// Write 0 to the torque-enable register (`"torque-off"`; needs `enable = "flag"`):
    /// the motor goes limp at once.
    TorqueOff,
    /// CiA 402 Quick Stop (`"quick-stop"`; needs `enable = "cia402"`): write
    /// [`crate::cia402::controlword::QUICK_STOP`] to the controlword. The drive brakes
    /// along its quick-stop ramp (its quick stop option code, 605Ah, says how) and then,
    /// by default, removes power: a controlled stop rather than a coast.
    QuickStop,
    /// CiA 402 Disable Voltage (`"disable-voltage"`; needs `enable = "cia402"`): write
    /// [`crate::cia402::controlword::DISABLE_VOLTAGE`]; the power stage is switched off at
    /// once and the motor coasts, as with `torque-off`.
    DisableVoltage,
}

impl SafeStop {
    /// Every action.
    pub const ALL: [SafeStop; 3] = [
        SafeStop::TorqueOff,
        SafeStop::QuickStop,
        SafeStop::DisableVoltage,
    ];

    /// The TOML name (`"torque-off"` …).
    pub fn name(self) -> &'static str {
        match self {
            SafeStop::TorqueOff => "torque-off",
            SafeStop::QuickStop => "quick-stop",
            SafeStop::DisableVoltage => "disable-voltage",
        }
    }

    /// How the drive must be enabled for this action to apply.
    pub fn enable(self) -> Enable {
        match self {
            SafeStop::TorqueOff => Enable::Flag,
            SafeStop::QuickStop | SafeStop::DisableVoltage => Enable::Cia402,
        }
    }

    /// The raw value written to the `torque_enable` register to stop.
    pub fn value(self) -> i64 {
        match self {
            SafeStop::TorqueOff => 0,
            SafeStop::QuickStop => crate::cia402::controlword::QUICK_STOP.into(),
            SafeStop::DisableVoltage => crate::cia402::controlword::DISABLE_VOLTAGE.into(),
        }
    }
}

/// A DC gear-motor model for simulation, at the output shaft, in SI units.
///
/// The first eight figures come from the drive's datasheet (stall and no-load points) or
/// are estimates the profile documents. The rest are optional in the TOML file; when a
/// profile leaves them out, the `DEFAULT_*` constants below apply. Those defaults are
/// orders of magnitude for a 16 mm DC motor of the kind inside hobby-grade bus servos, not
/// figures of any one product: a profile that knows better should say so.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MotorSpec {
    /// Supply voltage the other figures are given at, V.
    pub supply_voltage: f64,
    /// Stall torque, N m.
    pub stall_torque: f64,
    /// Stall current, A.
    pub stall_current: f64,
    /// No-load speed at the output, rad/s.
    pub no_load_speed: f64,
    /// No-load current, A.
    pub no_load_current: f64,
    /// Moment of inertia at the output, kg m².
    pub inertia: f64,
    /// Viscous friction, N m s/rad.
    pub viscous_friction: f64,
    /// Coulomb friction, N m.
    pub coulomb_friction: f64,
    /// Winding (terminal) inductance, H.
    pub inductance: f64,
    /// Thermal resistance from the winding to the ambient air, K/W.
    pub thermal_resistance: f64,
    /// Thermal capacity of the winding and what heats with it, J/K.
    pub thermal_capacity: f64,
    /// Ambient temperature, °C.
    pub ambient_temperature: f64,
    /// Inertia of the load coupled to the output, added to `inertia`, kg m².
    pub load_inertia: f64,
    /// Encoder counts per output revolution; `None`: the position register's own
    /// resolution (one count per raw unit).
    pub encoder_resolution: Option<u32>,
    /// Standard deviation of the position measurement noise, rad.
    pub position_noise: f64,
    /// Standard deviation of the velocity measurement noise, rad/s.
    pub velocity_noise: f64,
    /// Standard deviation of the current measurement noise, A.
    pub current_noise: f64,
}

impl MotorSpec {
    /// Default winding inductance, H: 0.3 mH, within the 0.1–0.6 mH that maxon's catalogue
    /// gives for the 12 V windings of its 16 mm DC motors (DCX 16 S). Together with a
    /// few ohms of resistance it makes an electrical time constant of tens of µs.
    pub const DEFAULT_INDUCTANCE: f64 = 0.3e-3;
    /// Default thermal resistance winding → ambient, K/W: maxon's 16 mm DC motors list
    /// about 7 K/W winding → housing plus about 27 K/W housing → ambient.
    pub const DEFAULT_THERMAL_RESISTANCE: f64 = 35.0;
    /// Default thermal capacity, J/K: chosen so that R·C ≈ 350 s, the order of the motor
    /// thermal time constant in the same catalogue (a single-node model of winding and
    /// housing together).
    pub const DEFAULT_THERMAL_CAPACITY: f64 = 10.0;
    /// Default ambient temperature, °C (the e-manuals' reference temperature).
    pub const DEFAULT_AMBIENT_TEMPERATURE: f64 = 25.0;

    /// The electrical time constant L/R at the stall point's resistance (V / I_stall), s.
    pub fn electrical_time_constant(&self) -> f64 {
        self.inductance * self.stall_current / self.supply_voltage
    }
}

/// A validated drive model.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Model name, e.g. `"XM430-W350"`.
    pub name: String,
    /// Manufacturer.
    pub vendor: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Model number as reported by the drive (e.g. in a Ping answer).
    pub model_number: u16,
    /// How the `torque_enable` role powers the drive.
    pub enable: Enable,
    /// Default order of 32-bit values' registers (Modbus profiles; `high-first` otherwise).
    pub word_order: WordOrder,
    /// The control table, in file order.
    pub registers: Vec<Register>,
    /// Operating-mode values.
    pub modes: Modes,
    /// Safe-stop action.
    pub safe_stop: SafeStop,
    /// Motor model for simulation, if given.
    pub motor: Option<MotorSpec>,
    /// Role → (index into `registers`, register name); the name guards against reordering.
    roles: HashMap<Role, (usize, String)>,
}

/// A profile that could not be loaded: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}:{line}: {reason}")]
pub struct ProfileError {
    /// File name (or other source label) given to [`Profile::parse`].
    pub source_name: String,
    /// 1-based line of the offending entry; 0 when no line applies (e.g. unreadable file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl Profile {
    /// Parses and validates a profile; `source` labels errors (usually the file name).
    pub fn parse(text: &str, source: &str) -> Result<Profile, ProfileError> {
        let ctx = Ctx { text, source };
        let raw: RawProfile =
            toml::from_str(text).map_err(|e| ctx.error_at(e.span(), e.message().trim()))?;
        let protocol = *raw.drive.protocol.get_ref();
        let enable = ctx.enable(&raw.drive)?;
        let word_order = ctx.drive_word_order(&raw.drive)?;
        let registers = ctx.registers(&raw.registers, protocol, word_order)?;
        let roles = ctx.roles(&raw.roles, &registers, protocol, enable)?;
        let modes = ctx.modes(
            &raw.modes,
            roles.get(&Role::OperatingMode).map(|&(i, _)| &registers[i]),
        )?;
        let safe_stop = ctx.safe_stop(&raw.safe_stop, enable)?;
        let motor = raw
            .motor
            .as_ref()
            .map(|motor| ctx.motor(motor))
            .transpose()?;
        Ok(Profile {
            name: raw.drive.name,
            vendor: raw.drive.vendor,
            protocol,
            model_number: raw.drive.model_number,
            enable,
            word_order,
            registers,
            modes,
            safe_stop,
            motor,
            roles,
        })
    }

    /// Reads and parses a profile file (the crate's only file access).
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            source_name: source.clone(),
            line: 0,
            reason: format!("cannot read the file: {e}"),
        })?;
        Profile::parse(&text, &source)
    }

    /// The register with this name.
    pub fn register(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|register| register.name == name)
    }

    /// The register playing `role`; always `Some` for the roles required by the protocol.
    pub fn role(&self, role: Role) -> Option<&Register> {
        let (index, name) = self.roles.get(&role)?;
        match self.registers.get(*index) {
            Some(register) if register.name == *name => Some(register),
            _ => self.register(name),
        }
    }

    /// Every mapped role with its register, in [`Role::ALL`] order.
    pub fn roles(&self) -> impl Iterator<Item = (Role, &Register)> + '_ {
        Role::ALL
            .into_iter()
            .filter_map(|role| self.role(role).map(|register| (role, register)))
    }

    /// Size of the control table: the largest [`Register::end`] (bytes, or registers for
    /// Modbus profiles, holding and input alike).
    pub fn table_len(&self) -> usize {
        self.registers.iter().map(Register::end).max().unwrap_or(0)
    }

    /// The built-in ROBOTIS XM430-W350-T/R profile (Protocol 2.0 firmware).
    pub fn xm430_w350() -> Profile {
        Profile::parse(
            include_str!("../profiles/robotis-xm430-w350.toml"),
            "profiles/robotis-xm430-w350.toml",
        )
        .expect("the built-in XM430-W350 profile is valid (see its test)")
    }

    /// The built-in Feetech STS3215 profile (FT-SCS protocol, STS variant).
    pub fn sts3215() -> Profile {
        Profile::parse(
            include_str!("../profiles/feetech-sts3215.toml"),
            "profiles/feetech-sts3215.toml",
        )
        .expect("the built-in STS3215 profile is valid (see its test)")
    }

    /// The built-in ROBOTIS AX-12A profile (DYNAMIXEL Protocol 1.0).
    pub fn ax12a() -> Profile {
        Profile::parse(
            include_str!("../profiles/robotis-ax-12a.toml"),
            "profiles/robotis-ax-12a.toml",
        )
        .expect("the built-in AX-12A profile is valid (see its test)")
    }

    /// The built-in Kinco FD5P profile (CiA 402 over Modbus RTU).
    pub fn kinco_fd5p() -> Profile {
        Profile::parse(
            include_str!("../profiles/kinco-fd5p.toml"),
            "profiles/kinco-fd5p.toml",
        )
        .expect("the built-in FD5P profile is valid (see its test)")
    }

    /// Every built-in profile.
    pub fn builtin() -> Vec<Profile> {
        vec![
            Profile::xm430_w350(),
            Profile::ax12a(),
            Profile::sts3215(),
            Profile::kinco_fd5p(),
        ]
    }

    /// The built-in profile a simulator or scan uses for `protocol` when none is given:
    /// XM430-W350 (2.0), AX-12A (1.0), STS3215 (Feetech), Kinco FD5P (Modbus RTU).
    pub fn default_for(protocol: Protocol) -> Option<Profile> {
        match protocol {
            Protocol::Dynamixel2 => Some(Profile::xm430_w350()),
            Protocol::Dynamixel1 => Some(Profile::ax12a()),
            Protocol::Feetech => Some(Profile::sts3215()),
            Protocol::ModbusRtu => Some(Profile::kinco_fd5p()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// TOML shape. Fields whose value can be wrong keep their span for the error's line.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    drive: RawDrive,
    roles: Spanned<RawRoles>,
    modes: RawModes,
    safe_stop: RawSafeStop,
    motor: Option<RawMotor>,
    #[serde(default, rename = "register")]
    registers: Vec<RawRegister>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrive {
    name: String,
    vendor: String,
    protocol: Spanned<Protocol>,
    model_number: u16,
    enable: Option<Spanned<String>>,
    word_order: Option<Spanned<String>>,
}

type RoleEntry = Option<Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    torque_enable: RoleEntry,
    operating_mode: RoleEntry,
    goal_position: RoleEntry,
    goal_velocity: RoleEntry,
    present_position: RoleEntry,
    present_velocity: RoleEntry,
    present_current: RoleEntry,
    present_temperature: RoleEntry,
    hardware_error: RoleEntry,
    velocity_limit: RoleEntry,
    current_limit: RoleEntry,
    return_delay: RoleEntry,
    bus_watchdog: RoleEntry,
    status_word: RoleEntry,
    #[serde(default)]
    present_output: RoleEntry,
}

impl RawRoles {
    fn entry(&self, role: Role) -> &RoleEntry {
        match role {
            Role::TorqueEnable => &self.torque_enable,
            Role::OperatingMode => &self.operating_mode,
            Role::GoalPosition => &self.goal_position,
            Role::GoalVelocity => &self.goal_velocity,
            Role::PresentPosition => &self.present_position,
            Role::PresentVelocity => &self.present_velocity,
            Role::PresentCurrent => &self.present_current,
            Role::PresentTemperature => &self.present_temperature,
            Role::HardwareError => &self.hardware_error,
            Role::VelocityLimit => &self.velocity_limit,
            Role::CurrentLimit => &self.current_limit,
            Role::ReturnDelay => &self.return_delay,
            Role::BusWatchdog => &self.bus_watchdog,
            Role::StatusWord => &self.status_word,
            Role::PresentOutput => &self.present_output,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModes {
    position: Spanned<i64>,
    velocity: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafeStop {
    action: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMotor {
    supply_voltage: Spanned<f64>,
    stall_torque: Spanned<f64>,
    stall_current: Spanned<f64>,
    no_load_speed: Spanned<f64>,
    no_load_current: Spanned<f64>,
    inertia: Spanned<f64>,
    viscous_friction: Spanned<f64>,
    coulomb_friction: Spanned<f64>,
    inductance: Option<Spanned<f64>>,
    thermal_resistance: Option<Spanned<f64>>,
    thermal_capacity: Option<Spanned<f64>>,
    ambient_temperature: Option<Spanned<f64>>,
    load_inertia: Option<Spanned<f64>>,
    encoder_resolution: Option<Spanned<u32>>,
    position_noise: Option<Spanned<f64>>,
    velocity_noise: Option<Spanned<f64>>,
    current_noise: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    name: Spanned<String>,
    address: Spanned<u16>,
    #[serde(rename = "type")]
    ty: Spanned<String>,
    unit: Option<String>,
    scale: Option<Spanned<f64>>,
    min: Option<Spanned<i64>>,
    max: Option<Spanned<i64>>,
    access: Spanned<String>,
    #[serde(default)]
    persistent: bool,
    default: Option<Spanned<i64>>,
    description: Option<String>,
    table: Option<Spanned<String>>,
    word_order: Option<Spanned<String>>,
}

/// The text being parsed, for turning spans into lines.
struct Ctx<'a> {
    text: &'a str,
    source: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, span: Range<usize>, reason: impl Into<String>) -> ProfileError {
        self.error_at(Some(span), reason)
    }

    fn error_at(&self, span: Option<Range<usize>>, reason: impl Into<String>) -> ProfileError {
        ProfileError {
            source_name: self.source.to_owned(),
            line: span.map_or(0, |span| self.line(span.start)),
            reason: reason.into(),
        }
    }

    fn registers(
        &self,
        raws: &[RawRegister],
        protocol: Protocol,
        word_order: WordOrder,
    ) -> Result<Vec<Register>, ProfileError> {
        let modbus = protocol == Protocol::ModbusRtu;
        let mut registers: Vec<Register> = Vec::with_capacity(raws.len());
        let mut address_lines: Vec<usize> = Vec::with_capacity(raws.len());
        let mut name_lines: HashMap<&str, usize> = HashMap::new();
        for raw in raws {
            let name = raw.name.get_ref().as_str();
            if name.trim().is_empty() {
                return Err(self.error(raw.name.span(), "register name is empty"));
            }
            if let Some(first) = name_lines.get(name) {
                return Err(self.error(
                    raw.name.span(),
                    format!("duplicate register name \"{name}\" (first defined on line {first})"),
                ));
            }
            name_lines.insert(name, self.line(raw.name.span().start));

            let ty = RegType::from_name(raw.ty.get_ref()).ok_or_else(|| {
                self.error(
                    raw.ty.span(),
                    format!(
                        "unknown type \"{}\" in \"{name}\" (expected u8, i8, u16, i16, u32 or i32)",
                        raw.ty.get_ref()
                    ),
                )
            })?;
            if modbus && ty.size() == 1 {
                return Err(self.error(
                    raw.ty.span(),
                    format!(
                        "type {ty} of \"{name}\": Modbus registers are 16-bit words, use u16, i16, u32 or i32"
                    ),
                ));
            }
            let space = match &raw.table {
                Some(table) if !modbus => {
                    return Err(self.error(
                        table.span(),
                        format!("`table` of \"{name}\" applies only to modbus-rtu profiles"),
                    ));
                }
                None if modbus => AddressSpace::Holding,
                None => AddressSpace::Bytes,
                Some(table) => match table.get_ref().as_str() {
                    "holding" => AddressSpace::Holding,
                    "input" => AddressSpace::Input,
                    other => {
                        return Err(self.error(
                            table.span(),
                            format!(
                                "unknown table \"{other}\" in \"{name}\" (expected holding or input)"
                            ),
                        ));
                    }
                },
            };
            let word_order = match &raw.word_order {
                None => word_order,
                Some(order) if !modbus => {
                    return Err(self.error(
                        order.span(),
                        format!("`word_order` of \"{name}\" applies only to modbus-rtu profiles"),
                    ));
                }
                Some(order) => self.word_order(order)?,
            };
            let access = Access::from_name(raw.access.get_ref()).ok_or_else(|| {
                self.error(
                    raw.access.span(),
                    format!(
                        "unknown access \"{}\" in \"{name}\" (expected r or rw)",
                        raw.access.get_ref()
                    ),
                )
            })?;
            let scale = match &raw.scale {
                None => 1.0,
                Some(scale) => {
                    let value = *scale.get_ref();
                    if !value.is_finite() || value == 0.0 {
                        return Err(self.error(
                            scale.span(),
                            format!(
                                "scale of \"{name}\" must be a finite, non-zero number, not {value}"
                            ),
                        ));
                    }
                    value
                }
            };
            for (key, bound) in [("min", &raw.min), ("max", &raw.max)] {
                if let Some(bound) = bound {
                    let value = *bound.get_ref();
                    if !(ty.min()..=ty.max()).contains(&value) {
                        return Err(self.error(
                            bound.span(),
                            format!(
                                "{key} {value} of \"{name}\" does not fit type {ty} ({}..={})",
                                ty.min(),
                                ty.max()
                            ),
                        ));
                    }
                }
            }
            match (&raw.min, &raw.max) {
                (Some(min), Some(max)) if min.get_ref() > max.get_ref() => {
                    return Err(self.error(
                        max.span(),
                        format!(
                            "min {} is greater than max {} in \"{name}\"",
                            min.get_ref(),
                            max.get_ref()
                        ),
                    ));
                }
                _ => {}
            }

            let address = *raw.address.get_ref();
            let register = Register {
                name: name.to_owned(),
                address,
                ty,
                unit: raw.unit.clone(),
                scale,
                min: raw.min.as_ref().map(|min| *min.get_ref()),
                max: raw.max.as_ref().map(|max| *max.get_ref()),
                access,
                persistent: raw.persistent,
                default: raw.default.as_ref().map_or(0, |default| *default.get_ref()),
                description: raw.description.clone(),
                space,
                word_order,
            };
            if space == AddressSpace::Input && access.is_writable() {
                return Err(self.error(
                    raw.access.span(),
                    format!(
                        "\"{name}\" is an input register, which is read-only: access must be \"r\""
                    ),
                ));
            }
            if let Err(why) = register.check(register.default) {
                let (span, hint) = match &raw.default {
                    Some(default) => (default.span(), ""),
                    None => (raw.name.span(), " (no `default` given, so it is 0)"),
                };
                return Err(self.error(span, format!("invalid default: {why}{hint}")));
            }

            let address_line = self.line(raw.address.span().start);
            if register.end() > 1 << 16 {
                let unit = if modbus { "registers" } else { "bytes" };
                return Err(self.error(
                    raw.address.span(),
                    format!(
                        "\"{name}\" at address {address} with {} {unit} ends beyond address 65535",
                        register.span()
                    ),
                ));
            }
            for (other, other_line) in registers.iter().zip(&address_lines) {
                if other.space == register.space
                    && usize::from(register.address) < other.end()
                    && usize::from(other.address) < register.end()
                {
                    return Err(self.error(
                        raw.address.span(),
                        format!(
                            "\"{name}\" (addresses {}..={}) overlaps \"{}\" (addresses {}..={}, line {other_line})",
                            register.address,
                            register.end() - 1,
                            other.name,
                            other.address,
                            other.end() - 1
                        ),
                    ));
                }
            }
            registers.push(register);
            address_lines.push(address_line);
        }
        Ok(registers)
    }

    fn roles(
        &self,
        raw: &Spanned<RawRoles>,
        registers: &[Register],
        protocol: Protocol,
        enable: Enable,
    ) -> Result<HashMap<Role, (usize, String)>, ProfileError> {
        let mut roles = HashMap::new();
        for role in Role::ALL {
            let Some(entry) = raw.get_ref().entry(role) else {
                if role == Role::StatusWord && enable == Enable::Cia402 {
                    return Err(self.error(
                        raw.span(),
                        "missing role status_word in [roles], required with enable = \"cia402\"",
                    ));
                }
                if role.is_required(protocol) {
                    return Err(self.error(
                        raw.span(),
                        format!("missing required role {} in [roles]", role.key()),
                    ));
                }
                continue;
            };
            let name = entry.get_ref();
            let index = registers
                .iter()
                .position(|register| register.name == *name)
                .ok_or_else(|| {
                    self.error(
                        entry.span(),
                        format!(
                            "role {} names register \"{name}\", which does not exist",
                            role.key()
                        ),
                    )
                })?;
            if role.must_be_writable() && !registers[index].access.is_writable() {
                return Err(self.error(
                    entry.span(),
                    format!(
                        "role {} names register \"{name}\", which is read-only",
                        role.key()
                    ),
                ));
            }
            roles.insert(role, (index, name.clone()));
        }
        Ok(roles)
    }

    fn modes(
        &self,
        raw: &RawModes,
        operating_mode: Option<&Register>,
    ) -> Result<Modes, ProfileError> {
        if let Some(register) = operating_mode {
            for (key, value) in [("position", &raw.position), ("velocity", &raw.velocity)] {
                if let Err(why) = register.check(*value.get_ref()) {
                    return Err(self.error(value.span(), format!("mode {key}: {why}")));
                }
            }
        }
        Ok(Modes {
            position: *raw.position.get_ref(),
            velocity: *raw.velocity.get_ref(),
        })
    }

    fn safe_stop(&self, raw: &RawSafeStop, enable: Enable) -> Result<SafeStop, ProfileError> {
        let name = raw.action.get_ref();
        let action = SafeStop::ALL
            .into_iter()
            .find(|action| action.name() == name)
            .ok_or_else(|| {
                self.error(
                    raw.action.span(),
                    format!(
                        "unknown safe_stop action \"{name}\" (expected torque-off, quick-stop or disable-voltage)"
                    ),
                )
            })?;
        if action.enable() != enable {
            return Err(self.error(
                raw.action.span(),
                format!(
                    "safe_stop action {name} needs enable = \"{}\", but the drive has enable = \"{}\"",
                    action.enable().name(),
                    enable.name()
                ),
            ));
        }
        Ok(action)
    }

    fn enable(&self, raw: &RawDrive) -> Result<Enable, ProfileError> {
        let Some(enable) = &raw.enable else {
            return Ok(Enable::Flag);
        };
        match enable.get_ref().as_str() {
            "flag" => Ok(Enable::Flag),
            "cia402" => Ok(Enable::Cia402),
            other => Err(self.error(
                enable.span(),
                format!("unknown enable \"{other}\" (expected flag or cia402)"),
            )),
        }
    }

    fn drive_word_order(&self, raw: &RawDrive) -> Result<WordOrder, ProfileError> {
        match &raw.word_order {
            None => Ok(WordOrder::HighFirst),
            Some(order) if *raw.protocol.get_ref() != Protocol::ModbusRtu => Err(self.error(
                order.span(),
                "`word_order` applies only to modbus-rtu profiles",
            )),
            Some(order) => self.word_order(order),
        }
    }

    fn word_order(&self, raw: &Spanned<String>) -> Result<WordOrder, ProfileError> {
        WordOrder::from_name(raw.get_ref()).ok_or_else(|| {
            self.error(
                raw.span(),
                format!(
                    "unknown word_order \"{}\" (expected high-first or low-first)",
                    raw.get_ref()
                ),
            )
        })
    }

    fn motor(&self, raw: &RawMotor) -> Result<MotorSpec, ProfileError> {
        let positive = [
            ("supply_voltage", &raw.supply_voltage),
            ("stall_torque", &raw.stall_torque),
            ("stall_current", &raw.stall_current),
            ("no_load_speed", &raw.no_load_speed),
            ("inertia", &raw.inertia),
        ];
        let non_negative = [
            ("no_load_current", &raw.no_load_current),
            ("viscous_friction", &raw.viscous_friction),
            ("coulomb_friction", &raw.coulomb_friction),
        ];
        for (key, value) in positive {
            let v = *value.get_ref();
            if !(v.is_finite() && v > 0.0) {
                return Err(self.error(
                    value.span(),
                    format!("motor {key} must be a positive number, not {v}"),
                ));
            }
        }
        for (key, value) in non_negative {
            let v = *value.get_ref();
            if !(v.is_finite() && v >= 0.0) {
                return Err(self.error(
                    value.span(),
                    format!("motor {key} must be zero or positive, not {v}"),
                ));
            }
        }
        if raw.no_load_current.get_ref() >= raw.stall_current.get_ref() {
            return Err(self.error(
                raw.no_load_current.span(),
                "motor no_load_current must be smaller than stall_current",
            ));
        }
        let optional_positive = [
            ("inductance", &raw.inductance),
            ("thermal_resistance", &raw.thermal_resistance),
            ("thermal_capacity", &raw.thermal_capacity),
        ];
        let optional_non_negative = [
            ("load_inertia", &raw.load_inertia),
            ("position_noise", &raw.position_noise),
            ("velocity_noise", &raw.velocity_noise),
            ("current_noise", &raw.current_noise),
        ];
        for (key, value) in optional_positive {
            if let Some(value) = value {
                let v = *value.get_ref();
                if !(v.is_finite() && v > 0.0) {
                    return Err(self.error(
                        value.span(),
                        format!("motor {key} must be a positive number, not {v}"),
                    ));
                }
            }
        }
        for (key, value) in optional_non_negative {
            if let Some(value) = value {
                let v = *value.get_ref();
                if !(v.is_finite() && v >= 0.0) {
                    return Err(self.error(
                        value.span(),
                        format!("motor {key} must be zero or positive, not {v}"),
                    ));
                }
            }
        }
        if let Some(ambient) = &raw.ambient_temperature {
            let v = *ambient.get_ref();
            if !(v.is_finite() && (-50.0..=100.0).contains(&v)) {
                return Err(self.error(
                    ambient.span(),
                    format!("motor ambient_temperature must be between -50 and 100 °C, not {v}"),
                ));
            }
        }
        if let Some(resolution) = &raw.encoder_resolution
            && *resolution.get_ref() < 4
        {
            return Err(self.error(
                resolution.span(),
                format!(
                    "motor encoder_resolution must be at least 4 counts per revolution, not {}",
                    resolution.get_ref()
                ),
            ));
        }
        let or = |value: &Option<Spanned<f64>>, default: f64| {
            value.as_ref().map_or(default, |v| *v.get_ref())
        };
        Ok(MotorSpec {
            supply_voltage: *raw.supply_voltage.get_ref(),
            stall_torque: *raw.stall_torque.get_ref(),
            stall_current: *raw.stall_current.get_ref(),
            no_load_speed: *raw.no_load_speed.get_ref(),
            no_load_current: *raw.no_load_current.get_ref(),
            inertia: *raw.inertia.get_ref(),
            viscous_friction: *raw.viscous_friction.get_ref(),
            coulomb_friction: *raw.coulomb_friction.get_ref(),
            inductance: or(&raw.inductance, MotorSpec::DEFAULT_INDUCTANCE),
            thermal_resistance: or(
                &raw.thermal_resistance,
                MotorSpec::DEFAULT_THERMAL_RESISTANCE,
            ),
            thermal_capacity: or(&raw.thermal_capacity, MotorSpec::DEFAULT_THERMAL_CAPACITY),
            ambient_temperature: or(
                &raw.ambient_temperature,
                MotorSpec::DEFAULT_AMBIENT_TEMPERATURE,
            ),
            load_inertia: or(&raw.load_inertia, 0.0),
            encoder_resolution: raw.encoder_resolution.as_ref().map(|r| *r.get_ref()),
            position_noise: or(&raw.position_noise, 0.0),
            velocity_noise: or(&raw.velocity_noise, 0.0),
            current_noise: or(&raw.current_noise, 0.0),
        })
    }
}
