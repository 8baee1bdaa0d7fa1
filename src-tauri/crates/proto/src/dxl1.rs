//! DYNAMIXEL Protocol 1.0 codec and its Feetech SCS/STS variant: building, encoding,
//! decoding and parsing packets.
//!
//! A frame on the wire is
//!
//! ```text
//! FF FF | ID | LEN | INST or ERROR | PARAM … | CHECKSUM
//! ```
//!
//! `LEN` counts the parameters plus two (the instruction or error byte and the checksum).
//! The checksum is the bitwise NOT of the low byte of the sum of every byte from the ID to
//! the last parameter. There is no byte stuffing, so `FF FF` may appear inside the
//! parameters; [`decode`] copes with that when it resynchronises.
//!
//! Instruction packets (controller → device) and status packets (device → controller) have
//! the same shape: a status packet carries its error byte where an instruction packet
//! carries the instruction code, and the bytes alone do not tell the two apart. [`Packet`]
//! therefore keeps that byte in [`Packet::instruction`] either way; the side that knows the
//! direction asks for [`Packet::as_status`] (controller) or [`Packet::parse`] (device).
//!
//! Feetech's SCS, STS and SMS serial bus servos speak the same framing (Feetech calls it
//! FT-SCS) with a few more instructions ([`instruction::SYNC_READ`],
//! [`instruction::PARAMETER_BACKUP`], [`instruction::STATUS_RESET`],
//! [`instruction::CALIBRATE`]) and their own meaning for the error bits. The framing is
//! identical for every family; what differs is described by [`Variant`]: the byte order of
//! two-byte control-table values (Feetech's potentiometer SCS series is big-endian,
//! everything else little-endian), which instructions exist and what each error bit means.
//! Feetech STS/SMS also encode negative positions and speeds sign-magnitude; see
//! [`encode_sign_magnitude`] and [`sign_bit`].

use bytes::{Buf, BytesMut};

/// The two bytes every frame starts with.
pub const HEADER: [u8; 2] = [0xFF, 0xFF];

/// Packet ID that addresses every device on the bus; devices do not answer it (except a
/// Feetech Ping).
pub const BROADCAST_ID: u8 = 0xFE;

/// Highest ID a single device can have (0 ..= 253 are usable).
pub const MAX_ID: u8 = 0xFD;

/// Smallest `LEN` field: the instruction (or error) byte and the checksum, no parameters.
pub const MIN_LEN: u8 = 2;

/// Largest `LEN` field [`decode`] accepts (and [`Packet::try_encode`] produces).
///
/// The field is one byte, so a frame can never claim more than 255; both ROBOTIS' and
/// Feetech's SDKs refuse a received `LENGTH` above 250, and so does this codec.
pub const MAX_LEN: u8 = 250;

/// Bytes before the instruction: header, ID and length.
const PREFIX_LEN: usize = 4;

/// The checksum of a frame's bytes from the ID to the last parameter: the bitwise NOT of
/// the low byte of their sum.
pub fn checksum(bytes: &[u8]) -> u8 {
    !bytes.iter().fold(0u8, |sum, &byte| sum.wrapping_add(byte))
}

pub mod instruction {
    //! Instruction codes (the byte after `LEN` in an instruction packet).
    //!
    //! Which family defines which code: see [`super::Variant::supports`].

    /// Checks that a device exists; answered with an empty status packet.
    pub const PING: u8 = 0x01;
    /// Reads from the control table (parameters: address, length).
    pub const READ: u8 = 0x02;
    /// Writes to the control table (parameters: address, data …).
    pub const WRITE: u8 = 0x03;
    /// Registers a write that is carried out on the next Action.
    pub const REG_WRITE: u8 = 0x04;
    /// Carries out the registered write.
    pub const ACTION: u8 = 0x05;
    /// DYNAMIXEL: Factory Reset. Feetech: parameter recovery (restores every parameter
    /// except the ID from the backup).
    pub const RESET: u8 = 0x06;
    /// Reboots the device (Feetech; DYNAMIXEL only on newer firmware).
    pub const REBOOT: u8 = 0x08;
    /// Feetech: stores the current parameters as the backup that [`RESET`] restores.
    pub const PARAMETER_BACKUP: u8 = 0x09;
    /// Feetech: resets the status (the multi-turn count).
    pub const STATUS_RESET: u8 = 0x0A;
    /// Feetech: calibrates the present position to the middle (no parameter) or to a given
    /// two-byte value.
    pub const CALIBRATE: u8 = 0x0B;
    /// Feetech: reads the same address and length from several devices, which answer one
    /// after the other in request order.
    pub const SYNC_READ: u8 = 0x82;
    /// Writes the same address and length to several devices.
    pub const SYNC_WRITE: u8 = 0x83;
    /// DYNAMIXEL MX: reads a different address and length from each of several devices.
    pub const BULK_READ: u8 = 0x92;
}

