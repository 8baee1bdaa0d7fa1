//! Chart data: a session's recorded channels, the live tail, zoomed or past windows
//! (decimated for the chart's width) and exports of a range as CSV, PNG or SVG.
//!
//! Samples come back as the store's binary batch layout (see the store's `tail`
//! module), never as lists of numbers: a client hands the bytes to its chart as they
//! are.

use super::{Api, ApiError, create_exports_dir, safe_name, write_export};
use drivedeck_domain::DriveRef;
use drivedeck_store::SessionId;
use drivedeck_store::export::{ChartFormat, ExportRange, write_chart, write_csv};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

/// A recorded channel.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    #[ts(type = "number")]
    id: i64,
    drive: DriveRef,
    name: String,
    unit: String,
    #[ts(type = "number")]
    samples: i64,
}

/// A range of a session's channels to write to a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// The session.
    pub session: SessionId,
    /// Its channels to export.
    pub channels: Vec<i64>,
    /// From, s since the session started.
    pub from_s: f64,
    /// To, s since the session started (after `from_s`).
    pub to_s: f64,
    /// `csv`, `png` or `svg`.
    pub format: String,
}

/// The most samples one `tail` call returns (a frame's worth is far less).
const TAIL_LIMIT: usize = 50_000;
/// How far back a chart opening on a running session starts.
const TAIL_START_US: i64 = 60_000_000;
/// The size of an exported chart image, px.
const CHART_SIZE_PX: (u32, u32) = (1600, 900);

impl Api {
    /// The channels recorded in `session`.
    pub fn channels(&self, session: SessionId) -> Result<Vec<ChannelView>, ApiError> {
        let rows = self.reader().channels(session)?;
        Ok(rows
            .into_iter()
            .map(|c| ChannelView {
                id: c.id,
                drive: c.drive,
                name: c.name,
                unit: c.unit,
                samples: c.samples,
            })
            .collect())
    }

    /// New samples of `channels` for the live chart, as the store's binary batch.
    /// `after` holds the cursor per channel from the last batch; a channel not in it
    /// starts at `since_s` (seconds since the session started) or, without it, a minute
    /// back.
    pub fn tail(
        &self,
        session: SessionId,
        after: Vec<(i64, u64)>,
        channels: &[i64],
        since_s: Option<f64>,
    ) -> Result<Vec<u8>, ApiError> {
        let cursor: drivedeck_store::TailCursor = after.into_iter().collect();
        let reader = self.reader();
        let since = match since_s {
            Some(s) if !s.is_finite() => {
                return Err(ApiError::Invalid("tail start is not a number".into()));
            }
            Some(s) => reader.session(session)?.started_us + (s.max(0.0) * 1e6) as i64,
            None => self.engine.clock().now() - TAIL_START_US,
        };
        let batch = reader.tail(session, channels, &cursor, Some(since), TAIL_LIMIT)?;
        Ok(batch.to_bytes())
    }

    /// A zoomed or past range of `channels`, decimated for a chart `width_px` wide, as
    /// the store's binary batch (the same layout as [`Api::tail`]).
    pub fn window(
        &self,
        session: SessionId,
        channels: &[i64],
        from_s: f64,
        to_s: f64,
        width_px: u32,
    ) -> Result<Vec<u8>, ApiError> {
        let batch = self
            .reader()
            .window(session, channels, from_s, to_s, width_px)?;
        Ok(batch.to_bytes())
    }

    /// Exports a range of channels (a chart's visible range) as CSV, PNG or SVG into
    /// the `exports` folder beside the database; returns the file written.
    pub fn export_range(&self, request: ExportRequest) -> Result<PathBuf, ApiError> {
        let ExportRequest {
            session,
            channels,
            from_s,
            to_s,
            format,
        } = request;
        let chart = match format.as_str() {
            "csv" => None,
            "png" => Some(ChartFormat::Png),
            "svg" => Some(ChartFormat::Svg),
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown export format {other:?} (csv, png or svg)"
                )));
            }
        };
        if !(from_s.is_finite() && to_s.is_finite() && from_s < to_s) {
            return Err(ApiError::Invalid(format!(
                "the range [{from_s}, {to_s}] s is empty"
            )));
        }
        let reader = self.reader();
        let row = reader.session(session)?;
        let dir = self.exports_dir();
        create_exports_dir(&dir)?;
        let safe = safe_name(&row.name);
        let path = dir.join(format!("{safe}_{from_s:.3}-{to_s:.3}s.{format}"));
        let range = ExportRange {
            session,
            channels,
            from_s: Some(from_s),
            to_s: Some(to_s),
        };
        match chart {
            None => {
                let mut out = Vec::new();
                write_csv(&reader, &range, &mut out)?;
                write_export(&path, &out)?;
            }
            Some(format) => write_chart(&reader, &range, format, &path, CHART_SIZE_PX)?,
        }
        Ok(path)
    }
}
