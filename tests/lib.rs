//! DriveDeck's end-to-end tests, and what they share.
//!
//! - `engine_sim.rs`: the engine, headless, against simulated drives on a real
//!   pseudo-terminal, with the store on a real SQLite file.
//! - `protocols.rs`: every protocol through the same engine: scan, reads and writes with
//!   their scaling, range refusals, decoded faults, E-stop, link loss.
//! - `params.rs`: parameter jobs (read, write, backup, restore, save, clear fault) against
//!   the simulator, their snapshots in the store.
//! - `ui/*.test.mjs`: the real app window under Xvfb, driven through WebDriver (run by
//!   `cargo xtask test`).
//!
//! The helpers below start an engine on a simulated rig, run jobs with a bound (a bug
//! shows as a failure, not a hung run), wait for the store to show a state, and look at
//! the far side of the wire.

use drivedeck_domain::{Command, DriveRef, JobState};
use drivedeck_engine::{Engine, EngineConfig, Protocol};
use drivedeck_sim::{HeardPacket, SimDrive};
use drivedeck_store::DriveRow;
use std::time::Duration;

/// The first drive of the rig [`sim_engine`] starts.
pub const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };
/// Its second drive.
pub const DRIVE_2: DriveRef = DriveRef { link: 1, id: 2 };

/// One rig at a time: a vanished pty's number is handed to the next pty opened, and a
/// link reconnecting to that path would reach another test's drives (as a replugged
/// adapter at the same path would). Tests hold this for their whole run.
static RIGS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for this test's turn with the rigs (see [`RIGS`]).
pub async fn one_rig_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    RIGS.lock().await
}

/// An engine whose store is in `dir`, connected to simulated drives 1 and 2 of
/// `protocol`'s built-in model (link 1).
pub async fn sim_engine(dir: &tempfile::TempDir, protocol: Protocol) -> Engine {
    let engine = Engine::start(EngineConfig::new(dir.path().join("e2e.db"))).expect("engine");
    let link = engine
        .connect_sim_rig(protocol, &[1, 2])
        .await
        .expect("sim rig");
    assert_eq!(link, 1);
    engine
}

/// Waits for a job's end, at most 10 s.
pub async fn outcome(job: drivedeck_bus::JobHandle) -> JobState {
    tokio::time::timeout(Duration::from_secs(10), job.outcome())
        .await
        .expect("the job ended within 10 s")
}

/// Submits `command` (it must be accepted) and waits for its end, at most 10 s.
pub async fn run(engine: &Engine, command: Command) -> JobState {
    let job = engine.submit(command.clone()).expect("accepted");
    tokio::time::timeout(Duration::from_secs(10), job.outcome())
        .await
        .unwrap_or_else(|_| panic!("{command:?} ended within 10 s"))
}

/// Arms, then enables: the two steps the UI asks the user for.
pub async fn enable(engine: &Engine, drive: DriveRef) -> JobState {
    assert_eq!(run(engine, Command::Arm { drive }).await, JobState::Done);
    run(engine, Command::Enable { drive }).await
}

/// Waits (at most 8 s) until the drive's stored state satisfies `pred`.
pub async fn wait_for_drive(
    engine: &Engine,
    drive: DriveRef,
    what: &str,
    pred: impl Fn(&DriveRow) -> bool,
) -> DriveRow {
    let reader = engine.reader().expect("reader");
    let mut last = None;
    for _ in 0..400 {
        if let Some(row) = reader
            .drives(engine.session())
            .expect("drives")
            .into_iter()
            .find(|r| r.drive == drive)
        {
            if pred(&row) {
                return row;
            }
            last = Some(row);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{drive} never reached: {what}; last seen {last:?}");
}

/// Polls `done` every `every` until it holds, failing with `what` once `bound` has passed
/// (a bug shows as a failure, not a hung run). Returns how long it took.
pub async fn wait_until(
    what: &str,
    bound: Duration,
    every: Duration,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let since = std::time::Instant::now();
    while !done() {
        assert!(since.elapsed() < bound, "{what} (waited {bound:?})");
        tokio::time::sleep(every).await;
    }
    since.elapsed()
}

/// The state of `drive` the store holds now (after a flush), if it holds one.
pub fn stored_status(engine: &Engine, drive: DriveRef) -> Option<drivedeck_domain::DriveStatus> {
    engine.flush().expect("flush");
    engine
        .reader()
        .expect("reader")
        .drives(engine.session())
        .expect("drives")
        .into_iter()
        .find(|d| d.drive == drive)
        .and_then(|d| d.status)
}

/// What `f` reads from simulated drive `id` of link 1 (the far side of the wire).
pub fn with_sim_drive<R>(engine: &Engine, id: u8, f: impl FnOnce(&SimDrive) -> R) -> R {
    engine
        .inspect_sim(1, |drives| {
            f(drives
                .iter()
                .find(|d| d.id() == id)
                .expect("simulated drive"))
        })
        .expect("a simulated link")
}

/// The raw value of entry `name` in simulated drive `id` of link 1.
pub fn sim_raw(engine: &Engine, id: u8, name: &str) -> i64 {
    with_sim_drive(engine, id, |d| d.raw_named(name).expect("entry"))
}

/// The instruction packets the simulator of link 1 heard, oldest first.
pub fn heard(engine: &Engine) -> Vec<HeardPacket> {
    engine
        .with_sim_rig(1, |rig| rig.counters().instructions())
        .expect("a simulated link")
}

/// Write instructions heard on link 1: Write (0x03) and Sync Write (0x83) in DYNAMIXEL
/// 1.0, 2.0 and Feetech; Modbus functions 06 and 16.
pub fn writes_heard(engine: &Engine, protocol: Protocol) -> usize {
    heard(engine)
        .iter()
        .filter(|p| match protocol {
            Protocol::ModbusRtu => p.instruction == 0x06 || p.instruction == 0x10,
            _ => p.instruction == 0x03 || p.instruction == 0x83,
        })
        .count()
}

/// Queues `count` position moves of `drive` (cycling through 0–5 rad) without waiting.
pub fn queue_moves(engine: &Engine, drive: DriveRef, count: u32) -> Vec<drivedeck_bus::JobHandle> {
    (0..count)
        .map(|i| {
            let target = drivedeck_domain::Target::Position(f64::from(i % 6));
            engine
                .submit(Command::SetTarget { drive, target })
                .expect("queued")
        })
        .collect()
}

/// The journal's newest 100 jobs, newest first, once everything reported is committed.
pub fn journal(engine: &Engine) -> Vec<drivedeck_store::JobRow> {
    engine.flush().expect("flush");
    engine
        .reader()
        .expect("reader")
        .jobs(&drivedeck_store::JobFilter {
            limit: 100,
            ..drivedeck_store::JobFilter::default()
        })
        .expect("jobs")
}
