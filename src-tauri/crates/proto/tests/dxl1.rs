//! DYNAMIXEL Protocol 1.0 codec against the ROBOTIS e-Manual's example packets and the
//! Feetech FT-SCS protocol's, plus stream decoding (partial input, garbage, corrupt frames,
//! `FF FF` inside parameters), parameter parsing, byte order per variant and error bits.
//!
//! Every example's checksum was recomputed independently; all are as printed.

use bytes::BytesMut;
use drivedeck_proto::dxl1::{
    self, BROADCAST_ID, DecodeError, EncodeError, Instruction, MAX_LEN, Packet, StatusError,
    Variant, decode, decode_sign_magnitude, dynamixel_error, encode_sign_magnitude, feetech_error,
    instruction, sign_bit,
};

/// Decodes exactly one packet from `frame` and checks that nothing is left over.
fn decode_one(frame: &[u8]) -> Packet {
    let mut buf = BytesMut::from(frame);
    let packet = decode(&mut buf)
        .expect("valid frame")
        .expect("complete frame");
    assert!(
        buf.is_empty(),
        "bytes left after decoding: {:02X?}",
        &buf[..]
    );
    packet
}

/// `packet` encodes to `frame`, and `frame` decodes back to `packet`.
fn assert_wire(packet: &Packet, frame: &[u8]) {
    assert_eq!(packet.encode(), frame, "encoding of {packet:?}");
    assert_eq!(&decode_one(frame), packet, "decoding of {frame:02X?}");
}

// ---------------------------------------------------------------------------------------
// ROBOTIS e-Manual, Protocol 1.0

/// The e-Manual's checksum worked example: ~(0x01 + 0x05 + 0x03 + 0x0C + 0x64 + 0xAA).
const CHECKSUM_EXAMPLE: [u8; 9] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x05, // LEN = 3 parameters + 2
    0x03, // instruction: Write
    0x0C, // address 12
    0x64, 0xAA, // data
    0xDC, // checksum
];

/// Ping ID 1 (RX-64).
const PING_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x01, // instruction: Ping
    0xFB, // checksum
];

/// The answer to Ping, Write, Reg Write from ID 1: no error, no data.
const EMPTY_STATUS_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x00, // error: none
    0xFC, // checksum
];

/// Read the internal temperature (address 43, 1 byte) of ID 1.
const READ_TEMPERATURE_ID1: [u8; 8] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x04, // LEN = 4
    0x02, // instruction: Read
    0x2B, // address 43
    0x01, // length 1
    0xCC, // checksum
];

/// ID 1's answer: 32 °C.
const READ_TEMPERATURE_STATUS_ID1: [u8; 7] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x03, // LEN = 3
    0x00, // error: none
    0x20, // 32 °C
    0xDB, // checksum
];

/// Broadcast Write of 1 to ID (address 3): gives an unknown device the ID 1.
const WRITE_ID_BROADCAST: [u8; 8] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x04, // LEN = 4
    0x03, // instruction: Write
    0x03, // address 3 (ID)
    0x01, // new ID 1
    0xF6, // checksum
];

/// Reg Write 500 (0x01F4) to Goal Position (address 30) of ID 1.
const REG_WRITE_ID1: [u8; 9] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x05, // LEN = 5
    0x04, // instruction: Reg Write
    0x1E, // address 30
    0xF4, 0x01, // 500, low byte first
    0xE2, // checksum
];

/// Action to every device.
const ACTION_BROADCAST: [u8; 6] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x02, // LEN = 2
    0x05, // instruction: Action
    0xFA, // checksum
];

/// Factory Reset of ID 0.
const FACTORY_RESET_ID0: [u8; 6] = [
    0xFF, 0xFF, // header
    0x00, // ID 0
    0x02, // LEN = 2
    0x06, // instruction: Factory Reset
    0xF7, // checksum
];

/// ID 0's answer.
const EMPTY_STATUS_ID0: [u8; 6] = [
    0xFF, 0xFF, // header
    0x00, // ID 0
    0x02, // LEN = 2
    0x00, // error: none
    0xFD, // checksum
];

/// Goal Position (30) and Moving Speed (32), 4 bytes: 0x010 / 0x150 to ID 0, 0x220 / 0x360
/// to ID 1.
const SYNC_WRITE: [u8; 18] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x0E, // LEN = (4 + 1) * 2 + 4 = 14
    0x83, // instruction: Sync Write
    0x1E, // address 30
    0x04, // length 4
    0x00, // ID 0
    0x10, 0x00, 0x50, 0x01, // position 0x010, speed 0x150
    0x01, // ID 1
    0x20, 0x02, 0x60, 0x03, // position 0x220, speed 0x360
    0x67, // checksum
];

