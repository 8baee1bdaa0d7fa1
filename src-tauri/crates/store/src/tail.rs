//! Samples for charts, and the binary form they travel in.
//!
//! The live tail reads each channel from a per-channel cursor: the index of the next
//! sample the chart has not seen ([`TailCursor`]). Indices only grow and a sample's
//! index never changes, so a chart that passes back the cursors it got receives every
//! committed sample exactly once, whatever the writer seals or merges meanwhile.
//!
//! Charts get typed arrays, never JSON lists of numbers. The layout (little-endian,
//! every offset a multiple of 8 so the webview views the buffer as `Float64Array`s
//! without copying):
//!
//! ```text
//! [0..4)   u32  series count S
//! [4..8)   u32  kind: 0 = tail, 1 = window
//! S times: u32 channel id, u32 n,
//!          u32 level (0: samples; 1, 2: rollup level used), u32 flags (bit 0: decimated),
//!          u64 next (tail: the channel's cursor to pass back; window: 0),
//!          f64 t[n] (s since session start), f64 v[n] (SI unit)
//! ```

use std::collections::BTreeMap;

/// Where a chart is in each channel: the index of the next sample it wants.
pub type TailCursor = BTreeMap<i64, u64>;

/// One channel's points in a batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The channel.
    pub channel: i64,
    /// Seconds since the session started.
    pub t: Vec<f64>,
    /// Values in the channel's unit.
    pub values: Vec<f64>,
    /// The rollup level the points came from (0: samples).
    pub level: u32,
    /// True when the points are min/max per pixel rather than every sample.
    pub decimated: bool,
    /// Tail only: the channel's cursor after these samples.
    pub next: u64,
}

/// Points of several channels: a tail batch or a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesBatch {
    /// True for a window, false for a tail batch.
    pub window: bool,
    /// One entry per channel asked for.
    pub series: Vec<Series>,
}

impl SeriesBatch {
    /// Points in the batch, all channels.
    pub fn len(&self) -> usize {
        self.series.iter().map(|s| s.t.len()).sum()
    }

    /// True when no channel has points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cursors to pass back for the next tail call.
    pub fn cursor(&self) -> TailCursor {
        self.series.iter().map(|s| (s.channel, s.next)).collect()
    }

    /// The binary form described in the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.series.len() * 24 + self.len() * 16);
        out.extend_from_slice(&(self.series.len() as u32).to_le_bytes());
        out.extend_from_slice(&u32::from(self.window).to_le_bytes());
        for series in &self.series {
            out.extend_from_slice(&(series.channel as u32).to_le_bytes());
            out.extend_from_slice(&(series.t.len() as u32).to_le_bytes());
            out.extend_from_slice(&series.level.to_le_bytes());
            out.extend_from_slice(&u32::from(series.decimated).to_le_bytes());
            out.extend_from_slice(&series.next.to_le_bytes());
            for t in &series.t {
                out.extend_from_slice(&t.to_le_bytes());
            }
            for v in &series.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_layout_is_aligned_and_little_endian() {
        let batch = SeriesBatch {
            window: false,
            series: vec![Series {
                channel: 7,
                t: vec![0.5, 1.0],
                values: vec![-1.25, 3.0],
                level: 0,
                decimated: false,
                next: 0x1_0000_0002,
            }],
        };
        let bytes = batch.to_bytes();
        assert_eq!(bytes.len(), 8 + 24 + 2 * 8 * 2);
        assert_eq!(&bytes[0..4], &[1, 0, 0, 0]); // one series
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]); // a tail
        assert_eq!(&bytes[8..12], &[7, 0, 0, 0]); // channel 7
        assert_eq!(&bytes[12..16], &[2, 0, 0, 0]); // two samples
        assert_eq!(&bytes[16..24], &[0; 8]); // level 0, not decimated
        assert_eq!(&bytes[24..32], &[2, 0, 0, 0, 1, 0, 0, 0]); // next, lo then hi
        assert_eq!(&bytes[32..40], &0.5f64.to_le_bytes());
        assert_eq!(&bytes[48..56], &(-1.25f64).to_le_bytes());
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.cursor().get(&7), Some(&0x1_0000_0002));
        assert_eq!(SeriesBatch::default().to_bytes().len(), 8);
    }
}
