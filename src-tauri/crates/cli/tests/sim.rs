//! `drivedeck-cli sim` as a user runs it: a child process whose first line names a pty
//! that a serial port library opens and the simulated drives on it answer — in DYNAMIXEL
//! 2.0, DYNAMIXEL 1.0, Feetech and Modbus RTU (CiA 402 drives), paced to a baud rate or
//! not, with faults injected.
//!
//! Timing checks assert lower bounds only (a reply cannot come before its wire time), so
//! a slow machine can never make them fail.

use bytes::BytesMut;
use drivedeck_proto::cia402::{State, controlword};
use drivedeck_proto::modbus::{self, ExceptionCode, RequestFrame, Response};
use drivedeck_proto::profile::{Profile, Role};
use drivedeck_proto::{dxl1, dxl2};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sim` child; closing its stdin stops it.
struct Sim {
    child: Child,
    stdout: BufReader<ChildStdout>,
    port: String,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_drivedeck-cli"))
            .arg("sim")
            .args(args)
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start drivedeck-cli");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        let port = first
            .trim()
            .strip_prefix("port: ")
            .unwrap_or_else(|| panic!("first line is {first:?}"))
            .to_string();
        assert!(port.starts_with("/dev/pts/"), "{port}");
        Sim {
            child,
            stdout,
            port,
        }
    }

    fn open(&self) -> Box<dyn serialport::SerialPort> {
        self.open_at(1_000_000)
    }

    /// Opens the port at `baud`: the simulated drives hear only frames sent at the rate
    /// they are set to (the simulator's `--baud`).
    fn open_at(&self, baud: u32) -> Box<dyn serialport::SerialPort> {
        serialport::new(&self.port, baud)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("open the pty like a USB adapter")
    }

    fn stop(mut self) {
        drop(self.child.stdin.take()); // end of input: the simulator stops
        let status = self.child.wait().expect("wait");
        assert!(status.success());
    }
}

/// Reads until `count` frames decoded with `decode` arrived (or 3 s passed).
fn read_frames<P>(
    port: &mut dyn serialport::SerialPort,
    count: usize,
    mut decode: impl FnMut(&mut BytesMut) -> Option<P>,
) -> Vec<P> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut chunk = [0u8; 512];
    while frames.len() < count && Instant::now() < deadline {
        if let Ok(n) = port.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
        }
        while let Some(frame) = decode(&mut buf) {
            frames.push(frame);
        }
    }
    frames
}

fn dxl1_frames(port: &mut dyn serialport::SerialPort, count: usize) -> Vec<dxl1::Packet> {
    read_frames(port, count, |buf| dxl1::decode(buf).ok().flatten())
}

fn dxl2_frames(port: &mut dyn serialport::SerialPort, count: usize) -> Vec<dxl2::Packet> {
    read_frames(port, count, |buf| dxl2::decode(buf).ok().flatten())
}

#[test]
fn sim_prints_its_port_first_and_answers_a_ping_on_it() {
    let sim = Sim::start(&["--ids", "3,7"]);
    let mut serial = sim.open();
    serial
        .write_all(&dxl2::Packet::ping(dxl2::BROADCAST_ID).encode())
        .expect("write");
    let ids: Vec<u8> = dxl2_frames(serial.as_mut(), 2)
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [3, 7]);
    sim.stop();
}

#[test]
fn a_rig_with_a_load_resonance_starts_and_answers() {
    let sim = Sim::start(&["--ids", "1", "--load-resonance", "8,0.05,0.012"]);
    let mut serial = sim.open();
    serial
        .write_all(&dxl2::Packet::ping(1).encode())
        .expect("write");
    let ids: Vec<u8> = dxl2_frames(serial.as_mut(), 1)
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [1]);
    sim.stop();
}

#[test]
fn dynamixel1_ax12a_answers_ping_read_write_and_checksum_errors() {
    let sim = Sim::start(&["--protocol", "dynamixel1", "--ids", "1,4"]);
    let mut serial = sim.open();
    // Ping ID 4 (e-manual shape): FF FF 04 02 01 F8 → FF FF 04 02 00 F9.
    serial
        .write_all(&[0xFF, 0xFF, 0x04, 0x02, 0x01, 0xF8])
        .expect("ping");
    let mut raw = [0u8; 6];
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = 0;
    while got < raw.len() && Instant::now() < deadline {
        if let Ok(n) = serial.read(&mut raw[got..]) {
            got += n;
        }
    }
    assert_eq!(raw, [0xFF, 0xFF, 0x04, 0x02, 0x00, 0xF9]);
    // Read the Model Number (0, 2 bytes): the AX-12A's 12.
    serial
        .write_all(&dxl1::Packet::read(1, 0, 2).encode())
        .expect("read");
    let status = dxl1_frames(serial.as_mut(), 1);
    assert_eq!(status[0].as_status().expect("status").data, [12, 0]);
    // Goal Position (30) = 512, read back.
    serial
        .write_all(&dxl1::Packet::write(4, 30, &512u16.to_le_bytes()).encode())
        .expect("write");
    assert!(
        dxl1_frames(serial.as_mut(), 1)[0]
            .as_status()
            .expect("s")
            .error
            .is_ok()
    );
    serial
        .write_all(&dxl1::Packet::read(4, 30, 2).encode())
        .expect("read");
    assert_eq!(
        dxl1_frames(serial.as_mut(), 1)[0]
            .as_status()
            .expect("s")
            .data,
        512u16.to_le_bytes()
    );
    // Goal Position 2000 is beyond its range (0..1023): Range Error.
    serial
        .write_all(&dxl1::Packet::write(4, 30, &2000u16.to_le_bytes()).encode())
        .expect("write");
    let error = dxl1_frames(serial.as_mut(), 1)[0]
        .as_status()
        .expect("s")
        .error;
    assert!(error.contains(dxl1::dynamixel_error::RANGE), "{error}");
    // A frame with a wrong checksum: Checksum Error from the ID it names.
    let mut bad = dxl1::Packet::read(1, 36, 2).encode();
    let last = bad.len() - 1;
    bad[last] = bad[last].wrapping_add(1);
    serial.write_all(&bad).expect("write");
    let status = dxl1_frames(serial.as_mut(), 1);
    let status = status[0].as_status().expect("s");
    assert_eq!(status.id, 1);
    assert!(status.error.contains(dxl1::dynamixel_error::CHECKSUM));
    sim.stop();
}

#[test]
fn feetech_sts3215_answers_broadcast_ping_and_sync_read_in_order() {
    let sim = Sim::start(&["--protocol", "feetech", "--ids", "1,2,3"]);
    let mut serial = sim.open();
    serial
        .write_all(&dxl1::Packet::ping(dxl1::BROADCAST_ID).encode())
        .expect("ping");
    let ids: Vec<u8> = dxl1_frames(serial.as_mut(), 3)
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    // Sync Read of Present Position (56, 2 bytes) from 3 then 1.
    serial
        .write_all(&dxl1::Packet::sync_read(56, 2, &[3, 1]).encode())
        .expect("sync read");
    let replies = dxl1_frames(serial.as_mut(), 2);
    assert_eq!(replies.iter().map(|p| p.id).collect::<Vec<_>>(), [3, 1]);
    assert!(replies.iter().all(|p| p.params.len() == 2));
    // The model number lives at address 3: 777 for the STS3215.
    serial
        .write_all(&dxl1::Packet::read(2, 3, 2).encode())
        .expect("read");
    assert_eq!(
        dxl1_frames(serial.as_mut(), 1)[0].params,
        777u16.to_le_bytes()
    );
    sim.stop();
}

/// Sends `request` and waits (up to 3 s) for its answer.
fn transact(port: &mut dyn serialport::SerialPort, request: &RequestFrame) -> Option<Response> {
    port.write_all(&request.encode().expect("a valid request"))
        .expect("write");
    read_frames(port, 1, |buf| {
        modbus::decode_response(buf, request).ok().flatten()
    })
    .pop()
    .map(|frame| {
        assert_eq!(frame.slave, request.slave);
        frame.response
    })
}

/// Writes `raw` to a Kinco FD5P entry (06 for one register, 16 for two) and checks the
/// echo.
fn write_entry(port: &mut dyn serialport::SerialPort, unit: u8, name: &str, raw: i64) {
    let register = Profile::kinco_fd5p().register(name).expect("entry").clone();
    let words = register.encode_words(raw);
    let request = if words.len() == 1 {
        RequestFrame::write_single_register(unit, register.address, words[0])
    } else {
        RequestFrame::write_multiple_registers(unit, register.address, &words)
    }
    .expect("valid");
    let answer = transact(port, &request).expect("an answer");
    assert_eq!(answer.exception(), None, "{name}: {answer:?}");
}

/// Reads a Kinco FD5P entry with 03.
fn read_entry(port: &mut dyn serialport::SerialPort, unit: u8, name: &str) -> i64 {
    let register = Profile::kinco_fd5p().register(name).expect("entry").clone();
    let request =
        RequestFrame::read_holding_registers(unit, register.address, register.span() as u16)
            .expect("valid");
    let answer = transact(port, &request).expect("an answer");
    let words = answer.registers().expect("registers");
    register.decode_words(words).expect("whole entry")
}

fn cia402_state(port: &mut dyn serialport::SerialPort, unit: u8) -> State {
    let word = read_entry(port, unit, "Statusword") as u16;
    State::from_statusword(word).expect("a defined state")
}

#[test]
fn modbus_rtu_kinco_drives_enable_move_and_refuse_what_the_drive_would() {
    let sim = Sim::start(&["--protocol", "modbus-rtu", "--ids", "1,2"]);
    let mut serial = sim.open();
    let port = serial.as_mut();
    assert_eq!(cia402_state(port, 1), State::SwitchOnDisabled);
    // The manual's velocity example, byte for byte: 01 10 6F 00 00 02 04 4E 82 00 1B ED 56
    // sets Target Velocity to 100 rpm, and the drive echoes address and quantity.
    port.write_all(&[
        0x01, 0x10, 0x6F, 0x00, 0x00, 0x02, 0x04, 0x4E, 0x82, 0x00, 0x1B, 0xED, 0x56,
    ])
    .expect("write");
    let mut echo = [0u8; 8];
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = 0;
    while got < echo.len() && Instant::now() < deadline {
        if let Ok(n) = port.read(&mut echo[got..]) {
            got += n;
        }
    }
    assert_eq!(echo, [0x01, 0x10, 0x6F, 0x00, 0x00, 0x02, 0x5C, 0xDC]);
    assert_eq!(read_entry(port, 1, "Target Velocity"), 0x001B_4E82);
    // Profile velocity at 5 rad/s (the simulated motor's no-load speed is 10 rad/s).
    let profile = Profile::kinco_fd5p();
    let velocity = profile.role(Role::GoalVelocity).expect("60FFh").clone();
    let target = velocity.from_si(5.0).expect("representable");
    write_entry(port, 1, "Modes of Operation", 3);
    write_entry(port, 1, "Target Velocity", target);
    // A target in Switched On moves nothing.
    write_entry(port, 1, "Controlword", controlword::SHUTDOWN.into());
    write_entry(port, 1, "Controlword", controlword::SWITCH_ON.into());
    assert_eq!(cia402_state(port, 1), State::SwitchedOn);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read_entry(port, 1, "Velocity Actual Value"), 0);
    write_entry(port, 1, "Controlword", controlword::ENABLE_OPERATION.into());
    assert_eq!(cia402_state(port, 1), State::OperationEnabled);
    std::thread::sleep(Duration::from_millis(1500));
    let actual = velocity.to_si(read_entry(port, 1, "Velocity Actual Value"));
    assert!((actual - 5.0).abs() < 0.2, "{actual} rad/s");
    assert_ne!(
        read_entry(port, 1, "Statusword") & 0x0400,
        0,
        "target reached"
    );
    // Unit 2 heard none of it.
    assert_eq!(cia402_state(port, 2), State::SwitchOnDisabled);
    assert_eq!(read_entry(port, 2, "Target Velocity"), 0);
    // Exceptions, as the drive answers them.
    for (request, code) in [
        // Only half of Target Velocity: Illegal Data Address.
        (
            RequestFrame::read_holding_registers(1, 0x6F01, 1),
            ExceptionCode::IllegalDataAddress,
        ),
        // Modes of Operation 2 is not a mode this drive runs: Illegal Data Value.
        (
            RequestFrame::write_single_register(2, 0x3500, 2),
            ExceptionCode::IllegalDataValue,
        ),
        // The statusword is read-only: Server Device Failure.
        (
            RequestFrame::write_single_register(2, 0x3200, 0),
            ExceptionCode::ServerDeviceFailure,
        ),
    ] {
        let request = request.expect("valid");
        let answer = transact(port, &request).expect("an exception answer");
        assert_eq!(answer.exception(), Some(code), "{request:?}");
    }
    // Read Coils (01): Illegal Function.
    let mut coils = vec![0x02, 0x01, 0x00, 0x00, 0x00, 0x01];
    coils.extend_from_slice(&modbus::crc16(&coils).to_le_bytes());
    port.write_all(&coils).expect("write");
    let mut reply = [0u8; 5];
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = 0;
    while got < reply.len() && Instant::now() < deadline {
        if let Ok(n) = port.read(&mut reply[got..]) {
            got += n;
        }
    }
    assert_eq!(reply[..3], [0x02, 0x81, 0x01]);
    assert_eq!(modbus::crc16(&reply[..3]).to_le_bytes(), reply[3..]);
    // Unit 9 is not on the bus: silence.
    let absent = RequestFrame::read_holding_registers(9, 0x3200, 1).expect("valid");
    port.write_all(&absent.encode().expect("encodes"))
        .expect("write");
    let mut chunk = [0u8; 64];
    let deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < deadline {
        if let Ok(n) = port.read(&mut chunk) {
            panic!("unit 9 does not exist, yet {:02X?} came back", &chunk[..n]);
        }
    }
    // A broadcast Quick Stop reaches both drives, answered by neither; unit 1 brakes and
    // switches off (option code 2).
    let stop =
        RequestFrame::write_single_register(modbus::BROADCAST, 0x3100, controlword::QUICK_STOP)
            .expect("valid");
    port.write_all(&stop.encode().expect("encodes"))
        .expect("write");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(port.bytes_to_read().expect("pending"), 0, "nobody answered");
    assert_eq!(cia402_state(port, 1), State::SwitchOnDisabled);
    assert_eq!(read_entry(port, 1, "Controlword"), 0x0002);
    assert_eq!(read_entry(port, 2, "Controlword"), 0x0002);
    assert!(
        velocity
            .to_si(read_entry(port, 1, "Velocity Actual Value"))
            .abs()
            < 0.1
    );
    sim.stop();
}

#[test]
fn modbus_replies_wait_for_the_wire_the_silence_and_the_reply_delay() {
    // 19200 baud, paced: 11 bits a character, t3.5 = 3.5 characters ≈ 2.0 ms, then the
    // configured 3 ms of processing.
    let baud = 19_200u32;
    let sim = Sim::start(&[
        "--protocol",
        "modbus-rtu",
        "--ids",
        "7",
        "--baud",
        &baud.to_string(),
        "--pace",
        "--reply-delay-ms",
        "3",
    ]);
    let mut serial = sim.open();
    let request = RequestFrame::read_holding_registers(7, 0x3200, 1).expect("valid");
    let started = Instant::now();
    let answer = transact(serial.as_mut(), &request).expect("answer");
    let elapsed = started.elapsed();
    assert_eq!(answer.registers().map(<[u16]>::len), Some(1));
    // 8 bytes out, 7 back.
    let wire = modbus::wire_time(baud, 8 + 7).expect("baud > 0");
    let silence = modbus::Silence::for_baud(baud).expect("baud > 0").t3_5;
    let floor = wire + silence + Duration::from_millis(3);
    assert!(elapsed >= floor, "{elapsed:?} < {floor:?}");
    eprintln!("paced Modbus read at {baud} baud: {elapsed:?} (floor {floor:?})");
    sim.stop();
}

#[test]
fn paced_replies_never_arrive_before_their_wire_time() {
    // 12 STS3215s at 115200 baud; Sync Read 60 bytes from each.
    let ids: Vec<String> = (1..=12).map(|id: u8| id.to_string()).collect();
    let ids = ids.join(",");
    let baud = 115_200u32;
    let sim = Sim::start(&[
        "--protocol",
        "feetech",
        "--ids",
        &ids,
        "--baud",
        &baud.to_string(),
        "--pace",
    ]);
    let mut serial = sim.open_at(baud);
    let listed: Vec<u8> = (1..=12).collect();
    let request = dxl1::Packet::sync_read(0, 60, &listed).encode();
    let started = Instant::now();
    serial.write_all(&request).expect("sync read");
    let replies = dxl1_frames(serial.as_mut(), 12);
    let elapsed = started.elapsed();
    assert_eq!(replies.len(), 12);
    // Request and replies cross the wire at 10 bits per byte, and each drive waits its
    // Return Delay Time (250 × 2 µs) first: nothing can be faster than that.
    let reply_bytes: usize = replies.iter().map(|p| p.encode().len()).sum();
    assert_eq!(reply_bytes, 12 * (6 + 60));
    let wire =
        Duration::from_secs_f64((request.len() + reply_bytes) as f64 * 10.0 / f64::from(baud));
    let delays = Duration::from_micros(12 * 500);
    assert!(
        elapsed >= wire + delays,
        "{elapsed:?} < wire time {wire:?} + return delays {delays:?}"
    );
    eprintln!("paced sync read: {elapsed:?} (wire time {wire:?} + delays {delays:?})");
    sim.stop();
}

#[test]
fn an_injected_delay_holds_every_reply_back() {
    let sim = Sim::start(&["--ids", "1", "--delay-ms", "40"]);
    let mut serial = sim.open();
    let started = Instant::now();
    serial
        .write_all(&dxl2::Packet::ping(1).encode())
        .expect("ping");
    assert_eq!(dxl2_frames(serial.as_mut(), 1).len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(40));
    sim.stop();
}

#[test]
fn a_fully_noisy_line_garbles_every_reply() {
    // Every byte corrupted, both ways: the drive never hears a valid frame.
    let sim = Sim::start(&["--ids", "1", "--noise", "1", "--seed", "7"]);
    let mut serial = sim.open();
    for _ in 0..5 {
        serial
            .write_all(&dxl2::Packet::ping(1).encode())
            .expect("ping");
    }
    let mut buf = BytesMut::new();
    let deadline = Instant::now() + Duration::from_millis(300);
    let mut chunk = [0u8; 256];
    while Instant::now() < deadline {
        if let Ok(n) = serial.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    while let Ok(decoded) = dxl2::decode(&mut buf) {
        assert!(decoded.is_none(), "a valid frame came back: {decoded:?}");
        if buf.is_empty() {
            break;
        }
    }
    sim.stop();
}

#[test]
fn the_port_vanishes_when_told_and_the_process_says_so() {
    let mut sim = Sim::start(&["--ids", "1", "--vanish-after", "300ms"]);
    let mut lines = Vec::new();
    for line in (&mut sim.stdout).lines() {
        let line = line.expect("line");
        let done = line == "vanished";
        lines.push(line);
        if done {
            break;
        }
    }
    assert_eq!(
        lines.last().map(String::as_str),
        Some("vanished"),
        "{lines:?}"
    );
    let status = sim.child.wait().expect("wait");
    assert!(status.success());
    assert!(
        !std::path::Path::new(&sim.port).exists()
            || serialport::new(&sim.port, 1_000_000).open().is_err(),
        "the pty is gone"
    );
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let xm430 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../proto/profiles/robotis-xm430-w350.toml"
    );
    for (args, reason) in [
        (vec!["sim", "--ids", "1,300"], "300"),
        (vec!["sim", "--ids", "1,253"], "253"),
        (vec!["sim", "--ids", "1,1"], "twice"),
        (vec!["sim", "--protocol", "canopen"], "canopen"),
        (
            vec!["sim", "--protocol", "modbus-rtu", "--ids", "1,0"],
            "1..=247",
        ),
        (
            vec!["sim", "--protocol", "modbus-rtu", "--ids", "248"],
            "1..=247",
        ),
        (
            vec!["sim", "--protocol", "modbus-rtu", "--reply-delay-ms", "-1"],
            "delay",
        ),
        (vec!["sim", "--reply-delay-ms", "2"], "modbus-rtu only"),
        (
            vec!["sim", "--protocol", "feetech", "--profile", xm430],
            "--protocol is feetech",
        ),
        (vec!["sim", "--noise", "1.5"], "between 0 and 1"),
        (vec!["sim", "--drop", "-0.1"], "between 0 and 1"),
        (vec!["sim", "--noise", "often"], "not a number"),
        (vec!["sim", "--baud", "0"], "baud"),
        (vec!["sim", "--delay-ms", "-5"], "delay"),
        (vec!["sim", "--vanish-after", "0s"], "longer than 0"),
        (vec!["sim", "--vanish-after", "soon"], "duration"),
        (vec!["sim", "--load-resonance", "8,0.05"], "three numbers"),
        (
            vec!["sim", "--load-resonance", "0,0.05,0.01"],
            "positive frequency",
        ),
        (vec!["sim", "--load-resonance", "8,-1,0.01"], "non-negative"),
        (vec!["sim", "--load-resonance", "8,x,0.01"], "not a number"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_drivedeck-cli"))
            .args(&args)
            .arg("--until-stdin-closes")
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(reason),
            "{args:?}: expected {reason:?} in {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed a port anyway");
    }
}
