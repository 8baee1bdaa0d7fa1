//! DYNAMIXEL Protocol 2.0 codec against the ROBOTIS e-Manual's example packets, plus
//! stream decoding (partial input, garbage, corrupt frames) and parameter parsing.
//!
//! Every example's CRC was recomputed independently. Two examples in the e-Manual carry a
//! wrong CRC and are used here with the corrected value (noted at each).

use bytes::BytesMut;
use drivedeck_proto::dxl2::{
    self, BROADCAST_ID, DecodeError, EncodeError, FastReadItem, Instruction, MAX_LEN, Packet,
    StatusError, decode, error_code, instruction, option,
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
// Ping

const PING_ID1: [u8; 10] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x03, 0x00, // LEN = 3
    0x01, // instruction: Ping
    0x19, 0x4E, // CRC
];

/// XM430-W210, model number 1030 (0x0406), firmware 38 (0x26).
const PING_STATUS_ID1: [u8; 14] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x07, 0x00, // LEN = 7
    0x55, // instruction: Status
    0x00, // error: none
    0x06, 0x04, // model number 1030
    0x26, // firmware version 38
    0x65, 0x5D, // CRC
];

const PING_BROADCAST: [u8; 10] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x03, 0x00, // LEN = 3
    0x01, // instruction: Ping
    0x31, 0x42, // CRC
];

const PING_STATUS_ID2: [u8; 14] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x02, // ID
    0x07, 0x00, // LEN = 7
    0x55, // instruction: Status
    0x00, // error: none
    0x06, 0x04, // model number 1030
    0x26, // firmware version 38
    0x6F, 0x6D, // CRC
];

#[test]
fn ping_example() {
    let ping = Packet::ping(1);
    assert_wire(&ping, &PING_ID1);
    assert_eq!(ping.parse(), Ok(Instruction::Ping));

    let status = Packet::status(1, 0, &[0x06, 0x04, 0x26]);
    assert_wire(&status, &PING_STATUS_ID1);
    let view = status.as_status().unwrap();
    assert_eq!(view.id, 1);
    assert!(view.error.is_ok());
    assert_eq!(u16::from_le_bytes([view.data[0], view.data[1]]), 1030);
    assert_eq!(view.data[2], 38);
    assert_eq!(status.parse(), Ok(Instruction::Status(view)));
}

#[test]
fn broadcast_ping_example() {
    assert_wire(&Packet::ping(BROADCAST_ID), &PING_BROADCAST);
    assert_wire(&Packet::status(2, 0, &[0x06, 0x04, 0x26]), &PING_STATUS_ID2);

    // Both answers arriving in one read.
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&PING_STATUS_ID1);
    buf.extend_from_slice(&PING_STATUS_ID2);
    assert_eq!(decode(&mut buf).unwrap().unwrap().id, 1);
    assert_eq!(decode(&mut buf).unwrap().unwrap().id, 2);
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

// ---------------------------------------------------------------------------------------
// Read, Write, Reg Write, Action

/// Read Present Position (132, 4 bytes) of ID 1.
const READ_ID1: [u8; 14] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x07, 0x00, // LEN = 7
    0x02, // instruction: Read
    0x84, 0x00, // address 132
    0x04, 0x00, // length 4
    0x1D, 0x15, // CRC
];

/// Present Position = 166.
const READ_STATUS_ID1: [u8; 15] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x08, 0x00, // LEN = 8
    0x55, // instruction: Status
    0x00, // error: none
    0xA6, 0x00, 0x00, 0x00, // 166
    0x8C, 0xC0, // CRC
];

/// Write 512 to Goal Position (116, 4 bytes) of ID 1.
const WRITE_ID1: [u8; 16] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x09, 0x00, // LEN = 9
    0x03, // instruction: Write
    0x74, 0x00, // address 116
    0x00, 0x02, 0x00, 0x00, // 512
    0xCA, 0x89, // CRC
];

/// The answer to Write, Reg Write, Action, Factory Reset, Reboot, Clear and Backup.
const EMPTY_STATUS_ID1: [u8; 11] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x04, 0x00, // LEN = 4
    0x55, // instruction: Status
    0x00, // error: none
    0xA1, 0x0C, // CRC
];