/// The older RX-64 manual's version of the same example, with four devices (the fourth
/// item is addressed to ID 3, although its text says ID 0).
const SYNC_WRITE_FOUR: [u8; 28] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x18, // LEN = (4 + 1) * 4 + 4 = 24
    0x83, // instruction: Sync Write
    0x1E, // address 30
    0x04, // length 4
    0x00, 0x10, 0x00, 0x50, 0x01, // ID 0: 0x010, 0x150
    0x01, 0x20, 0x02, 0x60, 0x03, // ID 1: 0x220, 0x360
    0x02, 0x30, 0x00, 0x70, 0x01, // ID 2: 0x030, 0x170
    0x03, 0x20, 0x02, 0x80, 0x03, // ID 3: 0x220, 0x380
    0x12, // checksum
];

/// Goal Position (30, 2 bytes) of ID 1 and Present Position (36, 2 bytes) of ID 2.
const BULK_READ: [u8; 13] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x09, // LEN = 3 * 2 + 3
    0x92, // instruction: Bulk Read
    0x00, // fixed 0x00
    0x02, 0x01, 0x1E, // length 2, ID 1, address 30
    0x02, 0x02, 0x24, // length 2, ID 2, address 36
    0x1D, // checksum
];

const BULK_READ_STATUS_ID1: [u8; 8] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x04, // LEN = 4
    0x00, // error: none
    0x00, 0x80, // 0x8000
    0x7A, // checksum
];

const BULK_READ_STATUS_ID2: [u8; 8] = [
    0xFF, 0xFF, // header
    0x02, // ID
    0x04, // LEN = 4
    0x00, // error: none
    0x00, 0x80, // 0x8000
    0x79, // checksum
];

/// The e-Manual's error example: ID 1 reports overload and overheating.
const OVERLOAD_STATUS_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x24, // error: bit 5 overload, bit 2 overheating
    0xD8, // checksum
];

#[test]
fn checksum_example() {
    assert_eq!(dxl1::checksum(&CHECKSUM_EXAMPLE[2..8]), 0xDC);
    assert_wire(&Packet::write(1, 0x0C, &[0x64, 0xAA]), &CHECKSUM_EXAMPLE);
}

#[test]
fn ping_example() {
    let ping = Packet::ping(1);
    assert_wire(&ping, &PING_ID1);
    assert_eq!(ping.parse(), Ok(Instruction::Ping));

    let status = Packet::status(1, 0, &[]);
    assert_wire(&status, &EMPTY_STATUS_ID1);
    let view = status.as_status().unwrap();
    assert_eq!(
        (view.id, view.error, view.data),
        (1, StatusError(0), &[][..])
    );
    assert!(view.error.is_ok());
}

#[test]
fn read_example() {
    let read = Packet::read(1, 0x2B, 1);
    assert_wire(&read, &READ_TEMPERATURE_ID1);
    assert_eq!(
        read.parse(),
        Ok(Instruction::Read {
            address: 43,
            length: 1
        })
    );

    let status = decode_one(&READ_TEMPERATURE_STATUS_ID1);
    assert_eq!(status, Packet::status(1, 0, &[32]));
    assert_eq!(status.as_status().unwrap().data, [32]);
}

#[test]
fn write_example() {
    let write = Packet::write(BROADCAST_ID, 3, &[1]);
    assert_wire(&write, &WRITE_ID_BROADCAST);
    assert_eq!(
        write.parse(),
        Ok(Instruction::Write {
            address: 3,
            data: &[1]
        })
    );
    // Nothing from the broadcast ID is a status packet.
    assert_eq!(write.as_status(), None);
}

#[test]
fn reg_write_and_action_examples() {
    let reg_write = Packet::reg_write(1, 30, &Variant::Dynamixel1.encode_u16(500));
    assert_wire(&reg_write, &REG_WRITE_ID1);
    assert_eq!(
        reg_write.parse(),
        Ok(Instruction::RegWrite {
            address: 30,
            data: &[0xF4, 0x01]
        })
    );
    assert_wire(&Packet::status(1, 0, &[]), &EMPTY_STATUS_ID1);

    let action = Packet::action(BROADCAST_ID);
    assert_wire(&action, &ACTION_BROADCAST);
    assert_eq!(action.parse(), Ok(Instruction::Action));
}

#[test]
fn factory_reset_example() {
    let reset = Packet::reset(0);
    assert_wire(&reset, &FACTORY_RESET_ID0);
    assert_eq!(reset.parse(), Ok(Instruction::Reset));
    assert_wire(&Packet::status(0, 0, &[]), &EMPTY_STATUS_ID0);
}

