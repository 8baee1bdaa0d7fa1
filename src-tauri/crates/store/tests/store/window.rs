//! Decimated windows: exact when small, min/max per pixel from the right level, always
//! complete (live sessions whose rollups are not sealed yet included).

use crate::common::{T0, position_channel, store_with_session};
use drivedeck_domain::{DriveRef, Event, TelemetrySample};
use drivedeck_store::{SessionId, Store};

/// A sawtooth-and-sine channel whose every min/max per window is easy to compute.
fn value(k: usize) -> f64 {
    ((k % 1000) as f64 - 500.0) + (k as f64 * 0.001).sin() * 100.0
}

fn record(store: &Store, n: usize) {
    let writer = store.writer();
    let drive = DriveRef { link: 1, id: 3 };
    for start in (0..n).step_by(10_000) {
        let samples = (start..(start + 10_000).min(n))
            .map(|k| TelemetrySample {
                drive,
                t_us: T0 + k as i64 * 1000,
                position: value(k),
                velocity: 0.0,
                current: 0.0,
            })
            .collect();
        writer.apply(Event::Samples { samples });
    }
    writer.flush().expect("flush");
}

/// Brute force over the same f32 values.
fn min_max(from: usize, to: usize) -> (f64, f64) {
    (from..to)
        .map(|k| f64::from(value(k) as f32))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

fn check_window(store: &Store, session: SessionId, n: usize, from: usize, to: usize, width: u32) {
    let channel = position_channel(store, session);
    let reader = store.reader().expect("reader");
    let from_s = from as f64 / 1000.0;
    let to_s = (to - 1) as f64 / 1000.0;
    let batch = reader
        .window(session, &[channel], from_s, to_s, width)
        .expect("window");
    let series = &batch.series[0];
    assert!(
        series.t.len() <= 4 * width as usize,
        "{} points for {width} px",
        series.t.len()
    );
    assert!(series.t.windows(2).all(|w| w[0] <= w[1]), "time order");
    let (lo, hi) = series
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    let (want_lo, want_hi) = min_max(from, to.min(n));
    if series.decimated {
        // Edge entries may reach a little outside the window, never inside it short.
        assert!(
            lo <= want_lo && hi >= want_hi,
            "[{lo}, {hi}] vs [{want_lo}, {want_hi}]"
        );
        let outer = min_max(from.saturating_sub(16_384), (to + 16_384).min(n));
        assert!(lo >= outer.0 && hi <= outer.1);
    } else {
        assert_eq!(series.t.len(), to - from, "every sample");
        assert_eq!((lo, hi), (want_lo, want_hi));
        assert_eq!(series.t[0], from_s);
    }
}

#[test]
fn windows_are_exact_when_small_and_min_max_per_pixel_at_every_zoom() {
    let (_dir, store, session) = store_with_session("zoom");
    let n = 300_000;
    record(&store, n);
    // Live (rollups partly unsealed) and after the session stopped (all sealed).
    for stopped in [false, true] {
        check_window(&store, session, n, 1000, 1500, 200); // exact
        check_window(&store, session, n, 1000, 9000, 2000); // exact, 4 per px
        check_window(&store, session, n, 1000, 40_000, 2000); // decimated samples
        check_window(&store, session, n, 5000, 250_000, 2000); // level 1
        check_window(&store, session, n, 0, n, 60); // level 3
        check_window(&store, session, n, 0, n, 15); // level 4
        check_window(&store, session, n, 123_456, n, 1000); // the live edge
        if !stopped {
            store.writer().stop_session(T0 + n as i64 * 1000);
            store.writer().flush().expect("flush");
        }
    }
    let channel = position_channel(&store, session);
    let reader = store.reader().expect("reader");
    let coarse = reader
        .window(session, &[channel], 0.0, n as f64 / 1000.0, 60)
        .expect("window");
    assert_eq!(
        coarse.series[0].level, 3,
        "the coarsest level that fills the pixels"
    );
    let fine = reader
        .window(session, &[channel], 0.0, 100.0, 1000)
        .expect("window");
    assert_eq!(fine.series[0].level, 1);
}

#[test]
fn bad_windows_are_refused() {
    let (_dir, store, session) = store_with_session("bad");
    record(&store, 100);
    let channel = position_channel(&store, session);
    let reader = store.reader().expect("reader");
    for (from, to, width) in [
        (1.0, 1.0, 100),
        (2.0, 1.0, 100),
        (f64::NAN, 1.0, 100),
        (0.0, f64::INFINITY, 100),
        (0.0, 1.0, 0),
        (0.0, 1.0, 1_000_000),
    ] {
        assert!(
            reader.window(session, &[channel], from, to, width).is_err(),
            "[{from}, {to}] at {width} px"
        );
    }
    assert!(
        reader.window(session, &[999], 0.0, 1.0, 10).is_err(),
        "unknown channel"
    );
}
