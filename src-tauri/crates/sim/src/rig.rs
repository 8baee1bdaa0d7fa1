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
use crate::responder::{self, HeardPacket, Reply, Responder};
use crate::wire::{Line, LineFaults, WireTiming, sleep_until};
use bytes::BytesMut;
use drivedeck_proto::profile::{Profile, Protocol};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll, ppoll};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::sys::time::TimeSpec;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
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

struct Device {
    master: File,
    // Held so the master never sees a hang-up while the app reopens the port.
    _slave: OwnedFd,
    responder: Box<dyn Responder>,
    timing: WireTiming,
    /// The silence that ends a frame, for protocols delimited by silence.
    frame_gap: Option<Duration>,
    vanish_after: Option<Duration>,
    drives: Arc<Mutex<Vec<SimDrive>>>,
    stop: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    deaf: Arc<AtomicBool>,
    line: Arc<Mutex<Line>>,
    counters: Arc<RigCounters>,
}

/// The receiving side's bookkeeping: bytes waiting to be decoded and when each one
/// (really) finished arriving.
struct Inbox {
    buf: BytesMut,
    arrivals: VecDeque<Instant>,
    /// When the wire is free again (the last byte's arrival, when paced).
    wire_free: Instant,
}

impl Device {
    fn run(mut self) {
        let started = Instant::now();
        let mut inbox = Inbox {
            buf: BytesMut::with_capacity(4096),
            arrivals: VecDeque::with_capacity(4096),
            wire_free: started,
        };
        // When the wire is free for the drives' next status packet.
        let mut tx_free = started;
        let mut chunk = [0u8; 4096];
        let mut clock = started;
        while !self.stop.load(Ordering::Relaxed) {
            if self
                .vanish_after
                .is_some_and(|after| started.elapsed() >= after)
            {
                log::info!("simulated port vanishes after {:?}", started.elapsed());
                break;
            }
            let readable = {
                let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(1u8)) {
                    Ok(n) if n > 0 => fds[0]
                        .revents()
                        .is_some_and(|r| r.contains(PollFlags::POLLIN)),
                    Ok(_) => false,
                    Err(nix::Error::EINTR) => false,
                    Err(e) => {
                        log::warn!("simulator poll failed: {e}");
                        break;
                    }
                }
            };
            self.advance(&mut clock);
            if !readable {
                if self.silence_ended_a_frame(&inbox)
                    && self
                        .serve(&mut inbox, &mut tx_free, &mut clock, true)
                        .is_err()
                {
                    return;
                }
                continue;
            }
            let n = match self.master.read(&mut chunk) {
                Ok(0) => continue,
                Ok(_) if self.deaf.load(Ordering::Relaxed) => continue,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("simulator read failed: {e}");
                    break;
                }
            };
            self.receive(&mut inbox, &chunk[..n]);
            if self
                .serve(&mut inbox, &mut tx_free, &mut clock, false)
                .is_err()
            {
                return;
            }
        }
    }

    /// Puts received bytes through the line and stamps each with its arrival: as read
    /// when unpaced; one byte time after the previous one (or after now) when paced.
    fn receive(&self, inbox: &mut Inbox, bytes: &[u8]) {
        let now = Instant::now();
        let carried = self
            .line
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .carry(bytes);
        self.count_faults(carried.corrupted, carried.dropped);
        let start = now.max(inbox.wire_free);
        let byte_time = self.timing.byte_time();
        for (index, byte) in carried.bytes {
            let arrival = match byte_time {
                Some(t) => start + t * (index as u32 + 1),
                None => now,
            };
            inbox.buf.extend_from_slice(&[byte]);
            inbox.arrivals.push_back(arrival);
        }
        if byte_time.is_some() {
            inbox.wire_free = start + self.timing.duration(bytes.len());
        }
    }

    fn count_faults(&self, corrupted: usize, dropped: usize) {
        self.counters
            .corrupted_bytes
            .fetch_add(corrupted as u64, Ordering::Relaxed);
        self.counters
            .dropped_bytes
            .fetch_add(dropped as u64, Ordering::Relaxed);
    }

    /// True when bytes wait in the inbox and the line has been quiet for the protocol's
    /// frame gap since the last of them arrived.
    fn silence_ended_a_frame(&self, inbox: &Inbox) -> bool {
        match (self.frame_gap, inbox.arrivals.back()) {
            (Some(gap), Some(&last)) => Instant::now() >= last + gap,
            _ => false,
        }
    }

    /// Decodes and answers every complete frame in the inbox; `after_silence`: the line has
    /// been quiet for the frame gap, so whatever is left cannot complete.
    fn serve(
        &mut self,
        inbox: &mut Inbox,
        tx_free: &mut Instant,
        clock: &mut Instant,
        after_silence: bool,
    ) -> std::io::Result<()> {
        loop {
            let before = inbox.buf.len();
            let decoded = if after_silence {
                self.responder.decode_after_silence(&mut inbox.buf)
            } else {
                self.responder.decode(&mut inbox.buf)
            };
            let consumed = before - inbox.buf.len();
            // The frame is complete when its last byte has arrived.
            let mut complete = None;
            let mut first = None;
            for _ in 0..consumed {
                let arrival = inbox.arrivals.pop_front();
                first = first.or(arrival);
                complete = arrival.or(complete);
            }
            let replies = match decoded {
                Ok(None) => return Ok(()),
                Ok(Some(packet)) => {
                    self.counters.packets.fetch_add(1, Ordering::Relaxed);
                    let complete = complete.unwrap_or_else(Instant::now);
                    self.counters.remember(&packet, first.unwrap_or(complete));
                    sleep_until(complete);
                    self.advance(clock);
                    let mut drives = self.drives.lock().unwrap_or_else(|e| e.into_inner());
                    // The drives act on what they hear even while muted; only those set
                    // to the line's rate hear it.
                    let line = crate::line_rate::line_rate(self.master.as_fd());
                    let replies = crate::line_rate::respond(
                        self.responder.as_mut(),
                        &mut drives,
                        &packet,
                        line,
                    );
                    (complete, replies)
                }
                Err(corrupt) => {
                    self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                    let complete = complete.unwrap_or_else(Instant::now);
                    sleep_until(complete);
                    let mut drives = self.drives.lock().unwrap_or_else(|e| e.into_inner());
                    (
                        complete,
                        self.responder.respond_to_corrupt(&mut drives, corrupt),
                    )
                }
            };
            if !self.muted.load(Ordering::Relaxed) {
                let (complete, replies) = replies;
                self.send(replies, complete, tx_free, inbox)?;
            }
        }
    }

    /// Sends status packets one after the other, each after its return delay (plus any
    /// injected delay) counted from the end of the previous byte on the bus. Bytes the
    /// host writes meanwhile are stamped as they arrive (see [`Device::sleep_listening`]).
    fn send(
        &mut self,
        replies: Vec<Reply>,
        instruction_end: Instant,
        tx_free: &mut Instant,
        inbox: &mut Inbox,
    ) -> std::io::Result<()> {
        let mut previous_end = instruction_end.max(*tx_free);
        for reply in replies {
            let (carried, extra_delay) = {
                let mut line = self.line.lock().unwrap_or_else(|e| e.into_inner());
                (line.carry(&reply.bytes), line.faults().extra_delay)
            };
            self.count_faults(carried.corrupted, carried.dropped);
            let start = previous_end + reply.delay + extra_delay;
            let bytes: Vec<u8> = carried.bytes.iter().map(|(_, b)| *b).collect();
            previous_end = self.transmit(&bytes, reply.bytes.len(), start, inbox)?;
            self.counters.replies.fetch_add(1, Ordering::Relaxed);
        }
        *tx_free = previous_end;
        Ok(())
    }

    /// Writes `bytes` starting at `start`: at once when unpaced; paced, no byte is handed
    /// over before it could have finished crossing the wire (`wire_len` byte times in all,
    /// dropped bytes included). Returns when the wire is free again.
    fn transmit(
        &mut self,
        bytes: &[u8],
        wire_len: usize,
        start: Instant,
        inbox: &mut Inbox,
    ) -> std::io::Result<Instant> {
        let Some(byte_time) = self.timing.byte_time() else {
            self.sleep_listening(start, inbox);
            self.master.write_all(bytes)?;
            return Ok(Instant::now());
        };
        let wire_end = start + self.timing.duration(wire_len);
        // Deliver in small batches (~50 µs of wire time) so the OS is not asked for one
        // write per byte at megabaud rates; a batch goes out when its last byte is due.
        let batch =
            (Duration::from_micros(50).as_nanos() / byte_time.as_nanos().max(1)).max(1) as usize;
        let mut sent = 0;
        while sent < bytes.len() {
            let upto = (sent + batch).min(bytes.len());
            let due = if upto == bytes.len() {
                wire_end
            } else {
                start + byte_time * upto as u32
            };
            self.sleep_listening(due, inbox);
            self.master.write_all(&bytes[sent..upto])?;
            sent = upto;
        }
        self.sleep_listening(wire_end, inbox);
        Ok(wire_end)
    }

    /// Sleeps until `until` while the drives talk, but keeps reading what the host writes
    /// meanwhile, so each byte is stamped with when it reached this side of the pty — on
    /// a half-duplex bus that is a collision, and the drives act on the frame only once
    /// they are done talking, but the instant it was on the wire is known (the E-stop
    /// benchmark times it). Blocks in `ppoll` (no CPU) until the last 150 µs, which it
    /// spins through for the pacing's precision, as [`sleep_until`] does.
    fn sleep_listening(&mut self, until: Instant, inbox: &mut Inbox) {
        let spin = Duration::from_micros(150);
        loop {
            let now = Instant::now();
            if now >= until {
                return;
            }
            let block = (until - now).saturating_sub(spin);
            let readable = {
                let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                matches!(ppoll(&mut fds, Some(TimeSpec::from_duration(block)), None), Ok(n) if n > 0)
                    && fds[0]
                        .revents()
                        .is_some_and(|r| r.contains(PollFlags::POLLIN))
            };
            if readable {
                let mut chunk = [0u8; 4096];
                match self.master.read(&mut chunk) {
                    Ok(n) if n > 0 && !self.deaf.load(Ordering::Relaxed) => {
                        self.receive(inbox, &chunk[..n]);
                    }
                    _ => {}
                }
            } else if block.is_zero() {
                std::hint::spin_loop();
            }
        }
    }

    /// Steps the physics from `clock` up to now, in fixed steps.
    fn advance(&self, clock: &mut Instant) {
        let now = Instant::now();
        let mut drives = self.drives.lock().unwrap_or_else(|e| e.into_inner());
        let dt = STEP.as_secs_f64();
        // After a long stall (a debugger, a suspended laptop) do not replay minutes of
        // physics in one go: the model skips ahead instead.
        if now.duration_since(*clock) > Duration::from_secs(1) {
            *clock = now - Duration::from_millis(10);
        }
        while *clock + STEP <= now {
            for drive in drives.iter_mut() {
                drive.step(dt);
            }
            *clock += STEP;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::dxl2::{BROADCAST_ID, Packet};

    fn read_packets(port: &mut dyn serialport::SerialPort, count: usize) -> Vec<Packet> {
        let mut buf = BytesMut::new();
        let mut packets = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut chunk = [0u8; 256];
        while packets.len() < count && Instant::now() < deadline {
            if let Ok(n) = port.read(&mut chunk) {
                buf.extend_from_slice(&chunk[..n]);
            }
            while let Ok(Some(packet)) = drivedeck_proto::dxl2::decode(&mut buf) {
                packets.push(packet);
            }
        }
        packets
    }

    fn open(rig: &SimRig) -> Box<dyn serialport::SerialPort> {
        serialport::new(rig.port().to_string_lossy(), 1_000_000)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("serialport opens the pty")
    }

    #[test]
    fn answers_a_broadcast_ping_through_a_real_serial_port() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1, 2, 3]).expect("rig");
        let path = rig.port().to_string_lossy().into_owned();
        assert!(path.starts_with("/dev/pts/"), "{path}");
        let mut port = open(&rig);
        port.write_all(&Packet::ping(BROADCAST_ID).encode())
            .expect("write");
        let replies = read_packets(port.as_mut(), 3);
        let ids: Vec<u8> = replies.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert!(rig.counters().packets.load(Ordering::Relaxed) >= 1);
        let heard = rig.counters().instructions();
        assert_eq!(heard[0].id, BROADCAST_ID);
        assert_eq!(
            heard[0].instruction,
            drivedeck_proto::dxl2::instruction::PING
        );
    }

    #[test]
    fn a_frame_cut_short_by_silence_is_dropped_and_the_next_one_answered() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        let mut port = open(&rig);
        // A header whose length field was garbled (0xFFFF bytes to come), then silence:
        // without a packet timeout the drive would swallow every later request.
        port.write_all(&[0xFF, 0xFF, 0xFD, 0x00, 0x01, 0xFF, 0xFF])
            .expect("write");
        std::thread::sleep(crate::responder::PACKET_TIMEOUT * 3);
        port.write_all(&Packet::ping(1).encode()).expect("write");
        let replies = read_packets(port.as_mut(), 1);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].id, 1);
    }

    #[test]
    fn stamps_each_frame_with_its_first_byte_on_the_process_clock() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        let mut port = open(&rig);
        let ping = Packet::ping(1).encode();
        // The frame's first half, a pause (shorter than the packet timeout), then the
        // rest: the stamp is the first half's.
        let before = Instant::now();
        port.write_all(&ping[..4]).expect("write");
        std::thread::sleep(crate::responder::PACKET_TIMEOUT / 2);
        let second_half = Instant::now();
        port.write_all(&ping[4..]).expect("write");
        assert_eq!(read_packets(port.as_mut(), 1).len(), 1);
        let answered = Instant::now();
        let heard = rig.counters().timed_instructions();
        let (first_byte, packet) = heard.last().expect("heard");
        assert_eq!(packet.id, 1);
        assert!(
            *first_byte >= before && *first_byte < second_half,
            "{first_byte:?}"
        );
        assert!(*first_byte < answered);
    }

    #[test]
    fn survives_garbage_and_answers_the_next_good_frame() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        let mut port = open(&rig);
        let mut bytes = vec![
            0xFF, 0x00, 0x13, 0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00,
        ];
        bytes.extend_from_slice(&Packet::ping(1).encode());
        port.write_all(&bytes).expect("write");
        // The garbage holds a whole frame for drive 1 whose CRC fails: like the real
        // firmware, the drive answers it with a CRC Error status, then the ping. Both
        // replies may arrive in one read, so read until both came.
        let replies = read_packets(port.as_mut(), 2);
        assert_eq!(replies.len(), 2, "{replies:?}");
        let errors: Vec<_> = replies
            .iter()
            .map(|r| r.as_status().expect("a status packet").error)
            .collect();
        assert!(replies.iter().all(|r| r.id == 1), "{replies:?}");
        assert_eq!(errors[0].code(), drivedeck_proto::dxl2::error_code::CRC);
        assert_eq!(
            errors[1].code(),
            0,
            "the ping after the garbage is answered cleanly"
        );
    }

    #[test]
    fn refuses_bad_ids_and_bad_options() {
        let profile = Profile::xm430_w350();
        for ids in [&[][..], &[1, 1], &[0xFE], &[253]] {
            assert!(
                matches!(SimRig::spawn(&profile, ids), Err(RigError::Ids(_))),
                "{ids:?}"
            );
        }
        // Modbus: 0 is the broadcast and 248.. are reserved.
        for ids in [&[0][..], &[1, 248]] {
            assert!(
                matches!(
                    SimRig::spawn(&Profile::kinco_fd5p(), ids),
                    Err(RigError::Ids(_))
                ),
                "{ids:?}"
            );
        }
        let bad = RigOptions {
            faults: LineFaults {
                noise: 1.5,
                ..LineFaults::default()
            },
            ..RigOptions::default()
        };
        assert!(matches!(
            SimRig::spawn_with(&profile, &[1], bad),
            Err(RigError::Options(_))
        ));
        let zero_baud = RigOptions {
            baud: 0,
            ..RigOptions::default()
        };
        assert!(matches!(
            SimRig::spawn_with(&profile, &[1], zero_baud),
            Err(RigError::Options(_))
        ));
        let massless = RigOptions {
            load_resonance: Some(Resonance {
                inertia: 0.0,
                frequency: 8.0,
                damping_ratio: 0.1,
            }),
            ..RigOptions::default()
        };
        assert!(matches!(
            SimRig::spawn_with(&profile, &[1], massless),
            Err(RigError::Options(_))
        ));
    }

    #[test]
    fn a_load_resonance_option_couples_every_drive() {
        let resonance = Resonance {
            inertia: 0.012,
            frequency: 8.0,
            damping_ratio: 0.05,
        };
        let options = RigOptions {
            load_resonance: Some(resonance),
            ..RigOptions::default()
        };
        let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1, 2], options).expect("rig");
        rig.with_drives(|drives| {
            for drive in drives {
                assert_eq!(drive.motor().load.map(|l| l.resonance), Some(resonance));
            }
        });
        let plain = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        plain.with_drives(|drives| assert!(drives[0].motor().load.is_none()));
    }

    #[test]
    fn full_drop_silences_the_bus_and_clearing_it_brings_answers_back() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        let mut port = open(&rig);
        rig.set_line_faults(LineFaults {
            drop: 1.0,
            ..LineFaults::default()
        })
        .expect("valid");
        port.write_all(&Packet::ping(1).encode()).expect("write");
        assert!(read_packets(port.as_mut(), 1).is_empty());
        assert_eq!(rig.counters().packets.load(Ordering::Relaxed), 0);
        assert!(rig.counters().dropped_bytes.load(Ordering::Relaxed) >= 10);
        assert!(
            rig.set_line_faults(LineFaults {
                noise: -1.0,
                ..LineFaults::default()
            })
            .is_err()
        );
        assert_eq!(
            rig.line_faults().drop,
            1.0,
            "a refused change changes nothing"
        );
        rig.set_line_faults(LineFaults::default()).expect("clean");
        port.write_all(&Packet::ping(1).encode()).expect("write");
        assert_eq!(read_packets(port.as_mut(), 1).len(), 1);
    }

    #[test]
    fn paced_frames_count_only_once_their_last_byte_could_have_arrived() {
        // 57600 baud: a Bulk Read naming drive 1 forty times is 212 bytes, 36.8 ms on the
        // wire; the pty delivers it at once, the paced rig acts on it only after that.
        let baud = 57_600;
        let options = RigOptions {
            baud,
            pace: true,
            ..RigOptions::default()
        };
        let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1], options).expect("rig");
        // The drive listens at the rig's rate (crate::line_rate): the port opens at it.
        let mut port = serialport::new(rig.port().to_string_lossy(), baud)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("serialport opens the pty");
        let items: Vec<(u8, u16, u16)> = (0..40).map(|_| (1, 132, 4)).collect();
        let request = Packet::bulk_read(&items).encode();
        let started = Instant::now();
        port.write_all(&request).expect("write");
        let replies = read_packets(port.as_mut(), 40);
        let elapsed = started.elapsed();
        assert_eq!(replies.len(), 40);
        let reply_bytes: usize = replies.iter().map(|p| p.encode().len()).sum();
        let wire = WireTiming::paced(baud).duration(request.len() + reply_bytes);
        let delays = Duration::from_micros(40 * 500);
        assert!(
            elapsed >= wire + delays,
            "{elapsed:?} < {wire:?} + {delays:?}"
        );
    }

    /// Reads raw bytes for `wait`.
    fn read_for(port: &mut dyn serialport::SerialPort, wait: Duration) -> Vec<u8> {
        let mut bytes = Vec::new();
        let deadline = Instant::now() + wait;
        let mut chunk = [0u8; 256];
        while Instant::now() < deadline {
            if let Ok(n) = port.read(&mut chunk) {
                bytes.extend_from_slice(&chunk[..n]);
            }
        }
        bytes
    }

    #[test]
    fn a_modbus_frame_ends_with_the_silence_after_it() {
        use drivedeck_proto::modbus::{RequestFrame, crc16};
        // 300 baud: t3.5 is 128 ms, far longer than a pause between two writes here.
        let options = RigOptions {
            baud: 300,
            ..RigOptions::default()
        };
        let rig = SimRig::spawn_with(&Profile::kinco_fd5p(), &[1], options).expect("rig");
        let mut port = open(&rig);
        // 08 Diagnostics, unknown to the codec, in two writes 5 ms apart: one frame, so
        // unit 1 answers Illegal Function.
        let mut diagnostics = vec![0x01, 0x08, 0x00, 0x00, 0x12, 0x34];
        diagnostics.extend_from_slice(&crc16(&diagnostics).to_le_bytes());
        port.write_all(&diagnostics[..3]).expect("write");
        std::thread::sleep(Duration::from_millis(5));
        port.write_all(&diagnostics[3..]).expect("write");
        let reply = read_for(port.as_mut(), Duration::from_millis(600));
        assert_eq!(
            reply.get(..3),
            Some(&[0x01, 0x88, 0x01][..]),
            "{reply:02X?}"
        );
        // A read whose second half comes after more than t3.5: two broken frames, no
        // answer.
        let read = RequestFrame::read_holding_registers(1, 0x3200, 1)
            .expect("valid")
            .encode()
            .expect("encodes");
        let corrupt = rig.counters().corrupt.load(Ordering::Relaxed);
        port.write_all(&read[..4]).expect("write");
        std::thread::sleep(Duration::from_millis(400));
        port.write_all(&read[4..]).expect("write");
        assert!(read_for(port.as_mut(), Duration::from_millis(600)).is_empty());
        assert!(rig.counters().corrupt.load(Ordering::Relaxed) >= corrupt + 2);
        // The whole frame at once is answered.
        port.write_all(&read).expect("write");
        let reply = read_for(port.as_mut(), Duration::from_millis(600));
        assert_eq!(
            reply.get(..3),
            Some(&[0x01, 0x03, 0x02][..]),
            "{reply:02X?}"
        );
    }

    #[test]
    fn the_port_vanishes_after_the_given_time() {
        let options = RigOptions {
            vanish_after: Some(Duration::from_millis(100)),
            ..RigOptions::default()
        };
        let rig = SimRig::spawn_with(&Profile::xm430_w350(), &[1], options).expect("rig");
        assert!(rig.is_serving());
        let deadline = Instant::now() + Duration::from_secs(5);
        while rig.is_serving() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!rig.is_serving());
    }
}