/// Register 200 for Goal Velocity (104, 4 bytes) of ID 1.
const REG_WRITE_ID1: [u8; 16] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x09, 0x00, // LEN = 9
    0x04, // instruction: Reg Write
    0x68, 0x00, // address 104
    0xC8, 0x00, 0x00, 0x00, // 200
    0xAE, 0x8E, // CRC
];

const ACTION_ID1: [u8; 10] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x03, 0x00, // LEN = 3
    0x05, // instruction: Action
    0x02, 0xCE, // CRC
];

#[test]
fn read_example() {
    let read = Packet::read(1, 132, 4);
    assert_wire(&read, &READ_ID1);
    assert_eq!(
        read.parse(),
        Ok(Instruction::Read {
            address: 132,
            length: 4
        })
    );

    let status = decode_one(&READ_STATUS_ID1);
    assert_eq!(status, Packet::status(1, 0, &166u32.to_le_bytes()));
    assert_eq!(status.as_status().unwrap().data, [0xA6, 0, 0, 0]);
}

#[test]
fn write_example() {
    let write = Packet::write(1, 116, &512i32.to_le_bytes());
    assert_wire(&write, &WRITE_ID1);
    assert_eq!(
        write.parse(),
        Ok(Instruction::Write {
            address: 116,
            data: &[0x00, 0x02, 0x00, 0x00]
        })
    );
    assert_wire(&Packet::status(1, 0, &[]), &EMPTY_STATUS_ID1);
}

#[test]
fn reg_write_and_action_examples() {
    let reg_write = Packet::reg_write(1, 104, &200i32.to_le_bytes());
    assert_wire(&reg_write, &REG_WRITE_ID1);
    assert_eq!(
        reg_write.parse(),
        Ok(Instruction::RegWrite {
            address: 104,
            data: &[0xC8, 0, 0, 0]
        })
    );
    let action = Packet::action(1);
    assert_wire(&action, &ACTION_ID1);
    assert_eq!(action.parse(), Ok(Instruction::Action));
}

// ---------------------------------------------------------------------------------------
// Factory Reset, Reboot, Clear, Control Table Backup

/// Reset all except ID (option 0x01).
const FACTORY_RESET_ID1: [u8; 11] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x04, 0x00, // LEN = 4
    0x06, // instruction: Factory Reset
    0x01, // option: reset all except ID
    0xA1, 0xE6, // CRC
];

const REBOOT_ID1: [u8; 10] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x03, 0x00, // LEN = 3
    0x08, // instruction: Reboot
    0x2F, 0x4E, // CRC
];

/// Reset multi-turn information.
const CLEAR_ID1: [u8; 15] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x08, 0x00, // LEN = 8
    0x10, // instruction: Clear
    0x01, // option: multi-turn
    0x44, 0x58, 0x4C, 0x22, // fixed key
    0xB1, 0xDC, // CRC
];

/// Store the control table in the backup area.
const BACKUP_STORE_ID1: [u8; 15] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x08, 0x00, // LEN = 8
    0x20, // instruction: Control Table Backup
    0x01, // option: store
    0x43, 0x54, 0x52, 0x4C, // fixed key "CTRL"
    0x16, 0xF5, // CRC
];

/// Restore the EEPROM area from the backup. The e-Manual prints the CRC as 0x92 0xF5;
/// CRC-16 over these bytes is 0xF59E, so the low byte there is a typo.
const BACKUP_RESTORE_ID1: [u8; 15] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x08, 0x00, // LEN = 8
    0x20, // instruction: Control Table Backup
    0x02, // option: restore
    0x43, 0x54, 0x52, 0x4C, // fixed key "CTRL"
    0x9E, 0xF5, // CRC (corrected)
];