#[test]
fn sync_write_example() {
    let v = Variant::Dynamixel1;
    let item = |position: u16, speed: u16| {
        let mut data = v.encode_u16(position).to_vec();
        data.extend_from_slice(&v.encode_u16(speed));
        data
    };
    let (first, second) = (item(0x010, 0x150), item(0x220, 0x360));
    let items: [(u8, &[u8]); 2] = [(0, &first), (1, &second)];
    let sync_write = Packet::sync_write(30, 4, &items).unwrap();
    assert_wire(&sync_write, &SYNC_WRITE);
    assert_eq!(
        sync_write.parse(),
        Ok(Instruction::SyncWrite {
            address: 30,
            length: 4,
            items: items.to_vec()
        })
    );

    let (third, fourth) = (item(0x030, 0x170), item(0x220, 0x380));
    let four: [(u8, &[u8]); 4] = [(0, &first), (1, &second), (2, &third), (3, &fourth)];
    assert_wire(&Packet::sync_write(30, 4, &four).unwrap(), &SYNC_WRITE_FOUR);

    assert_eq!(
        Packet::sync_write(30, 4, &[(1, &[1, 2, 3, 4]), (2, &[1, 2])]),
        Err(EncodeError::ItemLength {
            id: 2,
            expected: 4,
            actual: 2
        })
    );
}

#[test]
fn bulk_read_example() {
    let request = Packet::bulk_read(&[(1, 30, 2), (2, 36, 2)]);
    assert_wire(&request, &BULK_READ);
    assert_eq!(
        request.parse(),
        Ok(Instruction::BulkRead {
            items: vec![(1, 30, 2), (2, 36, 2)]
        })
    );

    // ID 2 answers right after ID 1: both arrive in one read.
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&BULK_READ_STATUS_ID1);
    buf.extend_from_slice(&BULK_READ_STATUS_ID2);
    assert_eq!(
        decode(&mut buf),
        Ok(Some(Packet::status(1, 0, &[0x00, 0x80])))
    );
    assert_eq!(
        decode(&mut buf),
        Ok(Some(Packet::status(2, 0, &[0x00, 0x80])))
    );
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn error_byte_example() {
    let status = decode_one(&OVERLOAD_STATUS_ID1);
    assert_eq!(status, Packet::status(1, 0x24, &[]));
    let error = status.as_status().unwrap().error;
    assert!(!error.is_ok());
    assert!(error.contains(dynamixel_error::OVERLOAD | dynamixel_error::OVERHEATING));
    assert!(!error.contains(dynamixel_error::RANGE));
    assert_eq!(
        error.flags(Variant::Dynamixel1),
        ["Overheating Error", "Overload Error"]
    );
    assert_eq!(
        error.describe(Variant::Dynamixel1),
        "Overheating Error, Overload Error"
    );
    // The same bits from a Feetech servo: over-temperature and overload.
    assert_eq!(
        error.describe(Variant::Sts),
        "Overheat Error, Overload Error"
    );
}

// ---------------------------------------------------------------------------------------
// Feetech FT-SCS protocol (STS examples: two-byte values low byte first)

/// Read Present Position (address 56, 2 bytes) of ID 1.
const FT_READ_POSITION_ID1: [u8; 8] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x04, // LEN = 4
    0x02, // instruction: Read
    0x38, // address 56
    0x02, // length 2
    0xBE, // checksum
];

/// ID 1's answer: position 0x0518 = 1304.
const FT_READ_POSITION_STATUS_ID1: [u8; 8] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x04, // LEN = 4
    0x00, // servo status: no error
    0x18, 0x05, // 1304, low byte first
    0xDD, // checksum
];

/// Broadcast Write of 1 to ID (address 5).
const FT_WRITE_ID_BROADCAST: [u8; 8] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x04, // LEN = 4
    0x03, // instruction: Write
    0x05, // address 5 (ID)
    0x01, // new ID 1
    0xF4, // checksum
];

/// ID 1 to position 2048 at 1000 steps/s: 6 bytes from Goal Position (42).
const FT_WRITE_GOAL_ID1: [u8; 13] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x09, // LEN = 9
    0x03, // instruction: Write
    0x2A, // address 42
    0x00, 0x08, // goal position 2048
    0x00, 0x00, // goal time 0
    0xE8, 0x03, // goal speed 1000
    0xD5, // checksum
];

/// The same as a Reg Write to ID 1 …
const FT_REG_WRITE_GOAL_ID1: [u8; 13] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x09, // LEN = 9
    0x04, // instruction: Reg Write
    0x2A, // address 42
    0x00, 0x08, // goal position 2048
    0x00, 0x00, // goal time 0
    0xE8, 0x03, // goal speed 1000
    0xD4, // checksum
];

/// … and to ID 10.
const FT_REG_WRITE_GOAL_ID10: [u8; 13] = [
    0xFF, 0xFF, // header
    0x0A, // ID 10
    0x09, // LEN = 9
    0x04, // instruction: Reg Write
    0x2A, // address 42
    0x00, 0x08, // goal position 2048
    0x00, 0x00, // goal time 0
    0xE8, 0x03, // goal speed 1000
    0xCB, // checksum
];

/// ID 10's answer.
const FT_EMPTY_STATUS_ID10: [u8; 6] = [
    0xFF, 0xFF, // header
    0x0A, // ID 10
    0x02, // LEN = 2
    0x00, // servo status: no error
    0xF3, // checksum
];

