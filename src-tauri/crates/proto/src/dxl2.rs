//! DYNAMIXEL Protocol 2.0 codec: building, encoding, decoding and parsing packets.
//!
//! A frame on the wire is
//!
//! ```text
//! FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAM … | CRC_L CRC_H
//! ```
//!
//! `LEN` counts the instruction byte, the parameters (after byte stuffing) and the two
//! CRC bytes. The CRC is CRC-16 with polynomial 0x8005, initial value 0, not reflected
//! (the catalogue's CRC-16/UMTS), over every byte from the header to the last parameter,
//! stuffing included, sent little-endian.
//!
//! Byte stuffing: wherever `FF FF FD` occurs in the instruction and parameters, the sender
//! inserts one extra `FD` after it so the payload never looks like a header; the receiver
//! removes it. [`Packet::params`] always holds the un-stuffed bytes.
//!
//! One exception from the spec: the combined status packet that answers Fast Sync Read
//! and Fast Bulk Read (sent with the broadcast ID) is *not* byte-stuffed. This codec
//! therefore neither stuffs nor un-stuffs a status packet whose ID is [`BROADCAST_ID`];
//! see [`Packet::fast_read_status`] and [`Status::fast_read_items`].
//!
//! [`decode`] pulls packets out of a receive buffer, resynchronising after garbage and
//! corrupt frames; [`Packet::parse`] turns an instruction packet's parameters back into
//! an [`Instruction`], which is what a simulated device needs.

use bytes::{Buf, BytesMut};
use crc::{CRC_16_UMTS, Crc};

/// The four bytes every Protocol 2.0 frame starts with (three header bytes and the reserved 0x00).
pub const HEADER: [u8; 4] = [0xFF, 0xFF, 0xFD, 0x00];

/// Packet ID that addresses every device on the bus.
pub const BROADCAST_ID: u8 = 0xFE;

/// Highest ID a single device can have (0 ..= 252 are usable).
pub const MAX_ID: u8 = 0xFC;

/// Largest `LEN` field [`decode`] accepts (and [`Packet::try_encode`] produces).
///
/// ROBOTIS' own SDK uses 1 KiB packet buffers; anything beyond 2 KiB is treated as a
/// corrupt length so that garbage cannot make the decoder wait for megabytes.
pub const MAX_LEN: usize = 2048;

/// Bytes before the instruction: header, ID and the two length bytes.
const PREFIX_LEN: usize = 7;

/// The byte-stuffing trigger pattern.
const STUFF_PATTERN: [u8; 3] = [0xFF, 0xFF, 0xFD];

/// Fixed key that must follow the option byte of a Clear instruction.
pub const CLEAR_KEY: [u8; 4] = [0x44, 0x58, 0x4C, 0x22];

/// Fixed key ("CTRL") that must follow the option byte of a Control Table Backup instruction.
pub const BACKUP_KEY: [u8; 4] = [0x43, 0x54, 0x52, 0x4C];

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_UMTS);

/// The Protocol 2.0 CRC-16 (poly 0x8005, init 0, not reflected) of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

pub mod instruction {
    //! Instruction codes (the byte after `LEN`), as listed in the Protocol 2.0 spec.

    /// Checks that a device exists; answered with model number and firmware version.
    pub const PING: u8 = 0x01;
    /// Reads from the control table.
    pub const READ: u8 = 0x02;
    /// Writes to the control table.
    pub const WRITE: u8 = 0x03;
    /// Registers a write that is carried out on the next Action.
    pub const REG_WRITE: u8 = 0x04;
    /// Carries out a registered write.
    pub const ACTION: u8 = 0x05;
    /// Resets the control table to factory defaults.
    pub const FACTORY_RESET: u8 = 0x06;
    /// Reboots the device.
    pub const REBOOT: u8 = 0x08;
    /// Resets certain state (multi-turn position information).
    pub const CLEAR: u8 = 0x10;
    /// Stores the control table to, or restores it from, the backup area.
    pub const CONTROL_TABLE_BACKUP: u8 = 0x20;
    /// Status (return) packet sent by a device.
    pub const STATUS: u8 = 0x55;
    /// Reads the same address and length from several devices.
    pub const SYNC_READ: u8 = 0x82;
    /// Writes the same address and length to several devices.
    pub const SYNC_WRITE: u8 = 0x83;
    /// Like Sync Read, but all devices answer in one combined status packet.
    pub const FAST_SYNC_READ: u8 = 0x8A;
    /// Reads a different address and length from each of several devices.
    pub const BULK_READ: u8 = 0x92;
    /// Writes a different address and length to each of several devices.
    pub const BULK_WRITE: u8 = 0x93;
    /// Like Bulk Read, but all devices answer in one combined status packet.
    pub const FAST_BULK_READ: u8 = 0x9A;

