//! `log` then `export`, as a user runs them: a simulator child on a real pty, a headless
//! recording into a real database, and the exports read back.

mod common;

use common::{Sim, cli, text};
use std::path::Path;

#[test]
fn log_records_a_session_that_export_turns_into_csv_png_and_svg() {
    let sim = Sim::start("dynamixel2", "1,2");
    let port = sim.port.clone();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("bench.db");
    let db_s = db.to_str().expect("utf-8 path");
    let out = cli(&[
        "log",
        "--port",
        &port,
        "--ids",
        "1,2",
        "--baud",
        "1000000",
        "--rate-hz",
        "100",
        "--duration",
        "2s",
        "--db",
        db_s,
        "--session",
        "bench run",
    ]);
    drop(sim);
    assert!(out.status.success(), "log failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("session: #") && stdout.contains("\"bench run\""),
        "{stdout}"
    );
    let samples: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("samples: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no sample count in {stdout}"));
    // 2 drives × 3 channels at 100 Hz for 2 s: about 1200; allow start-up and slack.
    assert!((600..=1500).contains(&samples), "{samples} samples");

    let csv = dir.path().join("run.csv");
    let out = cli(&[
        "export",
        "--db",
        db_s,
        "--session",
        "bench run",
        "--csv",
        csv.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "export failed: {}", text(&out.stderr));
    let body = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some(
            "time_s,link1.drive1 position [rad],link1.drive1 velocity [rad/s],link1.drive1 current [A],\
             link1.drive2 position [rad],link1.drive2 velocity [rad/s],link1.drive2 current [A]"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(
        rows.len() as u64 >= samples / 6,
        "{} rows for {samples} samples",
        rows.len()
    );
    let mut last = -1.0;
    for row in &rows {
        assert_eq!(row.len(), 7);
        let t: f64 = row[0].parse().expect("time_s is a number");
        assert!(t >= last, "time goes forward");
        last = t;
        for cell in &row[1..] {
            assert!(cell.is_empty() || cell.parse::<f64>().is_ok(), "{cell:?}");
        }
    }
    assert!(
        last > 1.0 && last < 4.0,
        "the recording spans about 2 s, ends at {last}"
    );

    // A zoomed range, one channel of one drive, and the charts.
    let out = cli(&[
        "export",
        "--db",
        db_s,
        "--session",
        "bench run",
        "--from",
        "0.5",
        "--to",
        "1.0",
        "--channels",
        "2:velocity",
        "--csv",
        "-",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let part = text(&out.stdout);
    assert!(
        part.starts_with("time_s,link1.drive2 velocity [rad/s]\r\n"),
        "{part}"
    );
    for line in part.lines().skip(1) {
        let t: f64 = line
            .split(',')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("t");
        assert!((0.5..=1.0).contains(&t), "{t} outside the range");
    }
    // The same range in rpm: the header says so, each value the rad/s one × 60/2π.
    let out = cli(&[
        "export",
        "--db",
        db_s,
        "--session",
        "bench run",
        "--from",
        "0.5",
        "--to",
        "1.0",
        "--channels",
        "2:velocity",
        "--csv",
        "-",
        "--units",
        "degrees",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rpm = text(&out.stdout);
    assert!(
        rpm.starts_with("time_s,link1.drive2 velocity [rpm]\r\n"),
        "{rpm}"
    );
    let value = |line: &str| -> f64 {
        line.split(',')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("a value")
    };
    for (si, rpm) in part.lines().zip(rpm.lines()).skip(1) {
        let expected = value(si) * 60.0 / std::f64::consts::TAU;
        // Both written to the store's f32 precision.
        assert!(
            (value(rpm) - expected).abs() <= 1e-6 * expected.abs().max(1.0),
            "{si} → {rpm}"
        );
    }
    let out = cli(&[
        "export",
        "--db",
        db_s,
        "--session",
        "bench run",
        "--csv",
        "-",
        "--units",
        "furlongs",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("furlongs"),
        "{}",
        text(&out.stderr)
    );
    for ext in ["png", "svg"] {
        let path = dir.path().join(format!("run.{ext}"));
        let out = cli(&[
            "export",
            "--db",
            db_s,
            "--session",
            "bench run",
            &format!("--{ext}"),
            path.to_str().expect("path"),
            "--size",
            "800x600",
        ]);
        assert!(out.status.success(), "{ext}: {}", text(&out.stderr));
        assert!(std::fs::metadata(&path).expect("chart").len() > 1000);
    }
}

#[test]
fn bad_export_and_log_arguments_are_refused_and_create_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("empty.db");
    let db_s = db.to_str().expect("path");
    let out_csv = dir.path().join("x.csv");
    let out_s = out_csv.to_str().expect("path");
    // No database there: refused without creating one.
    let out = cli(&["export", "--db", db_s, "--session", "x", "--csv", out_s]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no such database"),
        "{}",
        text(&out.stderr)
    );
    assert!(!Path::new(db_s).exists() && !out_csv.exists());

    // A real database with a session; then bad sessions, channels, ranges, formats.
    drivedeck_store::Store::open(&db)
        .expect("store")
        .writer()
        .start_session("real", "", 0)
        .expect("session");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--session", "nope", "--csv", out_s],
            "recent sessions: #1 \"real\"",
        ),
        (&["--session", "#x", "--csv", out_s], "not a session ID"),
        (
            &["--session", "real", "--csv", out_s],
            "no recorded samples",
        ),
        (
            &["--session", "real", "--csv", out_s, "--channels", "torque"],
            "no channel \"torque\"",
        ),
        (&["--session", "real"], "required"),
        (
            &["--session", "real", "--png", out_s, "--size", "5x5"],
            "between 100 and 8000",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["export", "--db", db_s];
        all.extend_from_slice(args);
        let out = cli(&all);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!out_csv.exists(), "{args:?} left a file");
    }
    let log_cases: &[(&[&str], &str)] = &[
        (
            &["--ids", "1", "--duration", "1s", "--rate-hz", "0"],
            "--rate-hz",
        ),
        (&["--ids", "1,1", "--duration", "1s"], "twice"),
        (&["--ids", "1", "--duration", "soon"], "duration"),
        (
            &[
                "--ids",
                "248",
                "--duration",
                "1s",
                "--protocol",
                "modbus-rtu",
            ],
            "not a modbus-rtu drive address",
        ),
    ];
    let log_db = dir.path().join("log.db");
    for (args, needle) in log_cases {
        let mut all = vec![
            "log",
            "--port",
            "/dev/null",
            "--db",
            log_db.to_str().expect("p"),
        ];
        all.extend_from_slice(args);
        let out = cli(&all);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!log_db.exists(), "{args:?} created the database");
    }
}
