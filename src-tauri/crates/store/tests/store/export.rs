//! Exports: CSV a spreadsheet opens cleanly, PNG and SVG charts with titles, axes,
//! units and a legend.

use crate::common::{T0, sample_of, store_with_session};
use drivedeck_domain::{DriveRef, Event};
use drivedeck_store::export::{
    ChartFormat, ColumnUnit, ExportRange, write_chart, write_csv, write_csv_in,
};

fn two_drives() -> (tempfile::TempDir, drivedeck_store::Store, i64) {
    let (dir, store, session) = store_with_session("export");
    let a = DriveRef { link: 0, id: 1 };
    let b = DriveRef { link: 0, id: 2 };
    let writer = store.writer();
    // Drive 1 every 1 ms, drive 2 every 2 ms (offset by 0.5 ms): rows interleave.
    writer.apply(Event::Samples {
        samples: (0..3000)
            .map(|k| sample_of(a, T0 + k * 1000, k as f64 * 0.001))
            .collect(),
    });
    writer.apply(Event::Samples {
        samples: (0..1500)
            .map(|k| sample_of(b, T0 + 500 + k * 2000, -(k as f64)))
            .collect(),
    });
    writer.flush().expect("flush");
    (dir, store, session)
}

#[test]
fn csv_has_time_s_then_a_column_per_channel_and_one_row_per_time() {
    let (_dir, store, session) = two_drives();
    let reader = store.reader().expect("reader");
    let mut out = Vec::new();
    let range = ExportRange {
        session,
        channels: Vec::new(),
        from_s: None,
        to_s: None,
    };
    let rows = write_csv(&reader, &range, &mut out).expect("csv");
    assert_eq!(rows, 4500, "3000 + 1500 distinct times");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "time_s,link0.drive1 position [rad],link0.drive1 velocity [rad/s],link0.drive1 current [A],\
         link0.drive2 position [rad],link0.drive2 velocity [rad/s],link0.drive2 current [A]"
    );
    assert_eq!(lines[1], "0.000000,0,0,0,,,");
    assert_eq!(lines[2], "0.000500,,,,0,0,0", "no negative zero");
    assert_eq!(lines[3], "0.001000,0.001,0.002,0.0001,,,");
    assert_eq!(lines.last(), Some(&""), "ends with a line break");
    assert!(
        lines
            .iter()
            .all(|l| l.is_empty() || l.split(',').count() == 7)
    );

    // A range and a choice of channels.
    let channels = reader.channels(session).expect("channels");
    let mut out = Vec::new();
    let range = ExportRange {
        session,
        channels: vec![channels[3].id],
        from_s: Some(1.0),
        to_s: Some(1.01),
    };
    let rows = write_csv(&reader, &range, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(rows, 5, "drive 2 at 1.0005, 1.0025, … 1.0085 s");
    assert!(text.starts_with("time_s,link0.drive2 position [rad]\r\n1.000500,-500\r\n"));
}

#[test]
fn csv_in_the_users_units_converts_angles_and_speeds_and_names_them() {
    let (_dir, store, session) = two_drives();
    let reader = store.reader().expect("reader");
    let channels = reader.channels(session).expect("channels");
    let range = ExportRange {
        session,
        channels: vec![channels[0].id, channels[1].id, channels[2].id],
        from_s: Some(1.0),
        to_s: Some(1.0005),
    };
    let degrees = [
        ColumnUnit {
            si_unit: "rad".into(),
            unit: "°".into(),
            per_si: 180.0 / std::f64::consts::PI,
        },
        ColumnUnit {
            si_unit: "rad/s".into(),
            unit: "rpm".into(),
            per_si: 60.0 / std::f64::consts::TAU,
        },
    ];
    let mut out = Vec::new();
    write_csv_in(&reader, &range, &degrees, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "time_s,link0.drive1 position [°],link0.drive1 velocity [rpm],link0.drive1 current [A]"
    );
    // At 1 s drive 1 read 1 rad, 2 rad/s and 0.1 A (sample_of): the current is left as
    // stored, having no converted unit.
    let row: Vec<f64> = lines[1]
        .split(',')
        .map(|v| v.parse().expect("a number"))
        .collect();
    assert_eq!(row[0], 1.0);
    // Written to the store's f32 precision.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs();
    assert!(close(row[1], 1.0f64.to_degrees()), "{row:?}");
    assert!(close(row[2], 2.0 * 60.0 / std::f64::consts::TAU), "{row:?}");
    assert!(close(row[3], 0.1), "{row:?}");
    // No units: SI, as write_csv.
    let (mut si, mut plain) = (Vec::new(), Vec::new());
    write_csv_in(&reader, &range, &[], &mut si).expect("csv");
    write_csv(&reader, &range, &mut plain).expect("csv");
    assert_eq!(si, plain);
}

#[test]
fn bad_export_requests_are_refused() {
    let (_dir, store, session) = two_drives();
    let reader = store.reader().expect("reader");
    let bad = [
        ExportRange {
            session: 99,
            channels: vec![],
            from_s: None,
            to_s: None,
        },
        ExportRange {
            session,
            channels: vec![12345],
            from_s: None,
            to_s: None,
        },
        ExportRange {
            session,
            channels: vec![],
            from_s: Some(2.0),
            to_s: Some(1.0),
        },
        ExportRange {
            session,
            channels: vec![],
            from_s: Some(f64::NAN),
            to_s: None,
        },
    ];
    for range in bad {
        let mut out = Vec::new();
        assert!(write_csv(&reader, &range, &mut out).is_err(), "{range:?}");
        assert!(out.is_empty(), "nothing written for {range:?}");
    }
}

#[test]
fn png_and_svg_charts_have_title_axes_units_and_legend() {
    let (dir, store, session) = two_drives();
    let reader = store.reader().expect("reader");
    let range = ExportRange {
        session,
        channels: Vec::new(),
        from_s: Some(0.5),
        to_s: Some(2.5),
    };
    let svg = dir.path().join("chart.svg");
    write_chart(&reader, &range, ChartFormat::Svg, &svg, (1200, 900)).expect("svg");
    let text = std::fs::read_to_string(&svg).expect("svg text");
    assert!(text.starts_with("<svg"), "an SVG document");
    for needle in [
        "export — 0.500 s to 2.500 s",
        "time (s)",
        // Axis descriptions: the units, each a text element of its own.
        "\nrad\n",
        "\nrad/s\n",
        "\nA\n",
        "link0.drive1 position [rad]",
        "link0.drive2 current [A]",
        "<polyline",
    ] {
        assert!(text.contains(needle), "SVG lacks {needle:?}:\n{text:.3000}");
    }
    let png = dir.path().join("chart.png");
    write_chart(&reader, &range, ChartFormat::Png, &png, (1200, 900)).expect("png");
    let bytes = std::fs::read(&png).expect("png bytes");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian.
    assert_eq!(&bytes[16..24], &[0, 0, 4, 176, 0, 0, 3, 132]);
    // Not a blank image: text and lines make it far larger than a white PNG.
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
}
