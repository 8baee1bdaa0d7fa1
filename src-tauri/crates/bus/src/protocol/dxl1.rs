//! DYNAMIXEL Protocol 1.0 and Feetech SCS/STS on a link: one framing, two rule books.
//!
//! - DYNAMIXEL 1.0 (AX, RX; MX adds only Bulk Read): no Sync Read, so telemetry is one
//!   Read per drive. The status packet's error byte mixes alarms (input voltage,
//!   overheating, overload: the drive's state, sent with every answer) with what went
//!   wrong with this instruction (angle limit, range, checksum, instruction: a refusal).
//!   Speeds and loads carry their direction in bit 10 (sign-magnitude).
//! - Feetech STS/SMS: Sync Read answered in the listed order; every error bit is an
//!   alarm (the servo's Status), Feetech defines no instruction errors. Positions, speeds
//!   and currents carry their sign in bit 15.
//!
//! Addresses are one byte in this framing: a profile register above 255 cannot be
//! reached and is refused with a reason. Two-byte values go little-endian, as the STS and
//! AX profiles declare (the big-endian SCS series would need its own profile types).

use super::{Block, Decoded, Frame, Identity, LinkProtocol, Reply, Request};
use bytes::BytesMut;
use drivedeck_domain::ResetKeep;
use drivedeck_proto::dxl1::{
    BROADCAST_ID, Packet, StatusError, Variant, decode, dynamixel_error, feetech_error, sign_bit,
};
use drivedeck_proto::profile::{Profile, Protocol, Register, Role};

/// Header (2), ID, length, error or instruction, checksum.
const OVERHEAD: usize = 6;

/// The DYNAMIXEL 1.0 error bits that describe the drive rather than the instruction.
const DYNAMIXEL_ALARMS: u8 =
    dynamixel_error::INPUT_VOLTAGE | dynamixel_error::OVERHEATING | dynamixel_error::OVERLOAD;

/// DYNAMIXEL Protocol 1.0 or Feetech, by [`Variant`].
#[derive(Clone, Copy, Debug)]
pub struct Dxl1 {
    variant: Variant,
}

impl Dxl1 {
    /// ROBOTIS DYNAMIXEL Protocol 1.0.
    pub fn dynamixel() -> Dxl1 {
        Dxl1 {
            variant: Variant::Dynamixel1,
        }
    }

    /// Feetech STS/SMS (little-endian).
    pub fn feetech() -> Dxl1 {
        Dxl1 {
            variant: Variant::Sts,
        }
    }

    fn is_feetech(&self) -> bool {
        self.variant != Variant::Dynamixel1
    }

    fn request(packet: &Packet, expect: Vec<u8>, reply_data: usize) -> Request {
        let reply_bytes = expect.len() * (OVERHEAD + reply_data);
        Request {
            bytes: packet.encode(),
            expect,
            reply_bytes,
            frame: Frame::Dxl1,
        }
    }

    fn byte_address(address: u16, what: &str) -> Result<u8, String> {
        u8::try_from(address).map_err(|_| {
            format!("{what} at address {address} is beyond this protocol's one-byte addresses")
        })
    }

    fn byte_length(block: &Block) -> Result<u8, String> {
        u8::try_from(block.length)
            .map_err(|_| format!("a read of {} bytes is too long", block.length))
    }
}

fn unicast(id: u8) -> Vec<u8> {
    if id == BROADCAST_ID {
        Vec::new()
    } else {
        vec![id]
    }
}

fn same(a: Option<&Register>, b: &Register) -> bool {
    a.is_some_and(|a| a.address == b.address && a.space == b.space)
}

impl LinkProtocol for Dxl1 {
    fn protocol(&self) -> Protocol {
        if self.is_feetech() {
            Protocol::Feetech
        } else {
            Protocol::Dynamixel1
        }
    }

    fn broadcast_id(&self) -> Option<u8> {
        Some(BROADCAST_ID)
    }

    fn max_id(&self) -> u8 {
        253
    }

    fn max_read(&self) -> u16 {
        // LEN is one byte and counts the error byte and the checksum too.
        128
    }

    fn reads_many_at_once(&self) -> bool {
        self.is_feetech()
    }

    fn ping(&self, id: u8) -> Option<Request> {
        Some(Dxl1::request(&Packet::ping(id), unicast(id), 0))
    }