#[test]
fn factory_reset_and_reboot_examples() {
    let reset = Packet::factory_reset(1, option::RESET_ALL_EXCEPT_ID);
    assert_wire(&reset, &FACTORY_RESET_ID1);
    assert_eq!(
        reset.parse(),
        Ok(Instruction::FactoryReset { option: 0x01 })
    );

    let reboot = Packet::reboot(1);
    assert_wire(&reboot, &REBOOT_ID1);
    assert_eq!(reboot.parse(), Ok(Instruction::Reboot));
}

#[test]
fn clear_and_backup_examples() {
    let clear = Packet::clear(1, option::CLEAR_MULTI_TURN);
    assert_wire(&clear, &CLEAR_ID1);
    assert_eq!(clear.parse(), Ok(Instruction::Clear { option: 0x01 }));

    let store = Packet::control_table_backup(1, option::BACKUP_STORE);
    assert_wire(&store, &BACKUP_STORE_ID1);
    assert_eq!(
        store.parse(),
        Ok(Instruction::ControlTableBackup { option: 0x01 })
    );

    let restore = Packet::control_table_backup(1, option::BACKUP_RESTORE);
    assert_wire(&restore, &BACKUP_RESTORE_ID1);
    assert_eq!(dxl2::crc16(&BACKUP_RESTORE_ID1[..13]), 0xF59E);
    // The frame exactly as printed in the e-Manual is rejected.
    let mut as_printed = BACKUP_RESTORE_ID1;
    as_printed[13] = 0x92;
    let mut buf = BytesMut::from(&as_printed[..]);
    assert_eq!(
        decode(&mut buf),
        Err(DecodeError::BadCrc {
            expected: 0xF59E,
            actual: 0xF592
        })
    );
}

// ---------------------------------------------------------------------------------------
// Sync Read, Sync Write, Fast Sync Read

/// Present Position (132, 4 bytes) of IDs 1 and 2.
const SYNC_READ: [u8; 16] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x09, 0x00, // LEN = 9
    0x82, // instruction: Sync Read
    0x84, 0x00, // address 132
    0x04, 0x00, // length 4
    0x01, 0x02, // IDs 1, 2
    0xCE, 0xFA, // CRC
];

/// ID 2's answer: Present Position = 2079.
const SYNC_READ_STATUS_ID2: [u8; 15] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x02, // ID
    0x08, 0x00, // LEN = 8
    0x55, // instruction: Status
    0x00, // error: none
    0x1F, 0x08, 0x00, 0x00, // 2079
    0xBA, 0xBE, // CRC
];

/// Goal Position (116, 4 bytes): 150 to ID 1, 170 to ID 2.
const SYNC_WRITE: [u8; 24] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x11, 0x00, // LEN = 17
    0x83, // instruction: Sync Write
    0x74, 0x00, // address 116
    0x04, 0x00, // length 4
    0x01, // ID 1
    0x96, 0x00, 0x00, 0x00, // 150
    0x02, // ID 2
    0xAA, 0x00, 0x00, 0x00, // 170
    0x82, 0x87, // CRC
];

/// Present Position (132, 4 bytes) of IDs 3, 7 and 4 (XC330-T288).
const FAST_SYNC_READ: [u8; 17] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x0A, 0x00, // LEN = 10
    0x8A, // instruction: Fast Sync Read
    0x84, 0x00, // address 132
    0x04, 0x00, // length 4
    0x03, 0x07, 0x04, // IDs 3, 7, 4
    0x20, 0xF2, // CRC
];

/// The combined answer: positions 166, 2079 and 1023. Not byte-stuffed; each device but the
/// last appends the CRC of the frame so far.
const FAST_SYNC_READ_STATUS: [u8; 32] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x19, 0x00, // LEN = 25
    0x55, // instruction: Status
    0x00, // ID 3: error
    0x03, // ID 3
    0xA6, 0x00, 0x00, 0x00, // ID 3: 166
    0x84, 0x08, // ID 3: CRC so far
    0x00, // ID 7: error
    0x07, // ID 7
    0x1F, 0x08, 0x00, 0x00, // ID 7: 2079
    0x16, 0xCA, // ID 7: CRC so far
    0x00, // ID 4: error
    0x04, // ID 4
    0xFF, 0x03, 0x00, 0x00, // ID 4: 1023
    0xD1, 0x9E, // CRC
];

