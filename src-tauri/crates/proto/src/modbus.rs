//! Modbus RTU codec: request and response frames for both ends of the line, CRC-16/MODBUS,
//! stream decoders that resynchronise, and the inter-frame silence per baud rate.
//!
//! A frame (ADU) on the wire is
//!
//! ```text
//! SLAVE | FUNCTION | DATA … | CRC low | CRC high
//! ```
//!
//! at most [`MAX_FRAME_LEN`] bytes, register values and addresses big-endian, the CRC
//! (CRC-16/MODBUS, from the `crc` crate) low byte first. Supported functions: Read Holding
//! Registers (03), Read Input Registers (04), Write Single Register (06), Write Multiple
//! Registers (16), and exception responses (the function with bit 7 set, then an
//! [`ExceptionCode`]). Slave address 0 is the broadcast: only writes may be broadcast, and
//! nobody answers them.
//!
//! RTU has no start marker and no length field: where a frame ends follows from its
//! function code (and, for 16 and for read responses, a byte count), and a response's
//! shape depends on the request it answers. Hence two decoders:
//!
//! - master side: [`decode_response`] is given the request that was sent and looks only for
//!   its answer (same slave, same function or its exception), checking the byte count and
//!   the echo against the request;
//! - device side: [`decode_request`] reads requests addressed to anyone (the caller
//!   filters by its own address), refuses those the specification forbids with the
//!   exception a device answers (see [`DecodeError::exception_reply`]), and the
//!   `RequestFrame::reply_*` builders make the answers.
//!
//! Both return `Ok(None)` on a partial frame, drop bytes that cannot start a frame, drop
//! one byte after a bad CRC so that the next call rescans from the byte after, and drop an
//! incomplete frame only when a complete frame with a good CRC already starts inside it
//! (as tokio-modbus's RTU codec does, the next good frame is never lost). The codec does
//! no I/O and keeps no timers; [`Silence::for_baud`] gives the t1.5/t3.5 gaps of the
//! Modbus over Serial Line specification for the link to apply.
//!
//! # Why not tokio-modbus on the master side
//!
//! Decision: DriveDeck does not use tokio-modbus; both ends use this codec. tokio-modbus's
//! RTU client owns its transport (a `tokio_util` `Framed` over the port) and performs a
//! whole transaction per call. DriveDeck's link design needs the opposite: one link actor
//! owns the serial port and decides, byte by byte, what is written when — an E-stop frame
//! must go out ahead of queued jobs and within one frame time, the actor enforces the t3.5
//! silence and reply timeouts computed from the baud rate, and every byte sent and
//! received is captured raw for the job log. Wrapping tokio-modbus would hide the bytes and
//! the timing that the actor exists to control, and the simulator needs a pure device-side
//! codec anyway. What tokio-modbus would have saved is small: the CRC comes from the `crc`
//! crate, and the framing of four functions is the few hundred lines below, tested
//! against the specification's own examples.

use std::fmt;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use crc::{CRC_16_MODBUS, Crc};

/// Slave address that addresses every device; only writes may use it, nobody answers.
pub const BROADCAST: u8 = 0;

/// Highest individual slave address (248..=255 are reserved).
pub const MAX_SLAVE: u8 = 247;

/// Longest RTU frame: address, 253-byte PDU, CRC.
pub const MAX_FRAME_LEN: usize = 256;

/// Most registers one Read Holding/Input Registers request may ask for.
pub const MAX_READ_QUANTITY: u16 = 125;

/// Most registers one Write Multiple Registers request may carry.
pub const MAX_WRITE_QUANTITY: u16 = 123;

/// Bit set in the function code of an exception response.
pub const EXCEPTION_FLAG: u8 = 0x80;

/// Bits per character in RTU mode: start, 8 data, parity (or a second stop bit), stop.
pub const BITS_PER_CHAR: u32 = 11;

/// Shortest frame: address, function, one data byte (an exception code), CRC.
const MIN_FRAME_LEN: usize = 5;

pub mod function {
    //! Function codes this codec supports.

    /// Read Holding Registers (03).
    pub const READ_HOLDING_REGISTERS: u8 = 0x03;
    /// Read Input Registers (04).
    pub const READ_INPUT_REGISTERS: u8 = 0x04;
    /// Write Single Register (06).
    pub const WRITE_SINGLE_REGISTER: u8 = 0x06;
    /// Write Multiple Registers (16).
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;

    /// The specification's name of a function code this codec supports.
    pub fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            READ_HOLDING_REGISTERS => "Read Holding Registers",
            READ_INPUT_REGISTERS => "Read Input Registers",
            WRITE_SINGLE_REGISTER => "Write Single Register",
            WRITE_MULTIPLE_REGISTERS => "Write Multiple Registers",
            _ => return None,
        })
    }
}

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);

