//! Shared test vocabulary: a drive, samples, a store with a session.

use drivedeck_domain::{DriveRef, Event, TelemetrySample};
use drivedeck_store::{SessionId, Store};

pub const DRIVE: DriveRef = DriveRef { link: 1, id: 3 };
pub const T0: i64 = 1_700_000_000_000_000;

/// A sample of `drive` whose velocity is twice its position and current a tenth.
pub fn sample_of(drive: DriveRef, t_us: i64, position: f64) -> TelemetrySample {
    TelemetrySample {
        drive,
        t_us,
        position,
        velocity: position * 2.0,
        current: position / 10.0,
    }
}

pub fn sample(t_us: i64, position: f64) -> TelemetrySample {
    sample_of(DRIVE, t_us, position)
}

/// A store in a fresh folder with one session started at `T0`.
pub fn store_with_session(name: &str) -> (tempfile::TempDir, Store, SessionId) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join(format!("{name}.db"))).expect("open");
    let session = store.writer().start_session(name, "", T0).expect("session");
    (dir, store, session)
}

/// Sends `n` samples of `DRIVE`, 1 ms apart from `T0`, position = index, in batches.
pub fn ramp(store: &Store, n: usize, batch: usize) {
    let writer = store.writer();
    let mut i = 0;
    while i < n {
        let samples = (i..(i + batch).min(n))
            .map(|k| sample(T0 + k as i64 * 1000, k as f64))
            .collect();
        writer.apply(Event::Samples { samples });
        i += batch;
    }
    writer.flush().expect("flush");
}

/// The position channel's ID.
pub fn position_channel(store: &Store, session: SessionId) -> i64 {
    store
        .reader()
        .expect("reader")
        .channels(session)
        .expect("channels")[0]
        .id
}
