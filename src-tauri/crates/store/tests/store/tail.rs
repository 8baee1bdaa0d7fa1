//! The live tail: per-channel cursors, across fragments being sealed into chunks.

use crate::common::{T0, position_channel, ramp, sample, store_with_session};
use drivedeck_domain::Event;
use drivedeck_store::TailCursor;
use drivedeck_store::chunk::CHUNK;

#[test]
fn samples_are_tailed_by_cursor_in_order_and_nothing_is_seen_twice() {
    let (_dir, store, session) = store_with_session("tail");
    let writer = store.writer();
    let reader = store.reader().expect("reader");
    let mut cursor = TailCursor::new();
    let mut seen: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    let total = 3 * CHUNK + 100;
    // Small commits (fragments), read between them, across three seals.
    let mut sent = 0;
    while sent < total {
        let n = (37).min(total - sent);
        let samples = (sent..sent + n)
            .map(|k| sample(T0 + k as i64 * 1000, k as f64))
            .collect();
        writer.apply(Event::Samples { samples });
        writer.flush().expect("flush");
        sent += n;
        let channel = position_channel(&store, session);
        let batch = reader
            .tail(session, &[channel], &cursor, None, 50)
            .expect("tail");
        cursor = batch.cursor();
        seen.extend(&batch.series[0].values);
        times.extend(&batch.series[0].t);
    }
    let channel = position_channel(&store, session);
    loop {
        let batch = reader
            .tail(session, &[channel], &cursor, None, 500)
            .expect("tail");
        if batch.is_empty() {
            break;
        }
        cursor = batch.cursor();
        seen.extend(&batch.series[0].values);
        times.extend(&batch.series[0].t);
    }
    let expected: Vec<f64> = (0..total).map(|k| k as f64).collect();
    assert_eq!(seen, expected);
    assert_eq!(cursor.get(&channel), Some(&(total as u64)));
    // Times are seconds since the session start.
    assert_eq!(&times[..2], &[0.0, 0.001]);
    assert_eq!(
        writer.committed(),
        3 * total as i64,
        "three channels per sample"
    );
}

#[test]
fn a_tail_starts_at_a_time_and_serves_several_channels_within_one_limit() {
    let (_dir, store, session) = store_with_session("since");
    ramp(&store, 5000, 700);
    let reader = store.reader().expect("reader");
    let channels: Vec<i64> = reader
        .channels(session)
        .expect("channels")
        .iter()
        .map(|c| c.id)
        .collect();
    let since = T0 + 4990 * 1000;
    let batch = reader
        .tail(session, &channels, &TailCursor::new(), Some(since), 100)
        .expect("tail");
    assert_eq!(batch.series.len(), 3);
    assert_eq!(
        batch.series[0].values,
        (4990..5000).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(batch.series[1].values[0], 4990.0 * 2.0, "velocity");
    assert_eq!(batch.series[2].values[9], 499.9_f32 as f64, "current, f32");
    // The limit is shared: 12 samples across three channels.
    let batch = reader
        .tail(session, &channels, &TailCursor::new(), None, 12)
        .expect("tail");
    assert_eq!(batch.len(), 12);
    let cursor = batch.cursor();
    assert_eq!(cursor.get(&channels[0]), Some(&12));
    assert_eq!(cursor.get(&channels[1]), Some(&0));
    // A time after the last sample starts at the end.
    assert_eq!(
        reader.cursor_at(channels[0], T0 + 10_000_000).expect("at"),
        5000
    );
}

#[test]
fn a_channel_of_another_session_is_refused() {
    let (_dir, store, first) = store_with_session("one");
    ramp(&store, 10, 10);
    let channel = position_channel(&store, first);
    let second = store
        .writer()
        .start_session("two", "", T0 + 1)
        .expect("session");
    let err = store
        .reader()
        .expect("reader")
        .tail(second, &[channel], &TailCursor::new(), None, 10)
        .expect_err("refused");
    assert!(err.to_string().contains("not recorded in session"), "{err}");
}
