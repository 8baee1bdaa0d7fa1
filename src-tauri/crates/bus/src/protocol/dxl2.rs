//! DYNAMIXEL Protocol 2.0 on a link: Read/Write/Sync Read packets, status packets with
//! their error byte, the Ping answer's model number and firmware, and the X series'
//! Hardware Error Status bits in words.

use super::{Block, Decoded, Frame, Identity, LinkProtocol, Reply, Request};
use bytes::BytesMut;
use drivedeck_domain::ResetKeep;
use drivedeck_proto::dxl2::{
    BROADCAST_ID, Packet, decode, instruction, option as factory_reset_option,
};
use drivedeck_proto::profile::{Protocol, Register};

/// Header (4), ID, length (2), instruction, CRC (2): the bytes around a packet's params.
const OVERHEAD: usize = 10;

/// DYNAMIXEL Protocol 2.0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dxl2;

impl Dxl2 {
    fn request(packet: &Packet, expect: Vec<u8>, reply_data: usize) -> Request {
        // A status packet: the overhead, the error byte, the data.
        let reply_bytes = expect.len() * (OVERHEAD + 1 + reply_data);
        Request {
            bytes: packet.encode(),
            expect,
            reply_bytes,
            frame: Frame::Dxl2,
        }
    }
}

fn unicast(id: u8) -> Vec<u8> {
    if id == BROADCAST_ID {
        Vec::new()
    } else {
        vec![id]
    }
}

impl LinkProtocol for Dxl2 {
    fn protocol(&self) -> Protocol {
        Protocol::Dynamixel2
    }

    fn broadcast_id(&self) -> Option<u8> {
        Some(BROADCAST_ID)
    }

    fn max_id(&self) -> u8 {
        252
    }

    fn max_read(&self) -> u16 {
        // Keeps a status packet well inside a small adapter buffer; every role block of
        // the X series fits.
        256
    }

    fn reads_many_at_once(&self) -> bool {
        true
    }

    fn reboot(&self, id: u8) -> Result<Request, String> {
        if id == BROADCAST_ID {
            return Err("a reboot is sent to one drive at a time".into());
        }
        Ok(Dxl2::request(&Packet::reboot(id), unicast(id), 0))
    }

    fn persistent_needs_torque_off(&self) -> bool {
        true
    }

    fn factory_reset(&self, id: u8, keep: ResetKeep) -> Result<Request, String> {
        if id == BROADCAST_ID {
            return Err("a factory reset is sent to one drive at a time".into());
        }
        let option = match keep {
            ResetKeep::Nothing => factory_reset_option::RESET_ALL,
            ResetKeep::Id => factory_reset_option::RESET_ALL_EXCEPT_ID,
            ResetKeep::IdAndBaud => factory_reset_option::RESET_ALL_EXCEPT_ID_AND_BAUD,
        };
        Ok(Dxl2::request(
            &Packet::factory_reset(id, option),
            unicast(id),
            0,
        ))
    }

    fn ping(&self, id: u8) -> Option<Request> {
        // Model number (2) and firmware version (1).
        Some(Dxl2::request(&Packet::ping(id), unicast(id), 3))
    }

    fn identify(&self, reply: &Reply) -> Identity {
        Identity {
            model_number: reply
                .data
                .get(..2)
                .map(|b| u16::from_le_bytes([b[0], b[1]])),
            firmware: reply.data.get(2).copied(),
        }
    }

    fn read(&self, id: u8, block: &Block) -> Result<Request, String> {
        Ok(Dxl2::request(
            &Packet::read(id, block.address, block.length),
            unicast(id),
            usize::from(block.length),
        ))
    }

    fn read_many(&self, block: &Block, ids: &[u8]) -> Result<Vec<Request>, String> {
        if let [id] = ids {
            return Ok(vec![self.read(*id, block)?]);
        }
        Ok(vec![Dxl2::request(
            &Packet::sync_read(block.address, block.length, ids),
            ids.to_vec(),
            usize::from(block.length),
        )])
    }