/// CRC-16/MODBUS of `bytes` (sent low byte first after them).
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// Appends the CRC of everything in `out`, low byte first.
fn push_crc(out: &mut Vec<u8>) {
    let crc = crc16(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// `(computed, carried)` CRCs of a whole frame.
fn crcs(frame: &[u8]) -> (u16, u16) {
    let (body, tail) = frame.split_at(frame.len() - 2);
    (crc16(body), u16::from_le_bytes([tail[0], tail[1]]))
}

fn crc_ok(frame: &[u8]) -> bool {
    let (computed, carried) = crcs(frame);
    computed == carried
}

// ---------------------------------------------------------------------------------------
// Timing

/// The silent intervals of RTU framing at one baud rate (Modbus over Serial Line V1.02,
/// 2.5.1.1): a gap of more than t1.5 inside a frame breaks it; frames are separated by at
/// least t3.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// Longest gap allowed between two characters of one frame.
    pub t1_5: Duration,
    /// Shortest gap between two frames.
    pub t3_5: Duration,
}

impl Silence {
    /// The fixed values the specification recommends above 19200 baud.
    pub const ABOVE_19200: Silence = Silence {
        t1_5: Duration::from_micros(750),
        t3_5: Duration::from_micros(1750),
    };

    /// The silences at `baud`: 1.5 and 3.5 character times (11 bits each) up to 19200
    /// baud, the fixed 750 µs and 1.75 ms above. `None` for 0 baud.
    pub fn for_baud(baud: u32) -> Option<Silence> {
        if baud == 0 {
            return None;
        }
        if baud > 19_200 {
            return Some(Silence::ABOVE_19200);
        }
        // 1.5 and 3.5 characters in nanoseconds: 3 and 7 half-characters.
        let half_char_ns = u64::from(BITS_PER_CHAR) * 1_000_000_000 / 2;
        let at = |halves: u64| Duration::from_nanos(halves * half_char_ns / u64::from(baud));
        Some(Silence {
            t1_5: at(3),
            t3_5: at(7),
        })
    }
}

/// Time on the wire of `bytes` characters at `baud` (11 bits each); `None` for 0 baud.
pub fn wire_time(baud: u32, bytes: usize) -> Option<Duration> {
    if baud == 0 {
        return None;
    }
    let bits = u128::from(BITS_PER_CHAR) * bytes as u128;
    let ns = bits * 1_000_000_000 / u128::from(baud);
    Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
}

// ---------------------------------------------------------------------------------------
// Exceptions

/// Why a device refused a request (the byte after the function code of an exception
/// response). Names as in the Modbus Application Protocol V1.1b3, section 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionCode {
    /// 01: the function code is not supported.
    IllegalFunction,
    /// 02: the address, or address plus quantity, is not allowed.
    IllegalDataAddress,
    /// 03: a value in the request is not allowed (e.g. the quantity).
    IllegalDataValue,
    /// 04: an unrecoverable error while performing the action.
    ServerDeviceFailure,
    /// 05: accepted, but it takes long; poll for completion.
    Acknowledge,
    /// 06: busy with a long command; retry later.
    ServerDeviceBusy,
    /// 07: the program function cannot be performed (Modicon PI-MBUS-300; no longer in
    /// the current specification).
    NegativeAcknowledge,
    /// 08: a parity error in the extended file memory.
    MemoryParityError,
    /// 0A: the gateway could not allocate a path.
    GatewayPathUnavailable,
    /// 0B: no answer from the device behind the gateway.
    GatewayTargetDeviceFailedToRespond,
    /// Any other code (09, 0C..=FF), kept as received.
    Unknown(u8),
}

impl ExceptionCode {
    /// The code with this byte value.
    pub fn from_code(code: u8) -> ExceptionCode {
        match code {
            0x01 => ExceptionCode::IllegalFunction,
            0x02 => ExceptionCode::IllegalDataAddress,
            0x03 => ExceptionCode::IllegalDataValue,
            0x04 => ExceptionCode::ServerDeviceFailure,
            0x05 => ExceptionCode::Acknowledge,
            0x06 => ExceptionCode::ServerDeviceBusy,
            0x07 => ExceptionCode::NegativeAcknowledge,
            0x08 => ExceptionCode::MemoryParityError,
            0x0A => ExceptionCode::GatewayPathUnavailable,
            0x0B => ExceptionCode::GatewayTargetDeviceFailedToRespond,
            other => ExceptionCode::Unknown(other),
        }
    }

    /// The byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            ExceptionCode::IllegalFunction => 0x01,
            ExceptionCode::IllegalDataAddress => 0x02,
            ExceptionCode::IllegalDataValue => 0x03,
            ExceptionCode::ServerDeviceFailure => 0x04,
            ExceptionCode::Acknowledge => 0x05,
            ExceptionCode::ServerDeviceBusy => 0x06,
            ExceptionCode::NegativeAcknowledge => 0x07,
            ExceptionCode::MemoryParityError => 0x08,
            ExceptionCode::GatewayPathUnavailable => 0x0A,
            ExceptionCode::GatewayTargetDeviceFailedToRespond => 0x0B,
            ExceptionCode::Unknown(code) => code,
        }
    }

    /// The specification's name, e.g. `"Illegal Data Address"`.
    pub fn name(self) -> &'static str {
        match self {
            ExceptionCode::IllegalFunction => "Illegal Function",
            ExceptionCode::IllegalDataAddress => "Illegal Data Address",
            ExceptionCode::IllegalDataValue => "Illegal Data Value",
            ExceptionCode::ServerDeviceFailure => "Server Device Failure",
            ExceptionCode::Acknowledge => "Acknowledge",
            ExceptionCode::ServerDeviceBusy => "Server Device Busy",
            ExceptionCode::NegativeAcknowledge => "Negative Acknowledge",
            ExceptionCode::MemoryParityError => "Memory Parity Error",
            ExceptionCode::GatewayPathUnavailable => "Gateway Path Unavailable",
            ExceptionCode::GatewayTargetDeviceFailedToRespond => {
                "Gateway Target Device Failed to Respond"
            }
            ExceptionCode::Unknown(_) => "unknown exception",
        }
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exception {:#04x} ({})", self.code(), self.name())
    }
}

