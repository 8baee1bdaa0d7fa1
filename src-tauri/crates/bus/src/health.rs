//! Bus health: what a drive engineer looks at when a link misbehaves.
//!
//! Per link: exchanges, replies, timeouts, corrupt frames dropped, retries, a
//! round-trip-time histogram, and the telemetry rate achieved against the one asked
//! for. Per drive: replies, missed replies, last round trip. The link actor records;
//! anyone reads a snapshot.
//!
//! On Linux, [`ftdi_latency_warning`] spots the classic 16 ms FTDI latency timer that
//! caps a USB adapter at ~60 round trips per second, and says how to fix it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Upper bounds (µs) of the round-trip histogram's buckets; the last bucket is open.
pub const RTT_BUCKETS_US: [u64; 12] = [
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    u64::MAX,
];

/// Counters of one drive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriveHealth {
    /// Replies received from it.
    pub replies: u64,
    /// Exchanges it should have answered and did not.
    pub missed: u64,
    /// The last round trip of an exchange it answered.
    pub last_rtt: Option<Duration>,
}

/// A snapshot of a link's health.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkHealth {
    /// Requests written.
    pub exchanges: u64,
    /// Exchanges that did not get every expected reply in time.
    pub timeouts: u64,
    /// Corrupt frames (bad CRC, bad length) dropped by the decoder.
    pub corrupt: u64,
    /// Requests sent again after a timeout.
    pub retries: u64,
    /// Round trips (request written → last reply decoded), counted per bucket of
    /// [`RTT_BUCKETS_US`].
    pub rtt_histogram: [u64; RTT_BUCKETS_US.len()],
    /// Telemetry polls asked for, per second.
    pub poll_target_hz: f64,
    /// Telemetry polls achieved over the last half second.
    pub poll_hz: f64,
    /// Per drive, by bus ID.
    pub drives: BTreeMap<u8, DriveHealth>,
    /// A problem with the adapter and how to fix it, if one was found.
    pub adapter_warning: Option<String>,
}

impl LinkHealth {
    /// Records one round trip.
    pub fn record_rtt(&mut self, rtt: Duration) {
        let us = rtt.as_micros().min(u128::from(u64::MAX)) as u64;
        let bucket = RTT_BUCKETS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(RTT_BUCKETS_US.len() - 1);
        self.rtt_histogram[bucket] += 1;
    }

    /// The round trip below which a fraction `q` (0–1) of exchanges fell, as the upper
    /// bound of its histogram bucket; `None` before the first round trip.
    pub fn rtt_quantile(&self, q: f64) -> Option<Duration> {
        let total: u64 = self.rtt_histogram.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (count, bound) in self.rtt_histogram.iter().zip(RTT_BUCKETS_US) {
            seen += count;
            if seen >= rank {
                return Some(Duration::from_micros(bound.min(1_000_000_000)));
            }
        }
        None
    }
}

/// For a Linux USB-serial port (`/dev/ttyUSB0`), the FTDI latency timer's value (ms)
/// read under `sysfs` (normally `/sys`), if the driver exposes one.
pub fn ftdi_latency_ms(port: &str, sysfs: &Path) -> Option<u32> {
    let name = Path::new(port).file_name()?.to_str()?;
    let path = sysfs
        .join("bus/usb-serial/devices")
        .join(name)
        .join("latency_timer");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A warning with the fix when `port` is an FTDI adapter whose latency timer is above
/// 1 ms (the default is 16 ms: every reply waits up to that long in the adapter).
pub fn ftdi_latency_warning(port: &str, sysfs: &Path) -> Option<String> {
    let ms = ftdi_latency_ms(port, sysfs)?;
    if ms <= 1 {
        return None;
    }
    let name = Path::new(port).file_name()?.to_string_lossy().into_owned();
    Some(format!(
        "{port}: the FTDI latency timer is {ms} ms, which adds up to {ms} ms to every reply. \
         Set it to 1 ms: `echo 1 | sudo tee /sys/bus/usb-serial/devices/{name}/latency_timer`, \
         or for good with a udev rule: ACTION==\"add\", SUBSYSTEM==\"usb-serial\", \
         DRIVERS==\"ftdi_sio\", ATTR{{latency_timer}}=\"1\""
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_use_bucket_bounds() {
        let mut h = LinkHealth::default();
        assert_eq!(h.rtt_quantile(0.5), None);
        for _ in 0..90 {
            h.record_rtt(Duration::from_micros(700)); // ≤ 1 ms bucket
        }
        for _ in 0..10 {
            h.record_rtt(Duration::from_millis(17)); // ≤ 20 ms bucket
        }
        assert_eq!(h.rtt_quantile(0.5), Some(Duration::from_millis(1)));
        assert_eq!(h.rtt_quantile(0.9), Some(Duration::from_millis(1)));
        assert_eq!(h.rtt_quantile(0.99), Some(Duration::from_millis(20)));
        h.record_rtt(Duration::from_secs(3));
        assert_eq!(h.rtt_histogram[RTT_BUCKETS_US.len() - 1], 1);
    }

    #[test]
    fn ftdi_latency_timer_is_read_from_sysfs_and_explained() {
        let sysfs = tempfile::tempdir().expect("dir");
        let dev = sysfs.path().join("bus/usb-serial/devices/ttyUSB0");
        std::fs::create_dir_all(&dev).expect("mkdir");
        std::fs::write(dev.join("latency_timer"), "16\n").expect("write");
        assert_eq!(ftdi_latency_ms("/dev/ttyUSB0", sysfs.path()), Some(16));
        let warning = ftdi_latency_warning("/dev/ttyUSB0", sysfs.path()).expect("warning");
        assert!(warning.contains("16 ms"), "{warning}");
        assert!(
            warning.contains("devices/ttyUSB0/latency_timer"),
            "{warning}"
        );
        std::fs::write(dev.join("latency_timer"), "1\n").expect("write");
        assert_eq!(ftdi_latency_warning("/dev/ttyUSB0", sysfs.path()), None);
        // Not an FTDI port (a pty, an ACM device): nothing to say.
        assert_eq!(ftdi_latency_warning("/dev/pts/3", sysfs.path()), None);
        assert_eq!(ftdi_latency_warning("/dev/ttyACM0", sysfs.path()), None);
    }
}