/// Position 2048, time 0, speed 1000 from address 42 to IDs 1 to 4.
const FT_SYNC_WRITE: [u8; 36] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x20, // LEN = (6 + 1) * 4 + 4 = 32
    0x83, // instruction: Sync Write
    0x2A, // address 42
    0x06, // length 6
    0x01, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03, // ID 1
    0x02, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03, // ID 2
    0x03, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03, // ID 3
    0x04, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03, // ID 4
    0x58, // checksum
];

/// 8 bytes from Present Position (56) of IDs 1 and 2: position, speed, load, voltage,
/// temperature.
const FT_SYNC_READ: [u8; 10] = [
    0xFF, 0xFF, // header
    0xFE, // ID: broadcast
    0x06, // LEN = 2 + 4
    0x82, // instruction: Sync Read
    0x38, // address 56
    0x08, // length 8
    0x01, 0x02, // IDs 1, 2
    0x36, // checksum
];

const FT_SYNC_READ_STATUS_ID1: [u8; 14] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x0A, // LEN = 10
    0x00, // servo status: no error
    0x00, 0x08, // position 2048
    0x00, 0x00, // speed 0
    0x00, 0x00, // load 0
    0x79, // 12.1 V
    0x1E, // 30 °C
    0x55, // checksum
];

const FT_SYNC_READ_STATUS_ID2: [u8; 14] = [
    0xFF, 0xFF, // header
    0x02, // ID
    0x0A, // LEN = 10
    0x00, // servo status: no error
    0xFF, 0x07, // position 2047
    0x00, 0x00, // speed 0
    0x00, 0x00, // load 0
    0x77, // 11.9 V
    0x23, // 35 °C
    0x53, // checksum
];

/// Status reset (multi-turn count) of ID 1.
const FT_STATUS_RESET_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x0A, // instruction: Status Reset
    0xF2, // checksum
];

/// Calibrate ID 1's present position to the middle.
const FT_CALIBRATE_MIDDLE_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x0B, // instruction: Position Calibration
    0xF1, // checksum
];

/// Calibrate ID 1's present position to 1024.
const FT_CALIBRATE_1024_ID1: [u8; 8] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x04, // LEN = 4
    0x0B, // instruction: Position Calibration
    0x00, 0x04, // 1024, low byte first
    0xEB, // checksum
];

/// Parameter recovery of ID 1.
const FT_RECOVERY_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x06, // instruction: Parameter Recovery
    0xF6, // checksum
];

/// Parameter backup of ID 1.
const FT_BACKUP_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x09, // instruction: Parameter Backup
    0xF3, // checksum
];

/// Restart of ID 1 (not answered).
const FT_REBOOT_ID1: [u8; 6] = [
    0xFF, 0xFF, // header
    0x01, // ID
    0x02, // LEN = 2
    0x08, // instruction: Reboot
    0xF4, // checksum
];

#[test]
fn feetech_ping_and_read_examples() {
    // Feetech's Ping example is byte for byte the DYNAMIXEL one.
    assert_wire(&Packet::ping(1), &PING_ID1);
    assert_wire(&Packet::status(1, 0, &[]), &EMPTY_STATUS_ID1);

    assert_wire(&Packet::read(1, 56, 2), &FT_READ_POSITION_ID1);
    let status = decode_one(&FT_READ_POSITION_STATUS_ID1);
    let data = status.as_status().unwrap().data;
    assert_eq!(Variant::Sts.decode_u16([data[0], data[1]]), 1304);
}

#[test]
fn feetech_write_examples() {
    assert_wire(
        &Packet::write(BROADCAST_ID, 5, &[1]),
        &FT_WRITE_ID_BROADCAST,
    );

    let v = Variant::Sts;
    let mut goal = v.encode_u16(2048).to_vec();
    goal.extend_from_slice(&v.encode_u16(0));
    goal.extend_from_slice(&v.encode_u16(1000));
    assert_wire(&Packet::write(1, 42, &goal), &FT_WRITE_GOAL_ID1);
    assert_wire(&Packet::reg_write(1, 42, &goal), &FT_REG_WRITE_GOAL_ID1);
    assert_wire(&Packet::reg_write(10, 42, &goal), &FT_REG_WRITE_GOAL_ID10);
    assert_wire(&Packet::status(10, 0, &[]), &FT_EMPTY_STATUS_ID10);
    assert_wire(&Packet::action(BROADCAST_ID), &ACTION_BROADCAST);

    let items: Vec<(u8, &[u8])> = (1..=4).map(|id| (id, goal.as_slice())).collect();
    let sync_write = Packet::sync_write(42, 6, &items).unwrap();
    assert_wire(&sync_write, &FT_SYNC_WRITE);
    assert_eq!(
        sync_write.parse(),
        Ok(Instruction::SyncWrite {
            address: 42,
            length: 6,
            items
        })
    );
}

