//! Answers DYNAMIXEL Protocol 2.0 instruction packets for the drives on a simulated bus.
//!
//! The rules are the ROBOTIS ones: a drive answers only instructions addressed to its ID
//! (or broadcast, for the instructions that answer broadcast: Ping, Sync Read, Bulk
//! Read); Status Return Level decides which instructions get a status at all (0: Ping
//! only, 1: also Read, 2: everything); errors are reported in the status packet's error
//! byte, with the alert bit (0x80) set while Hardware Error Status holds an error;
//! Sync/Bulk replies come in the order the IDs are listed, each after its drive's Return
//! Delay Time. Reg Write/Action, Factory Reset (with its keep-ID/keep-baud options) and
//! Reboot work on the drive's table; a frame whose CRC fails is answered with a CRC Error
//! status by the drive it names. Clear, Control Table Backup and the Fast Sync/Bulk Reads
//! are not modelled and answer Instruction Error, as firmware without them would.

use super::{Corrupt, HeardPacket, Reply, Responder};
use crate::drive::{SimDrive, TableError};
use bytes::BytesMut;
use drivedeck_proto::dxl2::{
    BROADCAST_ID, DecodeError, Instruction, Packet, StatusError, decode, error_code, instruction,
    option,
};
use drivedeck_proto::profile::Protocol;

/// The DYNAMIXEL Protocol 2.0 responder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dxl2Responder;

fn status_error(error: &TableError) -> u8 {
    match error {
        TableError::Access(_) | TableError::ReadOnly(_) => error_code::ACCESS,
        TableError::Range(_) => error_code::DATA_RANGE,
        TableError::AngleLimit(_) => error_code::DATA_LIMIT,
    }
}

/// Status Return Level: 0 answers only Ping, 1 also Read, 2 everything.
fn status_level(drive: &SimDrive) -> u8 {
    drive.status_return_level().unwrap_or(2)
}

fn reply(drive: &SimDrive, error: u8, data: &[u8]) -> Reply {
    let alert = if drive.alert() {
        StatusError::ALERT_BIT
    } else {
        0
    };
    Reply {
        id: drive.id(),
        delay: drive.return_delay(),
        bytes: Packet::status(drive.id(), error | alert, data).encode(),
    }
}

/// A Ping answer carries the Model Number (addresses 0–1) and the Firmware Version.
fn ping_reply(drive: &SimDrive) -> Reply {
    let mut data = drive.read(0, 2).map(<[u8]>::to_vec).unwrap_or_default();
    data.push(drive.firmware_version());
    reply(drive, 0, &data)
}

fn read_reply(drive: &SimDrive, address: u16, length: u16) -> Reply {
    match drive.read(address, length) {
        Ok(data) => reply(drive, 0, data),
        Err(e) => reply(drive, status_error(&e), &[]),
    }
}

fn result_code(result: &Result<(), TableError>) -> u8 {
    result.as_ref().err().map(status_error).unwrap_or(0)
}

impl Responder for Dxl2Responder {
    fn frame_gap(&self) -> Option<std::time::Duration> {
        Some(super::PACKET_TIMEOUT)
    }

    fn protocol(&self) -> Protocol {
        Protocol::Dynamixel2
    }

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt> {
        loop {
            return match decode(buf) {
                // Our own status packets echoed back on a shared line: not for us.
                Ok(Some(packet)) if packet.instruction == instruction::STATUS => continue,
                Ok(Some(packet)) => Ok(Some(HeardPacket {
                    id: packet.id,
                    instruction: packet.instruction,
                    params: packet.params,
                })),
                Ok(None) => Ok(None),
                // After a bad CRC the codec consumed the 4 header bytes: the ID is next.
                Err(DecodeError::BadCrc { .. }) => Err(Corrupt {
                    id: buf.first().copied(),
                }),
                Err(_) => Err(Corrupt { id: None }),
            };
        }
    }

    fn respond(&mut self, drives: &mut [SimDrive], heard: &HeardPacket) -> Vec<Reply> {
        let packet = Packet {
            id: heard.id,
            instruction: heard.instruction,
            params: heard.params.clone(),
        };
        respond(drives, &packet)
    }

    fn respond_to_corrupt(&mut self, drives: &mut [SimDrive], corrupt: Corrupt) -> Vec<Reply> {
        drives
            .iter()
            .filter(|d| Some(d.id()) == corrupt.id && status_level(d) >= 2)
            .map(|d| reply(d, error_code::CRC, &[]))
            .collect()
    }
}

