//! Answers Modbus RTU requests for the drives on a simulated bus, as a Modbus server
//! (slave) per the Modbus Application Protocol V1.1b3 and Modbus over Serial Line V1.02.
//!
//! - Functions: 03 Read Holding Registers and 04 Read Input Registers answer from the
//!   profile's holding and input tables, 06 Write Single Register and 16 Write Multiple
//!   Registers write the holding table, entry by entry and all or nothing
//!   ([`SimDrive::write_registers`]); 32-bit entries take two registers in the profile's
//!   word order.
//! - Exceptions: 01 Illegal Function for any other function code (and the codec's refusal
//!   of a broadcast read is silent); 02 Illegal Data Address for a register that belongs to
//!   no entry of the table asked for, or a range that cuts an entry in two; 03 Illegal Data
//!   Value for a quantity outside the specification's limits, a byte count that does not
//!   match it, or a value outside the entry's type, `min`/`max` or the firmware's rules
//!   (an unsupported mode of operation); 04 Server Device Failure for a write to a
//!   read-only entry. The last is a choice where vendors differ: Siemens SINAMICS G120
//!   answers a write to a read-only register with 04 (Fieldbuses function manual 04/2018,
//!   table 5-23), ABB's ACS310/ACS355 with 02 or 03; 04 keeps "no such register" (02) and
//!   "bad value" (03) apart from "this register cannot be written".
//! - Addressing: a request to a unit ID that no simulated drive has gets no answer (or,
//!   behind a simulated gateway, [`ModbusResponder::with_gateway_exception`], that
//!   gateway's exception, as gateways and some stacks answer every address); a
//!   broadcast (unit 0) write reaches every drive and nobody answers, whatever the outcome.
//! - Timing: a reply starts no earlier than t3.5 after the request's last byte (the silence
//!   that ends an RTU frame, [`Silence::for_baud`]) plus the drive's processing time,
//!   [`DEFAULT_PROCESSING`] unless the rig says otherwise.
//! - Frame ends: the codec finds where a request of a known function ends from its
//!   function code and byte count. Only for an unknown function code does it need the
//!   silence: this responder then keeps the bytes until the line has been quiet for t3.5
//!   ([`Responder::frame_gap`]) so that a request split across reads is still answered with
//!   exception 01 rather than taken for noise; and after t3.5 of silence whatever cannot
//!   complete is dropped, as the specification says an incomplete frame is.

use super::{Corrupt, HeardPacket, Reply, Responder};
use crate::drive::{SimDrive, TableError};
use bytes::BytesMut;
use drivedeck_proto::modbus::{
    self, BROADCAST, DecodeError, ExceptionCode, MAX_FRAME_LEN, MAX_SLAVE, Request, RequestFrame,
    ResponseFrame, Silence, crc16,
};
use drivedeck_proto::profile::{AddressSpace, Protocol};
use std::time::Duration;

/// How long a simulated drive takes to act on a request before it answers, after the t3.5
/// silence. Oriental Motor's BLH manual (Modbus RTU timing charts, 11.9) gives its
/// drives' response as "C3.5 (silent interval) + 2 ms or less"; 1 ms sits inside that.
pub const DEFAULT_PROCESSING: Duration = Duration::from_millis(1);

/// The Modbus RTU responder.
#[derive(Clone, Copy, Debug)]
pub struct ModbusResponder {
    silence: Silence,
    processing: Duration,
    /// The exception a gateway answers for units no drive has; `None`: silence.
    gateway_exception: Option<ExceptionCode>,
}

impl ModbusResponder {
    /// A responder for a line at `baud` (which sets t3.5) whose drives take `processing`
    /// to answer after it.
    pub fn new(baud: u32, processing: Duration) -> ModbusResponder {
        ModbusResponder {
            silence: Silence::for_baud(baud).unwrap_or(Silence::ABOVE_19200),
            processing,
            gateway_exception: None,
        }
    }

    /// Puts a gateway in front of the bus that answers a request to a unit no drive has
    /// with exception `code` (0x0B "target device failed to respond", or whatever the
    /// stack answers: some answer 0x04 or 0x02 for every address).
    pub fn with_gateway_exception(mut self, code: Option<u8>) -> ModbusResponder {
        self.gateway_exception = code.map(ExceptionCode::from_code);
        self
    }

