//! Answers DYNAMIXEL Protocol 1.0 and Feetech SCS/STS instruction packets (one framing,
//! two rule books) for the drives on a simulated bus.
//!
//! DYNAMIXEL Protocol 1.0 (ROBOTIS e-manual, Protocol 1.0 and the AX-12A control table):
//! - a drive answers instructions to its own ID; a broadcast (0xFE) is answered by nobody,
//!   Ping included;
//! - Status Return Level: 0 answers Ping only, 1 Ping and Read, 2 everything;
//! - the status packet's error byte carries the drive's live alarms (input voltage,
//!   overheating, overload) plus what went wrong with this instruction: Instruction Error
//!   (undefined instruction, Action without Reg Write), Range Error (a value outside an
//!   entry's range, a read-only or locked entry, outside the table), Angle Limit Error (Goal
//!   Position outside the CW/CCW limits) and Checksum Error (answered by the ID of a frame
//!   whose checksum fails);
//! - instructions: Ping, Read, Write, Reg Write, Action, Factory Reset (everything back to
//!   the factory values, the ID included), Reboot, Sync Write. Bulk Read exists on MX
//!   firmware only and is not modelled (the AX-12A ignores it).
//!
//! Feetech SCS/STS (FT-SCS protocol, Feetech's memory table):
//! - a broadcast Ping is answered by every servo (one after the other here; on a real bus
//!   several servos answering at once collide);
//! - Response Status Level: 0 answers only Read and Ping, 1 every instruction;
//! - the error byte is the servo's Status entry (voltage, angle sensor, overheat,
//!   overcurrent, overload); refused writes change nothing and set no bit — Feetech
//!   defines no instruction errors, and a frame with a bad checksum is ignored;
//! - instructions: Ping, Read, Write, Reg Write, Action, Reset (parameter recovery: every
//!   entry but the ID back to the factory values), Reboot, Sync Write and Sync Read
//!   (answered in the listed order). Parameter Backup, Status Reset and Position Calibration
//!   are not modelled and go unanswered.

use super::{Corrupt, HeardPacket, Reply, Responder};
use crate::drive::{SimDrive, TableError};
use bytes::BytesMut;
use drivedeck_proto::dxl1::{
    BROADCAST_ID, DecodeError, Instruction, Packet, Variant, decode, dynamixel_error,
};
use drivedeck_proto::profile::Protocol;

/// The responder for the Protocol 1.0 framing, in one of its variants.
#[derive(Clone, Copy, Debug)]
pub struct Dxl1Responder {
    variant: Variant,
}

/// What kind of answer an instruction earns, for the status-level rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ping,
    Read,
    Other,
}

impl Dxl1Responder {
    /// ROBOTIS DYNAMIXEL Protocol 1.0.
    pub fn dynamixel() -> Dxl1Responder {
        Dxl1Responder {
            variant: Variant::Dynamixel1,
        }
    }

    /// Feetech SCS/STS (little-endian STS/SMS: the byte order the profiles declare).
    pub fn feetech() -> Dxl1Responder {
        Dxl1Responder {
            variant: Variant::Sts,
        }
    }

    fn is_feetech(&self) -> bool {
        self.variant != Variant::Dynamixel1
    }

    /// Whether `drive`'s status level lets it answer an instruction of `kind`.
    fn answers(&self, drive: &SimDrive, kind: Kind) -> bool {
        let level = drive.status_return_level();
        if self.is_feetech() {
            level != Some(0) || kind != Kind::Other
        } else {
            match level {
                Some(0) => kind == Kind::Ping,
                Some(1) => kind != Kind::Other,
                _ => true,
            }
        }
    }

    /// The error bits of a table error in this family (none on Feetech).
    fn error_bits(&self, error: &TableError) -> u8 {
        if self.is_feetech() {
            return 0;
        }
        match error {
            TableError::Access(_) | TableError::ReadOnly(_) | TableError::Range(_) => {
                dynamixel_error::RANGE
            }
            TableError::AngleLimit(_) => dynamixel_error::ANGLE_LIMIT,
        }
    }

