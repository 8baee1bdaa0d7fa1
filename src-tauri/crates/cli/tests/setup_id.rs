//! `drivedeck-cli setup-id` against `drivedeck-cli sim` on a pty: a lone servo of each
//! protocol that has set-up steps gets its ID (and rate) and a scan finds it there; a
//! servo that is not alone, a bad ID, a rate the protocol cannot encode and Modbus are
//! refused with the servos left as they were.

mod common;

use common::{Sim, cli, text};

/// `setup-id` with `args` on `sim`'s port, journaled into `db`.
fn setup_id(sim: &Sim, db: &std::path::Path, args: &[&str]) -> std::process::Output {
    let db = db.to_string_lossy();
    let mut all = vec!["setup-id", "--port", &sim.port, "--db", &db];
    all.extend_from_slice(args);
    cli(&all)
}

/// The (ID, baud) pairs a scan of `protocol` at `baud` finds on `sim`.
fn scan(sim: &Sim, protocol: &str, baud: u32) -> Vec<(u64, u64)> {
    let baud = baud.to_string();
    let out = cli(&[
        "scan",
        "--port",
        &sim.port,
        "--protocol",
        protocol,
        "--baud",
        &baud,
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scan JSON");
    report["drives"]
        .as_array()
        .expect("drives")
        .iter()
        .map(|d| {
            (
                d["id"].as_u64().expect("an id"),
                d["baud"].as_u64().expect("a baud rate"),
            )
        })
        .collect()
}

fn assign(protocol: &str, from_baud: u32, to_baud: u32) {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("setup.db");
    let from = from_baud.to_string();
    let sim = Sim::start_with(protocol, "1", &["--baud", &from]);
    let to = to_baud.to_string();
    let out = setup_id(
        &sim,
        &db,
        &[
            "--protocol",
            protocol,
            "--to",
            "12",
            "--baud",
            &to,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (&done["fromId"], &done["fromBaud"]),
        (&1.into(), &from_baud.into())
    );
    assert_eq!((&done["id"], &done["baud"]), (&12.into(), &to_baud.into()));
    assert_eq!(scan(&sim, protocol, to_baud), [(12, u64::from(to_baud))]);
    assert!(
        scan(&sim, protocol, from_baud).is_empty(),
        "gone from the old rate"
    );
}

#[test]
fn a_lone_dynamixel2_servo_gets_its_id_and_rate() {
    assign("dynamixel2", 57_600, 1_000_000);
}

#[test]
fn a_lone_dynamixel1_servo_gets_its_id_and_rate() {
    assign("dynamixel1", 1_000_000, 57_600);
}

#[test]
fn a_lone_feetech_servo_gets_its_id_and_rate() {
    assign("feetech", 1_000_000, 115_200);
}

#[test]
fn servos_not_alone_and_bad_requests_change_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("setup.db");
    let sim = Sim::start("dynamixel2", "1,2");
    let out = setup_id(&sim, &db, &["--protocol", "dynamixel2", "--to", "5"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("connect one servo at a time"), "{stderr}");
    for (args, says) in [
        (
            vec!["--protocol", "dynamixel2", "--to", "0"],
            "0 is not in 1..=252",
        ),
        (
            vec!["--protocol", "modbus-rtu", "--to", "5"],
            "invalid value 'modbus-rtu'",
        ),
        (
            vec!["--protocol", "dynamixel2", "--to", "5", "--baud", "12345"],
            "cannot run at 12345 baud",
        ),
    ] {
        let out = setup_id(&sim, &db, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(
        scan(&sim, "dynamixel2", 1_000_000),
        [(1, 1_000_000), (2, 1_000_000)]
    );
}