pub mod dynamixel_error {
    //! Bits of a DYNAMIXEL Protocol 1.0 status packet's error byte (bit 7 is always 0).

    /// The supply voltage is outside the configured operating range.
    pub const INPUT_VOLTAGE: u8 = 0x01;
    /// Goal Position was written outside the CW/CCW angle limits.
    pub const ANGLE_LIMIT: u8 = 0x02;
    /// The internal temperature is above the configured limit.
    pub const OVERHEATING: u8 = 0x04;
    /// An instruction value is out of the range for use.
    pub const RANGE: u8 = 0x08;
    /// The instruction packet's checksum was wrong.
    pub const CHECKSUM: u8 = 0x10;
    /// The load cannot be controlled with the set torque.
    pub const OVERLOAD: u8 = 0x20;
    /// Undefined instruction, or Action without a registered Reg Write.
    pub const INSTRUCTION: u8 = 0x40;
}

pub mod feetech_error {
    //! Bits of a Feetech status packet's error byte: the servo status (its control table's
    //! "servo status" byte, address 65 on SCS and STS). The SCS series defines only
    //! [`VOLTAGE`], [`OVERHEAT`] and [`OVERLOAD`].

    /// Over- or under-voltage.
    pub const VOLTAGE: u8 = 0x01;
    /// STS/SMS: magnetic encoder (angle sensor) fault.
    pub const ANGLE_SENSOR: u8 = 0x02;
    /// Over-temperature.
    pub const OVERHEAT: u8 = 0x04;
    /// STS/SMS: over-current.
    pub const OVERCURRENT: u8 = 0x08;
    /// Overload (load above the overload torque for longer than the protection time).
    pub const OVERLOAD: u8 = 0x20;
}

pub mod sign_bit {
    //! Direction bits of Feetech STS/SMS values that are sign-magnitude rather than two's
    //! complement (a set bit means negative; the bits below it are the magnitude). Use
    //! them with [`super::encode_sign_magnitude`] and [`super::decode_sign_magnitude`].

    /// Goal Position (42) and Present Position (56): bit 15.
    pub const POSITION: u8 = 15;
    /// Goal Speed (46) and Present Speed (58): bit 15.
    pub const SPEED: u8 = 15;
    /// Present Load (60) and the open-loop PWM value (44): bit 10.
    pub const LOAD: u8 = 10;
    /// Present Current (69): bit 15, as Feetech's SMS_STS SDK reads it (the memory table
    /// itself names no direction bit).
    pub const CURRENT: u8 = 15;
    /// Position offset (31): bit 11, as LeRobot encodes it.
    pub const POSITION_OFFSET: u8 = 11;
}