#[test]
fn sync_read_example() {
    let sync_read = Packet::sync_read(132, 4, &[1, 2]);
    assert_wire(&sync_read, &SYNC_READ);
    assert_eq!(
        sync_read.parse(),
        Ok(Instruction::SyncRead {
            address: 132,
            length: 4,
            ids: &[1, 2]
        })
    );
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&READ_STATUS_ID1);
    buf.extend_from_slice(&SYNC_READ_STATUS_ID2);
    let first = decode(&mut buf).unwrap().unwrap();
    let second = decode(&mut buf).unwrap().unwrap();
    assert_eq!(first.as_status().unwrap().data, 166i32.to_le_bytes());
    assert_eq!(second, Packet::status(2, 0, &2079i32.to_le_bytes()));
}

#[test]
fn sync_write_example() {
    let items: [(u8, &[u8]); 2] = [(1, &150i32.to_le_bytes()), (2, &170i32.to_le_bytes())];
    let sync_write = Packet::sync_write(116, 4, &items).unwrap();
    assert_wire(&sync_write, &SYNC_WRITE);
    assert_eq!(
        sync_write.parse(),
        Ok(Instruction::SyncWrite {
            address: 116,
            length: 4,
            items: items.to_vec()
        })
    );
    assert_eq!(
        Packet::sync_write(116, 4, &[(1, &[1, 2, 3, 4]), (2, &[1, 2])]),
        Err(EncodeError::ItemLength {
            id: 2,
            expected: 4,
            actual: 2
        })
    );
}

#[test]
fn fast_sync_read_example() {
    let request = Packet::fast_sync_read(132, 4, &[3, 7, 4]);
    assert_wire(&request, &FAST_SYNC_READ);
    assert_eq!(
        request.parse(),
        Ok(Instruction::FastSyncRead {
            address: 132,
            length: 4,
            ids: &[3, 7, 4]
        })
    );

    let items = [
        FastReadItem {
            id: 3,
            error: StatusError(0),
            data: &166i32.to_le_bytes(),
        },
        FastReadItem {
            id: 7,
            error: StatusError(0),
            data: &2079i32.to_le_bytes(),
        },
        FastReadItem {
            id: 4,
            error: StatusError(0),
            data: &1023i32.to_le_bytes(),
        },
    ];
    let answer = Packet::fast_read_status(&items);
    assert_wire(&answer, &FAST_SYNC_READ_STATUS);
    let status = answer.as_status().unwrap();
    assert_eq!(status.id, BROADCAST_ID);
    assert_eq!(status.fast_read_items(&[4, 4, 4]).unwrap(), items);
    assert!(status.fast_read_items(&[4, 4]).is_err());
    assert!(status.fast_read_items(&[4, 4, 5]).is_err());
}

// ---------------------------------------------------------------------------------------
// Bulk Read, Bulk Write, Fast Bulk Read

/// Present Input Voltage (144, 2 bytes) of ID 1, Present Temperature (146, 1 byte) of ID 2.
const BULK_READ: [u8; 20] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x0D, 0x00, // LEN = 13
    0x92, // instruction: Bulk Read
    0x01, 0x90, 0x00, 0x02, 0x00, // ID 1, address 144, length 2
    0x02, 0x92, 0x00, 0x01, 0x00, // ID 2, address 146, length 1
    0x1A, 0x05, // CRC
];

/// ID 1's answer: 119 (11.9 V).
const BULK_READ_STATUS_ID1: [u8; 13] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x01, // ID
    0x06, 0x00, // LEN = 6
    0x55, // instruction: Status
    0x00, // error: none
    0x77, 0x00, // 119
    0xC3, 0x69, // CRC
];

/// ID 2's answer: 36 °C.
const BULK_READ_STATUS_ID2: [u8; 12] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0x02, // ID
    0x05, 0x00, // LEN = 5
    0x55, // instruction: Status
    0x00, // error: none
    0x24, // 36
    0x8B, 0xA9, // CRC
];