/// Applies `packet` to `drives` and returns the status packets the bus would carry back.
pub fn respond(drives: &mut [SimDrive], packet: &Packet) -> Vec<Reply> {
    let Ok(instruction) = packet.parse() else {
        // A malformed instruction to one drive earns an Instruction Error status.
        return drives
            .iter()
            .filter(|d| d.id() == packet.id)
            .map(|d| reply(d, error_code::INSTRUCTION, &[]))
            .collect();
    };
    let broadcast = packet.id == BROADCAST_ID;
    // Every drive the instruction reaches resets its Bus Watchdog timer.
    let listed: Vec<u8> = match &instruction {
        Instruction::SyncRead { ids, .. } => ids.to_vec(),
        Instruction::SyncWrite { items, .. } => items.iter().map(|(id, _)| *id).collect(),
        Instruction::BulkRead { items } => items.iter().map(|(id, ..)| *id).collect(),
        Instruction::BulkWrite { items } => items.iter().map(|(id, ..)| *id).collect(),
        _ => Vec::new(),
    };
    for drive in drives.iter_mut() {
        if broadcast && listed.is_empty() || drive.id() == packet.id || listed.contains(&drive.id())
        {
            drive.heard();
        }
    }
    let addressed = |d: &SimDrive| broadcast || d.id() == packet.id;
    let mut replies = Vec::new();
    match instruction {
        Instruction::Ping => {
            for drive in drives.iter().filter(|d| addressed(d)) {
                replies.push(ping_reply(drive));
            }
        }
        Instruction::Read { address, length } => {
            if let Some(drive) = drives.iter().find(|d| d.id() == packet.id)
                && status_level(drive) >= 1
            {
                replies.push(read_reply(drive, address, length));
            }
        }
        Instruction::Write { address, data } => {
            for drive in drives.iter_mut().filter(|d| addressed(d)) {
                let result = drive.write(address, data);
                if !broadcast && status_level(drive) >= 2 {
                    replies.push(reply(drive, result_code(&result), &[]));
                }
            }
        }
        Instruction::RegWrite { address, data } => {
            for drive in drives.iter_mut().filter(|d| addressed(d)) {
                let result = drive.reg_write(address, data);
                if !broadcast && status_level(drive) >= 2 {
                    replies.push(reply(drive, result_code(&result), &[]));
                }
            }
        }
        Instruction::Action => {
            for drive in drives.iter_mut().filter(|d| addressed(d)) {
                let code = match drive.action() {
                    // Action without a registered instruction: Instruction Error.
                    None => error_code::INSTRUCTION,
                    Some(result) => result_code(&result),
                };
                if !broadcast && status_level(drive) >= 2 {
                    replies.push(reply(drive, code, &[]));
                }
            }
        }
        Instruction::FactoryReset { option: keep } => {
            // The status goes out before the reset (under the old ID); broadcast resets
            // are answered by nobody.
            for drive in drives.iter_mut().filter(|d| addressed(d)) {
                if !broadcast && status_level(drive) >= 2 {
                    replies.push(reply(drive, 0, &[]));
                }
                drive.factory_reset(
                    keep != option::RESET_ALL,
                    keep == option::RESET_ALL_EXCEPT_ID_AND_BAUD,
                );
            }
        }
        Instruction::Reboot => {
            for drive in drives.iter_mut().filter(|d| addressed(d)) {
                if !broadcast && status_level(drive) >= 2 {
                    replies.push(reply(drive, 0, &[]));
                }
                drive.reboot();
            }
        }
        Instruction::SyncRead {
            address,
            length,
            ids,
        } => {
            for id in ids {
                if let Some(drive) = drives.iter().find(|d| d.id() == *id) {
                    replies.push(read_reply(drive, address, length));
                }
            }
        }
        Instruction::SyncWrite { address, items, .. } => {
            for (id, data) in items {
                if let Some(drive) = drives.iter_mut().find(|d| d.id() == id) {
                    // Sync Write has no status; a refused entry is simply not applied.
                    let _refused = drive.write(address, data).is_err();
                }
            }
        }
        Instruction::BulkRead { items } => {
            for (id, address, length) in items {
                if let Some(drive) = drives.iter().find(|d| d.id() == id) {
                    replies.push(read_reply(drive, address, length));
                }
            }
        }
        Instruction::BulkWrite { items } => {
            for (id, address, data) in items {
                if let Some(drive) = drives.iter_mut().find(|d| d.id() == id) {
                    let _refused = drive.write(address, data).is_err();
                }
            }
        }
        Instruction::Status(_) => {}
        _ => {
            // Instructions the simulator does not model answer Instruction Error, as a
            // drive with older firmware would.
            if let Some(drive) = drives.iter().find(|d| d.id() == packet.id) {
                replies.push(reply(drive, error_code::INSTRUCTION, &[]));
            }
        }
    }
    replies
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::profile::{Profile, Role};
    use std::time::Duration;

    fn bus() -> Vec<SimDrive> {
        vec![
            SimDrive::new(Profile::xm430_w350(), 1),
            SimDrive::new(Profile::xm430_w350(), 2),
        ]
    }

    fn status(reply: &Reply) -> Packet {
        let mut buf = BytesMut::from(&reply.bytes[..]);
        decode(&mut buf).expect("valid").expect("complete")
    }

    fn error_of(reply: &Reply) -> StatusError {
        status(reply).as_status().expect("status").error
    }

    #[test]
    fn broadcast_ping_answers_every_drive_with_its_model_number() {
        let mut drives = bus();
        let replies = respond(&mut drives, &Packet::ping(BROADCAST_ID));
        assert_eq!(replies.len(), 2);
        let second = status(&replies[1]);
        let status = second.as_status().expect("status");
        assert_eq!(status.id, 2);
        assert_eq!(&status.data[..2], &1020u16.to_le_bytes());
        assert_eq!(replies[0].delay, Duration::from_micros(500));
    }

    #[test]
    fn write_then_read_back_and_range_errors() {
        let mut drives = bus();
        let goal = Profile::xm430_w350()
            .role(Role::GoalPosition)
            .expect("goal")
            .clone();
        let ok = respond(
            &mut drives,
            &Packet::write(1, goal.address, &goal.encode(2048)),
        );
        assert!(error_of(&ok[0]).is_ok());
        let bad = respond(
            &mut drives,
            &Packet::write(1, goal.address, &goal.encode(9999)),
        );
        assert_eq!(error_of(&bad[0]).code(), error_code::DATA_RANGE);
        let read = respond(&mut drives, &Packet::read(1, goal.address, 4));
        assert_eq!(
            status(&read[0]).as_status().expect("status").data,
            &goal.encode(2048)[..]
        );
        // Nobody answers for an absent ID.
        assert!(respond(&mut drives, &Packet::read(9, goal.address, 4)).is_empty());
    }

    #[test]
    fn sync_read_answers_in_the_listed_order_and_broadcast_write_is_silent() {
        let mut drives = bus();
        let torque = Profile::xm430_w350()
            .role(Role::TorqueEnable)
            .expect("torque")
            .clone();
        assert!(
            respond(
                &mut drives,
                &Packet::write(BROADCAST_ID, torque.address, &[1])
            )
            .is_empty()
        );
        assert!(drives.iter().all(SimDrive::torque_enabled));
        let replies = respond(
            &mut drives,
            &Packet::sync_read(torque.address, 1, &[2, 1, 5]),
        );
        let ids: Vec<u8> = replies.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 1]);
        assert!(
            replies
                .iter()
                .all(|r| status(r).as_status().expect("s").data == [1])
        );
    }

    #[test]
    fn reg_write_and_action_and_the_instruction_error_without_one() {
        let mut drives = bus();
        let goal = Profile::xm430_w350()
            .role(Role::GoalPosition)
            .expect("goal")
            .clone();
        let r = respond(
            &mut drives,
            &Packet::reg_write(2, goal.address, &goal.encode(300)),
        );
        assert!(error_of(&r[0]).is_ok());
        assert_eq!(drives[1].raw(Role::GoalPosition), 0);
        assert!(respond(&mut drives, &Packet::action(BROADCAST_ID)).is_empty());
        assert_eq!(drives[1].raw(Role::GoalPosition), 300);
        let r = respond(&mut drives, &Packet::action(1));
        assert_eq!(error_of(&r[0]).code(), error_code::INSTRUCTION);
    }

    #[test]
    fn the_alert_bit_rides_on_every_status_while_a_hardware_error_is_latched() {
        let mut drives = bus();
        drives[0].set_supply_voltage(20.0); // above Max Voltage Limit 16.0 V
        // Input voltage is not in the default Shutdown (52): no latch, no alert.
        assert!(!error_of(&respond(&mut drives, &Packet::ping(1))[0]).alert());
        let shutdown = Profile::xm430_w350()
            .register("Shutdown")
            .expect("sd")
            .address;
        respond(&mut drives, &Packet::write(1, shutdown, &[0x35]));
        let r = respond(&mut drives, &Packet::ping(1));
        assert!(error_of(&r[0]).alert());
        assert_eq!(error_of(&r[0]).code(), 0);
        let hw = Profile::xm430_w350()
            .role(Role::HardwareError)
            .expect("hw")
            .address;
        let r = respond(&mut drives, &Packet::read(1, hw, 1));
        assert_eq!(status(&r[0]).as_status().expect("s").data, [0x01]);
        // Reboot clears it once the supply is back in range.
        drives[0].set_supply_voltage(12.0);
        respond(&mut drives, &Packet::reboot(1));
        assert!(!error_of(&respond(&mut drives, &Packet::ping(1))[0]).alert());
    }

    #[test]
    fn a_crc_error_is_answered_by_the_drive_it_names() {
        let mut drives = bus();
        let mut frame = Packet::read(2, 132, 4).encode();
        let last = frame.len() - 1;
        frame[last] ^= 0x55;
        let mut buf = BytesMut::from(&frame[..]);
        let mut responder = Dxl2Responder;
        let corrupt = responder.decode(&mut buf).expect_err("bad CRC");
        assert_eq!(corrupt.id, Some(2));
        let r = responder.respond_to_corrupt(&mut drives, corrupt);
        assert_eq!(r.len(), 1);
        assert_eq!(error_of(&r[0]).code(), error_code::CRC);
    }
}
