//! The rig's thread: the pty master, the physics clock, framing by bytes and by silence,
//! pacing, line faults and the replies' return delays.

use super::{RigCounters, STEP};
use crate::drive::SimDrive;
use crate::responder::{Reply, Responder};
use crate::wire::{Line, WireTiming, sleep_until};
use bytes::BytesMut;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll, ppoll};
use nix::sys::time::TimeSpec;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(super) struct Device {
    pub(super) master: File,
    // Held so the master never sees a hang-up while the app reopens the port.
    pub(super) _slave: OwnedFd,
    pub(super) responder: Box<dyn Responder>,
    pub(super) timing: WireTiming,
    /// The silence that ends a frame, for protocols delimited by silence.
    pub(super) frame_gap: Option<Duration>,
    pub(super) vanish_after: Option<Duration>,
    pub(super) drives: Arc<Mutex<Vec<SimDrive>>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) muted: Arc<AtomicBool>,
    pub(super) deaf: Arc<AtomicBool>,
    pub(super) line: Arc<Mutex<Line>>,
    pub(super) counters: Arc<RigCounters>,
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
    pub(super) fn run(mut self) {
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
            self.counters.remember_reply(previous_end);
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
