//! The rig over a real pty: framing, pacing, line faults, vanishing ports, mute and deaf drives.

use super::*;
use bytes::BytesMut;
use drivedeck_proto::dxl2::{BROADCAST_ID, Packet};
use std::io::Write;

fn read_packets(port: &mut dyn serialport::SerialPort, count: usize) -> Vec<Packet> {
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut chunk = [0u8; 256];
    while packets.len() < count && Instant::now() < deadline {
        if let Ok(n) = port.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
        }
        while let Ok(Some(packet)) = drivedeck_proto::dxl2::decode(&mut buf) {
            packets.push(packet);
        }
    }
    packets
}

fn open(rig: &SimRig) -> Box<dyn serialport::SerialPort> {
    serialport::new(rig.port().to_string_lossy(), 1_000_000)
        .timeout(Duration::from_millis(20))
        .open()
        .expect("serialport opens the pty")
}

#[test]
fn answers_a_broadcast_ping_through_a_real_serial_port() {
    let rig = SimRig::spawn(&Profile::xm430_w350(), &[1, 2, 3]).expect("rig");
    let path = rig.port().to_string_lossy().into_owned();
    assert!(path.starts_with("/dev/pts/"), "{path}");
    let mut port = open(&rig);
    port.write_all(&Packet::ping(BROADCAST_ID).encode())
        .expect("write");
    let replies = read_packets(port.as_mut(), 3);
    let ids: Vec<u8> = replies.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(rig.counters().packets.load(Ordering::Relaxed) >= 1);
    let heard = rig.counters().instructions();
    assert_eq!(heard[0].id, BROADCAST_ID);
    assert_eq!(
        heard[0].instruction,
        drivedeck_proto::dxl2::instruction::PING
    );
}

#[test]
fn a_frame_cut_short_by_silence_is_dropped_and_the_next_one_answered() {
    let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
    let mut port = open(&rig);
    // A header whose length field was garbled (0xFFFF bytes to come), then silence:
    // without a packet timeout the drive would swallow every later request.
    port.write_all(&[0xFF, 0xFF, 0xFD, 0x00, 0x01, 0xFF, 0xFF])
        .expect("write");
    std::thread::sleep(crate::responder::PACKET_TIMEOUT * 3);
    port.write_all(&Packet::ping(1).encode()).expect("write");
    let replies = read_packets(port.as_mut(), 1);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].id, 1);
}

#[test]
fn stamps_each_frame_with_its_first_byte_on_the_process_clock() {
    let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
    let mut port = open(&rig);
    let ping = Packet::ping(1).encode();
    // The frame's first half, a pause (shorter than the packet timeout), then the
    // rest: the stamp is the first half's.
    let before = Instant::now();
    port.write_all(&ping[..4]).expect("write");
    std::thread::sleep(crate::responder::PACKET_TIMEOUT / 2);
    let second_half = Instant::now();
    port.write_all(&ping[4..]).expect("write");
    assert_eq!(read_packets(port.as_mut(), 1).len(), 1);
    let answered = Instant::now();
    let heard = rig.counters().timed_instructions();
    let (first_byte, packet) = heard.last().expect("heard");
    assert_eq!(packet.id, 1);
    assert!(
        *first_byte >= before && *first_byte < second_half,
        "{first_byte:?}"
    );
    assert!(*first_byte < answered);
}

#[test]
fn survives_garbage_and_answers_the_next_good_frame() {
    let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
    let mut port = open(&rig);
    let mut bytes = vec![
        0xFF, 0x00, 0x13, 0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00,
    ];
    bytes.extend_from_slice(&Packet::ping(1).encode());
    port.write_all(&bytes).expect("write");
    // The garbage holds a whole frame for drive 1 whose CRC fails: like the real
    // firmware, the drive answers it with a CRC Error status, then the ping. Both
    // replies may arrive in one read, so read until both came.
    let replies = read_packets(port.as_mut(), 2);
    assert_eq!(replies.len(), 2, "{replies:?}");
    let errors: Vec<_> = replies
        .iter()
        .map(|r| r.as_status().expect("a status packet").error)
        .collect();
    assert!(replies.iter().all(|r| r.id == 1), "{replies:?}");
    assert_eq!(errors[0].code(), drivedeck_proto::dxl2::error_code::CRC);
    assert_eq!(
        errors[1].code(),
        0,
        "the ping after the garbage is answered cleanly"
    );
}