    fn write(&self, id: u8, register: &Register, raw: i64) -> Result<Request, String> {
        Ok(Dxl2::request(
            &Packet::write(id, register.address, &register.encode(raw)),
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
        let data = register.encode(raw);
        let Ok(length) = u16::try_from(data.len()) else {
            return Some(Err(format!(
                "{} is too long for a Sync Write",
                register.name
            )));
        };
        Some(
            Packet::sync_write(register.address, length, &[(id, &data)])
                .map(|packet| Dxl2::request(&packet, Vec::new(), 0))
                .map_err(|e| e.to_string()),
        )
    }

    fn decode(&self, buf: &mut BytesMut, _request: &Request) -> Decoded {
        loop {
            match decode(buf) {
                // Half-duplex adapters echo the request: only status packets count.
                Ok(Some(packet)) if packet.instruction != instruction::STATUS => continue,
                Ok(Some(packet)) => {
                    let Some(status) = packet.as_status() else {
                        return Err("a status packet without its error byte".into());
                    };
                    return Ok(Some(Reply {
                        id: status.id,
                        refused: (!status.error.is_ok()).then(|| status.error.to_string()),
                        exception: None,
                        alarms: 0,
                        data: status.data.to_vec(),
                    }));
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn error_text(&self, bits: i64) -> Option<String> {
        hardware_error_text(bits)
    }
}

/// The DYNAMIXEL X-series Hardware Error Status bits, in words; `None` when clear.
pub fn hardware_error_text(bits: i64) -> Option<String> {
    const BITS: [(i64, &str); 5] = [
        (0, "input voltage out of range"),
        (2, "overheating"),
        (3, "motor encoder fault"),
        (4, "electrical shock (power stage)"),
        (5, "overload"),
    ];
    if bits == 0 {
        return None;
    }
    let words: Vec<&str> = BITS
        .iter()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, text)| *text)
        .collect();
    Some(if words.is_empty() {
        format!("hardware error 0x{bits:02X}")
    } else {
        words.join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::profile::{Profile, Role};

    #[test]
    fn hardware_error_bits_in_words() {
        assert_eq!(hardware_error_text(0), None);
        assert_eq!(hardware_error_text(0b100).as_deref(), Some("overheating"));
        assert_eq!(
            hardware_error_text(0b10_0001).as_deref(),
            Some("input voltage out of range, overload")
        );
        assert_eq!(
            hardware_error_text(0b10).as_deref(),
            Some("hardware error 0x02")
        );
    }

    #[test]
    fn broadcast_torque_off_is_a_one_byte_write_to_address_64_that_nobody_answers() {
        let xm = Profile::xm430_w350();
        let torque = xm.role(Role::TorqueEnable).expect("torque");
        let request = Dxl2.write(BROADCAST_ID, torque, 0).expect("request");
        assert_eq!(
            request.bytes,
            Packet::write(BROADCAST_ID, 64, &[0]).encode()
        );
        assert!(request.expect.is_empty());
        assert_eq!(request.reply_bytes, 0);
    }

    #[test]
    fn an_unanswered_goal_write_is_a_sync_write_naming_the_drive_alone() {
        let xm = Profile::xm430_w350();
        let goal = xm.role(Role::GoalPosition).expect("goal");
        let request = Dxl2
            .write_unanswered(3, goal, 2048)
            .expect("DYNAMIXEL 2.0 has one")
            .expect("request");
        assert_eq!(
            request.bytes,
            Packet::sync_write(116, 4, &[(3, &2048u32.to_le_bytes())])
                .expect("packet")
                .encode()
        );
        assert!(request.expect.is_empty());
        assert_eq!(request.reply_bytes, 0);
    }

    #[test]
    fn sync_read_expects_one_status_per_drive_in_order() {
        let block = Block {
            space: drivedeck_proto::profile::AddressSpace::Bytes,
            address: 126,
            length: 10,
        };
        let requests = Dxl2.read_many(&block, &[3, 1, 2]).expect("requests");
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].expect, vec![3, 1, 2]);
        assert_eq!(requests[0].reply_bytes, 3 * 21);
        assert_eq!(
            requests[0].bytes,
            Packet::sync_read(126, 10, &[3, 1, 2]).encode()
        );
        // One drive: a plain Read.
        let one = Dxl2.read_many(&block, &[7]).expect("one");
        assert_eq!(one[0].bytes, Packet::read(7, 126, 10).encode());
    }

    #[test]
    fn decode_skips_the_echo_and_reads_errors() {
        let request = Dxl2.ping(1).expect("ping");
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&request.bytes); // an adapter's echo
        buf.extend_from_slice(&Packet::status(1, 0x80 | 4, &[]).encode());
        let reply = Dxl2.decode(&mut buf, &request).expect("ok").expect("reply");
        assert_eq!(reply.id, 1);
        let refused = reply.refused.expect("refused");
        assert!(refused.contains("Data Range"), "{refused}");
        assert_eq!(Dxl2.decode(&mut buf, &request), Ok(None));
    }
}