    /// The spec's name for an instruction code, `None` if the code is not defined.
    pub fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            PING => "Ping",
            READ => "Read",
            WRITE => "Write",
            REG_WRITE => "Reg Write",
            ACTION => "Action",
            FACTORY_RESET => "Factory Reset",
            REBOOT => "Reboot",
            CLEAR => "Clear",
            CONTROL_TABLE_BACKUP => "Control Table Backup",
            STATUS => "Status",
            SYNC_READ => "Sync Read",
            SYNC_WRITE => "Sync Write",
            FAST_SYNC_READ => "Fast Sync Read",
            BULK_READ => "Bulk Read",
            BULK_WRITE => "Bulk Write",
            FAST_BULK_READ => "Fast Bulk Read",
            _ => return None,
        })
    }
}

pub mod option {
    //! Option bytes of Factory Reset, Clear and Control Table Backup.

    /// Factory Reset: reset everything (ignored by devices when sent to the broadcast ID).
    pub const RESET_ALL: u8 = 0xFF;
    /// Factory Reset: reset everything except the ID.
    pub const RESET_ALL_EXCEPT_ID: u8 = 0x01;
    /// Factory Reset: reset everything except the ID and the baud rate.
    pub const RESET_ALL_EXCEPT_ID_AND_BAUD: u8 = 0x02;
    /// Clear: reset the multi-turn position to an absolute value within one turn.
    pub const CLEAR_MULTI_TURN: u8 = 0x01;
    /// Control Table Backup: store the current control table in the backup area.
    pub const BACKUP_STORE: u8 = 0x01;
    /// Control Table Backup: restore the EEPROM area from the backup (the device reboots).
    pub const BACKUP_RESTORE: u8 = 0x02;
}

pub mod error_code {
    //! Error numbers in bits 0..6 of a status packet's error byte.

    /// The device failed to process the instruction.
    pub const RESULT_FAIL: u8 = 1;
    /// Undefined instruction, or Action without a registered Reg Write.
    pub const INSTRUCTION: u8 = 2;
    /// The instruction packet's CRC did not match.
    pub const CRC: u8 = 3;
    /// The value to write is outside the register's minimum/maximum.
    pub const DATA_RANGE: u8 = 4;
    /// The data is shorter than the register it is written to.
    pub const DATA_LENGTH: u8 = 5;
    /// The value to write is outside a configured limit.
    pub const DATA_LIMIT: u8 = 6;
    /// Write to a read-only or undefined address, read of a write-only or undefined
    /// address, or write to EEPROM while torque is enabled.
    pub const ACCESS: u8 = 7;
}

/// The error byte of a status packet: bit 7 is the alert flag, bits 0..6 an error number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatusError(pub u8);

impl StatusError {
    /// Bit 7 of the error byte.
    pub const ALERT_BIT: u8 = 0x80;

    /// True if the device reports a hardware problem (read Hardware Error Status for details).
    pub fn alert(&self) -> bool {
        self.0 & Self::ALERT_BIT != 0
    }

    /// The error number (bits 0..6); 0 when the instruction was processed.
    pub fn code(&self) -> u8 {
        self.0 & !Self::ALERT_BIT
    }

    /// True if the instruction was processed (error number 0).
    ///
    /// This ignores the alert bit: a device with a hardware error still answers reads
    /// correctly, so check [`StatusError::alert`] separately.
    pub fn is_ok(&self) -> bool {
        self.code() == 0
    }

    /// The spec's name for the error number, `None` for 0 and for undefined numbers.
    pub fn description(&self) -> Option<&'static str> {
        Some(match self.code() {
            error_code::RESULT_FAIL => "Result Fail",
            error_code::INSTRUCTION => "Instruction Error",
            error_code::CRC => "CRC Error",
            error_code::DATA_RANGE => "Data Range Error",
            error_code::DATA_LENGTH => "Data Length Error",
            error_code::DATA_LIMIT => "Data Limit Error",
            error_code::ACCESS => "Access Error",
            _ => return None,
        })
    }
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code(), self.description()) {
            (0, _) => f.write_str("no error")?,
            (code, Some(text)) => write!(f, "{text} ({code})")?,
            (code, None) => write!(f, "unknown error {code}")?,
        }
        if self.alert() {
            f.write_str(", alert: hardware error status set")?;
        }
        Ok(())
    }
}