#[test]
fn feetech_sync_read_example() {
    let request = Packet::sync_read(56, 8, &[1, 2]);
    assert_wire(&request, &FT_SYNC_READ);
    assert_eq!(
        request.parse(),
        Ok(Instruction::SyncRead {
            address: 56,
            length: 8,
            ids: &[1, 2]
        })
    );

    // The devices answer one after the other in request order.
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&FT_SYNC_READ_STATUS_ID1);
    buf.extend_from_slice(&FT_SYNC_READ_STATUS_ID2);
    let v = Variant::Sts;
    for (id, position, volts, celsius) in [(1, 2048, 121, 30), (2, 2047, 119, 35)] {
        let packet = decode(&mut buf).unwrap().unwrap();
        let status = packet.as_status().unwrap();
        assert_eq!((status.id, status.error), (id, StatusError(0)));
        assert_eq!(status.data.len(), 8);
        assert_eq!(v.decode_u16([status.data[0], status.data[1]]), position);
        assert_eq!(v.decode_u16([status.data[2], status.data[3]]), 0);
        assert_eq!(v.decode_u16([status.data[4], status.data[5]]), 0);
        assert_eq!((status.data[6], status.data[7]), (volts, celsius));
    }
    assert_eq!(decode(&mut buf), Ok(None));
}

#[test]
fn feetech_maintenance_examples() {
    let cases = [
        (
            Packet::status_reset(1),
            &FT_STATUS_RESET_ID1[..],
            Instruction::StatusReset,
        ),
        (
            Packet::calibrate(1, None),
            &FT_CALIBRATE_MIDDLE_ID1[..],
            Instruction::Calibrate { value: None },
        ),
        (Packet::reset(1), &FT_RECOVERY_ID1[..], Instruction::Reset),
        (
            Packet::parameter_backup(1),
            &FT_BACKUP_ID1[..],
            Instruction::ParameterBackup,
        ),
        (Packet::reboot(1), &FT_REBOOT_ID1[..], Instruction::Reboot),
    ];
    for (packet, frame, parsed) in cases {
        assert_wire(&packet, frame);
        assert_eq!(packet.parse(), Ok(parsed));
    }

    let v = Variant::Sts;
    let calibrate = Packet::calibrate(1, Some(v.encode_u16(1024)));
    assert_wire(&calibrate, &FT_CALIBRATE_1024_ID1);
    let Ok(Instruction::Calibrate { value: Some(bytes) }) = calibrate.parse() else {
        panic!("calibrate parses with a value");
    };
    assert_eq!(v.decode_u16(bytes), 1024);
}

// ---------------------------------------------------------------------------------------
// Byte order and sign-magnitude

#[test]
fn scs_is_big_endian_sts_little_endian() {
    assert_eq!(Variant::Sts.encode_u16(2048), [0x00, 0x08]);
    assert_eq!(Variant::Scs.encode_u16(2048), [0x08, 0x00]);
    assert_eq!(Variant::Dynamixel1.encode_u16(0x01F4), [0xF4, 0x01]);
    for variant in Variant::ALL {
        for value in [0, 1, 0x00FF, 0x0100, 1304, 0x7FFF, 0x8000, u16::MAX] {
            assert_eq!(variant.decode_u16(variant.encode_u16(value)), value);
        }
    }
    assert!(Variant::Scs.is_big_endian());
    assert!(!Variant::Sts.is_big_endian() && !Variant::Dynamixel1.is_big_endian());

    // Goal Position 512 (address 42) to an SCS servo and to an STS servo: same frame
    // layout, the two data bytes swapped (and so the same checksum).
    let scs = Packet::write(1, 42, &Variant::Scs.encode_u16(512)).encode();
    let sts = Packet::write(1, 42, &Variant::Sts.encode_u16(512)).encode();
    assert_eq!(scs, [0xFF, 0xFF, 0x01, 0x05, 0x03, 0x2A, 0x02, 0x00, 0xCA]);
    assert_eq!(sts, [0xFF, 0xFF, 0x01, 0x05, 0x03, 0x2A, 0x00, 0x02, 0xCA]);
    // Read back with the wrong byte order, 512 becomes 2.
    assert_eq!(Variant::Sts.decode_u16([0x02, 0x00]), 2);
}