/// Which dialect of the Protocol 1.0 framing a bus speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// ROBOTIS DYNAMIXEL Protocol 1.0 (AX, RX, MX and X series in 1.0 mode): little-endian.
    Dynamixel1,
    /// Feetech SCS/SCSCL (potentiometer feedback): two-byte values are big-endian.
    Scs,
    /// Feetech STS/SMS (magnetic encoder), e.g. the STS3215: little-endian.
    Sts,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 3] = [Variant::Dynamixel1, Variant::Scs, Variant::Sts];

    /// True if two-byte control-table values are sent high byte first.
    pub fn is_big_endian(self) -> bool {
        self == Variant::Scs
    }

    /// `value` as the two bytes this variant puts in the control table.
    pub fn encode_u16(self, value: u16) -> [u8; 2] {
        if self.is_big_endian() {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        }
    }

    /// The value of two control-table bytes in this variant's byte order.
    pub fn decode_u16(self, bytes: [u8; 2]) -> u16 {
        if self.is_big_endian() {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    }

    /// This family's name for an instruction code; `None` if the family does not define it.
    pub fn instruction_name(self, code: u8) -> Option<&'static str> {
        use instruction as i;
        let feetech = self != Variant::Dynamixel1;
        Some(match code {
            i::PING => "Ping",
            i::READ => "Read",
            i::WRITE => "Write",
            i::REG_WRITE => "Reg Write",
            i::ACTION => "Action",
            i::RESET if feetech => "Parameter Recovery",
            i::RESET => "Factory Reset",
            i::REBOOT => "Reboot",
            i::PARAMETER_BACKUP if feetech => "Parameter Backup",
            i::STATUS_RESET if feetech => "Status Reset",
            i::CALIBRATE if feetech => "Position Calibration",
            i::SYNC_READ if feetech => "Sync Read",
            i::SYNC_WRITE => "Sync Write",
            i::BULK_READ if !feetech => "Bulk Read",
            _ => return None,
        })
    }

    /// Whether this family's protocol documentation defines the instruction (support on a
    /// given model also depends on its firmware: Bulk Read is MX-only, Reboot needs newer
    /// DYNAMIXEL firmware, and Feetech lists Sync Read and calibration for some models only).
    pub fn supports(self, code: u8) -> bool {
        self.instruction_name(code).is_some()
    }

    /// This family's name for one error bit (a mask such as 0x20); `None` if undefined.
    pub fn error_bit_name(self, bit: u8) -> Option<&'static str> {
        use dynamixel_error as d;
        use feetech_error as f;
        Some(match (self, bit) {
            (Variant::Dynamixel1, d::INPUT_VOLTAGE) => "Input Voltage Error",
            (Variant::Dynamixel1, d::ANGLE_LIMIT) => "Angle Limit Error",
            (Variant::Dynamixel1, d::OVERHEATING) => "Overheating Error",
            (Variant::Dynamixel1, d::RANGE) => "Range Error",
            (Variant::Dynamixel1, d::CHECKSUM) => "Checksum Error",
            (Variant::Dynamixel1, d::OVERLOAD) => "Overload Error",
            (Variant::Dynamixel1, d::INSTRUCTION) => "Instruction Error",
            (Variant::Scs | Variant::Sts, f::VOLTAGE) => "Voltage Error",
            (Variant::Sts, f::ANGLE_SENSOR) => "Angle Sensor Error",
            (Variant::Scs | Variant::Sts, f::OVERHEAT) => "Overheat Error",
            (Variant::Sts, f::OVERCURRENT) => "Overcurrent Error",
            (Variant::Scs | Variant::Sts, f::OVERLOAD) => "Overload Error",
            _ => return None,
        })
    }
}

/// `value` sign-magnitude in 16 bits: the magnitude below `sign_bit`, the sign at it.
///
/// `None` if `sign_bit` is above 15 or the magnitude does not fit below it. Zero is always
/// encoded without the sign bit.
pub fn encode_sign_magnitude(value: i32, sign_bit: u8) -> Option<u16> {
    if sign_bit > 15 {
        return None;
    }
    let magnitude = u16::try_from(value.unsigned_abs()).ok()?;
    if magnitude >> sign_bit != 0 {
        return None;
    }
    Some(if value < 0 {
        magnitude | 1 << sign_bit
    } else {
        magnitude
    })
}

/// The value of a sign-magnitude `raw` whose sign is at `sign_bit`, as Feetech's SDK reads
/// it: if the bit is set, the value is minus `raw` with that bit cleared. A `sign_bit`
/// above 15 means there is none: `raw` is returned as is.
pub fn decode_sign_magnitude(raw: u16, sign_bit: u8) -> i32 {
    if sign_bit > 15 || raw & 1 << sign_bit == 0 {
        return raw.into();
    }
    -i32::from(raw & !(1 << sign_bit))
}

/// The error byte of a status packet: a set of flags whose meaning depends on the
/// [`Variant`] (see [`dynamixel_error`] and [`feetech_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatusError(pub u8);