    /// How long after a request's last byte a reply starts.
    pub fn reply_delay(&self) -> Duration {
        self.silence.t3_5 + self.processing
    }

    /// Takes the next request out of `buf`; with `wait`, an unknown function code whose
    /// CRC does not match yet is kept for more bytes instead of being dropped as noise.
    fn take(&self, buf: &mut BytesMut, wait: bool) -> Result<Option<HeardPacket>, Corrupt> {
        if wait && may_be_unknown_request(buf) {
            return Ok(None);
        }
        let before = buf.clone();
        let result = modbus::decode_request(buf);
        let consumed = &before[..before.len() - buf.len()];
        match result {
            Ok(Some(frame)) => Ok(Some(heard(&frame))),
            Ok(None) => Ok(None),
            // A good CRC but a request the specification refuses: the frame is the tail
            // of what was consumed, and the drive answers it with an exception.
            Err(
                DecodeError::Refused {
                    slave, function, ..
                }
                | DecodeError::UnsupportedFunction { slave, function },
            ) => Ok(
                tail_frame(consumed, slave, function).map(|params| HeardPacket {
                    id: slave,
                    instruction: function,
                    params,
                }),
            ),
            Err(DecodeError::BadCrc { .. }) => Err(Corrupt {
                id: consumed.first().copied(),
            }),
            Err(_) => Err(Corrupt { id: None }),
        }
    }

    fn reply(&self, frame: ResponseFrame) -> Option<Reply> {
        match frame.encode() {
            Ok(bytes) => Some(Reply {
                id: frame.slave,
                delay: self.reply_delay(),
                bytes,
            }),
            Err(e) => {
                log::warn!("simulated Modbus drive {} cannot answer: {e}", frame.slave);
                None
            }
        }
    }
}

