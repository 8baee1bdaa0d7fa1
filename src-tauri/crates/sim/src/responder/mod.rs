//! Protocol responders: the part of a simulated drive that speaks a wire protocol.
//!
//! A [`Responder`] takes frames out of the bytes the rig received ([`Responder::decode`])
//! and answers them from the drives' control tables ([`Responder::respond`]) with the
//! protocol's own error codes and status rules: which instructions are answered at which
//! status return level, which answer a broadcast, in what order several drives answer,
//! and after which return delay. It does no I/O and keeps no clock: the rig
//! ([`crate::rig`]) owns the port, the wire timing and the fault injection.
//!
//! - [`dxl2`]: DYNAMIXEL Protocol 2.0 (X series).
//! - [`dxl1`]: DYNAMIXEL Protocol 1.0 (AX/MX) and Feetech SCS/STS, one framing.
//! - Modbus RTU: not yet — [`for_protocol`] has its slot. It plugs in as a third module
//!   once the `proto::modbus` codec exists: decode an RTU frame (address, function, data,
//!   CRC), answer functions 03/04/06/16 from the holding registers the profile maps, and
//!   reply with exception responses (01 illegal function, 02 illegal data address, 03
//!   illegal data value); until then [`crate::SimRig::spawn`] refuses the protocol.

pub mod dxl1;
pub mod dxl2;

use crate::drive::SimDrive;
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
}

/// The responder for `protocol`; `None` for a protocol the simulator cannot answer yet
/// (Modbus RTU).
pub fn for_protocol(protocol: Protocol) -> Option<Box<dyn Responder>> {
    match protocol {
        Protocol::Dynamixel2 => Some(Box::new(dxl2::Dxl2Responder)),
        Protocol::Dynamixel1 => Some(Box::new(dxl1::Dxl1Responder::dynamixel())),
        Protocol::Feetech => Some(Box::new(dxl1::Dxl1Responder::feetech())),
        Protocol::ModbusRtu => None,
    }
}