// ---------------------------------------------------------------------------------------
// Requests

/// A request PDU: what the master asks of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// 03: read `quantity` holding registers from `address`.
    ReadHoldingRegisters {
        /// First register (0-based, as on the wire).
        address: u16,
        /// Number of registers, 1..=[`MAX_READ_QUANTITY`].
        quantity: u16,
    },
    /// 04: read `quantity` input registers from `address`.
    ReadInputRegisters {
        /// First register (0-based, as on the wire).
        address: u16,
        /// Number of registers, 1..=[`MAX_READ_QUANTITY`].
        quantity: u16,
    },
    /// 06: write `value` to the holding register at `address`.
    WriteSingleRegister {
        /// The register (0-based).
        address: u16,
        /// Its new value.
        value: u16,
    },
    /// 16: write `values` to consecutive holding registers from `address`.
    WriteMultipleRegisters {
        /// First register (0-based).
        address: u16,
        /// 1..=[`MAX_WRITE_QUANTITY`] values.
        values: Vec<u16>,
    },
}

impl Request {
    /// The function code.
    pub fn function(&self) -> u8 {
        match self {
            Request::ReadHoldingRegisters { .. } => function::READ_HOLDING_REGISTERS,
            Request::ReadInputRegisters { .. } => function::READ_INPUT_REGISTERS,
            Request::WriteSingleRegister { .. } => function::WRITE_SINGLE_REGISTER,
            Request::WriteMultipleRegisters { .. } => function::WRITE_MULTIPLE_REGISTERS,
        }
    }

    /// True for the two writes (the only requests that may be broadcast).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::WriteSingleRegister { .. } | Request::WriteMultipleRegisters { .. }
        )
    }

    /// First register and number of registers the request touches.
    pub fn range(&self) -> (u16, usize) {
        match self {
            Request::ReadHoldingRegisters { address, quantity }
            | Request::ReadInputRegisters { address, quantity } => {
                (*address, usize::from(*quantity))
            }
            Request::WriteSingleRegister { address, .. } => (*address, 1),
            Request::WriteMultipleRegisters { address, values } => (*address, values.len()),
        }
    }

    /// Whether the specification's limits hold: quantity 1..=125 for reads, 1..=123 for
    /// Write Multiple Registers, and the last register at most 65535.
    pub fn check(&self) -> Result<(), FrameError> {
        let (address, count) = self.range();
        let max = match self {
            Request::ReadHoldingRegisters { .. } | Request::ReadInputRegisters { .. } => {
                MAX_READ_QUANTITY
            }
            Request::WriteSingleRegister { .. } => 1,
            Request::WriteMultipleRegisters { .. } => MAX_WRITE_QUANTITY,
        };
        if count == 0 || count > usize::from(max) {
            return Err(FrameError::Quantity {
                function: self.function(),
                quantity: count,
                max,
            });
        }
        if usize::from(address) + count > 1 << 16 {
            return Err(FrameError::AddressOverflow {
                address,
                quantity: count,
            });
        }
        Ok(())
    }

    /// The PDU bytes (function code first), without checking the limits.
    fn pdu(&self) -> Vec<u8> {
        let mut out = vec![self.function()];
        match self {
            Request::ReadHoldingRegisters { address, quantity }
            | Request::ReadInputRegisters { address, quantity } => {
                out.extend_from_slice(&address.to_be_bytes());
                out.extend_from_slice(&quantity.to_be_bytes());
            }
            Request::WriteSingleRegister { address, value } => {
                out.extend_from_slice(&address.to_be_bytes());
                out.extend_from_slice(&value.to_be_bytes());
            }
            Request::WriteMultipleRegisters { address, values } => {
                out.extend_from_slice(&address.to_be_bytes());
                let quantity = u16::try_from(values.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&quantity.to_be_bytes());
                out.push(u8::try_from(values.len() * 2).unwrap_or(u8::MAX));
                for value in values {
                    out.extend_from_slice(&value.to_be_bytes());
                }
            }
        }
        out
    }
}

/// A request addressed to a slave: the frame a master sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame {
    /// Slave address, 1..=[`MAX_SLAVE`], or [`BROADCAST`] for writes.
    pub slave: u8,
    /// The request.
    pub request: Request,
}

impl RequestFrame {
    /// A request to `slave`, checked: the address must be 1..=247, or 0 for a write, and
    /// the request within the specification's limits ([`Request::check`]).
    pub fn new(slave: u8, request: Request) -> Result<RequestFrame, FrameError> {
        let frame = RequestFrame { slave, request };
        frame.check()?;
        Ok(frame)
    }

