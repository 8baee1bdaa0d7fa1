//! Parameter jobs end to end: the engine against simulated drives over a real pty, the
//! snapshots in a real SQLite store. Reads agree with the simulator's tables, writes land
//! there and are framed by before/after snapshots, refused writes put nothing on the
//! wire, backup → change → restore brings the values back.

use drivedeck_domain::{Command, DriveRef, JobState, Priority};
use drivedeck_e2e::{
    DRIVE_1, heard, journal, one_rig_at_a_time, run, sim_engine, sim_raw, stored_status,
    writes_heard,
};
use drivedeck_engine::Engine;
use drivedeck_proto::profile::Protocol;
use drivedeck_store::SnapshotRow;
use std::collections::BTreeMap;
use std::time::Duration;

/// The store's snapshots of drive 1 taken by `job`, oldest first.
fn snapshots_of(engine: &Engine, job: drivedeck_domain::JobId) -> Vec<SnapshotRow> {
    engine.flush().expect("flush");
    let mut rows: Vec<SnapshotRow> = engine
        .reader()
        .expect("reader")
        .snapshots(None, Some(DRIVE_1))
        .expect("snapshots")
        .into_iter()
        .filter(|s| s.job == Some(job.0 as i64))
        .collect();
    rows.reverse();
    rows
}

fn values(engine: &Engine, snapshot: i64) -> BTreeMap<String, (i64, f64, String)> {
    engine
        .reader()
        .expect("reader")
        .snapshot_values(snapshot)
        .expect("values")
}

/// Submits `command` and expects it refused with a reason containing `why`.
fn refused(engine: &Engine, command: Command, why: &str) {
    match engine.submit(command.clone()) {
        Err(e) => assert!(e.to_string().contains(why), "{command:?}: {e}"),
        Ok(_) => panic!("{command:?} was accepted"),
    }
}

