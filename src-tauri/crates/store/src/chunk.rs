//! The byte layout of sample chunks and rollup chunks (pure code, no SQLite).
//!
//! A channel's samples are stored [`CHUNK`] at a time in one BLOB, not a row each.
//!
//! **Sample chunk** (level 0): `n` samples `(t_us, value)`.
//! - Times: the first time is kept in the row (`t0_us`); then the first delta as a
//!   zigzag LEB128 varint, then each delta-of-delta likewise. Telemetry arrives at a
//!   steady rate, so most deltas-of-deltas are a few µs of jitter: one byte.
//! - Values, as `f32` (24-bit mantissa, finer than any drive register: a 4096-count
//!   encoder is 12 bits): each value's bits XOR the previous value's bits, with the
//!   leading zero bytes dropped. A nibble per value says how many bytes remain (0–4);
//!   nibbles are packed two to a byte, ahead of the value bytes. A motor holding still
//!   costs half a byte per value; a moving one two to three bytes.
//!
//! **Rollup chunk** (levels 1–4): one [`Summary`] per `span` samples (32, 256, 2,048
//! or 16,384, see [`ROLLUP_SPAN`]):
//! first and last time, minimum and maximum, and whether the minimum came first.
//! Times as above (first time varint-delta from the row's `t0_us`, the rest
//! delta-of-delta); the span varint; min and max as raw `f32` bits.
//!
//! Decoding checks every length: a damaged BLOB gives [`ChunkError`], never a panic.

/// Samples per sealed level-0 chunk.
pub const CHUNK: usize = 1024;

/// Rollup levels kept beside the samples.
pub const ROLLUP_LEVELS: usize = 4;

/// Samples summarised by one entry of each rollup level (index = level − 1). A factor
/// of 8 between levels bounds what any window decodes to 8 entries per pixel (32
/// samples per pixel at the finest), at 12 bytes per 32 samples of storage.
pub const ROLLUP_SPAN: [u64; ROLLUP_LEVELS] = [32, 256, 2048, 16_384];

/// Entries per sealed rollup chunk, per level (index = level − 1).
pub const ROLLUP_ROW: [usize; ROLLUP_LEVELS] = [256, 128, 64, 32];

/// A BLOB that does not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("damaged chunk: {0}")]
pub struct ChunkError(pub &'static str);

/// Min/max of a run of consecutive samples of one channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Time of the first sample, µs.
    pub t_first: i64,
    /// Time of the last sample, µs.
    pub t_last: i64,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// True when (the first occurrence of) the minimum came before the maximum.
    pub min_first: bool,
    /// How many samples it summarises.
    pub count: u32,
}

impl Summary {
    /// A summary of one sample.
    pub fn of(t: i64, v: f32) -> Summary {
        Summary {
            t_first: t,
            t_last: t,
            min: v,
            max: v,
            min_first: true,
            count: 1,
        }
    }