    /// 03 Read Holding Registers.
    pub fn read_holding_registers(
        slave: u8,
        address: u16,
        quantity: u16,
    ) -> Result<RequestFrame, FrameError> {
        RequestFrame::new(slave, Request::ReadHoldingRegisters { address, quantity })
    }

    /// 04 Read Input Registers.
    pub fn read_input_registers(
        slave: u8,
        address: u16,
        quantity: u16,
    ) -> Result<RequestFrame, FrameError> {
        RequestFrame::new(slave, Request::ReadInputRegisters { address, quantity })
    }

    /// 06 Write Single Register.
    pub fn write_single_register(
        slave: u8,
        address: u16,
        value: u16,
    ) -> Result<RequestFrame, FrameError> {
        RequestFrame::new(slave, Request::WriteSingleRegister { address, value })
    }

    /// 16 Write Multiple Registers.
    pub fn write_multiple_registers(
        slave: u8,
        address: u16,
        values: &[u16],
    ) -> Result<RequestFrame, FrameError> {
        RequestFrame::new(
            slave,
            Request::WriteMultipleRegisters {
                address,
                values: values.to_vec(),
            },
        )
    }

    /// Whether the frame may be sent: see [`RequestFrame::new`].
    pub fn check(&self) -> Result<(), FrameError> {
        if self.slave > MAX_SLAVE {
            return Err(FrameError::ReservedSlave(self.slave));
        }
        if self.slave == BROADCAST && !self.request.is_write() {
            return Err(FrameError::BroadcastRead);
        }
        self.request.check()
    }

    /// True if sent to [`BROADCAST`]: no device answers.
    pub fn is_broadcast(&self) -> bool {
        self.slave == BROADCAST
    }

    /// The frame on the wire, after [`RequestFrame::check`].
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        self.check()?;
        let mut out = vec![self.slave];
        out.extend_from_slice(&self.request.pdu());
        push_crc(&mut out);
        Ok(out)
    }

    /// Device side: the normal answer to a read, carrying `values` (one per register
    /// asked for).
    pub fn reply_read(&self, values: &[u16]) -> Result<ResponseFrame, FrameError> {
        let (_, quantity) = self.request.range();
        let response = match self.request {
            Request::ReadHoldingRegisters { .. } => Response::ReadHoldingRegisters(values.to_vec()),
            Request::ReadInputRegisters { .. } => Response::ReadInputRegisters(values.to_vec()),
            _ => return Err(FrameError::NotARead(self.request.function())),
        };
        if values.len() != quantity {
            return Err(FrameError::ValueCount {
                expected: quantity,
                actual: values.len(),
            });
        }
        Ok(ResponseFrame {
            slave: self.slave,
            response,
        })
    }

    /// Device side: the normal answer to a write (06 echoes the request, 16 repeats
    /// address and quantity); `None` for a read or a broadcast, which get no such answer.
    pub fn reply_write(&self) -> Option<ResponseFrame> {
        if self.is_broadcast() {
            return None;
        }
        let response = match &self.request {
            Request::WriteSingleRegister { address, value } => Response::WriteSingleRegister {
                address: *address,
                value: *value,
            },
            Request::WriteMultipleRegisters { address, values } => {
                Response::WriteMultipleRegisters {
                    address: *address,
                    quantity: u16::try_from(values.len()).unwrap_or(u16::MAX),
                }
            }
            _ => return None,
        };
        Some(ResponseFrame {
            slave: self.slave,
            response,
        })
    }

    /// Device side: the exception answer `code`; `None` for a broadcast.
    pub fn reply_exception(&self, code: ExceptionCode) -> Option<ResponseFrame> {
        (!self.is_broadcast())
            .then(|| ResponseFrame::exception(self.slave, self.request.function(), code))
    }
}

// ---------------------------------------------------------------------------------------
// Responses

/// A response PDU: what a device answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// 03: the registers read.
    ReadHoldingRegisters(Vec<u16>),
    /// 04: the registers read.
    ReadInputRegisters(Vec<u16>),
    /// 06: the echo of the request.
    WriteSingleRegister {
        /// The register written.
        address: u16,
        /// The value written.
        value: u16,
    },
    /// 16: the first register and how many were written.
    WriteMultipleRegisters {
        /// First register written.
        address: u16,
        /// Number of registers written.
        quantity: u16,
    },
    /// The device refused the request.
    Exception {
        /// The request's function code (without [`EXCEPTION_FLAG`]).
        function: u8,
        /// Why.
        code: ExceptionCode,
    },
}

impl Response {
    /// The function code byte on the wire (with [`EXCEPTION_FLAG`] for an exception).
    pub fn function_byte(&self) -> u8 {
        match self {
            Response::ReadHoldingRegisters(_) => function::READ_HOLDING_REGISTERS,
            Response::ReadInputRegisters(_) => function::READ_INPUT_REGISTERS,
            Response::WriteSingleRegister { .. } => function::WRITE_SINGLE_REGISTER,
            Response::WriteMultipleRegisters { .. } => function::WRITE_MULTIPLE_REGISTERS,
            Response::Exception { function, .. } => function | EXCEPTION_FLAG,
        }
    }