    fn result_bits(&self, result: &Result<(), TableError>) -> u8 {
        result.as_ref().err().map_or(0, |e| self.error_bits(e))
    }

    /// A status packet from `drive`: its live alarm bits plus `extra`.
    fn reply(&self, drive: &SimDrive, extra: u8, data: &[u8]) -> Reply {
        // Bit 7 is always 0 on the wire in both families.
        let error = (drive.alarms() | extra) & 0x7F;
        Reply {
            id: drive.id(),
            delay: drive.return_delay(),
            bytes: Packet::status(drive.id(), error, data).encode(),
        }
    }

    fn read_reply(&self, drive: &SimDrive, address: u8, length: u8) -> Option<Reply> {
        match drive.read(address.into(), length.into()) {
            Ok(data) => Some(self.reply(drive, 0, data)),
            Err(e) if !self.is_feetech() => Some(self.reply(drive, self.error_bits(&e), &[])),
            // Feetech defines no error for it: the servo stays silent.
            Err(_) => None,
        }
    }
}

impl Responder for Dxl1Responder {
    fn frame_gap(&self) -> Option<std::time::Duration> {
        Some(super::PACKET_TIMEOUT)
    }

    fn protocol(&self) -> Protocol {
        if self.is_feetech() {
            Protocol::Feetech
        } else {
            Protocol::Dynamixel1
        }
    }

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt> {
        match decode(buf) {
            Ok(Some(packet)) => Ok(Some(HeardPacket {
                id: packet.id,
                instruction: packet.instruction,
                params: packet.params,
            })),
            Ok(None) => Ok(None),
            // After a bad checksum the codec consumed the first header byte only:
            // `FF ID …` remains.
            Err(DecodeError::BadChecksum { .. }) => Err(Corrupt {
                id: buf.get(1).copied(),
            }),
            Err(_) => Err(Corrupt { id: None }),
        }
    }