#[test]
fn sign_magnitude() {
    // STS positions and speeds: bit 15 is the direction.
    assert_eq!(encode_sign_magnitude(-100, sign_bit::SPEED), Some(0x8064));
    assert_eq!(encode_sign_magnitude(100, sign_bit::SPEED), Some(0x0064));
    assert_eq!(encode_sign_magnitude(0, sign_bit::SPEED), Some(0));
    assert_eq!(
        encode_sign_magnitude(-32767, sign_bit::POSITION),
        Some(0xFFFF)
    );
    assert_eq!(encode_sign_magnitude(32768, sign_bit::POSITION), None);
    assert_eq!(encode_sign_magnitude(-32768, sign_bit::POSITION), None);
    assert_eq!(decode_sign_magnitude(0x8064, sign_bit::SPEED), -100);
    assert_eq!(decode_sign_magnitude(0x0064, sign_bit::SPEED), 100);
    assert_eq!(decode_sign_magnitude(0x8000, sign_bit::SPEED), 0);
    // Not two's complement: 0xFF9C is -100 as an i16 but -32668 here.
    assert_eq!(decode_sign_magnitude(0xFF9C, sign_bit::SPEED), -32668);
    // Present Load: bit 10.
    assert_eq!(encode_sign_magnitude(-1000, sign_bit::LOAD), Some(0x07E8));
    assert_eq!(decode_sign_magnitude(0x07E8, sign_bit::LOAD), -1000);
    assert_eq!(encode_sign_magnitude(1024, sign_bit::LOAD), None);
    assert_eq!(
        encode_sign_magnitude(-2047, sign_bit::POSITION_OFFSET),
        Some(0x0FFF)
    );
    // No sign bit inside 16 bits.
    assert_eq!(encode_sign_magnitude(1, 16), None);
    assert_eq!(decode_sign_magnitude(0x8064, 16), 0x8064);
    for value in -1023..=1023 {
        let raw = encode_sign_magnitude(value, sign_bit::LOAD).unwrap();
        assert_eq!(decode_sign_magnitude(raw, sign_bit::LOAD), value);
    }
    // On the wire, e.g. Goal Speed -100 to an STS: the sign bit in the high byte.
    assert_eq!(Variant::Sts.encode_u16(0x8064), [0x64, 0x80]);
}

// ---------------------------------------------------------------------------------------
// Stream decoding

#[test]
fn every_prefix_waits_for_more() {
    for frame in [
        &READ_TEMPERATURE_STATUS_ID1[..],
        &SYNC_WRITE[..],
        &FT_SYNC_READ_STATUS_ID2[..],
        &Packet::write(1, 0, &[0xFF, 0xFF, 0x01, 0x02]).encode(),
        &Packet::status(1, 0, &[0xFF, 0xFF, 0xFF]).encode(),
    ] {
        for cut in 0..frame.len() {
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(
                decode(&mut buf),
                Ok(None),
                "prefix of {cut} bytes of {frame:02X?}"
            );
            assert_eq!(&buf[..], &frame[..cut], "a prefix is kept whole");
        }
        // Fed one byte at a time into the same buffer.
        let mut buf = BytesMut::new();
        for (at, &byte) in frame.iter().enumerate() {
            buf.extend_from_slice(&[byte]);
            let result = decode(&mut buf).unwrap();
            assert_eq!(
                result.is_some(),
                at == frame.len() - 1,
                "byte {at} of {frame:02X?}"
            );
        }
        assert!(buf.is_empty());
    }
}

#[test]
fn garbage_before_a_frame_is_skipped() {
    let mut buf = BytesMut::from(&[0x00, 0x13, 0xFF, 0x37, 0x42, 0xFE][..]);
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(
        buf.is_empty(),
        "garbage without a possible header is dropped"
    );

    // A trailing FF could start a header and is kept until the next read.
    let mut buf = BytesMut::from(&[0x55, 0xAA, 0xFF][..]);
    assert_eq!(decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], [0xFF]);
    buf.extend_from_slice(&PING_ID1[1..]);
    assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));

    // Garbage, then a frame, in one read.
    let mut buf = BytesMut::from(&[0x01, 0x02, 0xFF, 0x03][..]);
    buf.extend_from_slice(&READ_TEMPERATURE_ID1);
    assert_eq!(decode(&mut buf), Ok(Some(Packet::read(1, 43, 1))));
    assert!(buf.is_empty());
}

#[test]
fn runs_of_ff_before_a_header_are_padding() {
    // An ID is never 0xFF, so only the last two FFs of a run are the header.
    for padding in 1..5 {
        let mut buf = BytesMut::from(&vec![0xFF; padding][..]);
        buf.extend_from_slice(&EMPTY_STATUS_ID1);
        assert_eq!(decode(&mut buf), Ok(Some(Packet::status(1, 0, &[]))));
        assert!(buf.is_empty());
    }
    let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF][..]);
    assert_eq!(decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], [0xFF, 0xFF], "one FF of three is dropped");
}

