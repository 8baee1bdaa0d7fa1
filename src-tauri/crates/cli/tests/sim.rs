//! `drivedeck-cli sim` as a user runs it: a child process whose first line names a pty
//! that a serial port library opens and a drive on it answers.

use bytes::BytesMut;
use drivedeck_proto::dxl2::{BROADCAST_ID, Packet, decode};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sim_prints_its_port_first_and_answers_a_ping_on_it() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drivedeck-cli"))
        .args(["sim", "--ids", "3,7", "--until-stdin-closes"])
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

    let mut serial = serialport::new(&port, 1_000_000)
        .timeout(Duration::from_millis(20))
        .open()
        .expect("open the pty like a USB adapter");
    serial
        .write_all(&Packet::ping(BROADCAST_ID).encode())
        .expect("write");
    let mut buf = BytesMut::new();
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut chunk = [0u8; 256];
    while ids.len() < 2 && Instant::now() < deadline {
        if let Ok(n) = serial.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
        }
        while let Ok(Some(packet)) = decode(&mut buf) {
            ids.push(packet.id);
        }
    }
    assert_eq!(ids, [3, 7]);

    drop(child.stdin.take()); // end of input: the simulator stops
    let status = child.wait().expect("wait");
    assert!(status.success());
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    for args in [
        vec!["sim", "--ids", "1,300"],
        vec!["sim", "--protocol", "canopen"],
        vec!["sim", "--ids", "1,1", "--until-stdin-closes"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_drivedeck-cli"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
        assert!(out.stdout.is_empty(), "{args:?} printed a port anyway");
    }
}