impl StatusError {
    /// True if no bit is set.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// True if every bit of `mask` is set.
    pub fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// The names of the set bits that `variant` defines, lowest bit first.
    pub fn flags(self, variant: Variant) -> Vec<&'static str> {
        (0..8)
            .map(|bit| 1u8 << bit)
            .filter(|&mask| self.0 & mask != 0)
            .filter_map(|mask| variant.error_bit_name(mask))
            .collect()
    }

    /// The set bits that `variant` does not define.
    pub fn unknown_bits(self, variant: Variant) -> u8 {
        (0..8)
            .map(|bit| 1u8 << bit)
            .filter(|&mask| self.0 & mask != 0 && variant.error_bit_name(mask).is_none())
            .fold(0, |bits, mask| bits | mask)
    }

    /// A readable summary, e.g. `"Overheating Error, Overload Error"` or `"no error"`.
    pub fn describe(self, variant: Variant) -> String {
        if self.is_ok() {
            return "no error".to_owned();
        }
        let mut text = self.flags(variant).join(", ");
        let unknown = self.unknown_bits(variant);
        if unknown != 0 {
            if !text.is_empty() {
                text.push_str(", ");
            }
            text.push_str(&format!("unknown error bits {unknown:#04x}"));
        }
        text
    }
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error byte {:#04x}", self.0)
    }
}

/// A status packet as seen by the controller: who answered, its error byte, the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status<'a> {
    /// ID of the answering device.
    pub id: u8,
    /// The error byte.
    pub error: StatusError,
    /// The parameters (the bytes read, empty for most answers).
    pub data: &'a [u8],
}

/// A Protocol 1.0 packet, instruction or status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Device ID, or [`BROADCAST_ID`].
    pub id: u8,
    /// Instruction code (see [`instruction`]), or the error byte of a status packet.
    pub instruction: u8,
    /// Parameters (for a status packet: the returned data).
    pub params: Vec<u8>,
}

/// An instruction packet's parameters, parsed; borrowed from the [`Packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction<'a> {
    /// Ping.
    Ping,
    /// Read `length` bytes from `address`.
    Read {
        /// First control table address.
        address: u8,
        /// Number of bytes.
        length: u8,
    },
    /// Write `data` at `address`.
    Write {
        /// First control table address.
        address: u8,
        /// Bytes to write.
        data: &'a [u8],
    },
    /// Register a write of `data` at `address`, carried out on Action.
    RegWrite {
        /// First control table address.
        address: u8,
        /// Bytes to write.
        data: &'a [u8],
    },
    /// Carry out the registered write.
    Action,
    /// DYNAMIXEL Factory Reset, Feetech parameter recovery.
    Reset,
    /// Reboot.
    Reboot,
    /// Feetech parameter backup.
    ParameterBackup,
    /// Feetech status reset (multi-turn count).
    StatusReset,
    /// Feetech position calibration.
    Calibrate {
        /// The new value of the present position in the variant's byte order (decode it
        /// with [`Variant::decode_u16`]), or `None` for "the middle position".
        value: Option<[u8; 2]>,
    },
    /// Sync Read: `length` bytes at `address` from each of `ids`.
    SyncRead {
        /// First control table address.
        address: u8,
        /// Number of bytes per device.
        length: u8,
        /// Devices, in the order they must answer.
        ids: &'a [u8],
    },
    /// Sync Write: the same address and length for every device.
    SyncWrite {
        /// First control table address.
        address: u8,
        /// Number of bytes per device.
        length: u8,
        /// `(id, data)`, each data `length` bytes long.
        items: Vec<(u8, &'a [u8])>,
    },
    /// Bulk Read: `(id, address, length)` per device.
    BulkRead {
        /// `(id, address, length)`, in the order the devices must answer.
        items: Vec<(u8, u8, u8)>,
    },
}