    fn identify(&self, _reply: &Reply) -> Identity {
        // A Protocol 1.0 ping answer is empty: the model number is read from the table.
        Identity::default()
    }

    fn read(&self, id: u8, block: &Block) -> Result<Request, String> {
        let address = Dxl1::byte_address(block.address, "a read")?;
        let length = Dxl1::byte_length(block)?;
        Ok(Dxl1::request(
            &Packet::read(id, address, length),
            unicast(id),
            usize::from(length),
        ))
    }

    fn read_many(&self, block: &Block, ids: &[u8]) -> Result<Vec<Request>, String> {
        if !self.is_feetech() || ids.len() == 1 {
            return ids.iter().map(|id| self.read(*id, block)).collect();
        }
        let address = Dxl1::byte_address(block.address, "a read")?;
        let length = Dxl1::byte_length(block)?;
        Ok(vec![Dxl1::request(
            &Packet::sync_read(address, length, ids),
            ids.to_vec(),
            usize::from(length),
        )])
    }

    fn write(&self, id: u8, register: &Register, raw: i64) -> Result<Request, String> {
        let address = Dxl1::byte_address(register.address, &register.name)?;
        Ok(Dxl1::request(
            &Packet::write(id, address, &register.encode(raw)),
            unicast(id),
            0,
        ))
    }

    fn write_unanswered(
        &self,
        id: u8,
        register: &Register,
        raw: i64,
    ) -> Option<Result<Request, String>> {
        let address = match Dxl1::byte_address(register.address, &register.name) {
            Ok(address) => address,
            Err(e) => return Some(Err(e)),
        };
        let data = register.encode(raw);
        let Ok(length) = u8::try_from(data.len()) else {
            return Some(Err(format!(
                "{} is too long for a Sync Write",
                register.name
            )));
        };
        Some(
            Packet::sync_write(address, length, &[(id, &data)])
                .map(|packet| Dxl1::request(&packet, Vec::new(), 0))
                .map_err(|e| e.to_string()),
        )
    }

