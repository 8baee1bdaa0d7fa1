//! A batch of samples for a chart, and its binary form.
//!
//! Charts get typed arrays, never JSON lists of numbers. The layout (little-endian,
//! every offset a multiple of 8 so the webview can view the buffer as `Float64Array`s
//! without copying):
//!
//! ```text
//! [0..8)   u64  next cursor (pass it back as `after`)
//! [8..12)  u32  series count S
//! [12..16) u32  reserved, 0
//! S times: u32 channel id, u32 n, f64 t[n] (s since session start), f64 v[n] (SI)
//! ```

/// One channel's samples in a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The channel.
    pub channel: i64,
    /// Seconds since the session started.
    pub t: Vec<f64>,
    /// Values in the channel's unit.
    pub values: Vec<f64>,
}

/// Samples after a cursor, grouped by channel, and the cursor to continue from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TailBatch {
    /// Pass this back to get the samples that follow.
    pub cursor: i64,
    /// One entry per channel that had samples.
    pub series: Vec<Series>,
}

impl TailBatch {
    /// Samples in the batch, all channels.
    pub fn len(&self) -> usize {
        self.series.iter().map(|s| s.t.len()).sum()
    }

    /// True when no channel had samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The binary form described in the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.series.len() * 8 + self.len() * 16);
        out.extend_from_slice(&(self.cursor.max(0) as u64).to_le_bytes());
        out.extend_from_slice(&(self.series.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for series in &self.series {
            out.extend_from_slice(&(series.channel as u32).to_le_bytes());
            out.extend_from_slice(&(series.t.len() as u32).to_le_bytes());
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
        let batch = TailBatch {
            cursor: 0x1_0000_0002,
            series: vec![Series {
                channel: 7,
                t: vec![0.5, 1.0],
                values: vec![-1.25, 3.0],
            }],
        };
        let bytes = batch.to_bytes();
        assert_eq!(bytes.len(), 16 + 8 + 2 * 8 * 2);
        assert_eq!(&bytes[0..8], &[2, 0, 0, 0, 1, 0, 0, 0]); // cursor lo, hi
        assert_eq!(&bytes[8..12], &[1, 0, 0, 0]); // one series
        assert_eq!(&bytes[16..20], &[7, 0, 0, 0]); // channel 7
        assert_eq!(&bytes[20..24], &[2, 0, 0, 0]); // two samples
        assert_eq!(&bytes[24..32], &0.5f64.to_le_bytes());
        assert_eq!(&bytes[40..48], &(-1.25f64).to_le_bytes());
        assert_eq!(batch.len(), 2);
        assert_eq!(TailBatch::default().to_bytes().len(), 16);
    }
}
