//! The wire between the host and the drives: its timing at a baud rate, and the faults a
//! bad line injects.
//!
//! A pseudo-terminal moves bytes as fast as the kernel copies them, so by itself it hides
//! every wire-time effect. [`WireTiming`] puts them back: with pacing on, a byte takes 10
//! bit times (8N1: start bit, 8 data bits, stop bit) at the baud rate, a frame is complete
//! only when its last byte could have arrived, and a reply is delivered no faster than
//! the line could carry it. [`Line`] corrupts and drops bytes at given probabilities, from
//! a seeded generator so a failing run can be replayed.

use std::time::{Duration, Instant};

/// Bits on the wire per byte at 8N1.
pub const BITS_PER_BYTE: u32 = 10;

/// How fast bytes travel, if the rig paces them at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireTiming {
    byte_time: Option<Duration>,
}

impl WireTiming {
    /// Bytes arrive as fast as the pty copies them (no wire time).
    pub fn unpaced() -> WireTiming {
        WireTiming { byte_time: None }
    }

    /// Bytes take 10 bit times at `baud` (which must be positive).
    pub fn paced(baud: u32) -> WireTiming {
        WireTiming::paced_bits(baud, BITS_PER_BYTE)
    }

    /// Bytes take `bits` bit times at `baud` (11 for Modbus RTU's characters).
    pub fn paced_bits(baud: u32, bits: u32) -> WireTiming {
        let nanos = 1_000_000_000u64 * u64::from(bits) / u64::from(baud.max(1));
        WireTiming {
            byte_time: Some(Duration::from_nanos(nanos)),
        }
    }

    /// The time one byte occupies the wire, when paced.
    pub fn byte_time(&self) -> Option<Duration> {
        self.byte_time
    }

    /// The wire time of `bytes` bytes (zero when unpaced).
    pub fn duration(&self, bytes: usize) -> Duration {
        self.byte_time.map_or(Duration::ZERO, |t| {
            t * u32::try_from(bytes).unwrap_or(u32::MAX)
        })
    }
}

/// Line faults to inject, per byte and per reply.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineFaults {
    /// Probability that a byte arrives corrupted (some of its bits flipped), in [0, 1].
    pub noise: f64,
    /// Probability that a byte is lost, in [0, 1].
    pub drop: f64,
    /// Extra delay before every status packet, on top of the drive's return delay.
    pub extra_delay: Duration,
}

impl LineFaults {
    /// Checks the probabilities: finite and within [0, 1].
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [("noise", self.noise), ("drop", self.drop)] {
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(format!(
                    "{name} probability must be between 0 and 1, not {p}"
                ));
            }
        }
        Ok(())
    }

    /// True when no fault is injected.
    pub fn is_clean(&self) -> bool {
        self.noise == 0.0 && self.drop == 0.0 && self.extra_delay.is_zero()
    }
}

/// What the line did to a run of bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mangled {
    /// The surviving bytes with their position in the original run.
    pub bytes: Vec<(usize, u8)>,
    /// How many bytes were corrupted.
    pub corrupted: usize,
    /// How many bytes were lost.
    pub dropped: usize,
}

/// A line with faults, drawing from a seeded generator.
#[derive(Clone, Debug)]
pub struct Line {
    faults: LineFaults,
    rng: fastrand::Rng,
}

impl Line {
    /// A line with `faults`, its generator seeded with `seed`.
    pub fn new(faults: LineFaults, seed: u64) -> Line {
        Line {
            faults,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The faults in force.
    pub fn faults(&self) -> LineFaults {
        self.faults
    }

    /// Changes the faults; the generator carries on.
    pub fn set_faults(&mut self, faults: LineFaults) {
        self.faults = faults;
    }

    /// Sends `bytes` through the line: each byte is lost with probability `drop`, else
    /// corrupted with probability `noise` (XOR with a random non-zero mask).
    pub fn carry(&mut self, bytes: &[u8]) -> Mangled {
        let mut out = Mangled {
            bytes: Vec::with_capacity(bytes.len()),
            ..Mangled::default()
        };
        let LineFaults { noise, drop, .. } = self.faults;
        for (index, &byte) in bytes.iter().enumerate() {
            if drop > 0.0 && self.rng.f64() < drop {
                out.dropped += 1;
                continue;
            }
            if noise > 0.0 && self.rng.f64() < noise {
                out.corrupted += 1;
                out.bytes.push((index, byte ^ self.rng.u8(1..=u8::MAX)));
            } else {
                out.bytes.push((index, byte));
            }
        }
        out
    }
}

/// Sleeps until `until`: the OS sleeps most of the wait (timer slack is ~50 µs) and a
/// short spin finishes it, so waits of a few hundred µs stay precise without burning a
/// core for long ones.
pub fn sleep_until(until: Instant) {
    let now = Instant::now();
    if until <= now {
        return;
    }
    let margin = Duration::from_micros(150);
    let wait = until - now;
    if wait > margin {
        std::thread::sleep(wait - margin);
    }
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_takes_ten_bit_times() {
        assert_eq!(
            WireTiming::paced(1_000_000).byte_time(),
            Some(Duration::from_micros(10))
        );
        let hundred_ms = WireTiming::paced(9600).duration(96);
        assert!(hundred_ms.abs_diff(Duration::from_millis(100)) < Duration::from_micros(1));
        assert_eq!(WireTiming::unpaced().duration(1000), Duration::ZERO);
    }

    #[test]
    fn probabilities_are_checked() {
        assert!(LineFaults::default().validate().is_ok());
        for (noise, drop) in [
            (-0.1, 0.0),
            (0.0, 1.5),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            let faults = LineFaults {
                noise,
                drop,
                extra_delay: Duration::ZERO,
            };
            assert!(faults.validate().is_err(), "{noise} {drop}");
        }
    }

    #[test]
    fn a_clean_line_carries_every_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let out = Line::new(LineFaults::default(), 1).carry(&bytes);
        assert_eq!(out.bytes.iter().map(|(_, b)| *b).collect::<Vec<_>>(), bytes);
        assert_eq!((out.corrupted, out.dropped), (0, 0));
    }

    #[test]
    fn faults_follow_their_probabilities_and_the_seed() {
        let faults = LineFaults {
            noise: 0.01,
            drop: 0.02,
            extra_delay: Duration::ZERO,
        };
        let bytes = vec![0x55u8; 100_000];
        let a = Line::new(faults, 42).carry(&bytes);
        // Binomial: 1,000 ± 31 corrupted (of the survivors), 2,000 ± 44 dropped.
        assert!((850..1150).contains(&a.corrupted), "{}", a.corrupted);
        assert!((1800..2200).contains(&a.dropped), "{}", a.dropped);
        let changed = a.bytes.iter().filter(|(_, b)| *b != 0x55).count();
        assert_eq!(changed, a.corrupted, "a corrupted byte always differs");
        assert_eq!(a.bytes.len() + a.dropped, bytes.len());
        // The same seed replays the same faults; another seed does not.
        assert_eq!(Line::new(faults, 42).carry(&bytes), a);
        assert_ne!(Line::new(faults, 43).carry(&bytes), a);
    }
}
