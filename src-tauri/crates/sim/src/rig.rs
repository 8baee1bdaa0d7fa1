//! The simulated rig: drives on one multi-drop bus, behind a pseudo-terminal.
//!
//! [`SimRig::spawn`] opens a pty pair, puts the slave side in raw mode and hands out its
//! path (`/dev/pts/N`), which the serialport crate opens exactly like a USB adapter. A
//! thread owns the master side: it advances the physics to the present on its own clock
//! (fixed 250 µs steps), decodes instruction packets, lets the drives answer after their
//! return delay, and writes the status packets back. Dropping the rig (or
//! [`SimRig::stop`]) ends the thread and closes the port.

use crate::drive::SimDrive;
use crate::dxl2;
use bytes::BytesMut;
use drivedeck_proto::profile::{Profile, Protocol};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
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

/// What went wrong starting a rig.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// The operating system refused a pseudo-terminal.
    #[error("could not open a pseudo-terminal: {0}")]
    Pty(#[from] nix::Error),
    /// The profile speaks a protocol the simulator cannot answer yet.
    #[error("the simulator does not speak {0:?} yet")]
    Protocol(Protocol),
    /// No drives, or an ID used twice, or the broadcast ID.
    #[error("bad drive IDs: {0}")]
    Ids(String),
    /// The device thread could not start.
    #[error("could not start the simulator thread: {0}")]
    Thread(#[from] std::io::Error),
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
    /// The last [`INSTRUCTION_LOG`] instruction packets heard, in order.
    log: Mutex<std::collections::VecDeque<drivedeck_proto::dxl2::Packet>>,
}

impl RigCounters {
    /// The instruction packets heard, oldest first (the last [`INSTRUCTION_LOG`]).
    pub fn instructions(&self) -> Vec<drivedeck_proto::dxl2::Packet> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn remember(&self, packet: &drivedeck_proto::dxl2::Packet) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == INSTRUCTION_LOG {
            log.pop_front();
        }
        log.push_back(packet.clone());
    }
}

/// A running simulated bus. See the module docs.
pub struct SimRig {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    deaf: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    drives: Arc<Mutex<Vec<SimDrive>>>,
    counters: Arc<RigCounters>,
}

impl SimRig {
    /// Starts drives with `ids`, all of model `profile`, on a new pseudo-terminal.
    pub fn spawn(profile: &Profile, ids: &[u8]) -> Result<SimRig, RigError> {
        if profile.protocol != Protocol::Dynamixel2 {
            return Err(RigError::Protocol(profile.protocol));
        }
        let mut seen = std::collections::BTreeSet::new();
        if ids.is_empty() {
            return Err(RigError::Ids("no drive IDs given".into()));
        }
        for &id in ids {
            if id >= drivedeck_proto::dxl2::BROADCAST_ID || !seen.insert(id) {
                return Err(RigError::Ids(format!("ID {id} is reserved or repeated")));
            }
        }
        let pty = openpty(None, None)?;
        let path = nix::unistd::ttyname(pty.slave.as_fd())?;
        let mut termios = tcgetattr(pty.slave.as_fd())?;
        cfmakeraw(&mut termios);
        tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &termios)?;

        let drives = Arc::new(Mutex::new(
            ids.iter()
                .map(|&id| SimDrive::new(profile.clone(), id))
                .collect::<Vec<_>>(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let muted = Arc::new(AtomicBool::new(false));
        let deaf = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(RigCounters::default());
        let device = Device {
            master: File::from(pty.master),
            _slave: pty.slave,
            drives: Arc::clone(&drives),
            stop: Arc::clone(&stop),
            muted: Arc::clone(&muted),
            deaf: Arc::clone(&deaf),
            counters: Arc::clone(&counters),
        };
        let thread = std::thread::Builder::new()
            .name(format!("sim {}", path.display()))
            .spawn(move || device.run())?;
        Ok(SimRig {
            path,
            stop,
            muted,
            deaf,
            thread: Some(thread),
            drives,
            counters,
        })
    }

    /// The serial device path to open (`/dev/pts/N`).
    pub fn port(&self) -> &Path {
        &self.path
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
    drives: Arc<Mutex<Vec<SimDrive>>>,
    stop: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    deaf: Arc<AtomicBool>,
    counters: Arc<RigCounters>,
}

impl Device {
    fn run(mut self) {
        let mut buf = BytesMut::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        let mut clock = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
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
                continue;
            }
            match self.master.read(&mut chunk) {
                Ok(0) => continue,
                Ok(_) if self.deaf.load(Ordering::Relaxed) => continue,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("simulator read failed: {e}");
                    break;
                }
            }
            loop {
                match drivedeck_proto::dxl2::decode(&mut buf) {
                    Ok(Some(packet)) => {
                        self.counters.packets.fetch_add(1, Ordering::Relaxed);
                        if packet.as_status().is_some() {
                            continue; // our own bus traffic echoed back: not for us
                        }
                        self.counters.remember(&packet);
                        self.advance(&mut clock);
                        if self.muted.load(Ordering::Relaxed) {
                            continue;
                        }
                        let replies = {
                            let mut drives = self.drives.lock().unwrap_or_else(|e| e.into_inner());
                            dxl2::respond(&mut drives, &packet)
                        };
                        for reply in replies {
                            spin_sleep(reply.delay);
                            if self.master.write_all(&reply.packet.encode()).is_err() {
                                return;
                            }
                            self.counters.replies.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                    }
                }
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

/// Sleeps precisely: the OS sleeps most of the wait (a return delay is ~500 µs; the
/// timer slack is ~50 µs) and a short spin finishes it, so the simulator does not burn a
/// core while it waits.
fn spin_sleep(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    let until = Instant::now() + duration;
    let margin = Duration::from_micros(150);
    if duration > margin {
        std::thread::sleep(duration - margin);
    }
    while Instant::now() < until {
        std::hint::spin_loop();
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

    #[test]
    fn answers_a_broadcast_ping_through_a_real_serial_port() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1, 2, 3]).expect("rig");
        let path = rig.port().to_string_lossy().into_owned();
        assert!(path.starts_with("/dev/pts/"), "{path}");
        let mut port = serialport::new(&path, 1_000_000)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("serialport opens the pty");
        port.write_all(&Packet::ping(BROADCAST_ID).encode())
            .expect("write");
        let replies = read_packets(port.as_mut(), 3);
        let ids: Vec<u8> = replies.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert!(rig.counters().packets.load(Ordering::Relaxed) >= 1);
    }

    #[test]
    fn survives_garbage_and_answers_the_next_good_frame() {
        let rig = SimRig::spawn(&Profile::xm430_w350(), &[1]).expect("rig");
        let mut port = serialport::new(rig.port().to_string_lossy(), 1_000_000)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("open");
        let mut bytes = vec![
            0xFF, 0x00, 0x13, 0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00,
        ];
        bytes.extend_from_slice(&Packet::ping(1).encode());
        port.write_all(&bytes).expect("write");
        let replies = read_packets(port.as_mut(), 1);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].id, 1);
    }

    #[test]
    fn refuses_bad_ids() {
        let profile = Profile::xm430_w350();
        assert!(matches!(
            SimRig::spawn(&profile, &[]),
            Err(RigError::Ids(_))
        ));
        assert!(matches!(
            SimRig::spawn(&profile, &[1, 1]),
            Err(RigError::Ids(_))
        ));
        assert!(matches!(
            SimRig::spawn(&profile, &[0xFE]),
            Err(RigError::Ids(_))
        ));
    }
}
