//! The simulated rig: drives on one multi-drop bus, behind a pseudo-terminal.
//!
//! [`SimRig::spawn`] opens a pty pair, puts the slave side in raw mode and hands out its
//! path (`/dev/pts/N`), which the serialport crate opens exactly like a USB adapter. A
//! thread owns the master side: it advances the physics to the present on its own clock
//! (fixed 250 µs steps), lets the protocol's [`Responder`] decode instruction frames and
//! answer them from the drives' tables, and writes the status packets back after the
//! drives' return delays. Dropping the rig (or [`SimRig::stop`]) ends the thread and
//! closes the port.
//!
//! [`RigOptions`] add what a pty lacks and what a bad day brings:
//! - pacing (`pace`, `baud`): bytes take their wire time ([`crate::wire`]; 10 bits a byte,
//!   11 for Modbus RTU); a frame is acted on only when its last byte could have arrived,
//!   and replies are delivered no faster than the baud rate allows;
//! - for protocols delimited by silence (Modbus RTU), the end of a frame that its bytes
//!   alone do not settle comes when the line has been quiet for the protocol's gap (t3.5,
//!   counted from the last byte's arrival);
//! - `reply_delay`: how long a Modbus drive works on a request before it answers (after
//!   t3.5); the other protocols take it from the drive's Return Delay Time entry;
//! - line faults ([`LineFaults`]: noise, dropped bytes, extra delay), seeded, changeable
//!   while running with [`SimRig::set_line_faults`];
//! - a port that vanishes after a while (`vanish_after`), as well as on demand
//!   ([`SimRig::vanish`]), and drives that go mute or deaf ([`SimRig::set_muted`],
//!   [`SimRig::set_deaf`]).

use crate::drive::SimDrive;
use crate::motor::Resonance;
use crate::responder::{self, HeardPacket};
use crate::wire::{Line, LineFaults, WireTiming};
use drivedeck_proto::profile::{Profile, Protocol};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Physics step: fine enough for the drive loops, cheap enough for a dozen drives.
const STEP: Duration = Duration::from_micros(250);

/// Highest ID a drive may have on any of the simulated buses (252: DYNAMIXEL 2.0's last
/// unicast ID; 253 and above are reserved or broadcast somewhere). Modbus RTU allows
/// fewer: see [`id_range`].
pub const MAX_ID: u8 = 252;

/// The IDs a drive speaking `protocol` may have: 1..=247 on Modbus RTU (0 is the
/// broadcast, 248–255 are reserved), 0..=[`MAX_ID`] elsewhere.
pub fn id_range(protocol: Protocol) -> std::ops::RangeInclusive<u8> {
    match protocol {
        Protocol::ModbusRtu => 1..=drivedeck_proto::modbus::MAX_SLAVE,
        _ => 0..=MAX_ID,
    }
}

/// What went wrong starting a rig.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// The operating system refused a pseudo-terminal.
    #[error("could not open a pseudo-terminal: {0}")]
    Pty(#[from] nix::Error),
    /// The profile speaks a protocol the simulator cannot answer yet.
    #[error("the simulator does not speak {0:?} yet")]
    Protocol(Protocol),
    /// No drives, or an ID used twice, or a reserved/broadcast ID.
    #[error("bad drive IDs: {0}")]
    Ids(String),
    /// An option out of range (a probability outside [0, 1], a zero baud rate …).
    #[error("bad simulator option: {0}")]
    Options(String),
    /// The device thread could not start.
    #[error("could not start the simulator thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// How the rig behaves beyond answering: wire timing, faults, seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RigOptions {
    /// Baud rate of the simulated line (used for pacing).
    pub baud: u32,
    /// Deliver bytes no faster than `baud` allows, and wait for frames to arrive.
    pub pace: bool,
    /// Line faults from the start.
    pub faults: LineFaults,
    /// Seed for the line faults and the drives' measurement noise.
    pub seed: u64,
    /// The port vanishes (the device thread ends, the pty closes) after this long.
    pub vanish_after: Option<Duration>,
    /// Modbus RTU: the drives' processing time before they answer, counted after the
    /// t3.5 silence that ends the request; `None`:
    /// [`crate::responder::modbus::DEFAULT_PROCESSING`]. Other protocols take their
    /// return delay from the drive's table and ignore this.
    pub reply_delay: Option<Duration>,
    /// A resonant load coupled to every drive's output (off: `None`).
    pub load_resonance: Option<Resonance>,
    /// Modbus RTU: a gateway in front of the bus answers a request to a unit that no
    /// drive has with this exception code (0x0B, 0x04, …) instead of staying silent.
    pub gateway_exception: Option<u8>,
}