/// A decoded status packet: which device answered, its error byte and the returned data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status<'a> {
    /// ID of the answering device.
    pub id: u8,
    /// The error byte.
    pub error: StatusError,
    /// The parameters after the error byte.
    pub data: &'a [u8],
}

/// One device's part of a Fast Sync Read / Fast Bulk Read answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastReadItem<'a> {
    /// ID of the device.
    pub id: u8,
    /// That device's error byte.
    pub error: StatusError,
    /// The bytes it read.
    pub data: &'a [u8],
}

impl<'a> Status<'a> {
    /// Splits the combined answer to a Fast Sync Read or Fast Bulk Read into one item per
    /// device. `lengths` are the data lengths that were requested, in request order.
    ///
    /// Layout of [`Status::data`]: `ID₁ DATA₁ CRC₁ ERR₂ ID₂ DATA₂ CRC₂ … ERRₙ IDₙ DATAₙ`; the
    /// first device's error byte is [`Status::error`]. The per-device CRCs are skipped: the
    /// packet's own CRC already covers every byte.
    pub fn fast_read_items(&self, lengths: &[usize]) -> Result<Vec<FastReadItem<'a>>, DecodeError> {
        let bad = |reason| DecodeError::BadParams {
            instruction: instruction::STATUS,
            reason,
        };
        let mut items = Vec::with_capacity(lengths.len());
        let mut rest = self.data;
        for (index, &length) in lengths.iter().enumerate() {
            let error = if index == 0 {
                self.error
            } else {
                // Previous device's two CRC bytes, then this device's error byte.
                let (head, tail) = split(rest, 3).ok_or(bad("fast read answer is truncated"))?;
                rest = tail;
                StatusError(head[2])
            };
            let (head, tail) =
                split(rest, 1 + length).ok_or(bad("fast read answer is truncated"))?;
            rest = tail;
            items.push(FastReadItem {
                id: head[0],
                error,
                data: &head[1..],
            });
        }
        if !rest.is_empty() {
            return Err(bad("fast read answer is longer than the requested lengths"));
        }
        Ok(items)
    }
}

