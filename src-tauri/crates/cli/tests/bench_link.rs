//! `bench link` runs end to end and prints one row per protocol × baud × drive count. The
//! figures themselves are measurements, printed and never asserted.

use std::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_drivedeck-cli");

#[test]
fn bench_link_prints_a_row_per_case_with_the_wire_limit() {
    let out = Command::new(CLI)
        .args([
            "bench",
            "link",
            "--protocols",
            "dynamixel2,feetech",
            "--bauds",
            "1000000",
            "--drives",
            "1,3",
            "--seconds",
            "0.3",
        ])
        .output()
        .expect("run drivedeck-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("dynamixel2") || l.starts_with("feetech"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    // The wire-time limit follows from the frames: a DYNAMIXEL 2.0 Read of 10 bytes is
    // 14 bytes out and 21 back, 350 µs at 1 Mbaud; three drives by Sync Read: 17 + 63.
    assert_eq!(&rows[0][..5], ["dynamixel2", "1", "1000000", "35", "2857"]);
    assert_eq!(&rows[1][..5], ["dynamixel2", "3", "1000000", "80", "1250"]);
    // Something was measured: a positive poll rate.
    for row in &rows {
        let achieved: f64 = row[5].parse().expect("achieved Hz");
        assert!(achieved > 0.0, "{stdout}");
    }
    // Bad arguments are refused.
    let out = Command::new(CLI)
        .args(["bench", "link", "--seconds", "0"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seconds"));
}

#[test]
fn bench_tune_rate_reads_no_faster_than_the_wire_and_skips_rates_a_drive_lacks() {
    let out = Command::new(CLI)
        .args([
            "bench",
            "tune-rate",
            "--protocols",
            "dynamixel2,feetech",
            "--bauds",
            "1000000,4500000",
            "--seconds",
            "1",
        ])
        .output()
        .expect("run drivedeck-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |protocol: &str, baud: &str| -> Vec<String> {
        stdout
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|w| w.len() > 2 && w[0] == protocol && w[1] == baud)
            .unwrap_or_else(|| panic!("no {protocol} {baud} row in {stdout}"))
    };
    // An XM430 run reads 16 bytes (Realtime Tick to Present Position): 14 bytes out, 27
    // back and the 500 µs return delay, 1,099 Hz at 1 Mbaud; with a 19-byte Sync Write
    // of the reference every cycle, 909 Hz. The run's limit lies between.
    let xm = row("dynamixel2", "1000000");
    let limit: f64 = xm[2].parse().expect("limit Hz");
    let achieved: f64 = xm[3].parse().expect("achieved Hz");
    assert!((905.0..=1100.0).contains(&limit), "{stdout}");
    // The simulator paces the bytes: no run reads faster than the wire carries them.
    assert!(achieved > 0.0 && achieved <= limit * 1.01, "{stdout}");
    assert!(stdout.contains("bare loop"), "{stdout}");
    // The STS3215 stops at 1 Mbaud.
    assert_eq!(
        row("feetech", "4500000")[2..].join(" "),
        "not a rate its drive has"
    );
}