impl Default for RigOptions {
    fn default() -> RigOptions {
        RigOptions {
            baud: 1_000_000,
            pace: false,
            faults: LineFaults::default(),
            seed: 0,
            vanish_after: None,
            reply_delay: None,
            load_resonance: None,
            gateway_exception: None,
        }
    }
}

impl RigOptions {
    /// Checks every option; the error says which and why.
    pub fn validate(&self) -> Result<(), RigError> {
        if self.baud == 0 {
            return Err(RigError::Options("the baud rate must be positive".into()));
        }
        if self.load_resonance.is_some_and(|r| !r.is_valid()) {
            return Err(RigError::Options(
                "a load resonance needs a positive inertia and frequency and a non-negative \
                 damping ratio"
                    .into(),
            ));
        }
        self.faults.validate().map_err(RigError::Options)
    }

    fn timing(&self, bits_per_char: u32) -> WireTiming {
        if self.pace {
            WireTiming::paced_bits(self.baud, bits_per_char)
        } else {
            WireTiming::unpaced()
        }
    }
}

/// How many instruction packets the rig remembers (oldest dropped first).
pub const INSTRUCTION_LOG: usize = 4096;

/// Counters the device thread keeps, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct RigCounters {
    /// Instruction packets decoded.
    pub packets: AtomicU64,
    /// Corrupt frames dropped.
    pub corrupt: AtomicU64,
    /// Status packets written.
    pub replies: AtomicU64,
    /// Bytes the line fault injection corrupted (both directions).
    pub corrupted_bytes: AtomicU64,
    /// Bytes the line fault injection dropped (both directions).
    pub dropped_bytes: AtomicU64,
    /// The last [`INSTRUCTION_LOG`] instruction packets heard, in order, each with when
    /// its first byte arrived.
    log: Mutex<VecDeque<(Instant, HeardPacket)>>,
    /// When each of the last [`INSTRUCTION_LOG`] status packets finished crossing the
    /// wire (its last byte handed to the pty), in order.
    reply_log: Mutex<VecDeque<Instant>>,
}

impl RigCounters {
    /// The instruction packets heard, oldest first (the last [`INSTRUCTION_LOG`]).
    pub fn instructions(&self) -> Vec<HeardPacket> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, packet)| packet.clone())
            .collect()
    }

    /// The instruction packets heard, oldest first, each with the instant its first
    /// byte arrived (read from the pty when unpaced; its wire arrival when paced) — on
    /// the same monotonic clock as the rest of the process, for latency benchmarks.
    pub fn timed_instructions(&self) -> Vec<(Instant, HeardPacket)> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// When each status packet sent (the last [`INSTRUCTION_LOG`]) finished crossing the
    /// wire, oldest first: with [`RigCounters::timed_instructions`], the bus's timeline
    /// (what the host takes between a reply and its next request).
    pub fn timed_replies(&self) -> Vec<Instant> {
        self.reply_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }

    fn remember_reply(&self, wire_end: Instant) {
        let mut log = self.reply_log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == INSTRUCTION_LOG {
            log.pop_front();
        }
        log.push_back(wire_end);
    }

    fn remember(&self, packet: &HeardPacket, first_byte: Instant) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == INSTRUCTION_LOG {
            log.pop_front();
        }
        log.push_back((first_byte, packet.clone()));
    }
}

/// A running simulated bus. See the module docs.
pub struct SimRig {
    path: PathBuf,
    protocol: Protocol,
    stop: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    deaf: Arc<AtomicBool>,
    line: Arc<Mutex<Line>>,
    thread: Option<JoinHandle<()>>,
    drives: Arc<Mutex<Vec<SimDrive>>>,
    counters: Arc<RigCounters>,
}

/// Checks a bus's IDs for `protocol`: at least one, none repeated, all within
/// [`id_range`].
pub fn check_ids(protocol: Protocol, ids: &[u8]) -> Result<(), RigError> {
    if ids.is_empty() {
        return Err(RigError::Ids("no drive IDs given".into()));
    }
    let range = id_range(protocol);
    let mut seen = std::collections::BTreeSet::new();
    for &id in ids {
        if !range.contains(&id) {
            return Err(RigError::Ids(format!(
                "ID {id} is reserved or broadcast (drive IDs are {}..={} on {protocol:?})",
                range.start(),
                range.end()
            )));
        }
        if !seen.insert(id) {
            return Err(RigError::Ids(format!("ID {id} is given twice")));
        }
    }
    Ok(())
}

