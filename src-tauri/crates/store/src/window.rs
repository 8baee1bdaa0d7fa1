//! Decimated windows: what a chart `width_px` wide needs to draw `[from, to]`.
//!
//! At most two points per pixel per channel (the pixel's minimum and maximum, in the
//! order they happened), or every sample when the window holds no more than four per
//! pixel. The level read is the coarsest whose entries still give each pixel at least
//! one: raw samples, or min/max per 32, 256, 2,048 or 16,384 samples. A level's rows end where the
//! writer has not sealed one yet (a live session); the rest of the window is read from
//! the next finer level, down to the samples, so a window is always complete.

use crate::chunk::{self, ROLLUP_SPAN, Summary};
use crate::reader::Reader;
use crate::tail::{Series, SeriesBatch};
use crate::{SessionId, StoreError};
use drivedeck_domain::Micros;
use rusqlite::params;

/// The widest chart served (a 8K screen with room to spare).
pub const MAX_WIDTH_PX: u32 = 16_384;

/// Where a channel's decimation items come from, and up to which sample index the
/// coarser levels covered.
struct Items {
    items: Vec<Summary>,
}

impl Reader {
    /// Points of `channels` between `from_s` and `to_s` (seconds since the session
    /// started) for a chart `width_px` wide: every sample when there are at most four
    /// per pixel, else each pixel's min and max.
    pub fn window(
        &self,
        session: SessionId,
        channels: &[i64],
        from_s: f64,
        to_s: f64,
        width_px: u32,
    ) -> Result<SeriesBatch, StoreError> {
        if !(from_s.is_finite() && to_s.is_finite()) || from_s >= to_s {
            return Err(StoreError::Invalid(format!(
                "window [{from_s}, {to_s}] s is empty or not a number"
            )));
        }
        if width_px == 0 || width_px > MAX_WIDTH_PX {
            return Err(StoreError::Invalid(format!(
                "chart width {width_px} px is outside 1..={MAX_WIDTH_PX}"
            )));
        }
        let started = self.session_with(session, channels)?.started_us;
        let t0 = started.saturating_add((from_s * 1e6).floor() as i64);
        let t1 = started.saturating_add((to_s * 1e6).ceil() as i64);
        self.conn.execute_batch("BEGIN")?;
        let result = channels
            .iter()
            .map(|&channel| self.channel_window(channel, started, t0, t1, width_px))
            .collect::<Result<Vec<_>, _>>();
        self.conn.execute_batch("COMMIT")?;
        Ok(SeriesBatch {
            window: true,
            series: result?,
        })
    }