/// Why bytes could not be decoded into a packet, or a packet's parameters not parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The checksum carried by the frame differs from the one computed over its bytes.
    #[error("bad checksum: computed {expected:#04x} but the frame carries {actual:#04x}")]
    BadChecksum {
        /// Checksum computed over the received bytes.
        expected: u8,
        /// Checksum found in the frame.
        actual: u8,
    },
    /// The `LEN` field is below [`MIN_LEN`] or above [`MAX_LEN`].
    #[error("impossible packet length {0} (must be {MIN_LEN}..={MAX_LEN})")]
    BadLength(u8),
    /// A frame was still incomplete although a complete frame with a correct checksum
    /// starts inside the bytes it claims: the transmission was cut short (or its `LEN` is
    /// corrupt) and the later frame is the real one.
    #[error(
        "frame cut short: LEN {len} claims more bytes, but a complete frame starts {next_at} bytes in"
    )]
    Truncated {
        /// The `LEN` field of the dropped frame.
        len: u8,
        /// Offset of the complete frame from the dropped frame's first byte.
        next_at: usize,
    },
    /// [`Packet::parse`] met an instruction code no variant defines.
    #[error("unknown instruction {0:#04x}")]
    UnknownInstruction(u8),
    /// [`Packet::parse`] found parameters that do not fit the instruction.
    #[error("malformed parameters for instruction {instruction:#04x}: {reason}")]
    BadParams {
        /// The instruction code.
        instruction: u8,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Why a packet could not be built or encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    /// A Sync Write item's data is not the declared length.
    #[error("sync write data for ID {id} is {actual} bytes, expected {expected}")]
    ItemLength {
        /// The item's device ID.
        id: u8,
        /// The declared length.
        expected: usize,
        /// The item's data length.
        actual: usize,
    },
    /// The encoded `LEN` would exceed [`MAX_LEN`].
    #[error("packet too long: LEN would be {len}, the limit is {max}")]
    TooLong {
        /// The `LEN` the packet would have.
        len: usize,
        /// [`MAX_LEN`].
        max: usize,
    },
}

/// `LEN` for `params` parameters, saturating at the field's 255 (such frames exceed
/// [`MAX_LEN`] and are refused by receivers).
fn wire_len(params: usize) -> u8 {
    u8::try_from(params.saturating_add(2)).unwrap_or(u8::MAX)
}

impl Packet {
    /// A packet from its parts.
    pub fn new(id: u8, instruction: u8, params: Vec<u8>) -> Packet {
        Packet {
            id,
            instruction,
            params,
        }
    }

    /// Ping `id`.
    pub fn ping(id: u8) -> Packet {
        Packet::new(id, instruction::PING, Vec::new())
    }

    /// Read `length` bytes from `address`.
    pub fn read(id: u8, address: u8, length: u8) -> Packet {
        Packet::new(id, instruction::READ, vec![address, length])
    }

    fn address_and_data(id: u8, instruction: u8, address: u8, data: &[u8]) -> Packet {
        let mut params = Vec::with_capacity(1 + data.len());
        params.push(address);
        params.extend_from_slice(data);
        Packet::new(id, instruction, params)
    }

    /// Write `data` at `address` (multi-byte values in the [`Variant`]'s byte order).
    pub fn write(id: u8, address: u8, data: &[u8]) -> Packet {
        Packet::address_and_data(id, instruction::WRITE, address, data)
    }

    /// Register a write of `data` at `address`, carried out by [`Packet::action`].
    pub fn reg_write(id: u8, address: u8, data: &[u8]) -> Packet {
        Packet::address_and_data(id, instruction::REG_WRITE, address, data)
    }

    /// Carry out registered writes (usually sent to [`BROADCAST_ID`]).
    pub fn action(id: u8) -> Packet {
        Packet::new(id, instruction::ACTION, Vec::new())
    }

    /// DYNAMIXEL Factory Reset / Feetech parameter recovery.
    pub fn reset(id: u8) -> Packet {
        Packet::new(id, instruction::RESET, Vec::new())
    }

    /// Reboot.
    pub fn reboot(id: u8) -> Packet {
        Packet::new(id, instruction::REBOOT, Vec::new())
    }

    /// Feetech parameter backup.
    pub fn parameter_backup(id: u8) -> Packet {
        Packet::new(id, instruction::PARAMETER_BACKUP, Vec::new())
    }

    /// Feetech status reset (clears the multi-turn count).
    pub fn status_reset(id: u8) -> Packet {
        Packet::new(id, instruction::STATUS_RESET, Vec::new())
    }