impl SimRig {
    /// Starts drives with `ids`, all of model `profile`, on a new pseudo-terminal, unpaced
    /// and without faults.
    pub fn spawn(profile: &Profile, ids: &[u8]) -> Result<SimRig, RigError> {
        SimRig::spawn_with(profile, ids, RigOptions::default())
    }

    /// Like [`SimRig::spawn`], with `options`.
    pub fn spawn_with(
        profile: &Profile,
        ids: &[u8],
        options: RigOptions,
    ) -> Result<SimRig, RigError> {
        let responder = responder::for_protocol(profile.protocol, &options)
            .ok_or(RigError::Protocol(profile.protocol))?;
        check_ids(profile.protocol, ids)?;
        options.validate()?;
        let pty = openpty(None, None)?;
        let path = nix::unistd::ttyname(pty.slave.as_fd())?;
        let mut termios = tcgetattr(pty.slave.as_fd())?;
        cfmakeraw(&mut termios);
        tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &termios)?;

        let drives = Arc::new(Mutex::new(
            ids.iter()
                .map(|&id| {
                    // Each drive's noise has its own stream: adding a drive changes no
                    // other drive's readings.
                    let seed = options.seed ^ (u64::from(id) << 32 | 0x5eed);
                    let mut drive = SimDrive::with_seed(profile.clone(), id, seed);
                    drive.set_load_resonance(options.load_resonance);
                    crate::line_rate::configure(&mut drive, options.baud);
                    drive
                })
                .collect::<Vec<_>>(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let muted = Arc::new(AtomicBool::new(false));
        let deaf = Arc::new(AtomicBool::new(false));
        let line = Arc::new(Mutex::new(Line::new(options.faults, options.seed)));
        let counters = Arc::new(RigCounters::default());
        let device = Device {
            master: File::from(pty.master),
            _slave: pty.slave,
            timing: options.timing(responder.bits_per_char()),
            frame_gap: responder.frame_gap(),
            responder,
            vanish_after: options.vanish_after,
            drives: Arc::clone(&drives),
            stop: Arc::clone(&stop),
            muted: Arc::clone(&muted),
            deaf: Arc::clone(&deaf),
            line: Arc::clone(&line),
            counters: Arc::clone(&counters),
        };
        let thread = std::thread::Builder::new()
            .name(format!("sim {}", path.display()))
            .spawn(move || device.run())?;
        Ok(SimRig {
            path,
            protocol: profile.protocol,
            stop,
            muted,
            deaf,
            line,
            thread: Some(thread),
            drives,
            counters,
        })
    }

    /// The serial device path to open (`/dev/pts/N`).
    pub fn port(&self) -> &Path {
        &self.path
    }

    /// The protocol the drives speak.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Runs `f` on the drives (paused physics while it runs): for tests and fault injection.
    pub fn with_drives<R>(&self, f: impl FnOnce(&mut [SimDrive]) -> R) -> R {
        let mut drives = self.drives.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut drives)
    }

    /// The device thread's counters.
    pub fn counters(&self) -> &RigCounters {
        &self.counters
    }

    /// True while the port is served (false once it vanished or the rig stopped).
    pub fn is_serving(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Fault injection: while muted the drives hear instructions (and act on writes to
    /// nobody) but never answer, as when a cable breaks on the drives' side.
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::SeqCst);
    }

    /// Fault injection: while deaf no byte reaches the drives (the host's side of the
    /// cable is broken): they neither act nor answer, and their watchdogs run out.
    pub fn set_deaf(&self, deaf: bool) {
        self.deaf.store(deaf, Ordering::SeqCst);
    }

    /// Fault injection: noise, dropped bytes and extra reply delay from now on (the seeded
    /// generator carries on). Refused, changing nothing, if a probability is out of range.
    pub fn set_line_faults(&self, faults: LineFaults) -> Result<(), RigError> {
        faults.validate().map_err(RigError::Options)?;
        self.line
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_faults(faults);
        Ok(())
    }

    /// The line faults in force.
    pub fn line_faults(&self) -> LineFaults {
        self.line.lock().unwrap_or_else(|e| e.into_inner()).faults()
    }

    /// Fault injection: the port vanishes (a USB adapter pulled out): the device thread
    /// ends and the pty closes; the drives keep no state a reconnect could reach.
    pub fn vanish(&mut self) {
        self.shutdown();
    }

    /// Stops the device thread and closes the port.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SimRig {
    fn drop(&mut self) {
        self.shutdown();
    }
}

mod device;
use device::Device;
#[cfg(test)]
mod tests;
