//! Parameter history: snapshots around writes, backups, and diffs.

use crate::common::DRIVE;
use drivedeck_domain::{DriveRef, Event, JobId, ParamSnapshot, ParamValue, SnapshotKind};
use drivedeck_store::Store;

fn value(register: &str, raw: i64, scale: f64, unit: &str) -> ParamValue {
    ParamValue {
        register: register.into(),
        raw,
        value: raw as f64 * scale,
        unit: unit.into(),
    }
}

fn snapshot(drive: DriveRef, kind: SnapshotKind, at: i64, values: Vec<ParamValue>) -> Event {
    Event::ParamSnapshot {
        snapshot: ParamSnapshot {
            drive,
            model: "XM430-W350".into(),
            kind,
            job: Some(JobId(at as u64)),
            label: String::new(),
            values,
            at,
        },
    }
}

#[test]
fn snapshots_keep_values_before_and_after_writes_and_diff_them() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("p.db")).expect("open");
    let writer = store.writer();
    let monday = writer.start_session("monday", "", 0).expect("session");
    writer.apply(snapshot(
        DRIVE,
        SnapshotKind::Backup,
        10,
        vec![
            value("Position P Gain", 800, 1.0 / 128.0, ""),
            value("Velocity Limit", 200, 0.229, "rpm"),
            value("Return Delay Time", 250, 2.0, "us"),
        ],
    ));
    writer.apply(snapshot(
        DRIVE,
        SnapshotKind::BeforeWrite,
        20,
        vec![value("Position P Gain", 800, 1.0 / 128.0, "")],
    ));
    writer.apply(snapshot(
        DRIVE,
        SnapshotKind::AfterWrite,
        21,
        vec![value("Position P Gain", 1200, 1.0 / 128.0, "")],
    ));
    let tuesday = writer.start_session("tuesday", "", 100).expect("session");
    let replacement = DriveRef { link: 4, id: 3 };
    writer.apply(snapshot(
        replacement,
        SnapshotKind::Read,
        110,
        vec![
            value("Position P Gain", 1200, 1.0 / 128.0, ""),
            value("Velocity Limit", 265, 0.229, "rpm"),
            value("Homing Offset", -10, 1.0, ""),
        ],
    ));
    writer.flush().expect("flush");
    let reader = store.reader().expect("reader");
    let snaps = reader.snapshots(Some(monday), None).expect("snapshots");
    let kinds: Vec<&str> = snaps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["after-write", "before-write", "backup"]);
    assert_eq!(snaps[0].job, Some(21));
    // Before/after a write: exactly the written register differs.
    let diff = reader
        .diff_snapshots(snaps[1].id, snaps[0].id)
        .expect("diff");
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].register, "Position P Gain");
    assert_eq!(diff[0].left.map(|v| v.0), Some(800));
    assert_eq!(diff[0].right.map(|v| v.0), Some(1200));
    // A session's last values: the write wins over the backup.
    let monday_values = reader.session_params(monday, DRIVE).expect("values");
    assert_eq!(monday_values["Position P Gain"].0, 1200);
    assert_eq!(monday_values["Velocity Limit"].2, "rpm");
    // Two sessions, the drive replaced: what changed, what exists on one side only.
    let diff = reader
        .diff_sessions((monday, DRIVE), (tuesday, replacement))
        .expect("diff");
    let registers: Vec<(&str, Option<i64>, Option<i64>)> = diff
        .iter()
        .map(|d| {
            (
                d.register.as_str(),
                d.left.map(|v| v.0),
                d.right.map(|v| v.0),
            )
        })
        .collect();
    assert_eq!(
        registers,
        [
            ("Homing Offset", None, Some(-10)),
            ("Return Delay Time", Some(250), None),
            ("Velocity Limit", Some(200), Some(265)),
        ]
    );
    let history = reader
        .param_history(DRIVE, "Position P Gain")
        .expect("history");
    let raws: Vec<(i64, &str)> = history.iter().map(|h| (h.1, h.3.as_str())).collect();
    assert_eq!(
        raws,
        [
            (800, "backup"),
            (800, "before-write"),
            (1200, "after-write")
        ]
    );
    assert!(reader.snapshot_values(999).is_err(), "no such snapshot");
    assert!(reader.diff_sessions((monday, DRIVE), (77, DRIVE)).is_err());
}