#[test]
fn bad_checksum_then_good_frame() {
    let mut corrupt = FT_WRITE_GOAL_ID1;
    corrupt[10] ^= 0x10; // a flipped data bit
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&READ_TEMPERATURE_ID1);
    assert_eq!(
        decode(&mut buf),
        Err(DecodeError::BadChecksum {
            expected: 0xC5,
            actual: 0xD5
        })
    );
    assert_eq!(decode(&mut buf), Ok(Some(Packet::read(1, 43, 1))));
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn ff_ff_in_parameters_does_not_hide_the_next_frame() {
    // A good frame whose data holds FF FF decodes whole.
    let tricky = Packet::write(1, 0x1E, &[0xFF, 0xFF, 0x01, 0x40]);
    let mut buf = BytesMut::from(&tricky.encode()[..]);
    buf.extend_from_slice(&PING_ID1);
    assert_eq!(decode(&mut buf), Ok(Some(tricky.clone())));
    assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));

    // Corrupted, its data looks like a header with LEN 64 once the real header is dropped.
    // The good frame behind it is complete and verified, so the decoder does not wait for
    // the 64 bytes the phantom claims.
    let mut corrupt = tricky.encode();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x01;
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&EMPTY_STATUS_ID1);
    assert!(matches!(
        decode(&mut buf),
        Err(DecodeError::BadChecksum { .. })
    ));
    assert_eq!(
        decode(&mut buf),
        Err(DecodeError::Truncated {
            len: 0x40,
            next_at: 5
        })
    );
    assert_eq!(decode(&mut buf), Ok(Some(Packet::status(1, 0, &[]))));
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn corrupt_length_does_not_swallow_the_next_frame() {
    // LEN claims 20 bytes; the two good frames behind it are complete.
    let mut corrupt = ACTION_BROADCAST;
    corrupt[3] = 20;
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&EMPTY_STATUS_ID1);
    buf.extend_from_slice(&READ_TEMPERATURE_STATUS_ID1);
    assert_eq!(
        decode(&mut buf),
        Err(DecodeError::Truncated {
            len: 20,
            next_at: 6
        })
    );
    assert_eq!(decode(&mut buf), Ok(Some(Packet::status(1, 0, &[]))));
    assert_eq!(decode(&mut buf), Ok(Some(Packet::status(1, 0, &[32]))));
    assert_eq!(decode(&mut buf), Ok(None));

    // When all its claimed bytes have arrived, the checksum fails instead.
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&[0u8; 20]);
    assert!(matches!(
        decode(&mut buf),
        Err(DecodeError::BadChecksum { .. })
    ));
}

#[test]
fn impossible_lengths_are_dropped() {
    for len in [0u8, 1, MAX_LEN + 1, 255] {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0x01, len][..]);
        buf.extend_from_slice(&PING_ID1);
        assert_eq!(decode(&mut buf), Err(DecodeError::BadLength(len)));
        assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));
        assert!(buf.is_empty());
    }
    assert_eq!(
        DecodeError::BadLength(1).to_string(),
        format!("impossible packet length 1 (must be 2..={MAX_LEN})")
    );
}

#[test]
fn two_frames_back_to_back() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&SYNC_WRITE);
    buf.extend_from_slice(&BULK_READ);
    let first = decode(&mut buf).unwrap().unwrap();
    let second = decode(&mut buf).unwrap().unwrap();
    assert_eq!(first.instruction, instruction::SYNC_WRITE);
    assert_eq!(second.instruction, instruction::BULK_READ);
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn oversized_packets() {
    let max_params = usize::from(MAX_LEN) - 2;
    let fits = Packet::write(1, 0, &vec![0u8; max_params - 1]);
    assert_eq!(
        fits.try_encode().map(|frame| frame.len()),
        Ok(4 + usize::from(MAX_LEN))
    );
    assert_eq!(decode_one(&fits.encode()), fits);

    let big = Packet::write(1, 0, &vec![0u8; max_params]);
    assert_eq!(
        big.try_encode(),
        Err(EncodeError::TooLong {
            len: usize::from(MAX_LEN) + 1,
            max: usize::from(MAX_LEN)
        })
    );
    let frame = big.encode();
    assert_eq!(frame[3], MAX_LEN + 1);
    let mut buf = BytesMut::from(&frame[..]);
    assert_eq!(decode(&mut buf), Err(DecodeError::BadLength(MAX_LEN + 1)));

    // Beyond the byte, LEN saturates at 255.
    let huge = Packet::write(1, 0, &[0u8; 300]);
    assert_eq!(huge.encode()[3], 255);
}

// ---------------------------------------------------------------------------------------
// Status packets and parsing

#[test]
fn status_view() {
    assert_eq!(
        Packet::status(3, 0x20, &[1, 2])
            .as_status()
            .map(|s| (s.id, s.error, s.data.len())),
        Some((3, StatusError(0x20), 2))
    );
    // Bit 7 is never set in an error byte, and the broadcast ID never answers.
    assert_eq!(Packet::status(3, 0x80, &[]).as_status(), None);
    assert_eq!(Packet::sync_read(56, 2, &[1]).as_status(), None);
    // The bytes alone do not say which direction a packet went: a Ping reads as a status
    // with the input-voltage bit set. Only the controller should ask.
    assert_eq!(
        Packet::ping(1).as_status().map(|s| s.error),
        Some(StatusError(dynamixel_error::INPUT_VOLTAGE))
    );
}