    /// Feetech position calibration: to the middle with `None`, else to the value whose
    /// bytes are given (make them with [`Variant::encode_u16`]).
    pub fn calibrate(id: u8, value: Option<[u8; 2]>) -> Packet {
        let params = value.map_or_else(Vec::new, |bytes| bytes.to_vec());
        Packet::new(id, instruction::CALIBRATE, params)
    }

    /// Feetech Sync Read of `length` bytes at `address` from each of `ids` (sent to
    /// [`BROADCAST_ID`]; the devices answer with one status packet each, in `ids` order).
    pub fn sync_read(address: u8, length: u8, ids: &[u8]) -> Packet {
        let mut params = Vec::with_capacity(2 + ids.len());
        params.push(address);
        params.push(length);
        params.extend_from_slice(ids);
        Packet::new(BROADCAST_ID, instruction::SYNC_READ, params)
    }

    /// Sync Write `length` bytes at `address` to each `(id, data)`; every data must be
    /// `length` bytes long. Sent to [`BROADCAST_ID`].
    pub fn sync_write(
        address: u8,
        length: u8,
        items: &[(u8, &[u8])],
    ) -> Result<Packet, EncodeError> {
        let expected = usize::from(length);
        let mut params = Vec::with_capacity(2 + items.len() * (1 + expected));
        params.push(address);
        params.push(length);
        for &(id, data) in items {
            if data.len() != expected {
                return Err(EncodeError::ItemLength {
                    id,
                    expected,
                    actual: data.len(),
                });
            }
            params.push(id);
            params.extend_from_slice(data);
        }
        Ok(Packet::new(BROADCAST_ID, instruction::SYNC_WRITE, params))
    }

    /// DYNAMIXEL MX Bulk Read `(id, address, length)` from each device (sent to
    /// [`BROADCAST_ID`]). On the wire the parameters are `0x00`, then `length, id, address`
    /// per device.
    pub fn bulk_read(items: &[(u8, u8, u8)]) -> Packet {
        let mut params = Vec::with_capacity(1 + 3 * items.len());
        params.push(0x00);
        for &(id, address, length) in items {
            params.extend_from_slice(&[length, id, address]);
        }
        Packet::new(BROADCAST_ID, instruction::BULK_READ, params)
    }

    /// A status packet from `id` with its `error` byte and the returned `data`.
    pub fn status(id: u8, error: u8, data: &[u8]) -> Packet {
        Packet::new(id, error, data.to_vec())
    }