async fn write_read_and_refuse(protocol: Protocol, register: &str, si: f64, read_only: &str) {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;

    // Read: the snapshot holds what the simulator's table holds.
    let job = engine
        .submit(Command::ReadParams {
            drive: DRIVE_1,
            registers: vec![register.into(), read_only.into()],
        })
        .expect("read accepted");
    let id = job.id;
    assert_eq!(job.outcome().await, JobState::Done);
    let rows = snapshots_of(&engine, id);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].kind, "read");
    let read = values(&engine, rows[0].id);
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[register].0, sim_raw(&engine, 1, register));

    // Every register of the profile, when none is named.
    let all = engine
        .submit(Command::ReadParams {
            drive: DRIVE_1,
            registers: vec![],
        })
        .expect("read all accepted");
    let all_id = all.id;
    assert_eq!(all.outcome().await, JobState::Done);
    let rows = snapshots_of(&engine, all_id);
    let profile = drivedeck_engine::builtin_profile(protocol).expect("profile");
    assert_eq!(values(&engine, rows[0].id).len(), profile.registers.len());

    // Refused before the wire: out of range, read-only, unknown. The simulator hears no
    // write and its value stays.
    let before = sim_raw(&engine, 1, register);
    let writes_before = writes_heard(&engine, protocol);
    for (values, why) in [
        (vec![(register.to_string(), -1e9)], "outside"),
        (vec![(register.to_string(), 1e12)], register),
        (vec![(read_only.to_string(), 0.0)], "read-only"),
        (
            vec![("No Such Register".to_string(), 0.0)],
            "No Such Register",
        ),
    ] {
        refused(
            &engine,
            Command::WriteParams {
                drive: DRIVE_1,
                values,
            },
            why,
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(writes_heard(&engine, protocol), writes_before);
    assert_eq!(sim_raw(&engine, 1, register), before);

    // A write within range lands at the simulator, framed by two snapshots.
    let job = engine
        .submit(Command::WriteParams {
            drive: DRIVE_1,
            values: vec![(register.into(), si)],
        })
        .expect("write accepted");
    let id = job.id;
    assert_eq!(job.outcome().await, JobState::Done);
    let written = profile.register(register).expect("register").from_si(si);
    assert_eq!(Some(sim_raw(&engine, 1, register)), written);
    assert_ne!(Some(before), written, "the test must change the value");
    let rows = snapshots_of(&engine, id);
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["before-write", "after-write"]);
    let diff = engine
        .reader()
        .expect("reader")
        .diff_snapshots(rows[0].id, rows[1].id)
        .expect("diff");
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0].register, register);
    assert_eq!(diff[0].left.map(|l| l.0), Some(before));
    assert_eq!(diff[0].right.map(|r| r.0), written);

    // The journal: every accepted job once, done, with its times; no refused one.
    let jobs = journal(&engine);
    let mut names: Vec<&str> = jobs.iter().map(|j| j.command.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["connect", "readParams", "readParams", "writeParams"],
        "{jobs:?}"
    );
    for job in &jobs {
        assert_eq!(job.state, "done", "{job:?}");
        assert!(
            job.sent_us.is_some() && job.finished_us >= job.sent_us,
            "{job:?}"
        );
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamixel2_reads_writes_and_refuses_parameters() {
    // Position P Gain (RAM, 0 – 16383), Present Position read-only.
    write_read_and_refuse(
        Protocol::Dynamixel2,
        "Position P Gain",
        900.0,
        "Present Position",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_cia402_reads_writes_and_refuses_parameters() {
    // Profile Velocity (6081h, u32 ≥ 0), Statusword read-only.
    write_read_and_refuse(Protocol::ModbusRtu, "Profile Velocity", 2.0, "Statusword").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feetech_reads_writes_and_refuses_parameters() {
    // P Coefficient (EEPROM, 0 – 254), Present Position read-only.
    write_read_and_refuse(Protocol::Feetech, "P Coefficient", 40.0, "Present Position").await;
}

async fn backup_change_restore(protocol: Protocol, register: &str, changed: f64) {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, protocol).await;
    let original = sim_raw(&engine, 1, register);

    let backup = engine
        .submit(Command::BackupParams {
            drive: DRIVE_1,
            label: "before tuning".into(),
        })
        .expect("backup accepted");
    let backup_id = backup.id;
    assert_eq!(backup.outcome().await, JobState::Done);
    let rows = snapshots_of(&engine, backup_id);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].kind.as_str(), rows[0].label.as_str()),
        ("backup", "before tuning")
    );
    let saved = values(&engine, rows[0].id);
    let profile = drivedeck_engine::builtin_profile(protocol).expect("profile");
    let persistent = profile.registers.iter().filter(|r| r.persistent).count();
    assert_eq!(saved.len(), persistent);
    assert_eq!(saved[register].0, original);

    let change = Command::WriteParams {
        drive: DRIVE_1,
        values: vec![(register.into(), changed)],
    };
    assert_eq!(run(&engine, change).await, JobState::Done);
    assert_ne!(sim_raw(&engine, 1, register), original);

    let writes_before = writes_heard(&engine, protocol);
    let restore = engine
        .submit(Command::RestoreParams {
            drive: DRIVE_1,
            values: saved
                .iter()
                .map(|(name, (_, value, _))| (name.clone(), *value))
                .collect(),
            label: "before tuning".into(),
        })
        .expect("restore accepted");
    let restore_id = restore.id;
    assert_eq!(restore.outcome().await, JobState::Done);
    assert_eq!(sim_raw(&engine, 1, register), original);
    // Only what differed went out (plus, on Feetech, the unlock and the lock again).
    let extra = if protocol == Protocol::Feetech { 3 } else { 1 };
    assert_eq!(writes_heard(&engine, protocol), writes_before + extra);
    let rows = snapshots_of(&engine, restore_id);
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["before-write", "restore"]);
    let restored = values(&engine, rows[1].id);
    for (name, (raw, _, _)) in &restored {
        assert_eq!(saved[name].0, *raw, "{name}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamixel2_backup_change_restore_returns_the_values() {
    backup_change_restore(Protocol::Dynamixel2, "Moving Threshold", 0.5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feetech_backup_change_restore_returns_the_values() {
    backup_change_restore(Protocol::Feetech, "P Coefficient", 60.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eeprom_writes_wait_for_torque_off_and_faults_clear_by_protocol() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    assert_eq!(
        run(&engine, Command::Arm { drive: DRIVE_1 }).await,
        JobState::Done
    );
    assert_eq!(
        run(&engine, Command::Enable { drive: DRIVE_1 }).await,
        JobState::Done
    );
    let writes_before = writes_heard(&engine, Protocol::Dynamixel2);
    // The safety class takes no motion; a parameter read may run in the telemetry class.
    let class = |priority| drivedeck_bus::JobOptions {
        priority,
        deadline: None,
    };
    assert!(
        engine
            .submit_with(Command::Enable { drive: DRIVE_1 }, class(Priority::Safety))
            .is_err()
    );
    let read = engine
        .submit_with(
            Command::ReadParams {
                drive: DRIVE_1,
                registers: vec!["Moving Threshold".into()],
            },
            class(Priority::Telemetry),
        )
        .expect("a telemetry-class read");
    assert_eq!(read.outcome().await, JobState::Done);
    refused(
        &engine,
        Command::WriteParams {
            drive: DRIVE_1,
            values: vec![("Moving Threshold".into(), 0.5)],
        },
        "torque off",
    );
    assert_eq!(writes_heard(&engine, Protocol::Dynamixel2), writes_before);

    // DYNAMIXEL EEPROM persists as written: a save is done without a byte.
    assert_eq!(
        run(&engine, Command::SaveToFlash { drive: DRIVE_1 }).await,
        JobState::Done
    );
    assert_eq!(writes_heard(&engine, Protocol::Dynamixel2), writes_before);

    // Clear fault is a Reboot (0x08): the drive comes back with torque off.
    assert_eq!(
        run(&engine, Command::ClearFault { drive: DRIVE_1 }).await,
        JobState::Done
    );
    assert!(
        heard(&engine)
            .iter()
            .any(|p| p.id == 1 && p.instruction == 0x08),
        "a reboot was heard"
    );
    let torque = engine
        .inspect_sim(1, |drives| drives[0].torque_enabled())
        .expect("sim");
    assert!(!torque);
    let status = stored_status(&engine, DRIVE_1).expect("drive 1's status");
    assert!(!status.enabled && status.fault.is_none(), "{status:?}");
    engine.shutdown().await;

    // Modbus CiA 402 without a Store Parameters entry: the save is refused; a fault
    // reset is the controlword's.
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::ModbusRtu).await;
    refused(
        &engine,
        Command::SaveToFlash { drive: DRIVE_1 },
        "Store Parameters",
    );
    assert_eq!(
        run(&engine, Command::ClearFault { drive: DRIVE_1 }).await,
        JobState::Done
    );
    engine.shutdown().await;

    // Feetech alarms are live: nothing to clear, refused with the reason.
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Feetech).await;
    refused(&engine, Command::ClearFault { drive: DRIVE_1 }, "alarms");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_fault_reboots_a_dynamixel_out_of_its_latched_hardware_error() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    // Input voltage errors shut the drive down too (Shutdown bit 0), then the supply sags.
    let shutdown = Command::WriteParams {
        drive: DRIVE_1,
        values: vec![("Shutdown".into(), f64::from(0x35))],
    };
    assert_eq!(run(&engine, shutdown).await, JobState::Done);
    engine.inspect_sim(1, |drives| drives[0].set_supply_voltage(5.0));
    let fault = |engine: &Engine| stored_status(engine, DRIVE_1).and_then(|s| s.fault);
    let mut seen = None;
    for _ in 0..200 {
        seen = fault(&engine);
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.expect("the drive's hardware error reached the store");
    assert!(seen.to_lowercase().contains("voltage"), "{seen}");
    assert_ne!(sim_raw(&engine, 1, "Hardware Error Status"), 0);

    // Supply back in range: the reboot clears the latch.
    engine.inspect_sim(1, |drives| drives[0].set_supply_voltage(12.0));
    assert_eq!(
        run(&engine, Command::ClearFault { drive: DRIVE_1 }).await,
        JobState::Done
    );
    assert_eq!(sim_raw(&engine, 1, "Hardware Error Status"), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fault(&engine), None);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_noisy_line_every_parameter_job_ends_once_and_the_link_goes_on() {
    let _ = env_logger::builder().is_test(true).try_init();
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let faults = drivedeck_sim::LineFaults {
        noise: 0.003,
        drop: 0.003,
        ..drivedeck_sim::LineFaults::default()
    };
    engine
        .with_sim_rig(1, |rig| rig.set_line_faults(faults))
        .expect("rig")
        .expect("faults");
    let mut handles = Vec::new();
    for i in 0..30u16 {
        let command = if i % 3 == 0 {
            Command::ReadParams {
                drive: DRIVE_1,
                registers: vec![],
            }
        } else {
            Command::WriteParams {
                drive: DRIVE_1,
                values: vec![("Position P Gain".into(), f64::from(200 + i))],
            }
        };
        handles.push(engine.submit(command).expect("accepted"));
    }
    let mut outcomes = BTreeMap::new();
    for handle in handles {
        let id = handle.id;
        let state = tokio::time::timeout(Duration::from_secs(30), handle.outcome())
            .await
            .expect("every job ends");
        assert!(state.is_terminal());
        outcomes.insert(id.0 as i64, state);
    }
    engine
        .with_sim_rig(1, |rig| {
            rig.set_line_faults(drivedeck_sim::LineFaults::default())
        })
        .expect("rig")
        .expect("faults off");
    // The journal agrees with every handle: one row each, its terminal state.
    let jobs = journal(&engine);
    // Every job but the connection's (a link-level job, not submitted).
    let jobs: Vec<_> = jobs
        .into_iter()
        .filter(|j| j.command != "connect")
        .collect();
    assert_eq!(jobs.len(), outcomes.len());
    for job in &jobs {
        assert_eq!(job.state, outcomes[&job.id].name(), "{job:?}");
    }
    let corrupted = engine
        .with_sim_rig(1, |rig| {
            rig.counters()
                .corrupted_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .expect("rig");
    assert!(corrupted > 0, "the line really was noisy");
    // The link is not wedged: once the line is clean it is up (a run of lost frames may
    // have taken it down and back up meanwhile), and a write lands.
    let up_by = std::time::Instant::now() + Duration::from_secs(15);
    while !engine.link_up(1) {
        assert!(
            std::time::Instant::now() < up_by,
            "the link came back within 15 s: {:?}",
            engine.link_health(1)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        run(
            &engine,
            Command::WriteParams {
                drive: DRIVE_1,
                values: vec![("Position P Gain".into(), 777.0)],
            }
        )
        .await,
        JobState::Done
    );
    assert_eq!(sim_raw(&engine, 1, "Position P Gain"), 777);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_knows_each_connected_drives_profile_until_its_link_closes() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let builtin = drivedeck_engine::builtin_profile(Protocol::Dynamixel2).expect("built-in");
    for id in [1, 2] {
        let profile = engine
            .drive_profile(DriveRef { link: 1, id })
            .expect("a connected drive has a profile");
        assert_eq!(profile.name, builtin.name);
        assert_eq!(profile.registers, builtin.registers);
    }
    assert!(engine.drive_profile(DriveRef { link: 1, id: 3 }).is_none());
    assert!(engine.drive_profile(DriveRef { link: 2, id: 1 }).is_none());
    assert!(engine.disconnect(1).await);
    assert!(engine.drive_profile(DRIVE_1).is_none());
    engine.shutdown().await;
}
