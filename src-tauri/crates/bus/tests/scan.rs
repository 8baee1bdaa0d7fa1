//! Scanning a Modbus RTU bus behind a server that answers every unit address with an
//! exception (a gateway, some stacks): only drives are reported as drives.

use drivedeck_bus::scan::{ScanOptions, scan_serial};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::{RigOptions, SimRig};
use std::time::Duration;

const BAUD: u32 = 115_200;

/// Scans a rig with one Kinco drive at unit 3 behind a gateway answering `exception`
/// for every other unit; returns the IDs found and the report's notes.
async fn scan_behind_gateway(exception: u8) -> (Vec<u8>, Vec<String>) {
    let options = RigOptions {
        baud: BAUD,
        gateway_exception: Some(exception),
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&Profile::kinco_fd5p(), &[3], options).expect("rig");
    let scan = ScanOptions {
        protocols: vec![Protocol::ModbusRtu],
        bauds: vec![BAUD],
        // Every address answers, so only a lost reply ever waits this long: generous,
        // for a loaded machine.
        timeout: Duration::from_millis(200),
        ..ScanOptions::new(Profile::builtin())
    };
    let port = rig.port().to_string_lossy().into_owned();
    let report = scan_serial(&port, &scan).await.expect("scan");
    let ids = report.drives.iter().map(|d| d.id).collect();
    (ids, report.notes)
}

#[tokio::test]
async fn a_gateway_answering_0b_for_every_address_shows_only_the_drive() {
    let (ids, notes) = scan_behind_gateway(0x0B).await;
    assert_eq!(ids, vec![3]);
    assert!(notes.is_empty(), "{notes:?}");
}

#[tokio::test]
async fn units_answering_only_04_are_a_note_not_drives() {
    let (ids, notes) = scan_behind_gateway(0x04).await;
    assert_eq!(ids, vec![3]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("units 1–2, 4–247"), "{notes:?}");
    assert!(notes[0].contains("0x04"), "{notes:?}");
}

#[tokio::test]
async fn a_server_answering_02_for_every_address_is_one_note() {
    let (ids, notes) = scan_behind_gateway(0x02).await;
    assert_eq!(ids, vec![3], "only the unit that gave data is a drive");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("units 1–2, 4–247"), "{notes:?}");
    assert!(notes[0].contains("no address was silent"), "{notes:?}");
}