    /// The full frame: header, ID, length, instruction (or error), parameters, checksum.
    ///
    /// Packets whose `LEN` would exceed [`MAX_LEN`] are still encoded (with `LEN`
    /// saturated at 255 when it does not fit the byte) but receivers, [`decode`] included,
    /// reject them; use [`Packet::try_encode`] to have that checked.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_LEN + 1 + self.params.len() + 1);
        out.extend_from_slice(&HEADER);
        out.push(self.id);
        out.push(wire_len(self.params.len()));
        out.push(self.instruction);
        out.extend_from_slice(&self.params);
        let sum = checksum(&out[HEADER.len()..]);
        out.push(sum);
        out
    }

    /// Like [`Packet::encode`], but fails if `LEN` would exceed [`MAX_LEN`].
    pub fn try_encode(&self) -> Result<Vec<u8>, EncodeError> {
        let len = self.params.len() + 2;
        if len > usize::from(MAX_LEN) {
            return Err(EncodeError::TooLong {
                len,
                max: MAX_LEN.into(),
            });
        }
        Ok(self.encode())
    }

    /// This packet read as a status packet: [`Packet::instruction`] is the error byte.
    ///
    /// The frame does not say whether it is a status packet; the controller, which only
    /// ever receives status packets, uses this. `None` only for what cannot be a status
    /// packet: the broadcast ID, or bit 7 set in the error byte (always 0 for DYNAMIXEL
    /// and Feetech alike).
    pub fn as_status(&self) -> Option<Status<'_>> {
        if self.id == BROADCAST_ID || self.instruction & 0x80 != 0 {
            return None;
        }
        Some(Status {
            id: self.id,
            error: StatusError(self.instruction),
            data: &self.params,
        })
    }

    /// Parses the parameters according to the instruction, for the device side.
    ///
    /// Every code any [`Variant`] defines is accepted (check [`Variant::supports`] for the
    /// bus at hand). Errors: [`DecodeError::UnknownInstruction`] for other codes,
    /// [`DecodeError::BadParams`] when the parameters do not fit the instruction. Whether a
    /// multi-device instruction was sent to [`BROADCAST_ID`] is left to the caller.
    pub fn parse(&self) -> Result<Instruction<'_>, DecodeError> {
        use instruction as i;
        let p = self.params.as_slice();
        let bad = |reason| DecodeError::BadParams {
            instruction: self.instruction,
            reason,
        };
        let none = |instruction: Instruction<'static>| {
            if p.is_empty() {
                Ok(instruction)
            } else {
                Err(bad("this instruction takes no parameters"))
            }
        };
        match self.instruction {
            i::PING => none(Instruction::Ping),
            i::ACTION => none(Instruction::Action),
            i::RESET => none(Instruction::Reset),
            i::REBOOT => none(Instruction::Reboot),
            i::PARAMETER_BACKUP => none(Instruction::ParameterBackup),
            i::STATUS_RESET => none(Instruction::StatusReset),
            i::READ => match *p {
                [address, length] => Ok(Instruction::Read { address, length }),
                _ => Err(bad("expected address and length (2 bytes)")),
            },
            i::WRITE | i::REG_WRITE => {
                let (&address, data) = p
                    .split_first()
                    .filter(|(_, data)| !data.is_empty())
                    .ok_or(bad("expected an address and at least one data byte"))?;
                Ok(if self.instruction == i::WRITE {
                    Instruction::Write { address, data }
                } else {
                    Instruction::RegWrite { address, data }
                })
            }
            i::CALIBRATE => match *p {
                [] => Ok(Instruction::Calibrate { value: None }),
                [a, b] => Ok(Instruction::Calibrate {
                    value: Some([a, b]),
                }),
                _ => Err(bad("expected no parameters or a 2-byte value")),
            },
            i::SYNC_READ => match *p {
                [address, length, ref ids @ ..] if !ids.is_empty() => Ok(Instruction::SyncRead {
                    address,
                    length,
                    ids,
                }),
                _ => Err(bad("expected address, length and at least one ID")),
            },
            i::SYNC_WRITE => {
                let [address, length, ref rest @ ..] = *p else {
                    return Err(bad("expected address and length"));
                };
                let chunks = rest.chunks_exact(1 + usize::from(length));
                if rest.is_empty() || !chunks.remainder().is_empty() {
                    return Err(bad("data is not a whole number of (ID, data) items"));
                }
                let items = chunks.map(|c| (c[0], &c[1..])).collect();
                Ok(Instruction::SyncWrite {
                    address,
                    length,
                    items,
                })
            }
            i::BULK_READ => {
                let [0x00, ref rest @ ..] = *p else {
                    return Err(bad("expected the leading 0x00"));
                };
                let chunks = rest.chunks_exact(3);
                if rest.is_empty() || !chunks.remainder().is_empty() {
                    return Err(bad("expected (length, ID, address) items of 3 bytes"));
                }
                let items = chunks.map(|c| (c[1], c[2], c[0])).collect();
                Ok(Instruction::BulkRead { items })
            }
            other => Err(DecodeError::UnknownInstruction(other)),
        }
    }
}

/// Whether a frame may start at `at`: `FF FF` not followed by a third `FF`.
///
/// An ID is never 0xFF, so in a run of `FF`s only the last two can be the header; the
/// others are line noise or padding and are skipped without an error.
fn is_header_at(buf: &[u8], at: usize) -> bool {
    buf.get(at..at + 2) == Some(&HEADER[..]) && buf.get(at + 2) != Some(&0xFF)
}

/// Index of the first possible header in `buf` at or after `from`.
fn find_header(buf: &[u8], from: usize) -> Option<usize> {
    (from..buf.len()).find(|&at| is_header_at(buf, at))
}