#[test]
fn error_bits_per_variant() {
    let all = StatusError(0x7F);
    assert_eq!(all.flags(Variant::Dynamixel1).len(), 7);
    assert_eq!(all.unknown_bits(Variant::Dynamixel1), 0);
    assert_eq!(
        all.flags(Variant::Sts),
        [
            "Voltage Error",
            "Angle Sensor Error",
            "Overheat Error",
            "Overcurrent Error",
            "Overload Error"
        ]
    );
    assert_eq!(all.unknown_bits(Variant::Sts), 0x50);
    assert_eq!(
        all.flags(Variant::Scs),
        ["Voltage Error", "Overheat Error", "Overload Error"]
    );
    assert_eq!(all.unknown_bits(Variant::Scs), 0x5A);
    assert_eq!(
        StatusError(feetech_error::OVERCURRENT).describe(Variant::Sts),
        "Overcurrent Error"
    );
    assert_eq!(
        StatusError(feetech_error::OVERCURRENT).describe(Variant::Scs),
        "unknown error bits 0x08"
    );
    assert_eq!(
        StatusError(dynamixel_error::INSTRUCTION | dynamixel_error::CHECKSUM)
            .describe(Variant::Dynamixel1),
        "Checksum Error, Instruction Error"
    );
    assert_eq!(
        StatusError(feetech_error::VOLTAGE | 0x80).describe(Variant::Sts),
        "Voltage Error, unknown error bits 0x80"
    );
    assert_eq!(StatusError(0).describe(Variant::Sts), "no error");
    assert_eq!(StatusError(0x24).to_string(), "error byte 0x24");
}

#[test]
fn instructions_per_variant() {
    use instruction as i;
    let dxl = Variant::Dynamixel1;
    let (scs, sts) = (Variant::Scs, Variant::Sts);
    assert_eq!(dxl.instruction_name(i::RESET), Some("Factory Reset"));
    assert_eq!(sts.instruction_name(i::RESET), Some("Parameter Recovery"));
    assert!(dxl.supports(i::BULK_READ) && !sts.supports(i::BULK_READ));
    assert!(sts.supports(i::SYNC_READ) && scs.supports(i::SYNC_READ));
    assert!(!dxl.supports(i::SYNC_READ));
    for code in [i::PARAMETER_BACKUP, i::STATUS_RESET, i::CALIBRATE] {
        assert!(sts.supports(code) && !dxl.supports(code), "{code:#04x}");
    }
    for variant in Variant::ALL {
        for code in [
            i::PING,
            i::READ,
            i::WRITE,
            i::REG_WRITE,
            i::ACTION,
            i::REBOOT,
            i::SYNC_WRITE,
        ] {
            assert!(variant.supports(code), "{variant:?} {code:#04x}");
        }
        assert!(!variant.supports(0x07) && !variant.supports(0x55));
    }
}

#[test]
fn malformed_parameters_are_errors() {
    let error =
        |instruction: u8, params: &[u8]| Packet::new(1, instruction, params.to_vec()).parse().err();
    let is_bad_params =
        |error: Option<DecodeError>| matches!(error, Some(DecodeError::BadParams { .. }));
    assert!(is_bad_params(error(instruction::PING, &[0])));
    assert!(is_bad_params(error(instruction::READ, &[0x2B])));
    assert!(is_bad_params(error(instruction::READ, &[0x2B, 1, 0])));
    assert!(is_bad_params(error(instruction::WRITE, &[0x03])));
    assert!(is_bad_params(error(instruction::REG_WRITE, &[])));
    assert!(is_bad_params(error(instruction::ACTION, &[1])));
    assert!(is_bad_params(error(instruction::RESET, &[0xFF])));
    assert!(is_bad_params(error(instruction::STATUS_RESET, &[0])));
    assert!(is_bad_params(error(instruction::CALIBRATE, &[0x00])));
    assert!(is_bad_params(error(instruction::SYNC_READ, &[0x38, 0x02])));
    assert!(is_bad_params(error(instruction::SYNC_WRITE, &[0x1E])));
    assert!(is_bad_params(error(instruction::SYNC_WRITE, &[0x1E, 0x02])));
    assert!(is_bad_params(error(
        instruction::SYNC_WRITE,
        &[0x1E, 0x02, 1, 2]
    )));
    assert!(is_bad_params(error(instruction::BULK_READ, &[0x00])));
    assert!(is_bad_params(error(
        instruction::BULK_READ,
        &[0x01, 0x02, 0x01, 0x1E]
    )));
    assert!(is_bad_params(error(
        instruction::BULK_READ,
        &[0x00, 0x02, 0x01]
    )));
    assert_eq!(
        error(0x07, &[]),
        Some(DecodeError::UnknownInstruction(0x07))
    );
    // A status packet's error byte is not an instruction.
    assert_eq!(
        error(0x00, &[]),
        Some(DecodeError::UnknownInstruction(0x00))
    );
    assert_eq!(
        error(instruction::READ, &[1]).unwrap().to_string(),
        "malformed parameters for instruction 0x02: expected address and length (2 bytes)"
    );
    // Sync Write of zero-length items is just a list of IDs.
    assert_eq!(
        Packet::new(BROADCAST_ID, instruction::SYNC_WRITE, vec![0x1E, 0, 1, 2]).parse(),
        Ok(Instruction::SyncWrite {
            address: 0x1E,
            length: 0,
            items: vec![(1, &[][..]), (2, &[][..])]
        })
    );
}
