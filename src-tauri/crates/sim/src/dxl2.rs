//! Answers Dynamixel Protocol 2.0 instruction packets for the drives on a simulated bus.
//!
//! The rules are the ROBOTIS ones: a drive answers only instructions addressed to its ID
//! (or broadcast, for the instructions that answer broadcast: Ping, Sync Read, Bulk
//! Read); Status Return Level decides which instructions get a status at all; errors are
//! reported in the status packet's error byte; Sync/Bulk replies come in the order the
//! IDs are listed, each after its drive's Return Delay Time.

use crate::drive::{SimDrive, TableError};
use drivedeck_proto::dxl2::{BROADCAST_ID, Instruction, Packet, error_code};
use std::time::Duration;

/// One status packet to send, after the answering drive's return delay.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// Wait this long after the previous byte on the bus before sending.
    pub delay: Duration,
    /// The status packet.
    pub packet: Packet,
}

fn status_error(error: &TableError) -> u8 {
    match error {
        TableError::Access(_) => error_code::ACCESS,
        TableError::Range(_) => error_code::DATA_RANGE,
    }
}

fn return_delay(drive: &SimDrive) -> Duration {
    let raw = drive
        .profile()
        .register("Return Delay Time")
        .and_then(|r| drive.read(r.address, 1).ok())
        .and_then(|b| b.first().copied())
        .unwrap_or(0);
    Duration::from_micros(u64::from(raw) * 2)
}

/// Status Return Level: 0 answers only Ping, 1 also Read, 2 everything.
fn status_level(drive: &SimDrive) -> u8 {
    drive
        .profile()
        .register("Status Return Level")
        .and_then(|r| drive.read(r.address, 1).ok())
        .and_then(|b| b.first().copied())
        .unwrap_or(2)
}

fn reply(drive: &SimDrive, error: u8, data: &[u8]) -> Reply {
    let mut params = Vec::with_capacity(data.len() + 1);
    params.push(error);
    params.extend_from_slice(data);
    Reply {
        delay: return_delay(drive),
        packet: Packet {
            id: drive.id(),
            instruction: drivedeck_proto::dxl2::instruction::STATUS,
            params,
        },
    }
}

/// A Ping answer carries the Model Number (addresses 0–1) and the Firmware Version.
fn ping_reply(drive: &SimDrive) -> Reply {
    let mut data = drive.read(0, 2).map(<[u8]>::to_vec).unwrap_or_default();
    let firmware = drive
        .profile()
        .register("Firmware Version")
        .and_then(|r| drive.read(r.address, 1).ok())
        .and_then(|b| b.first().copied())
        .unwrap_or(0);
    data.push(firmware);
    reply(drive, 0, &data)
}

fn read_reply(drive: &SimDrive, address: u16, length: u16) -> Reply {
    match drive.read(address, length) {
        Ok(data) => reply(drive, 0, data),
        Err(e) => reply(drive, status_error(&e), &[]),
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
    let mut replies = Vec::new();
    match instruction {
        Instruction::Ping => {
            for drive in drives.iter().filter(|d| broadcast || d.id() == packet.id) {
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
            for drive in drives
                .iter_mut()
                .filter(|d| broadcast || d.id() == packet.id)
            {
                let result = drive.write(address, data);
                if !broadcast && status_level(drive) >= 2 {
                    let error = result.as_ref().err().map(status_error).unwrap_or(0);
                    replies.push(reply(drive, error, &[]));
                }
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
            // Instructions the simulator does not model yet answer Instruction Error, as a
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

    fn bus() -> Vec<SimDrive> {
        vec![
            SimDrive::new(Profile::xm430_w350(), 1),
            SimDrive::new(Profile::xm430_w350(), 2),
        ]
    }

    #[test]
    fn broadcast_ping_answers_every_drive_with_its_model_number() {
        let mut drives = bus();
        let replies = respond(&mut drives, &Packet::ping(BROADCAST_ID));
        assert_eq!(replies.len(), 2);
        let status = replies[1].packet.as_status().expect("status");
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
        assert!(ok[0].packet.as_status().expect("status").error.is_ok());
        let bad = respond(
            &mut drives,
            &Packet::write(1, goal.address, &goal.encode(9999)),
        );
        assert_eq!(
            bad[0].packet.as_status().expect("status").error.code(),
            error_code::DATA_RANGE
        );
        let read = respond(&mut drives, &Packet::read(1, goal.address, 4));
        assert_eq!(
            read[0].packet.as_status().expect("status").data,
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
        let ids: Vec<u8> = replies.iter().map(|r| r.packet.id).collect();
        assert_eq!(ids, vec![2, 1]);
        assert!(
            replies
                .iter()
                .all(|r| r.packet.as_status().expect("s").data == [1])
        );
    }
}