/// The total length of the frame at `at` if it is complete, sane and its checksum right.
fn verified_frame_at(buf: &[u8], at: usize) -> Option<usize> {
    let len = *buf.get(at + 3)?;
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return None;
    }
    let total = PREFIX_LEN + usize::from(len);
    let frame = buf.get(at..at + total)?;
    (checksum(&frame[2..total - 1]) == frame[total - 1]).then_some(total)
}

/// Finds and decodes the next packet at the front of `buf`, consuming its bytes.
///
/// * `Ok(Some(packet))`: a packet was decoded; its frame and any garbage before it are
///   consumed.
/// * `Ok(None)`: more bytes are needed. Nothing is consumed except leading garbage before a
///   possible header (a trailing `FF` or `FF FF` is kept).
/// * `Err(e)`: a corrupt frame was dropped. After a bad checksum or an impossible length
///   only its first header byte is consumed, so the next call rescans from the second byte
///   and finds the next good frame even if it starts inside the bytes the corrupt frame
///   claimed. An incomplete frame is dropped ([`DecodeError::Truncated`]) only when a
///   complete frame with a correct checksum already follows within its claimed length:
///   without byte stuffing, `FF FF` in a corrupt frame's parameters can look like a header
///   with a long length, and waiting for it would hold up the good frame behind it.
///
/// Call it in a loop until it returns `Ok(None)`.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
    match find_header(buf, 0) {
        Some(start) => buf.advance(start),
        None => {
            let keep = usize::from(buf.last() == Some(&0xFF));
            let garbage = buf.len() - keep;
            buf.advance(garbage);
            return Ok(None);
        }
    }
    let Some(&len) = buf.get(3) else {
        return Ok(None);
    };
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        buf.advance(1);
        return Err(DecodeError::BadLength(len));
    }
    let total = PREFIX_LEN + usize::from(len);
    if buf.len() < total {
        let mut from = 1;
        while let Some(at) = find_header(buf, from) {
            if verified_frame_at(buf, at).is_some() {
                buf.advance(at);
                return Err(DecodeError::Truncated { len, next_at: at });
            }
            from = at + 1;
        }
        return Ok(None);
    }
    let expected = checksum(&buf[2..total - 1]);
    let actual = buf[total - 1];
    if expected != actual {
        buf.advance(1);
        return Err(DecodeError::BadChecksum { expected, actual });
    }
    let frame = buf.split_to(total);
    Ok(Some(Packet {
        id: frame[2],
        instruction: frame[4],
        params: frame[5..total - 1].to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    //! Unit tests of the private helpers: header search and frame verification.

    use super::*;

    #[test]
    fn header_search_skips_runs_of_ff() {
        assert_eq!(find_header(&[0x01, 0xFF, 0xFF, 0x01], 0), Some(1));
        assert_eq!(find_header(&[0xFF, 0xFF, 0xFF, 0x01], 0), Some(1));
        assert_eq!(find_header(&[0xFF, 0xFF, 0xFF, 0xFF, 0x07], 0), Some(2));
        // A header at the very end may still be completed by the next read.
        assert_eq!(find_header(&[0x00, 0xFF, 0xFF], 0), Some(1));
        assert_eq!(find_header(&[0xFF, 0xFF, 0xFF], 0), Some(1));
        assert_eq!(find_header(&[0x00, 0xFF], 0), None);
        assert_eq!(
            find_header(&[0xFF, 0xFF, 0x01, 0xFF, 0xFF, 0x02], 1),
            Some(3)
        );
        assert_eq!(find_header(&[], 0), None);
    }

    #[test]
    fn frame_verification() {
        let ping = [0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFB];
        assert_eq!(verified_frame_at(&ping, 0), Some(6));
        assert_eq!(verified_frame_at(&ping[..5], 0), None);
        assert_eq!(
            verified_frame_at(&[0xFF, 0xFF, 0x01, 0x02, 0x01, 0xFA], 0),
            None
        );
        assert_eq!(verified_frame_at(&[0xFF, 0xFF, 0x01, 0x01, 0xFD], 0), None);
    }

    #[test]
    fn wire_len_saturates() {
        assert_eq!(wire_len(0), 2);
        assert_eq!(wire_len(253), 255);
        assert_eq!(wire_len(254), 255);
        assert_eq!(wire_len(usize::MAX), 255);
    }
}