    /// Extends this summary with the samples of a later summary.
    pub fn absorb(&mut self, later: &Summary) {
        self.t_last = later.t_last;
        self.count += later.count;
        let new_min = later.min < self.min;
        let new_max = later.max > self.max;
        if new_min {
            self.min = later.min;
        }
        if new_max {
            self.max = later.max;
        }
        match (new_min, new_max) {
            (true, true) => self.min_first = later.min_first,
            (true, false) => self.min_first = false,
            (false, true) => self.min_first = true,
            (false, false) => {}
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self) -> Result<u64, ChunkError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or(ChunkError("varint runs past the end"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ChunkError("varint longer than 64 bits"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ChunkError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(ChunkError("field runs past the end"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn f32(&mut self) -> Result<f32, ChunkError> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Times as: first delta, then deltas of deltas (zigzag varints), relative to `t0`.
fn put_times(out: &mut Vec<u8>, t0: i64, times: impl Iterator<Item = i64>) {
    let mut prev = t0;
    let mut prev_delta = 0i64;
    for t in times {
        let delta = t.wrapping_sub(prev);
        put_varint(out, zigzag(delta.wrapping_sub(prev_delta)));
        prev_delta = delta;
        prev = t;
    }
}

fn take_times(cur: &mut Cursor<'_>, t0: i64, n: usize) -> Result<Vec<i64>, ChunkError> {
    let mut out = Vec::with_capacity(n);
    let mut prev = t0;
    let mut prev_delta = 0i64;
    for _ in 0..n {
        let delta = prev_delta.wrapping_add(unzigzag(cur.varint()?));
        let t = prev.wrapping_add(delta);
        out.push(t);
        prev = t;
        prev_delta = delta;
    }
    Ok(out)
}

/// Encodes samples (`times[0]` must be the row's `t0_us`).
pub fn encode_samples(times: &[i64], values: &[f32]) -> Vec<u8> {
    debug_assert_eq!(times.len(), values.len());
    let n = times.len().min(values.len());
    let mut out = Vec::with_capacity(n * 5 + 8);
    put_varint(&mut out, n as u64);
    let t0 = times.first().copied().unwrap_or(0);
    // The first time is the row's t0: its delta-of-delta is 0, a byte we can afford.
    put_times(&mut out, t0, times[..n].iter().copied());
    let nibbles_at = out.len();
    out.resize(nibbles_at + n.div_ceil(2), 0);
    let mut prev = 0u32;
    for (i, v) in values[..n].iter().enumerate() {
        let bits = v.to_bits();
        let xor = bits ^ prev;
        prev = bits;
        let len = 4 - (xor.leading_zeros() / 8) as usize;
        out[nibbles_at + i / 2] |= (len as u8) << ((i % 2) * 4);
        out.extend_from_slice(&xor.to_le_bytes()[..len]);
    }
    out
}

/// Decodes a sample chunk whose row says it starts at `t0`.
pub fn decode_samples(blob: &[u8], t0: i64) -> Result<(Vec<i64>, Vec<f32>), ChunkError> {
    let mut cur = Cursor { bytes: blob, at: 0 };
    let n = cur.varint()? as usize;
    if n > blob.len() * 2 {
        return Err(ChunkError("sample count larger than the blob allows"));
    }
    let times = take_times(&mut cur, t0, n)?;
    let nibbles = cur.take(n.div_ceil(2))?;
    let mut values = Vec::with_capacity(n);
    let mut prev = 0u32;
    for i in 0..n {
        let len = ((nibbles[i / 2] >> ((i % 2) * 4)) & 0x0f) as usize;
        if len > 4 {
            return Err(ChunkError("value length nibble above 4"));
        }
        let mut word = [0u8; 4];
        word[..len].copy_from_slice(cur.take(len)?);
        prev ^= u32::from_le_bytes(word);
        values.push(f32::from_bits(prev));
    }
    if cur.at != blob.len() {
        return Err(ChunkError("stray bytes after the last value"));
    }
    Ok((times, values))
}

/// Encodes rollup entries (`entries[0].t_first` must be the row's `t0_us`).
pub fn encode_summaries(entries: &[Summary]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 14 + 4);
    put_varint(&mut out, entries.len() as u64);
    let t0 = entries.first().map_or(0, |e| e.t_first);
    put_times(&mut out, t0, entries.iter().map(|e| e.t_first));
    for e in entries {
        put_varint(
            &mut out,
            (e.t_last.wrapping_sub(e.t_first) as u64) << 1 | u64::from(e.min_first),
        );
        put_varint(&mut out, u64::from(e.count));
        out.extend_from_slice(&e.min.to_le_bytes());
        out.extend_from_slice(&e.max.to_le_bytes());
    }
    out
}

/// Decodes a rollup chunk whose row says it starts at `t0`.
pub fn decode_summaries(blob: &[u8], t0: i64) -> Result<Vec<Summary>, ChunkError> {
    let mut cur = Cursor { bytes: blob, at: 0 };
    let n = cur.varint()? as usize;
    if n > blob.len() {
        return Err(ChunkError("entry count larger than the blob allows"));
    }
    let firsts = take_times(&mut cur, t0, n)?;
    let mut out = Vec::with_capacity(n);
    for t_first in firsts {
        let span = cur.varint()?;
        let count = u32::try_from(cur.varint()?).map_err(|_| ChunkError("count too large"))?;
        let min = cur.f32()?;
        let max = cur.f32()?;
        out.push(Summary {
            t_first,
            t_last: t_first.wrapping_add((span >> 1) as i64),
            min,
            max,
            min_first: span & 1 == 1,
            count,
        });
    }
    if cur.at != blob.len() {
        return Err(ChunkError("stray bytes after the last entry"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn samples_round_trip_exactly_including_odd_values() {
        let mut seed = 7;
        let mut t = 1_700_000_000_000_000i64;
        let mut times = Vec::new();
        let mut values = Vec::new();
        for i in 0..CHUNK {
            t += 1000 + (lcg(&mut seed) % 200) as i64 - 100;
            times.push(t);
            values.push(match i % 7 {
                0 => f32::NAN,
                1 => -0.0,
                2 => f32::INFINITY,
                _ => (i as f32 * 0.01).sin() * 3.0,
            });
        }
        let blob = encode_samples(&times, &values);
        let (t2, v2) = decode_samples(&blob, times[0]).expect("decodes");
        assert_eq!(t2, times);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v2), bits(&values));
    }

    #[test]
    fn steady_telemetry_packs_into_few_bytes_per_sample() {
        // 1 kHz with ±20 µs jitter, a slow sine with a little noise.
        let mut seed = 3;
        let mut times = Vec::new();
        let mut values = Vec::new();
        for i in 0..CHUNK {
            times.push(i as i64 * 1000 + (lcg(&mut seed) % 40) as i64);
            let noise = (lcg(&mut seed) % 100) as f32 * 1e-5;
            values.push((i as f32 * 0.005).sin() + noise);
        }
        let blob = encode_samples(&times, &values);
        let per_sample = blob.len() as f64 / CHUNK as f64;
        assert!(per_sample < 4.5, "{per_sample} bytes/sample");
        // Holding still: repeated values cost a nibble.
        let still = encode_samples(&times, &vec![1.25; CHUNK]);
        assert!((still.len() as f64 / CHUNK as f64) < 2.0);
    }

    #[test]
    fn summaries_round_trip() {
        let entries: Vec<Summary> = (0..100)
            .map(|i| Summary {
                t_first: 5_000 + i * 64_000,
                t_last: 5_000 + i * 64_000 + 63_000 + (i % 3),
                min: -(i as f32),
                max: i as f32 * 2.0,
                min_first: i % 2 == 0,
                count: 64,
            })
            .collect();
        let blob = encode_summaries(&entries);
        assert_eq!(decode_summaries(&blob, 5_000).expect("decodes"), entries);
    }

    #[test]
    fn absorb_keeps_min_max_and_their_order() {
        let mut s = Summary::of(0, 5.0);
        s.absorb(&Summary::of(1, 9.0)); // max later
        assert!(s.min_first);
        s.absorb(&Summary::of(2, 1.0)); // new min after the max
        assert!(!s.min_first);
        assert_eq!((s.min, s.max, s.count, s.t_last), (1.0, 9.0, 3, 2));
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let blob = encode_samples(&[10, 20, 30], &[1.0, 2.0, 3.0]);
        for cut in 0..blob.len() {
            assert!(decode_samples(&blob[..cut], 10).is_err(), "cut at {cut}");
        }
        let mut extra = blob.clone();
        extra.push(0);
        assert!(decode_samples(&extra, 10).is_err());
        assert!(decode_samples(&[0xff; 12], 0).is_err());
        let rollup = encode_summaries(&[Summary::of(1, 1.0)]);
        for cut in 0..rollup.len() {
            assert!(decode_summaries(&rollup[..cut], 1).is_err());
        }
    }
}
