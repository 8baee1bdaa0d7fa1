//! Modbus RTU on a link: the master side of `proto::modbus`.
//!
//! Reads are 03 (holding) or 04 (input registers), one request per unit and block of at
//! most 125 registers; writes are 06 for one register and 16 for a 32-bit value's two. An
//! exception answer is the unit refusing. Unit 0 is the broadcast: writes only, nobody
//! answers, and the units get a turnaround time to act before the next request. Every
//! request waits for t3.5 of silence on the line first (Modbus over Serial Line V1.02,
//! 2.5.1.1), and timing counts 11 bits per character as RTU framing does.
//!
//! There is no ping function: discovery reads a known register of each unit instead.

use super::{Block, Decoded, Frame, Identity, LinkProtocol, Reply, Request};
use bytes::BytesMut;
use drivedeck_proto::modbus::{
    BITS_PER_CHAR, BROADCAST, MAX_READ_QUANTITY, MAX_SLAVE, RequestFrame, Silence, decode_response,
};
use drivedeck_proto::profile::{AddressSpace, Protocol, Register};
use std::time::Duration;

/// Modbus RTU.
#[derive(Clone, Copy, Debug, Default)]
pub struct ModbusRtu;

/// How long the units get to act on a broadcast before the next request. The
/// specification calls 100–200 ms typical for slow devices; drives act within
/// milliseconds, and whatever follows a broadcast here is a read that is retried anyway.
pub const BROADCAST_TURNAROUND: Duration = Duration::from_millis(10);

impl ModbusRtu {
    fn request(frame: RequestFrame, reply_bytes: usize) -> Result<Request, String> {
        let bytes = frame.encode().map_err(|e| e.to_string())?;
        let broadcast = frame.is_broadcast();
        Ok(Request {
            bytes,
            expect: if broadcast {
                Vec::new()
            } else {
                vec![frame.slave]
            },
            reply_bytes: if broadcast { 0 } else { reply_bytes },
            frame: Frame::Modbus(frame),
        })
    }
}

impl LinkProtocol for ModbusRtu {
    fn protocol(&self) -> Protocol {
        Protocol::ModbusRtu
    }

    fn bits_per_byte(&self) -> u32 {
        BITS_PER_CHAR
    }

    fn silence_before_request(&self, baud: u32) -> Duration {
        Silence::for_baud(baud).map_or(Duration::ZERO, |s| s.t3_5)
    }

    fn broadcast_turnaround(&self) -> Duration {
        BROADCAST_TURNAROUND
    }

    fn broadcast_id(&self) -> Option<u8> {
        Some(BROADCAST)
    }

    fn max_id(&self) -> u8 {
        MAX_SLAVE
    }

    fn max_read(&self) -> u16 {
        MAX_READ_QUANTITY
    }

    fn reads_many_at_once(&self) -> bool {
        false
    }

    fn ping(&self, _id: u8) -> Option<Request> {
        None
    }

    fn identify(&self, _reply: &Reply) -> Identity {
        Identity::default()
    }

    fn read(&self, id: u8, block: &Block) -> Result<Request, String> {
        let frame = match block.space {
            AddressSpace::Holding => {
                RequestFrame::read_holding_registers(id, block.address, block.length)
            }
            AddressSpace::Input => {
                RequestFrame::read_input_registers(id, block.address, block.length)
            }
            AddressSpace::Bytes => {
                return Err("a Modbus unit has registers, not a byte-addressed table".into());
            }
        }
        .map_err(|e| e.to_string())?;
        // Unit, function, byte count, the registers, CRC.
        ModbusRtu::request(frame, 5 + 2 * usize::from(block.length))
    }

    fn write(&self, id: u8, register: &Register, raw: i64) -> Result<Request, String> {
        if register.space != AddressSpace::Holding {
            return Err(format!("{} is not a holding register", register.name));
        }
        let words = register.encode_words(raw);
        let frame = match words.as_slice() {
            [word] => RequestFrame::write_single_register(id, register.address, *word),
            words => RequestFrame::write_multiple_registers(id, register.address, words),
        }
        .map_err(|e| e.to_string())?;
        // 06 echoes the request, 16 answers address and quantity: 8 bytes either way.
        ModbusRtu::request(frame, 8)
    }