    /// The index of the first level-0 row ending at or after `t`, as a sample index
    /// bound: (start of that row, end of that row); the channel's end when none.
    fn row_bounds_at(&self, channel: i64, t: Micros) -> Result<Option<(u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idx0, idx1 FROM chunks WHERE channel_id = ?1 AND level = 0 AND t1_us >= ?2
             ORDER BY t1_us, idx0 LIMIT 1",
        )?;
        let mut rows = stmt.query(params![channel, t])?;
        match rows.next()? {
            Some(r) => Ok(Some((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
            ))),
            None => Ok(None),
        }
    }

    fn channel_window(
        &self,
        channel: i64,
        started: Micros,
        t0: Micros,
        t1: Micros,
        width: u32,
    ) -> Result<Series, StoreError> {
        let end = self.channel_end(channel)?;
        let first = self.row_bounds_at(channel, t0)?.map_or(end, |b| b.0);
        let last = self.row_bounds_at(channel, t1)?.map_or(end, |b| b.1);
        // An upper bound of the samples in the window (whole rows at both edges).
        let estimate = last.saturating_sub(first);
        let width_u = u64::from(width);
        // The coarsest level that still gives every pixel at least one entry.
        let level = ROLLUP_SPAN
            .iter()
            .rposition(|span| estimate / span >= width_u)
            .map_or(0, |i| i + 1);
        // Rollup entries that start before the window's first row still reach into it.
        let from_idx = if level == 0 { first } else { 0 };
        let Items { items } = self.items(channel, level, t0, t1, from_idx)?;
        let to_s = |t: i64| (t - started) as f64 / 1e6;
        let mut series = Series {
            channel,
            level: level as u32,
            ..Series::default()
        };
        if level == 0 && items.len() as u64 <= 4 * width_u {
            for item in &items {
                series.t.push(to_s(item.t_first));
                series.values.push(f64::from(item.min));
            }
            return Ok(series);
        }
        series.decimated = true;
        let mut pixels: Vec<Option<Summary>> = vec![None; width as usize];
        let span = (t1 - t0).max(1) as f64;
        for item in items.iter().filter(|i| i.min <= i.max) {
            let px = (((item.t_first - t0) as f64 / span) * f64::from(width)).floor();
            let px = (px.max(0.0) as usize).min(width as usize - 1);
            match &mut pixels[px] {
                Some(acc) => acc.absorb(item),
                slot @ None => *slot = Some(*item),
            }
        }
        for pixel in pixels.into_iter().flatten() {
            let (a, b) = if pixel.min_first {
                (pixel.min, pixel.max)
            } else {
                (pixel.max, pixel.min)
            };
            series.t.push(to_s(pixel.t_first));
            series.values.push(f64::from(a));
            if pixel.min != pixel.max {
                series.t.push(to_s(pixel.t_last.max(pixel.t_first)));
                series.values.push(f64::from(b));
            }
        }
        Ok(series)
    }

    /// The summaries of `level` (samples as one-sample summaries at level 0) that
    /// fall in `[t0, t1]`, from sample index `from_idx` on; where the level's rows
    /// end, the next finer level takes over.
    fn items(
        &self,
        channel: i64,
        level: usize,
        t0: Micros,
        t1: Micros,
        from_idx: u64,
    ) -> Result<Items, StoreError> {
        let mut items = Vec::new();
        if level == 0 {
            let mut at = from_idx;
            'rows: loop {
                let rows = self.sample_rows_between(channel, at, t1, 64)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let skip = at.saturating_sub(row.idx0) as usize;
                    for (t, v) in row.times.iter().zip(&row.values).skip(skip) {
                        at += 1;
                        if *t > t1 {
                            break 'rows;
                        }
                        if *t >= t0 && !v.is_nan() {
                            items.push(Summary::of(*t, *v));
                        }
                    }
                }
                if rows.len() < 64 {
                    break;
                }
            }
            return Ok(Items { items });
        }
        let span = ROLLUP_SPAN[level - 1];
        let mut stmt = self.conn.prepare_cached(
            "SELECT idx0, idx1, t0_us, t1_us, data FROM chunks
             WHERE channel_id = ?1 AND level = ?2 AND t1_us >= ?3 AND idx1 > ?4
             ORDER BY t1_us, idx0",
        )?;
        let mut rows = stmt.query(params![channel, level as i64, t0, from_idx as i64])?;
        let mut covered = from_idx;
        while let Some(row) = rows.next()? {
            let idx0 = row.get::<_, i64>(0)? as u64;
            let idx1 = row.get::<_, i64>(1)? as u64;
            let row_t0: i64 = row.get(2)?;
            if row_t0 > t1 {
                covered = u64::MAX;
                break;
            }
            let data: Vec<u8> = row.get(4)?;
            for (k, entry) in chunk::decode_summaries(&data, row_t0)?
                .into_iter()
                .enumerate()
            {
                let idx = idx0 + k as u64 * span;
                if idx >= from_idx && entry.t_last >= t0 && entry.t_first <= t1 {
                    items.push(entry);
                }
            }
            covered = covered.max(idx1);
        }
        drop(rows);
        if covered != u64::MAX {
            // The rows ran out inside the window: the finer level serves the rest.
            let rest = self.items(channel, level - 1, t0, t1, covered.max(from_idx))?;
            items.extend(rest.items);
        }
        Ok(Items { items })
    }
}