/// Max Voltage Limit (32, 2 bytes) = 160 to ID 1, Temperature Limit (31, 1 byte) = 80 to ID 2.
const BULK_WRITE: [u8; 23] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x10, 0x00, // LEN = 16
    0x93, // instruction: Bulk Write
    0x01, 0x20, 0x00, 0x02, 0x00, // ID 1, address 32, length 2
    0xA0, 0x00, // 160
    0x02, 0x1F, 0x00, 0x01, 0x00, // ID 2, address 31, length 1
    0x50, // 80
    0xB7, 0x68, // CRC
];

/// Present Position of ID 3, Present PWM of ID 7, Present Temperature of ID 4. The
/// e-Manual prints the CRC as 0x20 0xF2, the Fast Sync Read example's; CRC-16 over these
/// bytes is 0x2DDA.
const FAST_BULK_READ: [u8; 25] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x12, 0x00, // LEN = 18
    0x9A, // instruction: Fast Bulk Read
    0x03, 0x84, 0x00, 0x04, 0x00, // ID 3, address 132, length 4
    0x07, 0x7C, 0x00, 0x02, 0x00, // ID 7, address 124, length 2
    0x04, 0x92, 0x00, 0x01, 0x00, // ID 4, address 146, length 1
    0xDA, 0x2D, // CRC (corrected)
];

/// The combined answer: position 166, PWM 421, temperature 31.
const FAST_BULK_READ_STATUS: [u8; 27] = [
    0xFF, 0xFF, 0xFD, 0x00, // header
    0xFE, // ID: broadcast
    0x14, 0x00, // LEN = 20
    0x55, // instruction: Status
    0x00, // ID 3: error
    0x03, // ID 3
    0xA6, 0x00, 0x00, 0x00, // ID 3: 166
    0x67, 0xA4, // ID 3: CRC so far
    0x00, // ID 7: error
    0x07, // ID 7
    0xA5, 0x01, // ID 7: 421
    0x24, 0x74, // ID 7: CRC so far
    0x00, // ID 4: error
    0x04, // ID 4
    0x1F, // ID 4: 31
    0xD9, 0xC1, // CRC
];

#[test]
fn bulk_read_example() {
    let request = Packet::bulk_read(&[(1, 144, 2), (2, 146, 1)]);
    assert_wire(&request, &BULK_READ);
    assert_eq!(
        request.parse(),
        Ok(Instruction::BulkRead {
            items: vec![(1, 144, 2), (2, 146, 1)]
        })
    );
    assert_wire(&Packet::status(1, 0, &[0x77, 0x00]), &BULK_READ_STATUS_ID1);
    assert_wire(&Packet::status(2, 0, &[0x24]), &BULK_READ_STATUS_ID2);
}

#[test]
fn bulk_write_example() {
    let items: [(u8, u16, &[u8]); 2] = [(1, 32, &160u16.to_le_bytes()), (2, 31, &[80])];
    let request = Packet::bulk_write(&items);
    assert_wire(&request, &BULK_WRITE);
    assert_eq!(
        request.parse(),
        Ok(Instruction::BulkWrite {
            items: items.to_vec()
        })
    );
}

#[test]
fn fast_bulk_read_example() {
    let request = Packet::fast_bulk_read(&[(3, 132, 4), (7, 124, 2), (4, 146, 1)]);
    assert_wire(&request, &FAST_BULK_READ);
    assert_eq!(dxl2::crc16(&FAST_BULK_READ[..23]), 0x2DDA);
    assert_eq!(
        request.parse(),
        Ok(Instruction::FastBulkRead {
            items: vec![(3, 132, 4), (7, 124, 2), (4, 146, 1)]
        })
    );

    let items = [
        FastReadItem {
            id: 3,
            error: StatusError(0),
            data: &[0xA6, 0, 0, 0],
        },
        FastReadItem {
            id: 7,
            error: StatusError(0),
            data: &[0xA5, 0x01],
        },
        FastReadItem {
            id: 4,
            error: StatusError(0),
            data: &[0x1F],
        },
    ];
    let answer = Packet::fast_read_status(&items);
    assert_wire(&answer, &FAST_BULK_READ_STATUS);
    assert_eq!(
        answer
            .as_status()
            .unwrap()
            .fast_read_items(&[4, 2, 1])
            .unwrap(),
        items
    );
}