    fn decode(&self, buf: &mut BytesMut, request: &Request) -> Decoded {
        let Frame::Modbus(frame) = &request.frame else {
            return Err("not a Modbus request".into());
        };
        match decode_response(buf, frame) {
            Ok(Some(response)) => {
                let refused = response.response.exception().map(|code| {
                    format!(
                        "unit {} answered {code} to function {:#04x}",
                        response.slave,
                        frame.request.function()
                    )
                });
                let data = response
                    .response
                    .registers()
                    .map(|words| words.iter().flat_map(|w| w.to_be_bytes()).collect())
                    .unwrap_or_default();
                Ok(Some(Reply {
                    id: response.slave,
                    refused,
                    exception: response.response.exception().map(|code| code.code()),
                    alarms: 0,
                    data,
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn error_text(&self, bits: i64) -> Option<String> {
        (bits != 0).then(|| format!("drive error state 0x{bits:04X}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::modbus::{ExceptionCode, Response, ResponseFrame};
    use drivedeck_proto::profile::Profile;

    fn fd5p() -> Profile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../proto/profiles/kinco-fd5p.toml");
        Profile::load(&path).expect("the Kinco FD5P profile")
    }

    #[test]
    fn a_32_bit_target_is_one_write_multiple_low_word_first() {
        let profile = fd5p();
        let target = profile.register("Target Velocity").expect("0x6F00");
        // The manual's example: 0x001B4E82 (100 rpm) to 0x6F00, low word first.
        let request = ModbusRtu.write(1, target, 0x001B_4E82).expect("request");
        assert_eq!(
            request.bytes,
            vec![
                0x01, // unit
                0x10, // Write Multiple Registers
                0x6F, 0x00, // address
                0x00, 0x02, // two registers
                0x04, // four bytes
                0x4E, 0x82, // low word
                0x00, 0x1B, // high word
                0xED, 0x56, // CRC, as the manual prints it
            ]
        );
        assert_eq!(request.expect, vec![1]);
        let controlword = profile.register("Controlword").expect("0x3100");
        let single = ModbusRtu.write(1, controlword, 0x0F).expect("06");
        assert_eq!(
            single.bytes,
            vec![0x01, 0x06, 0x31, 0x00, 0x00, 0x0F, 0xC7, 0x32]
        );
        let broadcast = ModbusRtu
            .write(BROADCAST, controlword, 2)
            .expect("broadcast");
        assert!(broadcast.expect.is_empty());
        let status = profile.register("Statusword").expect("0x3200");
        assert!(
            ModbusRtu.write(1, status, 1).is_ok(),
            "access is the caller's check"
        );
    }

    #[test]
    fn reads_decode_to_big_endian_register_bytes_and_exceptions_to_refusals() {
        let block = Block {
            space: AddressSpace::Holding,
            address: 0x3200,
            length: 1,
        };
        let request = ModbusRtu.read(5, &block).expect("read");
        let mut buf = BytesMut::new();
        let answer = ResponseFrame {
            slave: 5,
            response: Response::ReadHoldingRegisters(vec![0x0237]),
        };
        buf.extend_from_slice(&answer.encode().expect("encode"));
        let reply = ModbusRtu
            .decode(&mut buf, &request)
            .expect("ok")
            .expect("reply");
        assert_eq!((reply.id, reply.data.as_slice()), (5, &[0x02, 0x37][..]));
        let refused = ResponseFrame::exception(5, 0x03, ExceptionCode::IllegalDataAddress);
        buf.extend_from_slice(&refused.encode().expect("encode"));
        let reply = ModbusRtu
            .decode(&mut buf, &request)
            .expect("ok")
            .expect("reply");
        let text = reply.refused.expect("refused");
        assert!(text.contains("Illegal Data Address"), "{text}");
        assert!(
            ModbusRtu
                .read(
                    1,
                    &Block {
                        space: AddressSpace::Holding,
                        address: 0,
                        length: 126
                    }
                )
                .is_err()
        );
    }

    #[test]
    fn t3_5_before_every_request() {
        assert_eq!(
            ModbusRtu.silence_before_request(115_200),
            Duration::from_micros(1750)
        );
        assert!(ModbusRtu.silence_before_request(9600) > Duration::from_millis(4));
    }
}