/// The frame carried in a [`HeardPacket`]: address, function, data, CRC.
fn frame_bytes(packet: &HeardPacket) -> BytesMut {
    let mut bytes = BytesMut::with_capacity(packet.params.len() + 4);
    bytes.extend_from_slice(&[packet.id, packet.instruction]);
    bytes.extend_from_slice(&packet.params);
    let crc = crc16(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

fn heard(frame: &RequestFrame) -> HeardPacket {
    // Encoding a decoded request cannot fail (it passed the same checks); the data bytes
    // are what came over the wire.
    let bytes = frame.encode().unwrap_or_default();
    HeardPacket {
        id: frame.slave,
        instruction: frame.request.function(),
        params: bytes
            .get(2..bytes.len().saturating_sub(2))
            .unwrap_or_default()
            .to_vec(),
    }
}

/// The data bytes of the frame `slave`, `function` … at the end of `consumed` (noise the
/// codec skipped may come first): the earliest start whose CRC checks.
fn tail_frame(consumed: &[u8], slave: u8, function: u8) -> Option<Vec<u8>> {
    (0..consumed.len().saturating_sub(3)).find_map(|start| {
        let frame = &consumed[start..];
        let (body, crc) = frame.split_at(frame.len() - 2);
        (body[0] == slave
            && body[1] == function
            && crc16(body) == u16::from_le_bytes([crc[0], crc[1]]))
        .then(|| body[2..].to_vec())
    })
}

/// True when `buf` starts like a request with a function code the codec does not know,
/// whose end it cannot find yet (no CRC matches): only the silence can tell where it ends.
fn may_be_unknown_request(buf: &[u8]) -> bool {
    let (Some(&slave), Some(&function)) = (buf.first(), buf.get(1)) else {
        return false;
    };
    if slave > MAX_SLAVE || modbus::function::name(function).is_some() || buf.len() >= MAX_FRAME_LEN
    {
        return false;
    }
    !(4..=buf.len()).any(|len| {
        let (body, crc) = buf[..len].split_at(len - 2);
        crc16(body) == u16::from_le_bytes([crc[0], crc[1]])
    })
}

fn exception_for(error: &TableError) -> ExceptionCode {
    match error {
        TableError::Access(_) => ExceptionCode::IllegalDataAddress,
        TableError::ReadOnly(_) => ExceptionCode::ServerDeviceFailure,
        TableError::Range(_) | TableError::AngleLimit(_) => ExceptionCode::IllegalDataValue,
    }
}

/// Carries out `request` on `drive`: the normal answer, or the exception.
fn serve(drive: &mut SimDrive, frame: &RequestFrame) -> Option<ResponseFrame> {
    let outcome = match &frame.request {
        Request::ReadHoldingRegisters { address, quantity } => drive
            .read_registers(AddressSpace::Holding, *address, *quantity)
            .map(Some),
        Request::ReadInputRegisters { address, quantity } => drive
            .read_registers(AddressSpace::Input, *address, *quantity)
            .map(Some),
        Request::WriteSingleRegister { address, value } => {
            drive.write_registers(*address, &[*value]).map(|()| None)
        }
        Request::WriteMultipleRegisters { address, values } => {
            drive.write_registers(*address, values).map(|()| None)
        }
    };
    match outcome {
        Ok(Some(values)) => frame.reply_read(&values).ok(),
        Ok(None) => frame.reply_write(),
        Err(error) => frame.reply_exception(exception_for(&error)),
    }
}

impl Responder for ModbusResponder {
    fn protocol(&self) -> Protocol {
        Protocol::ModbusRtu
    }

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt> {
        self.take(buf, true)
    }

    fn frame_gap(&self) -> Option<Duration> {
        Some(self.silence.t3_5)
    }

    fn decode_after_silence(&mut self, buf: &mut BytesMut) -> Result<Option<HeardPacket>, Corrupt> {
        match self.take(buf, false) {
            Ok(None) if !buf.is_empty() => {
                // The frame ended by silence before it was complete: dropped unanswered.
                buf.clear();
                Err(Corrupt { id: None })
            }
            other => other,
        }
    }

    fn bits_per_char(&self) -> u32 {
        modbus::BITS_PER_CHAR
    }

    fn respond(&mut self, drives: &mut [SimDrive], packet: &HeardPacket) -> Vec<Reply> {
        let mut bytes = frame_bytes(packet);
        let frame = match modbus::decode_request(&mut bytes) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Vec::new(),
            Err(refused) => {
                // Only a drive that has the unit ID answers; a broadcast gets no exception.
                let Some(drive) = drives.iter_mut().find(|d| d.id() == packet.id) else {
                    return Vec::new();
                };
                drive.heard();
                return refused
                    .exception_reply()
                    .and_then(|frame| self.reply(frame))
                    .into_iter()
                    .collect();
            }
        };
        if frame.slave == BROADCAST {
            for drive in drives.iter_mut() {
                drive.heard();
                // Nobody answers a broadcast: a drive that refuses it just keeps its table.
                let _ = serve(drive, &frame);
            }
            return Vec::new();
        }
        let Some(drive) = drives.iter_mut().find(|d| d.id() == frame.slave) else {
            return self
                .gateway_exception
                .and_then(|code| frame.reply_exception(code))
                .and_then(|answer| self.reply(answer))
                .into_iter()
                .collect();
        };
        drive.heard();
        serve(drive, &frame)
            .and_then(|answer| self.reply(answer))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::modbus::{Response, decode_response};
    use drivedeck_proto::profile::{Profile, Role};

    fn bus() -> Vec<SimDrive> {
        vec![
            SimDrive::new(Profile::kinco_fd5p(), 1),
            SimDrive::new(Profile::kinco_fd5p(), 2),
        ]
    }

    fn responder() -> ModbusResponder {
        ModbusResponder::new(115_200, DEFAULT_PROCESSING)
    }

    /// Sends `request` (raw bytes, as on the wire) and returns the raw replies.
    fn exchange(drives: &mut [SimDrive], request: &[u8]) -> Vec<Reply> {
        let mut responder = responder();
        let mut buf = BytesMut::from(request);
        let packet = responder
            .decode(&mut buf)
            .expect("a good frame")
            .expect("complete");
        assert!(buf.is_empty());
        responder.respond(drives, &packet)
    }

    fn answer(reply: &Reply, request: &[u8]) -> Response {
        let mut sent = BytesMut::from(request);
        let request = modbus::decode_request(&mut sent)
            .expect("valid")
            .expect("complete");
        let mut buf = BytesMut::from(&reply.bytes[..]);
        decode_response(&mut buf, &request)
            .expect("valid answer")
            .expect("complete")
            .response
    }

    #[test]
    fn reads_a_32_bit_entry_low_word_first_as_the_kinco_manual_frames_it() {
        let mut drives = bus();
        // 01 10 6F 00 00 02 04 4E 82 00 1B ED 56: the manual's Target Velocity write
        // of 0x001B4E82 (100 rpm), low word first.
        let write = [
            0x01, // unit ID
            0x10, // Write Multiple Registers
            0x6F, 0x00, // first register 0x6F00 (60FFh Target Velocity)
            0x00, 0x02, // two registers
            0x04, // byte count
            0x4E, 0x82, // low word
            0x00, 0x1B, // high word
            0xED, 0x56, // CRC, low byte first
        ];
        let replies = exchange(&mut drives, &write);
        assert_eq!(replies.len(), 1);
        assert_eq!(
            replies[0].bytes,
            [
                0x01, // unit ID
                0x10, // function echoed
                0x6F, 0x00, // first register
                0x00, 0x02, // quantity
                0x5C, 0xDC, // CRC
            ]
        );
        assert_eq!(drives[0].raw(Role::GoalVelocity), 0x001B_4E82);
        assert_eq!(drives[1].raw(Role::GoalVelocity), 0, "only unit 1");
        // Read it back with 03: the same two registers, low word first.
        let read = [
            0x01, // unit ID
            0x03, // Read Holding Registers
            0x6F, 0x00, // first register
            0x00, 0x02, // two registers
            0xD9, 0x1F, // CRC
        ];
        let replies = exchange(&mut drives, &read);
        assert_eq!(
            replies[0].bytes,
            [
                0x01, // unit ID
                0x03, // function
                0x04, // byte count
                0x4E, 0x82, // low word
                0x00, 0x1B, // high word
                0x0D, 0x38, // CRC
            ]
        );
        // The reply waits for t3.5 (1.75 ms above 19200 baud) plus the processing time.
        assert_eq!(replies[0].delay, Duration::from_micros(1750 + 1000));
    }

    #[test]
    fn write_single_register_echoes_and_drives_the_controlword() {
        let mut drives = bus();
        // The manual's "01 06 31 00 00 0F C7 32": controlword 0x000F.
        let write = [0x01, 0x06, 0x31, 0x00, 0x00, 0x0F, 0xC7, 0x32];
        let replies = exchange(&mut drives, &write);
        assert_eq!(replies[0].bytes, write, "06 echoes the request");
        assert_eq!(drives[0].raw(Role::TorqueEnable), 0x000F);
        // Read the statusword (0x3200) like the manual's "01 03 32 00 00 01".
        let read = RequestFrame::read_holding_registers(1, 0x3200, 1)
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &read);
        let status = answer(&replies[0], &read);
        assert_eq!(status.registers().map(<[u16]>::len), Some(1), "{status:?}");
    }

    #[test]
    fn unmapped_and_partial_ranges_are_illegal_data_addresses() {
        let mut drives = bus();
        for request in [
            // 0x3101 follows the controlword: no entry there.
            RequestFrame::read_holding_registers(1, 0x3100, 2),
            // Only the high word of Target Velocity (0x6F01).
            RequestFrame::read_holding_registers(1, 0x6F01, 1),
            // The Kinco profile has no input registers.
            RequestFrame::read_input_registers(1, 0x3200, 1),
            // Write Single to half of a 32-bit entry.
            RequestFrame::write_single_register(1, 0x4000, 5),
            // Nothing at all at register 7.
            RequestFrame::write_multiple_registers(1, 7, &[1, 2]),
        ] {
            let request = request.expect("valid").encode().expect("encodes");
            let replies = exchange(&mut drives, &request);
            assert_eq!(
                answer(&replies[0], &request).exception(),
                Some(ExceptionCode::IllegalDataAddress),
                "{request:02X?}"
            );
        }
        assert_eq!(drives[0].raw(Role::GoalPosition), 0, "nothing was written");
    }

    #[test]
    fn bad_values_and_quantities_are_illegal_data_values() {
        let mut drives = bus();
        // Modes of Operation 7 is outside the profile's 1..=6.
        let request = RequestFrame::write_single_register(1, 0x3500, 7)
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &request);
        assert_eq!(
            answer(&replies[0], &request).exception(),
            Some(ExceptionCode::IllegalDataValue)
        );
        // Read of 126 registers: beyond the specification's 125 (frame built by hand, the
        // codec refuses to build it).
        let mut bad = vec![0x02, 0x03, 0x32, 0x00, 0x00, 126];
        bad.extend_from_slice(&crc16(&bad).to_le_bytes());
        let replies = exchange(&mut drives, &bad);
        assert_eq!(
            replies[0].bytes[..3],
            [0x02, 0x83, 0x03],
            "exception 03 from unit 2"
        );
    }

    /// Drives of the test profile whose holding registers are contiguous, high word first.
    fn contiguous_bus() -> Vec<SimDrive> {
        let profile = Profile::parse(
            include_str!("../../testdata/cia402-contiguous.toml"),
            "testdata/cia402-contiguous.toml",
        )
        .expect("valid test profile");
        vec![SimDrive::new(profile, 5)]
    }

    #[test]
    fn a_write_multiple_across_entries_is_all_or_nothing() {
        let mut drives = contiguous_bus();
        // Target Position (6–7) = 0x00012345 high word first, Target Velocity (8–9) = 1000.
        let write = [
            0x05, // unit ID
            0x10, // Write Multiple Registers
            0x00, 0x06, // first register 6
            0x00, 0x04, // four registers
            0x08, // byte count
            0x00, 0x01, 0x23, 0x45, // Target Position, high word first
            0x00, 0x00, 0x03, 0xE8, // Target Velocity 1000
            0x60, 0x93, // CRC
        ];
        let replies = exchange(&mut drives, &write);
        assert_eq!(replies[0].bytes[..6], [0x05, 0x10, 0x00, 0x06, 0x00, 0x04]);
        assert_eq!(drives[0].raw(Role::GoalPosition), 0x0001_2345);
        assert_eq!(drives[0].raw(Role::GoalVelocity), 1000);
        // Target Velocity 30000 is beyond its max of 20000: exception 03, and the valid
        // Target Position in the same request is not written either.
        let request = RequestFrame::write_multiple_registers(5, 6, &[0, 7, 0, 30_000])
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &request);
        assert_eq!(
            answer(&replies[0], &request).exception(),
            Some(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(drives[0].raw(Role::GoalPosition), 0x0001_2345);
        // 04 reads the input table: the actual values live there, not in the holding one.
        let request = RequestFrame::read_input_registers(5, 0, 6)
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &request);
        let values = answer(&replies[0], &request);
        assert_eq!(values.registers().map(<[u16]>::len), Some(6));
        assert_eq!(values.registers().map(|r| r[5]), Some(25), "25 °C");
        let request = RequestFrame::read_holding_registers(5, 0, 24)
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &request);
        assert_eq!(
            answer(&replies[0], &request).exception(),
            Some(ExceptionCode::IllegalDataAddress),
            "register 23 is not mapped"
        );
    }

    #[test]
    fn a_write_to_a_read_only_entry_is_a_server_device_failure() {
        let mut drives = bus();
        let request = RequestFrame::write_single_register(1, 0x3200, 0x0637)
            .expect("valid")
            .encode()
            .expect("encodes");
        let replies = exchange(&mut drives, &request);
        assert_eq!(
            answer(&replies[0], &request).exception(),
            Some(ExceptionCode::ServerDeviceFailure)
        );
    }

    #[test]
    fn other_functions_are_illegal_and_unknown_units_stay_silent() {
        let mut drives = bus();
        // 01 Read Coils to unit 2: 02 81 01 + CRC.
        let mut coils = vec![0x02, 0x01, 0x00, 0x00, 0x00, 0x08];
        coils.extend_from_slice(&crc16(&coils).to_le_bytes());
        let replies = exchange(&mut drives, &coils);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].bytes[..3], [0x02, 0x81, 0x01]);
        // Unit 9 is not on the bus: nobody answers, not even with an exception.
        for request in [
            RequestFrame::read_holding_registers(9, 0x3200, 1),
            RequestFrame::read_holding_registers(9, 0x3201, 1),
        ] {
            let request = request.expect("valid").encode().expect("encodes");
            assert!(exchange(&mut drives, &request).is_empty());
        }
        let mut coils9 = vec![0x09, 0x01, 0x00, 0x00, 0x00, 0x08];
        coils9.extend_from_slice(&crc16(&coils9).to_le_bytes());
        assert!(exchange(&mut drives, &coils9).is_empty());
    }

    #[test]
    fn a_broadcast_write_reaches_every_drive_and_nobody_answers() {
        let mut drives = bus();
        let target = Profile::kinco_fd5p()
            .role(Role::GoalPosition)
            .expect("607Ah")
            .clone();
        let request = RequestFrame::write_multiple_registers(
            BROADCAST,
            target.address,
            &target.encode_words(-65536),
        )
        .expect("valid")
        .encode()
        .expect("encodes");
        assert!(exchange(&mut drives, &request).is_empty());
        assert!(drives.iter().all(|d| d.raw(Role::GoalPosition) == -65536));
        // A refused broadcast is silent too, and changes nothing.
        let bad = RequestFrame::write_single_register(BROADCAST, 0x3200, 1)
            .expect("valid")
            .encode()
            .expect("encodes");
        assert!(exchange(&mut drives, &bad).is_empty());
    }

    #[test]
    fn an_unknown_function_split_across_reads_waits_for_the_silence() {
        let mut drives = bus();
        let mut responder = responder();
        // 08 Diagnostics (return query data) to unit 1, arriving in two pieces.
        let mut frame = vec![0x01, 0x08, 0x00, 0x00, 0xA5, 0x37];
        frame.extend_from_slice(&crc16(&frame).to_le_bytes());
        let mut buf = BytesMut::from(&frame[..3]);
        assert_eq!(responder.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 3, "kept, not dropped as noise");
        buf.extend_from_slice(&frame[3..]);
        let packet = responder.decode(&mut buf).expect("good").expect("complete");
        let replies = responder.respond(&mut drives, &packet);
        assert_eq!(replies[0].bytes[..3], [0x01, 0x88, 0x01]);
        // A request cut short by silence is dropped, unanswered.
        let read = RequestFrame::read_holding_registers(1, 0x3200, 1)
            .expect("valid")
            .encode()
            .expect("encodes");
        let mut buf = BytesMut::from(&read[..5]);
        assert_eq!(responder.decode(&mut buf), Ok(None));
        assert_eq!(
            responder.decode_after_silence(&mut buf),
            Err(Corrupt { id: None })
        );
        assert!(buf.is_empty());
        assert_eq!(responder.frame_gap(), Some(Duration::from_micros(1750)));
    }

    #[test]
    fn a_bad_crc_is_dropped_and_the_next_request_answered() {
        let mut drives = bus();
        let mut responder = responder();
        let read = RequestFrame::read_holding_registers(2, 0x3200, 1)
            .expect("valid")
            .encode()
            .expect("encodes");
        let mut bad = read.clone();
        bad[7] ^= 0xFF;
        let mut buf = BytesMut::from(&bad[..]);
        buf.extend_from_slice(&read);
        let mut replies = Vec::new();
        let mut corrupt = 0;
        loop {
            match responder.decode(&mut buf) {
                Ok(Some(packet)) => replies.extend(responder.respond(&mut drives, &packet)),
                Ok(None) => break,
                Err(_) => corrupt += 1,
            }
        }
        // After the bad CRC the bytes left start like a request with function 0x32: the
        // device cannot tell where that ends before the line goes quiet.
        assert!(replies.is_empty());
        assert!(!buf.is_empty());
        while !buf.is_empty() {
            match responder.decode_after_silence(&mut buf) {
                Ok(Some(packet)) => replies.extend(responder.respond(&mut drives, &packet)),
                Ok(None) => break,
                Err(_) => corrupt += 1,
            }
        }
        assert!(corrupt >= 1);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].id, 2);
        assert!(
            responder
                .respond_to_corrupt(&mut drives, Corrupt { id: Some(2) })
                .is_empty(),
            "Modbus has no answer to a bad CRC"
        );
    }
}