    /// The registers of a read response; `None` for other responses.
    pub fn registers(&self) -> Option<&[u16]> {
        match self {
            Response::ReadHoldingRegisters(values) | Response::ReadInputRegisters(values) => {
                Some(values)
            }
            _ => None,
        }
    }

    /// The exception, if the device refused.
    pub fn exception(&self) -> Option<ExceptionCode> {
        match self {
            Response::Exception { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A response from a slave: the frame a device sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    /// The answering slave's address.
    pub slave: u8,
    /// The response.
    pub response: Response,
}

impl ResponseFrame {
    /// An exception response to `function` from `slave`.
    pub fn exception(slave: u8, function: u8, code: ExceptionCode) -> ResponseFrame {
        ResponseFrame {
            slave,
            response: Response::Exception {
                function: function & !EXCEPTION_FLAG,
                code,
            },
        }
    }

    /// The frame on the wire. Fails for a read response of 0 or more than
    /// [`MAX_READ_QUANTITY`] registers, or from a broadcast or reserved address.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        if self.slave == BROADCAST || self.slave > MAX_SLAVE {
            return Err(FrameError::ReservedSlave(self.slave));
        }
        let mut out = vec![self.slave, self.response.function_byte()];
        match &self.response {
            Response::ReadHoldingRegisters(values) | Response::ReadInputRegisters(values) => {
                if values.is_empty() || values.len() > usize::from(MAX_READ_QUANTITY) {
                    return Err(FrameError::Quantity {
                        function: self.response.function_byte(),
                        quantity: values.len(),
                        max: MAX_READ_QUANTITY,
                    });
                }
                out.push(u8::try_from(values.len() * 2).unwrap_or(u8::MAX));
                for value in values {
                    out.extend_from_slice(&value.to_be_bytes());
                }
            }
            Response::WriteSingleRegister { address, value } => {
                out.extend_from_slice(&address.to_be_bytes());
                out.extend_from_slice(&value.to_be_bytes());
            }
            Response::WriteMultipleRegisters { address, quantity } => {
                out.extend_from_slice(&address.to_be_bytes());
                out.extend_from_slice(&quantity.to_be_bytes());
            }
            Response::Exception { code, .. } => out.push(code.code()),
        }
        push_crc(&mut out);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// A frame that may not be built or sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The slave address is above 247 (or 0 for a response).
    #[error("slave address {0} is not usable (1..=247, or 0 to broadcast a write)")]
    ReservedSlave(u8),
    /// A read was addressed to [`BROADCAST`].
    #[error("a read cannot be broadcast: nobody answers address 0")]
    BroadcastRead,
    /// The number of registers is outside the function's limits.
    #[error(
        "{quantity} registers for function {function:#04x}: the specification allows 1..={max}"
    )]
    Quantity {
        /// The function code.
        function: u8,
        /// The number of registers asked for.
        quantity: usize,
        /// The function's limit.
        max: u16,
    },
    /// The registers would run past address 65535.
    #[error("{quantity} registers from address {address} run past address 65535")]
    AddressOverflow {
        /// First register.
        address: u16,
        /// Number of registers.
        quantity: usize,
    },
    /// A Write Multiple Registers request's byte count is not twice its quantity.
    #[error("byte count {byte_count} does not match quantity {quantity} (must be 2 × quantity)")]
    ByteCount {
        /// The quantity field.
        quantity: u16,
        /// The byte count field.
        byte_count: u8,
    },
    /// [`RequestFrame::reply_read`] on a write.
    #[error("function {0:#04x} is not a read")]
    NotARead(u8),
    /// [`RequestFrame::reply_read`] with the wrong number of values.
    #[error("{actual} values for a read of {expected} registers")]
    ValueCount {
        /// Registers asked for.
        expected: usize,
        /// Values given.
        actual: usize,
    },
}

/// Bytes that did not decode into the frame looked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A complete frame's CRC is wrong; only its first byte was consumed.
    #[error("bad CRC: computed {computed:#06x} but the frame carries {carried:#06x}")]
    BadCrc {
        /// CRC computed over the received bytes.
        computed: u16,
        /// CRC found at the end of the frame.
        carried: u16,
    },
    /// An incomplete frame was dropped because a complete frame with a good CRC starts
    /// `next_at` bytes into it: the transmission was cut short.
    #[error("frame cut short: a complete frame starts {next_at} bytes into it")]
    Truncated {
        /// Offset of the complete frame from the dropped frame's first byte.
        next_at: usize,
    },
    /// Device side: a well-formed request (good CRC, consumed) that the specification
    /// refuses; the device answers [`DecodeError::exception_reply`] unless it was a
    /// broadcast (or not addressed to it).
    #[error("request to slave {slave} refused with {code}: {reason}")]
    Refused {
        /// The addressed slave.
        slave: u8,
        /// The request's function code.
        function: u8,
        /// The exception a device answers.
        code: ExceptionCode,
        /// What is wrong.
        reason: FrameError,
    },
    /// Device side: a frame with a good CRC (consumed) whose function code this codec
    /// does not support; a device answers Illegal Function.
    #[error("unsupported function {function:#04x} for slave {slave}")]
    UnsupportedFunction {
        /// The addressed slave.
        slave: u8,
        /// The function code.
        function: u8,
    },
    /// Master side: the expected slave answered the expected function with a good CRC
    /// (consumed), but the answer does not fit the request.
    #[error("reply does not match the request: {0}")]
    Mismatch(String),
}

