//! Nothing committed is ever lost: kill -9 mid-write, a full disk, a read-only file.

use crate::common::{DRIVE, T0, ramp, sample, store_with_session};
use drivedeck_domain::{DriveRef, Event, TelemetrySample};
use drivedeck_store::{Store, StoreOptions};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "DRIVEDECK_STORE_KILL_CHILD";
const DRIVES: u8 = 4;

/// The value drive `d` reports at step `k`: exact in f32 for the steps a test reaches.
fn position(d: u8, k: u64) -> f64 {
    k as f64 + f64::from(d) * 0.25
}

/// The child: records as fast as it can, printing the committed cursor as it grows,
/// until it is killed.
fn child(path: &str) -> ! {
    let store = Store::open(path).expect("child open");
    let writer = store.writer();
    writer.start_session("crash", "", T0).expect("session");
    let mut k = 0u64;
    let mut printed = 0;
    loop {
        let samples: Vec<TelemetrySample> = (0..500)
            .flat_map(|i| {
                (1..=DRIVES).map(move |d| TelemetrySample {
                    drive: DriveRef { link: 0, id: d },
                    t_us: T0 + ((k + i) * 1000) as i64,
                    position: position(d, k + i),
                    velocity: -position(d, k + i),
                    current: 0.0,
                })
            })
            .collect();
        k += 500;
        writer.apply(Event::Samples { samples });
        let committed = writer.committed();
        if committed != printed {
            println!("committed {committed}");
            printed = committed;
        }
        // Keep the queue from growing without bound: full rate, not a memory test.
        while writer.committed() + 2_000_000 < (k as i64) * i64::from(DRIVES) * 3 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

#[test]
fn kill_9_at_full_logging_rate_loses_no_committed_sample() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
    }
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("crash.db");
    let mut process = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "durability::kill_9_at_full_logging_rate_loses_no_committed_sample",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the recording child");
    let stdout = process.stdout.take().expect("stdout");
    let mut last = 0i64;
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("committed ") {
            last = n.parse().expect("a number");
        }
        // Well past the first sealed chunks and rollup rows, mid-stream.
        if last >= 300_000 || Instant::now() > deadline {
            break;
        }
    }
    process.kill().expect("kill -9"); // SIGKILL: no destructor, no final commit
    process.wait().expect("reaped");
    assert!(
        last >= 300_000,
        "the child recorded only {last} samples in 60 s"
    );

    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(check, "ok");
    drop(conn);
    let store = Store::open(&path).expect("reopen repairs");
    let on_disk = store.writer().committed();
    assert!(on_disk >= last, "{on_disk} on disk < {last} published");
    let reader = store.reader().expect("reader");
    let session = reader.sessions(None).expect("sessions")[0].clone();
    assert!(
        session.stopped_us.is_some(),
        "the crashed session was closed"
    );
    for channel in reader.channels(session.id).expect("channels") {
        let samples = reader.channel_samples(channel.id).expect("samples");
        assert_eq!(samples.len() as i64, channel.samples);
        let d = channel.drive.id;
        for (k, (t, v)) in samples.iter().enumerate() {
            let want = match channel.name.as_str() {
                "position" => position(d, k as u64),
                "velocity" => -position(d, k as u64),
                _ => 0.0,
            };
            assert_eq!(
                (*t, *v),
                (T0 + k as i64 * 1000, want),
                "{} #{k}",
                channel.name
            );
        }
    }
    // The repaired rollups serve a whole-session window that matches the samples.
    let channels = reader.channels(session.id).expect("channels");
    let window = reader
        .window(session.id, &[channels[0].id], 0.0, 1e6, 100)
        .expect("window");
    let max = window.series[0]
        .values
        .iter()
        .cloned()
        .fold(f64::MIN, f64::max);
    assert_eq!(
        max,
        position(channels[0].drive.id, channels[0].samples as u64 - 1)
    );
}

#[test]
fn a_full_disk_stops_recording_cleanly_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("full.db");
    let store = Store::open_with(
        &path,
        StoreOptions {
            max_bytes: Some(256 * 1024),
        },
    )
    .expect("open");
    let writer = store.writer();
    let session = writer.start_session("small disk", "", T0).expect("session");
    writer.apply(Event::Samples {
        samples: (0..100).map(|k| sample(T0 + k * 1000, k as f64)).collect(),
    });
    writer.flush().expect("the first batch fits");
    let committed = writer.committed();
    assert_eq!(committed, 300);
    // Far more than 256 KiB of samples.
    let mut k = 100i64;
    let mut failed = None;
    for _ in 0..400 {
        writer.apply(Event::Samples {
            samples: (k..k + 1000)
                .map(|k| TelemetrySample {
                    drive: DRIVE,
                    t_us: T0 + k * 1000,
                    // Incompressible values.
                    position: (k as f64 * 12.9898).sin() * 43758.5453,
                    velocity: (k as f64 * 78.233).cos() * 1e5,
                    current: k as f64,
                })
                .collect(),
        });
        k += 1000;
        if let Err(e) = writer.flush() {
            failed = Some(e.to_string());
            break;
        }
    }
    let failed = failed.expect("the cap was reached");
    assert!(failed.contains("disk is full"), "{failed}");
    assert!(failed.contains("full.db"), "names the file: {failed}");
    assert!(writer.failure().is_some());
    let at_failure = writer.committed();
    // Recording has stopped: later samples are dropped and counted, nothing changes.
    writer.apply(Event::Samples {
        samples: vec![sample(T0 + k * 1000, 1.0)],
    });
    assert!(writer.flush().is_err());
    assert_eq!(writer.committed(), at_failure);
    assert!(writer.dropped() >= 1);
    store.close();
    drop(store);
    // Everything committed before the failure is intact and readable.
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(check, "ok");
    drop(conn);
    let store = Store::open(&path).expect("reopen without the cap");
    assert!(store.writer().committed() >= at_failure);
    let reader = store.reader().expect("reader");
    let channel = reader.channels(session).expect("channels")[0].id;
    let samples = reader.channel_samples(channel).expect("samples");
    assert!(samples.len() as i64 >= at_failure / 3);
    assert_eq!(samples[99], (T0 + 99_000, 99.0));
}

/// Makes a file immutable (even to root) for the life of the guard.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(path: &std::path::Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_database_is_refused_with_a_clear_error_and_left_unchanged() {
    let (dir, store, _session) = store_with_session("ro");
    ramp(&store, 2000, 500);
    store.close();
    drop(store);
    let path = dir.path().join("ro.db");
    let before = std::fs::read(&path).expect("read");
    let Some(_guard) = Immutable::set(&path) else {
        eprintln!("SKIPPED: chattr +i is not available on this file system");
        return;
    };
    let err = Store::open(&path).err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("read-only") && text.contains("ro.db"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), before, "unchanged");
    // Reading still works.
    let reader = drivedeck_store::Reader::open(&path).expect("a reader");
    assert_eq!(reader.sessions(None).expect("sessions")[0].samples, 6000);
}