// ---------------------------------------------------------------------------------------
// Byte stuffing

#[test]
fn stuffing_round_trip() {
    // Writing FF FF FD xx to address 0x0100: the payload contains the header pattern.
    let write = Packet::write(1, 0x0100, &[0xFF, 0xFF, 0xFD, 0x12]);
    let frame = write.encode();
    let body_then_crc = [
        0x03, // instruction: Write
        0x00, 0x01, // address 0x0100
        0xFF, 0xFF, 0xFD, 0xFD, 0x12, // data, with the stuffing byte after FF FF FD
    ];
    assert_eq!(&frame[..4], [0xFF, 0xFF, 0xFD, 0x00]);
    assert_eq!(frame[4], 0x01);
    // LEN counts the stuffed payload: 8 bytes + 2 CRC.
    assert_eq!(u16::from_le_bytes([frame[5], frame[6]]), 10);
    assert_eq!(&frame[7..15], body_then_crc);
    assert_eq!(frame.len(), 17);
    assert_eq!(
        u16::from_le_bytes([frame[15], frame[16]]),
        dxl2::crc16(&frame[..15]),
        "CRC covers the stuffed bytes"
    );
    let decoded = decode_one(&frame);
    assert_eq!(decoded, write);
    assert_eq!(decoded.params, [0x00, 0x01, 0xFF, 0xFF, 0xFD, 0x12]);

    // Patterns at the very end, back to back, and already followed by FD.
    for data in [
        vec![0xFF, 0xFF, 0xFD],
        vec![0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFD],
        vec![0xFF, 0xFF, 0xFD, 0xFD, 0xFD],
        vec![0xFF, 0xFF, 0xFF, 0xFD, 0x00],
    ] {
        let packet = Packet::status(7, 0, &data);
        assert_eq!(decode_one(&packet.encode()), packet, "data {data:02X?}");
    }
}

#[test]
fn fast_read_answers_are_not_stuffed() {
    let item = FastReadItem {
        id: 5,
        error: StatusError(0),
        data: &[0xFF, 0xFF, 0xFD, 0x01],
    };
    let answer = Packet::fast_read_status(&[item]);
    let frame = answer.encode();
    assert_eq!(frame.len(), 7 + 1 + 2 + 4 + 2, "no stuffing byte added");
    assert_eq!(decode_one(&frame), answer);
}

#[test]
fn frame_with_broken_stuffing_is_rejected() {
    // A correct CRC over a payload holding an unstuffed FF FF FD.
    let mut frame = vec![
        0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x08, 0x00, 0x55, 0x00, 0xFF, 0xFF, 0xFD, 0x01,
    ];
    let crc = dxl2::crc16(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    let mut buf = BytesMut::from(&frame[..]);
    buf.extend_from_slice(&PING_ID1);
    assert_eq!(decode(&mut buf), Err(DecodeError::BadStuffing));
    assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));
}

// ---------------------------------------------------------------------------------------
// Stream decoding

#[test]
fn every_prefix_waits_for_more() {
    for frame in [
        &READ_STATUS_ID1[..],
        &SYNC_WRITE[..],
        &Packet::write(1, 0, &[0xFF, 0xFF, 0xFD]).encode(),
    ] {
        for cut in 0..frame.len() {
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(decode(&mut buf), Ok(None), "prefix of {cut} bytes");
            assert_eq!(&buf[..], &frame[..cut], "a prefix is kept whole");
        }
        // Fed one byte at a time into the same buffer.
        let mut buf = BytesMut::new();
        for (at, &byte) in frame.iter().enumerate() {
            buf.extend_from_slice(&[byte]);
            let result = decode(&mut buf).unwrap();
            assert_eq!(result.is_some(), at == frame.len() - 1);
        }
        assert!(buf.is_empty());
    }
}