#[test]
fn refuses_bad_ids_and_bad_options() {
    let profile = Profile::xm430_w350();
    for ids in [&[][..], &[1, 1], &[0xFE], &[253]] {
        assert!(
            matches!(SimRig::spawn(&profile, ids), Err(RigError::Ids(_))),
            "{ids:?}"
        );
    }
    // Modbus: 0 is the broadcast and 248.. are reserved.
    for ids in [&[0][..], &[1, 248]] {
        assert!(
            matches!(
                SimRig::spawn(&Profile::kinco_fd5p(), ids),
                Err(RigError::Ids(_))
            ),
            "{ids:?}"
        );
    }
    let bad = RigOptions {
        faults: LineFaults {
            noise: 1.5,
            ..LineFaults::default()
        },
        ..RigOptions::default()
    };
    assert!(matches!(
        SimRig::spawn_with(&profile, &[1], bad),
        Err(RigError::Options(_))
    ));
    let zero_baud = RigOptions {
        baud: 0,
        ..RigOptions::default()
    };
    assert!(matches!(
        SimRig::spawn_with(&profile, &[1], zero_baud),
        Err(RigError::Options(_))
    ));
    let massless = RigOptions {
        load_resonance: Some(Resonance {
            inertia: 0.0,
            frequency: 8.0,
            damping_ratio: 0.1,
        }),
        ..RigOptions::default()
    };
    assert!(matches!(
        SimRig::spawn_with(&profile, &[1], massless),
        Err(RigError::Options(_))
    ));
}

#[test]
fn a_load_resonance_option_couples_every_drive() {
    let resonance = Resonance {
        inertia: 0.012,
        frequency: 8.0,
        damping_ratio: 0.05,
    };
    let options = RigOptions {
        load_resonance: Some(resonance),
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1, 2], options).expect("rig");
    rig.with_drives(|drives| {
        for drive in drives {
            assert_eq!(drive.motor().load.map(|l| l.resonance), Some(resonance));
        }
    });
    let plain = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
    plain.with_drives(|drives| assert!(drives[0].motor().load.is_none()));
}

#[test]
fn full_drop_silences_the_bus_and_clearing_it_brings_answers_back() {
    let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
    let mut port = open(&rig);
    rig.set_line_faults(LineFaults {
        drop: 1.0,
        ..LineFaults::default()
    })
    .expect("valid");
    port.write_all(&Packet::ping(1).encode()).expect("write");
    assert!(read_packets(port.as_mut(), 1).is_empty());
    assert_eq!(rig.counters().packets.load(Ordering::Relaxed), 0);
    assert!(rig.counters().dropped_bytes.load(Ordering::Relaxed) >= 10);
    assert!(
        rig.set_line_faults(LineFaults {
            noise: -1.0,
            ..LineFaults::default()
        })
        .is_err()
    );
    assert_eq!(
        rig.line_faults().drop,
        1.0,
        "a refused change changes nothing"
    );
    rig.set_line_faults(LineFaults::default()).expect("clean");
    port.write_all(&Packet::ping(1).encode()).expect("write");
    assert_eq!(read_packets(port.as_mut(), 1).len(), 1);
}