    fn decode(&self, buf: &mut BytesMut, _request: &Request) -> Decoded {
        loop {
            match decode(buf) {
                Ok(Some(packet)) => {
                    // An echo of a broadcast instruction cannot be a status packet.
                    let Some(status) = packet.as_status() else {
                        continue;
                    };
                    let bits = status.error.0;
                    let (alarms, refusal) = if self.is_feetech() {
                        (bits, 0)
                    } else {
                        (bits & DYNAMIXEL_ALARMS, bits & !DYNAMIXEL_ALARMS)
                    };
                    return Ok(Some(Reply {
                        id: status.id,
                        refused: (refusal != 0)
                            .then(|| StatusError(refusal).describe(self.variant)),
                        exception: None,
                        alarms,
                        data: status.data.to_vec(),
                    }));
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn sign_bit(&self, profile: &Profile, register: &Register) -> Option<u8> {
        if register.name == "Present Load" {
            return Some(sign_bit::LOAD);
        }
        let signed: &[Role] = if self.is_feetech() {
            &[
                Role::GoalPosition,
                Role::GoalVelocity,
                Role::PresentPosition,
                Role::PresentVelocity,
                Role::PresentCurrent,
            ]
        } else {
            &[Role::GoalVelocity, Role::PresentVelocity]
        };
        let bit = if self.is_feetech() {
            sign_bit::SPEED
        } else {
            sign_bit::LOAD
        };
        signed
            .iter()
            .any(|role| same(profile.role(*role), register))
            .then_some(bit)
    }

    fn factory_reset(&self, id: u8, keep: ResetKeep) -> Result<Request, String> {
        if id == BROADCAST_ID {
            return Err("a factory reset is sent to one drive at a time".into());
        }
        // DYNAMIXEL 1.0's Reset restores everything, the ID (to 1) and the rate included;
        // Feetech's 0x06 (the FTServo SDK's INST_RECOVERY) restores every parameter but
        // the ID. Neither takes an option.
        let (offered, what) = if self.is_feetech() {
            (ResetKeep::Id, "every parameter but the ID (keep: id)")
        } else {
            (
                ResetKeep::Nothing,
                "everything, the ID and the rate included (keep: nothing)",
            )
        };
        if keep != offered {
            return Err(format!(
                "this protocol's reset ({}) restores {what}: it cannot {}",
                self.name(),
                match keep {
                    ResetKeep::Nothing => "reset the ID too",
                    ResetKeep::Id => "keep only the ID",
                    ResetKeep::IdAndBaud => "keep the ID and the rate",
                }
            ));
        }
        Ok(Dxl1::request(&Packet::reset(id), unicast(id), 0))
    }

    fn error_text(&self, bits: i64) -> Option<String> {
        (bits != 0).then(|| StatusError(bits as u8).describe(self.variant))
    }

    fn alarm_text(&self, alarms: u8) -> Option<String> {
        let alarms = if self.is_feetech() {
            alarms
                & (feetech_error::VOLTAGE
                    | feetech_error::ANGLE_SENSOR
                    | feetech_error::OVERHEAT
                    | feetech_error::OVERCURRENT
                    | feetech_error::OVERLOAD)
        } else {
            alarms & DYNAMIXEL_ALARMS
        };
        (alarms != 0).then(|| StatusError(alarms).describe(self.variant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::profile::AddressSpace;

    fn block(address: u16, length: u16) -> Block {
        Block {
            space: AddressSpace::Bytes,
            address,
            length,
        }
    }

    #[test]
    fn an_unanswered_goal_write_is_a_sync_write_and_a_two_byte_address_is_refused() {
        let sts = Profile::sts3215();
        let goal = sts.role(Role::GoalPosition).expect("goal");
        let request = Dxl1::feetech()
            .write_unanswered(4, goal, 0x0123)
            .expect("Feetech has one")
            .expect("request");
        let address = u8::try_from(goal.address).expect("one byte");
        assert_eq!(
            request.bytes,
            Packet::sync_write(address, 2, &[(4, &[0x23, 0x01])])
                .expect("packet")
                .encode()
        );
        assert!(request.expect.is_empty());
        let mut far = goal.clone();
        far.address = 300;
        let refused = Dxl1::dynamixel()
            .write_unanswered(4, &far, 1)
            .expect("an answer");
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn the_ax_reads_each_drive_and_feetech_syncs() {
        let ax = Dxl1::dynamixel()
            .read_many(&block(36, 4), &[1, 2])
            .expect("ax");
        assert_eq!(ax.len(), 2);
        assert_eq!(ax[0].bytes, Packet::read(1, 36, 4).encode());
        assert_eq!(ax[1].expect, vec![2]);
        assert_eq!(ax[1].reply_bytes, 10);
        let sts = Dxl1::feetech()
            .read_many(&block(56, 4), &[1, 2])
            .expect("sts");
        assert_eq!(sts.len(), 1);
        assert_eq!(sts[0].bytes, Packet::sync_read(56, 4, &[1, 2]).encode());
        assert_eq!(sts[0].expect, vec![1, 2]);
        assert!(Dxl1::feetech().read(1, &block(300, 2)).is_err());
    }

    #[test]
    fn ax_error_byte_splits_into_alarms_and_refusals() {
        let proto = Dxl1::dynamixel();
        let request = proto.ping(3).expect("ping");
        let mut buf = BytesMut::new();
        // Overheating (0x04, an alarm) and Angle Limit (0x02, a refusal).
        buf.extend_from_slice(&Packet::status(3, 0x06, &[]).encode());
        let reply = proto
            .decode(&mut buf, &request)
            .expect("ok")
            .expect("reply");
        assert_eq!(reply.alarms, 0x04);
        assert_eq!(reply.refused.as_deref(), Some("Angle Limit Error"));
        assert_eq!(
            proto.alarm_text(reply.alarms).as_deref(),
            Some("Overheating Error")
        );
    }

    #[test]
    fn feetech_error_byte_is_all_alarms() {
        let proto = Dxl1::feetech();
        let request = proto.ping(3).expect("ping");
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&Packet::status(3, 0x24, &[]).encode());
        let reply = proto
            .decode(&mut buf, &request)
            .expect("ok")
            .expect("reply");
        assert_eq!(reply.refused, None);
        assert_eq!(
            proto.alarm_text(reply.alarms).as_deref(),
            Some("Overheat Error, Overload Error")
        );
        assert_eq!(proto.error_text(0x08).as_deref(), Some("Overcurrent Error"));
        assert_eq!(proto.error_text(0), None);
    }
}