    fn respond(&mut self, drives: &mut [SimDrive], heard: &HeardPacket) -> Vec<Reply> {
        let packet = Packet::new(heard.id, heard.instruction, heard.params.clone());
        let broadcast = packet.id == BROADCAST_ID;
        let parsed = packet
            .parse()
            .ok()
            .filter(|_| self.variant.supports(packet.instruction));
        // Every drive the instruction reaches resets its watchdog timer.
        let listed: Vec<u8> = match &parsed {
            Some(Instruction::SyncRead { ids, .. }) => ids.to_vec(),
            Some(Instruction::SyncWrite { items, .. }) => items.iter().map(|(id, _)| *id).collect(),
            _ => Vec::new(),
        };
        for drive in drives.iter_mut() {
            if broadcast && listed.is_empty()
                || drive.id() == packet.id
                || listed.contains(&drive.id())
            {
                drive.heard();
            }
        }
        let Some(instruction) = parsed else {
            // Undefined (for this family) or malformed: DYNAMIXEL answers Instruction
            // Error to a unicast; Feetech stays silent.
            if self.is_feetech() || broadcast {
                return Vec::new();
            }
            return drives
                .iter()
                .filter(|d| d.id() == packet.id && self.answers(d, Kind::Other))
                .map(|d| self.reply(d, dynamixel_error::INSTRUCTION, &[]))
                .collect();
        };
        let addressed = |d: &SimDrive| broadcast || d.id() == packet.id;
        let mut replies = Vec::new();
        match instruction {
            Instruction::Ping => {
                // A broadcast Ping is answered on Feetech only.
                if !broadcast || self.is_feetech() {
                    for drive in drives.iter().filter(|d| addressed(d)) {
                        replies.push(self.reply(drive, 0, &[]));
                    }
                }
            }
            Instruction::Read { address, length } => {
                if let Some(drive) = drives.iter().find(|d| d.id() == packet.id)
                    && self.answers(drive, Kind::Read)
                {
                    replies.extend(self.read_reply(drive, address, length));
                }
            }
            Instruction::Write { address, data } => {
                for drive in drives.iter_mut().filter(|d| addressed(d)) {
                    let result = drive.write(address.into(), data);
                    if !broadcast && self.answers(drive, Kind::Other) {
                        replies.push(self.reply(drive, self.result_bits(&result), &[]));
                    }
                }
            }
            Instruction::RegWrite { address, data } => {
                for drive in drives.iter_mut().filter(|d| addressed(d)) {
                    let result = drive.reg_write(address.into(), data);
                    if !broadcast && self.answers(drive, Kind::Other) {
                        replies.push(self.reply(drive, self.result_bits(&result), &[]));
                    }
                }
            }
            Instruction::Action => {
                for drive in drives.iter_mut().filter(|d| addressed(d)) {
                    let bits = match drive.action() {
                        None if !self.is_feetech() => dynamixel_error::INSTRUCTION,
                        None => 0,
                        Some(result) => self.result_bits(&result),
                    };
                    if !broadcast && self.answers(drive, Kind::Other) {
                        replies.push(self.reply(drive, bits, &[]));
                    }
                }
            }
            Instruction::Reset => {
                for drive in drives.iter_mut().filter(|d| addressed(d)) {
                    // The status goes out first, under the ID the drive had.
                    if !broadcast && self.answers(drive, Kind::Other) {
                        replies.push(self.reply(drive, 0, &[]));
                    }
                    drive.factory_reset(self.is_feetech(), false);
                }
            }
            Instruction::Reboot => {
                for drive in drives.iter_mut().filter(|d| addressed(d)) {
                    if !broadcast && self.answers(drive, Kind::Other) {
                        replies.push(self.reply(drive, 0, &[]));
                    }
                    drive.reboot();
                }
            }
            Instruction::SyncWrite { address, items, .. } => {
                if broadcast {
                    for (id, data) in items {
                        if let Some(drive) = drives.iter_mut().find(|d| d.id() == id) {
                            // No status: a refused item is simply not applied.
                            let _refused = drive.write(address.into(), data).is_err();
                        }
                    }
                }
            }
            Instruction::SyncRead {
                address,
                length,
                ids,
            } => {
                if broadcast {
                    for id in ids {
                        if let Some(drive) = drives.iter().find(|d| d.id() == *id) {
                            replies.extend(self.read_reply(drive, address, length));
                        }
                    }
                }
            }
            // Not modelled (see the module docs): no effect, no answer.
            Instruction::BulkRead { .. }
            | Instruction::ParameterBackup
            | Instruction::StatusReset
            | Instruction::Calibrate { .. } => {}
        }
        replies
    }

