//! `scan` as a user runs it: `drivedeck-cli sim` children on real ptys, scanned by
//! `drivedeck-cli scan`, human and JSON output, and the errors a user meets.

mod common;

use common::{Sim, cli, text};

#[test]
fn scan_finds_the_simulated_drives_of_each_protocol_with_their_models() {
    for (protocol, model, model_number) in [
        ("dynamixel2", "XM430-W350", serde_json::json!(1020)),
        ("dynamixel1", "AX-12A", serde_json::json!(12)),
        ("feetech", "STS3215", serde_json::json!(777)),
        // Modbus has no ping and the FD5P no identity register: matched by its map.
        ("modbus-rtu", "FD5P", serde_json::Value::Null),
    ] {
        let sim = Sim::start(protocol, "2,5,11");
        let out = cli(&[
            "scan",
            "--port",
            &sim.port,
            "--protocol",
            protocol,
            "--baud",
            "1000000",
            "--json",
        ]);
        assert!(out.status.success(), "{protocol}: {}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let drives = report["drives"].as_array().expect("drives");
        let ids: Vec<u64> = drives.iter().filter_map(|d| d["id"].as_u64()).collect();
        assert_eq!(ids, vec![2, 5, 11], "{protocol}: {report}");
        for drive in drives {
            assert_eq!(drive["protocol"], protocol);
            assert_eq!(drive["baud"], 1_000_000);
            assert_eq!(drive["model"], model, "{drive}");
            assert_eq!(drive["modelNumber"], model_number, "{drive}");
            assert_eq!(drive["idConflict"], false);
            let rtt = drive["rttUs"].as_u64().expect("rtt");
            assert!(rtt > 0 && rtt < 100_000, "{protocol}: rtt {rtt} µs");
        }
        assert_eq!(report["tried"], serde_json::json!([[protocol, 1_000_000]]));

        // The same, for a human.
        let out = cli(&[
            "scan",
            "--port",
            &sim.port,
            "--protocol",
            protocol,
            "--baud",
            "1000000",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        assert_eq!(table.matches(model).count(), 3, "{table}");
        assert!(table.contains("3 drives found"), "{table}");
    }
}

#[test]
fn scan_errors_say_what_is_wrong() {
    // No such port.
    let out = cli(&[
        "scan",
        "--port",
        "/dev/drivedeck-no-such-port",
        "--protocol",
        "dynamixel2",
        "--baud",
        "57600",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open /dev/drivedeck-no-such-port")
            && stderr.contains("No such file"),
        "{stderr}"
    );

    // Drives that speak another protocol: nothing answers, and the exit status says so.
    let sim = Sim::start("dynamixel2", "1");
    let out = cli(&[
        "scan",
        "--port",
        &sim.port,
        "--protocol",
        "feetech",
        "--baud",
        "1000000",
        "--timeout-ms",
        "2",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no drive answered on") && stderr.contains("feetech at 1000000 baud"),
        "{stderr}"
    );

    // Bad arguments are refused before the port is touched.
    for args in [
        &["--protocol", "canopen"][..],
        &["--baud", "0"],
        &["--timeout-ms", "0"],
    ] {
        let mut all = vec!["scan", "--port", "/dev/null"];
        all.extend_from_slice(args);
        let out = cli(&all);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            text(&out.stderr).contains("invalid value"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn ports_lists_without_ptys() {
    let _sim = Sim::start("dynamixel2", "1");
    let out = cli(&["ports", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ports = ports.as_array().expect("a list");
    assert!(
        ports.iter().all(|p| !p["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/dev/pts/"))),
        "{ports:?}"
    );
}
