//! Protocol responders: the part of a simulated drive that speaks a wire protocol.
//!
//! A [`Responder`] takes frames out of the bytes the rig received ([`Responder::decode`])
//! and answers them from the drives' control tables ([`Responder::respond`]) with the
//! protocol's own error codes and status rules: which instructions are answered at which
//! status return level, which answer a broadcast, in what order several drives answer,
//! and after which return delay. It does no I/O and keeps no clock: the rig
//! ([`crate::rig`]) owns the port, the wire timing and the fault injection.
//!
//! Protocols whose frames end with a silence on the line rather than by their own length
//! (Modbus RTU) say how long that silence is ([`Responder::frame_gap`]); the rig then
//! calls [`Responder::decode_after_silence`] once the line has been quiet that long.
//!
//! - [`dxl2`]: DYNAMIXEL Protocol 2.0 (X series).
//! - [`dxl1`]: DYNAMIXEL Protocol 1.0 (AX/MX) and Feetech SCS/STS, one framing.
//! - [`modbus`]: Modbus RTU, functions 03/04/06/16 and the exception responses, for
//!   drives whose profiles map holding and input registers (CiA 402 drives among them).

pub mod dxl1;
pub mod dxl2;
pub mod modbus;

use crate::drive::SimDrive;
use crate::rig::RigOptions;
use bytes::BytesMut;
use drivedeck_proto::profile::Protocol;
use std::time::Duration;

/// A frame the rig heard, whatever the protocol: the device address, the instruction (or
/// function) code and its parameters, as the codec decoded them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeardPacket {
    /// Device ID (or broadcast ID) the frame was addressed to.
    pub id: u8,
    /// Instruction or function code.
    pub instruction: u8,
    /// Parameters, unstuffed, without header, length or checksum.
    pub params: Vec<u8>,
}

/// A frame that failed its checksum (or was otherwise corrupt) and was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    /// The ID the frame claimed, when the codec could still tell it (bad checksum only).
    pub id: Option<u8>,
}

/// One status packet to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The answering drive.
    pub id: u8,
    /// Wait this long after the previous byte on the bus before sending.
    pub delay: Duration,
    /// The encoded frame.
    pub bytes: Vec<u8>,
}

/// How long a self-delimiting device (DYNAMIXEL, Feetech) waits for the rest of a frame
/// before dropping what it has: without it a length field garbled by line noise would
/// make the drive swallow every later request as the body of one huge frame. (The
/// simulator's choice; real firmware resets its receiver in the same way after a gap.)
pub const PACKET_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(20);

/// A protocol's device side for a bus of drives. See the module docs.
pub trait Responder: Send {
    /// The protocol this responder speaks.
    fn protocol(&self) -> Protocol;

    /// Takes the next instruction frame from the front of `buf`: `Ok(None)` when more bytes
    /// are needed, `Err` when a corrupt frame was dropped (call again to go on).
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt>;

    /// Applies `packet` to `drives` and returns the status packets the bus carries back, in
    /// the order they are sent.
    fn respond(&mut self, drives: &mut [SimDrive], packet: &HeardPacket) -> Vec<Reply>;

    /// What the drives answer to a corrupt frame (a checksum error status, where the
    /// protocol has one); nothing by default.
    fn respond_to_corrupt(&mut self, _drives: &mut [SimDrive], _corrupt: Corrupt) -> Vec<Reply> {
        Vec::new()
    }

    /// The silence that ends a frame, for protocols delimited by silence (Modbus RTU's
    /// t3.5); `None` (the default) when frames delimit themselves.
    fn frame_gap(&self) -> Option<Duration> {
        None
    }

    /// The line has been quiet for [`Responder::frame_gap`] after the bytes in `buf`: no
    /// more bytes of the frame at its front will come. Decodes like
    /// [`Responder::decode`] without waiting for bytes; what cannot complete is dropped
    /// (`Err`), so that called in a loop it empties `buf`.
    fn decode_after_silence(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt> {
        match self.decode(buf) {
            Ok(None) if !buf.is_empty() => {
                buf.clear();
                Err(Corrupt { id: None })
            }
            other => other,
        }
    }

    /// Bits each byte takes on the wire: 10 at 8N1 (DYNAMIXEL, Feetech); Modbus RTU sends
    /// 11 (a parity bit, or a second stop bit without parity).
    fn bits_per_char(&self) -> u32 {
        crate::wire::BITS_PER_BYTE
    }
}

/// The responder for `protocol` on a rig with `options` (the baud rate sets Modbus RTU's
/// t3.5, and `reply_delay` its drives' processing time); `None` for a protocol the
/// simulator cannot answer.
pub fn for_protocol(protocol: Protocol, options: &RigOptions) -> Option<Box<dyn Responder>> {
    match protocol {
        Protocol::Dynamixel2 => Some(Box::new(dxl2::Dxl2Responder)),
        Protocol::Dynamixel1 => Some(Box::new(dxl1::Dxl1Responder::dynamixel())),
        Protocol::Feetech => Some(Box::new(dxl1::Dxl1Responder::feetech())),
        Protocol::ModbusRtu => Some(Box::new(
            modbus::ModbusResponder::new(
                options.baud,
                options.reply_delay.unwrap_or(modbus::DEFAULT_PROCESSING),
            )
            .with_gateway_exception(options.gateway_exception),
        )),
    }
}
