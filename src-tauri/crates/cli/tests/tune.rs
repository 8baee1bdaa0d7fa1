//! `drivedeck-cli tune` as a user runs it, against a `drivedeck-cli sim` child on a pty:
//! a step and a chirp on a simulated XM430 enabled for the test (and disabled after),
//! one JSON object each with the run, its rate and its results; `tune analyze` on the
//! stored run gives the same metrics, `tune identify` the drive's inertia, `tune suggest`
//! and `tune predict` gains and their prediction, `tune compare` the runs side by side; a disabled drive without `--enable` and a test
//! beyond its limits are refused, and nothing is kept.

mod common;

use common::{Sim, cli, text};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "tune failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

#[test]
fn a_step_and_a_chirp_on_a_simulated_drive_print_their_results() {
    let sim = Sim::start("dynamixel2", "1");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tune.db");
    let db = db.to_str().expect("utf-8 path");
    let base = [
        "--port",
        &sim.port,
        "--protocol",
        "dynamixel2",
        "--ids",
        "1",
        "--baud",
        "1000000",
        "--db",
        db,
    ];

    let step = json(&cli(&[
        &["tune", "step"][..],
        &base,
        &[
            "--enable",
            "--size",
            "0.2",
            "--hold",
            "0.8",
            "--repeats",
            "1",
            "--json",
        ],
    ]
    .concat()));
    assert_eq!(step["state"], "completed", "{step}");
    assert_eq!(step["test"], "step");
    let m = &step["metrics"];
    let rise = m["rise_time_s"].as_f64().expect("a rise time");
    assert!(rise > 0.005 && rise < 0.5, "rise {rise} s");
    assert!(m["overshoot_pct"].as_f64().is_some());
    assert!(m["settling_time_s"].as_f64().is_some(), "{m}");
    let rate = step["achieved_rate_hz"].as_f64().expect("a rate");
    assert!(rate > 50.0, "{rate} Hz");
    assert!(
        step["gains"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g[0] == "Position P Gain"))
    );

    // The stored run, analysed again, gives the same metrics.
    let run = step["run"].as_i64().expect("run id").to_string();
    let again = json(&cli(&[
        "tune", "analyze", "--db", db, "--run", &run, "--json",
    ]));
    assert_eq!(again["metrics"], step["metrics"]);

    let chirp = json(&cli(&[
        &["tune", "chirp"][..],
        &base,
        &[
            "--enable",
            "--start-at",
            "3",
            "--start-hz",
            "1",
            "--end-hz",
            "8",
            "--amplitude",
            "0.05",
            "--duration",
            "4",
            "--json",
        ],
    ]
    .concat()));
    assert_eq!(chirp["state"], "completed", "{chirp}");
    let frf = &chirp["frf"];
    let n = frf["freq_hz"].as_array().expect("frequencies").len();
    assert!(n > 10, "{n} points");
    for key in ["magnitude_db", "phase_deg", "coherence"] {
        assert_eq!(frf[key].as_array().map(Vec::len), Some(n), "{key}");
    }
    assert!(
        chirp["metrics"]["bandwidth_hz"].is_number() || chirp["metrics"]["bandwidth_hz"].is_null()
    );

    // The chirp's mechanics: the simulated XM430's 0.012 kg·m² at the output (its
    // profile's figure), found from the run within the tolerance of a 4 s chirp.
    let run = chirp["run"].as_i64().expect("run id").to_string();
    let model = json(&cli(&[
        "tune", "identify", "--db", db, "--run", &run, "--json",
    ]));
    let j = model["physical"]["inertia"]["value"]
        .as_f64()
        .expect("an inertia");
    assert!((j / 0.012 - 1.0).abs() < 0.2, "{model}");
    assert!(
        model["model"]["gain"]["ci95"]
            .as_f64()
            .is_some_and(|ci| ci > 0.0)
    );
    assert!(
        model["model"]["fit_pct"].as_f64().is_some_and(|f| f > 50.0),
        "{model}"
    );
    let readable = cli(&["tune", "identify", "--db", db, "--run", &run]);
    assert!(
        text(&readable.stdout).contains("J = "),
        "{}",
        text(&readable.stdout)
    );

    // Gains for a 10 Hz loop on the chirp's model: register counts and physical units,
    // the prediction, and nothing written (the suggestion says how to apply them).
    let suggestion = json(&cli(&[
        "tune",
        "suggest",
        "--db",
        db,
        "--run",
        &run,
        "--target-bandwidth-hz",
        "10",
        "--json",
    ]));
    let predicted = suggestion["predicted"]["bandwidth_hz"]
        .as_f64()
        .expect("a predicted bandwidth");
    assert!((predicted / 10.0 - 1.0).abs() < 0.05, "{suggestion}");
    let p = suggestion["gains"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == "Position P Gain"))
        .expect("P")
        .clone();
    assert!(p["counts"].as_f64().is_some_and(|c| c > 800.0), "{p}");
    assert_eq!(p["in_run"].as_f64(), Some(800.0), "{p}");
    assert_eq!(p["physical_unit"], "N·m/rad");
    assert!(
        suggestion["rule"]
            .as_str()
            .is_some_and(|r| r.contains("pole placement"))
    );
    let readable = cli(&[
        "tune",
        "suggest",
        "--db",
        db,
        "--run",
        &run,
        "--target-phase-margin-deg",
        "60",
        "--damping",
        "0.6",
    ]);
    assert!(
        text(&readable.stdout).contains("nothing was written"),
        "{}{}",
        text(&readable.stdout),
        text(&readable.stderr)
    );
    let no_target = cli(&["tune", "suggest", "--db", db, "--run", &run]);
    assert!(!no_target.status.success());
    assert!(
        text(&no_target.stderr).contains("one target"),
        "{}",
        text(&no_target.stderr)
    );
    // The what-if of a stiffer P on the same run: a faster loop predicted.
    let what_if = json(&cli(&[
        "tune",
        "predict",
        "--db",
        db,
        "--run",
        &run,
        "--gain",
        "Position P Gain=2000",
        "--json",
    ]));
    let now = json(&cli(&[
        "tune", "predict", "--db", db, "--run", &run, "--json",
    ]));
    let faster = what_if["predicted"]["bandwidth_hz"].as_f64().expect("bw");
    let slower = now["predicted"]["bandwidth_hz"].as_f64().expect("bw");
    assert!(faster > 1.2 * slower, "{faster} against {slower}");
    assert!(
        now["replay"]["fit_pct"].as_f64().is_some_and(|f| f > 80.0),
        "{now}"
    );
    let bad = cli(&[
        "tune",
        "predict",
        "--db",
        db,
        "--run",
        &run,
        "--gain",
        "Position P Gain=99999",
    ]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("within its range"),
        "{}",
        text(&bad.stderr)
    );

    // The step and the chirp compared, written as a CSV report.
    let step_run = step["run"].as_i64().expect("run id").to_string();
    let runs = format!("{step_run},{run}");
    let compared = json(&cli(&[
        "tune", "compare", "--db", db, "--runs", &runs, "--export", "csv", "--json",
    ]));
    let rows = compared["runs"].as_array().expect("runs");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["step_source"], "measured");
    assert_eq!(rows[1]["bode_source"], "measured");
    let csv =
        std::fs::read_to_string(compared["exported"].as_str().expect("a report")).expect("the CSV");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let once = cli(&["tune", "compare", "--db", db, "--runs", &run]);
    assert!(!once.status.success());
    assert!(
        text(&once.stderr).contains("2 to 12 runs"),
        "{}",
        text(&once.stderr)
    );

    let missing = cli(&["tune", "identify", "--db", db, "--run", "999"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no run 999"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_disabled_drive_and_a_test_beyond_its_limits_are_refused() {
    let sim = Sim::start("dynamixel2", "1");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tune.db");
    let db = db.to_str().expect("utf-8 path");
    let base = [
        "--port",
        &sim.port,
        "--protocol",
        "dynamixel2",
        "--ids",
        "1",
        "--baud",
        "1000000",
        "--db",
        db,
    ];
    let out = cli(&[&["tune", "step"][..], &base, &["--json"]].concat());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not enabled"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(&[
        &["tune", "step"][..],
        &base,
        &["--enable", "--size", "3", "--json"],
    ]
    .concat());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("window"),
        "{}",
        text(&out.stderr)
    );
}