    fn respond_to_corrupt(&mut self, drives: &mut [SimDrive], corrupt: Corrupt) -> Vec<Reply> {
        if self.is_feetech() {
            return Vec::new();
        }
        drives
            .iter()
            .filter(|d| Some(d.id()) == corrupt.id && self.answers(d, Kind::Read))
            .map(|d| self.reply(d, dynamixel_error::CHECKSUM, &[]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::dxl1::{feetech_error, instruction};
    use drivedeck_proto::profile::{Profile, Role};

    fn ax_bus() -> Vec<SimDrive> {
        vec![
            SimDrive::new(Profile::ax12a(), 1),
            SimDrive::new(Profile::ax12a(), 2),
        ]
    }

    fn sts_bus() -> Vec<SimDrive> {
        vec![
            SimDrive::new(Profile::sts3215(), 1),
            SimDrive::new(Profile::sts3215(), 2),
        ]
    }

    fn heard(packet: &Packet) -> HeardPacket {
        HeardPacket {
            id: packet.id,
            instruction: packet.instruction,
            params: packet.params.clone(),
        }
    }

    fn ask(responder: &mut Dxl1Responder, drives: &mut [SimDrive], packet: &Packet) -> Vec<Packet> {
        responder
            .respond(drives, &heard(packet))
            .into_iter()
            .map(|r| {
                let mut buf = BytesMut::from(&r.bytes[..]);
                decode(&mut buf).expect("valid").expect("complete")
            })
            .collect()
    }

    #[test]
    fn ax12a_answers_ping_read_and_write_with_e_manual_status_packets() {
        let mut drives = ax_bus();
        let mut ax = Dxl1Responder::dynamixel();
        // Ping ID 1: FF FF 01 02 00 FC.
        let r = ax.respond(&mut drives, &heard(&Packet::ping(1)));
        assert_eq!(r[0].bytes, [0xFF, 0xFF, 0x01, 0x02, 0x00, 0xFC]);
        assert_eq!(r[0].delay, std::time::Duration::from_micros(500));
        // Broadcast ping: nobody answers on Protocol 1.0.
        assert!(ask(&mut ax, &mut drives, &Packet::ping(BROADCAST_ID)).is_empty());
        // Read the Model Number: 12, low byte first.
        let r = ask(&mut ax, &mut drives, &Packet::read(2, 0, 2));
        assert_eq!(
            (r[0].id, r[0].instruction, &r[0].params[..]),
            (2, 0, &[12u8, 0][..])
        );
        // Write Goal Position 512, then a value outside its range: Range Error, unchanged.
        let r = ask(&mut ax, &mut drives, &Packet::write(1, 30, &[0x00, 0x02]));
        assert_eq!(r[0].instruction, 0);
        let r = ask(&mut ax, &mut drives, &Packet::write(1, 30, &[0x00, 0x08]));
        assert_eq!(r[0].instruction, dynamixel_error::RANGE);
        assert_eq!(drives[0].raw(Role::GoalPosition), 512);
    }

    #[test]
    fn ax12a_sets_the_instruction_angle_limit_and_checksum_bits() {
        let mut drives = ax_bus();
        let mut ax = Dxl1Responder::dynamixel();
        // Undefined instruction (Feetech's Sync Read is not Protocol 1.0's).
        let r = ask(
            &mut ax,
            &mut drives,
            &Packet::new(1, instruction::SYNC_READ, vec![36, 2, 1]),
        );
        assert_eq!(r[0].instruction, dynamixel_error::INSTRUCTION);
        // Action without a Reg Write.
        let r = ask(&mut ax, &mut drives, &Packet::action(1));
        assert_eq!(r[0].instruction, dynamixel_error::INSTRUCTION);
        // CCW Angle Limit 800, then a goal at 900: Angle Limit Error.
        ask(
            &mut ax,
            &mut drives,
            &Packet::write(1, 8, &800u16.to_le_bytes()),
        );
        let r = ask(
            &mut ax,
            &mut drives,
            &Packet::write(1, 30, &900u16.to_le_bytes()),
        );
        assert_eq!(r[0].instruction, dynamixel_error::ANGLE_LIMIT);
        // A bad checksum: the drive it names answers Checksum Error.
        let mut frame = Packet::read(2, 36, 2).encode();
        let last = frame.len() - 1;
        frame[last] ^= 0x01;
        let mut buf = BytesMut::from(&frame[..]);
        let corrupt = ax.decode(&mut buf).expect_err("bad checksum");
        assert_eq!(corrupt.id, Some(2));
        let r = ax.respond_to_corrupt(&mut drives, corrupt);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].bytes[4], dynamixel_error::CHECKSUM);
        // Overheating rides on every status packet while it lasts.
        drives[0].set_supply_voltage(15.0); // above Max Voltage Limit 14.0 V
        let r = ask(&mut ax, &mut drives, &Packet::ping(1));
        assert_eq!(r[0].instruction, dynamixel_error::INPUT_VOLTAGE);
    }

    #[test]
    fn ax12a_status_return_level_and_reg_write() {
        let mut drives = ax_bus();
        let mut ax = Dxl1Responder::dynamixel();
        // Level 1: Ping and Read answered, Write silent.
        ask(&mut ax, &mut drives, &Packet::write(1, 16, &[1]));
        assert!(ask(&mut ax, &mut drives, &Packet::write(1, 25, &[1])).is_empty());
        assert_eq!(
            ask(&mut ax, &mut drives, &Packet::read(1, 25, 1))[0].params,
            [1]
        );
        // Reg Write on both, then a broadcast Action moves both goals at once.
        for id in [1, 2] {
            ask(
                &mut ax,
                &mut drives,
                &Packet::reg_write(id, 30, &700u16.to_le_bytes()),
            );
        }
        assert_eq!(
            ask(&mut ax, &mut drives, &Packet::read(2, 44, 1))[0].params,
            [1]
        );
        assert!(drives.iter().all(|d| d.raw(Role::GoalPosition) == 0));
        assert!(ask(&mut ax, &mut drives, &Packet::action(BROADCAST_ID)).is_empty());
        assert!(drives.iter().all(|d| d.raw(Role::GoalPosition) == 700));
        // Sync Write: no answer, both applied.
        let sync = Packet::sync_write(30, 2, &[(1, &[0x10, 0x00]), (2, &[0x20, 0x00])])
            .expect("sync write");
        assert!(ask(&mut ax, &mut drives, &sync).is_empty());
        assert_eq!(drives[0].raw(Role::GoalPosition), 0x10);
        assert_eq!(drives[1].raw(Role::GoalPosition), 0x20);
        // Factory reset: everything back, the ID to 1 as well.
        ask(&mut ax, &mut drives, &Packet::reset(2));
        assert_eq!(drives[1].id(), 1);
        assert_eq!(drives[1].raw(Role::GoalPosition), 0);
    }

    #[test]
    fn sts3215_answers_broadcast_ping_sync_read_and_reports_its_status() {
        let mut drives = sts_bus();
        let mut sts = Dxl1Responder::feetech();
        let r = ask(&mut sts, &mut drives, &Packet::ping(BROADCAST_ID));
        assert_eq!(r.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2]);
        // Sync Read of Present Position (56, 2 bytes) in the listed order.
        let r = ask(&mut sts, &mut drives, &Packet::sync_read(56, 2, &[2, 9, 1]));
        assert_eq!(r.iter().map(|p| p.id).collect::<Vec<_>>(), [2, 1]);
        assert!(r.iter().all(|p| p.params.len() == 2));
        // Model number at address 3.
        let r = ask(&mut sts, &mut drives, &Packet::read(1, 3, 2));
        assert_eq!(r[0].params, 777u16.to_le_bytes());
        // Refused write: no error bit on Feetech, nothing changes.
        let r = ask(
            &mut sts,
            &mut drives,
            &Packet::write(1, 42, &5000u16.to_le_bytes()),
        );
        assert_eq!(r[0].instruction, 0);
        assert_eq!(drives[0].raw(Role::GoalPosition), 0);
        // Response Status Level 0: Write silent, Read still answered.
        ask(&mut sts, &mut drives, &Packet::write(1, 8, &[0]));
        assert!(ask(&mut sts, &mut drives, &Packet::write(1, 42, &[0, 1])).is_empty());
        assert_eq!(
            ask(&mut sts, &mut drives, &Packet::read(1, 42, 2))[0].params,
            [0, 1]
        );
        // Undervoltage: the Status entry's voltage bit in the error byte.
        drives[1].set_supply_voltage(3.0); // below Min Input Voltage 4.0 V
        let r = ask(&mut sts, &mut drives, &Packet::ping(2));
        assert_eq!(r[0].instruction, feetech_error::VOLTAGE);
        let r = ask(&mut sts, &mut drives, &Packet::read(2, 65, 1));
        assert_eq!(r[0].params, [feetech_error::VOLTAGE]);
        // Feetech ignores a bad checksum.
        assert!(
            sts.respond_to_corrupt(&mut drives, Corrupt { id: Some(1) })
                .is_empty()
        );
        // Reset keeps the ID.
        ask(&mut sts, &mut drives, &Packet::reset(2));
        assert_eq!(drives[1].id(), 2);
    }
}
