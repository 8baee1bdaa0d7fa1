//! The line rate: each simulated servo listens at the rate its Baud Rate register says,
//! and hears nothing sent at another.
//!
//! On Linux (and the BSDs) a pty's master and slave share one termios, so the rate the
//! app set on its end (the slave) is read on the master with `tcgetattr` (TCGETS2: any
//! rate, not only the Bxxx constants). A frame the app sends while the line is at a rate
//! a drive is not set to is, for that drive, garbage: it neither acts on it nor answers
//! (a real UART would see framing errors). A drive whose register holds a code with no
//! listed rate, a protocol without rate codes (Modbus here), or a line whose rate cannot
//! be read (not a pty, another OS) hears everything, as before.
//!
//! A rig starts with every drive set to the rig's own rate ([`configure`]), so that a
//! drive written to another rate — or factory reset to its default — is found there,
//! and only there, from then on.

use crate::drive::SimDrive;
use crate::responder::{HeardPacket, Reply, Responder};
use drivedeck_proto::baud;
use std::os::fd::BorrowedFd;

/// The rate drive listens at, if its table says one.
pub fn drive_rate(drive: &SimDrive) -> Option<u32> {
    let code = drive.raw_named(baud::BAUD_RATE)?;
    baud::rate_of_code(drive.profile().protocol, code)
}

/// Sets `drive`'s Baud Rate register to `rate` when its protocol has a code for it (the
/// drive was configured for the rig's bus); otherwise leaves it.
pub fn configure(drive: &mut SimDrive, rate: u32) {
    let protocol = drive.profile().protocol;
    let (Some(code), Some(register)) = (
        baud::code_of_rate(protocol, rate),
        drive.profile().register(baud::BAUD_RATE).cloned(),
    ) else {
        return;
    };
    if let Err(e) = drive.write(register.address, &register.encode(code)) {
        log::warn!(
            "simulated drive {}: cannot set its rate to {rate}: {e:?}",
            drive.id()
        );
    }
}

/// The line's rate as the app set it, read on the pty master; `None` when unreadable.
pub fn line_rate(master: BorrowedFd<'_>) -> Option<u32> {
    let termios = rustix::termios::tcgetattr(master).ok()?;
    let rate = termios.output_speed();
    (rate > 0).then_some(rate)
}

/// Whether `drive` hears a frame sent at `line`.
fn hears(drive: &SimDrive, line: Option<u32>) -> bool {
    match (line, drive_rate(drive)) {
        (Some(line), Some(own)) => line == own,
        _ => true,
    }
}

/// Answers `packet` with only the drives that listen at the line's rate; the others are
/// left out of the bus for this frame (and keep their place in `drives`).
pub fn respond(
    responder: &mut dyn Responder,
    drives: &mut Vec<SimDrive>,
    packet: &HeardPacket,
    line: Option<u32>,
) -> Vec<Reply> {
    if drives.iter().all(|d| hears(d, line)) {
        return responder.respond(drives, packet);
    }
    let mut away = Vec::new();
    for index in (0..drives.len()).rev() {
        if !hears(&drives[index], line) {
            away.push((index, drives.remove(index)));
        }
    }
    let replies = responder.respond(drives, packet);
    for (index, drive) in away.into_iter().rev() {
        drives.insert(index, drive);
    }
    replies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::dxl2::Dxl2Responder;
    use drivedeck_proto::dxl2::{Packet, instruction};
    use drivedeck_proto::profile::Profile;

    fn ping(id: u8) -> HeardPacket {
        let packet = Packet::ping(id);
        HeardPacket {
            id: packet.id,
            instruction: instruction::PING,
            params: packet.params,
        }
    }

    #[test]
    fn a_drive_hears_only_frames_at_its_own_rate_and_keeps_its_place() {
        let mut drives = vec![
            SimDrive::new(Profile::xm430_w350(), 1),
            SimDrive::new(Profile::xm430_w350(), 2),
        ];
        configure(&mut drives[0], 1_000_000);
        configure(&mut drives[1], 57_600);
        assert_eq!(drive_rate(&drives[0]), Some(1_000_000));
        let mut responder = Dxl2Responder;
        let broadcast = ping(0xFE);
        let at = |line| {
            let mut bus = drives.clone();
            let ids: Vec<u8> = respond(&mut responder.clone(), &mut bus, &broadcast, line)
                .iter()
                .map(|r| r.id)
                .collect();
            let order: Vec<u8> = bus.iter().map(SimDrive::id).collect();
            (ids, order)
        };
        assert_eq!(at(Some(1_000_000)), (vec![1], vec![1, 2]));
        assert_eq!(at(Some(57_600)), (vec![2], vec![1, 2]));
        assert_eq!(at(Some(115_200)), (vec![], vec![1, 2]));
        assert_eq!(
            at(None).0,
            vec![1, 2],
            "an unreadable line reaches everyone"
        );
        let _ = &mut responder;
    }
}