#[test]
fn garbage_before_a_frame_is_skipped() {
    let mut buf = BytesMut::from(
        &[
            0x00, 0x13, 0xFF, 0x37, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFD, 0xFD, 0x42,
        ][..],
    );
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(
        buf.is_empty(),
        "garbage without a possible header is dropped"
    );

    // A tail that could start a header is kept until the next read completes or refutes it.
    let mut buf = BytesMut::from(&[0x55, 0xAA, 0xFF, 0xFF, 0xFD][..]);
    assert_eq!(decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], [0xFF, 0xFF, 0xFD]);
    buf.extend_from_slice(&[0x00, 0x01, 0x03, 0x00, 0x01, 0x19, 0x4E]);
    assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));

    let mut buf = BytesMut::from(&[0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFD, 0x07][..]);
    buf.extend_from_slice(&READ_ID1);
    assert_eq!(decode(&mut buf), Ok(Some(Packet::read(1, 132, 4))));
    assert!(buf.is_empty());
}

#[test]
fn bad_crc_then_good_frame() {
    let mut corrupt = WRITE_ID1;
    corrupt[12] ^= 0x10; // a flipped data bit
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&READ_ID1);
    assert!(matches!(decode(&mut buf), Err(DecodeError::BadCrc { .. })));
    assert_eq!(decode(&mut buf), Ok(Some(Packet::read(1, 132, 4))));
    assert_eq!(decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn corrupt_length_does_not_swallow_the_next_frame() {
    // LEN claims 20 bytes, so the CRC check runs over the next frame's bytes and fails.
    let mut corrupt = ACTION_ID1;
    corrupt[5] = 20;
    let mut buf = BytesMut::from(&corrupt[..]);
    buf.extend_from_slice(&PING_STATUS_ID1);
    buf.extend_from_slice(&READ_STATUS_ID1);
    assert!(matches!(decode(&mut buf), Err(DecodeError::BadCrc { .. })));
    assert_eq!(
        decode(&mut buf).unwrap().unwrap().params,
        [0x00, 0x06, 0x04, 0x26]
    );
    assert_eq!(
        decode(&mut buf).unwrap().unwrap().params,
        [0x00, 0xA6, 0, 0, 0]
    );
    assert_eq!(decode(&mut buf), Ok(None));
}

#[test]
fn impossible_lengths_and_ids_are_dropped() {
    for (len, expected) in [
        (2u16, 2usize),
        (0, 0),
        (60_000, 60_000),
        (MAX_LEN as u16 + 1, MAX_LEN + 1),
    ] {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFD, 0x00, 0x01][..]);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&PING_ID1);
        assert_eq!(decode(&mut buf), Err(DecodeError::BadLength(expected)));
        assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));
    }
    assert_eq!(
        DecodeError::BadLength(5000).to_string(),
        format!("impossible packet length 5000 (must be 3..={MAX_LEN})")
    );
    for id in [0xFD, 0xFF] {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFD, 0x00, id, 0x03, 0x00][..]);
        buf.extend_from_slice(&PING_ID1);
        assert_eq!(decode(&mut buf), Err(DecodeError::BadId(id)));
        assert_eq!(decode(&mut buf), Ok(Some(Packet::ping(1))));
    }
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
    let big = Packet::write(1, 0, &[0u8; MAX_LEN]);
    assert_eq!(
        big.try_encode(),
        Err(EncodeError::TooLong {
            len: MAX_LEN + 5,
            max: MAX_LEN
        })
    );
    let frame = big.encode();
    assert_eq!(
        u16::from_le_bytes([frame[5], frame[6]]) as usize,
        MAX_LEN + 5
    );
    let mut buf = BytesMut::from(&frame[..]);
    assert_eq!(decode(&mut buf), Err(DecodeError::BadLength(MAX_LEN + 5)));

    let fits = Packet::write(1, 0, &[0u8; MAX_LEN - 5]);
    assert_eq!(fits.try_encode().map(|f| f.len()), Ok(7 + MAX_LEN));
    assert_eq!(decode_one(&fits.encode()), fits);
}

// ---------------------------------------------------------------------------------------
// Parsing instruction parameters

