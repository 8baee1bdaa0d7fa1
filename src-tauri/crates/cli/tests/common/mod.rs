//! What the CLI's tests share: running `drivedeck-cli` and a `sim` child on a pty.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub const CLI: &str = env!("CARGO_BIN_EXE_drivedeck-cli");

/// Runs `drivedeck-cli` with `args` to its end.
pub fn cli(args: &[&str]) -> Output {
    Command::new(CLI)
        .args(args)
        .output()
        .expect("run drivedeck-cli")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `drivedeck-cli sim` child and the pty it serves; its stdout is drained by a thread
/// so the simulator never meets a closed pipe. Stopped (stdin closed) on drop.
pub struct Sim {
    child: Child,
    /// The pty the simulated drives answer on.
    pub port: String,
}

impl Sim {
    /// Starts drives `ids` (comma-separated) speaking `protocol`.
    pub fn start(protocol: &str, ids: &str) -> Sim {
        Sim::start_with(protocol, ids, &[])
    }

    /// [`Sim::start`] with more `sim` arguments (`--baud 57600`, …).
    pub fn start_with(protocol: &str, ids: &str, more: &[&str]) -> Sim {
        let mut child = Command::new(CLI)
            .args([
                "sim",
                "--protocol",
                protocol,
                "--ids",
                ids,
                "--until-stdin-closes",
            ])
            .args(more)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the simulator");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut first).expect("first line");
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let port = first
            .trim()
            .strip_prefix("port: ")
            .unwrap_or_else(|| panic!("first line is {first:?}"))
            .to_string();
        Sim { child, port }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