/// A Protocol 2.0 packet, instruction or status; `params` are un-stuffed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Device ID, or [`BROADCAST_ID`].
    pub id: u8,
    /// Instruction code, see [`instruction`].
    pub instruction: u8,
    /// Parameters without byte stuffing (for a status packet: the error byte, then data).
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
        address: u16,
        /// Number of bytes.
        length: u16,
    },
    /// Write `data` at `address`.
    Write {
        /// First control table address.
        address: u16,
        /// Bytes to write.
        data: &'a [u8],
    },
    /// Register a write of `data` at `address`, carried out on Action.
    RegWrite {
        /// First control table address.
        address: u16,
        /// Bytes to write.
        data: &'a [u8],
    },
    /// Carry out the registered write.
    Action,
    /// Factory reset; see [`option`] for the option values.
    FactoryReset {
        /// What to keep.
        option: u8,
    },
    /// Reboot.
    Reboot,
    /// Clear (the fixed key was present and correct).
    Clear {
        /// What to clear; see [`option::CLEAR_MULTI_TURN`].
        option: u8,
    },
    /// Control table backup or restore (the fixed key was present and correct).
    ControlTableBackup {
        /// [`option::BACKUP_STORE`] or [`option::BACKUP_RESTORE`].
        option: u8,
    },
    /// Sync Read: `length` bytes at `address` from each of `ids`.
    SyncRead {
        /// First control table address.
        address: u16,
        /// Number of bytes per device.
        length: u16,
        /// Devices, in the order they must answer.
        ids: &'a [u8],
    },
    /// Fast Sync Read: like Sync Read, answered with one combined status packet.
    FastSyncRead {
        /// First control table address.
        address: u16,
        /// Number of bytes per device.
        length: u16,
        /// Devices, in the order they must answer.
        ids: &'a [u8],
    },
    /// Sync Write: the same address and length for every device.
    SyncWrite {
        /// First control table address.
        address: u16,
        /// Number of bytes per device.
        length: u16,
        /// `(id, data)`, each data `length` bytes long.
        items: Vec<(u8, &'a [u8])>,
    },
    /// Bulk Read: `(id, address, length)` per device.
    BulkRead {
        /// `(id, address, length)`, in the order the devices must answer.
        items: Vec<(u8, u16, u16)>,
    },
    /// Fast Bulk Read: like Bulk Read, answered with one combined status packet.
    FastBulkRead {
        /// `(id, address, length)`, in the order the devices must answer.
        items: Vec<(u8, u16, u16)>,
    },
    /// Bulk Write: `(id, address, data)` per device.
    BulkWrite {
        /// `(id, address, data)`.
        items: Vec<(u8, u16, &'a [u8])>,
    },
    /// A status packet.
    Status(Status<'a>),
}

/// Why bytes could not be decoded into a packet, or a packet's parameters not parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The CRC carried by the frame differs from the one computed over its bytes.
    #[error("bad CRC: computed {expected:#06x} but the frame carries {actual:#06x}")]
    BadCrc {
        /// CRC computed over the received bytes.
        expected: u16,
        /// CRC found in the frame.
        actual: u16,
    },
    /// The `LEN` field is below 3 or above [`MAX_LEN`].
    #[error("impossible packet length {0} (must be 3..={MAX_LEN})")]
    BadLength(usize),
    /// The ID is 0xFD or 0xFF, which the spec reserves.
    #[error("invalid packet ID {0:#04x}")]
    BadId(u8),
    /// `FF FF FD` in the payload was not followed by the stuffing byte `FD`.
    #[error("bad byte stuffing: FF FF FD in the payload is not followed by FD")]
    BadStuffing,
    /// [`Packet::parse`] met an instruction code the spec does not define.
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

/// Appends `value` little-endian.
fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A length as the u16 the wire format carries (saturating; such packets exceed [`MAX_LEN`]).
fn wire_len(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// Splits `bytes` at `at`, or `None` if it is shorter.
fn split(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (bytes.len() >= at).then(|| bytes.split_at(at))
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Inserts the stuffing byte after every `FF FF FD` in `region` (instruction + params).
fn stuff(region: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(region.len() + region.len() / 8);
    for &byte in region {
        out.push(byte);
        if byte == 0xFD && out.ends_with(&STUFF_PATTERN) {
            out.push(0xFD);
        }
    }
    out
}

/// Removes the stuffing byte after every `FF FF FD` in `region`.
fn unstuff(region: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(region.len());
    let mut bytes = region.iter().copied();
    while let Some(byte) = bytes.next() {
        out.push(byte);
        if byte == 0xFD && out.ends_with(&STUFF_PATTERN) && bytes.next() != Some(0xFD) {
            return Err(DecodeError::BadStuffing);
        }
    }
    Ok(out)
}

/// Status packets from the broadcast ID are Fast Read answers, which the spec leaves unstuffed.
fn is_unstuffed(id: u8, instruction: u8) -> bool {
    id == BROADCAST_ID && instruction == instruction::STATUS
}

impl Packet {
    /// A packet from its parts; `params` un-stuffed.
    pub fn new(id: u8, instruction: u8, params: Vec<u8>) -> Packet {
        Packet {
            id,
            instruction,
            params,
        }
    }

    /// Ping `id` (or every device with [`BROADCAST_ID`]).
    pub fn ping(id: u8) -> Packet {
        Packet::new(id, instruction::PING, Vec::new())
    }

    /// Read `length` bytes from `address`.
    pub fn read(id: u8, address: u16, length: u16) -> Packet {
        let mut params = Vec::with_capacity(4);
        put_u16(&mut params, address);
        put_u16(&mut params, length);
        Packet::new(id, instruction::READ, params)
    }

    fn address_and_data(id: u8, instruction: u8, address: u16, data: &[u8]) -> Packet {
        let mut params = Vec::with_capacity(2 + data.len());
        put_u16(&mut params, address);
        params.extend_from_slice(data);
        Packet::new(id, instruction, params)
    }

    /// Write `data` at `address`.
    pub fn write(id: u8, address: u16, data: &[u8]) -> Packet {
        Packet::address_and_data(id, instruction::WRITE, address, data)
    }

    /// Register a write of `data` at `address`, carried out by [`Packet::action`].
    pub fn reg_write(id: u8, address: u16, data: &[u8]) -> Packet {
        Packet::address_and_data(id, instruction::REG_WRITE, address, data)
    }

    /// Carry out registered writes.
    pub fn action(id: u8) -> Packet {
        Packet::new(id, instruction::ACTION, Vec::new())
    }

    /// Factory reset with an [`option`] (`RESET_ALL`, `RESET_ALL_EXCEPT_ID`, …).
    pub fn factory_reset(id: u8, option: u8) -> Packet {
        Packet::new(id, instruction::FACTORY_RESET, vec![option])
    }

    /// Reboot.
    pub fn reboot(id: u8) -> Packet {
        Packet::new(id, instruction::REBOOT, Vec::new())
    }

    /// Clear with an option (only [`option::CLEAR_MULTI_TURN`] is defined); adds the fixed key.
    pub fn clear(id: u8, option: u8) -> Packet {
        let mut params = vec![option];
        params.extend_from_slice(&CLEAR_KEY);
        Packet::new(id, instruction::CLEAR, params)
    }

    /// Control table backup ([`option::BACKUP_STORE`]) or restore ([`option::BACKUP_RESTORE`]);
    /// adds the fixed key.
    pub fn control_table_backup(id: u8, option: u8) -> Packet {
        let mut params = vec![option];
        params.extend_from_slice(&BACKUP_KEY);
        Packet::new(id, instruction::CONTROL_TABLE_BACKUP, params)
    }

    fn address_length_ids(instruction: u8, address: u16, length: u16, ids: &[u8]) -> Packet {
        let mut params = Vec::with_capacity(4 + ids.len());
        put_u16(&mut params, address);
        put_u16(&mut params, length);
        params.extend_from_slice(ids);
        Packet::new(BROADCAST_ID, instruction, params)
    }

    /// Sync Read `length` bytes at `address` from each of `ids` (sent to [`BROADCAST_ID`]).
    pub fn sync_read(address: u16, length: u16, ids: &[u8]) -> Packet {
        Packet::address_length_ids(instruction::SYNC_READ, address, length, ids)
    }

    /// Fast Sync Read: like [`Packet::sync_read`], answered by one combined status packet.
    pub fn fast_sync_read(address: u16, length: u16, ids: &[u8]) -> Packet {
        Packet::address_length_ids(instruction::FAST_SYNC_READ, address, length, ids)
    }

    /// Sync Write `length` bytes at `address` to each `(id, data)`; every data must be
    /// `length` bytes long. Sent to [`BROADCAST_ID`].
    pub fn sync_write(
        address: u16,
        length: u16,
        items: &[(u8, &[u8])],
    ) -> Result<Packet, EncodeError> {
        let expected = usize::from(length);
        let mut params = Vec::with_capacity(4 + items.len() * (1 + expected));
        put_u16(&mut params, address);
        put_u16(&mut params, length);
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

    fn bulk_read_with(instruction: u8, items: &[(u8, u16, u16)]) -> Packet {
        let mut params = Vec::with_capacity(items.len() * 5);
        for &(id, address, length) in items {
            params.push(id);
            put_u16(&mut params, address);
            put_u16(&mut params, length);
        }
        Packet::new(BROADCAST_ID, instruction, params)
    }

    /// Bulk Read `(id, address, length)` from each device (sent to [`BROADCAST_ID`]).
    pub fn bulk_read(items: &[(u8, u16, u16)]) -> Packet {
        Packet::bulk_read_with(instruction::BULK_READ, items)
    }

    /// Fast Bulk Read: like [`Packet::bulk_read`], answered by one combined status packet.
    pub fn fast_bulk_read(items: &[(u8, u16, u16)]) -> Packet {
        Packet::bulk_read_with(instruction::FAST_BULK_READ, items)
    }

    /// Bulk Write `(id, address, data)` to each device (sent to [`BROADCAST_ID`]).
    pub fn bulk_write(items: &[(u8, u16, &[u8])]) -> Packet {
        let mut params = Vec::with_capacity(items.iter().map(|(_, _, data)| 5 + data.len()).sum());
        for &(id, address, data) in items {
            params.push(id);
            put_u16(&mut params, address);
            put_u16(&mut params, wire_len(data.len()));
            params.extend_from_slice(data);
        }
        Packet::new(BROADCAST_ID, instruction::BULK_WRITE, params)
    }

    /// A status packet from `id`; its parameters are the `error` byte followed by `params`
    /// (the returned data).
    pub fn status(id: u8, error: u8, params: &[u8]) -> Packet {
        let mut all = Vec::with_capacity(1 + params.len());
        all.push(error);
        all.extend_from_slice(params);
        Packet::new(id, instruction::STATUS, all)
    }

    /// The combined status packet a chain of devices returns for a Fast Sync Read or Fast
    /// Bulk Read, items in request order. Its ID is [`BROADCAST_ID`], it is not
    /// byte-stuffed, and after each device's data but the last comes the CRC of the frame
    /// up to that point (the last device's is the packet CRC, added by
    /// [`Packet::encode`]). With no items the packet has no parameters.
    pub fn fast_read_status(items: &[FastReadItem<'_>]) -> Packet {
        let params_len: usize = items.iter().map(|item| 2 + item.data.len()).sum::<usize>()
            + 2 * items.len().saturating_sub(1);
        let mut frame = Vec::with_capacity(PREFIX_LEN + 1 + params_len + 2);
        frame.extend_from_slice(&HEADER);
        frame.push(BROADCAST_ID);
        put_u16(&mut frame, wire_len(1 + params_len + 2));
        frame.push(instruction::STATUS);
        let params_start = frame.len();
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                let crc = crc16(&frame);
                put_u16(&mut frame, crc);
            }
            frame.push(item.error.0);
            frame.push(item.id);
            frame.extend_from_slice(item.data);
        }
        Packet::new(
            BROADCAST_ID,
            instruction::STATUS,
            frame.split_off(params_start),
        )
    }

    /// The full frame: header, ID, length, stuffed instruction and parameters, CRC.
    ///
    /// Packets whose `LEN` would exceed [`MAX_LEN`] are still encoded (up to the u16
    /// limit of the field) but receivers, [`decode`] included, reject them; use
    /// [`Packet::try_encode`] to have that checked.
    pub fn encode(&self) -> Vec<u8> {
        let mut region = Vec::with_capacity(1 + self.params.len());
        region.push(self.instruction);
        region.extend_from_slice(&self.params);
        let body = if is_unstuffed(self.id, self.instruction) {
            region
        } else {
            stuff(&region)
        };
        let mut out = Vec::with_capacity(PREFIX_LEN + body.len() + 2);
        out.extend_from_slice(&HEADER);
        out.push(self.id);
        put_u16(&mut out, wire_len(body.len() + 2));
        out.extend_from_slice(&body);
        let crc = crc16(&out);
        put_u16(&mut out, crc);
        out
    }

    /// Like [`Packet::encode`], but fails if `LEN` would exceed [`MAX_LEN`].
    pub fn try_encode(&self) -> Result<Vec<u8>, EncodeError> {
        let out = self.encode();
        let len = out.len() - PREFIX_LEN;
        if len > MAX_LEN {
            return Err(EncodeError::TooLong { len, max: MAX_LEN });
        }
        Ok(out)
    }

    /// The status view of this packet: `Some` only for instruction 0x55 with an error byte.
    pub fn as_status(&self) -> Option<Status<'_>> {
        if self.instruction != instruction::STATUS {
            return None;
        }
        let (&error, data) = self.params.split_first()?;
        Some(Status {
            id: self.id,
            error: StatusError(error),
            data,
        })
    }

    /// Parses the parameters according to the instruction.
    ///
    /// Errors: [`DecodeError::UnknownInstruction`] for codes the spec does not define,
    /// [`DecodeError::BadParams`] when the parameters do not fit the instruction (wrong
    /// length, missing data, wrong fixed key, …). Whether a multi-device instruction was
    /// sent to [`BROADCAST_ID`] is left to the caller.
    pub fn parse(&self) -> Result<Instruction<'_>, DecodeError> {
        use instruction as i;
        let p = self.params.as_slice();
        let bad = |reason| DecodeError::BadParams {
            instruction: self.instruction,
            reason,
        };
        let exactly = |n: usize, reason| {
            if p.len() == n {
                Ok(())
            } else {
                Err(bad(reason))
            }
        };
        let keyed = |key: &[u8; 4]| {
            exactly(5, "expected an option byte and a 4-byte key")?;
            if &p[1..] == key {
                Ok(p[0])
            } else {
                Err(bad("wrong fixed key"))
            }
        };
        Ok(match self.instruction {
            i::PING => {
                exactly(0, "ping takes no parameters")?;
                Instruction::Ping
            }
            i::READ => {
                exactly(4, "expected address and length (4 bytes)")?;
                Instruction::Read {
                    address: read_u16(p, 0),
                    length: read_u16(p, 2),
                }
            }
            i::WRITE | i::REG_WRITE => {
                if p.len() < 3 {
                    return Err(bad("expected an address and at least one data byte"));
                }
                let (address, data) = (read_u16(p, 0), &p[2..]);
                if self.instruction == i::WRITE {
                    Instruction::Write { address, data }
                } else {
                    Instruction::RegWrite { address, data }
                }
            }
            i::ACTION => {
                exactly(0, "action takes no parameters")?;
                Instruction::Action
            }
            i::FACTORY_RESET => {
                exactly(1, "expected one option byte")?;
                Instruction::FactoryReset { option: p[0] }
            }
            i::REBOOT => {
                exactly(0, "reboot takes no parameters")?;
                Instruction::Reboot
            }
            i::CLEAR => Instruction::Clear {
                option: keyed(&CLEAR_KEY)?,
            },
            i::CONTROL_TABLE_BACKUP => Instruction::ControlTableBackup {
                option: keyed(&BACKUP_KEY)?,
            },
            i::SYNC_READ | i::FAST_SYNC_READ => {
                if p.len() < 5 {
                    return Err(bad("expected address, length and at least one ID"));
                }
                let (address, length, ids) = (read_u16(p, 0), read_u16(p, 2), &p[4..]);
                if self.instruction == i::SYNC_READ {
                    Instruction::SyncRead {
                        address,
                        length,
                        ids,
                    }
                } else {
                    Instruction::FastSyncRead {
                        address,
                        length,
                        ids,
                    }
                }
            }
            i::SYNC_WRITE => {
                if p.len() < 4 {
                    return Err(bad("expected address and length"));
                }
                let (address, length) = (read_u16(p, 0), read_u16(p, 2));
                let chunk = 1 + usize::from(length);
                let rest = &p[4..];
                let chunks = rest.chunks_exact(chunk);
                if rest.is_empty() || !chunks.remainder().is_empty() {
                    return Err(bad("data is not a whole number of (ID, data) items"));
                }
                let items = chunks.map(|c| (c[0], &c[1..])).collect();
                Instruction::SyncWrite {
                    address,
                    length,
                    items,
                }
            }
            i::BULK_READ | i::FAST_BULK_READ => {
                if p.is_empty() || !p.chunks_exact(5).remainder().is_empty() {
                    return Err(bad("expected (ID, address, length) items of 5 bytes"));
                }
                let items = p
                    .chunks_exact(5)
                    .map(|c| (c[0], read_u16(c, 1), read_u16(c, 3)))
                    .collect();
                if self.instruction == i::BULK_READ {
                    Instruction::BulkRead { items }
                } else {
                    Instruction::FastBulkRead { items }
                }
            }
            i::BULK_WRITE => {
                let mut items = Vec::new();
                let mut rest = p;
                while !rest.is_empty() {
                    let (head, tail) = split(rest, 5).ok_or(bad("truncated bulk write item"))?;
                    let length = usize::from(read_u16(head, 3));
                    let (data, tail) = split(tail, length)
                        .ok_or(bad("bulk write data shorter than its length"))?;
                    items.push((head[0], read_u16(head, 1), data));
                    rest = tail;
                }
                if items.is_empty() {
                    return Err(bad("bulk write without items"));
                }
                Instruction::BulkWrite { items }
            }
            i::STATUS => Instruction::Status(
                self.as_status()
                    .ok_or(bad("status packet without an error byte"))?,
            ),
            other => return Err(DecodeError::UnknownInstruction(other)),
        })
    }
}

/// Index of the first complete header in `buf`.
fn find_header(buf: &[u8]) -> Option<usize> {
    buf.windows(HEADER.len())
        .position(|window| window == HEADER)
}

/// Length of the longest tail of `buf` that could be the start of a header.
fn partial_header_len(buf: &[u8]) -> usize {
    (1..HEADER.len())
        .rev()
        .find(|&k| buf.ends_with(&HEADER[..k]))
        .unwrap_or(0)
}

/// Finds and decodes the next packet at the front of `buf`, consuming its bytes.
///
/// * `Ok(Some(packet))`: a packet was decoded; its frame and any garbage before it are consumed.
/// * `Ok(None)`: more bytes are needed. Nothing is consumed except leading garbage before a
///   possible header (a trailing `FF`, `FF FF` or `FF FF FD` is kept).
/// * `Err(e)`: a corrupt frame (bad CRC, impossible length, reserved ID) was dropped. Only its
///   four header bytes are consumed, so the next call resynchronises on the following header
///   even if the corrupt length field claimed bytes that belong to the next good frame.
///   A frame whose CRC is right but whose stuffing is not is consumed whole.
///
/// Call it in a loop until it returns `Ok(None)`.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
    match find_header(buf) {
        Some(start) => buf.advance(start),
        None => {
            let garbage = buf.len() - partial_header_len(buf);
            buf.advance(garbage);
            return Ok(None);
        }
    }
    if buf.len() < PREFIX_LEN {
        return Ok(None);
    }
    let id = buf[4];
    let len = usize::from(read_u16(buf, 5));
    if id == 0xFD || id == 0xFF {
        buf.advance(HEADER.len());
        return Err(DecodeError::BadId(id));
    }
    if !(3..=MAX_LEN).contains(&len) {
        buf.advance(HEADER.len());
        return Err(DecodeError::BadLength(len));
    }
    let total = PREFIX_LEN + len;
    if buf.len() < total {
        return Ok(None);
    }
    let expected = crc16(&buf[..total - 2]);
    let actual = read_u16(buf, total - 2);
    if expected != actual {
        buf.advance(HEADER.len());
        return Err(DecodeError::BadCrc { expected, actual });
    }
    let frame = buf.split_to(total);
    let instruction = frame[PREFIX_LEN];
    let region = &frame[PREFIX_LEN..total - 2];
    let params = if is_unstuffed(id, instruction) {
        region[1..].to_vec()
    } else {
        let mut unstuffed = unstuff(region)?;
        unstuffed.remove(0);
        unstuffed
    };
    Ok(Some(Packet {
        id,
        instruction,
        params,
    }))
}

#[cfg(test)]
mod tests {
    //! Unit tests of the private helpers: stuffing, header search, CRC parameters.

    use super::*;

    #[test]
    fn crc_matches_the_catalogue_check_value() {
        // CRC-16/UMTS check value over "123456789".
        assert_eq!(crc16(b"123456789"), 0xFEE8);
    }

    #[test]
    fn stuffing_round_trips_awkward_patterns() {
        let cases: &[&[u8]] = &[
            &[0xFF, 0xFF, 0xFD],
            &[0xFF, 0xFF, 0xFD, 0xFD],
            &[0xFF, 0xFF, 0xFF, 0xFD, 0x00],
            &[0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFD],
            &[0x03, 0xFF, 0xFF, 0xFD, 0xFD, 0xFD],
            &[0xFD, 0xFD, 0xFF, 0xFD],
        ];
        for &case in cases {
            let stuffed = stuff(case);
            assert_eq!(unstuff(&stuffed).unwrap(), case, "case {case:02X?}");
            // No unstuffed header pattern survives: each FF FF FD is followed by FD.
            for at in 0..stuffed.len().saturating_sub(2) {
                if stuffed[at..].starts_with(&STUFF_PATTERN) {
                    assert_eq!(stuffed.get(at + 3), Some(&0xFD), "case {case:02X?}");
                }
            }
        }
        assert_eq!(stuff(&[0xFF, 0xFF, 0xFD]), [0xFF, 0xFF, 0xFD, 0xFD]);
        assert_eq!(
            unstuff(&[0x03, 0xFF, 0xFF, 0xFD, 0x00]),
            Err(DecodeError::BadStuffing)
        );
        assert_eq!(
            unstuff(&[0x03, 0xFF, 0xFF, 0xFD]),
            Err(DecodeError::BadStuffing)
        );
    }

    #[test]
    fn partial_header_tail_is_kept() {
        assert_eq!(partial_header_len(&[1, 2, 0xFF]), 1);
        assert_eq!(partial_header_len(&[1, 0xFF, 0xFF]), 2);
        assert_eq!(partial_header_len(&[0xFF, 0xFF, 0xFD]), 3);
        assert_eq!(partial_header_len(&[0xFF, 0xFD, 0x00]), 0);
        assert_eq!(partial_header_len(&[]), 0);
    }
}