#[test]
fn malformed_parameters_are_errors() {
    let error =
        |instruction: u8, params: &[u8]| Packet::new(1, instruction, params.to_vec()).parse().err();
    let is_bad_params =
        |error: Option<DecodeError>| matches!(error, Some(DecodeError::BadParams { .. }));
    assert!(is_bad_params(error(instruction::PING, &[0])));
    assert!(is_bad_params(error(instruction::READ, &[0x84, 0x00, 0x04])));
    assert!(is_bad_params(error(instruction::WRITE, &[0x74, 0x00])));
    assert!(is_bad_params(error(instruction::ACTION, &[1])));
    assert!(is_bad_params(error(instruction::FACTORY_RESET, &[])));
    assert!(is_bad_params(error(
        instruction::CLEAR,
        &[0x01, 0x44, 0x58, 0x4C, 0x23]
    )));
    assert!(is_bad_params(error(
        instruction::CONTROL_TABLE_BACKUP,
        &[0x01, 0x43, 0x54]
    )));
    assert!(is_bad_params(error(
        instruction::SYNC_READ,
        &[0x84, 0x00, 0x04, 0x00]
    )));
    assert!(is_bad_params(error(
        instruction::SYNC_WRITE,
        &[0x74, 0x00, 0x04, 0x00, 1, 2, 3]
    )));
    assert!(is_bad_params(error(
        instruction::BULK_READ,
        &[1, 0x90, 0x00, 0x02]
    )));
    assert!(is_bad_params(error(
        instruction::BULK_WRITE,
        &[1, 0x20, 0x00, 0x02, 0x00, 0xA0]
    )));
    assert!(is_bad_params(error(instruction::STATUS, &[])));
    assert_eq!(
        error(0x07, &[]),
        Some(DecodeError::UnknownInstruction(0x07))
    );
    assert_eq!(error(instruction::STATUS, &[0x84]), None);
    assert_eq!(Packet::ping(1).as_status(), None);
    assert_eq!(
        error(instruction::READ, &[1]).unwrap().to_string(),
        "malformed parameters for instruction 0x02: expected address and length (4 bytes)"
    );
}

// ---------------------------------------------------------------------------------------
// Status error byte

#[test]
fn status_error_byte() {
    let ok = StatusError(0);
    assert!(ok.is_ok() && !ok.alert());
    assert_eq!(ok.description(), None);
    assert_eq!(ok.to_string(), "no error");

    let range = StatusError(error_code::DATA_RANGE);
    assert!(!range.is_ok());
    assert_eq!(range.code(), 4);
    assert_eq!(range.description(), Some("Data Range Error"));
    assert_eq!(range.to_string(), "Data Range Error (4)");

    let alert_only = StatusError(0x80);
    assert!(alert_only.alert() && alert_only.is_ok());
    assert_eq!(
        alert_only.to_string(),
        "no error, alert: hardware error status set"
    );

    let both = StatusError(0x80 | error_code::ACCESS);
    assert!(both.alert());
    assert_eq!(both.code(), 7);
    assert_eq!(both.description(), Some("Access Error"));

    let names = [
        "Result Fail",
        "Instruction Error",
        "CRC Error",
        "Data Range Error",
        "Data Length Error",
        "Data Limit Error",
        "Access Error",
    ];
    for (code, name) in (1u8..=7).zip(names) {
        assert_eq!(StatusError(code).description(), Some(name));
    }
    assert_eq!(StatusError(0x08).description(), None);
    assert_eq!(StatusError(0x08).to_string(), "unknown error 8");

    let frame = Packet::status(3, 0x80 | error_code::DATA_LIMIT, &[]).encode();
    let packet = decode_one(&frame);
    let status = packet.as_status().unwrap();
    assert_eq!(
        (status.id, status.error.code(), status.error.alert()),
        (3, 6, true)
    );
}

#[test]
fn instruction_names() {
    assert_eq!(
        instruction::name(instruction::FAST_BULK_READ),
        Some("Fast Bulk Read")
    );
    assert_eq!(instruction::name(instruction::STATUS), Some("Status"));
    assert_eq!(instruction::name(0x07), None);
}