impl DecodeError {
    /// Device side: the exception response a device sends for this error, if any (only
    /// for a refused or unsupported request that was not broadcast).
    pub fn exception_reply(&self) -> Option<ResponseFrame> {
        match *self {
            DecodeError::Refused {
                slave,
                function,
                code,
                ..
            } if slave != BROADCAST => Some(ResponseFrame::exception(slave, function, code)),
            DecodeError::UnsupportedFunction { slave, function } if slave != BROADCAST => Some(
                ResponseFrame::exception(slave, function, ExceptionCode::IllegalFunction),
            ),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Stream decoding

/// What the bytes at a candidate frame start say about the frame's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// More bytes are needed to tell.
    NeedMore,
    /// No frame of the kind looked for starts here.
    NotAFrame,
    /// A frame of this many bytes (CRC included) starts here.
    Len(usize),
}

/// The length of a request starting at `bytes[0]`. Unknown function codes are
/// `NotAFrame` here; [`decode_request`] gives them a second chance by CRC.
fn request_shape(bytes: &[u8]) -> Shape {
    let (Some(&slave), Some(&function)) = (bytes.first(), bytes.get(1)) else {
        return match bytes.first() {
            Some(&slave) if slave > MAX_SLAVE => Shape::NotAFrame,
            _ => Shape::NeedMore,
        };
    };
    if slave > MAX_SLAVE {
        return Shape::NotAFrame;
    }
    match function {
        function::READ_HOLDING_REGISTERS
        | function::READ_INPUT_REGISTERS
        | function::WRITE_SINGLE_REGISTER => Shape::Len(8),
        function::WRITE_MULTIPLE_REGISTERS => match bytes.get(6) {
            None => Shape::NeedMore,
            Some(&byte_count) => {
                let len = 9 + usize::from(byte_count);
                if len > MAX_FRAME_LEN {
                    Shape::NotAFrame
                } else {
                    Shape::Len(len)
                }
            }
        },
        _ => Shape::NotAFrame,
    }
}

/// The length of `request`'s answer starting at `bytes[0]`.
fn response_shape(bytes: &[u8], request: &RequestFrame) -> Shape {
    let Some(&slave) = bytes.first() else {
        return Shape::NeedMore;
    };
    if slave != request.slave {
        return Shape::NotAFrame;
    }
    let Some(&function) = bytes.get(1) else {
        return Shape::NeedMore;
    };
    let expected = request.request.function();
    if function == expected | EXCEPTION_FLAG {
        return Shape::Len(MIN_FRAME_LEN);
    }
    if function != expected {
        return Shape::NotAFrame;
    }
    match request.request {
        Request::ReadHoldingRegisters { .. } | Request::ReadInputRegisters { .. } => {
            match bytes.get(2) {
                None => Shape::NeedMore,
                Some(&count)
                    if count == 0
                        || count % 2 != 0
                        || usize::from(count) > 2 * usize::from(MAX_READ_QUANTITY) =>
                {
                    Shape::NotAFrame
                }
                Some(&count) => Shape::Len(5 + usize::from(count)),
            }
        }
        Request::WriteSingleRegister { .. } | Request::WriteMultipleRegisters { .. } => {
            Shape::Len(8)
        }
    }
}

/// The shared resynchronising loop: skip bytes that cannot start a frame, wait for a
/// partial one, drop a cut-short one if a complete good frame starts inside it, drop one
/// byte after a bad CRC. On success, the frame's bytes are split off and returned.
fn next_frame(
    buf: &mut BytesMut,
    shape: impl Fn(&[u8]) -> Shape,
    fallback: impl Fn(&[u8]) -> Option<usize>,
) -> Result<Option<BytesMut>, DecodeError> {
    let complete_good_at = |buf: &[u8], at: usize| -> bool {
        let rest = &buf[at..];
        match shape(rest) {
            Shape::Len(len) => rest.len() >= len && crc_ok(&rest[..len]),
            Shape::NeedMore | Shape::NotAFrame => false,
        }
    };
    loop {
        let len = match shape(buf) {
            Shape::NeedMore => {
                // Everything that can be a frame start is kept; but a good frame further
                // on must not wait behind bytes that never complete.
                for at in 1..buf.len() {
                    if complete_good_at(buf, at) {
                        buf.advance(at);
                        return Err(DecodeError::Truncated { next_at: at });
                    }
                }
                return Ok(None);
            }
            Shape::NotAFrame => {
                if let Some(len) = fallback(buf) {
                    len
                } else {
                    buf.advance(1);
                    continue;
                }
            }
            Shape::Len(len) => len,
        };
        if buf.len() < len {
            for at in 1..buf.len() {
                if complete_good_at(buf, at) {
                    buf.advance(at);
                    return Err(DecodeError::Truncated { next_at: at });
                }
            }
            return Ok(None);
        }
        let (computed, carried) = crcs(&buf[..len]);
        if computed != carried {
            buf.advance(1);
            return Err(DecodeError::BadCrc { computed, carried });
        }
        return Ok(Some(buf.split_to(len)));
    }
}

/// The length of a frame with an unsupported function code at the start of `bytes`, if
/// its CRC already matches somewhere in the bytes at hand (shortest first).
fn unsupported_frame_len(bytes: &[u8]) -> Option<usize> {
    let (&slave, &function) = (bytes.first()?, bytes.get(1)?);
    if slave > MAX_SLAVE || function::name(function).is_some() || bytes.len() < 4 {
        return None;
    }
    let max = bytes.len().min(MAX_FRAME_LEN);
    // One running CRC over the candidate body rather than one CRC per length: this runs
    // on every byte of line noise, so it must stay linear.
    let mut digest = CRC16.digest();
    digest.update(&bytes[..2]);
    for len in 4..=max {
        let carried = u16::from_le_bytes([bytes[len - 2], bytes[len - 1]]);
        if digest.clone().finalize() == carried {
            return Some(len);
        }
        digest.update(&bytes[len - 2..len - 1]);
    }
    None
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn registers(data: &[u8]) -> Vec<u16> {
    data.chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

/// Device side: finds and decodes the next request at the front of `buf`, consuming its
/// bytes.
///
/// * `Ok(Some(frame))`: a request within the specification's limits. It may be addressed
///   to another slave or be a [`BROADCAST`] write: the caller filters, and answers only
///   its own address.
/// * `Ok(None)`: more bytes are needed. Bytes that cannot start a request (a reserved
///   slave address, an unknown function without a matching CRC) are consumed silently.
/// * `Err(e)`: see [`DecodeError`]; [`DecodeError::exception_reply`] says what a device
///   answers. An unsupported function code is recognised by its CRC only once the whole
///   frame is in `buf` (RTU frames are delimited by silence, which a pure codec cannot
///   see); until then its first byte is taken for noise. Looking for that CRC costs a
///   running CRC over at most [`MAX_FRAME_LEN`] bytes per byte of noise.
///
/// Call it in a loop until it returns `Ok(None)`.
pub fn decode_request(buf: &mut BytesMut) -> Result<Option<RequestFrame>, DecodeError> {
    let Some(frame) = next_frame(buf, request_shape, unsupported_frame_len)? else {
        return Ok(None);
    };
    let (slave, function) = (frame[0], frame[1]);
    let refused = |code, reason| DecodeError::Refused {
        slave,
        function,
        code,
        reason,
    };
    let request = match function {
        function::READ_HOLDING_REGISTERS | function::READ_INPUT_REGISTERS => {
            let (address, quantity) = (be16(&frame, 2), be16(&frame, 4));
            if function == function::READ_HOLDING_REGISTERS {
                Request::ReadHoldingRegisters { address, quantity }
            } else {
                Request::ReadInputRegisters { address, quantity }
            }
        }
        function::WRITE_SINGLE_REGISTER => Request::WriteSingleRegister {
            address: be16(&frame, 2),
            value: be16(&frame, 4),
        },
        function::WRITE_MULTIPLE_REGISTERS => {
            let (address, quantity, byte_count) = (be16(&frame, 2), be16(&frame, 4), frame[6]);
            if usize::from(byte_count) != 2 * usize::from(quantity) {
                return Err(refused(
                    ExceptionCode::IllegalDataValue,
                    FrameError::ByteCount {
                        quantity,
                        byte_count,
                    },
                ));
            }
            Request::WriteMultipleRegisters {
                address,
                values: registers(&frame[7..frame.len() - 2]),
            }
        }
        _ => return Err(DecodeError::UnsupportedFunction { slave, function }),
    };
    let frame = RequestFrame { slave, request };
    match frame.check() {
        Ok(()) => Ok(Some(frame)),
        Err(reason) => {
            // The order of the specification's state diagrams: the quantity (03), then
            // the address range (02). A broadcast read is ignored, nobody answers.
            let code = match reason {
                FrameError::AddressOverflow { .. } => ExceptionCode::IllegalDataAddress,
                FrameError::BroadcastRead => ExceptionCode::IllegalFunction,
                _ => ExceptionCode::IllegalDataValue,
            };
            Err(refused(code, reason))
        }
    }
}

/// Master side: finds and decodes the answer to `request` at the front of `buf`,
/// consuming its bytes.
///
/// Only a frame from the requested slave with the request's function (or its exception)
/// is looked for; other bytes are consumed silently as noise. A read's answer must carry
/// exactly the registers asked for, and a write's answer must echo the request, else
/// [`DecodeError::Mismatch`] (the frame is consumed). An exception answer is
/// `Ok(Some(_))` with [`Response::Exception`]: the device is there and said no.
///
/// A broadcast gets no answer; for one, this only drops what is in `buf`.
pub fn decode_response(
    buf: &mut BytesMut,
    request: &RequestFrame,
) -> Result<Option<ResponseFrame>, DecodeError> {
    if request.is_broadcast() {
        buf.clear();
        return Ok(None);
    }
    let Some(frame) = next_frame(buf, |bytes| response_shape(bytes, request), |_| None)? else {
        return Ok(None);
    };
    let (slave, function) = (frame[0], frame[1]);
    let data = &frame[2..frame.len() - 2];
    let response = if function & EXCEPTION_FLAG != 0 {
        Response::Exception {
            function: function & !EXCEPTION_FLAG,
            code: ExceptionCode::from_code(data[0]),
        }
    } else {
        match &request.request {
            Request::ReadHoldingRegisters { quantity, .. }
            | Request::ReadInputRegisters { quantity, .. } => {
                let values = registers(&data[1..]);
                if values.len() != usize::from(*quantity) {
                    return Err(DecodeError::Mismatch(format!(
                        "{} registers in the answer to a read of {quantity}",
                        values.len()
                    )));
                }
                if function == function::READ_HOLDING_REGISTERS {
                    Response::ReadHoldingRegisters(values)
                } else {
                    Response::ReadInputRegisters(values)
                }
            }
            Request::WriteSingleRegister { address, value } => {
                let echo = (be16(data, 0), be16(data, 2));
                if echo != (*address, *value) {
                    return Err(DecodeError::Mismatch(format!(
                        "write of {value} to register {address} echoed as {} to register {}",
                        echo.1, echo.0
                    )));
                }
                Response::WriteSingleRegister {
                    address: *address,
                    value: *value,
                }
            }
            Request::WriteMultipleRegisters { address, values } => {
                let echo = (be16(data, 0), usize::from(be16(data, 2)));
                if echo != (*address, values.len()) {
                    return Err(DecodeError::Mismatch(format!(
                        "write of {} registers at {address} acknowledged as {} at {}",
                        values.len(),
                        echo.1,
                        echo.0
                    )));
                }
                Response::WriteMultipleRegisters {
                    address: *address,
                    quantity: be16(data, 2),
                }
            }
        }
    };
    Ok(Some(ResponseFrame { slave, response }))
}

#[cfg(test)]
mod tests {
    //! Unit tests of the private helpers: frame shapes.

    use super::*;

    #[test]
    fn request_shapes() {
        assert_eq!(request_shape(&[]), Shape::NeedMore);
        assert_eq!(request_shape(&[0x11]), Shape::NeedMore);
        assert_eq!(request_shape(&[0xF8]), Shape::NotAFrame, "reserved address");
        assert_eq!(request_shape(&[0x11, 0x03]), Shape::Len(8));
        assert_eq!(request_shape(&[0x11, 0x10, 0, 1, 0, 2]), Shape::NeedMore);
        assert_eq!(request_shape(&[0x11, 0x10, 0, 1, 0, 2, 4]), Shape::Len(13));
        assert_eq!(
            request_shape(&[0x11, 0x10, 0, 1, 0, 2, 248]),
            Shape::NotAFrame,
            "longer than 256 bytes"
        );
        assert_eq!(request_shape(&[0x11, 0x2B]), Shape::NotAFrame);
    }

    #[test]
    fn unsupported_frames_end_where_the_crc_matches() {
        let frame = [0x11, 0x2B, 0x0E, 0x01, 0x00, 0xB1, 0xB4];
        assert_eq!(unsupported_frame_len(&frame), Some(7));
        let mut longer = frame.to_vec();
        longer.extend_from_slice(&[0x11, 0x03]);
        assert_eq!(unsupported_frame_len(&longer), Some(7), "shortest match");
        assert_eq!(unsupported_frame_len(&frame[..6]), None);
        // The shortest frame: address, function, CRC.
        let mut short = vec![0x02, 0x07];
        short.extend_from_slice(&crc16(&short).to_le_bytes());
        assert_eq!(unsupported_frame_len(&short), Some(4));
        // Known functions never take this path, whatever the CRC says.
        let mut known = vec![0x11, 0x10, 0x00];
        known.extend_from_slice(&crc16(&known).to_le_bytes());
        assert_eq!(unsupported_frame_len(&known), None);
        assert_eq!(unsupported_frame_len(&[0xF8, 0x2B, 0, 0, 0]), None);
    }

    #[test]
    fn response_shapes() {
        let read = RequestFrame::read_holding_registers(0x11, 0x6B, 3).unwrap();
        assert_eq!(response_shape(&[0x11], &read), Shape::NeedMore);
        assert_eq!(response_shape(&[0x12], &read), Shape::NotAFrame);
        assert_eq!(response_shape(&[0x11, 0x03], &read), Shape::NeedMore);
        assert_eq!(response_shape(&[0x11, 0x03, 6], &read), Shape::Len(11));
        assert_eq!(response_shape(&[0x11, 0x03, 5], &read), Shape::NotAFrame);
        assert_eq!(response_shape(&[0x11, 0x03, 0], &read), Shape::NotAFrame);
        assert_eq!(response_shape(&[0x11, 0x83], &read), Shape::Len(5));
        assert_eq!(response_shape(&[0x11, 0x04], &read), Shape::NotAFrame);
        let write = RequestFrame::write_single_register(0x11, 1, 3).unwrap();
        assert_eq!(response_shape(&[0x11, 0x06], &write), Shape::Len(8));
    }
}
