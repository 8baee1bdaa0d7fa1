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