#[test]
fn paced_frames_count_only_once_their_last_byte_could_have_arrived() {
    // 57600 baud: a Bulk Read naming drive 1 forty times is 212 bytes, 36.8 ms on the
    // wire; the pty delivers it at once, the paced rig acts on it only after that.
    let baud = 57_600;
    let options = RigOptions {
        baud,
        pace: true,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1], options).expect("rig");
    // The drive listens at the rig's rate (crate::line_rate): the port opens at it.
    let mut port = serialport::new(rig.port().to_string_lossy(), baud)
        .timeout(Duration::from_millis(20))
        .open()
        .expect("serialport opens the pty");
    let items: Vec<(u8, u16, u16)> = (0..40).map(|_| (1, 132, 4)).collect();
    let request = Packet::bulk_read(&items).encode();
    let started = Instant::now();
    port.write_all(&request).expect("write");
    let replies = read_packets(port.as_mut(), 40);
    let elapsed = started.elapsed();
    assert_eq!(replies.len(), 40);
    let reply_bytes: usize = replies.iter().map(|p| p.encode().len()).sum();
    let wire = WireTiming::paced(baud).duration(request.len() + reply_bytes);
    let delays = Duration::from_micros(40 * 500);
    assert!(
        elapsed >= wire + delays,
        "{elapsed:?} < {wire:?} + {delays:?}"
    );
}

/// Reads raw bytes for `wait`.
fn read_for(port: &mut dyn serialport::SerialPort, wait: Duration) -> Vec<u8> {
    let mut bytes = Vec::new();
    let deadline = Instant::now() + wait;
    let mut chunk = [0u8; 256];
    while Instant::now() < deadline {
        if let Ok(n) = port.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
    }
    bytes
}

#[test]
fn a_modbus_frame_ends_with_the_silence_after_it() {
    use drivedeck_proto::modbus::{RequestFrame, crc16};
    // 300 baud: t3.5 is 128 ms, far longer than a pause between two writes here.
    let options = RigOptions {
        baud: 300,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&Profile::kinco_fd5p(), &[1], options).expect("rig");
    let mut port = open(&rig);
    // 08 Diagnostics, unknown to the codec, in two writes 5 ms apart: one frame, so
    // unit 1 answers Illegal Function.
    let mut diagnostics = vec![0x01, 0x08, 0x00, 0x00, 0x12, 0x34];
    diagnostics.extend_from_slice(&crc16(&diagnostics).to_le_bytes());
    port.write_all(&diagnostics[..3]).expect("write");
    std::thread::sleep(Duration::from_millis(5));
    port.write_all(&diagnostics[3..]).expect("write");
    let reply = read_for(port.as_mut(), Duration::from_millis(600));
    assert_eq!(
        reply.get(..3),
        Some(&[0x01, 0x88, 0x01][..]),
        "{reply:02X?}"
    );
    // A read whose second half comes after more than t3.5: two broken frames, no
    // answer.
    let read = RequestFrame::read_holding_registers(1, 0x3200, 1)
        .expect("valid")
        .encode()
        .expect("encodes");
    let corrupt = rig.counters().corrupt.load(Ordering::Relaxed);
    port.write_all(&read[..4]).expect("write");
    std::thread::sleep(Duration::from_millis(400));
    port.write_all(&read[4..]).expect("write");
    assert!(read_for(port.as_mut(), Duration::from_millis(600)).is_empty());
    assert!(rig.counters().corrupt.load(Ordering::Relaxed) >= corrupt + 2);
    // The whole frame at once is answered.
    port.write_all(&read).expect("write");
    let reply = read_for(port.as_mut(), Duration::from_millis(600));
    assert_eq!(
        reply.get(..3),
        Some(&[0x01, 0x03, 0x02][..]),
        "{reply:02X?}"
    );
}

#[test]
fn the_port_vanishes_after_the_given_time() {
    let options = RigOptions {
        vanish_after: Some(Duration::from_millis(100)),
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1], options).expect("rig");
    assert!(rig.is_serving());
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.is_serving() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!rig.is_serving());
}
